//! Replicated workloads: ReplicationController (core), Deployment, ReplicaSet,
//! DaemonSet, StatefulSet and ControllerRevision (upstream `apps/validation` and the
//! apps/v1 strategies' selector immutability).

use k8s_openapi::api::apps::v1::{
    ControllerRevision, DaemonSet, DaemonSetUpdateStrategy, Deployment, DeploymentStrategy, ReplicaSet, StatefulSet,
};
use k8s_openapi::api::core::v1::{PodTemplateSpec, ReplicationController};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as ApiLabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::formats::{is_valid_percent, percent_value};
use super::meta::{
    immutable, nonnegative, nonnegative_opt, selector_is_empty, validate_label_selector, validate_meta_create,
    validate_meta_update,
};
use super::pod::validate_pod_template_spec;
use super::pod_spec::validate_pod_annotations;
use super::{opt_str, render};
use crate::label_selector::LabelSelector;
use crate::validation::{ErrorList, FieldError, NameRule, validate_annotations, validate_labels};

const SELECTOR_MISMATCH: &str = "`selector` does not match template `labels`";

// ---------------------------------------------------------------------------
// ReplicationController
// ---------------------------------------------------------------------------

pub(crate) fn validate_replication_controller_create(rc: &ReplicationController) -> ErrorList {
    let mut errs = validate_meta_create(&rc.metadata, true, NameRule::Dns1123Subdomain, true);
    errs.extend(validate_rc_spec(rc));
    errs
}

pub(crate) fn validate_replication_controller_update(
    new: &ReplicationController,
    old: &ReplicationController,
) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    errs.extend(validate_rc_spec(new));
    errs
}

pub(crate) fn validate_replication_controller_status_update(
    new: &ReplicationController,
    old: &ReplicationController,
) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    let status = new.status.clone().unwrap_or_default();
    errs.extend(replica_counts(
        status.replicas,
        &[
            ("fullyLabeledReplicas", status.fully_labeled_replicas.unwrap_or(0)),
            ("readyReplicas", status.ready_replicas.unwrap_or(0)),
            ("availableReplicas", status.available_replicas.unwrap_or(0)),
        ],
        status.observed_generation,
        "cannot be greater than readyReplicas",
    ));
    errs
}

/// `ValidateReplicationControllerSpec`.
fn validate_rc_spec(rc: &ReplicationController) -> ErrorList {
    let mut errs = ErrorList::new();
    let spec = rc.spec.clone().unwrap_or_default();
    errs.extend(nonnegative(i64::from(spec.min_ready_seconds.unwrap_or(0)), "spec.minReadySeconds"));
    let selector = spec.selector.clone().unwrap_or_default();
    if selector.is_empty() {
        errs.push(FieldError::required("spec.selector", ""));
    }
    errs.extend(nonnegative(i64::from(spec.replicas.unwrap_or(0)), "spec.replicas"));
    let Some(template) = &spec.template else {
        errs.push(FieldError::required("spec.template", ""));
        return errs;
    };
    let labels = template.metadata.as_ref().and_then(|m| m.labels.as_ref());
    if !selector.is_empty() && !LabelSelector::from_match_labels(&selector).matches_opt(labels) {
        errs.push(FieldError::invalid("spec.template.metadata.labels", render::string_map(labels), SELECTOR_MISMATCH));
    }
    errs.extend(validate_template_rules(template, "ReplicationController", "spec.template"));
    errs
}

/// The pod template of an always-running controller: a valid template, restart
/// policy Always and no active deadline.
fn validate_template_rules(template: &PodTemplateSpec, controller: &str, path: &str) -> ErrorList {
    let mut errs = validate_pod_template_spec(Some(template), path);
    let spec = template.spec.clone().unwrap_or_default();
    let restart_policy = opt_str(&spec.restart_policy);
    if restart_policy != "Always" {
        errs.push(FieldError::not_supported(format!("{path}.spec.restartPolicy"), restart_policy, &["Always"]));
    }
    if spec.active_deadline_seconds.is_some() {
        errs.push(FieldError::forbidden(
            format!("{path}.spec.activeDeadlineSeconds"),
            format!("activeDeadlineSeconds in {controller} is not Supported"),
        ));
    }
    errs
}

