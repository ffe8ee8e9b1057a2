//! Pods and pod templates: create, update and status rules (upstream
//! `ValidatePodCreate`, `ValidatePodUpdate`, `ValidatePodStatusUpdate`,
//! `ValidatePodTemplate`, `ValidatePodTemplateSpec`).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod, PodSpec, PodTemplate, PodTemplateSpec};
use serde_json::Value;

use super::containers::validate_container_only_for_pod;
use super::formats::{inclusive_range_error, validate_ip};
use super::meta::{validate_meta_create, validate_meta_update};
use super::pod_spec::{
    APPARMOR_CONTAINER_PREFIX, MIRROR_POD_ANNOTATION, SpecOwner, validate_pod_annotations, validate_pod_spec,
};
use super::scheduling::validate_tolerations;
use super::{opt_str, render};
use crate::validation::{
    ErrorList, FieldError, NameRule, child_path, index_path, is_dns1123_subdomain, is_qualified_name, key_path,
    validate_annotations, validate_labels,
};

/// The fields a pod update may change, as upstream lists them in its error.
const UPDATABLE_POD_FIELDS: &str = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// `ValidatePodCreate`.
pub(crate) fn validate_pod_create(pod: &Pod) -> ErrorList {
    let spec = pod.spec.clone().unwrap_or_default();
    let mut errs = validate_pod_metadata_and_spec(pod, &spec);
    if spec.ephemeral_containers.as_ref().is_some_and(|e| !e.is_empty()) {
        errs.push(FieldError::forbidden("spec.ephemeralContainers", "cannot be set on create"));
    }
    if !opt_str(&spec.node_name).is_empty() && spec.scheduling_gates.as_ref().is_some_and(|g| !g.is_empty()) {
        errs.push(FieldError::forbidden("spec.nodeName", "cannot be set until all schedulingGates have been cleared"));
    }
    errs
}

/// `validatePodMetadataAndSpec`.
fn validate_pod_metadata_and_spec(pod: &Pod, spec: &PodSpec) -> ErrorList {
    let meta = &pod.metadata;
    let mut errs = validate_meta_create(meta, true, NameRule::Dns1123Subdomain, true);
    errs.extend(validate_pod_annotations(meta.annotations.as_ref(), spec, "metadata.annotations"));
    errs.extend(validate_pod_spec(spec, meta.name.as_deref(), SpecOwner::Pod, "spec"));
    if opt_str(&spec.service_account_name).is_empty() {
        for (i, volume) in spec.volumes.iter().flatten().enumerate() {
            let Some(projected) = &volume.projected else {
                continue;
            };
            let sources_path = format!("spec.volumes[{i}].projected.sources");
            for (j, source) in projected.sources.iter().flatten().enumerate() {
                if source.service_account_token.is_some() {
                    errs.push(FieldError::forbidden(
                        format!("{sources_path}[{j}].serviceAccountToken"),
                        "must not be specified when serviceAccountName is not set",
                    ));
                }
            }
        }
    }
    for (field, containers) in
        [("containers", &spec.containers[..]), ("initContainers", spec.init_containers.as_deref().unwrap_or_default())]
    {
        for (i, container) in containers.iter().enumerate() {
            errs.extend(validate_container_only_for_pod(container, &index_path(&child_path("spec", field), i)));
        }
    }
    errs
}

