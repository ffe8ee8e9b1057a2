//! PersistentVolumes, PersistentVolumeClaims and the claim spec that ephemeral
//! volumes and StatefulSet claim templates share (upstream
//! `ValidatePersistentVolume*`, `ValidatePersistentVolumeClaim*`).

use k8s_openapi::api::core::v1::{
    PersistentVolume, PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeClaimTemplate,
    PersistentVolumeSpec,
};
use serde_json::Value;

use super::meta::validate_label_selector;
use super::meta::{immutable, validate_meta_create, validate_meta_update};
use super::resources::parse_quantity;
use super::scheduling::validate_node_selector;
use super::volumes::{validate_csi_driver_name, validate_host_path};
use super::{opt_str, render, required};
use crate::validation::{
    ErrorList, FieldError, NameRule, child_path, is_dns1123_subdomain, key_path, validate_annotations, validate_labels,
};

/// The volume sources of a PersistentVolumeSpec, in upstream's checking order.
const PV_SOURCES: &[&str] = &[
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "glusterfs",
    "flocker",
    "nfs",
    "rbd",
    "quobyte",
    "cephfs",
    "iscsi",
    "cinder",
    "fc",
    "flexVolume",
    "azureFile",
    "vsphereVolume",
    "photonPersistentDisk",
    "portworxVolume",
    "azureDisk",
    "scaleIO",
    "local",
    "storageos",
    "csi",
];

pub(crate) fn validate_persistent_volume_create(pv: &PersistentVolume) -> ErrorList {
    let mut errs = validate_meta_create(&pv.metadata, false, NameRule::Dns1123Subdomain, true);
    errs.extend(validate_pv_spec(&pv.spec.clone().unwrap_or_default()));
    errs
}

/// `ValidatePersistentVolumeUpdate`: the volume source and mode are fixed, node
/// affinity may only be set once.
pub(crate) fn validate_persistent_volume_update(new: &PersistentVolume, old: &PersistentVolume) -> ErrorList {
    let mut errs = validate_persistent_volume_create(new);
    errs.extend(validate_meta_update(&new.metadata, &old.metadata, true));
    let (spec, old_spec) = (new.spec.clone().unwrap_or_default(), old.spec.clone().unwrap_or_default());
    let mut new_sources = sources_of(&spec);
    let old_sources = sources_of(&old_spec);
    // A CSI volume may gain a controller expand secret.
    let old_has_expand = old_spec.csi.as_ref().is_some_and(|c| c.controller_expand_secret_ref.is_some());
    if !old_has_expand && let Some(csi) = new_sources.get_mut("csi").and_then(Value::as_object_mut) {
        csi.remove("controllerExpandSecretRef");
    }
    if new_sources != old_sources {
        errs.push(FieldError::forbidden(
            "spec.persistentvolumesource",
            format!(
                "spec.persistentvolumesource is immutable after creation\n{}",
                super::pod::spec_diff(&old_sources, &new_sources)
            ),
        ));
    }
    if spec.volume_mode != old_spec.volume_mode {
        errs.push(immutable("volumeMode", render::ptr(spec.volume_mode.as_deref())));
    }
    if old_spec.node_affinity.is_some() && spec.node_affinity != old_spec.node_affinity {
        errs.push(immutable("nodeAffinity", render::json(&spec.node_affinity)));
    }
    errs
}

/// The volume source fields of a PV spec as JSON.
fn sources_of(spec: &PersistentVolumeSpec) -> Value {
    let all = serde_json::to_value(spec).unwrap_or(Value::Null);
    let mut sources = serde_json::Map::new();
    for key in PV_SOURCES {
        if let Some(v) = all.get(*key) {
            sources.insert((*key).to_string(), v.clone());
        }
    }
    Value::Object(sources)
}

