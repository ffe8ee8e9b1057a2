//! Validation of built-in kinds as kube-apiserver's strategies run it on create,
//! update and `/status` writes.
//!
//! Follows upstream's `pkg/apis/<group>/validation` for Kubernetes 1.33 with its
//! default feature gates; messages are upstream's, field paths are the v1 JSON
//! paths upstream prints. Objects arrive as the JSON the apiserver stores (after
//! [`crate::defaulting`]) and are decoded into `k8s-openapi` types here.
//!
//! Every kind in [`crate::registry`] that is stored gets `ObjectMeta` validation
//! with its name rule and scope; the kinds with their own rules are listed in
//! [`validate_create`]. Kinds outside the registry (custom resources) and the
//! create-only virtual kinds (reviews, bindings) yield no errors here.
//!
//! Where upstream prints a Go value with `%#v` that this crate does not model (whole
//! structs such as a pod template), the value is shown as JSON instead; see
//! [`render`] for the values that are reproduced exactly. Errors over Go maps come
//! in key order, where upstream's order is random.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use k8s_openapi::api::rbac::v1 as rbac;
use k8s_openapi::api::scheduling::v1 as scheduling_v1;
use k8s_openapi::api::{apps::v1 as apps, batch::v1 as batch, coordination::v1 as coordination, core::v1 as core};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::registry::{self, ResourceInfo};
use crate::validation::{ErrorList, FieldError, NameRule};

mod cluster;
mod config;
mod containers;
mod cron;
mod cron_jobs;
mod formats;
mod jobs;
mod meta;
mod persistent_volumes;
mod pod;
mod pod_spec;
mod probes;
mod rbac_rules;
mod render;
mod resources;
mod scheduling;
mod security_context;
mod service;
mod volumes;
mod workloads;

#[cfg(test)]
mod tests;

/// Validates an object being created (upstream `strategy.Validate`): metadata with
/// the kind's name rule and scope, then the kind's own rules.
///
/// Covered beyond metadata: Pod, PodTemplate, ReplicationController, Service,
/// Endpoints, ConfigMap, Secret, ServiceAccount, Namespace, Node,
/// PersistentVolume, PersistentVolumeClaim, LimitRange, ResourceQuota, Deployment,
/// ReplicaSet, DaemonSet, StatefulSet, ControllerRevision, Job, CronJob, Lease,
/// Role, ClusterRole, RoleBinding, ClusterRoleBinding, PriorityClass.
pub fn validate_create(group: &str, kind: &str, obj: &Value) -> ErrorList {
    let Some(info) = stored_resource(group, kind) else {
        return ErrorList::new();
    };
    match (group, kind) {
        ("", "Pod") => create::<core::Pod>(kind, obj, pod::validate_pod_create),
        ("", "PodTemplate") => create::<core::PodTemplate>(kind, obj, pod::validate_pod_template_create),
        ("", "ReplicationController") => {
            create::<core::ReplicationController>(kind, obj, workloads::validate_replication_controller_create)
        }
        ("", "Service") => create::<core::Service>(kind, obj, service::validate_service_create),
        ("", "Endpoints") => create::<core::Endpoints>(kind, obj, service::validate_endpoints_create),
        ("", "ConfigMap") => create::<core::ConfigMap>(kind, obj, config::validate_config_map_create),
        ("", "Secret") => create::<core::Secret>(kind, obj, config::validate_secret_create),
        ("", "Namespace") => create::<core::Namespace>(kind, obj, cluster::validate_namespace_create),
        ("", "Node") => create::<core::Node>(kind, obj, cluster::validate_node_create),
        ("", "PersistentVolume") => {
            create::<core::PersistentVolume>(kind, obj, persistent_volumes::validate_persistent_volume_create)
        }
        ("", "PersistentVolumeClaim") => {
            create::<core::PersistentVolumeClaim>(kind, obj, persistent_volumes::validate_claim_create)
        }
        ("", "LimitRange") => create::<core::LimitRange>(kind, obj, cluster::validate_limit_range_create),
        ("", "ResourceQuota") => create::<core::ResourceQuota>(kind, obj, cluster::validate_resource_quota_create),
        ("apps", "Deployment") => {
            create::<apps::Deployment>(kind, obj, |o| workloads::validate_deployment_create(o, selector_given(obj)))
        }
        ("apps", "ReplicaSet") => {
            create::<apps::ReplicaSet>(kind, obj, |o| workloads::validate_replica_set_create(o, selector_given(obj)))
        }
        ("apps", "DaemonSet") => {
            create::<apps::DaemonSet>(kind, obj, |o| workloads::validate_daemon_set_create(o, selector_given(obj)))
        }
        ("apps", "StatefulSet") => {
            create::<apps::StatefulSet>(kind, obj, |o| workloads::validate_stateful_set_create(o, selector_given(obj)))
        }
        ("apps", "ControllerRevision") => {
            create::<apps::ControllerRevision>(kind, obj, workloads::validate_controller_revision_create)
        }
        ("batch", "Job") => create::<batch::Job>(kind, obj, jobs::validate_job_create),
        ("batch", "CronJob") => create::<batch::CronJob>(kind, obj, cron_jobs::validate_cron_job_create),
        ("coordination.k8s.io", "Lease") => create::<coordination::Lease>(kind, obj, cluster::validate_lease_create),
        ("rbac.authorization.k8s.io", "Role") => create::<rbac::Role>(kind, obj, rbac_rules::validate_role_create),
        ("rbac.authorization.k8s.io", "ClusterRole") => {
            create::<rbac::ClusterRole>(kind, obj, rbac_rules::validate_cluster_role_create)
        }
        ("rbac.authorization.k8s.io", "RoleBinding") => {
            create::<rbac::RoleBinding>(kind, obj, rbac_rules::validate_role_binding_create)
        }
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => {
            create::<rbac::ClusterRoleBinding>(kind, obj, rbac_rules::validate_cluster_role_binding_create)
        }
        ("scheduling.k8s.io", "PriorityClass") => {
            create::<scheduling_v1::PriorityClass>(kind, obj, cluster::validate_priority_class_create)
        }
        ("", "ServiceAccount") => create::<core::ServiceAccount>(kind, obj, config::validate_service_account_create),
        _ => generic_create(info, obj),
    }
}

