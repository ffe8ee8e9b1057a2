//! Namespaces, Nodes, Leases, PriorityClasses and the namespace policies
//! LimitRange and ResourceQuota (upstream `ValidateNamespace*`, `ValidateNode*`,
//! `coordination/validation`, `scheduling/validation`, `ValidateLimitRange`,
//! `ValidateResourceQuota*`).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{LimitRange, Namespace, Node, ResourceQuota, Taint};
use k8s_openapi::api::scheduling::v1::PriorityClass;

use super::formats::{parse_cidr, validate_cidr};
use super::meta::{immutable, validate_kube_finalizer_name, validate_meta_create, validate_meta_update};
use super::resources::{
    is_overcommit_allowed, parse_list, parse_quantity, validate_container_resource_name, validate_quantity_value,
    validate_resource_name,
};
use super::scheduling::validate_taint_effect;
use super::{opt_str, render};
use crate::validation::{
    ErrorList, FieldError, NameRule, child_path, go_quote, index_path, is_qualified_name, is_valid_label_value,
    key_path, validate_label_name,
};

// ---------------------------------------------------------------------------
// Namespace
// ---------------------------------------------------------------------------

pub(crate) fn validate_namespace_create(namespace: &Namespace) -> ErrorList {
    let mut errs = validate_meta_create(&namespace.metadata, false, NameRule::Dns1123Label, true);
    for finalizer in namespace.spec.iter().flat_map(|s| s.finalizers.iter().flatten()) {
        for msg in is_qualified_name(finalizer) {
            errs.push(FieldError::invalid("spec.finalizers", finalizer, msg));
        }
        errs.extend(validate_kube_finalizer_name(finalizer, "spec.finalizers"));
    }
    errs
}

pub(crate) fn validate_namespace_update(new: &Namespace, old: &Namespace) -> ErrorList {
    validate_meta_update(&new.metadata, &old.metadata, true)
}

/// `ValidateNamespaceStatusUpdate`: Active until deletion, Terminating after.
pub(crate) fn validate_namespace_status_update(new: &Namespace, old: &Namespace) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    let phase = new.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
    if new.metadata.deletion_timestamp.is_none() {
        if phase != "Active" {
            errs.push(FieldError::invalid(
                "status.Phase",
                &phase,
                "may only be 'Active' if `deletionTimestamp` is empty",
            ));
        }
    } else if phase != "Terminating" {
        errs.push(FieldError::invalid(
            "status.Phase",
            &phase,
            "may only be 'Terminating' if `deletionTimestamp` is not empty",
        ));
    }
    errs
}

// ---------------------------------------------------------------------------
// Node
// ---------------------------------------------------------------------------

