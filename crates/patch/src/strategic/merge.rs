//! Applying a strategic merge patch to an object (upstream `StrategicMergeMapPatch`), and merging
//! two patches into one (the client-side mode `CreateThreeWayMergePatch` uses).

use serde_json::{Map, Value};

use super::order::{normalize_element_order, partition_by_presence, validate_merge_key};
use super::{
    DELETE, DELETE_FROM_PRIMITIVE_LIST, DIRECTIVE, Kind, MERGE, REPLACE, RETAIN_KEYS, SET_ELEMENT_ORDER, bad_arg_type,
    bad_patch_type, bad_retain_keys, bad_set_element_order, directive_target, element_kind, invalid, is_delete_item,
    no_merge_key,
};
use crate::error::Result;
use crate::schema::{Meta, Schema, Strategy};

/// How [`merge_map`] treats directives and nulls.
#[derive(Debug, Clone, Copy)]
pub(super) struct MergeOptions {
    /// Server side: the patch is applied to an object, so directives are carried out and never
    /// stored. Client side (`false`): `original` is itself a patch, and the directives of both
    /// are kept in the result.
    pub(super) apply: bool,
}

impl MergeOptions {
    pub(super) const APPLY: Self = Self { apply: true };
    pub(super) const COMBINE_PATCHES: Self = Self { apply: false };
}

/// Applies `patch` to `original` (upstream `StrategicMergeMapPatch`).
pub(crate) fn apply(
    original: Map<String, Value>,
    patch: Map<String, Value>,
    schema: &Schema,
) -> Result<Map<String, Value>> {
    merge_map(original, patch, Some(schema), MergeOptions::APPLY)
}

/// Merges the fields of `patch` into `original`.
///
/// Where the live object has no value for a key, upstream stores the patch value verbatim, nested
/// directives and nulls included. When applying we instead merge it into an empty value, so that a
/// `$patch` or `null` inside a new value never reaches the stored object.
pub(super) fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    schema: Option<&Schema>,
    opts: MergeOptions,
) -> Result<Map<String, Value>> {
    if let Some(directive) = patch.remove(DIRECTIVE) {
        match directive.as_str() {
            Some(REPLACE) if opts.apply => return merge_map(Map::new(), patch, schema, opts),
            Some(REPLACE) => return Ok(patch),
            Some(DELETE) => return Ok(Map::new()),
            // Upstream rejects `$patch: merge` on an object although merging is what happens
            // without a directive; we accept it as the explicit default.
            Some(MERGE) => {}
            _ => {
                patch.insert(DIRECTIVE.to_owned(), directive.clone());
                return Err(bad_patch_type(&directive, &patch));
            }
        }
    }

    apply_retain_keys(&mut original, &mut patch, opts)?;
    merge_set_element_order(&mut original, &mut patch, schema, opts)?;

    let mut fields = Vec::with_capacity(patch.len());
    for (key, value) in patch {
        if key.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
            if opts.apply {
                let target = directive_target(&key, DELETE_FROM_PRIMITIVE_LIST)?;
                delete_from_primitive_list(&mut original, target, &value)?;
            } else {
                original.insert(key, value);
            }
        } else {
            fields.push((key, value));
        }
    }

    for (key, value) in fields {
        if value.is_null() {
            original.remove(&key);
            if !opts.apply {
                // Keep the deletion in the combined patch.
                original.insert(key, Value::Null);
            }
            continue;
        }
        let meta = Meta::lookup(schema, &key);
        let merged = match (original.remove(&key), value) {
            (Some(Value::Object(o)), Value::Object(p)) => {
                if meta.strategy == Strategy::Replace {
                    Some(Value::Object(if opts.apply { merge_map(Map::new(), p, meta.schema, opts)? } else { p }))
                } else {
                    Some(Value::Object(merge_map(o, p, meta.schema, opts)?))
                }
            }
            (Some(Value::Array(o)), Value::Array(p)) => Some(Value::Array(merge_list(o, p, &meta, opts)?)),
            (_, value) => new_value(value, &meta, opts)?,
        };
        if let Some(v) = merged {
            original.insert(key, v);
        }
    }
    Ok(original)
}

/// The value a patch sets where the live object has none (or one of another type); `None` when
/// the patch deletes something that is not there.
fn new_value(value: Value, meta: &Meta, opts: MergeOptions) -> Result<Option<Value>> {
    if !opts.apply {
        return Ok(Some(value));
    }
    Ok(match value {
        Value::Object(p) if p.get(DIRECTIVE).and_then(Value::as_str) == Some(DELETE) => None,
        Value::Object(p) => Some(Value::Object(merge_map(Map::new(), p, meta.schema, opts)?)),
        Value::Array(p) => Some(Value::Array(merge_list(Vec::new(), p, meta, opts)?)),
        other => Some(other),
    })
}

