//! Metadata and selector rules shared by every kind: `ObjectMeta` on create and
//! update (upstream `ValidateObjectMetaAccessorUpdate` and core's finalizer-name
//! check), label selectors (`ValidateLabelSelector`), and the small field helpers
//! (`ValidateNonnegativeField`, `ValidateImmutableField`).

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::render;
use crate::validation::{
    BadValue, ErrorList, FieldError, NameRule, child_path, index_path, is_valid_label_value, validate_annotations,
    validate_label_name, validate_labels, validate_managed_fields, validate_object_meta, validate_owner_references,
};

/// Upstream `FieldImmutableErrorMsg`.
pub(crate) const FIELD_IMMUTABLE: &str = "field is immutable";
/// Upstream `IsNegativeErrorMsg`.
pub(crate) const IS_NEGATIVE: &str = "must be greater than or equal to 0";

/// Finalizer names core treats as standard without a domain prefix.
const STANDARD_FINALIZERS: &[&str] = &["kubernetes", "orphan", "foregroundDeletion"];

/// `ValidateObjectMeta` of the kind's group; `kube_finalizers` adds core's check that
/// unqualified finalizer names are standard ones (every built-in group but
/// coordination uses core's variant).
pub(crate) fn validate_meta_create(
    meta: &ObjectMeta,
    namespaced: bool,
    rule: NameRule,
    kube_finalizers: bool,
) -> ErrorList {
    let mut errs = validate_object_meta(meta, namespaced, rule);
    if kube_finalizers {
        errs.extend(kube_finalizer_names(meta));
    }
    errs
}

/// `ValidateObjectMetaUpdate`: resourceVersion given, generation not decremented,
/// identity and timestamps unchanged, no finalizer added while deleting, and the
/// labels, annotations, owners and managed fields well formed.
///
/// The resourceVersion check assumes the caller filled in the stored version for
/// unconditional updates, as upstream's store does before validating.
pub(crate) fn validate_meta_update(new: &ObjectMeta, old: &ObjectMeta, kube_finalizers: bool) -> ErrorList {
    let path = "metadata";
    let mut errs = ErrorList::new();
    let new_finalizers = new.finalizers.as_deref().unwrap_or_default();
    if old.deletion_timestamp.is_some() {
        let old_finalizers: BTreeSet<&String> = old.finalizers.iter().flatten().collect();
        let extra: BTreeSet<&String> = new_finalizers.iter().filter(|f| !old_finalizers.contains(f)).collect();
        if !extra.is_empty() {
            let extra: Vec<String> = extra.into_iter().cloned().collect();
            errs.push(FieldError::forbidden(
                child_path(path, "finalizers"),
                format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers {}",
                    extra.render()
                ),
            ));
        }
    }
    let resource_version = new.resource_version.as_deref().unwrap_or("");
    if resource_version.is_empty() {
        errs.push(FieldError::invalid(
            child_path(path, "resourceVersion"),
            resource_version,
            "must be specified for an update",
        ));
    }
    let (new_generation, old_generation) = (new.generation.unwrap_or(0), old.generation.unwrap_or(0));
    if new_generation < old_generation {
        errs.push(FieldError::invalid(child_path(path, "generation"), new_generation, "must not be decremented"));
    }
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    for (field, new_value, old_value) in [
        ("name", text(&new.name), text(&old.name)),
        ("namespace", text(&new.namespace), text(&old.namespace)),
        ("uid", text(&new.uid), text(&old.uid)),
    ] {
        if new_value != old_value {
            errs.push(immutable(child_path(path, field), new_value));
        }
    }
    if new.creation_timestamp != old.creation_timestamp {
        errs.push(immutable(child_path(path, "creationTimestamp"), render::time(new.creation_timestamp.as_ref())));
    }
    if new.deletion_timestamp != old.deletion_timestamp {
        errs.push(immutable(child_path(path, "deletionTimestamp"), render::time_ptr(new.deletion_timestamp.as_ref())));
    }
    if new.deletion_grace_period_seconds != old.deletion_grace_period_seconds {
        errs.push(immutable(
            child_path(path, "deletionGracePeriodSeconds"),
            render::ptr(new.deletion_grace_period_seconds),
        ));
    }
    if let Some(labels) = &new.labels {
        errs.extend(validate_labels(labels, &child_path(path, "labels")));
    }
    if let Some(annotations) = &new.annotations {
        errs.extend(validate_annotations(annotations, &child_path(path, "annotations")));
    }
    if let Some(owners) = &new.owner_references {
        errs.extend(validate_owner_references(owners, &child_path(path, "ownerReferences")));
    }
    if let Some(managed) = &new.managed_fields {
        errs.extend(validate_managed_fields(managed, &child_path(path, "managedFields")));
    }
    if kube_finalizers {
        errs.extend(kube_finalizer_names(new));
    }
    errs
}

