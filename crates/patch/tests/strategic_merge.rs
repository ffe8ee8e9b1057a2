//! Applying strategic merge patches as kube-apiserver does (upstream `StrategicMergePatch`).

mod support;

use rustkube_patch::{PatchError, PatchType, apply_patch, schema_for};
use serde_json::{Value, json};
use support::{container, pod_with, smp};

struct Case {
    name: &'static str,
    group: &'static str,
    kind: &'static str,
    original: Value,
    patch: Value,
    expected: Value,
}

fn pod_case(name: &'static str, original: Value, patch: Value, expected: Value) -> Case {
    Case { name, group: "", kind: "Pod", original, patch, expected }
}

fn spec(patch: Value) -> Value {
    json!({"spec": patch})
}

fn meta(original: Value) -> Value {
    json!({"metadata": original})
}

fn cases() -> Vec<Case> {
    vec![
        pod_case(
            "containers merge by name and untouched ones are kept",
            pod_with(vec![container("a", "a:1"), container("b", "b:1")]),
            spec(json!({"containers": [{"name": "b", "image": "b:2"}]})),
            pod_with(vec![container("a", "a:1"), container("b", "b:2")]),
        ),
        pod_case(
            "a new item without $setElementOrder goes before the live-only items, as upstream",
            pod_with(vec![container("a", "a:1"), container("b", "b:1")]),
            spec(json!({"containers": [{"name": "c", "image": "c:1"}]})),
            pod_with(vec![container("c", "c:1"), container("a", "a:1"), container("b", "b:1")]),
        ),
        pod_case(
            "$patch: delete removes one container",
            pod_with(vec![container("a", "a:1"), container("b", "b:1")]),
            spec(json!({"containers": [{"name": "a", "$patch": "delete"}]})),
            pod_with(vec![container("b", "b:1")]),
        ),
        pod_case(
            "$patch: delete of an absent item changes nothing",
            pod_with(vec![container("a", "a:1")]),
            spec(json!({"containers": [{"name": "zz", "$patch": "delete"}]})),
            pod_with(vec![container("a", "a:1")]),
        ),
        pod_case(
            "$patch: replace in a list replaces the whole list",
            pod_with(vec![container("a", "a:1"), container("b", "b:1")]),
            spec(json!({"containers": [{"name": "c", "image": "c:1"}, {"$patch": "replace"}]})),
            pod_with(vec![container("c", "c:1")]),
        ),
        pod_case(
            "$patch: replace in a map replaces the map",
            meta(json!({"name": "p", "labels": {"a": "1", "b": "2"}})),
            meta(json!({"labels": {"$patch": "replace", "c": "3"}})),
            meta(json!({"name": "p", "labels": {"c": "3"}})),
        ),
        pod_case(
            "$patch: delete in a map empties it",
            meta(json!({"name": "p", "labels": {"a": "1"}})),
            meta(json!({"labels": {"$patch": "delete"}})),
            meta(json!({"name": "p", "labels": {}})),
        ),
        pod_case(
            "$retainKeys on a volume clears the old volume source",
            spec(json!({"volumes": [{"name": "v", "configMap": {"name": "c"}}, {"name": "w", "emptyDir": {}}]})),
            spec(json!({"volumes": [{"name": "v", "secret": {"secretName": "s"}, "$retainKeys": ["name", "secret"]}]})),
            spec(json!({"volumes": [{"name": "v", "secret": {"secretName": "s"}}, {"name": "w", "emptyDir": {}}]})),
        ),
        Case {
            name: "$retainKeys on Deployment.spec.strategy drops rollingUpdate",
            group: "apps",
            kind: "Deployment",
            original: spec(
                json!({"replicas": 2, "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}),
            ),
            patch: spec(json!({"strategy": {"type": "Recreate", "$retainKeys": ["type"]}})),
            expected: spec(json!({"replicas": 2, "strategy": {"type": "Recreate"}})),
        },
        pod_case(
            "$setElementOrder/containers reorders without other changes",
            pod_with(vec![container("a", "1"), container("b", "2"), container("c", "3")]),
            spec(json!({"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}]})),
            pod_with(vec![container("c", "3"), container("a", "1"), container("b", "2")]),
        ),
        pod_case(
            "$setElementOrder/containers with a change and an addition",
            pod_with(vec![container("a", "1"), container("b", "2")]),
            spec(json!({
                "$setElementOrder/containers": [{"name": "b"}, {"name": "n"}, {"name": "a"}],
                "containers": [{"name": "b", "image": "2b"}, {"name": "n", "image": "new"}],
            })),
            pod_with(vec![container("b", "2b"), container("n", "new"), container("a", "1")]),
        ),
        pod_case(
            "items missing from $setElementOrder keep their live position",
            pod_with(vec![container("a", "1"), container("b", "2"), container("c", "3")]),
            spec(json!({
                "$setElementOrder/containers": [{"name": "a"}, {"name": "c"}],
                "containers": [{"name": "c", "image": "3c"}],
            })),
            pod_with(vec![container("a", "1"), container("b", "2"), container("c", "3c")]),
        ),
        pod_case(
            "$deleteFromPrimitiveList/finalizers removes values",
            meta(json!({"finalizers": ["a", "b", "c"]})),
            meta(json!({"$deleteFromPrimitiveList/finalizers": ["b", "zz"]})),
            meta(json!({"finalizers": ["a", "c"]})),
        ),
        pod_case(
            "finalizers merge as an ordered union",
            meta(json!({"finalizers": ["a", "b"]})),
            meta(json!({"finalizers": ["c", "a"]})),
            meta(json!({"finalizers": ["c", "a", "b"]})),
        ),
        pod_case(
            "$setElementOrder/finalizers with additions and deletions, as kubectl edit sends",
            meta(json!({"finalizers": ["a", "b", "c"]})),
            meta(json!({
                "$setElementOrder/finalizers": ["c", "a", "d"],
                "$deleteFromPrimitiveList/finalizers": ["b"],
                "finalizers": ["d"],
            })),
            meta(json!({"finalizers": ["c", "a", "d"]})),
        ),
        pod_case(
            "env var changed by name",
            pod_with(vec![json!({"name": "a", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]})]),
            spec(json!({"containers": [{"name": "a", "env": [{"name": "Y", "value": "3"}]}]})),
            pod_with(vec![json!({"name": "a", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "3"}]})]),
        ),
        pod_case(
            "env var switched from value to valueFrom",
            pod_with(vec![json!({"name": "a", "env": [{"name": "X", "value": "1"}]})]),
            spec(
                json!({"containers": [{"name": "a", "env": [{"name": "X", "value": null, "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]}]}),
            ),
            pod_with(vec![
                json!({"name": "a", "env": [{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]}),
            ]),
        ),
        pod_case(
            "container ports merge by containerPort",
            pod_with(vec![
                json!({"name": "a", "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 443}]}),
            ]),
            spec(json!({"containers": [{"name": "a", "ports": [{"containerPort": 443, "name": "https"}]}]})),
            pod_with(vec![
                json!({"name": "a", "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 443, "name": "https"}]}),
            ]),
        ),
        pod_case(
            "volumeMounts merge by mountPath",
            pod_with(vec![json!({"name": "a", "volumeMounts": [{"mountPath": "/d", "name": "v"}]})]),
            spec(json!({"containers": [{"name": "a", "volumeMounts": [{"mountPath": "/e", "name": "w"}]}]})),
            pod_with(vec![
                json!({"name": "a", "volumeMounts": [{"mountPath": "/e", "name": "w"}, {"mountPath": "/d", "name": "v"}]}),
            ]),
        ),
        pod_case(
            "null deletes a label",
            meta(json!({"labels": {"a": "1", "b": "2"}})),
            meta(json!({"labels": {"a": null}})),
            meta(json!({"labels": {"b": "2"}})),
        ),
        pod_case(
            "null for an absent field changes nothing",
            meta(json!({"labels": {"a": "1"}})),
            meta(json!({"labels": {"zz": null}, "annotations": null})),
            meta(json!({"labels": {"a": "1"}})),
        ),
        pod_case(
            "tolerations have no merge key and are replaced",
            spec(json!({"tolerations": [{"key": "a", "operator": "Exists"}]})),
            spec(json!({"tolerations": [{"key": "b", "operator": "Exists"}]})),
            spec(json!({"tolerations": [{"key": "b", "operator": "Exists"}]})),
        ),
        pod_case(
            "args are an atomic list",
            pod_with(vec![json!({"name": "a", "args": ["x", "y"]})]),
            spec(json!({"containers": [{"name": "a", "args": ["z"]}]})),
            pod_with(vec![json!({"name": "a", "args": ["z"]})]),
        ),
        pod_case(
            "ownerReferences merge by uid",
            meta(json!({"ownerReferences": [{"uid": "1", "name": "a"}]})),
            meta(json!({"ownerReferences": [{"uid": "1", "controller": true}, {"uid": "2", "name": "b"}]})),
            meta(
                json!({"ownerReferences": [{"uid": "1", "name": "a", "controller": true}, {"uid": "2", "name": "b"}]}),
            ),
        ),
        pod_case(
            "status conditions merge by type",
            json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}, {"type": "Initialized", "status": "True"}]}}),
            json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
            json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}, {"type": "Initialized", "status": "True"}]}}),
        ),
        pod_case(
            "a new object is stored without nested directives or nulls",
            pod_with(vec![container("a", "1")]),
            spec(
                json!({"containers": [{"name": "a", "securityContext": {"runAsUser": 1, "privileged": null, "$patch": "merge"}}]}),
            ),
            pod_with(vec![json!({"name": "a", "image": "1", "securityContext": {"runAsUser": 1}})]),
        ),
        pod_case(
            "fields without metadata merge as maps",
            spec(json!({"nodeSelector": {"a": "1"}, "dnsConfig": {"options": [{"name": "x"}]}})),
            spec(json!({"nodeSelector": {"b": "2"}, "dnsConfig": {"options": [{"name": "y"}]}})),
            spec(json!({"nodeSelector": {"a": "1", "b": "2"}, "dnsConfig": {"options": [{"name": "y"}]}})),
        ),
        pod_case(
            "a value of another type replaces the live one",
            spec(json!({"x": "scalar", "y": {"a": 1}})),
            spec(json!({"x": {"b": 2}, "y": [1]})),
            spec(json!({"x": {"b": 2}, "y": [1]})),
        ),
        pod_case(
            "$patch: replace at the top replaces the object",
            json!({"metadata": {"name": "p"}, "spec": {"a": 1}}),
            json!({"$patch": "replace", "metadata": {"name": "q"}}),
            json!({"metadata": {"name": "q"}}),
        ),
        Case {
            name: "Service ports merge by port",
            group: "",
            kind: "Service",
            original: spec(json!({"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]})),
            patch: spec(json!({"ports": [{"port": 80, "targetPort": 9090}]})),
            expected: spec(json!({"ports": [{"port": 80, "targetPort": 9090}, {"port": 443}]})),
        },
        Case {
            name: "Node taints are replaced and podCIDRs merge",
            group: "",
            kind: "Node",
            original: spec(json!({"taints": [{"key": "a", "effect": "NoSchedule"}], "podCIDRs": ["10.0.0.0/24"]})),
            patch: spec(json!({"taints": [{"key": "b", "effect": "NoSchedule"}], "podCIDRs": ["fd00::/64"]})),
            expected: spec(
                json!({"taints": [{"key": "b", "effect": "NoSchedule"}], "podCIDRs": ["fd00::/64", "10.0.0.0/24"]}),
            ),
        },
        Case {
            name: "PodDisruptionBudget selector is replaced whole",
            group: "policy",
            kind: "PodDisruptionBudget",
            original: spec(json!({"minAvailable": 1, "selector": {"matchLabels": {"app": "a"}}})),
            patch: spec(json!({"selector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]}})),
            expected: spec(
                json!({"minAvailable": 1, "selector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]}}),
            ),
        },
        Case {
            name: "Deployment template containers merge",
            group: "apps",
            kind: "Deployment",
            original: spec(
                json!({"replicas": 3, "template": {"spec": {"containers": [container("a", "1"), container("b", "1")]}}}),
            ),
            patch: spec(json!({"template": {"spec": {"containers": [{"name": "b", "image": "2"}]}}})),
            expected: spec(
                json!({"replicas": 3, "template": {"spec": {"containers": [container("a", "1"), container("b", "2")]}}}),
            ),
        },
        Case {
            name: "CronJob job template containers merge",
            group: "batch",
            kind: "CronJob",
            original: spec(
                json!({"jobTemplate": {"spec": {"template": {"spec": {"containers": [container("a", "1"), container("b", "1")]}}}}}),
            ),
            patch: spec(
                json!({"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "a", "$patch": "delete"}]}}}}}),
            ),
            expected: spec(
                json!({"jobTemplate": {"spec": {"template": {"spec": {"containers": [container("b", "1")]}}}}}),
            ),
        },
        Case {
            name: "ConfigMap gets ObjectMeta merging",
            group: "",
            kind: "ConfigMap",
            original: json!({"metadata": {"finalizers": ["a"]}, "data": {"k": "v"}}),
            patch: json!({"metadata": {"finalizers": ["b"]}, "data": {"k2": "v2"}}),
            expected: json!({"metadata": {"finalizers": ["b", "a"]}, "data": {"k": "v", "k2": "v2"}}),
        },
    ]
}

#[test]
fn strategic_merge_patch_cases() {
    for case in cases() {
        let schema = schema_for(case.group, case.kind).unwrap_or_else(|| panic!("{}: no schema", case.name));
        let got = smp(&case.original, &case.patch, schema).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(got, case.expected, "{}", case.name);
    }
}

#[test]
fn merge_patch_replaces_the_list_strategic_merges_it() {
    let original = pod_with(vec![container("a", "a:1"), container("b", "b:1")]);
    let patch = spec(json!({"containers": [{"name": "b", "image": "b:2"}]}));
    let body = patch.to_string();
    let schema = schema_for("", "Pod");

    let merged = apply_patch(PatchType::Merge, &original, body.as_bytes(), schema).unwrap();
    assert_eq!(merged, pod_with(vec![container("b", "b:2")]), "merge patch replaces lists");

    let strategic = apply_patch(PatchType::StrategicMerge, &original, body.as_bytes(), schema).unwrap();
    assert_eq!(strategic, pod_with(vec![container("a", "a:1"), container("b", "b:2")]), "strategic merges");
}

#[test]
fn null_patch_body_changes_nothing() {
    let original = pod_with(vec![container("a", "1")]);
    let got = apply_patch(PatchType::StrategicMerge, &original, b"null", schema_for("", "Pod")).unwrap();
    assert_eq!(got, original);
}

#[test]
fn strategic_merge_without_a_schema_is_unsupported() {
    let err = apply_patch(PatchType::StrategicMerge, &json!({}), b"{}", None).unwrap_err();
    assert!(matches!(err, PatchError::Unsupported(_)), "custom resources refuse strategic merge: {err:?}");
    assert_eq!(err.status_code(), 415);
    assert!(err.to_string().contains("application/merge-patch+json"), "lists accepted types: {err}");
}

#[test]
fn server_side_apply_is_unsupported_for_now() {
    let err = apply_patch(PatchType::Apply, &json!({}), b"{}", schema_for("", "Pod")).unwrap_err();
    assert!(matches!(err, PatchError::Unsupported(_)), "{err:?}");
}

#[test]
fn patching_does_not_touch_the_original() {
    let original = pod_with(vec![container("a", "1")]);
    let before = original.clone();
    let _ = smp(&original, &spec(json!({"containers": [{"name": "a", "$patch": "delete"}]})), support::pod_schema());
    assert_eq!(original, before);
}