// ---------------------------------------------------------------------------
// Deployment and ReplicaSet
// ---------------------------------------------------------------------------

pub(crate) fn validate_deployment_create(deployment: &Deployment, selector_given: bool) -> ErrorList {
    let mut errs = validate_meta_create(&deployment.metadata, true, NameRule::Dns1123Subdomain, true);
    errs.extend(validate_deployment_spec(deployment, selector_given));
    errs
}

pub(crate) fn validate_deployment_update(new: &Deployment, old: &Deployment, selector_given: bool) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    errs.extend(validate_deployment_spec(new, selector_given));
    let selector = new.spec.as_ref().map(|s| s.selector.clone());
    errs.extend(selector_immutable(Some(&selector.unwrap_or_default()), old.spec.as_ref().map(|s| &s.selector)));
    errs
}

pub(crate) fn validate_deployment_status_update(new: &Deployment, old: &Deployment) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    let status = new.status.clone().unwrap_or_default();
    errs.extend(nonnegative(status.observed_generation.unwrap_or(0), "status.observedGeneration"));
    let replicas = status.replicas.unwrap_or(0);
    errs.extend(nonnegative(i64::from(replicas), "status.replicas"));
    for (field, value) in [
        ("updatedReplicas", status.updated_replicas),
        ("readyReplicas", status.ready_replicas),
        ("availableReplicas", status.available_replicas),
        ("unavailableReplicas", status.unavailable_replicas),
    ] {
        errs.extend(nonnegative(i64::from(value.unwrap_or(0)), format!("status.{field}")));
    }
    nonnegative_opt(&mut errs, status.collision_count, "status.collisionCount");
    let msg = "cannot be greater than status.replicas";
    for (field, value) in [
        ("updatedReplicas", status.updated_replicas.unwrap_or(0)),
        ("readyReplicas", status.ready_replicas.unwrap_or(0)),
        ("availableReplicas", status.available_replicas.unwrap_or(0)),
    ] {
        if value > replicas {
            errs.push(FieldError::invalid(format!("status.{field}"), value, msg));
        }
    }
    let (available, ready) = (status.available_replicas.unwrap_or(0), status.ready_replicas.unwrap_or(0));
    if available > ready {
        errs.push(FieldError::invalid("status.availableReplicas", available, "cannot be greater than readyReplicas"));
    }
    errs.extend(collision_count_decrement(status.collision_count, old.status.as_ref().and_then(|s| s.collision_count)));
    errs
}

/// `ValidateDeploymentSpec`.
fn validate_deployment_spec(deployment: &Deployment, selector_given: bool) -> ErrorList {
    let spec = deployment.spec.clone().unwrap_or_default();
    let mut errs =
        nonnegative(i64::from(spec.replicas.unwrap_or(0)), "spec.replicas").into_iter().collect::<ErrorList>();
    let selector = selector_given.then_some(&spec.selector);
    errs.extend(validate_selector_and_template(selector, &spec.template, "deployment", "ReplicaSet"));
    errs.extend(validate_deployment_strategy(spec.strategy.as_ref()));
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    errs.extend(nonnegative(i64::from(min_ready), "spec.minReadySeconds"));
    nonnegative_opt(&mut errs, spec.revision_history_limit, "spec.revisionHistoryLimit");
    if let Some(deadline) = spec.progress_deadline_seconds {
        errs.extend(nonnegative(i64::from(deadline), "spec.progressDeadlineSeconds"));
        if deadline <= min_ready {
            errs.push(FieldError::invalid(
                "spec.progressDeadlineSeconds",
                deadline,
                "must be greater than minReadySeconds",
            ));
        }
    }
    errs
}

