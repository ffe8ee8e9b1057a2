//! Roles and role bindings (upstream `rbac/validation`).

use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject};

use super::meta::{validate_meta_create, validate_meta_update};
use super::render;
use crate::validation::{
    ErrorList, FieldError, NameRule, child_path, index_path, is_dns1123_subdomain, is_path_segment_name,
};

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

pub(crate) fn validate_role_create(role: &Role) -> ErrorList {
    let mut errs = validate_meta_create(&role.metadata, true, NameRule::PathSegment, true);
    errs.extend(validate_rules(role.rules.as_deref().unwrap_or_default(), true));
    errs
}

pub(crate) fn validate_role_update(new: &Role, old: &Role) -> ErrorList {
    let mut errs = validate_role_create(new);
    errs.extend(validate_meta_update(&new.metadata, &old.metadata, true));
    errs
}

pub(crate) fn validate_cluster_role_create(role: &ClusterRole) -> ErrorList {
    let mut errs = validate_meta_create(&role.metadata, false, NameRule::PathSegment, true);
    errs.extend(validate_rules(role.rules.as_deref().unwrap_or_default(), false));
    errs
}

pub(crate) fn validate_cluster_role_update(new: &ClusterRole, old: &ClusterRole) -> ErrorList {
    let mut errs = validate_cluster_role_create(new);
    errs.extend(validate_meta_update(&new.metadata, &old.metadata, true));
    errs
}

/// `validatePolicyRule` for each rule: verbs always; resource rules need groups and
/// resources; non-resource URLs only in cluster roles and alone.
fn validate_rules(rules: &[PolicyRule], namespaced: bool) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, rule) in rules.iter().enumerate() {
        let p = index_path("rules", i);
        if rule.verbs.is_empty() {
            errs.push(FieldError::required(child_path(&p, "verbs"), "verbs must contain at least one value"));
        }
        let urls = rule.non_resource_urls.as_deref().unwrap_or_default();
        let groups = rule.api_groups.as_deref().unwrap_or_default();
        let resources = rule.resources.as_deref().unwrap_or_default();
        let names = rule.resource_names.as_deref().unwrap_or_default();
        if !urls.is_empty() {
            let urls_value = || render::string_slice(Some(urls));
            if namespaced {
                errs.push(FieldError::invalid(
                    child_path(&p, "nonResourceURLs"),
                    urls_value(),
                    "namespaced rules cannot apply to non-resource URLs",
                ));
            }
            if !groups.is_empty() || !resources.is_empty() || !names.is_empty() {
                errs.push(FieldError::invalid(
                    child_path(&p, "nonResourceURLs"),
                    urls_value(),
                    "rules cannot apply to both regular resources and non-resource URLs",
                ));
            }
            continue;
        }
        if groups.is_empty() {
            errs.push(FieldError::required(
                child_path(&p, "apiGroups"),
                "resource rules must supply at least one api group",
            ));
        }
        if resources.is_empty() {
            errs.push(FieldError::required(
                child_path(&p, "resources"),
                "resource rules must supply at least one resource",
            ));
        }
        if !names.is_empty() && resources.len() > 1 {
            errs.push(FieldError::required(
                child_path(&p, "resourceNames"),
                "resource names cannot apply to multiple resources",
            ));
        }
    }
    errs
}

pub(crate) fn validate_role_binding_create(binding: &RoleBinding) -> ErrorList {
    let mut errs = validate_meta_create(&binding.metadata, true, NameRule::PathSegment, true);
    errs.extend(validate_binding(&binding.role_ref, binding.subjects.as_deref().unwrap_or_default(), true));
    errs
}

pub(crate) fn validate_role_binding_update(new: &RoleBinding, old: &RoleBinding) -> ErrorList {
    let mut errs = validate_role_binding_create(new);
    errs.extend(validate_meta_update(&new.metadata, &old.metadata, true));
    errs.extend(role_ref_unchanged(&new.role_ref, &old.role_ref));
    errs
}