/// `ValidateNode`: metadata, taints, resource quantities and pod CIDRs.
pub(crate) fn validate_node_create(node: &Node) -> ErrorList {
    let mut errs = validate_meta_create(&node.metadata, false, NameRule::Dns1123Subdomain, true);
    let spec = node.spec.clone().unwrap_or_default();
    errs.extend(validate_taints(spec.taints.as_deref().unwrap_or_default(), "metadata.taints"));
    errs.extend(validate_node_resources(node));
    let cidrs = spec.pod_cidrs.as_deref().unwrap_or_default();
    for (i, cidr) in cidrs.iter().enumerate() {
        errs.extend(validate_cidr(&index_path("spec.podCIDRs", i), cidr));
    }
    if cidrs.len() > 1 {
        let families: BTreeSet<bool> = cidrs.iter().filter_map(|c| parse_cidr(c)).map(|(ip, _)| ip.is_v6()).collect();
        if families.len() != 2 || cidrs.len() > 2 {
            errs.push(FieldError::invalid(
                "spec.podCIDRs",
                render::string_slice(Some(cidrs)),
                "may specify no more than one CIDR for each IP family",
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, cidr) in cidrs.iter().enumerate() {
            if !seen.insert(cidr.as_str()) {
                errs.push(FieldError::duplicate(index_path("spec.podCIDRs", i), cidr));
            }
        }
    }
    errs
}

/// `ValidateNodeUpdate` (also used for `/status`, as upstream): pod CIDRs and the
/// provider ID set once, unique addresses, valid taints and quantities.
pub(crate) fn validate_node_update(new: &Node, old: &Node) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    errs.extend(validate_node_resources(new));
    let status = new.status.clone().unwrap_or_default();
    let mut addresses = BTreeSet::new();
    for (i, address) in status.addresses.iter().flatten().enumerate() {
        if !addresses.insert((address.type_.clone(), address.address.clone())) {
            errs.push(FieldError::duplicate(index_path("status.addresses", i), render::json(address)));
        }
    }
    let (spec, old_spec) = (new.spec.clone().unwrap_or_default(), old.spec.clone().unwrap_or_default());
    let (cidrs, old_cidrs) = (spec.pod_cidrs.unwrap_or_default(), old_spec.pod_cidrs.unwrap_or_default());
    if !old_cidrs.is_empty() {
        let msg = "node updates may not change podCIDR except from \"\" to valid";
        if old_cidrs.len() != cidrs.len() {
            errs.push(FieldError::forbidden("spec.podCIDRs", msg));
        } else {
            for (i, cidr) in old_cidrs.iter().enumerate() {
                if *cidr != cidrs[i] {
                    errs.push(FieldError::forbidden("spec.podCIDRs", msg));
                }
            }
        }
    }
    let provider = opt_str(&old_spec.provider_id);
    if !provider.is_empty() && provider != opt_str(&spec.provider_id) {
        errs.push(FieldError::forbidden(
            "spec.providerID",
            "node updates may not change providerID except from \"\" to valid",
        ));
    }
    errs.extend(validate_taints(spec.taints.as_deref().unwrap_or_default(), "metadata.taints"));
    if opt_str(&spec.external_id) != opt_str(&old_spec.external_id) {
        errs.push(FieldError::forbidden("spec.externalID", "may not be updated"));
    }
    errs
}

/// `ValidateNodeResources`: capacity and allocatable quantities valid.
fn validate_node_resources(node: &Node) -> ErrorList {
    let mut errs = ErrorList::new();
    let status = node.status.clone().unwrap_or_default();
    for (field, list) in [("capacity", status.capacity), ("allocatable", status.allocatable)] {
        for (name, value) in list.iter().flatten() {
            let path = format!("status.{field}.{name}");
            if let Some(q) = parse_quantity(value, &path, &mut errs) {
                errs.extend(validate_quantity_value(name, &q, &path));
            }
        }
    }
    errs
}

/// `validateNodeTaints`: valid keys, values and effects, unique by key and effect.
fn validate_taints(taints: &[Taint], path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    for (i, taint) in taints.iter().enumerate() {
        let p = index_path(path, i);
        errs.extend(validate_label_name(&taint.key, &child_path(&p, "key")));
        let value = opt_str(&taint.value);
        let msgs = is_valid_label_value(value);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(child_path(&p, "value"), value, msgs.join(";")));
        }
        if taint.effect.is_empty() {
            errs.push(FieldError::required(child_path(&p, "effect"), ""));
        } else {
            errs.extend(validate_taint_effect(&taint.effect, &child_path(&p, "effect")));
        }
        if !seen.insert((taint.effect.clone(), taint.key.clone())) {
            let mut e = FieldError::duplicate(
                &p,
                render::Raw(format!(
                    "core.Taint{{Key:{}, Value:{}, Effect:{}, TimeAdded:(*v1.Time)(nil)}}",
                    go_quote(&taint.key),
                    go_quote(value),
                    go_quote(&taint.effect)
                )),
            );
            e.detail = "taints must be unique by key and effect pair".into();
            errs.push(e);
        }
    }
    errs
}

// ---------------------------------------------------------------------------
// Lease and PriorityClass
// ---------------------------------------------------------------------------

/// `ValidateLease` (apimachinery's metadata rules: no finalizer-name check).
pub(crate) fn validate_lease_create(lease: &Lease) -> ErrorList {
    let mut errs = validate_meta_create(&lease.metadata, true, NameRule::Dns1123Subdomain, false);
    errs.extend(validate_lease_spec(lease));
    errs
}

pub(crate) fn validate_lease_update(new: &Lease, old: &Lease) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, false);
    errs.extend(validate_lease_spec(new));
    errs
}

