//! Tables for the core ("" group) kinds other than pods and events.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::Value;

use super::fields::{self, age, arr, cell, count_cell, get, int, int_cell, name, obj, opt_str, str};
use super::quantity;
use super::selector::format_labels;
use super::{AGE, CONTAINERS_DESCRIPTION, Column, IMAGES_DESCRIPTION, NAME, col, descriptions as d, wide};

pub(super) const POD_TEMPLATE_COLUMNS: &[Column] = &[
    NAME,
    col("Containers", "string", CONTAINERS_DESCRIPTION),
    col("Images", "string", IMAGES_DESCRIPTION),
    col("Pod Labels", "string", "The labels for the pod template."),
];

pub(super) fn pod_template_cells(o: &Value, _now: Timestamp) -> Vec<Value> {
    let (names, images) = fields::container_cells(get(o, "template.spec"));
    vec![cell(name(o)), names, images, cell(format_labels(o, "template.metadata.labels"))]
}

pub(super) const REPLICATION_CONTROLLER_COLUMNS: &[Column] = &[
    NAME,
    col("Desired", "integer", d::RC_SPEC_REPLICAS),
    col("Current", "integer", d::RC_STATUS_REPLICAS),
    col("Ready", "integer", d::RC_STATUS_READY),
    AGE,
    wide("Containers", "string", CONTAINERS_DESCRIPTION),
    wide("Images", "string", IMAGES_DESCRIPTION),
    wide("Selector", "string", d::RC_SPEC_SELECTOR),
];

pub(super) fn replication_controller_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = fields::container_cells(get(o, "spec.template.spec"));
    vec![
        cell(name(o)),
        int_cell(int(o, "spec.replicas")),
        int_cell(int(o, "status.replicas")),
        int_cell(int(o, "status.readyReplicas")),
        age(o, now),
        names,
        images,
        cell(format_labels(o, "spec.selector")),
    ]
}

pub(super) const SERVICE_COLUMNS: &[Column] = &[
    NAME,
    col("Type", "string", d::SVC_SPEC_TYPE),
    col("Cluster-IP", "string", d::SVC_SPEC_CLUSTER_IP),
    col("External-IP", "string", d::SVC_SPEC_EXTERNAL_IPS),
    col("Port(s)", "string", d::SVC_SPEC_PORTS),
    AGE,
    wide("Selector", "string", d::SVC_SPEC_SELECTOR),
];

pub(super) fn service_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    // Objects written before dual-stack carry only `clusterIP`; the internal version backfills `clusterIPs`.
    let cluster_ip = match (arr(o, "spec.clusterIPs").first(), str(o, "spec.clusterIP")) {
        (Some(ip), _) => ip.as_str().unwrap_or(""),
        (None, "") => "<none>",
        (None, ip) => ip,
    };
    let ports = service_ports(o);
    vec![
        cell(name(o)),
        cell(str(o, "spec.type")),
        cell(cluster_ip),
        cell(service_external_ip(o)),
        cell(if ports.is_empty() { "<none>".to_string() } else { ports }),
        age(o, now),
        cell(format_labels(o, "spec.selector")),
    ]
}

/// Upstream's `getServiceExternalIP` for wide output (the load-balancer list is never clipped).
fn service_external_ip(o: &Value) -> String {
    let external_ips: Vec<&str> = arr(o, "spec.externalIPs").iter().filter_map(Value::as_str).collect();
    match str(o, "spec.type") {
        "ClusterIP" | "NodePort" if !external_ips.is_empty() => external_ips.join(","),
        "ClusterIP" | "NodePort" => "<none>".to_string(),
        "LoadBalancer" => {
            let lb = load_balancer_ingress(o, "status.loadBalancer.ingress");
            if !external_ips.is_empty() {
                let mut all: Vec<&str> = if lb.is_empty() { Vec::new() } else { lb.split(',').collect() };
                all.extend(external_ips);
                all.join(",")
            } else if !lb.is_empty() {
                lb
            } else {
                "<pending>".to_string()
            }
        }
        "ExternalName" => str(o, "spec.externalName").to_string(),
        _ => "<unknown>".to_string(),
    }
}

