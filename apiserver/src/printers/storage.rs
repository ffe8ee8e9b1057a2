//! Tables for storage.k8s.io kinds.

use jiff::Timestamp;
use serde_json::Value;

use super::fields::{self, age, arr, cell, count_cell, get, name, opt_bool, opt_str, str};
use super::quantity;
use super::{AGE, Column, NAME, col, descriptions as d};

pub(super) const STORAGE_CLASS_COLUMNS: &[Column] = &[
    NAME,
    col("Provisioner", "string", d::SC_PROVISIONER),
    col("ReclaimPolicy", "string", d::SC_RECLAIM),
    col("VolumeBindingMode", "string", d::SC_BINDING_MODE),
    col("AllowVolumeExpansion", "string", d::SC_EXPANSION),
    AGE,
];

pub(super) fn storage_class_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let default = is_default(
        o,
        &["storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class"],
    );
    vec![
        cell(with_default_marker(name(o), default)),
        cell(str(o, "provisioner")),
        cell(opt_str(o, "reclaimPolicy").unwrap_or("Delete")),
        cell(opt_str(o, "volumeBindingMode").unwrap_or("Immediate")),
        Value::Bool(opt_bool(o, "allowVolumeExpansion").unwrap_or(false)),
        age(o, now),
    ]
}

/// Whether any of the given annotations is exactly "true".
fn is_default(o: &Value, annotations: &[&str]) -> bool {
    let Some(map) = fields::obj(o, "metadata.annotations") else {
        return false;
    };
    annotations.iter().any(|a| map.get(*a).and_then(Value::as_str) == Some("true"))
}

fn with_default_marker(name: &str, default: bool) -> String {
    if default { format!("{name} (default)") } else { name.to_string() }
}

pub(super) const VOLUME_ATTRIBUTES_CLASS_COLUMNS: &[Column] = &[NAME, col("DriverName", "string", d::VAC_DRIVER), AGE];

pub(super) fn volume_attributes_class_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let default = is_default(o, &["volumeattributesclass.kubernetes.io/is-default-class"]);
    vec![cell(with_default_marker(name(o), default)), cell(str(o, "driverName")), age(o, now)]
}

pub(super) const CSI_DRIVER_COLUMNS: &[Column] = &[
    NAME,
    col("AttachRequired", "boolean", d::CSI_ATTACH_REQUIRED),
    col("PodInfoOnMount", "boolean", d::CSI_POD_INFO),
    col("StorageCapacity", "boolean", d::CSI_STORAGE_CAPACITY),
    col("TokenRequests", "string", d::CSI_TOKEN_REQUESTS),
    col("RequiresRepublish", "boolean", d::CSI_REQUIRES_REPUBLISH),
    col("Modes", "string", d::CSI_MODES),
    AGE,
];

pub(super) fn csi_driver_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    // A present list, even an empty one, is a non-nil slice upstream.
    let token_requests = match get(o, "spec.tokenRequests") {
        Some(Value::Array(requests)) => requests.iter().map(|r| str(r, "audience")).collect::<Vec<_>>().join(","),
        _ => "<unset>".to_string(),
    };
    let modes: Vec<&str> = arr(o, "spec.volumeLifecycleModes").iter().map(|m| m.as_str().unwrap_or("")).collect();
    let modes = modes.join(",");
    vec![
        cell(name(o)),
        Value::Bool(opt_bool(o, "spec.attachRequired").unwrap_or(true)),
        Value::Bool(opt_bool(o, "spec.podInfoOnMount").unwrap_or(false)),
        Value::Bool(opt_bool(o, "spec.storageCapacity").unwrap_or(false)),
        cell(token_requests),
        Value::Bool(opt_bool(o, "spec.requiresRepublish").unwrap_or(false)),
        cell(if modes.is_empty() { "<none>".to_string() } else { modes }),
        age(o, now),
    ]
}

pub(super) const CSI_NODE_COLUMNS: &[Column] =
    &[NAME, col("Drivers", "integer", "Drivers indicates the number of CSI drivers registered on the node"), AGE];

pub(super) fn csi_node_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    vec![cell(name(o)), count_cell(arr(o, "spec.drivers").len()), age(o, now)]
}

pub(super) const VOLUME_ATTACHMENT_COLUMNS: &[Column] = &[
    NAME,
    Column { format: "name", ..col("Attacher", "string", d::VA_SPEC_ATTACHER) },
    col("PV", "string", d::VA_SOURCE_PV),
    col("Node", "string", d::VA_SPEC_NODE),
    col("Attached", "boolean", d::VA_STATUS_ATTACHED),
    AGE,
];

pub(super) fn volume_attachment_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        cell(name(o)),
        cell(str(o, "spec.attacher")),
        cell(str(o, "spec.source.persistentVolumeName")),
        cell(str(o, "spec.nodeName")),
        Value::Bool(fields::bool(o, "status.attached")),
        age(o, now),
    ]
}

pub(super) const CSI_STORAGE_CAPACITY_COLUMNS: &[Column] =
    &[NAME, col("StorageClassName", "string", d::CSISC_CLASS), col("Capacity", "string", d::CSISC_CAPACITY)];

pub(super) fn csi_storage_capacity_cells(o: &Value, _now: Timestamp) -> Vec<Value> {
    let capacity = match get(o, "capacity") {
        None | Some(Value::Null) => "<unset>".to_string(),
        v => quantity::format_value(v),
    };
    vec![cell(name(o)), cell(str(o, "storageClassName")), cell(capacity)]
}
