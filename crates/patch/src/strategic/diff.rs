//! Computing a strategic merge patch from two versions of an object (upstream `diffMaps`).

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::order::normalize_slice_order;
use super::{
    DELETE, DELETE_FROM_PRIMITIVE_LIST, DIRECTIVE, Kind, RETAIN_KEYS, SET_ELEMENT_ORDER, element_kind, go_string,
    invalid, no_merge_key,
};
use crate::error::Result;
use crate::schema::{Meta, Schema, Strategy};

/// What a diff includes.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct DiffOptions {
    /// Emit `$setElementOrder/<list>` for merging lists whose content or order changed.
    pub(super) set_element_order: bool,
    /// Leave out fields added or changed in `modified` (keep only deletions).
    pub(super) ignore_changes_and_additions: bool,
    /// Leave out fields deleted in `modified` (keep only additions and changes).
    pub(super) ignore_deletions: bool,
    /// Emit `$retainKeys` for this map (set from the field's `retainKeys` strategy).
    pub(super) build_retain_keys: bool,
}

/// A patch that turns `original` into `modified` (upstream `CreateTwoWayMergePatch`).
pub(crate) fn create_two_way_merge_patch(
    original: &Map<String, Value>,
    modified: &Map<String, Value>,
    schema: Option<&Schema>,
) -> Result<Map<String, Value>> {
    let opts = DiffOptions { set_element_order: true, ..DiffOptions::default() };
    diff_maps(original, modified, schema, opts)
}

/// The (recursive) strategic merge patch that yields `modified` when applied to `original`.
pub(super) fn diff_maps(
    original: &Map<String, Value>,
    modified: &Map<String, Value>,
    schema: Option<&Schema>,
    opts: DiffOptions,
) -> Result<Map<String, Value>> {
    let mut patch = Map::new();
    let mut retain_keys = Vec::new();
    for (key, modified_value) in modified {
        if opts.build_retain_keys && !modified_value.is_null() {
            retain_keys.push(key.clone());
        }
        let Some(original_value) = original.get(key) else {
            if !opts.ignore_changes_and_additions {
                patch.insert(key.clone(), modified_value.clone());
            }
            continue;
        };
        if key == DIRECTIVE {
            match (original_value, modified_value) {
                (Value::String(o), Value::String(m)) => {
                    if o != m {
                        patch.insert(key.clone(), modified_value.clone());
                    }
                }
                _ => return Err(invalid(format!("invalid value for special key: {DIRECTIVE}"))),
            }
            continue;
        }
        let meta = Meta::lookup(schema, key);
        match (original_value, modified_value) {
            (Value::Object(o), Value::Object(m)) => diff_map_field(key, o, m, &meta, &mut patch, opts)?,
            (Value::Array(o), Value::Array(m)) => diff_list_field(key, o, m, &meta, &mut patch, opts)?,
            (o, m) => {
                if !opts.ignore_changes_and_additions && o != m {
                    patch.insert(key.clone(), m.clone());
                }
            }
        }
    }

    if !opts.ignore_deletions {
        for key in original.keys() {
            if !modified.contains_key(key) {
                patch.insert(key.clone(), Value::Null);
            }
        }
    }

    let has_extra_field = original.iter().any(|(k, v)| !v.is_null() && !modified.contains_key(k));
    if !retain_keys.is_empty() && (!patch.is_empty() || has_extra_field) {
        retain_keys.sort();
        patch.insert(RETAIN_KEYS.to_owned(), Value::Array(retain_keys.into_iter().map(Value::String).collect()));
    }
    Ok(patch)
}

fn diff_map_field(
    key: &str,
    original: &Map<String, Value>,
    modified: &Map<String, Value>,
    meta: &Meta,
    patch: &mut Map<String, Value>,
    opts: DiffOptions,
) -> Result<()> {
    if meta.strategy == Strategy::Replace {
        // Upstream sends a replaced map whole, changed or not.
        if !opts.ignore_changes_and_additions {
            patch.insert(key.to_owned(), Value::Object(modified.clone()));
        }
        return Ok(());
    }
    let child = DiffOptions { build_retain_keys: meta.retain_keys, ..opts };
    let value = diff_maps(original, modified, meta.schema, child)?;
    if !value.is_empty() {
        patch.insert(key.to_owned(), Value::Object(value));
    }
    Ok(())
}

