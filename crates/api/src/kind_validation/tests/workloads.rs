//! ReplicationControllers and the apps group.

use serde_json::{Value, json};

use super::{
    Case, create_errors, defaulted, remove, run_create_cases, run_update_cases, set, status_errors, stored_meta,
};

const MISMATCH: &str = "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`";

fn template() -> Value {
    json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}})
}

fn deployment() -> Value {
    defaulted(
        "apps",
        "Deployment",
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template()},
        }),
    )
}

fn stored_deployment() -> Value {
    let mut d = deployment();
    d["metadata"] = stored_meta("web", Some("default"));
    d
}

#[test]
fn deployment_create_follows_validate_deployment_spec() {
    let cases = [
        Case {
            behaviour: "a selector is required, and nothing then matches the template",
            change: |d| remove(d, "/spec/selector"),
            expected: &["spec.selector: Required value", MISMATCH],
        },
        Case {
            behaviour: "the selector matches the template labels",
            change: |d| set(d, "/spec/selector/matchLabels/app", json!("api")),
            expected: &[MISMATCH],
        },
        Case {
            behaviour: "an empty selector is rejected, printed as the Go struct",
            change: |d| set(d, "/spec/selector", json!({})),
            expected: &[
                "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment",
            ],
        },
        Case {
            behaviour: "selector expressions use the four operators",
            change: |d| set(d, "/spec/selector/matchExpressions", json!([{"key": "tier", "operator": "Has"}])),
            expected: &[
                "spec.selector.matchExpressions[0].operator: Invalid value: \"Has\": not a valid selector operator",
                "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\"}, MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:\"tier\", Operator:\"Has\", Values:[]string(nil)}}}: invalid label selector",
            ],
        },
        Case {
            behaviour: "replicas are not negative",
            change: |d| set(d, "/spec/replicas", json!(-1)),
            expected: &["spec.replicas: Invalid value: -1: must be greater than or equal to 0"],
        },
        Case {
            behaviour: "maxSurge and maxUnavailable are not both zero",
            change: |d| set(d, "/spec/strategy/rollingUpdate", json!({"maxSurge": 0, "maxUnavailable": 0})),
            expected: &[
                "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: may not be 0 when `maxSurge` is 0",
            ],
        },
        Case {
            behaviour: "maxUnavailable is at most 100%",
            change: |d| set(d, "/spec/strategy/rollingUpdate/maxUnavailable", json!("120%")),
            expected: &[
                "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"120%\"}: must not be greater than 100%",
            ],
        },
        Case {
            behaviour: "percentages are digits and '%'",
            change: |d| set(d, "/spec/strategy/rollingUpdate/maxSurge", json!("abc")),
            expected: &[
                "spec.strategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"abc\"}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
            ],
        },
        Case {
            behaviour: "Recreate takes no rollingUpdate",
            change: |d| set(d, "/spec/strategy/type", json!("Recreate")),
            expected: &[
                "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'",
            ],
        },
        Case {
            behaviour: "strategy types are Recreate or RollingUpdate",
            change: |d| set(d, "/spec/strategy", json!({"type": "BlueGreen"})),
            expected: &[
                "spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:\"BlueGreen\", RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: \"Recreate\", \"RollingUpdate\"",
            ],
        },
        Case {
            behaviour: "pods of a deployment always restart",
            change: |d| set(d, "/spec/template/spec/restartPolicy", json!("Never")),
            expected: &["spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\""],
        },
        Case {
            behaviour: "the template's pod spec is validated",
            change: |d| set(d, "/spec/template/spec/containers/0/name", json!("")),
            expected: &["spec.template.spec.containers[0].name: Required value"],
        },
        Case {
            behaviour: "the progress deadline exceeds minReadySeconds",
            change: |d| set(d, "/spec/minReadySeconds", json!(600)),
            expected: &["spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds"],
        },
        Case {
            behaviour: "template pods may not set activeDeadlineSeconds",
            change: |d| set(d, "/spec/template/spec/activeDeadlineSeconds", json!(5)),
            expected: &[
                "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported",
            ],
        },
    ];
    run_create_cases("apps", "Deployment", deployment, &cases);
}

#[test]
fn deployment_update_keeps_the_selector() {
    let cases = [
        Case { behaviour: "scaling is allowed", change: |d| set(d, "/spec/replicas", json!(5)), expected: &[] },
        Case {
            behaviour: "the template may change",
            change: |d| set(d, "/spec/template/spec/containers/0/image", json!("nginx:2")),
            expected: &[],
        },
        Case {
            behaviour: "the selector is immutable in apps/v1",
            change: |d| {
                set(d, "/spec/selector/matchLabels/app", json!("other"));
                set(d, "/spec/template/metadata/labels/app", json!("other"));
            },
            expected: &[
                "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"other\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
            ],
        },
    ];
    run_update_cases("apps", "Deployment", stored_deployment, &cases);
}

#[test]
fn deployment_status_counters_are_consistent() {
    let old = stored_deployment();
    let mut new = old.clone();
    set(
        &mut new,
        "/status",
        json!({"replicas": 1, "readyReplicas": 2, "availableReplicas": 3, "observedGeneration": -1}),
    );
    let got = status_errors("apps", "Deployment", &new, &old);
    for want in [
        "status.observedGeneration: Invalid value: -1: must be greater than or equal to 0",
        "status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas",
        "status.availableReplicas: Invalid value: 3: cannot be greater than readyReplicas",
    ] {
        assert!(got.iter().any(|g| g == want), "expected {want:?} among {got:#?}");
    }
}