/// Validates an update of `old` to `new` (upstream `strategy.ValidateUpdate`): the
/// metadata update rules (resourceVersion present, identity and timestamps
/// unchanged), the kind's rules on `new`, and its immutable fields.
pub fn validate_update(group: &str, kind: &str, new: &Value, old: &Value) -> ErrorList {
    let Some(info) = stored_resource(group, kind) else {
        return ErrorList::new();
    };
    match (group, kind) {
        ("", "Pod") => update::<core::Pod>(kind, new, old, pod::validate_pod_update),
        ("", "PodTemplate") => update::<core::PodTemplate>(kind, new, old, pod::validate_pod_template_update),
        ("", "ReplicationController") => {
            update::<core::ReplicationController>(kind, new, old, workloads::validate_replication_controller_update)
        }
        ("", "Service") => update::<core::Service>(kind, new, old, service::validate_service_update),
        ("", "Endpoints") => update::<core::Endpoints>(kind, new, old, service::validate_endpoints_update),
        ("", "ConfigMap") => update::<core::ConfigMap>(kind, new, old, config::validate_config_map_update),
        ("", "Secret") => update::<core::Secret>(kind, new, old, config::validate_secret_update),
        ("", "Namespace") => update::<core::Namespace>(kind, new, old, cluster::validate_namespace_update),
        ("", "Node") => update::<core::Node>(kind, new, old, cluster::validate_node_update),
        ("", "PersistentVolume") => {
            update::<core::PersistentVolume>(kind, new, old, persistent_volumes::validate_persistent_volume_update)
        }
        ("", "PersistentVolumeClaim") => {
            update::<core::PersistentVolumeClaim>(kind, new, old, persistent_volumes::validate_claim_update)
        }
        ("", "LimitRange") => update::<core::LimitRange>(kind, new, old, cluster::validate_limit_range_update),
        ("", "ResourceQuota") => update::<core::ResourceQuota>(kind, new, old, cluster::validate_resource_quota_update),
        ("apps", "Deployment") => update::<apps::Deployment>(kind, new, old, |n, o| {
            workloads::validate_deployment_update(n, o, selector_given(new))
        }),
        ("apps", "ReplicaSet") => update::<apps::ReplicaSet>(kind, new, old, |n, o| {
            workloads::validate_replica_set_update(n, o, selector_given(new))
        }),
        ("apps", "DaemonSet") => update::<apps::DaemonSet>(kind, new, old, |n, o| {
            workloads::validate_daemon_set_update(n, o, selector_given(new))
        }),
        ("apps", "StatefulSet") => update::<apps::StatefulSet>(kind, new, old, |n, o| {
            workloads::validate_stateful_set_update(n, o, selector_given(new))
        }),
        ("apps", "ControllerRevision") => {
            update::<apps::ControllerRevision>(kind, new, old, workloads::validate_controller_revision_update)
        }
        ("batch", "Job") => update::<batch::Job>(kind, new, old, jobs::validate_job_update),
        ("batch", "CronJob") => update::<batch::CronJob>(kind, new, old, cron_jobs::validate_cron_job_update),
        ("coordination.k8s.io", "Lease") => {
            update::<coordination::Lease>(kind, new, old, cluster::validate_lease_update)
        }
        ("rbac.authorization.k8s.io", "Role") => update::<rbac::Role>(kind, new, old, rbac_rules::validate_role_update),
        ("rbac.authorization.k8s.io", "ClusterRole") => {
            update::<rbac::ClusterRole>(kind, new, old, rbac_rules::validate_cluster_role_update)
        }
        ("rbac.authorization.k8s.io", "RoleBinding") => {
            update::<rbac::RoleBinding>(kind, new, old, rbac_rules::validate_role_binding_update)
        }
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => {
            update::<rbac::ClusterRoleBinding>(kind, new, old, rbac_rules::validate_cluster_role_binding_update)
        }
        ("scheduling.k8s.io", "PriorityClass") => {
            update::<scheduling_v1::PriorityClass>(kind, new, old, cluster::validate_priority_class_update)
        }
        ("", "ServiceAccount") => {
            update::<core::ServiceAccount>(kind, new, old, config::validate_service_account_update)
        }
        _ => generic_update(info, new, old),
    }
}