/// Selector required, valid and non-empty, then the template checked against it
/// (`ValidatePodTemplateSpecForReplicaSet`). `noun` names the kind in the empty
/// selector message (ReplicaSets reuse "deployment", as upstream).
fn validate_selector_and_template(
    selector: Option<&ApiLabelSelector>,
    template: &PodTemplateSpec,
    noun: &str,
    controller: &str,
) -> ErrorList {
    let mut errs = ErrorList::new();
    match selector {
        None => errs.push(FieldError::required("spec.selector", "")),
        Some(selector) => {
            errs.extend(validate_label_selector(Some(selector), "spec.selector"));
            if selector_is_empty(selector) {
                errs.push(FieldError::invalid(
                    "spec.selector",
                    render::label_selector(Some(selector)),
                    format!("empty selector is invalid for {noun}"),
                ));
            }
        }
    }
    match LabelSelector::from_meta(selector) {
        Err(_) => {
            errs.push(FieldError::invalid("spec.selector", render::label_selector(selector), "invalid label selector"))
        }
        Ok(parsed) => {
            let labels = template.metadata.as_ref().and_then(|m| m.labels.as_ref());
            if !parsed.is_everything() && !parsed.matches_opt(labels) {
                errs.push(FieldError::invalid(
                    "spec.template.metadata.labels",
                    render::string_map(labels),
                    SELECTOR_MISMATCH,
                ));
            }
            errs.extend(validate_template_rules(template, controller, "spec.template"));
        }
    }
    errs
}

/// `ValidateDeploymentStrategy`.
fn validate_deployment_strategy(strategy: Option<&DeploymentStrategy>) -> ErrorList {
    let strategy = strategy.cloned().unwrap_or_default();
    let path = "spec.strategy";
    match opt_str(&strategy.type_) {
        "Recreate" => {
            if strategy.rolling_update.is_some() {
                return vec![FieldError::forbidden(
                    format!("{path}.rollingUpdate"),
                    "may not be specified when strategy `type` is 'Recreate'",
                )];
            }
            Vec::new()
        }
        "RollingUpdate" => {
            let Some(rolling) = &strategy.rolling_update else {
                return vec![FieldError::required(
                    format!("{path}.rollingUpdate"),
                    "this should be defaulted and never be nil",
                )];
            };
            let p = format!("{path}.rollingUpdate");
            let zero = IntOrString::Int(0);
            let unavailable = rolling.max_unavailable.as_ref().unwrap_or(&zero);
            let surge = rolling.max_surge.as_ref().unwrap_or(&zero);
            let mut errs = positive_int_or_percent(unavailable, &format!("{p}.maxUnavailable"));
            errs.extend(positive_int_or_percent(surge, &format!("{p}.maxSurge")));
            if int_or_percent_value(unavailable) == 0 && int_or_percent_value(surge) == 0 {
                errs.push(FieldError::invalid(
                    format!("{p}.maxUnavailable"),
                    render::int_or_string(Some(unavailable)),
                    "may not be 0 when `maxSurge` is 0",
                ));
            }
            errs.extend(not_more_than_100_percent(unavailable, &format!("{p}.maxUnavailable")));
            errs
        }
        other => vec![FieldError::not_supported(
            path,
            render::Raw(format!(
                "apps.DeploymentStrategy{{Type:{}, RollingUpdate:{}}}",
                crate::validation::go_quote(other),
                rolling_update_pointer(strategy.rolling_update.is_some(), "RollingUpdateDeployment")
            )),
            &["Recreate", "RollingUpdate"],
        )],
    }
}

/// How `%#v` prints a pointer field: typed nil, or an address (whose value upstream
/// leaves unpredictable).
fn rolling_update_pointer(set: bool, type_name: &str) -> String {
    if set { format!("(*apps.{type_name})(0xc000000000)") } else { format!("(*apps.{type_name})(nil)") }
}