/// Core's `validateKubeFinalizerName` on each of `metadata.finalizers`.
fn kube_finalizer_names(meta: &ObjectMeta) -> ErrorList {
    let path = child_path("metadata", "finalizers");
    meta.finalizers
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, f)| validate_kube_finalizer_name(f, &index_path(&path, i)))
        .collect()
}

/// An unqualified finalizer name must be one of the standard ones.
pub(crate) fn validate_kube_finalizer_name(name: &str, path: &str) -> Option<FieldError> {
    (!name.contains('/') && !STANDARD_FINALIZERS.contains(&name))
        .then(|| FieldError::invalid(path, name, "name is neither a standard finalizer name nor is it fully qualified"))
}

/// `ValidateImmutableField`'s error: the new value and "field is immutable".
pub(crate) fn immutable(path: impl Into<String>, new_value: impl BadValue) -> FieldError {
    FieldError::invalid(path, new_value, FIELD_IMMUTABLE)
}

/// `ValidateNonnegativeField`.
pub(crate) fn nonnegative(value: i64, path: impl Into<String>) -> Option<FieldError> {
    (value < 0).then(|| FieldError::invalid(path, value, IS_NEGATIVE))
}

/// Pushes `nonnegative` for an optional value.
pub(crate) fn nonnegative_opt(errs: &mut ErrorList, value: Option<impl Into<i64>>, path: &str) {
    if let Some(e) = value.and_then(|v| nonnegative(v.into(), path)) {
        errs.push(e);
    }
}

/// `ValidateLabelSelector` (label values checked strictly).
pub(crate) fn validate_label_selector(selector: Option<&LabelSelector>, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(selector) = selector else {
        return errs;
    };
    if let Some(labels) = &selector.match_labels {
        errs.extend(validate_labels(labels, &child_path(path, "matchLabels")));
    }
    let expressions_path = child_path(path, "matchExpressions");
    for (i, requirement) in selector.match_expressions.iter().flatten().enumerate() {
        let req_path = index_path(&expressions_path, i);
        let values = requirement.values.as_deref().unwrap_or_default();
        match requirement.operator.as_str() {
            "In" | "NotIn" => {
                if values.is_empty() {
                    errs.push(FieldError::required(
                        child_path(&req_path, "values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    ));
                }
            }
            "Exists" | "DoesNotExist" => {
                if !values.is_empty() {
                    errs.push(FieldError::forbidden(
                        child_path(&req_path, "values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ));
                }
            }
            operator => errs.push(FieldError::invalid(
                child_path(&req_path, "operator"),
                operator,
                "not a valid selector operator",
            )),
        }
        errs.extend(validate_label_name(&requirement.key, &child_path(&req_path, "key")));
        let values_path = child_path(&req_path, "values");
        for (j, value) in values.iter().enumerate() {
            for msg in is_valid_label_value(value) {
                errs.push(FieldError::invalid(index_path(&values_path, j), value, msg));
            }
        }
    }
    errs
}

/// Whether a selector has no requirement at all (`len(matchLabels)+len(matchExpressions) == 0`).
pub(crate) fn selector_is_empty(selector: &LabelSelector) -> bool {
    selector.match_labels.as_ref().is_none_or(|m| m.is_empty())
        && selector.match_expressions.as_ref().is_none_or(|e| e.is_empty())
}
