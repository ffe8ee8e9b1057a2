//! Namespaces, Nodes, configuration, storage, coordination, scheduling and RBAC.

use serde_json::{Value, json};

use super::{
    Case, create_errors, defaulted, remove, run_create_cases, run_update_cases, set, status_errors, stored_meta,
    update_errors,
};

#[test]
fn namespace_rules() {
    let namespace = || defaulted("", "Namespace", json!({"metadata": {"name": "team-a"}}));
    let cases = [
        Case {
            behaviour: "namespace names are DNS labels",
            change: |n| set(n, "/metadata/name", json!("team.a")),
            expected: &["metadata.name: Invalid value: \"team.a\": must not contain dots"],
        },
        Case {
            behaviour: "namespaces are not namespaced",
            change: |n| set(n, "/metadata/namespace", json!("default")),
            expected: &["metadata.namespace: Forbidden: not allowed on this type"],
        },
        Case {
            behaviour: "spec finalizers are standard or qualified",
            change: |n| set(n, "/spec/finalizers", json!(["kubernetes", "cleanup"])),
            expected: &[
                "spec.finalizers: Invalid value: \"cleanup\": name is neither a standard finalizer name nor is it fully qualified",
            ],
        },
    ];
    run_create_cases("", "Namespace", namespace, &cases);

    let mut old = namespace();
    old["metadata"] = stored_meta("team-a", None);
    let mut terminating = old.clone();
    set(&mut terminating, "/status/phase", json!("Terminating"));
    assert_eq!(
        status_errors("", "Namespace", &terminating, &old),
        vec!["status.Phase: Invalid value: \"Terminating\": may only be 'Active' if `deletionTimestamp` is empty"]
    );
}

#[test]
fn node_rules() {
    let node = || {
        defaulted(
            "",
            "Node",
            json!({"metadata": {"name": "node-1"}, "status": {"capacity": {"cpu": "4", "pods": "110"}}}),
        )
    };
    let cases = [
        Case {
            behaviour: "taints have a known effect (path under metadata, as upstream)",
            change: |n| set(n, "/spec/taints", json!([{"key": "dedicated", "value": "gpu", "effect": "NoRun"}])),
            expected: &[
                "metadata.taints[0].effect: Unsupported value: \"NoRun\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
            ],
        },
        Case {
            behaviour: "taints are unique by key and effect",
            change: |n| {
                set(
                    n,
                    "/spec/taints",
                    json!([{"key": "a", "effect": "NoSchedule"}, {"key": "a", "value": "x", "effect": "NoSchedule"}]),
                )
            },
            expected: &[
                "metadata.taints[1]: Duplicate value: core.Taint{Key:\"a\", Value:\"x\", Effect:\"NoSchedule\", TimeAdded:(*v1.Time)(nil)}: taints must be unique by key and effect pair",
            ],
        },
        Case {
            behaviour: "capacity is not negative",
            change: |n| set(n, "/status/capacity/memory", json!("-1Gi")),
            expected: &["status.capacity.memory: Invalid value: \"-1Gi\": must be greater than or equal to 0"],
        },
        Case {
            behaviour: "pod CIDRs are CIDRs",
            change: |n| set(n, "/spec/podCIDRs", json!(["10.244.0.0/33"])),
            expected: &[
                "spec.podCIDRs[0]: Invalid value: \"10.244.0.0/33\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
            ],
        },
    ];
    run_create_cases("", "Node", node, &cases);
    let stored = || {
        let mut n = node();
        n["metadata"] = stored_meta("node-1", None);
        n["spec"] = json!({"podCIDRs": ["10.244.1.0/24"], "providerID": "kind://node-1"});
        n
    };
    let updates = [
        Case {
            behaviour: "unschedulable may change",
            change: |n| set(n, "/spec/unschedulable", json!(true)),
            expected: &[],
        },
        Case {
            behaviour: "pod CIDRs are set once",
            change: |n| set(n, "/spec/podCIDRs", json!(["10.244.2.0/24"])),
            expected: &["spec.podCIDRs: Forbidden: node updates may not change podCIDR except from \"\" to valid"],
        },
        Case {
            behaviour: "the provider ID is set once",
            change: |n| set(n, "/spec/providerID", json!("kind://other")),
            expected: &["spec.providerID: Forbidden: node updates may not change providerID except from \"\" to valid"],
        },
    ];
    run_update_cases("", "Node", stored, &updates);
}