/// The sorted, de-duplicated IPs (or hostnames, for entries without an IP) of a load balancer status.
pub(super) fn load_balancer_ingress(o: &Value, path: &str) -> String {
    let addresses: BTreeSet<&str> = arr(o, path)
        .iter()
        .filter_map(|i| match (str(i, "ip"), str(i, "hostname")) {
            ("", "") => None,
            ("", hostname) => Some(hostname),
            (ip, _) => Some(ip),
        })
        .collect();
    addresses.into_iter().collect::<Vec<_>>().join(",")
}

/// "port/proto" or "port:nodePort/proto" for each service port.
fn service_ports(o: &Value) -> String {
    arr(o, "spec.ports")
        .iter()
        .map(|p| {
            let (port, node_port, protocol) = (int(p, "port"), int(p, "nodePort"), str(p, "protocol"));
            if node_port > 0 { format!("{port}:{node_port}/{protocol}") } else { format!("{port}/{protocol}") }
        })
        .collect::<Vec<_>>()
        .join(",")
}

pub(super) const ENDPOINTS_COLUMNS: &[Column] = &[NAME, col("Endpoints", "string", d::ENDPOINTS_SUBSETS), AGE];

pub(super) fn endpoints_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    vec![cell(name(o)), cell(format_endpoints(o)), age(o, now)]
}

/// Upstream's `formatEndpoints`: the first three "ip:port" pairs, then "+ N more...".
fn format_endpoints(o: &Value) -> String {
    const MAX: usize = 3;
    let subsets = arr(o, "subsets");
    if subsets.is_empty() {
        return "<none>".to_string();
    }
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0;
    for subset in subsets {
        let addresses = arr(subset, "addresses");
        let ports = arr(subset, "ports");
        if ports.is_empty() {
            // Headless services may have no ports.
            count += addresses.len();
            for address in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(str(address, "ip").to_string());
            }
            continue;
        }
        for port in ports {
            count += addresses.len();
            for address in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(join_host_port(str(address, "ip"), int(port, "port")));
            }
        }
    }
    let joined = list.join(",");
    if more { format!("{joined} + {} more...", count - MAX) } else { joined }
}

/// Go's `net.JoinHostPort`: IPv6 hosts are bracketed.
fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

pub(super) const NODE_COLUMNS: &[Column] = &[
    NAME,
    col("Status", "string", "The status of the node"),
    col("Roles", "string", "The roles of the node"),
    AGE,
    col("Version", "string", d::NODE_INFO_KUBELET),
    wide("Internal-IP", "string", d::NODE_STATUS_ADDRESSES),
    wide("External-IP", "string", d::NODE_STATUS_ADDRESSES),
    wide("OS-Image", "string", d::NODE_INFO_OS_IMAGE),
    wide("Kernel-Version", "string", d::NODE_INFO_KERNEL),
    wide("Container-Runtime", "string", d::NODE_INFO_RUNTIME),
];

pub(super) fn node_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    // Only the Ready condition shows; with duplicates the last one wins, as upstream's map does.
    let mut status: Vec<String> = Vec::new();
    if let Some(ready) = arr(o, "status.conditions").iter().rev().find(|c| str(c, "type") == "Ready") {
        status.push(if str(ready, "status") == "True" { "Ready" } else { "NotReady" }.to_string());
    } else {
        status.push("Unknown".to_string());
    }
    if fields::bool(o, "spec.unschedulable") {
        status.push("SchedulingDisabled".to_string());
    }
    let roles = node_roles(o);
    let info = |key: &str| match str(o, &format!("status.nodeInfo.{key}")) {
        "" => "<unknown>".to_string(),
        v => v.to_string(),
    };
    vec![
        cell(name(o)),
        cell(status.join(",")),
        cell(if roles.is_empty() { "<none>".to_string() } else { roles }),
        age(o, now),
        cell(str(o, "status.nodeInfo.kubeletVersion")),
        cell(node_address(o, "InternalIP")),
        cell(node_address(o, "ExternalIP")),
        cell(info("osImage")),
        cell(info("kernelVersion")),
        cell(info("containerRuntimeVersion")),
    ]
}