fn validate_lease_spec(lease: &Lease) -> ErrorList {
    let mut errs = ErrorList::new();
    let spec = lease.spec.clone().unwrap_or_default();
    if let Some(duration) = spec.lease_duration_seconds.filter(|d| *d <= 0) {
        errs.push(FieldError::invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"));
    }
    if let Some(transitions) = spec.lease_transitions.filter(|t| *t < 0) {
        errs.push(FieldError::invalid("spec.leaseTransitions", transitions, "must be greater than or equal to 0"));
    }
    if let Some(strategy) = &spec.strategy {
        if !strategy.contains('/') {
            if strategy != "OldestEmulationVersion" {
                errs.push(FieldError::not_supported("spec.strategy.strategy", strategy, &["OldestEmulationVersion"]));
            }
        } else {
            for msg in is_qualified_name(strategy) {
                errs.push(FieldError::invalid("spec.strategy.strategy", strategy, msg));
            }
        }
    }
    let strategy_unset = spec.strategy.as_deref().is_none_or(str::is_empty);
    if spec.preferred_holder.as_deref().is_some_and(|h| !h.is_empty()) && strategy_unset {
        errs.push(FieldError::forbidden("spec.preferredHolder", "may only be specified if `strategy` is defined"));
    }
    errs
}

/// Highest value a priority class outside the `system-` prefix may take.
const HIGHEST_USER_PRIORITY: i32 = 1_000_000_000;
const SYSTEM_PRIORITY_CLASSES: [(&str, i32); 2] =
    [("system-node-critical", 2_000_001_000), ("system-cluster-critical", 2_000_000_000)];

/// `ValidatePriorityClass`.
pub(crate) fn validate_priority_class_create(class: &PriorityClass) -> ErrorList {
    let mut errs = validate_meta_create(&class.metadata, false, NameRule::Dns1123Subdomain, true);
    let name = class.metadata.name.as_deref().unwrap_or("");
    if name.starts_with("system-") {
        let problem = match SYSTEM_PRIORITY_CLASSES.iter().find(|(n, _)| *n == name) {
            None => Some(format!("name {name} is not a known system priority class")),
            Some((_, value)) if *value != class.value => Some(format!("value of {name} PriorityClass must be {value}")),
            Some(_) if class.global_default == Some(true) => {
                Some(format!("globalDefault of {name} PriorityClass must be false"))
            }
            Some(_) => None,
        };
        if let Some(problem) = problem {
            errs.push(FieldError::forbidden(
                "metadata.name",
                format!(
                    "priority class names with 'system-' prefix are reserved for system use only. error: {problem}"
                ),
            ));
        }
    } else if class.value > HIGHEST_USER_PRIORITY {
        errs.push(FieldError::forbidden(
            "value",
            format!("maximum allowed value of a user defined priority is {HIGHEST_USER_PRIORITY}"),
        ));
    }
    if let Some(policy) = &class.preemption_policy {
        match policy.as_str() {
            "PreemptLowerPriority" | "Never" => {}
            "" => errs.push(FieldError::required("preemptionPolicy", "")),
            other => {
                errs.push(FieldError::not_supported("preemptionPolicy", other, &["PreemptLowerPriority", "Never"]))
            }
        }
    }
    errs
}

/// `ValidatePriorityClassUpdate`: value and preemption policy are fixed.
pub(crate) fn validate_priority_class_update(new: &PriorityClass, old: &PriorityClass) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    if new.value != old.value {
        errs.push(FieldError::forbidden("value", "may not be changed in an update."));
    }
    if new.preemption_policy != old.preemption_policy {
        errs.push(immutable("preemptionPolicy", render::ptr(new.preemption_policy.as_deref())));
    }
    errs
}

// ---------------------------------------------------------------------------
// LimitRange and ResourceQuota
// ---------------------------------------------------------------------------

pub(crate) fn validate_limit_range_create(limit_range: &LimitRange) -> ErrorList {
    let mut errs = validate_meta_create(&limit_range.metadata, true, NameRule::Dns1123Subdomain, true);
    errs.extend(validate_limit_range_spec(limit_range));
    errs
}

pub(crate) fn validate_limit_range_update(new: &LimitRange, old: &LimitRange) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    errs.extend(validate_limit_range_create(new));
    errs
}

