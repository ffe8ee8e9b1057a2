//! The three-way merge patch `kubectl apply` sends (upstream `CreateThreeWayMergePatch`), and the
//! conflict check it runs when told not to overwrite.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::diff::{DiffOptions, diff_maps};
use super::merge::{MergeOptions, merge_map};
use super::{DIRECTIVE, Kind, RETAIN_KEYS, element_kind, go_string, invalid};
use crate::error::{PatchError, Result};
use crate::schema::{Meta, Schema, Strategy};

/// A patch that makes `current` match `modified` while keeping what others changed in `current`
/// since `original` was applied.
///
/// It is the difference from `current` to `modified` without deletions, plus the deletions from
/// `original` to `modified`. With `overwrite` false, a patch that would change a field that was
/// also changed between `original` and `current` is a [`PatchError::Conflict`].
pub(crate) fn create_three_way_merge_patch(
    original: &Map<String, Value>,
    modified: &Map<String, Value>,
    current: &Map<String, Value>,
    schema: Option<&Schema>,
    overwrite: bool,
) -> Result<Map<String, Value>> {
    let delta_opts = DiffOptions { ignore_deletions: true, set_element_order: true, ..DiffOptions::default() };
    let delta = diff_maps(current, modified, schema, delta_opts)?;
    let deletion_opts =
        DiffOptions { ignore_changes_and_additions: true, set_element_order: true, ..DiffOptions::default() };
    let deletions = diff_maps(original, modified, schema, deletion_opts)?;
    let patch = merge_map(deletions, delta, schema, MergeOptions::COMBINE_PATCHES)?;

    if !overwrite {
        let changed = diff_maps(original, current, schema, DiffOptions::default())?;
        if maps_conflict(&patch, &changed, schema)? {
            return Err(PatchError::Conflict(format!(
                "patch:\n{}\nconflicts with changes made from original to current:\n{}\n",
                Value::Object(patch),
                Value::Object(changed)
            )));
        }
    }
    Ok(patch)
}

/// Whether two patches set some key to different values (upstream `MergingMapsHaveConflicts`).
fn conflicts(
    left: &Value,
    right: &Value,
    schema: Option<&Schema>,
    strategy: Strategy,
    key: Option<&str>,
) -> Result<bool> {
    match (left, right) {
        (Value::Object(l), Value::Object(r)) => {
            let (ld, rd) = (l.get(DIRECTIVE), r.get(DIRECTIVE));
            // A directive acts on the whole map: conflicting unless both carry the same one.
            if (ld.is_some() || rd.is_some()) && ld != rd {
                return Ok(true);
            }
            if strategy == Strategy::Replace {
                return Ok(false);
            }
            maps_conflict(l, r, schema)
        }
        (Value::Array(l), Value::Array(r)) => lists_conflict(l, r, schema, strategy, key),
        (Value::Object(_) | Value::Array(_), _) => Ok(true),
        (l, r) => Ok(l != r),
    }
}

fn maps_conflict(left: &Map<String, Value>, right: &Map<String, Value>, schema: Option<&Schema>) -> Result<bool> {
    for (key, l) in left {
        if key == DIRECTIVE || key == RETAIN_KEYS {
            continue;
        }
        if let Some(r) = right.get(key) {
            let meta = Meta::lookup(schema, key);
            if conflicts(l, r, meta.schema, meta.strategy, meta.merge_key)? {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn lists_conflict(
    left: &[Value],
    right: &[Value],
    schema: Option<&Schema>,
    strategy: Strategy,
    key: Option<&str>,
) -> Result<bool> {
    let Some(kind) = element_kind(&[left, right])? else {
        return Ok(false);
    };
    if strategy == Strategy::Merge {
        // Merging lists of primitives never conflict; lists of objects conflict per merge key.
        if kind != Kind::Object {
            return Ok(false);
        }
        let key = key.unwrap_or("");
        let (l, r) = (by_merge_key(left, key)?, by_merge_key(right, key)?);
        for (k, lv) in &l {
            if let Some(rv) = r.get(k)
                && conflicts(lv, rv, schema, Strategy::Default, None)?
            {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    if left.len() != right.len() {
        return Ok(true);
    }
    if kind != Kind::Object {
        let normalize = |list: &[Value]| {
            let mut strings: Vec<String> = list.iter().map(go_string).collect();
            strings.sort();
            strings.dedup();
            strings
        };
        return Ok(normalize(left) != normalize(right));
    }
    for (l, r) in left.iter().zip(right) {
        if conflicts(l, r, schema, Strategy::Default, None)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn by_merge_key<'a>(list: &'a [Value], key: &str) -> Result<BTreeMap<String, &'a Value>> {
    let mut out = BTreeMap::new();
    for item in list {
        let Value::Object(m) = item else {
            return Err(invalid(format!("invalid element type in merging list:{}", Value::Array(list.to_vec()))));
        };
        let value = m
            .get(key)
            .ok_or_else(|| invalid(format!("cannot find merge key `{key}` in merging list element:{item}")))?;
        out.insert(go_string(value), item);
    }
    Ok(out)
}