fn diff_list_field(
    key: &str,
    original: &[Value],
    modified: &[Value],
    meta: &Meta,
    patch: &mut Map<String, Value>,
    opts: DiffOptions,
) -> Result<()> {
    if meta.strategy != Strategy::Merge {
        if !opts.ignore_changes_and_additions && original != modified {
            patch.insert(key.to_owned(), Value::Array(modified.to_vec()));
        }
        return Ok(());
    }
    let child = DiffOptions { build_retain_keys: meta.retain_keys, ..opts };
    let diff = diff_lists(original, modified, meta, child)?;
    if !diff.patch.is_empty() {
        patch.insert(key.to_owned(), Value::Array(diff.patch));
    }
    if !diff.deletions.is_empty() {
        patch.insert(format!("{DELETE_FROM_PRIMITIVE_LIST}/{key}"), Value::Array(diff.deletions));
    }
    if !diff.order.is_empty() {
        patch.insert(format!("{SET_ELEMENT_ORDER}/{key}"), Value::Array(diff.order));
    }
    Ok(())
}

/// The diff of a merging list: the patch list, the parallel deletion list (primitives only) and
/// the `$setElementOrder` list.
#[derive(Debug, Default)]
struct ListDiff {
    patch: Vec<Value>,
    deletions: Vec<Value>,
    order: Vec<Value>,
}

fn diff_lists(original: &[Value], modified: &[Value], meta: &Meta, opts: DiffOptions) -> Result<ListDiff> {
    if original.is_empty() {
        if modified.is_empty() || opts.ignore_changes_and_additions {
            return Ok(ListDiff::default());
        }
        return Ok(ListDiff { patch: modified.to_vec(), ..ListDiff::default() });
    }
    let Some(kind) = element_kind(&[original, modified])? else {
        return Ok(ListDiff::default());
    };
    if kind == Kind::Object {
        let key = meta.merge_key.unwrap_or("");
        let (changes, deletes) = diff_lists_of_maps(original, modified, meta.schema, key, opts)?;
        let mut patch = normalize_slice_order(changes, modified, Some(key))?;
        let order_same = is_order_same(original, modified, key)?;
        patch.extend(deletes);
        let mut order = Vec::new();
        if opts.set_element_order
            && ((!opts.ignore_changes_and_additions && (!patch.is_empty() || !order_same))
                || (!opts.ignore_deletions && !patch.is_empty()))
        {
            for item in modified {
                let value = item.get(key).cloned().ok_or_else(|| no_merge_key(item, key))?;
                let mut entry = Map::new();
                entry.insert(key.to_owned(), value);
                order.push(Value::Object(entry));
            }
        }
        return Ok(ListDiff { patch, deletions: Vec::new(), order });
    }

    let (additions, deletions) = diff_lists_of_scalars(original, modified, opts)?;
    let patch = normalize_slice_order(additions, modified, None)?;
    let order = if opts.set_element_order
        && ((!opts.ignore_deletions && !deletions.is_empty())
            || (!opts.ignore_changes_and_additions && original != modified))
    {
        modified.to_vec()
    } else {
        Vec::new()
    };
    Ok(ListDiff { patch, deletions, order })
}

