//! Malformed patches are 400s (`PatchError::InvalidPatch`), and no input makes the crate panic.

mod support;

use rustkube_patch::{
    PatchError, PatchType, apply_patch, create_three_way_merge_patch, create_two_way_merge_patch, schema_for,
};
use serde_json::{Map, Value, json};
use support::{Rng, container, pod_schema, pod_with, smp};

fn live_pod() -> Value {
    let mut pod = pod_with(vec![
        json!({"name": "a", "image": "1", "env": [{"name": "X", "value": "1"}], "ports": [{"containerPort": 80}]}),
        container("b", "2"),
    ]);
    pod["metadata"]["finalizers"] = json!(["f1", "f2"]);
    pod["metadata"]["labels"] = json!({"app": "x"});
    pod["spec"]["volumes"] = json!([{"name": "v", "emptyDir": {}}]);
    pod
}

fn assert_invalid(name: &str, result: Result<Value, PatchError>) {
    match result {
        Err(PatchError::InvalidPatch(message)) => assert!(!message.is_empty(), "{name}: empty message"),
        other => panic!("{name}: expected InvalidPatch, got {other:?}"),
    }
}

#[test]
fn malformed_strategic_patches_are_invalid() {
    let cases: Vec<(&str, Value)> = vec![
        ("array body", json!([{"op": "add"}])),
        ("string body", json!("spec")),
        ("unknown directive in a map", json!({"metadata": {"labels": {"$patch": "bogus"}}})),
        ("unknown directive at the top", json!({"$patch": "bogus"})),
        ("directive that is not a string", json!({"spec": {"$patch": 1}})),
        ("unknown directive in a list item", json!({"spec": {"containers": [{"name": "a", "$patch": "bogus"}]}})),
        ("$patch: merge in a list", json!({"spec": {"containers": [{"name": "a", "$patch": "merge"}]}})),
        ("list item without its merge key", json!({"spec": {"containers": [{"image": "x"}]}})),
        ("delete directive without merge key", json!({"spec": {"containers": [{"$patch": "delete"}]}})),
        (
            "nested list item without merge key",
            json!({"spec": {"containers": [{"name": "a", "env": [{"value": "1"}]}]}}),
        ),
        ("list item that is not an object", json!({"spec": {"containers": ["a"]}})),
        ("mixed primitive types", json!({"metadata": {"finalizers": ["a", 1]}})),
        ("list of lists", json!({"metadata": {"finalizers": [["a"]]}})),
        ("objects in a list merged without key", json!({"metadata": {"finalizers": [{"a": 1}]}})),
        ("$retainKeys not a list", json!({"spec": {"volumes": [{"name": "v", "$retainKeys": "name"}]}})),
        (
            "$retainKeys missing a patched key",
            json!({"spec": {"volumes": [{"name": "v", "secret": {"secretName": "s"}, "$retainKeys": ["name"]}]}}),
        ),
        ("$setElementOrder not a list", json!({"spec": {"$setElementOrder/containers": {"name": "a"}}})),
        ("$setElementOrder item without key", json!({"spec": {"$setElementOrder/containers": [{"image": "a"}]}})),
        (
            "$setElementOrder not matching the patch list",
            json!({"spec": {"$setElementOrder/containers": [{"name": "a"}], "containers": [{"name": "b", "image": "3"}]}}),
        ),
        (
            "$setElementOrder in another order than the patch list",
            json!({"spec": {
                "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
                "containers": [{"name": "b", "image": "3"}, {"name": "a", "image": "4"}],
            }}),
        ),
        ("$setElementOrder without a field", json!({"spec": {"$setElementOrderX": []}})),
        ("$deleteFromPrimitiveList not a list", json!({"metadata": {"$deleteFromPrimitiveList/finalizers": "f1"}})),
        ("$deleteFromPrimitiveList without a field", json!({"metadata": {"$deleteFromPrimitiveList": ["f1"]}})),
        ("patch list where the live one is a list of maps", json!({"spec": {"containers": [1, 2]}})),
    ];
    let live = live_pod();
    for (name, patch) in cases {
        assert_invalid(name, smp(&live, &patch, pod_schema()));
    }
}