/// `ValidatePodUpdate`: only images, `activeDeadlineSeconds` (shortened),
/// toleration additions, scheduling gate removals and a negative grace period
/// raised to 1 may change in the spec.
pub(crate) fn validate_pod_update(new: &Pod, old: &Pod) -> ErrorList {
    let new_spec = new.spec.clone().unwrap_or_default();
    let old_spec = old.spec.clone().unwrap_or_default();
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    errs.extend(validate_pod_metadata_and_spec(new, &new_spec));
    errs.extend(validate_annotation_updates(new, old));
    for (field, new_containers, old_containers) in [
        ("containers", &new_spec.containers[..], &old_spec.containers[..]),
        (
            "initContainers",
            new_spec.init_containers.as_deref().unwrap_or_default(),
            old_spec.init_containers.as_deref().unwrap_or_default(),
        ),
    ] {
        let path = child_path("spec", field);
        if new_containers.len() != old_containers.len() {
            errs.push(FieldError::forbidden(path, "pod updates may not add or remove containers"));
            return errs;
        }
        for (i, container) in new_containers.iter().enumerate() {
            let image = opt_str(&container.image);
            if image.is_empty() {
                errs.push(FieldError::required(child_path(&index_path(&path, i), "image"), ""));
            }
            if image.trim().len() != image.len() {
                errs.push(FieldError::invalid(
                    child_path(&index_path(&path, i), "image"),
                    image,
                    "must not have leading or trailing whitespace",
                ));
            }
        }
    }
    match (new_spec.active_deadline_seconds, old_spec.active_deadline_seconds) {
        (Some(deadline), old_deadline) => {
            if !(0..=i64::from(i32::MAX)).contains(&deadline) {
                errs.push(FieldError::invalid(
                    "spec.activeDeadlineSeconds",
                    deadline,
                    inclusive_range_error(0, i64::from(i32::MAX)),
                ));
                return errs;
            }
            if old_deadline.is_some_and(|old| old < deadline) {
                errs.push(FieldError::invalid(
                    "spec.activeDeadlineSeconds",
                    deadline,
                    "must be less than or equal to previous value",
                ));
                return errs;
            }
        }
        (None, Some(_)) => {
            errs.push(FieldError::invalid(
                "spec.activeDeadlineSeconds",
                render::Raw("null".into()),
                "must not update from a positive integer to nil value",
            ));
        }
        (None, None) => {}
    }
    errs.extend(validate_only_added_tolerations(&new_spec, &old_spec));
    let old_gates: BTreeSet<&str> = old_spec.scheduling_gates.iter().flatten().map(|g| g.name.as_str()).collect();
    let mut added: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, gate) in new_spec.scheduling_gates.iter().flatten().enumerate() {
        if !old_gates.contains(gate.name.as_str()) {
            added.insert(&gate.name, i);
        }
    }
    for (gate, i) in added {
        errs.push(FieldError::forbidden(
            format!("spec.schedulingGates[{i}].name"),
            format!("only deletion is allowed, but found new scheduling gate '{gate}'"),
        ));
    }
    let new_value = serde_json::to_value(&new_spec).unwrap_or(Value::Null);
    let old_value = serde_json::to_value(&old_spec).unwrap_or(Value::Null);
    if new_value == old_value {
        return errs;
    }
    let old_qos = old
        .status
        .as_ref()
        .and_then(|s| s.qos_class.clone())
        .filter(|q| !q.is_empty())
        .unwrap_or_else(|| qos_class(&old_spec));
    if old_qos != qos_class(&new_spec) {
        let new_qos = new.status.as_ref().and_then(|s| s.qos_class.clone()).unwrap_or_default();
        errs.push(FieldError::invalid("metadata", new_qos, "Pod QoS is immutable"));
    }
    let munged = munge_updatable_fields(new_value, &old_value, &old_spec);
    if munged != old_value {
        errs.push(FieldError::forbidden(
            "spec",
            format!(
                "pod updates may not change fields other than {UPDATABLE_POD_FIELDS}\n{}",
                spec_diff(&old_value, &munged)
            ),
        ));
    }
    errs
}

