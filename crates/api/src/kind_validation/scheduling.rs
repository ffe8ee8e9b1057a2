//! Scheduling constraints of a PodSpec: affinity, node selectors, tolerations and
//! topology spread (upstream `validateAffinity`, `ValidateNodeSelector`,
//! `ValidateTolerations`, `validateTopologySpreadConstraints`).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{
    Affinity, NodeSelector, NodeSelectorRequirement, PodAffinityTerm, Toleration, TopologySpreadConstraint,
};

use super::meta::validate_label_selector;
use super::volumes::dns_label;
use super::{opt_str, render};
use crate::validation::{
    ErrorList, FieldError, child_path, index_path, is_dns1123_subdomain, is_valid_label_value, validate_label_name,
};

/// `validateAffinity`.
pub(crate) fn validate_affinity(affinity: &Affinity, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    if let Some(node) = &affinity.node_affinity {
        let p = child_path(path, "nodeAffinity");
        if let Some(required) = &node.required_during_scheduling_ignored_during_execution {
            errs.extend(validate_node_selector(
                required,
                &child_path(&p, "requiredDuringSchedulingIgnoredDuringExecution"),
            ));
        }
        let preferred_path = child_path(&p, "preferredDuringSchedulingIgnoredDuringExecution");
        for (i, term) in node.preferred_during_scheduling_ignored_during_execution.iter().flatten().enumerate() {
            let term_path = index_path(&preferred_path, i);
            if !(1..=100).contains(&term.weight) {
                errs.push(FieldError::invalid(
                    child_path(&term_path, "weight"),
                    term.weight,
                    "must be in the range 1-100",
                ));
            }
            errs.extend(validate_node_selector_term(
                term.preference.match_expressions.as_deref().unwrap_or_default(),
                term.preference.match_fields.as_deref().unwrap_or_default(),
                &child_path(&term_path, "preference"),
            ));
        }
    }
    for (field, terms) in [
        (
            "podAffinity",
            affinity.pod_affinity.as_ref().map(|a| {
                (
                    &a.required_during_scheduling_ignored_during_execution,
                    &a.preferred_during_scheduling_ignored_during_execution,
                )
            }),
        ),
        (
            "podAntiAffinity",
            affinity.pod_anti_affinity.as_ref().map(|a| {
                (
                    &a.required_during_scheduling_ignored_during_execution,
                    &a.preferred_during_scheduling_ignored_during_execution,
                )
            }),
        ),
    ] {
        let Some((required, preferred)) = terms else {
            continue;
        };
        let p = child_path(path, field);
        let required_path = child_path(&p, "requiredDuringSchedulingIgnoredDuringExecution");
        for (i, term) in required.iter().flatten().enumerate() {
            errs.extend(validate_pod_affinity_term(term, &index_path(&required_path, i)));
        }
        let preferred_path = child_path(&p, "preferredDuringSchedulingIgnoredDuringExecution");
        for (i, weighted) in preferred.iter().flatten().enumerate() {
            let term_path = index_path(&preferred_path, i);
            if !(1..=100).contains(&weighted.weight) {
                errs.push(FieldError::invalid(
                    child_path(&term_path, "weight"),
                    weighted.weight,
                    "must be in the range 1-100",
                ));
            }
            errs.extend(validate_pod_affinity_term(
                &weighted.pod_affinity_term,
                &child_path(&term_path, "podAffinityTerm"),
            ));
        }
    }
    errs
}

/// `ValidateNodeSelector`.
pub(crate) fn validate_node_selector(selector: &NodeSelector, path: &str) -> ErrorList {
    let terms_path = child_path(path, "nodeSelectorTerms");
    if selector.node_selector_terms.is_empty() {
        return vec![FieldError::required(terms_path, "must have at least one node selector term")];
    }
    let mut errs = ErrorList::new();
    for (i, term) in selector.node_selector_terms.iter().enumerate() {
        errs.extend(validate_node_selector_term(
            term.match_expressions.as_deref().unwrap_or_default(),
            term.match_fields.as_deref().unwrap_or_default(),
            &index_path(&terms_path, i),
        ));
    }
    errs
}