/// `ValidatePersistentVolumeSpec` (not inline).
fn validate_pv_spec(spec: &PersistentVolumeSpec) -> ErrorList {
    let mut errs = ErrorList::new();
    let modes = spec.access_modes.as_deref().unwrap_or_default();
    if modes.is_empty() {
        errs.push(FieldError::required("spec.accessModes", ""));
    }
    errs.extend(validate_access_modes(modes, "spec.accessModes"));
    let capacity = spec.capacity.clone().unwrap_or_default();
    if capacity.is_empty() {
        errs.push(FieldError::required("spec.capacity", ""));
    }
    if !capacity.contains_key("storage") || capacity.len() > 1 {
        let keys: Vec<String> = capacity.keys().map(|k| format!("{k}:{}", capacity[k].0)).collect();
        errs.push(FieldError::not_supported(
            "spec.capacity",
            render::Raw(format!("core.ResourceList{{{}}}", keys.join(", "))),
            &["storage"],
        ));
    }
    for (name, value) in &capacity {
        let path = key_path("spec.capacity", name);
        if let Some(q) = parse_quantity(value, &path, &mut errs) {
            if q.sign() < 0 {
                errs.push(FieldError::invalid(&path, q.value(), "must be a valid resource quantity"));
            }
            if q.sign() <= 0 {
                errs.push(FieldError::invalid(&path, q.to_canonical_string(), "must be greater than zero"));
            }
        }
    }
    let policy = opt_str(&spec.persistent_volume_reclaim_policy);
    if !policy.is_empty() && !matches!(policy, "Delete" | "Recycle" | "Retain") {
        errs.push(FieldError::not_supported(
            "spec.persistentVolumeReclaimPolicy",
            policy,
            &["Delete", "Recycle", "Retain"],
        ));
    }
    let mut node_affinity_set = false;
    if let Some(affinity) = &spec.node_affinity {
        node_affinity_set = true;
        match &affinity.required {
            Some(required) => errs.extend(validate_node_selector(required, "spec.nodeAffinity.required")),
            None => {
                errs.push(FieldError::required("spec.nodeAffinity.required", "must specify required node constraints"))
            }
        }
    }
    let all = serde_json::to_value(spec).unwrap_or(Value::Null);
    let mut count = 0;
    for source in PV_SOURCES {
        if all.get(*source).is_none() {
            continue;
        }
        // Flex volumes are counted but never reported as a second source upstream.
        if count > 0 && *source != "flexVolume" {
            let forbidden = if *source == "cephfs" { "cephFS" } else { source };
            errs.push(FieldError::forbidden(child_path("spec", forbidden), "may not specify more than 1 volume type"));
            continue;
        }
        count += 1;
        errs.extend(validate_pv_source(spec, source, node_affinity_set));
    }
    if count == 0 {
        errs.push(FieldError::required("spec", "must specify a volume type"));
    }
    if let Some(host_path) = &spec.host_path {
        let cleaned = host_path.path.trim_end_matches('/');
        if cleaned.is_empty() && host_path.path.starts_with('/') && policy == "Recycle" {
            errs.push(FieldError::forbidden(
                "spec.persistentVolumeReclaimPolicy",
                "may not be 'recycle' for a hostPath mount of '/'",
            ));
        }
    }
    let class = opt_str(&spec.storage_class_name);
    if !class.is_empty() {
        for msg in is_dns1123_subdomain(class) {
            errs.push(FieldError::invalid("spec.storageClassName", class, msg));
        }
    }
    if let Some(mode) = spec.volume_mode.as_deref().filter(|m| *m != "Block" && *m != "Filesystem") {
        errs.push(FieldError::not_supported("spec.volumeMode", mode, &["Block", "Filesystem"]));
    }
    errs
}

/// The checks of the PV source `source` this crate validates in depth.
fn validate_pv_source(spec: &PersistentVolumeSpec, source: &str, node_affinity_set: bool) -> ErrorList {
    let mut errs = ErrorList::new();
    match source {
        "hostPath" => {
            if let Some(h) = &spec.host_path {
                errs.extend(validate_host_path(&h.path, h.type_.as_deref(), "spec.hostPath"));
            }
        }
        "nfs" => {
            if let Some(n) = &spec.nfs {
                errs.extend(required(&n.server, "spec.nfs.server"));
                errs.extend(required(&n.path, "spec.nfs.path"));
                if !n.path.starts_with('/') {
                    errs.push(FieldError::invalid("spec.nfs.path", &n.path, "must be an absolute path"));
                }
            }
        }
        "local" => {
            if let Some(l) = &spec.local {
                if l.path.is_empty() {
                    errs.push(FieldError::required("spec.local.path", ""));
                } else {
                    errs.extend(super::formats::validate_path_no_backsteps(&l.path, "spec.local.path"));
                }
                if !node_affinity_set {
                    errs.push(FieldError::required("spec.nodeAffinity", "Local volume requires node affinity"));
                }
            }
        }
        "csi" => {
            if let Some(c) = &spec.csi {
                errs.extend(validate_csi_driver_name(&c.driver, "spec.csi.driver"));
                errs.extend(required(&c.volume_handle, "spec.csi.volumeHandle"));
            }
        }
        _ => {}
    }
    errs
}