/// Roles from `node-role.kubernetes.io/<role>` label keys and the `kubernetes.io/role` label value.
fn node_roles(o: &Value) -> String {
    let roles: BTreeSet<&str> = fields::string_map(o, "metadata.labels")
        .into_iter()
        .filter_map(|(key, value)| match key.strip_prefix("node-role.kubernetes.io/") {
            Some(role) if !role.is_empty() => Some(role),
            Some(_) => None,
            None => (key == "kubernetes.io/role" && !value.is_empty()).then_some(value),
        })
        .collect();
    roles.into_iter().collect::<Vec<_>>().join(",")
}

/// The first node address of the given type, "<none>" if there is none.
fn node_address(o: &Value, type_: &str) -> String {
    arr(o, "status.addresses")
        .iter()
        .find(|a| str(a, "type") == type_)
        .map_or_else(|| "<none>".to_string(), |a| str(a, "address").to_string())
}

pub(super) const NAMESPACE_COLUMNS: &[Column] = &[NAME, col("Status", "string", "The status of the namespace"), AGE];

pub(super) fn namespace_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    vec![cell(name(o)), cell(str(o, "status.phase")), age(o, now)]
}

pub(super) const CONFIG_MAP_COLUMNS: &[Column] = &[NAME, col("Data", "string", d::CONFIGMAP_DATA), AGE];

pub(super) fn config_map_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let entries = obj(o, "data").map_or(0, |m| m.len()) + obj(o, "binaryData").map_or(0, |m| m.len());
    vec![cell(name(o)), count_cell(entries), age(o, now)]
}

pub(super) const SECRET_COLUMNS: &[Column] =
    &[NAME, col("Type", "string", d::SECRET_TYPE), col("Data", "string", d::SECRET_DATA), AGE];

pub(super) fn secret_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    vec![cell(name(o)), cell(str(o, "type")), count_cell(obj(o, "data").map_or(0, |m| m.len())), age(o, now)]
}

pub(super) const SERVICE_ACCOUNT_COLUMNS: &[Column] = &[NAME, col("Secrets", "string", d::SA_SECRETS), AGE];

pub(super) fn service_account_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    vec![cell(name(o)), count_cell(arr(o, "secrets").len()), age(o, now)]
}

pub(super) const PERSISTENT_VOLUME_COLUMNS: &[Column] = &[
    NAME,
    col("Capacity", "string", d::PV_SPEC_CAPACITY),
    col("Access Modes", "string", d::PV_SPEC_ACCESS_MODES),
    col("Reclaim Policy", "string", d::PV_SPEC_RECLAIM),
    col("Status", "string", d::PV_STATUS_PHASE),
    col("Claim", "string", d::PV_SPEC_CLAIM_REF),
    col("StorageClass", "string", "StorageClass of the pv"),
    col("VolumeAttributesClass", "string", "VolumeAttributesClass of the pv"),
    col("Reason", "string", d::PV_STATUS_REASON),
    AGE,
    wide("VolumeMode", "string", d::PV_SPEC_VOLUME_MODE),
];

pub(super) fn persistent_volume_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let claim = match get(o, "spec.claimRef") {
        Some(r) if r.is_object() => format!("{}/{}", str(r, "namespace"), str(r, "name")),
        _ => String::new(),
    };
    let phase = if fields::deleting(o) { "Terminating" } else { str(o, "status.phase") };
    let class = match legacy_storage_class(o) {
        Some(class) => class,
        None => str(o, "spec.storageClassName"),
    };
    vec![
        cell(name(o)),
        cell(quantity::format_value(get(o, "spec.capacity.storage"))),
        cell(access_modes(o, "spec.accessModes")),
        cell(str(o, "spec.persistentVolumeReclaimPolicy")),
        cell(phase),
        cell(claim),
        cell(class),
        cell(opt_str(o, "spec.volumeAttributesClassName").unwrap_or("<unset>")),
        cell(str(o, "status.reason")),
        age(o, now),
        cell(opt_str(o, "spec.volumeMode").unwrap_or("<unset>")),
    ]
}

