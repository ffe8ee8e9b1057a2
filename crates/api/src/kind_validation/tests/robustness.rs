//! Validation of arbitrary JSON never panics, for any kind and entry point.

use serde_json::{Value, json};

use super::{validate_create, validate_status_update, validate_update};
use crate::defaulting::apply_defaults;
use crate::registry;

fn junk() -> Vec<Value> {
    vec![
        Value::Null,
        json!(0),
        json!("x"),
        json!([]),
        json!({}),
        json!({"metadata": 5}),
        json!({"metadata": {"name": "", "namespace": "", "finalizers": [""], "labels": {"": ""}}}),
        json!({"spec": null, "status": null}),
        json!({"spec": {}, "status": {}}),
        json!({"spec": {"containers": [{}], "template": {}, "selector": {}, "ports": [{}], "volumes": [{}]}}),
        json!({"spec": {"template": {"spec": {"containers": [{"ports": [{"containerPort": -1}], "resources": {"limits": {"cpu": "x"}, "requests": {"hugepages-2Mi": "1"}}}]}}}}),
        json!({"spec": {"schedule": "@every", "jobTemplate": {"spec": {}}, "timeZone": "../x"}}),
        json!({"spec": {"clusterIPs": ["None", "x"], "ipFamilies": ["IPv7"], "type": "LoadBalancer"}}),
        json!({"spec": {"selector": {"matchExpressions": [{"key": "", "operator": "In"}]}, "strategy": {"type": "RollingUpdate"}}}),
        json!({"data": {"": ""}, "binaryData": {"..": ""}, "stringData": {"a": "b"}, "type": "kubernetes.io/dockercfg"}),
        json!({"rules": [{}], "roleRef": {}, "subjects": [{}]}),
        json!({"spec": {"volumes": [{"name": "v", "projected": {"sources": [{"serviceAccountToken": {"path": ""}, "downwardAPI": {"items": [{"path": "..", "fieldRef": {"apiVersion": "v2", "fieldPath": "metadata.labels['x"}}]}}]}}]}}),
        json!({"spec": {"containers": [{"name": "c", "image": "i", "env": [{"name": "", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "7"}}}]}]}}),
    ]
}

#[test]
fn validation_never_panics_on_junk_for_any_kind() {
    let mut kinds: Vec<(&str, &str)> = registry::all().iter().map(|r| (r.group, r.kind)).collect();
    kinds.push(("", "NotAKind"));
    let samples = junk();
    for (group, kind) in kinds {
        for obj in &samples {
            let mut defaulted = obj.clone();
            apply_defaults(group, kind, &mut defaulted);
            for candidate in [obj, &defaulted] {
                let _ = validate_create(group, kind, candidate);
                for old in &samples {
                    let _ = validate_update(group, kind, candidate, old);
                    let _ = validate_status_update(group, kind, candidate, old);
                }
            }
        }
    }
}