/// The new spec with every field a pod update may change reset to the old value.
fn munge_updatable_fields(mut new: Value, old: &Value, old_spec: &PodSpec) -> Value {
    let Some(spec) = new.as_object_mut() else {
        return new;
    };
    for field in ["containers", "initContainers"] {
        let old_images: Vec<Value> = old
            .get(field)
            .and_then(Value::as_array)
            .map(|list| list.iter().map(|c| c.get("image").cloned().unwrap_or(Value::Null)).collect())
            .unwrap_or_default();
        if let Some(list) = spec.get_mut(field).and_then(Value::as_array_mut) {
            for (container, image) in list.iter_mut().zip(old_images) {
                if let Some(container) = container.as_object_mut() {
                    match image {
                        Value::Null => container.remove("image"),
                        image => container.insert("image".into(), image),
                    };
                }
            }
        }
    }
    for field in ["activeDeadlineSeconds", "schedulingGates", "tolerations"] {
        match old.get(field) {
            Some(value) => spec.insert(field.into(), value.clone()),
            None => spec.remove(field),
        };
    }
    let old_grace = old_spec.termination_grace_period_seconds;
    if old_grace.is_some_and(|g| g < 0) && spec.get("terminationGracePeriodSeconds").and_then(Value::as_i64) == Some(1)
    {
        spec.insert("terminationGracePeriodSeconds".into(), Value::from(old_grace));
    }
    // A gated pod may still gain node selection constraints.
    if old_spec.scheduling_gates.as_ref().is_some_and(|g| !g.is_empty()) {
        match old.get("nodeSelector") {
            Some(value) => spec.insert("nodeSelector".into(), value.clone()),
            None => spec.remove("nodeSelector"),
        };
        let old_node_affinity = old.get("affinity").and_then(|a| a.get("nodeAffinity")).cloned();
        if let Some(affinity) = spec.get_mut("affinity").and_then(Value::as_object_mut) {
            match old_node_affinity {
                Some(value) => affinity.insert("nodeAffinity".into(), value),
                None => affinity.remove("nodeAffinity"),
            };
            if affinity.is_empty() && old.get("affinity").is_none() {
                spec.remove("affinity");
            }
        } else if let Some(value) = old_node_affinity {
            spec.insert("affinity".into(), serde_json::json!({"nodeAffinity": value}));
        }
    }
    new
}

/// The changed top-level spec fields, one `-` and one `+` line each (upstream prints
/// a `cmp.Diff` of the Go structs here).
pub(crate) fn spec_diff(old: &Value, new: &Value) -> String {
    let empty = serde_json::Map::new();
    let old = old.as_object().unwrap_or(&empty);
    let new = new.as_object().unwrap_or(&empty);
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let mut out = String::from("  {\n");
    for key in keys {
        let (before, after) = (old.get(key), new.get(key));
        if before == after {
            continue;
        }
        if let Some(before) = before {
            out.push_str(&format!("- \t{key}: {before},\n"));
        }
        if let Some(after) = after {
            out.push_str(&format!("+ \t{key}: {after},\n"));
        }
    }
    out.push_str("  }\n");
    out
}

/// `validateOnlyAddedTolerations`: existing tolerations may only change their seconds.
fn validate_only_added_tolerations(new: &PodSpec, old: &PodSpec) -> ErrorList {
    let new_tolerations = new.tolerations.as_deref().unwrap_or_default();
    for old_toleration in old.tolerations.iter().flatten() {
        let kept = new_tolerations.iter().any(|t| {
            let mut candidate = old_toleration.clone();
            candidate.toleration_seconds = t.toleration_seconds;
            same_toleration(&candidate, t)
        });
        if !kept {
            return vec![FieldError::forbidden(
                "spec.tolerations",
                "existing toleration can not be modified except its tolerationSeconds",
            )];
        }
    }
    validate_tolerations(new_tolerations, "spec.tolerations")
}

fn same_toleration(a: &k8s_openapi::api::core::v1::Toleration, b: &k8s_openapi::api::core::v1::Toleration) -> bool {
    opt_str(&a.key) == opt_str(&b.key)
        && opt_str(&a.operator) == opt_str(&b.operator)
        && opt_str(&a.value) == opt_str(&b.value)
        && opt_str(&a.effect) == opt_str(&b.effect)
        && a.toleration_seconds == b.toleration_seconds
}

/// `ValidatePodSpecificAnnotationUpdates`: mirror and AppArmor annotations are fixed.
fn validate_annotation_updates(new: &Pod, old: &Pod) -> ErrorList {
    let mut errs = ErrorList::new();
    let empty = BTreeMap::new();
    let new_annotations = new.metadata.annotations.as_ref().unwrap_or(&empty);
    let old_annotations = old.metadata.annotations.as_ref().unwrap_or(&empty);
    let path = "metadata.annotations";
    for (key, old_value) in old_annotations {
        if new_annotations.get(key) == Some(old_value) {
            continue;
        }
        if key.starts_with(APPARMOR_CONTAINER_PREFIX) {
            errs.push(FieldError::forbidden(key_path(path, key), "may not remove or update AppArmor annotations"));
        }
        if key == MIRROR_POD_ANNOTATION {
            errs.push(FieldError::forbidden(key_path(path, key), "may not remove or update mirror pod annotation"));
        }
    }
    for key in new_annotations.keys() {
        if old_annotations.contains_key(key) {
            continue;
        }
        if key.starts_with(APPARMOR_CONTAINER_PREFIX) {
            errs.push(FieldError::forbidden(key_path(path, key), "may not add AppArmor annotations"));
        }
        if key == MIRROR_POD_ANNOTATION {
            errs.push(FieldError::forbidden(key_path(path, key), "may not add mirror pod annotation"));
        }
    }
    errs
}

