//! RFC 6902 JSON patch and RFC 7386 merge patch as kube-apiserver applies them, and the
//! content types that select each patch type.

use rustkube_patch::{MAX_JSON_PATCH_OPERATIONS, PatchError, PatchType, apply_patch};
use serde_json::{Value, json};

fn deployment() -> Value {
    json!({
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]}}},
    })
}

fn json_patch(original: &Value, ops: Value) -> Result<Value, PatchError> {
    apply_patch(PatchType::Json, original, ops.to_string().as_bytes(), None)
}

#[test]
fn json_patch_operations() {
    type Edit = fn(&mut Value);
    let cases: Vec<(&str, Value, Edit)> = vec![
        ("add a label", json!([{"op": "add", "path": "/metadata/labels/tier", "value": "front"}]), |d| {
            d["metadata"]["labels"]["tier"] = json!("front")
        }),
        ("remove a label", json!([{"op": "remove", "path": "/metadata/labels/app"}]), |d| {
            d["metadata"]["labels"] = json!({})
        }),
        (
            "replace the replicas after a passing test",
            json!([{"op": "test", "path": "/spec/replicas", "value": 2}, {"op": "replace", "path": "/spec/replicas", "value": 5}]),
            |d| d["spec"]["replicas"] = json!(5),
        ),
        (
            "append a container",
            json!([{"op": "add", "path": "/spec/template/spec/containers/-", "value": {"name": "c", "image": "3"}}]),
            |d| {
                d["spec"]["template"]["spec"]["containers"] =
                    json!([{"name": "a", "image": "1"}, {"name": "b", "image": "2"}, {"name": "c", "image": "3"}])
            },
        ),
        ("remove a container by index", json!([{"op": "remove", "path": "/spec/template/spec/containers/0"}]), |d| {
            d["spec"]["template"]["spec"]["containers"] = json!([{"name": "b", "image": "2"}])
        }),
        (
            "move and copy",
            json!([
                {"op": "copy", "from": "/metadata/labels/app", "path": "/metadata/labels/copied"},
                {"op": "move", "from": "/metadata/labels/app", "path": "/metadata/labels/moved"},
            ]),
            |d| d["metadata"]["labels"] = json!({"copied": "web", "moved": "web"}),
        ),
        (
            "test of an absent member against null passes, as upstream",
            json!([{"op": "test", "path": "/metadata/annotations", "value": null}, {"op": "add", "path": "/metadata/annotations", "value": {"a": "b"}}]),
            |d| d["metadata"]["annotations"] = json!({"a": "b"}),
        ),
        ("an empty patch changes nothing", json!([]), |_| {}),
    ];
    for (name, ops, edit) in cases {
        let got = json_patch(&deployment(), ops).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut expected = deployment();
        edit(&mut expected);
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn json_patch_failures() {
    let cases: Vec<(&str, Value, &str, u16)> = vec![
        (
            "failing test",
            json!([{"op": "test", "path": "/spec/replicas", "value": 3}, {"op": "replace", "path": "/spec/replicas", "value": 5}]),
            "TestFailed",
            422,
        ),
        ("test of a missing path", json!([{"op": "test", "path": "/nope/deeper", "value": 1}]), "TestFailed", 422),
        ("remove a missing key", json!([{"op": "remove", "path": "/metadata/annotations"}]), "CannotApply", 422),
        (
            "replace a missing key",
            json!([{"op": "replace", "path": "/spec/paused", "value": true}]),
            "CannotApply",
            422,
        ),
        (
            "add under a missing parent",
            json!([{"op": "add", "path": "/status/phase", "value": "x"}]),
            "CannotApply",
            422,
        ),
        (
            "index out of range",
            json!([{"op": "add", "path": "/spec/template/spec/containers/7", "value": {}}]),
            "CannotApply",
            422,
        ),
        ("not a list", json!({"op": "add"}), "InvalidPatch", 400),
        ("unknown op", json!([{"op": "frobnicate", "path": "/a"}]), "InvalidPatch", 400),
        ("missing path", json!([{"op": "add", "value": 1}]), "InvalidPatch", 400),
        ("missing value", json!([{"op": "add", "path": "/a"}]), "InvalidPatch", 400),
        ("bad pointer", json!([{"op": "add", "path": "a/b", "value": 1}]), "InvalidPatch", 400),
        ("op not an object", json!(["add"]), "InvalidPatch", 400),
    ];
    for (name, ops, variant, status) in cases {
        let err = json_patch(&deployment(), ops).expect_err(name);
        assert_eq!(variant_name(&err), variant, "{name}: {err:?}");
        assert_eq!(err.status_code(), status, "{name}");
    }
}

fn variant_name(err: &PatchError) -> &'static str {
    match err {
        PatchError::InvalidPatch(_) => "InvalidPatch",
        PatchError::TestFailed(_) => "TestFailed",
        PatchError::CannotApply(_) => "CannotApply",
        PatchError::Conflict(_) => "Conflict",
        PatchError::Unsupported(_) => "Unsupported",
        PatchError::TooLarge(_) => "TooLarge",
    }
}

#[test]
fn json_patch_has_an_operation_limit() {
    let ops: Vec<Value> =
        (0..=MAX_JSON_PATCH_OPERATIONS).map(|_| json!({"op": "test", "path": "", "value": {}})).collect();
    let err = json_patch(&json!({}), Value::Array(ops)).unwrap_err();
    assert!(matches!(err, PatchError::TooLarge(_)), "{err:?}");
    assert_eq!(err.status_code(), 413);
    assert_eq!(err.to_string(), "The allowed maximum operations in a JSON patch is 10000, got 10001");
}

#[test]
fn merge_patch_semantics() {
    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "objects merge and null deletes",
            json!({"metadata": {"labels": {"app": null, "tier": "x"}}}),
            json!({"metadata": {"name": "web", "labels": {"tier": "x"}}, "spec": deployment()["spec"].clone()}),
        ),
        (
            "lists are replaced",
            json!({"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "3"}]}}}}),
            json!({"metadata": deployment()["metadata"].clone(), "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "b", "image": "3"}]}}}}),
        ),
        (
            "kubectl scale",
            json!({"spec": {"replicas": 7}}),
            json!({"metadata": deployment()["metadata"].clone(), "spec": {"replicas": 7, "template": deployment()["spec"]["template"].clone()}}),
        ),
        (
            "directives are plain keys in a merge patch",
            json!({"metadata": {"labels": {"$patch": "delete"}}}),
            json!({"metadata": {"name": "web", "labels": {"app": "web", "$patch": "delete"}}, "spec": deployment()["spec"].clone()}),
        ),
    ];
    for (name, patch, expected) in cases {
        let got = apply_patch(PatchType::Merge, &deployment(), patch.to_string().as_bytes(), None)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn merge_patch_must_be_an_object() {
    for body in ["null", "[]", "[{\"op\": \"add\"}]", "3", "\"x\""] {
        let err = apply_patch(PatchType::Merge, &deployment(), body.as_bytes(), None).unwrap_err();
        assert!(matches!(err, PatchError::InvalidPatch(_)), "{body}: {err:?}");
    }
}

#[test]
fn content_types_select_patch_types() {
    let cases = [
        ("application/json-patch+json", Some(PatchType::Json)),
        ("application/merge-patch+json", Some(PatchType::Merge)),
        ("application/strategic-merge-patch+json", Some(PatchType::StrategicMerge)),
        ("application/apply-patch+yaml", Some(PatchType::Apply)),
        ("application/merge-patch+json; charset=utf-8", Some(PatchType::Merge)),
        ("Application/JSON-Patch+JSON", Some(PatchType::Json)),
        ("application/json", None),
        ("text/plain", None),
        ("", None),
    ];
    for (ct, expected) in cases {
        assert_eq!(PatchType::from_content_type(ct), expected, "{ct:?}");
        if let Some(t) = expected {
            assert_eq!(PatchType::from_content_type(t.content_type()), Some(t), "{t:?} round trips");
        }
    }
}
