//! Services and Endpoints.

use serde_json::{Value, json};

use super::{Case, defaulted, remove, run_create_cases, run_update_cases, set, status_errors, stored_meta};

fn service() -> Value {
    defaulted(
        "",
        "Service",
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}], "clusterIP": "10.96.0.10"},
        }),
    )
}

fn stored_service() -> Value {
    let mut s = service();
    s["metadata"] = stored_meta("web", Some("default"));
    s["spec"]["clusterIPs"] = json!(["10.96.0.10"]);
    s
}

#[test]
fn service_create_follows_validate_service() {
    let cases = [
        Case {
            behaviour: "service names are DNS-1035 labels",
            change: |s| set(s, "/metadata/name", json!("1web")),
            expected: &[
                "metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
            ],
        },
        Case {
            behaviour: "ports are required",
            change: |s| set(s, "/spec/ports", json!([])),
            expected: &["spec.ports: Required value"],
        },
        Case {
            behaviour: "headless services need no ports",
            change: |s| {
                set(s, "/spec/ports", json!([]));
                set(s, "/spec/clusterIP", json!("None"));
            },
            expected: &[],
        },
        Case {
            behaviour: "ports are in range",
            change: |s| set(s, "/spec/ports/0/port", json!(0)),
            expected: &["spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"],
        },
        Case {
            behaviour: "several ports are all named",
            change: |s| set(s, "/spec/ports/1", json!({"port": 443, "protocol": "TCP", "targetPort": 443})),
            expected: &["spec.ports[0].name: Required value", "spec.ports[1].name: Required value"],
        },
        Case {
            behaviour: "port names are unique",
            change: |s| {
                set(s, "/spec/ports/0/name", json!("http"));
                set(s, "/spec/ports/1", json!({"name": "http", "port": 443, "protocol": "TCP", "targetPort": 443}));
            },
            expected: &["spec.ports[1].name: Duplicate value: \"http\""],
        },
        Case {
            behaviour: "a protocol and port pair appears once",
            change: |s| {
                set(s, "/spec/ports/0/name", json!("a"));
                set(s, "/spec/ports/1", json!({"name": "b", "port": 80, "protocol": "TCP", "targetPort": 8080}));
            },
            expected: &[
                "spec.ports[1]: Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}",
            ],
        },
        Case {
            behaviour: "types are the four service types",
            change: |s| set(s, "/spec/type", json!("Foo")),
            expected: &[
                "spec.type: Unsupported value: \"Foo\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
            ],
        },
        Case {
            behaviour: "cluster IPs are IP addresses",
            change: |s| set(s, "/spec/clusterIP", json!("10.0.0.300")),
            expected: &[
                "spec.clusterIPs[0]: Invalid value: \"10.0.0.300\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            ],
        },
        Case {
            behaviour: "ClusterIP services take no node port",
            change: |s| set(s, "/spec/ports/0/nodePort", json!(30080)),
            expected: &["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
        },
        Case {
            behaviour: "an ExternalName service names a DNS name and has no cluster IP",
            change: |s| {
                set(s, "/spec/type", json!("ExternalName"));
                remove(s, "/spec/clusterIP");
            },
            expected: &["spec.externalName: Required value"],
        },
        Case {
            behaviour: "session affinity is None or ClientIP",
            change: |s| set(s, "/spec/sessionAffinity", json!("Cookie")),
            expected: &[
                "spec.sessionAffinity: Unsupported value: \"Cookie\": supported values: \"ClientIP\", \"None\"",
            ],
        },
        Case {
            behaviour: "external IPs are not loopback",
            change: |s| set(s, "/spec/externalIPs", json!(["127.0.0.1"])),
            expected: &[
                "spec.externalIPs[0]: Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)",
            ],
        },
        Case {
            behaviour: "source ranges are for load balancers, at upstream's capitalised path",
            change: |s| set(s, "/spec/loadBalancerSourceRanges", json!(["10.0.0.0/8"])),
            expected: &["spec.LoadBalancerSourceRanges: Forbidden: may only be used when `type` is 'LoadBalancer'"],
        },
        Case {
            behaviour: "a named target port is an IANA service name",
            change: |s| set(s, "/spec/ports/0/targetPort", json!("HTTP")),
            expected: &[
                "spec.ports[0].targetPort: Invalid value: \"HTTP\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
            ],
        },
    ];
    run_create_cases("", "Service", service, &cases);
}

#[test]
fn service_update_keeps_the_cluster_ip() {
    let cases = [
        Case { behaviour: "ports may change", change: |s| set(s, "/spec/ports/0/port", json!(8080)), expected: &[] },
        Case {
            behaviour: "the cluster IP may not change once set",
            change: |s| set(s, "/spec/clusterIP", json!("10.96.0.11")),
            expected: &["spec.clusterIPs[0]: Invalid value: []string{\"10.96.0.11\"}: may not change once set"],
        },
    ];
    run_update_cases("", "Service", stored_service, &cases);
}

#[test]
fn service_status_load_balancer_ingress_needs_a_load_balancer() {
    let old = stored_service();
    let mut new = old.clone();
    set(&mut new, "/status/loadBalancer/ingress", json!([{"ip": "1.2.3.4", "ipMode": "VIP"}]));
    assert_eq!(
        status_errors("", "Service", &new, &old),
        vec!["status.loadBalancer.ingress: Forbidden: may only be used when `spec.type` is 'LoadBalancer'"]
    );
}

#[test]
fn endpoints_rules() {
    let endpoints = || {
        defaulted(
            "",
            "Endpoints",
            json!({"metadata": {"name": "web", "namespace": "default"}, "subsets": [{"addresses": [{"ip": "10.1.2.3"}], "ports": [{"port": 80}]}]}),
        )
    };
    let cases = [
        Case {
            behaviour: "a subset has addresses",
            change: |e| set(e, "/subsets/0/addresses", json!([])),
            expected: &["subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`"],
        },
        Case {
            behaviour: "endpoint addresses are not link-local",
            change: |e| set(e, "/subsets/0/addresses/0/ip", json!("169.254.1.1")),
            expected: &[
                "subsets[0].addresses[0].ip: Invalid value: \"169.254.1.1\": may not be in the link-local range (169.254.0.0/16, fe80::/10)",
            ],
        },
    ];
    run_create_cases("", "Endpoints", endpoints, &cases);
}
