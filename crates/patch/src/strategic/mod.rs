//! Strategic merge patch: applying it (`merge`), computing it (`diff`, `three_way`), as upstream's
//! `k8s.io/apimachinery/pkg/util/strategicpatch`.
//!
//! The directives a strategic merge patch may carry:
//! * `$patch: replace` in an object replaces the object; as an item of a merging list it replaces
//!   the list. `$patch: delete` in an object deletes it (leaves `{}`); as an item of a merging list
//!   it deletes the item with that merge key.
//! * `$retainKeys: [..]` clears every key of the live object not listed.
//! * `$setElementOrder/<list>: [..]` gives the order of the merged list.
//! * `$deleteFromPrimitiveList/<list>: [..]` removes values from a merging list of primitives.
//! * `null` deletes a field.

mod diff;
mod merge;
mod order;
mod three_way;

pub(crate) use diff::create_two_way_merge_patch;
pub(crate) use merge::apply;
pub(crate) use three_way::create_three_way_merge_patch;

use serde_json::{Map, Value};

use crate::error::{PatchError, Result};

pub(crate) const DIRECTIVE: &str = "$patch";
pub(crate) const REPLACE: &str = "replace";
pub(crate) const DELETE: &str = "delete";
pub(crate) const MERGE: &str = "merge";
pub(crate) const RETAIN_KEYS: &str = "$retainKeys";
pub(crate) const SET_ELEMENT_ORDER: &str = "$setElementOrder";
pub(crate) const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";

/// The JSON kind of a value; lists must hold items of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

impl Kind {
    pub(crate) fn of(v: &Value) -> Self {
        match v {
            Value::Null => Self::Null,
            Value::Bool(_) => Self::Bool,
            Value::Number(_) => Self::Number,
            Value::String(_) => Self::String,
            Value::Array(_) => Self::Array,
            Value::Object(_) => Self::Object,
        }
    }

    /// The name upstream's messages use (Go's `reflect.Kind`).
    pub(crate) fn go_name(self) -> &'static str {
        match self {
            Self::Null => "invalid",
            Self::Bool => "bool",
            Self::Number => "float64",
            Self::String => "string",
            Self::Array => "slice",
            Self::Object => "map",
        }
    }
}

/// The kind shared by every item of `lists`, `None` when they are all empty.
pub(crate) fn element_kind(lists: &[&[Value]]) -> Result<Option<Kind>> {
    let mut kind = None;
    for item in lists.iter().flat_map(|l| l.iter()) {
        let k = Kind::of(item);
        if k == Kind::Array {
            return Err(invalid("lists of lists are not supported"));
        }
        match kind {
            None => kind = Some(k),
            Some(prev) if prev != k => {
                return Err(invalid(format!("list element types are not identical: {}", display_lists(lists))));
            }
            Some(_) => {}
        }
    }
    Ok(kind)
}

fn display_lists(lists: &[&[Value]]) -> String {
    let parts: Vec<String> = lists.iter().map(|l| Value::Array(l.to_vec()).to_string()).collect();
    parts.join(" ")
}

/// A value as Go's `%v` prints it: the form upstream sorts and compares merge keys and primitives by.
pub(crate) fn go_string(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(crate) fn invalid(message: impl Into<String>) -> PatchError {
    PatchError::InvalidPatch(message.into())
}

pub(crate) fn no_merge_key(item: &Value, key: &str) -> PatchError {
    invalid(format!("map: {item} does not contain declared merge key: {key}"))
}

pub(crate) fn bad_arg_type(expected: Kind, actual: &Value) -> PatchError {
    invalid(format!("expected a {}, but received a {}", expected.go_name(), Kind::of(actual).go_name()))
}

pub(crate) fn bad_patch_type(directive: &Value, map: &Map<String, Value>) -> PatchError {
    invalid(format!("unknown patch type: {} in map: {}", go_string(directive), Value::Object(map.clone())))
}

pub(crate) fn bad_set_element_order() -> PatchError {
    invalid("invalid patch format of setElementOrder list")
}

pub(crate) fn bad_primitive_list() -> PatchError {
    invalid("invalid patch format of primitive list")
}

pub(crate) fn bad_retain_keys() -> PatchError {
    invalid("invalid patch format of retainKeys")
}

/// The list field named by a `<prefix>/<field>` directive key.
pub(crate) fn directive_target<'a>(key: &'a str, prefix: &str) -> Result<&'a str> {
    match key.split_once('/') {
        Some((p, field)) if p == prefix => Ok(field),
        _ if prefix == SET_ELEMENT_ORDER => Err(bad_set_element_order()),
        _ => Err(bad_primitive_list()),
    }
}

/// The merge-key value of a list item, or the item itself for lists of primitives.
pub(crate) fn identity<'a>(item: &'a Value, merge_key: Option<&str>) -> Option<&'a Value> {
    match merge_key {
        Some(key) => item.as_object().and_then(|m| m.get(key)),
        None => Some(item),
    }
}

/// Whether the item carries `$patch: delete`.
pub(crate) fn is_delete_item(item: &Value) -> bool {
    item.get(DIRECTIVE).and_then(Value::as_str) == Some(DELETE)
}
