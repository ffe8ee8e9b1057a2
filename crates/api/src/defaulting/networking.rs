//! Defaults of `networking.k8s.io` and `discovery.k8s.io` (upstream
//! `networking/v1/defaults.go`, `discovery/v1/defaults.go`).

use serde_json::{Value, json};

use super::{Object, default_value, each_object, ensure_object, is_absent, is_empty_collection, object_mut};

/// `SetDefaults_NetworkPolicy`: policy types default to `Ingress`, plus `Egress`
/// when egress rules are given; rule ports default to TCP.
pub(crate) fn default_network_policy(policy: &mut Object) {
    let Some(spec) = ensure_object(policy, "spec") else {
        return;
    };
    if is_empty_collection(spec.get("policyTypes")) {
        let mut types = vec![json!("Ingress")];
        if !is_empty_collection(spec.get("egress")) {
            types.push(json!("Egress"));
        }
        spec.insert("policyTypes".into(), Value::Array(types));
    }
    for direction in ["ingress", "egress"] {
        for rule in each_object(spec, direction) {
            for port in each_object(rule, "ports") {
                default_value(port, "protocol", json!("TCP"));
            }
        }
    }
}

/// `SetDefaults_IngressClass`: parameters without a scope are cluster-scoped.
pub(crate) fn default_ingress_class(class: &mut Object) {
    let parameters = object_mut(class, "spec").and_then(|s| object_mut(s, "parameters"));
    if let Some(parameters) = parameters {
        default_value(parameters, "scope", json!("Cluster"));
    }
}

/// `SetDefaults_EndpointPort` on every port of an EndpointSlice.
pub(crate) fn default_endpoint_slice(slice: &mut Object) {
    for port in each_object(slice, "ports") {
        if is_absent(port.get("name")) {
            port.insert("name".into(), json!(""));
        }
        default_value(port, "protocol", json!("TCP"));
    }
}