fn replica_set() -> Value {
    defaulted(
        "apps",
        "ReplicaSet",
        json!({"metadata": {"name": "web-1", "namespace": "default"}, "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template()}}),
    )
}

#[test]
fn replica_set_reuses_the_deployment_messages() {
    let cases = [Case {
        behaviour: "upstream's ReplicaSet empty-selector message says deployment",
        change: |r| set(r, "/spec/selector", json!({})),
        expected: &[
            "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment",
        ],
    }];
    run_create_cases("apps", "ReplicaSet", replica_set, &cases);
}

fn daemon_set() -> Value {
    defaulted(
        "apps",
        "DaemonSet",
        json!({"metadata": {"name": "agent", "namespace": "kube-system"}, "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template()}}),
    )
}

#[test]
fn daemon_set_rules() {
    let cases = [
        Case {
            behaviour: "without a selector nothing matches, and no Required error (as upstream)",
            change: |d| remove(d, "/spec/selector"),
            expected: &[MISMATCH],
        },
        Case {
            behaviour: "maxSurge and maxUnavailable are not both set",
            change: |d| set(d, "/spec/updateStrategy/rollingUpdate", json!({"maxUnavailable": 1, "maxSurge": "10%"})),
            expected: &[
                "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"10%\"}: may not be set when maxUnavailable is non-zero",
            ],
        },
        Case {
            behaviour: "and not both zero",
            change: |d| set(d, "/spec/updateStrategy/rollingUpdate", json!({"maxUnavailable": 0, "maxSurge": 0})),
            expected: &[
                "spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0",
            ],
        },
        Case {
            behaviour: "update strategies are RollingUpdate or OnDelete",
            change: |d| set(d, "/spec/updateStrategy", json!({"type": "Surge"})),
            expected: &[
                "spec.updateStrategy: Unsupported value: apps.DaemonSetUpdateStrategy{Type:\"Surge\", RollingUpdate:(*apps.RollingUpdateDaemonSet)(nil)}: supported values: \"RollingUpdate\", \"OnDelete\"",
            ],
        },
    ];
    run_create_cases("apps", "DaemonSet", daemon_set, &cases);
}

fn stateful_set() -> Value {
    defaulted(
        "apps",
        "StatefulSet",
        json!({
            "metadata": {"name": "db", "namespace": "default"},
            "spec": {
                "serviceName": "db",
                "selector": {"matchLabels": {"app": "web"}},
                "template": template(),
                "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}],
            },
        }),
    )
}

fn stored_stateful_set() -> Value {
    let mut s = stateful_set();
    s["metadata"] = stored_meta("db", Some("default"));
    s
}

#[test]
fn stateful_set_rules() {
    let cases = [
        Case {
            behaviour: "StatefulSet names are DNS labels",
            change: |s| set(s, "/metadata/name", json!("db.v1")),
            expected: &["metadata.name: Invalid value: \"db.v1\": must not contain dots"],
        },
        Case {
            behaviour: "pod management is OrderedReady or Parallel",
            change: |s| set(s, "/spec/podManagementPolicy", json!("Random")),
            expected: &["spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'"],
        },
        Case {
            behaviour: "the selector is required",
            change: |s| remove(s, "/spec/selector"),
            expected: &["spec.selector: Required value", MISMATCH],
        },
        Case {
            behaviour: "the partition is not negative",
            change: |s| set(s, "/spec/updateStrategy/rollingUpdate/partition", json!(-1)),
            expected: &[
                "spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: must be greater than or equal to 0",
            ],
        },
        Case {
            behaviour: "claim retention is Retain or Delete",
            change: |s| set(s, "/spec/persistentVolumeClaimRetentionPolicy/whenScaled", json!("Keep")),
            expected: &[
                "spec.persistentVolumeClaimRetentionPolicy.whenScaled: Unsupported value: \"Keep\": supported values: \"Retain\", \"Delete\"",
            ],
        },
        Case {
            behaviour: "mounts may name claim templates: the template pod spec is not validated, as upstream",
            change: |s| {
                set(s, "/spec/template/spec/containers/0/volumeMounts", json!([{"name": "data", "mountPath": "/data"}]))
            },
            expected: &[],
        },
    ];
    run_create_cases("apps", "StatefulSet", stateful_set, &cases);
    let updates = [
        Case { behaviour: "replicas may change", change: |s| set(s, "/spec/replicas", json!(3)), expected: &[] },
        Case {
            behaviour: "the service name is fixed",
            change: |s| set(s, "/spec/serviceName", json!("other")),
            expected: &[
                "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
            ],
        },
    ];
    run_update_cases("apps", "StatefulSet", stored_stateful_set, &updates);
}

fn replication_controller() -> Value {
    defaulted(
        "",
        "ReplicationController",
        json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {"template": template()}}),
    )
}

#[test]
fn replication_controller_rules() {
    let cases = [
        Case {
            behaviour: "the map selector matches the template",
            change: |r| set(r, "/spec/selector", json!({"app": "api"})),
            expected: &[MISMATCH],
        },
        Case {
            behaviour: "an empty selector is required",
            change: |r| set(r, "/spec/selector", json!({})),
            expected: &["spec.selector: Required value"],
        },
        Case {
            behaviour: "a template is required",
            change: |r| remove(r, "/spec/template"),
            expected: &["spec.template: Required value"],
        },
    ];
    run_create_cases("", "ReplicationController", replication_controller, &cases);
}

#[test]
fn controller_revisions_need_data() {
    let revision = json!({"metadata": {"name": "web-1", "namespace": "default"}, "revision": 1});
    assert_eq!(create_errors("apps", "ControllerRevision", &revision), vec!["data: Required value: data is mandatory"]);
}
