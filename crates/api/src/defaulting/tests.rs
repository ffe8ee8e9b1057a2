//! Defaulting results compared with what kube-apiserver 1.33 stores for the same
//! input. Expected objects leave out what Go's encoder adds for zero-valued value
//! structs (`resources: {}`, `status: {}`), which is serialization, not defaulting.

use serde_json::{Value, json};

use super::{apply_defaults, prepare_for_create};
use crate::registry;

fn defaulted(group: &str, kind: &str, mut obj: Value) -> Value {
    apply_defaults(group, kind, &mut obj);
    obj
}

#[test]
fn minimal_pod_gets_upstream_pod_and_container_defaults() {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"containers": [{"name": "nginx", "image": "nginx"}]},
    });
    let expected = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "containers": [{
                "name": "nginx", "image": "nginx",
                "imagePullPolicy": "Always",
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
            }],
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": true,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "terminationGracePeriodSeconds": 30,
        },
    });
    assert_eq!(defaulted("", "Pod", pod), expected);
}

#[test]
fn minimal_deployment_gets_strategy_history_deadline_and_template_defaults() {
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]},
            },
        },
    });
    let expected = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "progressDeadlineSeconds": 600,
            "replicas": 1,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{
                        "name": "nginx", "image": "nginx:1.25",
                        "imagePullPolicy": "IfNotPresent",
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                    }],
                    "dnsPolicy": "ClusterFirst",
                    "restartPolicy": "Always",
                    "schedulerName": "default-scheduler",
                    "securityContext": {},
                    "terminationGracePeriodSeconds": 30,
                },
            },
        },
    });
    assert_eq!(defaulted("apps", "Deployment", deployment), expected);
}

#[test]
fn minimal_service_gets_type_affinity_protocol_target_port_and_traffic_policy() {
    let service = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
    });
    let expected = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "internalTrafficPolicy": "Cluster",
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
            "selector": {"app": "web"},
            "sessionAffinity": "None",
            "type": "ClusterIP",
        },
    });
    assert_eq!(defaulted("", "Service", service), expected);
}

#[test]
fn minimal_job_gets_completions_backoff_mode_suspend_replacement_and_template_defaults() {
    let job = json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "pi", "namespace": "default"},
        "spec": {"template": {"spec": {"containers": [{"name": "pi", "image": "perl"}], "restartPolicy": "Never"}}},
    });
    let expected = json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "pi", "namespace": "default"},
        "spec": {
            "backoffLimit": 6,
            "completionMode": "NonIndexed",
            "completions": 1,
            "parallelism": 1,
            "podReplacementPolicy": "TerminatingOrFailed",
            "suspend": false,
            "template": {"spec": {
                "containers": [{
                    "name": "pi", "image": "perl",
                    "imagePullPolicy": "Always",
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                }],
                "dnsPolicy": "ClusterFirst",
                "restartPolicy": "Never",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "terminationGracePeriodSeconds": 30,
            }},
        },
    });
    assert_eq!(defaulted("batch", "Job", job), expected);
}