/// `ValidatePositiveIntOrPercent`.
fn positive_int_or_percent(value: &IntOrString, path: &str) -> ErrorList {
    match value {
        IntOrString::String(s) => is_valid_percent(s)
            .into_iter()
            .map(|m| FieldError::invalid(path, render::int_or_string(Some(value)), m))
            .collect(),
        IntOrString::Int(i) => nonnegative(i64::from(*i), path).into_iter().collect(),
    }
}

/// `getIntOrPercentValue`: a percentage's number, an int, or a numeric string.
fn int_or_percent_value(value: &IntOrString) -> i64 {
    match value {
        IntOrString::Int(i) => i64::from(*i),
        IntOrString::String(s) => percent_value(s).unwrap_or_else(|| s.parse().unwrap_or(0)),
    }
}

/// `IsNotMoreThan100Percent`.
fn not_more_than_100_percent(value: &IntOrString, path: &str) -> ErrorList {
    match value {
        IntOrString::String(s) if percent_value(s).is_some_and(|p| p > 100) => {
            vec![FieldError::invalid(path, render::int_or_string(Some(value)), "must not be greater than 100%")]
        }
        _ => Vec::new(),
    }
}

pub(crate) fn validate_replica_set_create(rs: &ReplicaSet, selector_given: bool) -> ErrorList {
    let mut errs = validate_meta_create(&rs.metadata, true, NameRule::Dns1123Subdomain, true);
    errs.extend(validate_replica_set_spec(rs, selector_given));
    errs
}

pub(crate) fn validate_replica_set_update(new: &ReplicaSet, old: &ReplicaSet, selector_given: bool) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    errs.extend(validate_replica_set_spec(new, selector_given));
    let selector = new.spec.as_ref().map(|s| s.selector.clone());
    errs.extend(selector_immutable(Some(&selector.unwrap_or_default()), old.spec.as_ref().map(|s| &s.selector)));
    errs
}

pub(crate) fn validate_replica_set_status_update(new: &ReplicaSet, old: &ReplicaSet) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    let status = new.status.clone().unwrap_or_default();
    errs.extend(replica_counts(
        status.replicas,
        &[
            ("fullyLabeledReplicas", status.fully_labeled_replicas.unwrap_or(0)),
            ("readyReplicas", status.ready_replicas.unwrap_or(0)),
            ("availableReplicas", status.available_replicas.unwrap_or(0)),
        ],
        status.observed_generation,
        "cannot be greater than readyReplicas",
    ));
    errs
}

/// `ValidateReplicaSetSpec`.
fn validate_replica_set_spec(rs: &ReplicaSet, selector_given: bool) -> ErrorList {
    let spec = rs.spec.clone().unwrap_or_default();
    let mut errs = ErrorList::new();
    errs.extend(nonnegative(i64::from(spec.replicas.unwrap_or(0)), "spec.replicas"));
    errs.extend(nonnegative(i64::from(spec.min_ready_seconds.unwrap_or(0)), "spec.minReadySeconds"));
    let template = spec.template.clone().unwrap_or_default();
    let selector = selector_given.then_some(&spec.selector);
    errs.extend(validate_selector_and_template(selector, &template, "deployment", "ReplicaSet"));
    errs
}

/// Replica counters of RC and ReplicaSet status: non-negative, none above
/// `replicas`, available not above ready.
fn replica_counts(
    replicas: i32,
    counters: &[(&str, i32)],
    observed_generation: Option<i64>,
    ready_msg: &str,
) -> ErrorList {
    let mut errs = ErrorList::new();
    errs.extend(nonnegative(i64::from(replicas), "status.replicas"));
    for (field, value) in counters {
        errs.extend(nonnegative(i64::from(*value), format!("status.{field}")));
    }
    errs.extend(nonnegative(observed_generation.unwrap_or(0), "status.observedGeneration"));
    for (field, value) in counters {
        if *value > replicas {
            errs.push(FieldError::invalid(format!("status.{field}"), *value, "cannot be greater than status.replicas"));
        }
    }
    let get = |name: &str| counters.iter().find(|(f, _)| *f == name).map_or(0, |(_, v)| *v);
    if get("availableReplicas") > get("readyReplicas") {
        errs.push(FieldError::invalid("status.availableReplicas", get("availableReplicas"), ready_msg));
    }
    errs
}