/// Validates a `/status` write (upstream `statusStrategy.ValidateUpdate`). The
/// caller has already reset everything but status (and metadata where upstream
/// lets it through) to `old`; this checks the metadata update rules and the shape
/// of the new status.
pub fn validate_status_update(group: &str, kind: &str, new: &Value, old: &Value) -> ErrorList {
    let Some(info) = stored_resource(group, kind) else {
        return ErrorList::new();
    };
    match (group, kind) {
        ("", "Pod") => update::<core::Pod>(kind, new, old, pod::validate_pod_status_update),
        ("", "ReplicationController") => update::<core::ReplicationController>(
            kind,
            new,
            old,
            workloads::validate_replication_controller_status_update,
        ),
        ("", "Service") => update::<core::Service>(kind, new, old, service::validate_service_status_update),
        ("", "Namespace") => update::<core::Namespace>(kind, new, old, cluster::validate_namespace_status_update),
        ("", "Node") => update::<core::Node>(kind, new, old, cluster::validate_node_update),
        ("", "PersistentVolumeClaim") => {
            let mut errs = generic_update_meta(info, new, old);
            errs.extend(update::<core::PersistentVolumeClaim>(
                kind,
                new,
                old,
                persistent_volumes::validate_claim_status,
            ));
            errs
        }
        ("", "PersistentVolume" | "ResourceQuota") => {
            let mut errs = generic_update_meta(info, new, old);
            // Upstream checks this explicitly as well, at the root.
            let version = new.get("metadata").and_then(|m| m.get("resourceVersion")).and_then(Value::as_str);
            if version.is_none_or(str::is_empty) {
                errs.push(FieldError::required("resourceVersion", ""));
            }
            errs
        }
        ("apps", "Deployment") => {
            update::<apps::Deployment>(kind, new, old, workloads::validate_deployment_status_update)
        }
        ("apps", "ReplicaSet") => {
            update::<apps::ReplicaSet>(kind, new, old, workloads::validate_replica_set_status_update)
        }
        ("apps", "DaemonSet") => {
            update::<apps::DaemonSet>(kind, new, old, workloads::validate_daemon_set_status_update)
        }
        ("apps", "StatefulSet") => {
            update::<apps::StatefulSet>(kind, new, old, workloads::validate_stateful_set_status_update)
        }
        ("batch", "Job") => update::<batch::Job>(kind, new, old, jobs::validate_job_status_update),
        ("batch", "CronJob") => generic_update_meta(info, new, old),
        _ => generic_update_meta(info, new, old),
    }
}

/// Metadata validation for a resource the registry does not know (a custom
/// resource), as upstream's custom resource strategy does with apimachinery's
/// `ValidateObjectMetaAccessor`: DNS-subdomain names, the resource's scope.
pub fn validate_metadata_create(info: &ResourceInfo, obj: &Value) -> ErrorList {
    match metadata_of(obj) {
        Ok(meta) => meta::validate_meta_create(&meta, info.namespaced, NameRule::Dns1123Subdomain, false),
        Err(errs) => errs,
    }
}

