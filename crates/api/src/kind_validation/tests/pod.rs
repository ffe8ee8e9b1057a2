//! Pods and pod templates.

use serde_json::{Value, json};

use super::{
    Case, create_errors, defaulted, remove, run_create_cases, run_update_cases, set, status_errors, stored_meta,
};

fn pod() -> Value {
    defaulted(
        "",
        "Pod",
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"containers": [{"name": "nginx", "image": "nginx"}]},
        }),
    )
}

fn stored_pod() -> Value {
    let mut p = pod();
    p["metadata"] = stored_meta("web", Some("default"));
    p["spec"]["activeDeadlineSeconds"] = json!(10);
    p["spec"]["tolerations"] =
        json!([{"key": "a", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}]);
    p
}

const DNS_LABEL_ERR: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

#[test]
fn pod_create_follows_validate_pod_spec() {
    let cases = [
        Case {
            behaviour: "a pod needs at least one container",
            change: |p| set(p, "/spec/containers", json!([])),
            expected: &["spec.containers: Required value"],
        },
        Case {
            behaviour: "a container needs a name",
            change: |p| set(p, "/spec/containers/0/name", json!("")),
            expected: &["spec.containers[0].name: Required value"],
        },
        Case {
            behaviour: "a container needs an image",
            change: |p| remove(p, "/spec/containers/0/image"),
            expected: &["spec.containers[0].image: Required value"],
        },
        Case {
            behaviour: "container names are unique across init and regular containers",
            change: |p| {
                set(
                    p,
                    "/spec/initContainers",
                    json!([{"name": "nginx", "image": "busybox", "imagePullPolicy": "Always", "terminationMessagePolicy": "File"}]),
                );
            },
            expected: &["spec.initContainers[0].name: Duplicate value: \"nginx\""],
        },
        Case {
            behaviour: "container ports are in 1-65535",
            change: |p| set(p, "/spec/containers/0/ports", json!([{"containerPort": 70000, "protocol": "TCP"}])),
            expected: &[
                "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
            ],
        },
        Case {
            behaviour: "container port names are unique",
            change: |p| {
                set(
                    p,
                    "/spec/containers/0/ports",
                    json!([
                        {"name": "http", "containerPort": 80, "protocol": "TCP"},
                        {"name": "http", "containerPort": 81, "protocol": "TCP"},
                    ]),
                );
            },
            expected: &["spec.containers[0].ports[1].name: Duplicate value: \"http\""],
        },
        Case {
            behaviour: "port names are IANA service names",
            change: |p| {
                set(
                    p,
                    "/spec/containers/0/ports",
                    json!([{"name": "my--port", "containerPort": 80, "protocol": "TCP"}]),
                )
            },
            expected: &[
                "spec.containers[0].ports[0].name: Invalid value: \"my--port\": must not contain consecutive hyphens",
            ],
        },
        Case {
            behaviour: "environment variable names are printable ASCII without '=' (relaxed in 1.33)",
            change: |p| set(p, "/spec/containers/0/env", json!([{"name": "A=B"}, {"name": "with.dot-and space"}])),
            expected: &[
                "spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='",
            ],
        },
        Case {
            behaviour: "an env valueFrom names one source",
            change: |p| set(p, "/spec/containers/0/env", json!([{"name": "X", "valueFrom": {}}])),
            expected: &[
                "spec.containers[0].env[0].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
            ],
        },
        Case {
            behaviour: "a downward API env var names a supported field",
            change: |p| {
                set(
                    p,
                    "/spec/containers/0/env",
                    json!([{"name": "X", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels"}}}]),
                )
            },
            expected: &[
                "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: \"metadata.labels\": supported values: \"metadata.name\", \"metadata.namespace\", \"metadata.uid\", \"spec.nodeName\", \"spec.serviceAccountName\", \"status.hostIP\", \"status.hostIPs\", \"status.podIP\", \"status.podIPs\"",
            ],
        },
        Case {
            behaviour: "volume names are unique",
            change: |p| {
                set(p, "/spec/volumes", json!([{"name": "data", "emptyDir": {}}, {"name": "data", "emptyDir": {}}]))
            },
            expected: &["spec.volumes[1].name: Duplicate value: \"data\""],
        },
        Case {
            behaviour: "a volume has a single source",
            change: |p| {
                set(
                    p,
                    "/spec/volumes",
                    json!([{"name": "data", "emptyDir": {}, "hostPath": {"path": "/x", "type": ""}}]),
                )
            },
            expected: &["spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type"],
        },
        Case {
            behaviour: "a volume without a source is rejected when not defaulted",
            change: |p| set(p, "/spec/volumes", json!([{"name": "data"}])),
            expected: &["spec.volumes[0]: Required value: must specify a volume type"],
        },
        Case {
            behaviour: "volume mounts reference declared volumes",
            change: |p| set(p, "/spec/containers/0/volumeMounts", json!([{"name": "missing", "mountPath": "/data"}])),
            expected: &["spec.containers[0].volumeMounts[0].name: Not found: \"missing\""],
        },
        Case {
            behaviour: "mount paths are unique within a container",
            change: |p| {
                set(p, "/spec/volumes", json!([{"name": "a", "emptyDir": {}}, {"name": "b", "emptyDir": {}}]));
                set(
                    p,
                    "/spec/containers/0/volumeMounts",
                    json!([{"name": "a", "mountPath": "/d"}, {"name": "b", "mountPath": "/d"}]),
                );
            },
            expected: &["spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/d\": must be unique"],
        },
        Case {
            behaviour: "configMap volumes need a name and a file mode within 0777",
            change: |p| set(p, "/spec/volumes", json!([{"name": "c", "configMap": {"defaultMode": 1000}}])),
            expected: &[
                "spec.volumes[0].configMap.name: Required value",
                "spec.volumes[0].configMap.defaultMode: Invalid value: 1000: must be a number between 0 and 0777 (octal), both inclusive",
            ],
        },
        Case {
            behaviour: "restartPolicy is Always, OnFailure or Never",
            change: |p| set(p, "/spec/restartPolicy", json!("Sometimes")),
            expected: &[
                "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
            ],
        },
        Case {
            behaviour: "dnsPolicy is one of the four policies",
            change: |p| set(p, "/spec/dnsPolicy", json!("Google")),
            expected: &[
                "spec.dnsPolicy: Unsupported value: \"Google\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"",
            ],
        },
        Case {
            behaviour: "dnsPolicy None needs a dnsConfig",
            change: |p| set(p, "/spec/dnsPolicy", json!("None")),
            expected: &["spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"],
        },
        Case {
            behaviour: "imagePullPolicy is Always, IfNotPresent or Never",
            change: |p| set(p, "/spec/containers/0/imagePullPolicy", json!("Sometimes")),
            expected: &[
                "spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\"",
            ],
        },
        Case {
            behaviour: "requests may not exceed limits",
            change: |p| {
                set(p, "/spec/containers/0/resources", json!({"limits": {"cpu": "500m"}, "requests": {"cpu": "1"}}))
            },
            expected: &[
                "spec.containers[0].resources.requests: Invalid value: \"1\": must be less than or equal to cpu limit of 500m",
            ],
        },
        Case {
            behaviour: "unprefixed resources are standard ones",
            change: |p| set(p, "/spec/containers/0/resources", json!({"limits": {"gpu": "1"}})),
            expected: &[
                "spec.containers[0].resources.limits[gpu]: Invalid value: \"gpu\": must be a standard resource type or fully qualified",
                "spec.containers[0].resources.limits[gpu]: Invalid value: \"gpu\": must be a standard resource for containers",
            ],
        },
        Case {
            behaviour: "extended resources are integers and never overcommitted",
            change: |p| {
                set(
                    p,
                    "/spec/containers/0/resources",
                    json!({"limits": {"example.com/gpu": "1"}, "requests": {"example.com/gpu": "500m"}}),
                )
            },
            expected: &[
                "spec.containers[0].resources.requests[example.com/gpu]: Invalid value: \"500m\": must be an integer",
                "spec.containers[0].resources.requests: Invalid value: \"500m\": must be equal to example.com/gpu limit of 1",
            ],
        },
        Case {
            behaviour: "a probe has exactly one handler",
            change: |p| {
                set(
                    p,
                    "/spec/containers/0/livenessProbe",
                    json!({"httpGet": {"path": "/", "port": 80, "scheme": "HTTP"}, "tcpSocket": {"port": 80}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}),
                )
            },
            expected: &[
                "spec.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type",
            ],
        },
        Case {
            behaviour: "a probe needs a handler",
            change: |p| {
                set(
                    p,
                    "/spec/containers/0/readinessProbe",
                    json!({"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}),
                )
            },
            expected: &["spec.containers[0].readinessProbe: Required value: must specify a handler type"],
        },
        Case {
            behaviour: "liveness probes succeed once",
            change: |p| {
                set(
                    p,
                    "/spec/containers/0/livenessProbe",
                    json!({"exec": {"command": ["true"]}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 2, "failureThreshold": 3}),
                )
            },
            expected: &["spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"],
        },
        Case {
            behaviour: "init containers other than sidecars take no probes",
            change: |p| {
                set(
                    p,
                    "/spec/initContainers",
                    json!([{"name": "init", "image": "busybox", "imagePullPolicy": "Always", "terminationMessagePolicy": "File", "livenessProbe": {"exec": {"command": ["true"]}}}]),
                );
            },
            expected: &[
                "spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
            ],
        },
        Case {
            behaviour: "host ports do not collide across containers",
            change: |p| {
                set(p, "/spec/containers/0/ports", json!([{"containerPort": 80, "hostPort": 80, "protocol": "TCP"}]));
                set(
                    p,
                    "/spec/containers/1",
                    json!({"name": "b", "image": "b", "imagePullPolicy": "Always", "terminationMessagePolicy": "File", "ports": [{"containerPort": 81, "hostPort": 80, "protocol": "TCP"}]}),
                );
            },
            expected: &["spec.containers[1].ports[0].hostPort: Duplicate value: \"TCP//80\""],
        },
        Case {
            behaviour: "activeDeadlineSeconds is positive",
            change: |p| set(p, "/spec/activeDeadlineSeconds", json!(0)),
            expected: &["spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"],
        },
        Case {
            behaviour: "tolerationSeconds needs NoExecute",
            change: |p| {
                set(
                    p,
                    "/spec/tolerations",
                    json!([{"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 3}]),
                )
            },
            expected: &[
                "spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set",
            ],
        },
        Case {
            behaviour: "node selectors are valid labels",
            change: |p| set(p, "/spec/nodeSelector", json!({"disk": "fast ssd"})),
            expected: &[
                "spec.nodeSelector: Invalid value: \"fast ssd\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
            ],
        },
        Case {
            behaviour: "an image may not be padded with spaces in a pod",
            change: |p| set(p, "/spec/containers/0/image", json!("nginx ")),
            expected: &[
                "spec.containers[0].image: Invalid value: \"nginx \": must not have leading or trailing whitespace",
            ],
        },
        Case {
            behaviour: "ephemeral containers only come through their subresource",
            change: |p| {
                set(
                    p,
                    "/spec/ephemeralContainers",
                    json!([{"name": "debug", "image": "busybox", "imagePullPolicy": "Always", "terminationMessagePolicy": "File"}]),
                )
            },
            expected: &["spec.ephemeralContainers: Forbidden: cannot be set on create"],
        },
        Case {
            behaviour: "the pod name is a DNS subdomain",
            change: |p| set(p, "/metadata/name", json!("Web")),
            expected: &[
                "metadata.name: Invalid value: \"Web\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            ],
        },
        Case {
            behaviour: "pods are namespaced",
            change: |p| remove(p, "/metadata/namespace"),
            expected: &["metadata.namespace: Required value"],
        },
        Case {
            behaviour: "the grace period is required (defaulting sets it)",
            change: |p| remove(p, "/spec/terminationGracePeriodSeconds"),
            expected: &["spec.terminationGracePeriodSeconds: Required value"],
        },
        Case {
            behaviour: "the pod deletion cost annotation is a 32 bit integer",
            change: |p| set(p, "/metadata/annotations", json!({"controller.kubernetes.io/pod-deletion-cost": "1e9"})),
            expected: &[
                "metadata.annotations[controller.kubernetes.io/pod-deletion-cost]: Invalid value: \"1e9\": must be a 32bit integer",
            ],
        },
    ];
    run_create_cases("", "Pod", pod, &cases);
}

#[test]
fn invalid_container_names_render_the_dns_label_message() {
    let mut p = pod();
    set(&mut p, "/spec/containers/0/name", json!("Web_1"));
    let got = create_errors("", "Pod", &p);
    assert_eq!(got, vec![format!("spec.containers[0].name: Invalid value: \"Web_1\": {DNS_LABEL_ERR}")]);
}

#[test]
fn a_toleration_with_exists_takes_no_value() {
    let mut p = pod();
    set(&mut p, "/spec/tolerations", json!([{"key": "k", "operator": "Exists", "value": "v"}]));
    let got = create_errors("", "Pod", &p);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].starts_with("spec.tolerations[0].operator: Invalid value: "), "{got:#?}");
    assert!(got[0].ends_with(": value must be empty when `operator` is 'Exists'"), "{got:#?}");
}

#[test]
fn pod_update_allows_only_the_mutable_fields() {
    let cases = [
        Case {
            behaviour: "changing images is allowed",
            change: |p| set(p, "/spec/containers/0/image", json!("nginx:2")),
            expected: &[],
        },
        Case {
            behaviour: "shortening the deadline is allowed",
            change: |p| set(p, "/spec/activeDeadlineSeconds", json!(5)),
            expected: &[],
        },
        Case {
            behaviour: "adding tolerations is allowed",
            change: |p| set(p, "/spec/tolerations/1", json!({"key": "b", "operator": "Exists"})),
            expected: &[],
        },
        Case {
            behaviour: "a toleration's seconds may change",
            change: |p| set(p, "/spec/tolerations/0/tolerationSeconds", json!(50)),
            expected: &[],
        },
        Case {
            behaviour: "labels and annotations may change",
            change: |p| set(p, "/metadata/labels", json!({"tier": "web"})),
            expected: &[],
        },
        Case {
            behaviour: "other spec fields are immutable",
            change: |p| set(p, "/spec/containers/0/command", json!(["sleep", "1"])),
            expected: &[],
        },
        Case {
            behaviour: "containers may not be added",
            change: |p| {
                set(
                    p,
                    "/spec/containers/1",
                    json!({"name": "b", "image": "b", "imagePullPolicy": "Always", "terminationMessagePolicy": "File"}),
                )
            },
            expected: &["spec.containers: Forbidden: pod updates may not add or remove containers"],
        },
        Case {
            behaviour: "the deadline may not grow",
            change: |p| set(p, "/spec/activeDeadlineSeconds", json!(20)),
            expected: &["spec.activeDeadlineSeconds: Invalid value: 20: must be less than or equal to previous value"],
        },
        Case {
            behaviour: "the deadline may not be removed",
            change: |p| remove(p, "/spec/activeDeadlineSeconds"),
            expected: &[
                "spec.activeDeadlineSeconds: Invalid value: null: must not update from a positive integer to nil value",
            ],
        },
        Case {
            behaviour: "existing tolerations may not be changed",
            change: |p| set(p, "/spec/tolerations/0/key", json!("other")),
            expected: &[
                "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds",
            ],
        },
        Case {
            behaviour: "the name is immutable",
            change: |p| set(p, "/metadata/name", json!("other")),
            expected: &["metadata.name: Invalid value: \"other\": field is immutable"],
        },
        Case {
            behaviour: "the uid is immutable",
            change: |p| set(p, "/metadata/uid", json!("x")),
            expected: &["metadata.uid: Invalid value: \"x\": field is immutable"],
        },
        Case {
            behaviour: "the creation timestamp is immutable and printed as Go's time.String",
            change: |p| set(p, "/metadata/creationTimestamp", json!("2024-01-02T00:00:00Z")),
            expected: &["metadata.creationTimestamp: Invalid value: 2024-01-02 00:00:00 +0000 UTC: field is immutable"],
        },
        Case {
            behaviour: "updates carry a resourceVersion",
            change: |p| remove(p, "/metadata/resourceVersion"),
            expected: &["metadata.resourceVersion: Invalid value: \"\": must be specified for an update"],
        },
        Case {
            behaviour: "the generation never goes back",
            change: |p| set(p, "/metadata/generation", json!(-1)),
            expected: &["metadata.generation: Invalid value: -1: must be greater than or equal to 0"],
        },
    ];
    // The "other spec fields" case is checked by prefix below, its diff being long.
    let mutable: Vec<Case> = cases.into_iter().filter(|c| c.behaviour != "other spec fields are immutable").collect();
    run_update_cases("", "Pod", stored_pod, &mutable);
    let old = stored_pod();
    let mut new = old.clone();
    set(&mut new, "/spec/containers/0/command", json!(["sleep", "1"]));
    let got = super::update_errors("", "Pod", &new, &old);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].starts_with("spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"), "{got:#?}");
    assert!(got[0].contains("command"), "the diff names the changed field: {got:#?}");
}

#[test]
fn adding_finalizers_to_a_deleting_pod_is_forbidden() {
    let mut old = stored_pod();
    set(&mut old, "/metadata/deletionTimestamp", json!("2024-01-03T00:00:00Z"));
    set(&mut old, "/metadata/finalizers", json!(["example.com/a"]));
    let mut new = old.clone();
    set(&mut new, "/metadata/finalizers", json!(["example.com/a", "example.com/b"]));
    let got = super::update_errors("", "Pod", &new, &old);
    assert_eq!(
        got,
        vec![
            "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"example.com/b\"}"
        ]
    );
}

#[test]
fn pod_status_update_rules() {
    let mut old = stored_pod();
    set(&mut old, "/spec/restartPolicy", json!("Never"));
    set(&mut old, "/spec/nodeName", json!("node-1"));
    set(
        &mut old,
        "/status",
        json!({"containerStatuses": [{"name": "nginx", "image": "nginx", "imageID": "", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0}}}]}),
    );
    assert!(status_errors("", "Pod", &old, &old).is_empty(), "an unchanged status is valid");

    let mut restarted = old.clone();
    set(&mut restarted, "/status/containerStatuses/0/state", json!({"running": {}}));
    assert_eq!(
        status_errors("", "Pod", &restarted, &old),
        vec!["status.containerStatuses[0].state: Forbidden: may not be transitioned to non-terminated state"]
    );

    let mut moved = old.clone();
    set(&mut moved, "/spec/nodeName", json!("node-2"));
    assert_eq!(status_errors("", "Pod", &moved, &old), vec!["status.nodeName: Forbidden: may not be changed directly"]);

    let mut bad_ip = old.clone();
    set(&mut bad_ip, "/status/podIPs", json!([{"ip": "10.0.0.300"}]));
    assert_eq!(
        status_errors("", "Pod", &bad_ip, &old),
        vec![
            "status.podIPs[0]: Invalid value: \"10.0.0.300\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
        ]
    );
}

#[test]
fn pod_template_validates_its_template_spec() {
    let template = defaulted(
        "",
        "PodTemplate",
        json!({"metadata": {"name": "t", "namespace": "default"}, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}),
    );
    assert!(create_errors("", "PodTemplate", &template).is_empty());
    let mut bad = template.clone();
    set(&mut bad, "/template/spec/containers", json!([]));
    assert_eq!(create_errors("", "PodTemplate", &bad), vec!["template.spec.containers: Required value"]);
}