/// `ValidateNodeSelectorTerm`.
fn validate_node_selector_term(
    expressions: &[NodeSelectorRequirement],
    fields: &[NodeSelectorRequirement],
    path: &str,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let expressions_path = child_path(path, "matchExpressions");
    for (i, req) in expressions.iter().enumerate() {
        let p = index_path(&expressions_path, i);
        let values = req.values.as_deref().unwrap_or_default();
        match req.operator.as_str() {
            "In" | "NotIn" if values.is_empty() => errs.push(FieldError::required(
                child_path(&p, "values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            )),
            "Exists" | "DoesNotExist" if !values.is_empty() => errs.push(FieldError::forbidden(
                child_path(&p, "values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            "Gt" | "Lt" if values.len() != 1 => errs.push(FieldError::required(
                child_path(&p, "values"),
                "must be specified single value when `operator` is 'Lt' or 'Gt'",
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt" => {}
            other => errs.push(FieldError::invalid(child_path(&p, "operator"), other, "not a valid selector operator")),
        }
        errs.extend(validate_label_name(&req.key, &child_path(&p, "key")));
    }
    let fields_path = child_path(path, "matchFields");
    for (i, req) in fields.iter().enumerate() {
        let p = index_path(&fields_path, i);
        let values = req.values.as_deref().unwrap_or_default();
        match req.operator.as_str() {
            "In" | "NotIn" => {
                if values.len() != 1 {
                    errs.push(FieldError::required(
                        child_path(&p, "values"),
                        "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
                    ));
                }
            }
            other => errs.push(FieldError::invalid(child_path(&p, "operator"), other, "not a valid selector operator")),
        }
        if req.key != "metadata.name" {
            errs.push(FieldError::invalid(child_path(&p, "key"), &req.key, "not a valid field selector key"));
        } else {
            for (j, value) in values.iter().enumerate() {
                for msg in is_dns1123_subdomain(value) {
                    errs.push(FieldError::invalid(index_path(&child_path(&p, "values"), j), value, msg));
                }
            }
        }
    }
    errs
}

/// `validatePodAffinityTerm`.
fn validate_pod_affinity_term(term: &PodAffinityTerm, path: &str) -> ErrorList {
    let mut errs = validate_label_selector(term.label_selector.as_ref(), &child_path(path, "labelSelector"));
    errs.extend(validate_label_selector(term.namespace_selector.as_ref(), &child_path(path, "namespaceSelector")));
    for namespace in term.namespaces.iter().flatten() {
        errs.extend(dns_label(namespace, &child_path(path, "namespace")));
    }
    for (field, keys) in [("matchLabelKeys", &term.match_label_keys), ("mismatchLabelKeys", &term.mismatch_label_keys)]
    {
        let keys = keys.as_deref().unwrap_or_default();
        if keys.is_empty() {
            continue;
        }
        let keys_path = child_path(path, field);
        if term.label_selector.is_none() {
            errs.push(FieldError::forbidden(keys_path, "must not be specified when labelSelector is not set"));
            continue;
        }
        for (i, key) in keys.iter().enumerate() {
            errs.extend(validate_label_name(key, &index_path(&keys_path, i)));
        }
    }
    if term.topology_key.is_empty() {
        errs.push(FieldError::required(child_path(path, "topologyKey"), "can not be empty"));
    }
    errs.extend(validate_label_name(&term.topology_key, &child_path(path, "topologyKey")));
    errs
}

/// `ValidateTolerations`.
pub(crate) fn validate_tolerations(tolerations: &[Toleration], path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, t) in tolerations.iter().enumerate() {
        let p = index_path(path, i);
        let (key, operator, effect, value) =
            (opt_str(&t.key), opt_str(&t.operator), opt_str(&t.effect), opt_str(&t.value));
        if !key.is_empty() {
            errs.extend(validate_label_name(key, &child_path(&p, "key")));
        }
        if key.is_empty() && operator != "Exists" {
            errs.push(FieldError::invalid(
                child_path(&p, "operator"),
                operator,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        if t.toleration_seconds.is_some() && effect != "NoExecute" {
            errs.push(FieldError::invalid(
                child_path(&p, "effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        match operator {
            "Equal" | "" => {
                let msgs = is_valid_label_value(value);
                if !msgs.is_empty() {
                    errs.push(FieldError::invalid(child_path(&p, "operator"), value, msgs.join(";")));
                }
            }
            "Exists" => {
                if !value.is_empty() {
                    errs.push(FieldError::invalid(
                        child_path(&p, "operator"),
                        render::json(t),
                        "value must be empty when `operator` is 'Exists'",
                    ));
                }
            }
            other => errs.push(FieldError::not_supported(child_path(&p, "operator"), other, &["Equal", "Exists"])),
        }
        if !effect.is_empty() {
            errs.extend(validate_taint_effect(effect, &child_path(&p, "effect")));
        }
    }
    errs
}

/// `validateTaintEffect` for a non-empty effect.
pub(crate) fn validate_taint_effect(effect: &str, path: &str) -> ErrorList {
    match effect {
        "NoSchedule" | "PreferNoSchedule" | "NoExecute" => Vec::new(),
        other => vec![FieldError::not_supported(path, other, &["NoSchedule", "PreferNoSchedule", "NoExecute"])],
    }
}

/// `validateTopologySpreadConstraints`.
pub(crate) fn validate_topology_spread(constraints: &[TopologySpreadConstraint], path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, c) in constraints.iter().enumerate() {
        let p = index_path(path, i);
        if c.max_skew <= 0 {
            errs.push(FieldError::invalid(child_path(&p, "maxSkew"), c.max_skew, "must be greater than zero"));
        }
        if c.topology_key.is_empty() {
            errs.push(FieldError::required(child_path(&p, "topologyKey"), "can not be empty"));
        }
        let action = c.when_unsatisfiable.as_str();
        if action != "DoNotSchedule" && action != "ScheduleAnyway" {
            errs.push(FieldError::not_supported(
                child_path(&p, "whenUnsatisfiable"),
                action,
                &["DoNotSchedule", "ScheduleAnyway"],
            ));
        }
        let repeated = constraints[i + 1..]
            .iter()
            .any(|other| other.topology_key == c.topology_key && other.when_unsatisfiable == c.when_unsatisfiable);
        if repeated {
            errs.push(FieldError::duplicate(
                child_path(&p, "{topologyKey, whenUnsatisfiable}"),
                format!("{{{}, {}}}", c.topology_key, c.when_unsatisfiable),
            ));
        }
        if let Some(min_domains) = c.min_domains {
            let field = child_path(&p, "minDomains");
            if min_domains <= 0 {
                errs.push(FieldError::invalid(&field, min_domains, "must be greater than zero"));
            }
            if action != "DoNotSchedule" {
                errs.push(FieldError::invalid(
                    &field,
                    min_domains,
                    format!("can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {action}"),
                ));
            }
        }
        for (field, policy) in
            [("nodeAffinityPolicy", &c.node_affinity_policy), ("nodeTaintsPolicy", &c.node_taints_policy)]
        {
            if let Some(policy) = policy.as_deref().filter(|p| *p != "Honor" && *p != "Ignore") {
                errs.push(FieldError::not_supported(child_path(&p, field), policy, &["Honor", "Ignore"]));
            }
        }
        let keys = c.match_label_keys.as_deref().unwrap_or_default();
        if !keys.is_empty() {
            let keys_path = child_path(&p, "matchLabelKeys");
            match &c.label_selector {
                None => {
                    errs.push(FieldError::forbidden(&keys_path, "must not be specified when labelSelector is not set"))
                }
                Some(selector) => {
                    let selector_keys: BTreeSet<&str> = selector
                        .match_labels
                        .iter()
                        .flatten()
                        .map(|(k, _)| k.as_str())
                        .chain(selector.match_expressions.iter().flatten().map(|e| e.key.as_str()))
                        .collect();
                    for (j, key) in keys.iter().enumerate() {
                        let key_path = index_path(&keys_path, j);
                        errs.extend(validate_label_name(key, &key_path));
                        if selector_keys.contains(key.as_str()) {
                            errs.push(FieldError::invalid(
                                &key_path,
                                key,
                                "exists in both matchLabelKeys and labelSelector",
                            ));
                        }
                    }
                }
            }
        }
        errs.extend(validate_label_selector(c.label_selector.as_ref(), &child_path(&p, "labelSelector")));
    }
    errs
}