pub(crate) fn validate_claim_create(pvc: &PersistentVolumeClaim) -> ErrorList {
    let mut errs = validate_meta_create(&pvc.metadata, true, NameRule::Dns1123Subdomain, true);
    errs.extend(validate_claim_spec(&pvc.spec.clone().unwrap_or_default(), "spec"));
    errs
}

/// `ValidatePersistentVolumeClaimUpdate`: the spec is fixed except the volume name
/// (set once), the storage request of a bound claim (never below its previous
/// value) and a storage class filled in from nil.
pub(crate) fn validate_claim_update(new: &PersistentVolumeClaim, old: &PersistentVolumeClaim) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    errs.extend(validate_claim_create(new));
    let spec = new.spec.clone().unwrap_or_default();
    let old_spec = old.spec.clone().unwrap_or_default();
    let mut new_clone = spec.clone();
    let mut old_clone = old_spec.clone();
    if opt_str(&old_spec.volume_name).is_empty() {
        old_clone.volume_name = new_clone.volume_name.clone();
    }
    if old_spec.storage_class_name.is_none() && spec.storage_class_name.is_some() {
        new_clone.storage_class_name = None;
    }
    let bound = new.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
    let storage = |s: &k8s_openapi::api::core::v1::PersistentVolumeClaimSpec| {
        s.resources.as_ref().and_then(|r| r.requests.as_ref()).and_then(|r| r.get("storage")).cloned()
    };
    if bound && let Some(requests) = new_clone.resources.as_mut().and_then(|r| r.requests.as_mut()) {
        match storage(&old_spec) {
            Some(old_storage) => requests.insert("storage".into(), old_storage),
            None => requests.remove("storage"),
        };
    }
    new_clone.volume_attributes_class_name = old_clone.volume_attributes_class_name.clone();
    let (new_value, old_value) = (
        serde_json::to_value(&new_clone).unwrap_or(Value::Null),
        serde_json::to_value(&old_clone).unwrap_or(Value::Null),
    );
    if new_value != old_value {
        errs.push(FieldError::forbidden(
            "spec",
            format!(
                "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n{}",
                super::pod::spec_diff(&old_value, &new_value)
            ),
        ));
    }
    let parse = |q: Option<k8s_openapi::apimachinery::pkg::api::resource::Quantity>| {
        q.and_then(|q| crate::Quantity::parse(q.0.trim()).ok()).unwrap_or_default()
    };
    let (new_size, old_size) = (parse(storage(&spec)), parse(storage(&old_spec)));
    if new_size < old_size {
        let capacity =
            parse(old.status.as_ref().and_then(|s| s.capacity.as_ref()).and_then(|c| c.get("storage")).cloned());
        // Recovery from failed expansion (on in 1.33) allows shrinking back above the capacity.
        if new_size <= capacity {
            errs.push(FieldError::forbidden(
                "spec.resources.requests.storage",
                "field can not be less than status.capacity",
            ));
        }
    }
    if spec.volume_mode != old_spec.volume_mode {
        errs.push(immutable("volumeMode", render::ptr(spec.volume_mode.as_deref())));
    }
    errs
}

/// `ValidatePersistentVolumeClaimStatusUpdate`'s status checks.
pub(crate) fn validate_claim_status(new: &PersistentVolumeClaim, _old: &PersistentVolumeClaim) -> ErrorList {
    let mut errs = ErrorList::new();
    if new.metadata.resource_version.as_deref().unwrap_or("").is_empty() {
        errs.push(FieldError::required("resourceVersion", ""));
    }
    if new.spec.as_ref().and_then(|s| s.access_modes.as_ref()).is_none_or(|m| m.is_empty()) {
        errs.push(FieldError::required("Spec.accessModes", ""));
    }
    for (name, value) in new.status.iter().flat_map(|s| s.capacity.iter().flatten()) {
        let path = key_path("status.capacity", name);
        if let Some(q) = parse_quantity(value, &path, &mut errs)
            && q.sign() < 0
        {
            errs.push(FieldError::invalid(&path, q.value(), "must be a valid resource quantity"));
        }
    }
    errs
}

const ACCESS_MODES: [&str; 4] = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];
const VOLUME_MODES: [&str; 2] = ["Block", "Filesystem"];