fn config_map() -> Value {
    json!({"metadata": {"name": "settings", "namespace": "default"}, "data": {"app.properties": "a=b"}})
}

#[test]
fn config_map_rules() {
    let cases = [
        Case {
            behaviour: "keys are config map keys",
            change: |c| set(c, "/data/a b", json!("x")),
            expected: &[
                "data[a b]: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
            ],
        },
        Case {
            behaviour: "keys may not start with '..'",
            change: |c| set(c, "/data/..secret", json!("x")),
            expected: &["data[..secret]: Invalid value: \"..secret\": must not start with '..'"],
        },
        Case {
            behaviour: "a key is in data or binaryData, not both",
            change: |c| set(c, "/binaryData/app.properties", json!("eA==")),
            expected: &[
                "data[app.properties]: Invalid value: \"app.properties\": duplicate of key present in binaryData",
            ],
        },
        Case {
            behaviour: "the total is at most 1 MiB, reported at the root",
            change: |c| set(c, "/data/big", json!("x".repeat(1024 * 1024))),
            expected: &[": Too long: may not be more than 1048576 bytes"],
        },
    ];
    run_create_cases("", "ConfigMap", config_map, &cases);
    let stored = || {
        let mut c = config_map();
        c["metadata"] = stored_meta("settings", Some("default"));
        c["immutable"] = json!(true);
        c
    };
    let updates = [
        Case {
            behaviour: "labels of an immutable map may change",
            change: |c| set(c, "/metadata/labels", json!({"a": "b"})),
            expected: &[],
        },
        Case {
            behaviour: "an immutable map keeps its data",
            change: |c| set(c, "/data/app.properties", json!("a=c")),
            expected: &["data: Forbidden: field is immutable when `immutable` is set"],
        },
        Case {
            behaviour: "and stays immutable",
            change: |c| set(c, "/immutable", json!(false)),
            expected: &["immutable: Forbidden: field is immutable when `immutable` is set"],
        },
    ];
    run_update_cases("", "ConfigMap", stored, &updates);
}

fn secret() -> Value {
    defaulted(
        "",
        "Secret",
        json!({"metadata": {"name": "creds", "namespace": "default"}, "stringData": {"password": "hunter2"}}),
    )
}

#[test]
fn secret_rules() {
    let cases = [
        Case {
            behaviour: "TLS secrets carry a certificate and a key",
            change: |s| set(s, "/type", json!("kubernetes.io/tls")),
            expected: &["data[tls.crt]: Required value", "data[tls.key]: Required value"],
        },
        Case {
            behaviour: "service account token secrets name their account",
            change: |s| set(s, "/type", json!("kubernetes.io/service-account-token")),
            expected: &["metadata.annotations[kubernetes.io/service-account.name]: Required value"],
        },
        Case {
            behaviour: "docker config secrets hold JSON",
            change: |s| {
                set(s, "/type", json!("kubernetes.io/dockerconfigjson"));
                set(s, "/data/.dockerconfigjson", json!("bm90IGpzb24="));
            },
            expected: &[],
        },
        Case {
            behaviour: "the data is at most 1 MiB",
            change: |s| set(s, "/stringData", json!({"big": "x".repeat(1024 * 1024 + 1)})),
            expected: &["data: Too long: may not be more than 1048576 bytes"],
        },
    ];
    let docker = cases.iter().position(|c| c.behaviour == "docker config secrets hold JSON").unwrap_or(0);
    let (json_case, others): (Vec<_>, Vec<_>) = cases.into_iter().enumerate().partition(|(i, _)| *i == docker);
    let others: Vec<Case> = others.into_iter().map(|(_, c)| c).collect();
    run_create_cases("", "Secret", secret, &others);
    for (_, case) in json_case {
        let mut s = secret();
        (case.change)(&mut s);
        let got = create_errors("", "Secret", &s);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert!(
            got[0].starts_with("data[.dockerconfigjson]: Invalid value: \"<secret contents redacted>\": "),
            "{got:#?}"
        );
    }
    let mut old = secret();
    old["metadata"] = stored_meta("creds", Some("default"));
    let mut retyped = old.clone();
    set(&mut retyped, "/type", json!("kubernetes.io/basic-auth"));
    assert_eq!(
        update_errors("", "Secret", &retyped, &old),
        vec!["type: Invalid value: \"kubernetes.io/basic-auth\": field is immutable"]
    );
}