/// The QoS class a spec computes to (upstream `qos.ComputePodQOS`, pod-level
/// resources aside): BestEffort without any cpu/memory amount, Guaranteed when
/// every container limits both and requests equal limits, Burstable otherwise.
fn qos_class(spec: &PodSpec) -> String {
    let containers: Vec<&Container> = spec.containers.iter().chain(spec.init_containers.iter().flatten()).collect();
    let mut any = false;
    let mut guaranteed = true;
    for container in &containers {
        let resources = container.resources.as_ref();
        let limits = resources.and_then(|r| r.limits.as_ref());
        let requests = resources.and_then(|r| r.requests.as_ref());
        for name in ["cpu", "memory"] {
            let limit = limits.and_then(|l| l.get(name)).and_then(|q| crate::Quantity::parse(q.0.trim()).ok());
            let request = requests.and_then(|r| r.get(name)).and_then(|q| crate::Quantity::parse(q.0.trim()).ok());
            if limit.as_ref().is_some_and(|q| !q.is_zero()) || request.as_ref().is_some_and(|q| !q.is_zero()) {
                any = true;
            }
            match (limit, request) {
                (Some(limit), Some(request)) if limit == request && !limit.is_zero() => {}
                (Some(limit), None) if !limit.is_zero() => {}
                _ => guaranteed = false,
            }
        }
    }
    if !any {
        "BestEffort".into()
    } else if guaranteed {
        "Guaranteed".into()
    } else {
        "Burstable".into()
    }
}

/// `ValidatePodStatusUpdate`.
pub(crate) fn validate_pod_status_update(new: &Pod, old: &Pod) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    errs.extend(validate_annotation_updates(new, old));
    let new_spec = new.spec.clone().unwrap_or_default();
    let old_spec = old.spec.clone().unwrap_or_default();
    errs.extend(validate_pod_annotations(new.metadata.annotations.as_ref(), &new_spec, "metadata.annotations"));
    let status = new.status.clone().unwrap_or_default();
    let old_status = old.status.clone().unwrap_or_default();
    for (i, condition) in status.conditions.iter().flatten().enumerate() {
        if matches!(condition.type_.as_str(), "PodScheduled" | "Ready" | "Initialized") {
            continue;
        }
        for msg in is_qualified_name(&condition.type_) {
            errs.push(FieldError::invalid(format!("metadata.conditions[{i}].Type"), &condition.type_, msg));
        }
    }
    if opt_str(&new_spec.node_name) != opt_str(&old_spec.node_name) {
        errs.push(FieldError::forbidden("status.nodeName", "may not be changed directly"));
    }
    let nominated = opt_str(&status.nominated_node_name);
    if nominated != opt_str(&old_status.nominated_node_name) && !nominated.is_empty() {
        for msg in is_dns1123_subdomain(nominated) {
            errs.push(FieldError::invalid("status.nominatedNodeName", nominated, msg));
        }
    }
    let restart_policy = opt_str(&old_spec.restart_policy);
    errs.extend(container_state_transitions(
        status.container_statuses.as_deref().unwrap_or_default(),
        old_status.container_statuses.as_deref().unwrap_or_default(),
        "status.containerStatuses",
        restart_policy,
        &[],
    ));
    let sidecars: Vec<&str> = old_spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| c.restart_policy.as_deref() == Some("Always"))
        .map(|c| c.name.as_str())
        .collect();
    errs.extend(container_state_transitions(
        status.init_container_statuses.as_deref().unwrap_or_default(),
        old_status.init_container_statuses.as_deref().unwrap_or_default(),
        "status.initContainerStatuses",
        restart_policy,
        &sidecars,
    ));
    errs.extend(container_state_transitions(
        status.ephemeral_container_statuses.as_deref().unwrap_or_default(),
        old_status.ephemeral_container_statuses.as_deref().unwrap_or_default(),
        "status.ephemeralContainerStatuses",
        "Never",
        &[],
    ));
    for (field, ips) in [
        ("podIPs", status.pod_ips.iter().flatten().map(|p| p.ip.clone()).collect::<Vec<_>>()),
        ("hostIPs", status.host_ips.iter().flatten().map(|p| p.ip.clone()).collect::<Vec<_>>()),
    ] {
        let path = child_path("status", field);
        if field == "hostIPs"
            && let Some(first) = ips.first()
            && opt_str(&status.host_ip) != first
        {
            errs.push(FieldError::invalid(format!("{path}[0].ip"), first, "must be equal to `hostIP`"));
        }
        for (i, ip) in ips.iter().enumerate() {
            errs.extend(validate_ip(&index_path(&path, i), ip));
        }
        if ips.len() > 1 {
            let families: BTreeSet<bool> =
                ips.iter().filter_map(|ip| super::formats::parse_ip_sloppy(ip)).map(|ip| ip.is_v6()).collect();
            if families.len() != 2 || ips.len() > 2 {
                errs.push(FieldError::invalid(
                    &path,
                    render::json(&ips),
                    "may specify no more than one IP for each IP family",
                ));
            }
            let mut seen = BTreeSet::new();
            for (i, ip) in ips.iter().enumerate() {
                if !seen.insert(ip.as_str()) {
                    errs.push(FieldError::duplicate(
                        index_path(&path, i),
                        render::json(&serde_json::json!({"ip": ip})),
                    ));
                }
            }
        }
    }
    errs
}

