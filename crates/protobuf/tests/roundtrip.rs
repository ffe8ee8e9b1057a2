//! JSON → protobuf → JSON is the identity for objects in Go's JSON form, across many kinds, including
//! every special encoding (times, micro-times, quantities, int-or-strings, bytes, raw JSON, schemas)
//! and pointer fields set to zero.

use rustkube_protobuf::{Error, decode, encode};
use serde_json::{Value, json};

const CREATED: &str = "2024-01-02T03:04:05Z";

fn meta(name: &str) -> Value {
    json!({"name": name, "namespace": "default", "uid": "6b1f0a3e-1111-2222-3333-444455556666",
           "resourceVersion": "42", "generation": 3, "creationTimestamp": CREATED,
           "labels": {"app": name}, "annotations": {"note": "x"}})
}

fn object(api_version: &str, kind: &str, name: &str, rest: Value) -> Value {
    let mut object = json!({"apiVersion": api_version, "kind": kind, "metadata": meta(name)});
    object.as_object_mut().unwrap().extend(rest.as_object().unwrap().clone());
    object
}

fn pod_template(name: &str) -> Value {
    json!({
        "metadata": {"creationTimestamp": null, "labels": {"app": name}},
        "spec": {
            "automountServiceAccountToken": false,
            "terminationGracePeriodSeconds": 0,
            "securityContext": {"runAsUser": 0, "runAsNonRoot": false, "fsGroup": 2000},
            "containers": [{
                "name": "web",
                "image": "nginx:1.27",
                "args": ["--port", "8080"],
                "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                "env": [{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
                "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "250m", "memory": "64Mi"}},
                "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
                                   "initialDelaySeconds": 5, "periodSeconds": 10},
                "readinessProbe": {"tcpSocket": {"port": 8080}, "timeoutSeconds": 1},
                "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
                "volumeMounts": [{"name": "cache", "mountPath": "/cache", "readOnly": true}],
            }],
            "volumes": [{"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}}],
            "restartPolicy": "Always",
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule",
                             "tolerationSeconds": 300}],
        },
    })
}