/// The apps/v1 strategies' `ValidateImmutableField` on `spec.selector`.
fn selector_immutable(new: Option<&ApiLabelSelector>, old: Option<&ApiLabelSelector>) -> ErrorList {
    let empty = ApiLabelSelector::default();
    if new.unwrap_or(&empty) != old.unwrap_or(&empty) {
        return vec![immutable("spec.selector", render::label_selector(new))];
    }
    Vec::new()
}

fn collision_count_decrement(new: Option<i32>, old: Option<i32>) -> ErrorList {
    let decremented = match (new, old) {
        (None, Some(_)) => true,
        (Some(new), Some(old)) => new < old,
        _ => false,
    };
    if decremented {
        return vec![FieldError::invalid("status.collisionCount", new.unwrap_or(0), "cannot be decremented")];
    }
    Vec::new()
}

// ---------------------------------------------------------------------------
// DaemonSet
// ---------------------------------------------------------------------------

pub(crate) fn validate_daemon_set_create(ds: &DaemonSet, selector_given: bool) -> ErrorList {
    let mut errs = validate_meta_create(&ds.metadata, true, NameRule::Dns1123Subdomain, true);
    errs.extend(validate_daemon_set_spec(ds, selector_given));
    errs
}

pub(crate) fn validate_daemon_set_update(new: &DaemonSet, old: &DaemonSet, selector_given: bool) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    errs.extend(validate_daemon_set_spec(new, selector_given));
    let selector = new.spec.as_ref().map(|s| s.selector.clone());
    errs.extend(selector_immutable(Some(&selector.unwrap_or_default()), old.spec.as_ref().map(|s| &s.selector)));
    errs
}

pub(crate) fn validate_daemon_set_status_update(new: &DaemonSet, old: &DaemonSet) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    let status = new.status.clone().unwrap_or_default();
    for (field, value) in [
        ("currentNumberScheduled", i64::from(status.current_number_scheduled)),
        ("numberMisscheduled", i64::from(status.number_misscheduled)),
        ("desiredNumberScheduled", i64::from(status.desired_number_scheduled)),
        ("numberReady", i64::from(status.number_ready)),
        ("observedGeneration", status.observed_generation.unwrap_or(0)),
        ("updatedNumberScheduled", i64::from(status.updated_number_scheduled.unwrap_or(0))),
        ("numberAvailable", i64::from(status.number_available.unwrap_or(0))),
        ("numberUnavailable", i64::from(status.number_unavailable.unwrap_or(0))),
    ] {
        errs.extend(nonnegative(value, format!("status.{field}")));
    }
    nonnegative_opt(&mut errs, status.collision_count, "status.collisionCount");
    errs.extend(collision_count_decrement(status.collision_count, old.status.as_ref().and_then(|s| s.collision_count)));
    errs
}