#[test]
fn persistent_volume_claim_rules() {
    let claim = || {
        defaulted(
            "",
            "PersistentVolumeClaim",
            json!({"metadata": {"name": "data", "namespace": "default"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
        )
    };
    let cases = [
        Case {
            behaviour: "an access mode is required",
            change: |c| set(c, "/spec/accessModes", json!([])),
            expected: &["spec.accessModes: Required value: at least 1 access mode is required"],
        },
        Case {
            behaviour: "a storage request is required",
            change: |c| remove(c, "/spec/resources/requests/storage"),
            expected: &["spec.resources[storage]: Required value"],
        },
        Case {
            behaviour: "ReadWriteOncePod stands alone",
            change: |c| set(c, "/spec/accessModes", json!(["ReadWriteOncePod", "ReadOnlyMany"])),
            expected: &["spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes"],
        },
    ];
    run_create_cases("", "PersistentVolumeClaim", claim, &cases);
    let stored = || {
        let mut c = claim();
        c["metadata"] = stored_meta("data", Some("default"));
        c
    };
    let updates = [
        Case {
            behaviour: "the volume name is set once",
            change: |c| set(c, "/spec/volumeName", json!("pv-1")),
            expected: &[],
        },
        Case {
            behaviour: "the volume mode is immutable",
            change: |c| set(c, "/spec/volumeMode", json!("Block")),
            expected: &["volumeMode: Invalid value: \"Block\": field is immutable"],
        },
    ];
    run_update_cases("", "PersistentVolumeClaim", stored, &updates);
}

#[test]
fn persistent_volume_rules() {
    let volume = || {
        defaulted(
            "",
            "PersistentVolume",
            json!({"metadata": {"name": "pv-1"}, "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}, "hostPath": {"path": "/data"}}}),
        )
    };
    let cases = [
        Case {
            behaviour: "a volume source is required",
            change: |v| remove(v, "/spec/hostPath"),
            expected: &["spec: Required value: must specify a volume type"],
        },
        Case {
            behaviour: "one source only",
            change: |v| set(v, "/spec/nfs", json!({"server": "nfs", "path": "/x"})),
            expected: &["spec.nfs: Forbidden: may not specify more than 1 volume type"],
        },
        Case {
            behaviour: "local volumes need node affinity",
            change: |v| {
                remove(v, "/spec/hostPath");
                set(v, "/spec/local", json!({"path": "/mnt/disk"}));
            },
            expected: &["spec.nodeAffinity: Required value: Local volume requires node affinity"],
        },
    ];
    run_create_cases("", "PersistentVolume", volume, &cases);
}

#[test]
fn lease_rules() {
    let lease = || json!({"metadata": {"name": "kube-scheduler", "namespace": "kube-system"}, "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}});
    let cases = [
        Case {
            behaviour: "the duration is positive",
            change: |l| set(l, "/spec/leaseDurationSeconds", json!(0)),
            expected: &["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"],
        },
        Case {
            behaviour: "transitions are not negative",
            change: |l| set(l, "/spec/leaseTransitions", json!(-1)),
            expected: &["spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0"],
        },
        Case {
            behaviour: "coordination uses apimachinery's metadata rules: any qualified finalizer name",
            change: |l| set(l, "/metadata/finalizers", json!(["custom"])),
            expected: &[],
        },
    ];
    run_create_cases("coordination.k8s.io", "Lease", lease, &cases);
}

#[test]
fn priority_class_rules() {
    let class =
        || defaulted("scheduling.k8s.io", "PriorityClass", json!({"metadata": {"name": "high"}, "value": 1000}));
    let cases = [
        Case {
            behaviour: "user priorities are at most one billion",
            change: |c| set(c, "/value", json!(2_000_000_000)),
            expected: &["value: Forbidden: maximum allowed value of a user defined priority is 1000000000"],
        },
        Case {
            behaviour: "the system- prefix is reserved",
            change: |c| set(c, "/metadata/name", json!("system-high")),
            expected: &[
                "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: name system-high is not a known system priority class",
            ],
        },
    ];
    run_create_cases("scheduling.k8s.io", "PriorityClass", class, &cases);
}

#[test]
fn role_rules() {
    let role = || json!({"metadata": {"name": "reader", "namespace": "default"}, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]});
    let cases = [
        Case {
            behaviour: "rules need verbs",
            change: |r| set(r, "/rules/0/verbs", json!([])),
            expected: &["rules[0].verbs: Required value: verbs must contain at least one value"],
        },
        Case {
            behaviour: "resource rules need groups and resources",
            change: |r| set(r, "/rules/0", json!({"verbs": ["get"]})),
            expected: &[
                "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
                "rules[0].resources: Required value: resource rules must supply at least one resource",
            ],
        },
        Case {
            behaviour: "namespaced roles have no non-resource URLs",
            change: |r| set(r, "/rules/0", json!({"verbs": ["get"], "nonResourceURLs": ["/healthz"]})),
            expected: &[
                "rules[0].nonResourceURLs: Invalid value: []string{\"/healthz\"}: namespaced rules cannot apply to non-resource URLs",
            ],
        },
        Case {
            behaviour: "role names are path segments: anything but '/' and '%'",
            change: |r| set(r, "/metadata/name", json!("system:Reader")),
            expected: &[],
        },
        Case {
            behaviour: "role names may not contain '/'",
            change: |r| set(r, "/metadata/name", json!("a/b")),
            expected: &["metadata.name: Invalid value: \"a/b\": may not contain '/'"],
        },
    ];
    run_create_cases("rbac.authorization.k8s.io", "Role", role, &cases);
    let cluster_role =
        json!({"metadata": {"name": "health"}, "rules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]});
    assert!(
        create_errors("rbac.authorization.k8s.io", "ClusterRole", &cluster_role).is_empty(),
        "cluster roles may name URLs"
    );
}

#[test]
fn role_binding_rules() {
    let binding = || {
        defaulted(
            "rbac.authorization.k8s.io",
            "RoleBinding",
            json!({"metadata": {"name": "read", "namespace": "default"}, "roleRef": {"kind": "Role", "name": "reader"}, "subjects": [{"kind": "User", "name": "jane"}]}),
        )
    };
    let cases = [
        Case {
            behaviour: "roleRef kinds are Role or ClusterRole",
            change: |b| set(b, "/roleRef/kind", json!("Group")),
            expected: &["roleRef.kind: Unsupported value: \"Group\": supported values: \"Role\", \"ClusterRole\""],
        },
        Case {
            behaviour: "subjects are ServiceAccount, User or Group",
            change: |b| set(b, "/subjects/0/kind", json!("Robot")),
            expected: &[
                "subjects[0].kind: Unsupported value: \"Robot\": supported values: \"ServiceAccount\", \"User\", \"Group\"",
            ],
        },
    ];
    run_create_cases("rbac.authorization.k8s.io", "RoleBinding", binding, &cases);
    let mut old = binding();
    old["metadata"] = stored_meta("read", Some("default"));
    let mut new = old.clone();
    set(&mut new, "/roleRef/name", json!("writer"));
    assert_eq!(
        update_errors("rbac.authorization.k8s.io", "RoleBinding", &new, &old),
        vec![
            "roleRef: Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", Kind:\"Role\", Name:\"writer\"}: cannot change roleRef"
        ]
    );
    let cluster = defaulted(
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        json!({"metadata": {"name": "read"}, "roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "ServiceAccount", "name": "default"}]}),
    );
    assert_eq!(
        create_errors("rbac.authorization.k8s.io", "ClusterRoleBinding", &cluster),
        vec!["subjects[0].namespace: Required value"],
        "a cluster binding names the service account's namespace"
    );
}
