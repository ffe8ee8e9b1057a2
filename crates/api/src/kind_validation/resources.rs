//! Resource names and quantities (upstream `validateContainerResourceName`,
//! `ValidateResourceQuantityValue`, `ValidateResourceRequirements` and the core
//! helper predicates they use).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as ApiQuantity;

use super::meta::IS_NEGATIVE;
use crate::Quantity;
use crate::validation::{ErrorList, FieldError, child_path, index_path, is_qualified_name, key_path};

const STANDARD_CONTAINER_RESOURCES: &[&str] = &["cpu", "memory", "ephemeral-storage"];
const STANDARD_RESOURCES: &[&str] = &[
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
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
    "storage",
    "requests.storage",
];
const INTEGER_RESOURCES: &[&str] = &[
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "services.nodeports",
    "services.loadbalancers",
];

pub(crate) fn is_huge_page(name: &str) -> bool {
    name.starts_with("hugepages-")
}

/// Unprefixed, or in a `kubernetes.io/` domain.
pub(crate) fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

/// A domain-prefixed name outside kubernetes.io, usable in quota as `requests.<name>`.
pub(crate) fn is_extended(name: &str) -> bool {
    !is_native(name) && !name.starts_with("requests.") && is_qualified_name(&format!("requests.{name}")).is_empty()
}

/// Native resources other than huge pages may be overcommitted (requests below limits).
pub(crate) fn is_overcommit_allowed(name: &str) -> bool {
    is_native(name) && !is_huge_page(name)
}

fn is_standard_resource(name: &str) -> bool {
    STANDARD_RESOURCES.contains(&name) || is_huge_page(name) || name.starts_with("requests.hugepages-")
}

fn is_integer_resource(name: &str) -> bool {
    INTEGER_RESOURCES.contains(&name) || is_extended(name)
}

/// `validateResourceName`: a qualified name, standard when unprefixed.
pub(crate) fn validate_resource_name(name: &str, path: &str) -> ErrorList {
    let errs: ErrorList = is_qualified_name(name).into_iter().map(|m| FieldError::invalid(path, name, m)).collect();
    if !errs.is_empty() {
        return errs;
    }
    if !name.contains('/') && !is_standard_resource(name) {
        return vec![FieldError::invalid(path, name, "must be a standard resource type or fully qualified")];
    }
    errs
}

/// `validateContainerResourceName`.
pub(crate) fn validate_container_resource_name(name: &str, path: &str) -> ErrorList {
    let mut errs = validate_resource_name(name, path);
    if !name.contains('/') {
        if !STANDARD_CONTAINER_RESOURCES.contains(&name) && !is_huge_page(name) {
            errs.push(FieldError::invalid(path, name, "must be a standard resource for containers"));
        }
    } else if !is_native(name) && !is_extended(name) {
        errs.push(FieldError::invalid(path, name, "doesn't follow extended resource name standard"));
    }
    errs
}

/// Parses an API quantity; a malformed one is reported at `path` with the wording
/// upstream's decoder uses.
pub(crate) fn parse_quantity(value: &ApiQuantity, path: &str, errs: &mut ErrorList) -> Option<Quantity> {
    match Quantity::parse(value.0.trim()) {
        Ok(q) => Some(q),
        Err(e) => {
            errs.push(FieldError::invalid(path, &value.0, e.upstream_message()));
            None
        }
    }
}

/// `ValidateResourceQuantityValue`: not negative, and whole for integer resources.
pub(crate) fn validate_quantity_value(name: &str, quantity: &Quantity, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    if quantity.sign() < 0 {
        errs.push(FieldError::invalid(path, quantity.to_canonical_string(), IS_NEGATIVE));
    }
    if is_integer_resource(name) && quantity.milli_value() % 1000 != 0 {
        // Upstream prints the Quantity struct here; its canonical string says the same.
        errs.push(FieldError::invalid(path, quantity.to_canonical_string(), "must be an integer"));
    }
    errs
}

/// Parses every quantity of a resource list, reporting malformed ones.
pub(crate) fn parse_list(
    list: Option<&BTreeMap<String, ApiQuantity>>,
    path: &str,
    errs: &mut ErrorList,
) -> BTreeMap<String, Quantity> {
    let mut parsed = BTreeMap::new();
    for (name, value) in list.into_iter().flatten() {
        if let Some(q) = parse_quantity(value, &key_path(path, name), errs) {
            parsed.insert(name.clone(), q);
        }
    }
    parsed
}

