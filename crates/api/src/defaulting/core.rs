//! Defaults of the core group's kinds other than pods (upstream `core/v1/defaults.go`).

use serde_json::{Value, json};

use super::pod::{default_azure_disk, default_claim_spec, default_pod_template_spec, default_rbd};
use super::{
    Object, default_resource_list, default_str, default_value, each_object, ensure_object, is_absent, is_empty_str,
    object_mut, str_of,
};

/// Session affinity timeout when `ClientIP` affinity gives none (three hours).
const DEFAULT_CLIENT_IP_TIMEOUT_SECONDS: i64 = 10800;

/// `SetDefaults_ReplicationController`: selector and labels default to the
/// template's labels, replicas to 1; the template gets PodSpec defaults.
pub(crate) fn default_replication_controller(rc: &mut Object) {
    let template_labels = rc
        .get("spec")
        .and_then(|s| s.get("template"))
        .and_then(|t| t.get("metadata"))
        .and_then(|m| m.get("labels"))
        .filter(|l| l.is_object())
        .cloned();
    if let Some(labels) = template_labels {
        if let Some(spec) = ensure_object(rc, "spec")
            && super::is_empty_collection(spec.get("selector"))
        {
            spec.insert("selector".into(), labels.clone());
        }
        if let Some(meta) = ensure_object(rc, "metadata")
            && super::is_empty_collection(meta.get("labels"))
        {
            meta.insert("labels".into(), labels);
        }
    }
    let Some(spec) = ensure_object(rc, "spec") else {
        return;
    };
    default_value(spec, "replicas", json!(1));
    if let Some(template) = object_mut(spec, "template") {
        default_pod_template_spec(template);
    }
}