/// `ValidateLimitRange`'s spec part: types and resource names valid, and
/// min ≤ defaultRequest ≤ default ≤ max for every resource.
fn validate_limit_range_spec(limit_range: &LimitRange) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut types = BTreeSet::new();
    for (i, item) in limit_range.spec.as_ref().map(|s| &s.limits[..]).unwrap_or_default().iter().enumerate() {
        let p = index_path("spec.limits", i);
        let kind = item.type_.as_str();
        let type_errs: ErrorList =
            is_qualified_name(kind).into_iter().map(|m| FieldError::invalid(child_path(&p, "type"), kind, m)).collect();
        if type_errs.is_empty() && !kind.contains('/') && !matches!(kind, "Pod" | "Container" | "PersistentVolumeClaim")
        {
            errs.push(FieldError::invalid(
                child_path(&p, "type"),
                kind,
                "must be a standard limit type or fully qualified",
            ));
        }
        errs.extend(type_errs);
        if !types.insert(kind) {
            errs.push(FieldError::duplicate(child_path(&p, "type"), kind));
        }
        let name_check = |name: &str, path: &str| {
            if kind == "Pod" || kind == "Container" {
                validate_container_resource_name(name, path)
            } else {
                validate_resource_name(name, path)
            }
        };
        let mut lists: BTreeMap<&str, BTreeMap<String, crate::Quantity>> = BTreeMap::new();
        for (field, list) in [
            ("max", &item.max),
            ("min", &item.min),
            ("default", &item.default),
            ("defaultRequest", &item.default_request),
        ] {
            if kind == "Pod" && (field == "default" || field == "defaultRequest") {
                if list.as_ref().is_some_and(|l| !l.is_empty()) {
                    errs.push(FieldError::forbidden(
                        child_path(&p, field),
                        "may not be specified when `type` is 'Pod'",
                    ));
                }
                continue;
            }
            let field_path = child_path(&p, field);
            for name in list.iter().flatten().map(|(k, _)| k) {
                errs.extend(name_check(name, &key_path(&field_path, name)));
            }
            lists.insert(field, parse_list(list.as_ref(), &field_path, &mut errs));
        }
        if kind == "PersistentVolumeClaim" {
            let has = |field: &str| item_has(&lists, field, "storage");
            if !has("min") && !has("max") {
                errs.push(FieldError::required(
                    child_path(&p, "limits"),
                    "either minimum or maximum storage value is required, but neither was provided",
                ));
            }
        }
        let ratio_path = child_path(&p, "maxLimitRequestRatio");
        for name in item.max_limit_request_ratio.iter().flatten().map(|(k, _)| k) {
            errs.extend(name_check(name, &key_path(&ratio_path, name)));
        }
        let ratios = parse_list(item.max_limit_request_ratio.as_ref(), &ratio_path, &mut errs);
        let keys: BTreeSet<&String> = lists.values().flat_map(BTreeMap::keys).chain(ratios.keys()).collect();
        for key in keys {
            let get = |field: &str| lists.get(field).and_then(|l| l.get(key.as_str()));
            let (min, max, default, request) = (get("min"), get("max"), get("default"), get("defaultRequest"));
            let text = |q: &crate::Quantity| q.to_canonical_string();
            if let (Some(min), Some(max)) = (min, max)
                && min > max
            {
                errs.push(FieldError::invalid(
                    key_path(&child_path(&p, "min"), key),
                    text(min),
                    format!("min value {} is greater than max value {}", text(min), text(max)),
                ));
            }
            let request_path = key_path(&child_path(&p, "defaultRequest"), key);
            if let (Some(request), Some(min)) = (request, min)
                && min > request
            {
                errs.push(FieldError::invalid(
                    &request_path,
                    text(request),
                    format!("min value {} is greater than default request value {}", text(min), text(request)),
                ));
            }
            if let (Some(request), Some(max)) = (request, max)
                && request > max
            {
                errs.push(FieldError::invalid(
                    &request_path,
                    text(request),
                    format!("default request value {} is greater than max value {}", text(request), text(max)),
                ));
            }
            if let (Some(request), Some(default)) = (request, default)
                && request > default
            {
                errs.push(FieldError::invalid(
                    &request_path,
                    text(request),
                    format!(
                        "default request value {} is greater than default limit value {}",
                        text(request),
                        text(default)
                    ),
                ));
            }
            let default_path = key_path(&child_path(&p, "default"), key);
            if let (Some(default), Some(min)) = (default, min)
                && min > default
            {
                errs.push(FieldError::invalid(
                    &default_path,
                    text(min),
                    format!("min value {} is greater than default value {}", text(min), text(default)),
                ));
            }
            if let (Some(default), Some(max)) = (default, max)
                && default > max
            {
                errs.push(FieldError::invalid(
                    &default_path,
                    text(max),
                    format!("default value {} is greater than max value {}", text(default), text(max)),
                ));
            }
            if let Some(ratio) = ratios.get(key.as_str())
                && *ratio < crate::Quantity::from_value(1, crate::quantity::Format::DecimalSI)
            {
                errs.push(FieldError::invalid(
                    key_path(&ratio_path, key),
                    text(ratio),
                    format!("ratio {} is less than 1", text(ratio)),
                ));
            }
            if !is_overcommit_allowed(key)
                && let (Some(default), Some(request)) = (default, request)
                && default != request
            {
                errs.push(FieldError::invalid(
                    &request_path,
                    text(request),
                    format!(
                        "default value {} must equal to defaultRequest value {} in {key}",
                        text(default),
                        text(request)
                    ),
                ));
            }
        }
    }
    errs
}