/// `ValidateContainerStateTransition`: without restarts, a terminated container
/// stays terminated (restartable init containers excepted).
fn container_state_transitions(
    new: &[ContainerStatus],
    old: &[ContainerStatus],
    path: &str,
    restart_policy: &str,
    restartable: &[&str],
) -> ErrorList {
    let mut errs = ErrorList::new();
    if restart_policy == "Always" {
        return errs;
    }
    for (i, old_status) in old.iter().enumerate() {
        let Some(terminated) = old_status.state.as_ref().and_then(|s| s.terminated.as_ref()) else {
            continue;
        };
        if terminated.exit_code != 0 && restart_policy == "OnFailure" {
            continue;
        }
        if restartable.contains(&old_status.name.as_str()) {
            continue;
        }
        for new_status in new {
            if new_status.name == old_status.name
                && new_status.state.as_ref().and_then(|s| s.terminated.as_ref()).is_none()
            {
                errs.push(FieldError::forbidden(
                    child_path(&index_path(path, i), "state"),
                    "may not be transitioned to non-terminated state",
                ));
            }
        }
    }
    errs
}

/// `ValidatePodTemplate` on create.
pub(crate) fn validate_pod_template_create(template: &PodTemplate) -> ErrorList {
    let mut errs = validate_meta_create(&template.metadata, true, NameRule::Dns1123Subdomain, true);
    errs.extend(validate_pod_template_spec(template.template.as_ref(), "template"));
    errs
}

/// `ValidatePodTemplateUpdate`.
pub(crate) fn validate_pod_template_update(new: &PodTemplate, old: &PodTemplate) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    errs.extend(validate_pod_template_spec(new.template.as_ref(), "template"));
    errs
}

/// `ValidatePodTemplateSpec`: metadata labels and annotations, the PodSpec, and no
/// ephemeral containers.
pub(crate) fn validate_pod_template_spec(template: Option<&PodTemplateSpec>, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let meta = template.and_then(|t| t.metadata.clone()).unwrap_or_default();
    let spec = template.and_then(|t| t.spec.clone()).unwrap_or_default();
    if let Some(labels) = &meta.labels {
        errs.extend(validate_labels(labels, &child_path(path, "labels")));
    }
    if let Some(annotations) = &meta.annotations {
        errs.extend(validate_annotations(annotations, &child_path(path, "annotations")));
    }
    errs.extend(validate_pod_annotations(meta.annotations.as_ref(), &spec, &child_path(path, "annotations")));
    let spec_path = child_path(path, "spec");
    errs.extend(validate_pod_spec(&spec, None, SpecOwner::Template, &spec_path));
    if spec.ephemeral_containers.as_ref().is_some_and(|e| !e.is_empty()) {
        errs.push(FieldError::forbidden(
            child_path(&spec_path, "ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
    errs
}