/// Merges a patch list into a live list according to the field's strategy.
fn merge_list(original: Vec<Value>, patch: Vec<Value>, meta: &Meta, opts: MergeOptions) -> Result<Vec<Value>> {
    if meta.strategy != Strategy::Merge {
        return Ok(patch);
    }
    let Some(kind) = element_kind(&[&original, &patch])? else {
        return Ok(original);
    };
    if kind != Kind::Object {
        // Union of both without duplicates, patch items ordered as in the patch, live-only items
        // interleaved.
        let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
        for item in original.iter().chain(&patch) {
            if !merged.contains(item) {
                merged.push(item.clone());
            }
        }
        let server_order = original;
        let (patch_items, server_only) = partition_by_presence(merged, &patch, None)?;
        return normalize_element_order(patch_items, server_only, &patch, &server_order, None);
    }

    let Some(key) = meta.merge_key else {
        let type_name = meta.schema.map_or("map", Schema::name);
        return Err(invalid(format!("cannot merge lists without merge key for type {type_name}")));
    };
    let (original, patch) = apply_list_directives(original, patch, key, meta, opts)?;
    let server_order = original.clone();
    let merged = merge_items(original, &patch, key, meta, opts)?;
    let (patch_items, server_only) = partition_by_presence(merged, &patch, Some(key))?;
    normalize_element_order(patch_items, server_only, &patch, &server_order, Some(key))
}

/// Carries out the `$patch` items of a patch list: `delete` removes the live items with that merge
/// key, `replace` makes the patch list (without directives) the whole list.
fn apply_list_directives(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
    meta: &Meta,
    opts: MergeOptions,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for item in patch {
        let Value::Object(map) = &item else {
            return Err(bad_arg_type(Kind::Object, &item));
        };
        match map.get(DIRECTIVE) {
            None => plain.push(item),
            Some(directive) => match directive.as_str() {
                Some(DELETE) => {
                    let value = map.get(key).ok_or_else(|| no_merge_key(&item, key))?;
                    original.retain(|o| o.get(key) != Some(value));
                }
                Some(REPLACE) => replace = true,
                Some(MERGE) => return Err(invalid("merging lists cannot yet be specified in the patch")),
                _ => return Err(bad_patch_type(directive, map)),
            },
        }
    }
    if replace {
        let items = if opts.apply {
            plain
                .into_iter()
                .map(|item| match item {
                    Value::Object(m) => merge_map(Map::new(), m, meta.schema, opts).map(Value::Object),
                    other => Ok(other),
                })
                .collect::<Result<Vec<_>>>()?
        } else {
            plain
        };
        return Ok((items, Vec::new()));
    }
    Ok((original, plain))
}

/// Merges each patch item into the live item with the same merge key, or appends it.
fn merge_items(
    mut original: Vec<Value>,
    patch: &[Value],
    key: &str,
    meta: &Meta,
    opts: MergeOptions,
) -> Result<Vec<Value>> {
    for item in patch {
        let Value::Object(map) = item else {
            return Err(bad_arg_type(Kind::Object, item));
        };
        let value = map.get(key).ok_or_else(|| no_merge_key(item, key))?;
        match original.iter().position(|o| o.get(key) == Some(value)) {
            Some(i) => {
                let live = match std::mem::take(&mut original[i]) {
                    Value::Object(m) => m,
                    other => return Err(bad_arg_type(Kind::Object, &other)),
                };
                original[i] = Value::Object(merge_map(live, map.clone(), meta.schema, opts)?);
            }
            None if opts.apply => original.push(Value::Object(merge_map(Map::new(), map.clone(), meta.schema, opts)?)),
            None => original.push(item.clone()),
        }
    }
    Ok(original)
}

/// `$deleteFromPrimitiveList/<field>`: removes the listed values from the live list.
fn delete_from_primitive_list(original: &mut Map<String, Value>, field: &str, values: &Value) -> Result<()> {
    let Value::Array(values) = values else {
        return Err(super::bad_primitive_list());
    };
    if let Some(Value::Array(list)) = original.get_mut(field) {
        list.retain(|item| !values.contains(item));
    }
    Ok(())
}

/// `$retainKeys`: clears every live key not listed, after checking the patch sets only listed keys.
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    opts: MergeOptions,
) -> Result<()> {
    let Some(retain) = patch.remove(RETAIN_KEYS) else {
        return Ok(());
    };
    if !opts.apply {
        // Both patches were computed from the same modified object, so they must agree.
        match original.get(RETAIN_KEYS) {
            Some(existing) if *existing != retain => {
                return Err(invalid(format!(
                    "{existing} and {retain} are not deep equal: this may happen when calculating the 3-way diff patch"
                )));
            }
            Some(_) => {}
            None => {
                original.insert(RETAIN_KEYS.to_owned(), retain);
            }
        }
        return Ok(());
    }
    let Value::Array(keys) = retain else {
        return Err(bad_retain_keys());
    };
    let listed = |k: &str| keys.iter().any(|v| v.as_str() == Some(k));
    let unlisted = patch.iter().any(|(k, v)| {
        !v.is_null() && !k.starts_with(DELETE_FROM_PRIMITIVE_LIST) && !k.starts_with(SET_ELEMENT_ORDER) && !listed(k)
    });
    if unlisted {
        return Err(bad_retain_keys());
    }
    original.retain(|k, _| listed(k));
    Ok(())
}