#[test]
fn malformed_bodies_are_invalid_for_every_patch_type() {
    let bodies: &[&[u8]] =
        &[b"", b"{", b"not json", b"{\"a\":1}}", b"\xff\xfe", b"[1, 2", b"{\"spec\": }", b"\"unterminated"];
    let schema = schema_for("", "Pod");
    for body in bodies {
        for patch_type in [PatchType::Json, PatchType::Merge, PatchType::StrategicMerge] {
            let result = apply_patch(patch_type, &live_pod(), body, schema);
            assert_invalid(&format!("{patch_type:?} {:?}", String::from_utf8_lossy(body)), result);
        }
    }
}

#[test]
fn invalid_errors_are_bad_requests() {
    let err = smp(&live_pod(), &json!({"$patch": "bogus"}), pod_schema()).unwrap_err();
    assert_eq!((err.status_code(), err.reason()), (400, "BadRequest"));
}

/// A random JSON value built from the words strategic merge patches are made of.
fn junk(rng: &mut Rng, depth: usize) -> Value {
    const KEYS: &[&str] = &[
        "metadata",
        "spec",
        "status",
        "containers",
        "name",
        "image",
        "env",
        "finalizers",
        "labels",
        "volumes",
        "ports",
        "containerPort",
        "conditions",
        "type",
        "$patch",
        "$retainKeys",
        "$setElementOrder/containers",
        "$setElementOrder/finalizers",
        "$setElementOrder/env",
        "$deleteFromPrimitiveList/finalizers",
        "$deleteFromPrimitiveList/containers",
        "$setElementOrder",
        "$deleteFromPrimitiveList/",
    ];
    const WORDS: &[&str] = &["delete", "replace", "merge", "bogus", "a", "b", "f1", "name"];
    let choice = if depth == 0 { rng.below(4) } else { rng.below(7) };
    match choice {
        0 => Value::Null,
        1 => json!(rng.pick(WORDS)),
        2 => json!(rng.below(3)),
        3 => json!(rng.chance(50)),
        4 | 5 => {
            let mut map = Map::new();
            for _ in 0..rng.below(4) {
                map.insert((*rng.pick(KEYS)).to_owned(), junk(rng, depth - 1));
            }
            Value::Object(map)
        }
        _ => Value::Array((0..rng.below(4)).map(|_| junk(rng, depth - 1)).collect()),
    }
}

#[test]
fn junk_never_panics() {
    let mut rng = Rng::new(7);
    let live = live_pod();
    let schemas = [pod_schema(), schema_for("apps", "Deployment").unwrap(), schema_for("", "Node").unwrap()];
    for i in 0..5000 {
        let patch = junk(&mut rng, 5);
        let schema = schemas[i % schemas.len()];
        let body = patch.to_string();
        for patch_type in [PatchType::StrategicMerge, PatchType::Merge, PatchType::Json] {
            // Any outcome but a panic is acceptable for junk; errors must say something.
            if let Err(e) = apply_patch(patch_type, &live, body.as_bytes(), Some(schema)) {
                assert!(!e.to_string().is_empty(), "{patch_type:?} {body}: empty error");
            }
        }
        // Junk as documents to diff.
        let other = junk(&mut rng, 5);
        let _ = create_two_way_merge_patch(&patch, &other, Some(schema));
        let _ = create_three_way_merge_patch(&patch, &other, &live, Some(schema), false);
        let _ = create_three_way_merge_patch(&live, &patch, &other, Some(schema), true);
    }
}

#[test]
fn junk_patches_of_every_shape_against_junk_objects_never_panic() {
    let mut rng = Rng::new(99);
    for _ in 0..3000 {
        let live = junk(&mut rng, 6);
        let patch = junk(&mut rng, 6);
        let body = patch.to_string();
        for patch_type in [PatchType::StrategicMerge, PatchType::Merge, PatchType::Json] {
            let _ = apply_patch(patch_type, &live, body.as_bytes(), Some(pod_schema()));
        }
    }
}
