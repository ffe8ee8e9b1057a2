//! Computing strategic merge patches as kubectl does: two-way (`kubectl edit`, `kubectl set
//! image`) and three-way (client-side `kubectl apply`).

mod support;

use rustkube_patch::{
    PatchError, PatchType, apply_patch, create_three_way_merge_patch, create_two_way_merge_patch, schema_for,
};
use serde_json::{Value, json};
use support::{container, pod_schema, pod_with};

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

fn deployment(containers: Vec<Value>) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": containers}},
        },
    })
}

/// What kubectl sends as `modified`: the file plus the annotation recording it.
fn with_last_applied(file: &Value) -> Value {
    let mut out = file.clone();
    out["metadata"]["annotations"] = json!({LAST_APPLIED: file.to_string()});
    out
}

#[test]
fn two_way_patches_match_upstream() {
    let pod = || pod_with(vec![container("a", "x"), container("b", "y")]);
    let cases: Vec<(&str, Value, Value, Value)> = vec![
        (
            "kubectl set image",
            pod(),
            pod_with(vec![container("a", "z"), container("b", "y")]),
            json!({"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}], "containers": [{"name": "a", "image": "z"}]}}),
        ),
        ("no change gives an empty patch", pod(), pod(), json!({})),
        (
            "removing a container",
            pod(),
            pod_with(vec![container("b", "y")]),
            json!({"spec": {"$setElementOrder/containers": [{"name": "b"}], "containers": [{"name": "a", "$patch": "delete"}]}}),
        ),
        (
            "reordering containers",
            pod(),
            pod_with(vec![container("b", "y"), container("a", "x")]),
            json!({"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}}),
        ),
        (
            "removing a label",
            json!({"metadata": {"labels": {"a": "1", "b": "2"}}}),
            json!({"metadata": {"labels": {"b": "2"}}}),
            json!({"metadata": {"labels": {"a": null}}}),
        ),
        (
            "finalizers: one removed, one added",
            json!({"metadata": {"finalizers": ["a", "b"]}}),
            json!({"metadata": {"finalizers": ["b", "c"]}}),
            json!({"metadata": {
                "$setElementOrder/finalizers": ["b", "c"],
                "$deleteFromPrimitiveList/finalizers": ["a"],
                "finalizers": ["c"],
            }}),
        ),
        (
            "changing a volume source sends $retainKeys",
            json!({"spec": {"volumes": [{"name": "v", "configMap": {"name": "c"}}]}}),
            json!({"spec": {"volumes": [{"name": "v", "secret": {"secretName": "s"}}]}}),
            json!({"spec": {
                "$setElementOrder/volumes": [{"name": "v"}],
                "volumes": [{"name": "v", "configMap": null, "secret": {"secretName": "s"}, "$retainKeys": ["name", "secret"]}],
            }}),
        ),
        (
            "changing an env var",
            pod_with(vec![json!({"name": "a", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]})]),
            pod_with(vec![json!({"name": "a", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "3"}]})]),
            json!({"spec": {
                "$setElementOrder/containers": [{"name": "a"}],
                "containers": [{"name": "a", "$setElementOrder/env": [{"name": "X"}, {"name": "Y"}], "env": [{"name": "Y", "value": "3"}]}],
            }}),
        ),
        (
            "atomic lists are sent whole",
            json!({"spec": {"tolerations": [{"key": "a"}]}}),
            json!({"spec": {"tolerations": [{"key": "a"}, {"key": "b"}]}}),
            json!({"spec": {"tolerations": [{"key": "a"}, {"key": "b"}]}}),
        ),
    ];
    for (name, original, modified, expected) in cases {
        let patch = create_two_way_merge_patch(&original, &modified, Some(pod_schema()))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(patch, expected, "{name}");
        let applied =
            apply_patch(PatchType::StrategicMerge, &original, patch.to_string().as_bytes(), Some(pod_schema()))
                .unwrap_or_else(|e| panic!("{name}: applying: {e}"));
        assert_eq!(applied, modified, "{name}: applying the patch gives the modified object");
    }
}

#[test]
fn replaced_maps_are_always_sent_whole() {
    let pdb = json!({"spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "a"}}}});
    let patch = create_two_way_merge_patch(&pdb, &pdb, schema_for("policy", "PodDisruptionBudget")).unwrap();
    assert_eq!(patch, json!({"spec": {"selector": {"matchLabels": {"app": "a"}}}}), "upstream sends it even unchanged");
}

#[test]
fn two_way_without_schema_is_a_json_merge_patch() {
    let original = json!({"spec": {"items": [1, 2], "a": {"b": 1, "c": 2}}});
    let modified = json!({"spec": {"items": [2], "a": {"b": 1}}});
    let patch = create_two_way_merge_patch(&original, &modified, None).unwrap();
    assert_eq!(patch, json!({"spec": {"items": [2], "a": {"c": null}}}));
    let applied = apply_patch(PatchType::Merge, &original, patch.to_string().as_bytes(), None).unwrap();
    assert_eq!(applied, modified);
}

#[test]
fn kubectl_apply_three_way() {
    // Last applied: two containers. New file: the sidecar is gone and the image changed.
    let last_applied = deployment(vec![
        json!({"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}),
        container("sidecar", "busybox:1.36"),
    ]);
    let file = deployment(vec![json!({"name": "web", "image": "nginx:1.26", "ports": [{"containerPort": 80}]})]);
    let modified = with_last_applied(&file);

    // Live: what the apiserver and controllers added on top of the last applied configuration.
    let mut live = with_last_applied(&last_applied);
    live["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = json!("3");
    live["metadata"]["uid"] = json!("0b1c");
    live["metadata"]["generation"] = json!(3);
    live["spec"]["replicas"] = json!(5); // scaled by an autoscaler
    live["spec"]["strategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}});
    live["spec"]["template"]["spec"]["containers"] = json!([
        {"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80, "protocol": "TCP"}], "imagePullPolicy": "IfNotPresent", "terminationMessagePath": "/dev/termination-log"},
        {"name": "sidecar", "image": "busybox:1.36", "imagePullPolicy": "IfNotPresent", "terminationMessagePath": "/dev/termination-log"},
    ]);
    live["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
    live["status"] = json!({"replicas": 5, "conditions": [{"type": "Available", "status": "True"}]});

    let schema = schema_for("apps", "Deployment");
    let patch = create_three_way_merge_patch(&last_applied, &modified, &live, schema, true).unwrap();
    let expected_patch = json!({
        "metadata": {"annotations": {LAST_APPLIED: file.to_string()}},
        "spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "web"}],
            "containers": [{"name": "web", "image": "nginx:1.26"}, {"name": "sidecar", "$patch": "delete"}],
        }}},
    });
    assert_eq!(patch, expected_patch, "the patch kubectl apply sends");

    let result = apply_patch(PatchType::StrategicMerge, &live, patch.to_string().as_bytes(), schema).unwrap();
    let mut expected = live.clone();
    expected["metadata"]["annotations"][LAST_APPLIED] = json!(file.to_string());
    expected["spec"]["template"]["spec"]["containers"] = json!([
        {"name": "web", "image": "nginx:1.26", "ports": [{"containerPort": 80, "protocol": "TCP"}], "imagePullPolicy": "IfNotPresent", "terminationMessagePath": "/dev/termination-log"},
    ]);
    assert_eq!(result, expected, "controller-set fields are kept, the sidecar is gone, the image changed");
}

#[test]
fn three_way_deletes_only_what_was_applied() {
    let original = json!({"metadata": {"labels": {"mine": "1", "dropped": "1"}}});
    let modified = json!({"metadata": {"labels": {"mine": "2"}}});
    let current = json!({"metadata": {"labels": {"mine": "1", "dropped": "1", "theirs": "x"}}});
    let patch = create_three_way_merge_patch(&original, &modified, &current, Some(pod_schema()), true).unwrap();
    assert_eq!(patch, json!({"metadata": {"labels": {"mine": "2", "dropped": null}}}));
}

#[test]
fn three_way_primitive_list_deletions() {
    let original = json!({"metadata": {"finalizers": ["a", "b"]}});
    let modified = json!({"metadata": {"finalizers": ["b"]}});
    let current = json!({"metadata": {"finalizers": ["a", "b", "controller"]}});
    let patch = create_three_way_merge_patch(&original, &modified, &current, Some(pod_schema()), true).unwrap();
    assert_eq!(
        patch,
        json!({"metadata": {"$setElementOrder/finalizers": ["b"], "$deleteFromPrimitiveList/finalizers": ["a"]}})
    );
    let result =
        apply_patch(PatchType::StrategicMerge, &current, patch.to_string().as_bytes(), Some(pod_schema())).unwrap();
    assert_eq!(result, json!({"metadata": {"finalizers": ["b", "controller"]}}));
}

#[test]
fn first_apply_without_last_applied() {
    let modified = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"replicas": 2}});
    let current = json!({"metadata": {"labels": {"a": "0", "b": "2"}}, "spec": {"replicas": 1}});
    let patch = create_three_way_merge_patch(&Value::Null, &modified, &current, schema_for("apps", "Deployment"), true)
        .unwrap();
    assert_eq!(patch, json!({"metadata": {"labels": {"a": "1"}}, "spec": {"replicas": 2}}));
}

#[test]
fn three_way_conflicts_without_overwrite() {
    let original = json!({"spec": {"replicas": 1}, "metadata": {"labels": {"a": "1"}}});
    let current = json!({"spec": {"replicas": 3}, "metadata": {"labels": {"a": "1", "b": "x"}}});
    let modified = json!({"spec": {"replicas": 2}, "metadata": {"labels": {"a": "1"}}});
    let schema = schema_for("apps", "Deployment");

    let err = create_three_way_merge_patch(&original, &modified, &current, schema, false).unwrap_err();
    assert!(matches!(err, PatchError::Conflict(_)), "replicas changed on both sides: {err:?}");
    assert_eq!(err.status_code(), 409);

    let patch = create_three_way_merge_patch(&original, &modified, &current, schema, true).unwrap();
    assert_eq!(patch, json!({"spec": {"replicas": 2}}), "with overwrite the file wins");

    // A change that does not touch what the live object changed is no conflict.
    let modified = json!({"spec": {"replicas": 1}, "metadata": {"labels": {"a": "2"}}});
    let current = json!({"spec": {"replicas": 1}, "metadata": {"labels": {"a": "1", "b": "x"}}});
    let patch = create_three_way_merge_patch(&original, &modified, &current, schema, false).unwrap();
    assert_eq!(patch, json!({"metadata": {"labels": {"a": "2"}}}));
}

#[test]
fn three_way_conflicts_inside_merging_lists() {
    let schema = schema_for("apps", "Deployment");
    let original = deployment(vec![container("a", "1"), container("b", "1")]);
    let mut current = original.clone();
    current["spec"]["template"]["spec"]["containers"][0]["image"] = json!("someone-else");
    let modified = deployment(vec![container("a", "2"), container("b", "1")]);
    let err = create_three_way_merge_patch(&original, &modified, &current, schema, false).unwrap_err();
    assert!(matches!(err, PatchError::Conflict(_)), "{err:?}");

    // Changing container b while someone else set a field of a that the file leaves alone is fine.
    let mut current = original.clone();
    current["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("Always");
    let modified = deployment(vec![container("a", "1"), container("b", "2")]);
    let patch = create_three_way_merge_patch(&original, &modified, &current, schema, false).unwrap();
    assert_eq!(patch["spec"]["template"]["spec"]["containers"], json!([{"name": "b", "image": "2"}]), "only b changes");
}

#[test]
fn documents_must_be_objects() {
    for bad in [json!([]), json!("x"), json!(1)] {
        let err = create_two_way_merge_patch(&bad, &json!({}), None).unwrap_err();
        assert!(matches!(err, PatchError::InvalidPatch(_)), "{bad}: {err:?}");
        let err = create_three_way_merge_patch(&json!({}), &json!({}), &bad, None, true).unwrap_err();
        assert!(matches!(err, PatchError::InvalidPatch(_)), "{bad}: {err:?}");
    }
}