/// `ValidateDaemonSetSpec` (a missing selector only fails the template match, as upstream).
fn validate_daemon_set_spec(ds: &DaemonSet, selector_given: bool) -> ErrorList {
    let spec = ds.spec.clone().unwrap_or_default();
    let selector = selector_given.then_some(&spec.selector);
    let mut errs = validate_label_selector(selector, "spec.selector");
    let template = spec.template.clone();
    if let Ok(parsed) = LabelSelector::from_meta(selector) {
        let labels = template.metadata.as_ref().and_then(|m| m.labels.as_ref());
        if !parsed.matches_opt(labels) {
            errs.push(FieldError::invalid(
                "spec.template.metadata.labels",
                render::string_map(labels),
                SELECTOR_MISMATCH,
            ));
        }
    }
    if selector_given && selector_is_empty(&spec.selector) {
        errs.push(FieldError::invalid(
            "spec.selector",
            render::label_selector(Some(&spec.selector)),
            "empty selector is invalid for daemonset",
        ));
    }
    errs.extend(validate_template_rules(&template, "DaemonSet", "spec.template"));
    errs.extend(nonnegative(i64::from(spec.min_ready_seconds.unwrap_or(0)), "spec.minReadySeconds"));
    errs.extend(validate_daemon_set_strategy(spec.update_strategy.as_ref()));
    nonnegative_opt(&mut errs, spec.revision_history_limit, "spec.revisionHistoryLimit");
    errs
}

/// `ValidateDaemonSetUpdateStrategy`.
fn validate_daemon_set_strategy(strategy: Option<&DaemonSetUpdateStrategy>) -> ErrorList {
    let strategy = strategy.cloned().unwrap_or_default();
    let path = "spec.updateStrategy";
    match opt_str(&strategy.type_) {
        "OnDelete" => Vec::new(),
        "RollingUpdate" => {
            let Some(rolling) = &strategy.rolling_update else {
                return vec![FieldError::required(format!("{path}.rollingUpdate"), "")];
            };
            let p = format!("{path}.rollingUpdate");
            let zero = IntOrString::Int(0);
            let unavailable = rolling.max_unavailable.as_ref().unwrap_or(&zero);
            let surge = rolling.max_surge.as_ref().unwrap_or(&zero);
            let mut errs = positive_int_or_percent(unavailable, &format!("{p}.maxUnavailable"));
            errs.extend(positive_int_or_percent(surge, &format!("{p}.maxSurge")));
            errs.extend(not_more_than_100_percent(unavailable, &format!("{p}.maxUnavailable")));
            errs.extend(not_more_than_100_percent(surge, &format!("{p}.maxSurge")));
            let (has_unavailable, has_surge) =
                (int_or_percent_value(unavailable) != 0, int_or_percent_value(surge) != 0);
            if has_unavailable && has_surge {
                errs.push(FieldError::invalid(
                    format!("{p}.maxSurge"),
                    render::int_or_string(Some(surge)),
                    "may not be set when maxUnavailable is non-zero",
                ));
            } else if !has_unavailable && !has_surge {
                errs.push(FieldError::required(format!("{p}.maxUnavailable"), "cannot be 0 when maxSurge is 0"));
            }
            errs
        }
        other => vec![FieldError::not_supported(
            path,
            render::Raw(format!(
                "apps.DaemonSetUpdateStrategy{{Type:{}, RollingUpdate:{}}}",
                crate::validation::go_quote(other),
                rolling_update_pointer(strategy.rolling_update.is_some(), "RollingUpdateDaemonSet")
            )),
            &["RollingUpdate", "OnDelete"],
        )],
    }
}

// ---------------------------------------------------------------------------
// StatefulSet
// ---------------------------------------------------------------------------

pub(crate) fn validate_stateful_set_create(sts: &StatefulSet, selector_given: bool) -> ErrorList {
    let mut errs = validate_meta_create(&sts.metadata, true, NameRule::Dns1123Label, true);
    errs.extend(validate_stateful_set_spec(sts, selector_given));
    errs
}

/// `ValidateStatefulSetUpdate`: the name is not revalidated, and only replicas,
/// ordinals, template, update strategy, PVC retention and minReadySeconds may change.
pub(crate) fn validate_stateful_set_update(new: &StatefulSet, old: &StatefulSet, selector_given: bool) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    errs.extend(validate_stateful_set_spec(new, selector_given));
    let mutable = [
        "replicas",
        "ordinals",
        "template",
        "updateStrategy",
        "persistentVolumeClaimRetentionPolicy",
        "minReadySeconds",
    ];
    let old_spec = serde_json::to_value(old.spec.clone().unwrap_or_default()).unwrap_or(Value::Null);
    let mut new_spec = serde_json::to_value(new.spec.clone().unwrap_or_default()).unwrap_or(Value::Null);
    if let Some(spec) = new_spec.as_object_mut() {
        for field in mutable {
            match old_spec.get(field) {
                Some(value) => spec.insert(field.into(), value.clone()),
                None => spec.remove(field),
            };
        }
    }
    if new_spec != old_spec {
        errs.push(FieldError::forbidden(
            "spec",
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ));
    }
    errs
}