fn fixtures() -> Vec<Value> {
    vec![
        object("v1", "ConfigMap", "settings", json!({"data": {"color": "blue"}, "binaryData": {"logo": "AAEC/w=="}})),
        object(
            "v1",
            "Secret",
            "db",
            json!({"type": "Opaque", "immutable": false,
            "data": {"password": "AP8BAg==", "user": "YWRtaW4="}}),
        ),
        object(
            "apps/v1",
            "Deployment",
            "web",
            json!({
                "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}}, "template": pod_template("web"),
                         "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"}},
                         "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600},
                "status": {"observedGeneration": 3, "replicas": 2, "readyReplicas": 2,
                           "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                                           "lastUpdateTime": CREATED, "lastTransitionTime": CREATED}]},
            }),
        ),
        object(
            "v1",
            "Service",
            "web",
            json!({
                "spec": {"type": "ClusterIP", "selector": {"app": "web"}, "clusterIP": "10.96.0.10",
                         "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": "http"},
                                   {"name": "metrics", "protocol": "TCP", "port": 9090, "targetPort": 9090}],
                         "sessionAffinity": "None", "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"]},
                "status": {"loadBalancer": {}},
            }),
        ),
        object(
            "batch/v1",
            "Job",
            "backup",
            json!({
                "spec": {"backoffLimit": 0, "completions": 1, "parallelism": 1, "suspend": false,
                         "template": {"metadata": {"creationTimestamp": null},
                                      "spec": {"containers": [{"name": "backup", "image": "busybox", "command": ["sh", "-c", "true"],
                                                               "resources": {}}],
                                               "restartPolicy": "Never"}}},
                "status": {"startTime": CREATED, "active": 1, "ready": 0},
            }),
        ),
        object(
            "batch/v1",
            "CronJob",
            "nightly",
            json!({
                "spec": {"schedule": "0 3 * * *", "timeZone": "Etc/UTC", "suspend": false, "concurrencyPolicy": "Forbid",
                         "successfulJobsHistoryLimit": 0,
                         "jobTemplate": {"metadata": {"creationTimestamp": null},
                                         "spec": {"template": {"metadata": {"creationTimestamp": null},
                                                               "spec": {"containers": [{"name": "c", "image": "busybox", "resources": {}}],
                                                                        "restartPolicy": "OnFailure"}}}}},
                "status": {"lastScheduleTime": CREATED},
            }),
        ),
        object(
            "v1",
            "Namespace",
            "team-a",
            json!({"spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
        ),
        object(
            "v1",
            "ServiceAccount",
            "builder",
            json!({"automountServiceAccountToken": false,
            "secrets": [{"name": "builder-token"}], "imagePullSecrets": [{"name": "registry"}]}),
        ),
        object(
            "rbac.authorization.k8s.io/v1",
            "Role",
            "reader",
            json!({
            "rules": [{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list", "watch"]}]}),
        ),
        object(
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            "reader",
            json!({
            "subjects": [{"kind": "ServiceAccount", "name": "builder", "namespace": "default"}],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"}}),
        ),
        json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "web-0", "namespace": "default",
               "creationTimestamp": null},
               "deleteOptions": {"gracePeriodSeconds": 0, "preconditions": {"uid": "abc"}, "dryRun": ["All"]}}),
        json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
               "metadata": {"name": "builder", "namespace": "default", "creationTimestamp": null},
               "spec": {"audiences": ["https://kubernetes.default.svc"], "expirationSeconds": 3600,
                        "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "web-0", "uid": "abc"}},
               "status": {"token": "eyJhbGciOi", "expirationTimestamp": CREATED}}),
        json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
               "metadata": {"creationTimestamp": null},
               "spec": {"resourceAttributes": {"namespace": "prod", "verb": "delete", "resource": "pods"}},
               "status": {"allowed": false, "reason": "no RBAC policy matched"}}),
        object(
            "coordination.k8s.io/v1",
            "Lease",
            "kube-scheduler",
            json!({"spec": {
            "holderIdentity": "node-1_abc", "leaseDurationSeconds": 15, "leaseTransitions": 0,
            "acquireTime": "2024-01-02T03:04:05.123456Z", "renewTime": "2024-01-02T03:04:20.000001Z"}}),
        ),
        object(
            "events.k8s.io/v1",
            "Event",
            "web.17a",
            json!({
            "eventTime": "2024-01-02T03:04:05.500000Z", "series": {"count": 2, "lastObservedTime": "2024-01-02T03:05:05.000000Z"},
            "reportingController": "kubelet", "reportingInstance": "node-1", "action": "Pulling", "reason": "Pulling",
            "regarding": {"kind": "Pod", "namespace": "default", "name": "web-0", "uid": "abc", "apiVersion": "v1"},
            "note": "Pulling image nginx", "type": "Normal", "deprecatedSource": {},
            "deprecatedFirstTimestamp": null, "deprecatedLastTimestamp": null}),
        ),
        object(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "widgets.example.com",
            json!({
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList",
                               "shortNames": ["wg"]},
                     "versions": [{"name": "v1", "served": true, "storage": true,
                                   "schema": {"openAPIV3Schema": {"type": "object", "required": ["spec"], "properties": {
                                       "spec": {"type": "object", "required": ["replicas"], "properties": {
                                           "replicas": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 10.5},
                                           "mode": {"type": "string", "enum": ["fast", "safe"], "default": "safe"},
                                           "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
                                           "port": {"x-kubernetes-int-or-string": true},
                                           "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                                           "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                                           "strict": {"type": "object", "additionalProperties": false}},
                                           "x-kubernetes-validations": [{"rule": "self.replicas >= 0", "message": "no"}]}}}},
                                   "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                                                                           "statusReplicasPath": ".status.replicas"}},
                                   "additionalPrinterColumns": [{"name": "Replicas", "type": "integer",
                                                                 "jsonPath": ".spec.replicas"}]}],
                     "conversion": {"strategy": "None"}},
            "status": {"acceptedNames": {"plural": "widgets", "kind": "Widget"}, "storedVersions": ["v1"]}}),
        ),
        object(
            "v1",
            "Node",
            "node-1",
            json!({
            "spec": {"podCIDR": "10.244.0.0/24", "taints": [{"key": "k", "effect": "NoSchedule"}]},
            "status": {"capacity": {"cpu": "2", "memory": "24Gi", "pods": "110"},
                       "addresses": [{"type": "InternalIP", "address": "10.0.0.5"}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                       "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": CREATED,
                                       "lastTransitionTime": CREATED}],
                       "nodeInfo": {"machineID": "m", "systemUUID": "s", "bootID": "b", "kernelVersion": "6.1",
                                    "osImage": "Debian", "containerRuntimeVersion": "containerd://2.0",
                                    "kubeletVersion": "v1.33.0", "kubeProxyVersion": "", "operatingSystem": "linux",
                                    "architecture": "amd64"}}}),
        ),
        json!({"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
               "message": "pods \"x\" not found", "reason": "NotFound",
               "details": {"name": "x", "kind": "pods"}, "code": 404}),
        json!({"apiVersion": "apps/v1", "kind": "DeploymentList", "metadata": {"resourceVersion": "99"},
               "items": [object("apps/v1", "Deployment", "web", json!({"spec": {"selector": {"matchLabels": {"app": "web"}},
                   "template": pod_template("web"), "strategy": {}}, "status": {}}))]}),
    ]
}