/// `ValidateResourceRequirements` of a container (or pod overhead, with `claims` empty).
pub(crate) fn validate_resource_requirements(
    requirements: Option<&ResourceRequirements>,
    pod_claim_names: &BTreeSet<String>,
    path: &str,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(requirements) = requirements else {
        return errs;
    };
    let limits_path = child_path(path, "limits");
    let requests_path = child_path(path, "requests");
    let limits = parse_list(requirements.limits.as_ref(), &limits_path, &mut errs);
    let requests = parse_list(requirements.requests.as_ref(), &requests_path, &mut errs);
    let (mut limit_cpu_or_memory, mut request_cpu_or_memory) = (false, false);
    let (mut limit_huge_pages, mut request_huge_pages) = (false, false);
    for (name, quantity) in &limits {
        let field = key_path(&limits_path, name);
        errs.extend(validate_container_resource_name(name, &field));
        errs.extend(validate_quantity_value(name, quantity, &field));
        if is_huge_page(name) {
            limit_huge_pages = true;
            errs.extend(validate_huge_page_value(name, quantity, &field));
        }
        limit_cpu_or_memory |= name == "cpu" || name == "memory";
    }
    for (name, quantity) in &requests {
        let field = key_path(&requests_path, name);
        errs.extend(validate_container_resource_name(name, &field));
        errs.extend(validate_quantity_value(name, quantity, &field));
        match limits.get(name) {
            Some(limit) => {
                if quantity != limit && !is_overcommit_allowed(name) {
                    errs.push(FieldError::invalid(
                        &requests_path,
                        quantity.to_canonical_string(),
                        format!("must be equal to {name} limit of {}", limit.to_canonical_string()),
                    ));
                } else if quantity > limit {
                    errs.push(FieldError::invalid(
                        &requests_path,
                        quantity.to_canonical_string(),
                        format!("must be less than or equal to {name} limit of {}", limit.to_canonical_string()),
                    ));
                }
            }
            None if !is_overcommit_allowed(name) => {
                errs.push(FieldError::required(&limits_path, "Limit must be set for non overcommitable resources"));
            }
            None => {}
        }
        if is_huge_page(name) {
            request_huge_pages = true;
            errs.extend(validate_huge_page_value(name, quantity, &field));
        }
        request_cpu_or_memory |= name == "cpu" || name == "memory";
    }
    if !limit_cpu_or_memory && !request_cpu_or_memory && (limit_huge_pages || request_huge_pages) {
        errs.push(FieldError::forbidden(path, "HugePages require cpu or memory"));
    }
    let claims_path = child_path(path, "claims");
    let mut seen = BTreeSet::new();
    for (i, claim) in requirements.claims.iter().flatten().enumerate() {
        let claim_path = index_path(&claims_path, i);
        if claim.name.is_empty() {
            errs.push(FieldError::required(claim_path, ""));
            continue;
        }
        if !seen.insert(claim.name.clone()) {
            errs.push(FieldError::duplicate(&claim_path, &claim.name));
        }
        if !pod_claim_names.contains(&claim.name) {
            let mut e = FieldError::not_found(&claim_path, &claim.name);
            e.detail = if pod_claim_names.is_empty() {
                "must be one of the names in pod.spec.resourceClaims which is empty".into()
            } else {
                let names: Vec<&str> = pod_claim_names.iter().map(String::as_str).collect();
                format!("must be one of the names in pod.spec.resourceClaims: {}", names.join(", "))
            };
            errs.push(e);
        }
    }
    errs
}

/// Huge page amounts must be whole multiples of the page size in the name.
fn validate_huge_page_value(name: &str, quantity: &Quantity, path: &str) -> ErrorList {
    let page = name.strip_prefix("hugepages-").and_then(|size| Quantity::parse(size).ok());
    let divisible = page.is_some_and(|p| p.sign() > 0 && quantity.value() % p.value().max(1) == 0);
    if divisible {
        return Vec::new();
    }
    let text = quantity.to_canonical_string();
    vec![FieldError::invalid(path, &text, format!("{text} is not positive integer multiple of {name}"))]
}