/// `$setElementOrder/<field>`: merges the field's list now and orders the result as listed.
fn merge_set_element_order(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    schema: Option<&Schema>,
    opts: MergeOptions,
) -> Result<()> {
    let keys: Vec<String> = patch.keys().filter(|k| k.starts_with(SET_ELEMENT_ORDER)).cloned().collect();
    for directive_key in keys {
        let Some(order) = patch.remove(&directive_key) else { continue };
        if !opts.apply {
            match original.get(&directive_key) {
                Some(existing) if *existing != order => return Err(bad_set_element_order()),
                Some(_) => {}
                None => {
                    original.insert(directive_key.clone(), order.clone());
                }
            }
        }
        let Value::Array(order) = order else {
            return Err(bad_arg_type(Kind::Array, &order));
        };
        let field = directive_target(&directive_key, SET_ELEMENT_ORDER)?.to_owned();
        let live = take_list(original, &field)?;
        let patch_list = take_list(patch, &field)?;
        let meta = Meta::lookup(schema, &field);
        validate_against_order(patch_list.as_deref(), &order, meta.merge_key)?;

        let Some(kind) =
            element_kind(&[live.as_deref().unwrap_or_default(), patch_list.as_deref().unwrap_or_default()])?
        else {
            // Both lists empty (or one absent): nothing to order.
            if let Some(list) = live.or(patch_list) {
                original.insert(field, Value::Array(list));
            }
            continue;
        };
        let server_order = live.clone().unwrap_or_default();
        let merged = match (live, patch_list) {
            (Some(live), None) => live,
            (None, Some(p)) => match new_value(Value::Array(p), &meta, opts)? {
                Some(Value::Array(list)) => list,
                _ => Vec::new(),
            },
            (Some(live), Some(p)) => merge_list(live, p, &meta, opts)?,
            (None, None) => continue,
        };
        let key = if kind == Kind::Object {
            let key = meta.merge_key.unwrap_or("");
            validate_merge_key(key, &[&order])?;
            Some(key)
        } else {
            None
        };
        let (in_order, server_only) = partition_by_presence(merged, &order, key)?;
        let ordered = normalize_element_order(in_order, server_only, &order, &server_order, key)?;
        original.insert(field, Value::Array(ordered));
    }
    Ok(())
}

/// Removes and returns the list at `field`, which must be a list if present.
fn take_list(map: &mut Map<String, Value>, field: &str) -> Result<Option<Vec<Value>>> {
    match map.remove(field) {
        None => Ok(None),
        Some(Value::Array(list)) => Ok(Some(list)),
        Some(other) => Err(bad_arg_type(Kind::Array, &other)),
    }
}

/// The patch list's items (other than directives) must appear in the `$setElementOrder` list, in
/// the same relative order.
fn validate_against_order(patch_list: Option<&[Value]>, order: &[Value], merge_key: Option<&str>) -> Result<()> {
    let Some(patch_list) = patch_list else { return Ok(()) };
    if patch_list.is_empty() || order.is_empty() {
        return Ok(());
    }
    let items: Vec<&Value> = match merge_key {
        Some(_) => {
            for item in patch_list {
                if !item.is_object() {
                    return Err(bad_arg_type(Kind::Object, item));
                }
            }
            patch_list.iter().filter(|v| !is_delete_item(v)).collect()
        }
        None => patch_list.iter().collect(),
    };
    let key_of = |v: &Value| -> Result<Value> {
        match merge_key {
            None => Ok(v.clone()),
            Some(key) => match v {
                Value::Object(m) => m.get(key).cloned().ok_or_else(|| no_merge_key(v, key)),
                other => Err(bad_arg_type(Kind::Object, other)),
            },
        }
    };
    let (mut pi, mut oi) = (0, 0);
    while pi < items.len() && oi < order.len() {
        if items[pi].get(DIRECTIVE).is_some() {
            pi += 1;
            continue;
        }
        if key_of(items[pi])? == key_of(&order[oi])? {
            pi += 1;
        }
        oi += 1;
    }
    if pi < items.len() {
        return Err(invalid(format!(
            "The order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER} list:\n{}\n",
            Value::Array(patch_list.to_vec()),
            Value::Array(order.to_vec())
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::identity;
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("fixture is not an object"),
        }
    }

    #[test]
    fn items_are_matched_by_identity_of_merge_key() {
        let item = json!({"name": "a"});
        assert_eq!(identity(&item, Some("name")), Some(&json!("a")));
        assert_eq!(identity(&item, Some("port")), None);
    }

    #[test]
    fn combining_patches_keeps_nulls_and_directives() {
        let deletions = obj(json!({"a": null, "$deleteFromPrimitiveList/f": ["x"]}));
        let delta = obj(json!({"b": null, "c": {"$patch": "delete"}}));
        let merged = merge_map(deletions, delta, None, MergeOptions::COMBINE_PATCHES).unwrap();
        assert_eq!(
            Value::Object(merged),
            json!({"a": null, "b": null, "c": {"$patch": "delete"}, "$deleteFromPrimitiveList/f": ["x"]})
        );
    }
}