pub(crate) fn validate_stateful_set_status_update(new: &StatefulSet, old: &StatefulSet) -> ErrorList {
    let status = new.status.clone().unwrap_or_default();
    let mut errs = ErrorList::new();
    let replicas = status.replicas;
    let counters = [
        ("readyReplicas", status.ready_replicas.unwrap_or(0)),
        ("currentReplicas", status.current_replicas.unwrap_or(0)),
        ("updatedReplicas", status.updated_replicas.unwrap_or(0)),
        ("availableReplicas", status.available_replicas.unwrap_or(0)),
    ];
    errs.extend(nonnegative(i64::from(replicas), "status.replicas"));
    for (field, value) in counters {
        errs.extend(nonnegative(i64::from(value), format!("status.{field}")));
    }
    nonnegative_opt(&mut errs, status.observed_generation, "status.observedGeneration");
    nonnegative_opt(&mut errs, status.collision_count, "status.collisionCount");
    for (field, value) in counters {
        if value > replicas {
            errs.push(FieldError::invalid(format!("status.{field}"), value, "cannot be greater than status.replicas"));
        }
    }
    if counters[3].1 > counters[0].1 {
        errs.push(FieldError::invalid(
            "status.availableReplicas",
            counters[3].1,
            "cannot be greater than status.readyReplicas",
        ));
    }
    errs.extend(validate_meta_update(&new.metadata, &old.metadata, true));
    errs.extend(collision_count_decrement(status.collision_count, old.status.as_ref().and_then(|s| s.collision_count)));
    errs
}