#[test]
fn image_pull_policy_follows_the_tag_as_parse_image_name() {
    let cases = [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("docker.io/library/nginx", "Always"),
        ("localhost:5000/app", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("registry.example.com:5000/team/app:v2", "IfNotPresent"),
        ("nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "IfNotPresent"),
        ("nginx:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "Always"),
        // Unparsable references (upper case path, empty) pull IfNotPresent.
        ("Nginx", "IfNotPresent"),
        ("", "IfNotPresent"),
    ];
    for (image, policy) in cases {
        let pod = defaulted("", "Pod", json!({"spec": {"containers": [{"name": "c", "image": image}]}}));
        assert_eq!(pod["spec"]["containers"][0]["imagePullPolicy"], json!(policy), "image {image:?}");
    }
}

#[test]
fn set_fields_are_never_overwritten() {
    let pod = json!({"spec": {
        "restartPolicy": "Never", "dnsPolicy": "Default", "terminationGracePeriodSeconds": 0,
        "enableServiceLinks": false, "securityContext": {"runAsUser": 1000},
        "containers": [{"name": "c", "image": "nginx", "imagePullPolicy": "Never", "ports": [{"containerPort": 80, "protocol": "UDP"}]}],
    }});
    let out = defaulted("", "Pod", pod);
    let spec = &out["spec"];
    assert_eq!(spec["restartPolicy"], "Never");
    assert_eq!(spec["dnsPolicy"], "Default");
    assert_eq!(spec["terminationGracePeriodSeconds"], 0, "a pointer set to 0 is set");
    assert_eq!(spec["enableServiceLinks"], false);
    assert_eq!(spec["securityContext"], json!({"runAsUser": 1000}));
    assert_eq!(spec["containers"][0]["imagePullPolicy"], "Never");
    assert_eq!(spec["containers"][0]["ports"][0]["protocol"], "UDP");
}

#[test]
fn pod_probes_ports_env_and_volumes_get_nested_defaults() {
    let pod = json!({"spec": {
        "containers": [{
            "name": "c", "image": "nginx:1",
            "ports": [{"containerPort": 80}],
            "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
            "livenessProbe": {"httpGet": {"port": 8080}},
            "readinessProbe": {"grpc": {"port": 9000}, "periodSeconds": 5},
            "lifecycle": {"preStop": {"httpGet": {"port": 80}}},
        }],
        "volumes": [
            {"name": "cfg", "configMap": {"name": "cfg"}},
            {"name": "sec", "secret": {"secretName": "s"}},
            {"name": "scratch"},
            {"name": "host", "hostPath": {"path": "/var/log"}},
            {"name": "info", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
            {"name": "token", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}},
            {"name": "claim", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"]}}}},
        ],
    }});
    let out = defaulted("", "Pod", pod);
    let c = &out["spec"]["containers"][0];
    assert_eq!(c["ports"][0]["protocol"], "TCP");
    assert_eq!(c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
    assert_eq!(
        c["livenessProbe"],
        json!({"httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
    );
    assert_eq!(c["readinessProbe"]["grpc"], json!({"port": 9000, "service": ""}));
    assert_eq!(c["readinessProbe"]["periodSeconds"], 5);
    assert_eq!(c["lifecycle"]["preStop"]["httpGet"], json!({"port": 80, "path": "/", "scheme": "HTTP"}));
    let v = &out["spec"]["volumes"];
    assert_eq!(v[0]["configMap"]["defaultMode"], 420);
    assert_eq!(v[1]["secret"]["defaultMode"], 420);
    assert_eq!(v[2]["emptyDir"], json!({}), "a volume without a source is an emptyDir");
    assert_eq!(v[3]["hostPath"]["type"], "");
    assert_eq!(v[4]["downwardAPI"]["defaultMode"], 420);
    assert_eq!(v[4]["downwardAPI"]["items"][0]["fieldRef"]["apiVersion"], "v1");
    assert_eq!(v[5]["projected"]["defaultMode"], 420);
    assert_eq!(v[5]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"], 3600);
    assert_eq!(v[6]["ephemeral"]["volumeClaimTemplate"]["spec"]["volumeMode"], "Filesystem");
}

#[test]
fn pod_requests_default_to_limits_but_template_requests_do_not() {
    let spec = json!({"containers": [{"name": "c", "image": "i", "resources": {"limits": {"cpu": "500m", "memory": "1Gi"}, "requests": {"cpu": "100m"}}}]});
    let pod = defaulted("", "Pod", json!({"spec": spec.clone()}));
    assert_eq!(pod["spec"]["containers"][0]["resources"]["requests"], json!({"cpu": "100m", "memory": "1Gi"}));
    let template = defaulted("", "PodTemplate", json!({"template": {"spec": spec}}));
    assert_eq!(template["template"]["spec"]["containers"][0]["resources"]["requests"], json!({"cpu": "100m"}));
}

#[test]
fn quantities_are_rounded_up_to_milli_and_canonical() {
    let pod = json!({"spec": {"containers": [{"name": "c", "image": "i", "resources": {
        "limits": {"cpu": "1000m", "memory": 1073741824, "example.com/gpu": "2"},
        "requests": {"cpu": "0.0001", "memory": "1024Mi"},
    }}]}});
    let out = defaulted("", "Pod", pod);
    let r = &out["spec"]["containers"][0]["resources"];
    assert_eq!(r["limits"], json!({"cpu": "1", "memory": "1073741824", "example.com/gpu": "2"}));
    assert_eq!(
        r["requests"],
        json!({"cpu": "1m", "memory": "1Gi", "example.com/gpu": "2"}),
        "missing requests copied from limits"
    );
}

#[test]
fn host_network_pod_ports_default_host_port() {
    let pod = json!({"spec": {"hostNetwork": true, "containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 8080}]}]}});
    assert_eq!(defaulted("", "Pod", pod)["spec"]["containers"][0]["ports"][0]["hostPort"], 8080);
}

#[test]
fn service_defaults_by_type() {
    let lb = defaulted(
        "",
        "Service",
        json!({"spec": {"type": "LoadBalancer", "ports": [{"port": 443, "targetPort": "https"}]}}),
    );
    assert_eq!(lb["spec"]["externalTrafficPolicy"], "Cluster");
    assert_eq!(lb["spec"]["allocateLoadBalancerNodePorts"], true);
    assert_eq!(lb["spec"]["ports"][0]["targetPort"], "https", "a named target port is kept");
    let external = defaulted("", "Service", json!({"spec": {"type": "ExternalName", "externalName": "example.com"}}));
    assert!(external["spec"].get("internalTrafficPolicy").is_none(), "ExternalName gets no traffic policy");
    let sticky = defaulted("", "Service", json!({"spec": {"sessionAffinity": "ClientIP", "ports": [{"port": 1}]}}));
    assert_eq!(sticky["spec"]["sessionAffinityConfig"], json!({"clientIP": {"timeoutSeconds": 10800}}));
    let none =
        defaulted("", "Service", json!({"spec": {"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 5}}}}));
    assert!(none["spec"].get("sessionAffinityConfig").is_none(), "config dropped with affinity None");
    let external_ips = defaulted("", "Service", json!({"spec": {"externalIPs": ["1.2.3.4"], "ports": [{"port": 1}]}}));
    assert_eq!(
        external_ips["spec"]["externalTrafficPolicy"], "Cluster",
        "ClusterIP with external IPs is externally accessible"
    );
}

#[test]
fn namespace_gets_name_label_and_active_phase_and_create_adds_the_finalizer() {
    let mut ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}});
    apply_defaults("", "Namespace", &mut ns);
    assert_eq!(ns["metadata"]["labels"], json!({"kubernetes.io/metadata.name": "team-a"}));
    assert_eq!(ns["status"], json!({"phase": "Active"}));
    assert!(ns.get("spec").is_none(), "the finalizer is not a default: the controller removes it later");
    prepare_for_create("", "Namespace", &mut ns);
    assert_eq!(ns["spec"], json!({"finalizers": ["kubernetes"]}));
    prepare_for_create("", "Namespace", &mut ns);
    assert_eq!(ns["spec"], json!({"finalizers": ["kubernetes"]}), "not added twice");
}

#[test]
fn secret_type_defaults_to_opaque_and_string_data_folds_into_data() {
    let secret = json!({"data": {"a": "b2xk", "b": "b2xk"}, "stringData": {"b": "new", "c": "hello"}});
    let out = defaulted("", "Secret", secret);
    assert_eq!(out, json!({"type": "Opaque", "data": {"a": "b2xk", "b": "bmV3", "c": "aGVsbG8="}}));
}

#[test]
fn persistent_volumes_and_claims_get_phase_mode_and_policy() {
    let pv = defaulted(
        "",
        "PersistentVolume",
        json!({"spec": {"capacity": {"storage": "1Gi"}, "hostPath": {"path": "/d"}}}),
    );
    assert_eq!(pv["status"], json!({"phase": "Pending"}));
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
    assert_eq!(pv["spec"]["volumeMode"], "Filesystem");
    assert_eq!(pv["spec"]["hostPath"]["type"], "");
    let pvc = defaulted("", "PersistentVolumeClaim", json!({"spec": {"resources": {"requests": {"storage": "1Gi"}}}}));
    assert_eq!(pvc["status"], json!({"phase": "Pending"}));
    assert_eq!(pvc["spec"]["volumeMode"], "Filesystem");
}

#[test]
fn replication_controller_selector_labels_and_replicas_come_from_the_template() {
    let rc = defaulted(
        "",
        "ReplicationController",
        json!({"spec": {"template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": []}}}}),
    );
    assert_eq!(rc["spec"]["selector"], json!({"app": "x"}));
    assert_eq!(rc["metadata"]["labels"], json!({"app": "x"}));
    assert_eq!(rc["spec"]["replicas"], 1);
    assert_eq!(rc["spec"]["template"]["spec"]["restartPolicy"], "Always");
}

#[test]
fn workload_defaults_match_apps_v1() {
    let ds = defaulted("apps", "DaemonSet", json!({"spec": {}}));
    assert_eq!(
        ds["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    );
    assert_eq!(ds["spec"]["revisionHistoryLimit"], 10);
    let sts = defaulted(
        "apps",
        "StatefulSet",
        json!({"spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {}}]}}),
    );
    assert_eq!(sts["spec"]["podManagementPolicy"], "OrderedReady");
    assert_eq!(sts["spec"]["updateStrategy"], json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}));
    assert_eq!(
        sts["spec"]["persistentVolumeClaimRetentionPolicy"],
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
    );
    assert_eq!(sts["spec"]["replicas"], 1);
    assert_eq!(sts["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(sts["spec"]["volumeClaimTemplates"][0]["status"], json!({"phase": "Pending"}));
    assert_eq!(sts["spec"]["volumeClaimTemplates"][0]["spec"]["volumeMode"], "Filesystem");
    let on_delete = defaulted("apps", "StatefulSet", json!({"spec": {"updateStrategy": {"type": "OnDelete"}}}));
    assert_eq!(on_delete["spec"]["updateStrategy"], json!({"type": "OnDelete"}));
    let recreate = defaulted("apps", "Deployment", json!({"spec": {"strategy": {"type": "Recreate"}}}));
    assert_eq!(recreate["spec"]["strategy"], json!({"type": "Recreate"}));
    let rs = defaulted("apps", "ReplicaSet", json!({"spec": {}}));
    assert_eq!(rs["spec"]["replicas"], 1);
}

#[test]
fn job_defaults_depend_on_parallelism_per_index_limit_and_failure_policy() {
    let parallel = defaulted("batch", "Job", json!({"spec": {"parallelism": 3}}));
    assert!(parallel["spec"].get("completions").is_none(), "completions stay unset with parallelism given");
    let per_index = defaulted(
        "batch",
        "Job",
        json!({"spec": {"backoffLimitPerIndex": 1, "completionMode": "Indexed", "completions": 3}}),
    );
    assert_eq!(per_index["spec"]["backoffLimit"], 2147483647);
    let with_policy = defaulted(
        "batch",
        "Job",
        json!({"spec": {"podFailurePolicy": {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]}}}),
    );
    assert_eq!(with_policy["spec"]["podReplacementPolicy"], "Failed");
    assert_eq!(with_policy["spec"]["podFailurePolicy"]["rules"][0]["onPodConditions"][0]["status"], "True");
    let labelled = defaulted("batch", "Job", json!({"spec": {"template": {"metadata": {"labels": {"app": "x"}}}}}));
    assert_eq!(labelled["metadata"]["labels"], json!({"app": "x"}), "job labels default to the template's");
}

#[test]
fn job_selector_is_generated_on_create_from_the_uid() {
    let mut job = json!({"metadata": {"name": "pi", "uid": "1234"}, "spec": {"template": {"metadata": {"labels": {"job-name": "custom"}}}}});
    prepare_for_create("batch", "Job", &mut job);
    assert_eq!(job["spec"]["manualSelector"], false);
    assert_eq!(job["spec"]["selector"], json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "1234"}}));
    assert_eq!(
        job["spec"]["template"]["metadata"]["labels"],
        json!({"job-name": "custom", "batch.kubernetes.io/job-name": "pi", "controller-uid": "1234", "batch.kubernetes.io/controller-uid": "1234"}),
        "labels the user set are kept"
    );
    let mut manual = json!({"metadata": {"uid": "1"}, "spec": {"manualSelector": true}});
    prepare_for_create("batch", "Job", &mut manual);
    assert!(manual["spec"].get("selector").is_none(), "a manual selector is the user's");
}

#[test]
fn cron_job_defaults_and_its_template_pod_spec() {
    let cj = defaulted(
        "batch",
        "CronJob",
        json!({"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}}),
    );
    assert_eq!(cj["spec"]["concurrencyPolicy"], "Allow");
    assert_eq!(cj["spec"]["suspend"], false);
    assert_eq!(cj["spec"]["successfulJobsHistoryLimit"], 3);
    assert_eq!(cj["spec"]["failedJobsHistoryLimit"], 1);
    assert_eq!(cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"], "ClusterFirst");
    assert!(cj["spec"]["jobTemplate"]["spec"].get("backoffLimit").is_none(), "job defaults wait for the Job");
}

#[test]
fn other_groups_defaults() {
    let netpol =
        defaulted("networking.k8s.io", "NetworkPolicy", json!({"spec": {"egress": [{"ports": [{"port": 53}]}]}}));
    assert_eq!(netpol["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    assert_eq!(netpol["spec"]["egress"][0]["ports"][0]["protocol"], "TCP");
    let ingress_only = defaulted("networking.k8s.io", "NetworkPolicy", json!({"spec": {}}));
    assert_eq!(ingress_only["spec"]["policyTypes"], json!(["Ingress"]));
    let binding = defaulted(
        "rbac.authorization.k8s.io",
        "RoleBinding",
        json!({"roleRef": {"kind": "Role", "name": "r"}, "subjects": [{"kind": "User", "name": "u"}, {"kind": "ServiceAccount", "name": "s"}]}),
    );
    assert_eq!(binding["roleRef"]["apiGroup"], "rbac.authorization.k8s.io");
    assert_eq!(binding["subjects"][0]["apiGroup"], "rbac.authorization.k8s.io");
    assert_eq!(binding["subjects"][1]["apiGroup"], "");
    let class = defaulted("storage.k8s.io", "StorageClass", json!({"provisioner": "x"}));
    assert_eq!(class["reclaimPolicy"], "Delete");
    assert_eq!(class["volumeBindingMode"], "Immediate");
    let priority = defaulted("scheduling.k8s.io", "PriorityClass", json!({"value": 5}));
    assert_eq!(priority["preemptionPolicy"], "PreemptLowerPriority");
    let slice = defaulted("discovery.k8s.io", "EndpointSlice", json!({"ports": [{"port": 80}]}));
    assert_eq!(slice["ports"][0], json!({"port": 80, "name": "", "protocol": "TCP"}));
    let driver = defaulted("storage.k8s.io", "CSIDriver", json!({"spec": {}}));
    assert_eq!(driver["spec"]["attachRequired"], true);
    assert_eq!(driver["spec"]["volumeLifecycleModes"], json!(["Persistent"]));
}

#[test]
fn horizontal_pod_autoscaler_defaults_per_version() {
    let v2 = defaulted(
        "autoscaling",
        "HorizontalPodAutoscaler",
        json!({"apiVersion": "autoscaling/v2", "spec": {"maxReplicas": 5, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}}),
    );
    assert_eq!(v2["spec"]["minReplicas"], 1);
    assert_eq!(v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], 80);
    assert_eq!(v2["spec"]["behavior"]["scaleUp"]["policies"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        v2["spec"]["behavior"]["scaleDown"],
        json!({"stabilizationWindowSeconds": 60, "selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]})
    );
    let v1 = defaulted(
        "autoscaling",
        "HorizontalPodAutoscaler",
        json!({"apiVersion": "autoscaling/v1", "spec": {"maxReplicas": 5}}),
    );
    assert_eq!(v1["spec"], json!({"maxReplicas": 5, "minReplicas": 1}));
}

#[test]
fn webhooks_and_custom_resource_definitions_get_their_defaults() {
    let hooks = defaulted(
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
        json!({"webhooks": [{"name": "w", "clientConfig": {"service": {"name": "s", "namespace": "n"}}, "rules": [{"operations": ["CREATE"]}]}]}),
    );
    let w = &hooks["webhooks"][0];
    assert_eq!(w["failurePolicy"], "Fail");
    assert_eq!(w["matchPolicy"], "Equivalent");
    assert_eq!(w["timeoutSeconds"], 10);
    assert_eq!(w["reinvocationPolicy"], "Never");
    assert_eq!(w["rules"][0]["scope"], "*");
    assert_eq!(w["clientConfig"]["service"]["port"], 443);
    let crd = defaulted(
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        json!({"spec": {"names": {"kind": "Widget", "plural": "widgets"}, "versions": [{"name": "v1", "storage": true}]}}),
    );
    assert_eq!(crd["spec"]["names"]["singular"], "widget");
    assert_eq!(crd["spec"]["names"]["listKind"], "WidgetList");
    assert_eq!(crd["spec"]["conversion"], json!({"strategy": "None"}));
    assert_eq!(crd["status"]["storedVersions"], json!(["v1"]));
}

#[test]
fn unknown_kinds_and_non_objects_are_untouched() {
    let original = json!({"spec": {"containers": [{"name": "c"}]}});
    assert_eq!(defaulted("example.com", "Pod", original.clone()), original);
    assert_eq!(defaulted("", "Widget", original.clone()), original);
    assert_eq!(defaulted("", "Pod", json!([1, 2])), json!([1, 2]));
}

#[test]
fn defaulting_is_idempotent() {
    let inputs = [
        (
            "",
            "Pod",
            json!({"spec": {"containers": [{"name": "c", "image": "i", "resources": {"limits": {"cpu": "1500m"}}}]}}),
        ),
        ("apps", "Deployment", json!({"spec": {"template": {"spec": {"containers": [{"name": "c"}]}}}})),
        ("", "Secret", json!({"stringData": {"k": "v"}})),
        ("autoscaling", "HorizontalPodAutoscaler", json!({"spec": {"behavior": {}}})),
    ];
    for (group, kind, input) in inputs {
        let once = defaulted(group, kind, input);
        assert_eq!(defaulted(group, kind, once.clone()), once, "{kind} defaults twice differ");
    }
}

/// JSON shapes a client may send by mistake, at every level defaulting descends.
fn junk_values() -> Vec<Value> {
    vec![
        Value::Null,
        json!(1),
        json!("x"),
        json!(true),
        json!([]),
        json!({}),
        json!([1, "a", null, {}]),
        json!({"nested": [[]]}),
        json!(-0.5),
        json!(1e300),
    ]
}

/// Every path defaulting reads, to be replaced with junk one at a time.
const JUNK_PATHS: &[&str] = &[
    "",
    "/metadata",
    "/metadata/name",
    "/metadata/labels",
    "/spec",
    "/spec/containers",
    "/spec/containers/0",
    "/spec/containers/0/resources",
    "/spec/containers/0/resources/limits",
    "/spec/containers/0/resources/limits/cpu",
    "/spec/containers/0/ports",
    "/spec/containers/0/ports/0",
    "/spec/containers/0/livenessProbe",
    "/spec/containers/0/image",
    "/spec/volumes",
    "/spec/volumes/0",
    "/spec/volumes/0/projected",
    "/spec/template",
    "/spec/template/metadata",
    "/spec/template/metadata/labels",
    "/spec/template/spec",
    "/spec/template/spec/containers",
    "/spec/strategy",
    "/spec/strategy/rollingUpdate",
    "/spec/updateStrategy",
    "/spec/updateStrategy/type",
    "/spec/ports",
    "/spec/ports/0",
    "/spec/ports/0/targetPort",
    "/spec/type",
    "/spec/sessionAffinity",
    "/spec/jobTemplate",
    "/spec/jobTemplate/spec",
    "/spec/behavior",
    "/spec/behavior/scaleUp",
    "/spec/names",
    "/spec/versions",
    "/spec/egress",
    "/spec/volumeClaimTemplates",
    "/status",
    "/status/capacity",
    "/data",
    "/stringData",
    "/webhooks",
    "/webhooks/0/clientConfig",
    "/subjects",
    "/roleRef",
    "/ports",
];

/// A base object with every branch defaulting takes.
fn rich_object() -> Value {
    json!({
        "apiVersion": "v1",
        "metadata": {"name": "n", "labels": {"a": "b"}},
        "spec": {
            "hostNetwork": true,
            "containers": [{"name": "c", "image": "i", "resources": {"limits": {"cpu": "1"}}, "ports": [{"containerPort": 1}], "livenessProbe": {"httpGet": {}}}],
            "volumes": [{"name": "v", "projected": {"sources": [{}]}}],
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c"}]}},
            "strategy": {"rollingUpdate": {}},
            "updateStrategy": {"type": "RollingUpdate"},
            "ports": [{"port": 1}],
            "type": "LoadBalancer",
            "sessionAffinity": "ClientIP",
            "jobTemplate": {"spec": {}},
            "behavior": {"scaleUp": {}},
            "names": {"kind": "K"},
            "versions": [{"name": "v1", "storage": true}],
            "egress": [{}],
            "volumeClaimTemplates": [{}],
        },
        "status": {"capacity": {"cpu": "1"}, "loadBalancer": {"ingress": [{"ip": "1.1.1.1"}]}},
        "data": {"a": "b"},
        "stringData": {"a": "b"},
        "webhooks": [{"clientConfig": {"service": {}}}],
        "subjects": [{"kind": "User"}],
        "roleRef": {},
        "ports": [{}],
    })
}

#[test]
fn defaulting_never_panics_on_junk_for_any_kind() {
    let mut kinds: Vec<(&str, &str)> = registry::all().iter().map(|r| (r.group, r.kind)).collect();
    kinds.push(("", "NotAKind"));
    for (group, kind) in kinds {
        for junk in junk_values() {
            let mut whole = junk.clone();
            apply_defaults(group, kind, &mut whole);
            prepare_for_create(group, kind, &mut whole);
            for path in JUNK_PATHS {
                let mut obj = rich_object();
                if let Some(slot) = obj.pointer_mut(path) {
                    *slot = junk.clone();
                }
                apply_defaults(group, kind, &mut obj);
                prepare_for_create(group, kind, &mut obj);
            }
        }
    }
}

#[test]
fn service_account_and_its_deprecated_alias_read_back_the_same() {
    let named = defaulted("", "Pod", json!({"spec": {"serviceAccountName": "robot", "containers": []}}));
    assert_eq!(
        (&named["spec"]["serviceAccountName"], &named["spec"]["serviceAccount"]),
        (&json!("robot"), &json!("robot"))
    );
    let alias = defaulted("", "Pod", json!({"spec": {"serviceAccount": "old", "containers": []}}));
    assert_eq!(alias["spec"]["serviceAccountName"], "old", "the alias fills an unset name");
    let both =
        defaulted("", "Pod", json!({"spec": {"serviceAccountName": "new", "serviceAccount": "old", "containers": []}}));
    assert_eq!((&both["spec"]["serviceAccountName"], &both["spec"]["serviceAccount"]), (&json!("new"), &json!("new")));
    let none = defaulted("", "Pod", json!({"spec": {"containers": []}}));
    assert!(none["spec"].get("serviceAccount").is_none() && none["spec"].get("serviceAccountName").is_none());
}