/// The update counterpart of [`validate_metadata_create`]: immutable metadata
/// plus the create-time rules on the new object.
pub fn validate_metadata_update(info: &ResourceInfo, new: &Value, old: &Value) -> ErrorList {
    let mut errs = match (metadata_of(new), metadata_of(old)) {
        (Ok(new), Ok(old)) => meta::validate_meta_update(&new, &old, false),
        (Err(errs), _) | (_, Err(errs)) => errs,
    };
    for e in validate_metadata_create(info, new) {
        if !errs.contains(&e) {
            errs.push(e);
        }
    }
    errs
}

/// The stored resource of `group`/`kind` in the registry (any version).
fn stored_resource(group: &str, kind: &str) -> Option<&'static ResourceInfo> {
    registry::all().iter().find(|r| r.group == group && r.kind == kind && r.storage_segment.is_some())
}

/// The rule a kind's `metadata.name` follows.
fn name_rule(group: &str, kind: &str) -> NameRule {
    match (group, kind) {
        ("", "Namespace") | ("apps", "StatefulSet") => NameRule::Dns1123Label,
        ("", "Service") => NameRule::Dns1035Label,
        ("rbac.authorization.k8s.io", _) => NameRule::PathSegment,
        _ => NameRule::Dns1123Subdomain,
    }
}

/// Whether the group validates metadata with core's variant, which also checks
/// that unqualified finalizer names are standard.
fn uses_core_object_meta(group: &str) -> bool {
    !matches!(group, "coordination.k8s.io" | "admissionregistration.k8s.io" | "apiextensions.k8s.io")
}

/// Decodes `obj` as `T`; a malformed body becomes a single root error (the
/// apiserver normally answers 400 before validating).
fn decode<T: DeserializeOwned>(kind: &str, obj: &Value) -> Result<T, ErrorList> {
    T::deserialize(obj)
        .map_err(|e| vec![FieldError::invalid_value_omitted("", format!("unable to decode {kind}: {e}"))])
}

fn create<T: DeserializeOwned>(kind: &str, obj: &Value, validate: impl FnOnce(&T) -> ErrorList) -> ErrorList {
    match decode::<T>(kind, obj) {
        Ok(t) => validate(&t),
        Err(errs) => errs,
    }
}

fn update<T: DeserializeOwned>(
    kind: &str,
    new: &Value,
    old: &Value,
    validate: impl FnOnce(&T, &T) -> ErrorList,
) -> ErrorList {
    match (decode::<T>(kind, new), decode::<T>(kind, old)) {
        (Ok(new), Ok(old)) => validate(&new, &old),
        (Err(errs), _) | (_, Err(errs)) => errs,
    }
}

/// Whether `spec.selector` is present: k8s-openapi decodes a missing required
/// selector as `{}`, where upstream tells a nil selector from an empty one.
fn selector_given(obj: &Value) -> bool {
    !matches!(obj.get("spec").and_then(|s| s.get("selector")), None | Some(Value::Null))
}

/// `metadata` of a JSON object, decoded leniently (absent or malformed is empty).
fn metadata_of(obj: &Value) -> Result<ObjectMeta, ErrorList> {
    match obj.get("metadata") {
        None | Some(Value::Null) => Ok(ObjectMeta::default()),
        Some(meta) => ObjectMeta::deserialize(meta).map_err(|e| {
            vec![FieldError::invalid_value_omitted("metadata", format!("unable to decode metadata: {e}"))]
        }),
    }
}

fn generic_create(info: &ResourceInfo, obj: &Value) -> ErrorList {
    match metadata_of(obj) {
        Ok(meta) => meta::validate_meta_create(
            &meta,
            info.namespaced,
            name_rule(info.group, info.kind),
            uses_core_object_meta(info.group),
        ),
        Err(errs) => errs,
    }
}

fn generic_update(info: &ResourceInfo, new: &Value, old: &Value) -> ErrorList {
    let mut errs = generic_update_meta(info, new, old);
    // Upstream revalidates the whole object on update; for metadata-only kinds that
    // adds the create-time checks of the new metadata (deduplicated).
    for e in generic_create(info, new) {
        if !errs.contains(&e) {
            errs.push(e);
        }
    }
    errs
}

fn generic_update_meta(info: &ResourceInfo, new: &Value, old: &Value) -> ErrorList {
    match (metadata_of(new), metadata_of(old)) {
        (Ok(new), Ok(old)) => meta::validate_meta_update(&new, &old, uses_core_object_meta(info.group)),
        (Err(errs), _) | (_, Err(errs)) => errs,
    }
}

/// A Go string field that k8s-openapi models as optional: `""` when absent.
fn opt_str(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("")
}

/// `field.Required(path, "")` when `value` is empty.
fn required(value: &str, path: &str) -> Option<FieldError> {
    value.is_empty().then(|| FieldError::required(path, ""))
}