/// `ValidatePersistentVolumeClaimTemplate`: only labels and annotations in its metadata.
pub(crate) fn validate_claim_template(template: &PersistentVolumeClaimTemplate, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let meta_path = child_path(path, "metadata");
    if let Some(meta) = &template.metadata {
        if let Some(annotations) = &meta.annotations {
            errs.extend(validate_annotations(annotations, &child_path(&meta_path, "annotations")));
        }
        if let Some(labels) = &meta.labels {
            errs.extend(validate_labels(labels, &child_path(&meta_path, "labels")));
        }
        // Only labels and annotations may be set; upstream names the Go fields.
        let set_fields = [
            ("name", meta.name.is_some()),
            ("generateName", meta.generate_name.is_some()),
            ("namespace", meta.namespace.is_some()),
            ("selfLink", meta.self_link.is_some()),
            ("uID", meta.uid.is_some()),
            ("resourceVersion", meta.resource_version.is_some()),
            ("generation", meta.generation.is_some()),
            ("creationTimestamp", meta.creation_timestamp.is_some()),
            ("deletionTimestamp", meta.deletion_timestamp.is_some()),
            ("deletionGracePeriodSeconds", meta.deletion_grace_period_seconds.is_some()),
            ("ownerReferences", meta.owner_references.as_ref().is_some_and(|o| !o.is_empty())),
            ("finalizers", meta.finalizers.as_ref().is_some_and(|f| !f.is_empty())),
            ("managedFields", meta.managed_fields.as_ref().is_some_and(|m| !m.is_empty())),
        ];
        for (field, set) in set_fields {
            if set {
                errs.push(FieldError::forbidden(child_path(&meta_path, field), "cannot be set"));
            }
        }
    }
    errs.extend(validate_claim_spec(&template.spec, &child_path(path, "spec")));
    errs
}

/// Access modes as `ValidatePersistentVolumeClaimSpec` and PVs check them.
pub(crate) fn validate_access_modes(modes: &[String], path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let (mut once_pod, mut other) = (false, false);
    for mode in modes {
        if !ACCESS_MODES.contains(&mode.as_str()) {
            errs.push(FieldError::not_supported(path, mode, &ACCESS_MODES));
        } else if mode == "ReadWriteOncePod" {
            once_pod = true;
        } else {
            other = true;
        }
    }
    if once_pod && other {
        errs.push(FieldError::forbidden(path, "may not use ReadWriteOncePod with other access modes"));
    }
    errs
}

/// `ValidatePersistentVolumeClaimSpec`.
pub(crate) fn validate_claim_spec(spec: &PersistentVolumeClaimSpec, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let modes = spec.access_modes.as_deref().unwrap_or_default();
    if modes.is_empty() {
        errs.push(FieldError::required(child_path(path, "accessModes"), "at least 1 access mode is required"));
    }
    if spec.selector.is_some() {
        errs.extend(validate_label_selector(spec.selector.as_ref(), &child_path(path, "selector")));
    }
    errs.extend(validate_access_modes(modes, &child_path(path, "accessModes")));
    let storage_path = key_path(&child_path(path, "resources"), "storage");
    match spec.resources.as_ref().and_then(|r| r.requests.as_ref()).and_then(|r| r.get("storage")) {
        None => errs.push(FieldError::required(&storage_path, "")),
        Some(value) => {
            if let Some(q) = parse_quantity(value, &storage_path, &mut errs)
                && q.sign() <= 0
            {
                errs.push(FieldError::invalid(&storage_path, q.to_canonical_string(), "must be greater than zero"));
            }
        }
    }
    if let Some(class) = spec.storage_class_name.as_deref().filter(|c| !c.is_empty()) {
        for msg in is_dns1123_subdomain(class) {
            errs.push(FieldError::invalid(child_path(path, "storageClassName"), class, msg));
        }
    }
    if let Some(mode) = &spec.volume_mode
        && !VOLUME_MODES.contains(&mode.as_str())
    {
        errs.push(FieldError::not_supported(child_path(path, "volumeMode"), mode, &VOLUME_MODES));
    }
    for (field, source) in [
        ("dataSource", spec.data_source.as_ref().map(|d| (&d.name, &d.kind, d.api_group.as_deref()))),
        ("dataSourceRef", spec.data_source_ref.as_ref().map(|d| (&d.name, &d.kind, d.api_group.as_deref()))),
    ] {
        let Some((name, kind, api_group)) = source else {
            continue;
        };
        let p = child_path(path, field);
        errs.extend(required(name, &child_path(&p, "name")));
        errs.extend(required(kind, &child_path(&p, "kind")));
        let group = api_group.unwrap_or("");
        if group.is_empty() && kind != "PersistentVolumeClaim" {
            errs.push(FieldError::invalid(
                &p,
                kind,
                "must be 'PersistentVolumeClaim' when referencing the default apiGroup",
            ));
        }
        if !group.is_empty() {
            for msg in is_dns1123_subdomain(group) {
                errs.push(FieldError::invalid(child_path(&p, "apiGroup"), group, msg));
            }
        }
    }
    errs
}
