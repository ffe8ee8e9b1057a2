//! Ordering of merged lists: patch items keep the patch's (or `$setElementOrder`'s) order, items
//! only the live object has keep theirs, and the two are interleaved by the live order.

use serde_json::Value;

use super::{Kind, identity, is_delete_item, no_merge_key};
use crate::error::Result;

/// Position of `item` in `order`, matching by merge key (or by value for primitives).
fn index_of(order: &[Value], item: &Value, merge_key: Option<&str>) -> Option<usize> {
    let id = identity(item, merge_key);
    order.iter().position(|o| identity(o, merge_key) == id)
}

/// Every item of `lists` must be an object holding `merge_key`.
pub(super) fn validate_merge_key(merge_key: &str, lists: &[&[Value]]) -> Result<()> {
    for item in lists.iter().flat_map(|l| l.iter()) {
        match item {
            Value::Object(m) if m.contains_key(merge_key) => {}
            Value::Object(_) => return Err(no_merge_key(item, merge_key)),
            other => return Err(super::bad_arg_type(Kind::Object, other)),
        }
    }
    Ok(())
}

/// Sorts `to_sort` by the positions of its items in `order`; `$patch: delete` items go last.
///
/// `merge_key` is `Some` for lists of objects. Items absent from `order` (which the callers never
/// produce) go first, keeping their relative order.
pub(super) fn normalize_slice_order(
    to_sort: Vec<Value>,
    order: &[Value],
    merge_key: Option<&str>,
) -> Result<Vec<Value>> {
    let (keep, deletes) = match merge_key {
        Some(key) => {
            validate_merge_key(key, &[&to_sort, order])?;
            to_sort.into_iter().partition::<Vec<_>, _>(|v| !is_delete_item(v))
        }
        None => (to_sort, Vec::new()),
    };
    let mut indexed: Vec<(Option<usize>, Value)> =
        keep.into_iter().map(|v| (index_of(order, &v, merge_key), v)).collect();
    // `None` sorts before `Some`, and the sort is stable.
    indexed.sort_by_key(|(i, _)| *i);
    let mut sorted: Vec<Value> = indexed.into_iter().map(|(_, v)| v).collect();
    sorted.extend(deletes);
    Ok(sorted)
}

/// Interleaves `server_only` items among `patch_items`, both already sorted, using their
/// positions in the live list: a server-only item goes before a patch item only when both are in
/// the live list and it comes first there.
fn merge_sorted(
    server_only: Vec<Value>,
    patch_items: Vec<Value>,
    server_order: &[Value],
    key: Option<&str>,
) -> Vec<Value> {
    let mut out = Vec::with_capacity(server_only.len() + patch_items.len());
    let mut left = server_only.into_iter().peekable();
    let mut right = patch_items.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => match (index_of(server_order, l, key), index_of(server_order, r, key)) {
                (Some(li), Some(ri)) => li < ri,
                _ => false,
            },
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}

/// Orders a merged list: `patch_items` by `patch_order`, `server_only` by `server_order`, then
/// interleaved by the live order.
pub(super) fn normalize_element_order(
    patch_items: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: Option<&str>,
) -> Result<Vec<Value>> {
    let patch_items = normalize_slice_order(patch_items, patch_order, merge_key)?;
    let server_only = normalize_slice_order(server_only, server_order, merge_key)?;
    Ok(merge_sorted(server_only, patch_items, server_order, merge_key))
}

/// Splits `items` into those present in `by` and the rest, keeping their order.
///
/// With a merge key, every item must be an object holding it.
pub(super) fn partition_by_presence(
    items: Vec<Value>,
    by: &[Value],
    merge_key: Option<&str>,
) -> Result<(Vec<Value>, Vec<Value>)> {
    if let Some(key) = merge_key {
        validate_merge_key(key, &[&items])?;
    }
    let mut present = Vec::with_capacity(items.len());
    let mut absent = Vec::new();
    for item in items {
        let id = identity(&item, merge_key);
        // Entries of `by` without the merge key never match.
        if by.iter().any(|b| id.is_some() && identity(b, merge_key) == id) {
            present.push(item);
        } else {
            absent.push(item);
        }
    }
    Ok((present, absent))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn names(list: &[Value]) -> Vec<&str> {
        list.iter().map(|v| v["name"].as_str().unwrap_or("?")).collect()
    }

    fn items(names: &[&str]) -> Vec<Value> {
        names.iter().map(|n| json!({"name": n})).collect()
    }

    #[test]
    fn server_only_items_keep_their_place_among_patch_items() {
        let server_order = items(&["a", "b", "c", "d"]);
        let ordered = normalize_element_order(
            items(&["c", "a"]),
            items(&["d", "b"]),
            &items(&["a", "c"]),
            &server_order,
            Some("name"),
        )
        .unwrap();
        assert_eq!(names(&ordered), ["a", "b", "c", "d"]);
    }

    #[test]
    fn new_patch_items_come_before_server_only_items() {
        let server_order = items(&["a", "b"]);
        let ordered =
            normalize_element_order(items(&["n"]), items(&["a", "b"]), &items(&["n"]), &server_order, Some("name"))
                .unwrap();
        assert_eq!(names(&ordered), ["n", "a", "b"]);
    }

    #[test]
    fn delete_items_sort_last() {
        let to_sort = vec![json!({"name": "x", "$patch": "delete"}), json!({"name": "b"}), json!({"name": "a"})];
        let sorted = normalize_slice_order(to_sort, &items(&["a", "b"]), Some("name")).unwrap();
        assert_eq!(names(&sorted), ["a", "b", "x"]);
    }

    #[test]
    fn items_without_merge_key_are_rejected() {
        let err = normalize_slice_order(vec![json!({"image": "x"})], &[], Some("name")).unwrap_err();
        assert!(err.to_string().contains("does not contain declared merge key: name"), "{err}");
    }
}