/// Go leaves apiVersion/kind out of list items; so does protobuf.
fn without_item_type_meta(mut value: Value) -> Value {
    if let Some(items) = value.get_mut("items").and_then(Value::as_array_mut) {
        for item in items {
            let item = item.as_object_mut().unwrap();
            item.remove("apiVersion");
            item.remove("kind");
        }
    }
    value
}

#[test]
fn json_survives_a_trip_through_protobuf_for_every_fixture() {
    for fixture in fixtures() {
        let name = format!("{} {}", fixture["apiVersion"], fixture["kind"]);
        let wire = encode(&fixture).unwrap_or_else(|e| panic!("{name}: encode failed: {e}"));
        assert!(wire.starts_with(b"k8s\0"), "{name}: encoded body starts with the magic");
        let back = decode(&wire).unwrap_or_else(|e| panic!("{name}: decode failed: {e}"));
        assert_eq!(back, without_item_type_meta(fixture), "{name}: JSON -> protobuf -> JSON is the identity");
    }
}

#[test]
fn pointer_fields_keep_their_zero_values() {
    let deployment = &fixtures()[2];
    let back = decode(&encode(deployment).unwrap()).unwrap();
    assert_eq!(back["spec"]["replicas"], 0, "replicas: 0 must not turn into the default of 1");
    assert_eq!(back["spec"]["template"]["spec"]["securityContext"]["runAsUser"], 0, "runAsUser: 0 is root, not unset");
    assert_eq!(back["spec"]["template"]["spec"]["automountServiceAccountToken"], false);
}

#[test]
fn zero_values_of_omitempty_fields_are_left_out() {
    let with_zeros = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "x", "namespace": "", "generation": 0, "creationTimestamp": null}, "data": {}});
    let back = decode(&encode(&with_zeros).unwrap()).unwrap();
    assert_eq!(
        back,
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "creationTimestamp": null}})
    );
}

#[test]
fn kinds_without_a_message_and_objects_without_type_meta_are_refused() {
    let custom = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
    assert!(matches!(encode(&custom), Err(Error::UnknownType { .. })), "custom resources have no protobuf form");
    let table = json!({"apiVersion": "meta.k8s.io/v1", "kind": "Table", "rows": []});
    assert!(matches!(encode(&table), Err(Error::UnknownType { .. })), "tables have no protobuf form");
    assert!(matches!(encode(&json!({"kind": "Pod"})), Err(Error::MissingTypeMeta)));
    let wrong = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"priority": "high"}});
    assert!(matches!(encode(&wrong), Err(Error::InvalidValue { path, .. }) if path == "spec.priority"));
}

#[test]
fn media_type_matching_ignores_parameters() {
    assert!(rustkube_protobuf::is_protobuf_media_type("application/vnd.kubernetes.protobuf"));
    assert!(rustkube_protobuf::is_protobuf_media_type("application/vnd.kubernetes.protobuf;stream=watch"));
    assert!(!rustkube_protobuf::is_protobuf_media_type("application/json"));
}