fn is_order_same(original: &[Value], modified: &[Value], key: &str) -> Result<bool> {
    if original.len() != modified.len() {
        return Ok(false);
    }
    for (o, m) in original.iter().zip(modified) {
        let ov = o.get(key).ok_or_else(|| no_merge_key(o, key))?;
        let mv = m.get(key).ok_or_else(|| no_merge_key(m, key))?;
        if ov != mv {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A list item with the `%v` form of its merge key (or of itself, for primitives), which upstream
/// sorts and matches by.
struct Keyed<'a> {
    key: String,
    item: &'a Value,
}

fn sorted_keyed<'a>(list: &'a [Value], key_of: impl Fn(&'a Value) -> Result<String>) -> Result<Vec<Keyed<'a>>> {
    let mut keyed = list.iter().map(|item| Ok(Keyed { key: key_of(item)?, item })).collect::<Result<Vec<_>>>()?;
    keyed.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(keyed)
}

/// Walks two sorted lists in step: `Equal` for a pair with the same key, `Greater` for an item only
/// `modified` has, `Less` for one only `original` has.
fn step(original: Option<&Keyed<'_>>, modified: Option<&Keyed<'_>>) -> Option<Ordering> {
    match (original, modified) {
        (None, None) => None,
        (Some(_), None) => Some(Ordering::Less),
        (None, Some(_)) => Some(Ordering::Greater),
        (Some(o), Some(m)) => Some(o.key.cmp(&m.key)),
    }
}

/// Changes and additions (items of `modified`, changed items reduced to their diff plus merge
/// key) and deletions (`{<key>: v, $patch: delete}`) between two lists of objects.
fn diff_lists_of_maps(
    original: &[Value],
    modified: &[Value],
    schema: Option<&'static Schema>,
    key: &str,
    opts: DiffOptions,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let key_of = |item: &Value| match item {
        Value::Object(m) => m.get(key).map(go_string).ok_or_else(|| no_merge_key(item, key)),
        other => Err(super::bad_arg_type(Kind::Object, other)),
    };
    let original = sorted_keyed(original, key_of)?;
    let modified = sorted_keyed(modified, key_of)?;
    let empty = Map::new();
    let fields = |k: &Keyed<'_>| k.item.as_object().unwrap_or(&empty).clone();
    let merge_value = |k: &Keyed<'_>| k.item.get(key).cloned().unwrap_or(Value::Null);

    let mut patch = Vec::new();
    let mut deletions = Vec::new();
    let (mut oi, mut mi) = (0, 0);
    loop {
        let (o, m) = (original.get(oi), modified.get(mi));
        match (step(o, m), o, m) {
            (Some(Ordering::Equal), Some(o), Some(m)) => {
                let mut value = diff_maps(&fields(o), &fields(m), schema, opts)?;
                if !value.is_empty() {
                    value.insert(key.to_owned(), merge_value(m));
                    patch.push(Value::Object(value));
                }
                oi += 1;
                mi += 1;
            }
            (Some(Ordering::Greater), _, Some(m)) => {
                if !opts.ignore_changes_and_additions {
                    patch.push(m.item.clone());
                }
                mi += 1;
            }
            (Some(Ordering::Less), Some(o), _) => {
                if !opts.ignore_deletions {
                    let mut delete = Map::new();
                    delete.insert(key.to_owned(), merge_value(o));
                    delete.insert(DIRECTIVE.to_owned(), Value::String(DELETE.to_owned()));
                    deletions.push(Value::Object(delete));
                }
                oi += 1;
            }
            _ => break,
        }
    }
    Ok((patch, deletions))
}

/// Additions (in `modified` only) and deletions (in `original` only, without duplicates) between
/// two lists of primitives.
fn diff_lists_of_scalars(
    original: &[Value],
    modified: &[Value],
    opts: DiffOptions,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let original = sorted_keyed(original, |v| Ok(go_string(v)))?;
    let modified = sorted_keyed(modified, |v| Ok(go_string(v)))?;
    let mut additions = Vec::new();
    let mut deletions: Vec<Value> = Vec::new();
    let (mut oi, mut mi) = (0, 0);
    loop {
        let (o, m) = (original.get(oi), modified.get(mi));
        match (step(o, m), o, m) {
            (Some(Ordering::Equal), _, _) => {
                oi += 1;
                mi += 1;
            }
            (Some(Ordering::Greater), _, Some(m)) => {
                if !opts.ignore_changes_and_additions {
                    additions.push(m.item.clone());
                }
                mi += 1;
            }
            (Some(Ordering::Less), Some(o), _) => {
                if !opts.ignore_deletions && !deletions.contains(o.item) {
                    deletions.push(o.item.clone());
                }
                oi += 1;
            }
            _ => break,
        }
    }
    Ok((additions, deletions))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn scalar_diff_finds_additions_and_deduplicated_deletions() {
        let original = [json!("a"), json!("b"), json!("b"), json!("c")];
        let modified = [json!("c"), json!("d")];
        let (additions, deletions) = diff_lists_of_scalars(&original, &modified, DiffOptions::default()).unwrap();
        assert_eq!(additions, [json!("d")]);
        assert_eq!(deletions, [json!("a"), json!("b")]);
    }

    #[test]
    fn map_diff_reduces_changed_items_to_their_changes() {
        let original = [json!({"name": "a", "image": "1", "x": 1}), json!({"name": "b"})];
        let modified = [json!({"name": "a", "image": "2", "x": 1}), json!({"name": "c"})];
        let (patch, deletions) =
            diff_lists_of_maps(&original, &modified, None, "name", DiffOptions::default()).unwrap();
        assert_eq!(patch, [json!({"name": "a", "image": "2"}), json!({"name": "c"})]);
        assert_eq!(deletions, [json!({"name": "b", "$patch": "delete"})]);
    }

    #[test]
    fn retain_keys_are_listed_when_a_key_is_dropped() {
        let original = json!({"name": "v", "configMap": {"name": "c"}});
        let modified = json!({"name": "v", "emptyDir": {}});
        let opts = DiffOptions { build_retain_keys: true, ..DiffOptions::default() };
        let (Value::Object(o), Value::Object(m)) = (original, modified) else { unreachable!("fixtures are objects") };
        let patch = diff_maps(&o, &m, None, opts).unwrap();
        assert_eq!(
            Value::Object(patch),
            json!({"configMap": null, "emptyDir": {}, "$retainKeys": ["emptyDir", "name"]})
        );
    }
}