fn item_has(lists: &BTreeMap<&str, BTreeMap<String, crate::Quantity>>, field: &str, resource: &str) -> bool {
    lists.get(field).is_some_and(|l| l.contains_key(resource))
}

const QUOTA_RESOURCES: &[&str] = &[
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.storage",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "persistentvolumeclaims",
    "configmaps",
    "services.nodeports",
    "services.loadbalancers",
];

pub(crate) fn validate_resource_quota_create(quota: &ResourceQuota) -> ErrorList {
    let mut errs = validate_meta_create(&quota.metadata, true, NameRule::Dns1123Subdomain, true);
    errs.extend(validate_quota_lists(quota, true));
    errs
}

/// `ValidateResourceQuotaUpdate`: the scopes are fixed.
pub(crate) fn validate_resource_quota_update(new: &ResourceQuota, old: &ResourceQuota) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    errs.extend(validate_quota_lists(new, false));
    let scopes = |q: &ResourceQuota| -> BTreeSet<String> {
        q.spec.iter().flat_map(|s| s.scopes.iter().flatten().cloned()).collect()
    };
    if scopes(new) != scopes(old) {
        let list: Vec<String> = new.spec.iter().flat_map(|s| s.scopes.iter().flatten().cloned()).collect();
        errs.push(FieldError::invalid("spec.scopes", render::string_slice(Some(&list)), super::meta::FIELD_IMMUTABLE));
    }
    errs
}

/// Quota resource names and quantities in `spec.hard` (and status on create).
fn validate_quota_lists(quota: &ResourceQuota, with_status: bool) -> ErrorList {
    let mut errs = ErrorList::new();
    let spec = quota.spec.clone().unwrap_or_default();
    let status = quota.status.clone().unwrap_or_default();
    let mut lists = vec![("spec.hard", spec.hard.clone())];
    if with_status {
        lists.push(("status.hard", status.hard.clone()));
        lists.push(("status.used", status.used.clone()));
    }
    for (path, list) in lists {
        for (name, value) in list.iter().flatten() {
            let p = key_path(path, name);
            let name_errs = validate_resource_name(name, &p);
            if name_errs.is_empty()
                && !name.contains('/')
                && !QUOTA_RESOURCES.contains(&name.as_str())
                && !name.starts_with("requests.hugepages-")
            {
                errs.push(FieldError::invalid(&p, name, "must be a standard resource for quota"));
            }
            errs.extend(name_errs);
            if let Some(q) = parse_quantity(value, &p, &mut errs) {
                errs.extend(validate_quantity_value(name, &q, &p));
            }
        }
    }
    let scopes = spec.scopes.as_deref().unwrap_or_default();
    const SCOPES: [&str; 6] =
        ["Terminating", "NotTerminating", "BestEffort", "NotBestEffort", "PriorityClass", "CrossNamespacePodAffinity"];
    for scope in scopes {
        if !SCOPES.contains(&scope.as_str()) {
            errs.push(FieldError::invalid("spec.scopes", render::string_slice(Some(scopes)), "unsupported scope"));
        }
    }
    let has = |s: &str| scopes.iter().any(|x| x == s);
    if (has("BestEffort") && has("NotBestEffort")) || (has("Terminating") && has("NotTerminating")) {
        errs.push(FieldError::invalid("spec.scopes", render::string_slice(Some(scopes)), "conflicting scopes"));
    }
    errs
}