pub(crate) fn validate_cluster_role_binding_create(binding: &ClusterRoleBinding) -> ErrorList {
    let mut errs = validate_meta_create(&binding.metadata, false, NameRule::PathSegment, true);
    errs.extend(validate_binding(&binding.role_ref, binding.subjects.as_deref().unwrap_or_default(), false));
    errs
}

pub(crate) fn validate_cluster_role_binding_update(new: &ClusterRoleBinding, old: &ClusterRoleBinding) -> ErrorList {
    let mut errs = validate_cluster_role_binding_create(new);
    errs.extend(validate_meta_update(&new.metadata, &old.metadata, true));
    errs.extend(role_ref_unchanged(&new.role_ref, &old.role_ref));
    errs
}

fn role_ref_unchanged(new: &RoleRef, old: &RoleRef) -> ErrorList {
    if new == old {
        return Vec::new();
    }
    vec![FieldError::invalid(
        "roleRef",
        render::Raw(format!(
            "rbac.RoleRef{{APIGroup:{}, Kind:{}, Name:{}}}",
            crate::validation::go_quote(&new.api_group),
            crate::validation::go_quote(&new.kind),
            crate::validation::go_quote(&new.name)
        )),
        "cannot change roleRef",
    )]
}

/// The role reference and subjects of a binding.
fn validate_binding(role_ref: &RoleRef, subjects: &[Subject], namespaced: bool) -> ErrorList {
    let mut errs = ErrorList::new();
    if role_ref.api_group != RBAC_GROUP {
        errs.push(FieldError::not_supported("roleRef.apiGroup", &role_ref.api_group, &[RBAC_GROUP]));
    }
    let kinds: &[&str] = if namespaced { &["Role", "ClusterRole"] } else { &["ClusterRole"] };
    if !kinds.contains(&role_ref.kind.as_str()) {
        errs.push(FieldError::not_supported("roleRef.kind", &role_ref.kind, kinds));
    }
    if role_ref.name.is_empty() {
        errs.push(FieldError::required("roleRef.name", ""));
    } else {
        for msg in is_path_segment_name(&role_ref.name) {
            errs.push(FieldError::invalid("roleRef.name", &role_ref.name, msg));
        }
    }
    for (i, subject) in subjects.iter().enumerate() {
        errs.extend(validate_subject(subject, namespaced, &index_path("subjects", i)));
    }
    errs
}

/// `validateRoleBindingSubject`.
fn validate_subject(subject: &Subject, namespaced: bool, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let name_path = child_path(path, "name");
    if subject.name.is_empty() {
        errs.push(FieldError::required(&name_path, ""));
    }
    let api_group = subject.api_group.as_deref().unwrap_or("");
    match subject.kind.as_str() {
        "ServiceAccount" => {
            if !subject.name.is_empty() {
                for msg in is_dns1123_subdomain(&subject.name) {
                    errs.push(FieldError::invalid(&name_path, &subject.name, msg));
                }
            }
            if !api_group.is_empty() {
                errs.push(FieldError::not_supported(child_path(path, "apiGroup"), api_group, &[""]));
            }
            if !namespaced && subject.namespace.as_deref().unwrap_or("").is_empty() {
                errs.push(FieldError::required(child_path(path, "namespace"), ""));
            }
        }
        kind @ ("User" | "Group") => {
            if subject.name.is_empty() {
                let what = if kind == "User" { "user" } else { "group" };
                errs.push(FieldError::invalid(&name_path, "", format!("{what} name cannot be empty")));
            }
            if api_group != RBAC_GROUP {
                errs.push(FieldError::not_supported(child_path(path, "apiGroup"), api_group, &[RBAC_GROUP]));
            }
        }
        other => {
            errs.push(FieldError::not_supported(child_path(path, "kind"), other, &["ServiceAccount", "User", "Group"]))
        }
    }
    errs
}