/// `ValidateStatefulSetSpec` (like upstream, the pod template's own spec is not
/// validated: its mounts may name volumeClaimTemplates rather than volumes).
fn validate_stateful_set_spec(sts: &StatefulSet, selector_given: bool) -> ErrorList {
    let spec = sts.spec.clone().unwrap_or_default();
    let mut errs = ErrorList::new();
    match opt_str(&spec.pod_management_policy) {
        "" => errs.push(FieldError::required("spec.podManagementPolicy", "")),
        "OrderedReady" | "Parallel" => {}
        other => {
            errs.push(FieldError::invalid("spec.podManagementPolicy", other, "must be 'OrderedReady' or 'Parallel'"))
        }
    }
    let strategy = spec.update_strategy.clone().unwrap_or_default();
    match opt_str(&strategy.type_) {
        "" => errs.push(FieldError::required("spec.updateStrategy", "")),
        "OnDelete" => {
            if let Some(rolling) = &strategy.rolling_update {
                errs.push(FieldError::invalid(
                    "spec.updateStrategy.rollingUpdate",
                    render::json(rolling),
                    "only allowed for updateStrategy 'RollingUpdate'",
                ));
            }
        }
        "RollingUpdate" => {
            if let Some(rolling) = &strategy.rolling_update {
                let p = "spec.updateStrategy.rollingUpdate";
                errs.extend(nonnegative(i64::from(rolling.partition.unwrap_or(0)), format!("{p}.partition")));
                if let Some(max) = &rolling.max_unavailable {
                    let field = format!("{p}.maxUnavailable");
                    errs.extend(positive_int_or_percent(max, &field));
                    if int_or_percent_value(max) == 0 {
                        errs.push(FieldError::invalid(&field, render::int_or_string(Some(max)), "cannot be 0"));
                    }
                    errs.extend(not_more_than_100_percent(max, &field));
                }
            }
        }
        _ => errs.push(FieldError::invalid(
            "spec.updateStrategy",
            render::json(&strategy),
            "must be 'RollingUpdate' or 'OnDelete'",
        )),
    }
    if let Some(policy) = &spec.persistent_volume_claim_retention_policy {
        for (field, value) in [("whenDeleted", &policy.when_deleted), ("whenScaled", &policy.when_scaled)] {
            let value = opt_str(value);
            if value != "Retain" && value != "Delete" {
                errs.push(FieldError::not_supported(
                    format!("spec.persistentVolumeClaimRetentionPolicy.{field}"),
                    value,
                    &["Retain", "Delete"],
                ));
            }
        }
    }
    errs.extend(nonnegative(i64::from(spec.replicas.unwrap_or(0)), "spec.replicas"));
    errs.extend(nonnegative(i64::from(spec.min_ready_seconds.unwrap_or(0)), "spec.minReadySeconds"));
    if let Some(ordinals) = &spec.ordinals {
        errs.extend(nonnegative(i64::from(ordinals.start.unwrap_or(0)), "spec.ordinals.start"));
    }
    let selector = selector_given.then_some(&spec.selector);
    match selector {
        None => errs.push(FieldError::required("spec.selector", "")),
        Some(selector) => {
            errs.extend(validate_label_selector(Some(selector), "spec.selector"));
            if selector_is_empty(selector) {
                errs.push(FieldError::invalid(
                    "spec.selector",
                    render::label_selector(Some(selector)),
                    "empty selector is invalid for statefulset",
                ));
            }
        }
    }
    match LabelSelector::from_meta(selector) {
        Err(_) => errs.push(FieldError::invalid("spec.selector", render::label_selector(selector), "")),
        Ok(parsed) => {
            let meta = spec.template.metadata.clone().unwrap_or_default();
            if !parsed.is_everything() && !parsed.matches_opt(meta.labels.as_ref()) {
                errs.push(FieldError::invalid(
                    "spec.template.metadata.labels",
                    render::string_map(meta.labels.as_ref()),
                    SELECTOR_MISMATCH,
                ));
            }
            if let Some(labels) = &meta.labels {
                errs.extend(validate_labels(labels, "spec.template.labels"));
            }
            if let Some(annotations) = &meta.annotations {
                errs.extend(validate_annotations(annotations, "spec.template.annotations"));
            }
            let pod_spec = spec.template.spec.clone().unwrap_or_default();
            errs.extend(validate_pod_annotations(meta.annotations.as_ref(), &pod_spec, "spec.template.annotations"));
        }
    }
    let pod_spec = spec.template.spec.clone().unwrap_or_default();
    let restart_policy = opt_str(&pod_spec.restart_policy);
    if restart_policy != "Always" {
        errs.push(FieldError::not_supported("spec.template.spec.restartPolicy", restart_policy, &["Always"]));
    }
    if pod_spec.active_deadline_seconds.is_some() {
        errs.push(FieldError::forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            "activeDeadlineSeconds in StatefulSet is not Supported",
        ));
    }
    errs
}

// ---------------------------------------------------------------------------
// ControllerRevision
// ---------------------------------------------------------------------------

pub(crate) fn validate_controller_revision_create(revision: &ControllerRevision) -> ErrorList {
    let mut errs = validate_meta_create(&revision.metadata, true, NameRule::Dns1123Subdomain, true);
    if revision.data.is_none() {
        errs.push(FieldError::required("data", "data is mandatory"));
    }
    errs.extend(nonnegative(revision.revision, "revision"));
    errs
}

pub(crate) fn validate_controller_revision_update(new: &ControllerRevision, old: &ControllerRevision) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    errs.extend(validate_controller_revision_create(new));
    if new.data != old.data {
        errs.push(immutable("data", render::json(&new.data)));
    }
    errs
}