/// `SetDefaults_Service` and the generated port defaults.
pub(crate) fn default_service(service: &mut Object) {
    let Some(spec) = ensure_object(service, "spec") else {
        return;
    };
    default_str(spec, "sessionAffinity", "None");
    match str_of(spec, "sessionAffinity") {
        "None" => {
            spec.remove("sessionAffinityConfig");
        }
        "ClientIP" => {
            let has_timeout = spec
                .get("sessionAffinityConfig")
                .and_then(|c| c.get("clientIP"))
                .and_then(|c| c.get("timeoutSeconds"))
                .is_some_and(|t| !t.is_null());
            if !has_timeout {
                spec.insert(
                    "sessionAffinityConfig".into(),
                    json!({"clientIP": {"timeoutSeconds": DEFAULT_CLIENT_IP_TIMEOUT_SECONDS}}),
                );
            }
        }
        _ => {}
    }
    default_str(spec, "type", "ClusterIP");
    for port in each_object(spec, "ports") {
        default_str(port, "protocol", "TCP");
        let target_unset = match port.get("targetPort") {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Number(n)) => n.as_f64() == Some(0.0),
            _ => false,
        };
        if target_unset {
            let port_number = port.get("port").cloned().unwrap_or(json!(0));
            port.insert("targetPort".into(), port_number);
        }
    }
    let service_type = str_of(spec, "type").to_string();
    let has_external_ips = !super::is_empty_collection(spec.get("externalIPs"));
    let externally_accessible = service_type == "LoadBalancer"
        || service_type == "NodePort"
        || (service_type == "ClusterIP" && has_external_ips);
    if externally_accessible {
        default_str(spec, "externalTrafficPolicy", "Cluster");
    }
    if matches!(service_type.as_str(), "NodePort" | "LoadBalancer" | "ClusterIP") {
        default_value(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if service_type == "LoadBalancer" {
        default_value(spec, "allocateLoadBalancerNodePorts", json!(true));
        let ingress = object_mut(service, "status").and_then(|s| object_mut(s, "loadBalancer"));
        if let Some(load_balancer) = ingress {
            for ingress in each_object(load_balancer, "ingress") {
                if !is_empty_str(ingress.get("ip")) {
                    default_value(ingress, "ipMode", json!("VIP"));
                }
            }
        }
    }
}

/// `SetDefaults_Namespace` and `SetDefaults_NamespaceStatus`: the
/// `kubernetes.io/metadata.name` label always equals the name, the phase is Active.
pub(crate) fn default_namespace(namespace: &mut Object) {
    let name = namespace.get("metadata").and_then(|m| m.get("name")).and_then(Value::as_str).unwrap_or("");
    if !name.is_empty() {
        let name = name.to_string();
        if let Some(labels) = ensure_object(namespace, "metadata").and_then(|m| ensure_object(m, "labels")) {
            labels.insert("kubernetes.io/metadata.name".into(), Value::String(name));
        }
    }
    if let Some(status) = ensure_object(namespace, "status") {
        default_str(status, "phase", "Active");
    }
}

/// The namespace strategy's `PrepareForCreate`: status Active and the `kubernetes`
/// finalizer present.
pub(crate) fn prepare_namespace_for_create(namespace: &mut Object) {
    namespace.insert("status".into(), json!({"phase": "Active"}));
    let Some(spec) = ensure_object(namespace, "spec") else {
        return;
    };
    if is_absent(spec.get("finalizers")) {
        spec.insert("finalizers".into(), json!([]));
    }
    if let Some(finalizers) = spec.get_mut("finalizers").and_then(Value::as_array_mut)
        && !finalizers.iter().any(|f| f.as_str() == Some("kubernetes"))
    {
        finalizers.push(json!("kubernetes"));
    }
}

/// `SetDefaults_Secret` (type Opaque), plus the v1 conversion that folds
/// `stringData` into `data` (stringData wins) and drops it.
pub(crate) fn default_secret(secret: &mut Object) {
    default_str(secret, "type", "Opaque");
    let Some(Value::Object(string_data)) = secret.remove("stringData") else {
        return;
    };
    if string_data.is_empty() {
        return;
    }
    if is_absent(secret.get("data")) {
        secret.insert("data".into(), json!({}));
    }
    match secret.get_mut("data").and_then(Value::as_object_mut) {
        Some(data) => {
            for (key, value) in string_data {
                if let Value::String(text) = value {
                    data.insert(key, Value::String(base64_encode(text.as_bytes())));
                }
            }
        }
        // `data` of the wrong type: keep stringData so decoding reports the problem.
        None => {
            secret.insert("stringData".into(), Value::Object(string_data));
        }
    }
}

/// `SetDefaults_PersistentVolume`: status Pending, reclaim policy Retain, volume
/// mode Filesystem, and the source defaults.
pub(crate) fn default_persistent_volume(pv: &mut Object) {
    if let Some(status) = ensure_object(pv, "status") {
        default_str(status, "phase", "Pending");
    }
    let Some(spec) = ensure_object(pv, "spec") else {
        return;
    };
    default_str(spec, "persistentVolumeReclaimPolicy", "Retain");
    default_value(spec, "volumeMode", json!("Filesystem"));
    default_resource_list(spec.get_mut("capacity"));
    if let Some(host_path) = object_mut(spec, "hostPath") {
        default_value(host_path, "type", json!(""));
    }
    if let Some(rbd) = object_mut(spec, "rbd") {
        default_rbd(rbd);
    }
    if let Some(iscsi) = object_mut(spec, "iscsi") {
        default_str(iscsi, "iscsiInterface", "default");
    }
    if let Some(azure_disk) = object_mut(spec, "azureDisk") {
        default_azure_disk(azure_disk);
    }
    if let Some(scale_io) = object_mut(spec, "scaleIO") {
        default_str(scale_io, "storageMode", "ThinProvisioned");
        default_str(scale_io, "fsType", "xfs");
    }
}

/// `SetDefaults_PersistentVolumeClaim` (status Pending) and the claim spec defaults.
pub(crate) fn default_persistent_volume_claim(pvc: &mut Object) {
    if let Some(status) = ensure_object(pvc, "status") {
        default_str(status, "phase", "Pending");
        default_resource_list(status.get_mut("capacity"));
        default_resource_list(status.get_mut("allocatedResources"));
    }
    if let Some(spec) = ensure_object(pvc, "spec") {
        default_claim_spec(spec);
    }
}

/// `SetDefaults_Endpoints`: ports default to TCP.
pub(crate) fn default_endpoints(endpoints: &mut Object) {
    for subset in each_object(endpoints, "subsets") {
        for port in each_object(subset, "ports") {
            default_str(port, "protocol", "TCP");
        }
    }
}

/// `SetDefaults_NodeStatus`: allocatable defaults to capacity.
pub(crate) fn default_node(node: &mut Object) {
    let Some(status) = ensure_object(node, "status") else {
        return;
    };
    if is_absent(status.get("allocatable"))
        && let Some(capacity) = status.get("capacity").filter(|c| c.is_object()).cloned()
    {
        status.insert("allocatable".into(), capacity);
    }
    default_resource_list(status.get_mut("capacity"));
    default_resource_list(status.get_mut("allocatable"));
}

/// `SetDefaults_LimitRangeItem`: for `Container` limits, the default limit falls
/// back to max, the default request to the default limit, then to min.
pub(crate) fn default_limit_range(limit_range: &mut Object) {
    let Some(spec) = ensure_object(limit_range, "spec") else {
        return;
    };
    for item in each_object(spec, "limits") {
        if str_of(item, "type") == "Container" {
            fill_missing(item, "default", "max");
            fill_missing(item, "defaultRequest", "default");
            fill_missing(item, "defaultRequest", "min");
        }
        for list in ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"] {
            default_resource_list(item.get_mut(list));
        }
    }
}

/// Copies every resource of `item[from]` missing from `item[to]`, creating `to`.
fn fill_missing(item: &mut Object, to: &str, from: &str) {
    let source = item.get(from).and_then(Value::as_object).cloned().unwrap_or_default();
    let Some(target) = ensure_object(item, to) else {
        return;
    };
    for (name, quantity) in source {
        target.entry(name).or_insert(quantity);
    }
}

/// ResourceQuota: quantities rounded and canonical.
pub(crate) fn default_resource_quota(quota: &mut Object) {
    if let Some(spec) = object_mut(quota, "spec") {
        default_resource_list(spec.get_mut("hard"));
    }
    if let Some(status) = object_mut(quota, "status") {
        default_resource_list(status.get_mut("hard"));
        default_resource_list(status.get_mut("used"));
    }
}

/// Standard base64 with padding, as Go encodes `[]byte` in JSON.
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