pub(super) const PERSISTENT_VOLUME_CLAIM_COLUMNS: &[Column] = &[
    NAME,
    col("Status", "string", d::PVC_STATUS_PHASE),
    col("Volume", "string", d::PVC_SPEC_VOLUME_NAME),
    col("Capacity", "string", d::PVC_STATUS_CAPACITY),
    col("Access Modes", "string", d::PVC_STATUS_ACCESS_MODES),
    col("StorageClass", "string", "StorageClass of the pvc"),
    col("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc"),
    AGE,
    wide("VolumeMode", "string", d::PVC_SPEC_VOLUME_MODE),
];

pub(super) fn persistent_volume_claim_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let phase = if fields::deleting(o) { "Terminating" } else { str(o, "status.phase") };
    let volume = str(o, "spec.volumeName");
    // Capacity and access modes are only shown once the claim is bound to a volume.
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (quantity::format_value(get(o, "status.capacity.storage")), access_modes(o, "status.accessModes"))
    };
    let class = match legacy_storage_class(o) {
        Some(class) => class,
        None => str(o, "spec.storageClassName"),
    };
    vec![
        cell(name(o)),
        cell(phase),
        cell(volume),
        cell(capacity),
        cell(modes),
        cell(class),
        cell(opt_str(o, "spec.volumeAttributesClassName").unwrap_or("<unset>")),
        age(o, now),
        cell(opt_str(o, "spec.volumeMode").unwrap_or("<unset>")),
    ]
}

/// The beta storage-class annotation, which takes precedence over `spec.storageClassName` when present.
fn legacy_storage_class(o: &Value) -> Option<&str> {
    fields::obj(o, "metadata.annotations")?.get("volume.beta.kubernetes.io/storage-class")?.as_str()
}

/// Upstream's `GetAccessModesAsString`: "RWO,ROX,RWX,RWOP" in that order, each at most once.
fn access_modes(o: &Value, path: &str) -> String {
    let modes = arr(o, path);
    let has = |mode: &str| modes.iter().any(|m| m.as_str() == Some(mode));
    [("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP")]
        .into_iter()
        .filter(|(mode, _)| has(mode))
        .map(|(_, short)| short)
        .collect::<Vec<_>>()
        .join(",")
}

pub(super) const RESOURCE_QUOTA_COLUMNS: &[Column] = &[
    NAME,
    col("Request", "string", "Request represents a minimum amount of cpu/memory that a container may consume."),
    col(
        "Limit",
        "string",
        "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
    ),
    AGE,
];

pub(super) fn resource_quota_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let mut requests: Vec<String> = Vec::new();
    let mut limits: Vec<String> = Vec::new();
    let mut hard: Vec<(&String, &Value)> = obj(o, "status.hard").into_iter().flatten().collect();
    hard.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (resource, hard) in hard {
        let used = obj(o, "status.used").and_then(|m| m.get(resource));
        let entry = format!("{resource}: {}/{}", quantity::format_value(used), quantity::format_value(Some(hard)));
        let mut pieces = resource.split('.');
        if pieces.next() == Some("limits") && pieces.next().is_some() {
            limits.push(entry);
        } else {
            requests.push(entry);
        }
    }
    vec![cell(name(o)), cell(requests.join(", ")), cell(limits.join(", ")), age(o, now)]
}

pub(super) const COMPONENT_STATUS_COLUMNS: &[Column] = &[
    NAME,
    col("Status", "string", "Status of the component conditions"),
    col("Message", "string", "Message of the component conditions"),
    col("Error", "string", "Error of the component conditions"),
];

pub(super) fn component_status_cells(o: &Value, _now: Timestamp) -> Vec<Value> {
    let (status, message, error) = match fields::condition(o, "conditions", "Healthy") {
        Some(c) => {
            let status = if str(c, "status") == "True" { "Healthy" } else { "Unhealthy" };
            (status, str(c, "message"), str(c, "error"))
        }
        None => ("Unknown", "", ""),
    };
    vec![cell(name(o)), cell(status), cell(message), cell(error)]
}
