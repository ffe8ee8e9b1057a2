//! Field validation errors and the name, label and metadata rules shared by every resource.
//!
//! This follows upstream `k8s.io/apimachinery/pkg/util/validation` (the `Is…`
//! functions return the list of problems, empty when the value is valid),
//! `util/validation/field` (the error type and its rendering) and
//! `api/validation/objectmeta.go`. Messages are upstream's, word for word:
//! clients and users read them.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

mod field_error;

pub use field_error::*;

use field_error::go_is_print;

/// Maximum length of a DNS-1123 label (and of a DNS-1035 label).
pub const DNS1123_LABEL_MAX_LENGTH: usize = 63;
/// Maximum length of a DNS-1123 subdomain.
pub const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;
/// Maximum length of the name part of a qualified name.
pub const QUALIFIED_NAME_MAX_LENGTH: usize = 63;
/// Maximum length of a label value.
pub const LABEL_VALUE_MAX_LENGTH: usize = 63;
/// Maximum total size, in bytes, of all annotation keys and values of one object.
pub const TOTAL_ANNOTATION_SIZE_LIMIT_BYTES: usize = 256 * 1024;
/// Maximum length of `managedFields[].manager`.
pub const FIELD_MANAGER_MAX_LENGTH: usize = 128;
/// Maximum length of `managedFields[].subresource`.
pub const MAX_SUBRESOURCE_NAME_LENGTH: usize = 256;

// ---------------------------------------------------------------------------
// Format checks (upstream util/validation)
// ---------------------------------------------------------------------------

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_ERR_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1035_LABEL_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1035_LABEL_ERR_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_ERR_MSG: &str =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/// Upstream `MaxLenError`.
pub fn max_len_error(length: usize) -> String {
    format!("must be no more than {length} characters")
}

/// Upstream `EmptyError`.
pub fn empty_error() -> &'static str {
    "must be non-empty"
}

/// Upstream `RegexError`: the message, the examples and the pattern.
pub fn regex_error(msg: &str, pattern: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{pattern}')");
    }
    let mut s = format!("{msg} (e.g. ");
    for (i, example) in examples.iter().enumerate() {
        if i > 0 {
            s.push_str(" or ");
        }
        s.push('\'');
        s.push_str(example);
        s.push_str("', ");
    }
    s.push_str("regex used for validation is '");
    s.push_str(pattern);
    s.push_str("')");
    s
}

/// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$` (when `first_alpha`, the first must be `[a-z]`).
fn matches_dns_label(s: &str, first_alpha: bool) -> bool {
    let b = s.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return false;
    };
    let first_ok = if first_alpha { first.is_ascii_lowercase() } else { is_lower_alnum(first) };
    first_ok && is_lower_alnum(last) && b.iter().all(|&c| is_lower_alnum(c) || c == b'-')
}

fn is_lower_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn matches_dns1123_subdomain(s: &str) -> bool {
    s.split('.').all(|label| matches_dns_label(label, false))
}

/// `^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`
fn matches_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return false;
    };
    first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Whether `value` is a DNS (RFC 1123) label: lowercase alphanumerics and '-', at most 63 characters.
pub fn is_dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_LABEL_MAX_LENGTH));
    }
    if !matches_dns_label(value, false) {
        if matches_dns1123_subdomain(value) {
            // A valid subdomain but not a label: the only difference left is dots.
            errs.push("must not contain dots".to_string());
        } else {
            errs.push(regex_error(DNS1123_LABEL_ERR_MSG, DNS1123_LABEL_FMT, &["my-name", "123-abc"]));
        }
    }
    errs
}

/// Whether `value` is a DNS (RFC 1123) subdomain: dot-separated labels, at most 253 characters.
pub fn is_dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !matches_dns1123_subdomain(value) {
        errs.push(regex_error(DNS1123_SUBDOMAIN_ERR_MSG, DNS1123_SUBDOMAIN_FMT, &["example.com"]));
    }
    errs
}

/// Whether `value` is a DNS (RFC 1035) label: like RFC 1123 but starting with a letter.
pub fn is_dns1035_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_LABEL_MAX_LENGTH));
    }
    if !matches_dns_label(value, true) {
        errs.push(regex_error(DNS1035_LABEL_ERR_MSG, DNS1035_LABEL_FMT, &["my-name", "abc-123"]));
    }
    errs
}

/// Whether `value` is a qualified name (label key, annotation key, finalizer):
/// an optional DNS-1123 subdomain prefix and '/', then a name of at most 63
/// alphanumerics, '-', '_' or '.', starting and ending alphanumeric.
pub fn is_qualified_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push(format!("prefix part {}", empty_error()));
            } else {
                errs.extend(is_dns1123_subdomain(prefix).into_iter().map(|m| format!("prefix part {m}")));
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(QUALIFIED_NAME_ERR_MSG, QUALIFIED_NAME_FMT, &["MyName", "my.name", "123-abc"])
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push(format!("name part {}", empty_error()));
    } else if name.len() > QUALIFIED_NAME_MAX_LENGTH {
        errs.push(format!("name part {}", max_len_error(QUALIFIED_NAME_MAX_LENGTH)));
    }
    if !matches_qualified_name_part(name) {
        errs.push(format!(
            "name part {}",
            regex_error(QUALIFIED_NAME_ERR_MSG, QUALIFIED_NAME_FMT, &["MyName", "my.name", "123-abc"])
        ));
    }
    errs
}

/// Whether `value` is a label value: empty, or at most 63 alphanumerics, '-', '_'
/// or '.', starting and ending alphanumeric.
pub fn is_valid_label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_VALUE_MAX_LENGTH {
        errs.push(max_len_error(LABEL_VALUE_MAX_LENGTH));
    }
    if !value.is_empty() && !matches_qualified_name_part(value) {
        errs.push(regex_error(LABEL_VALUE_ERR_MSG, LABEL_VALUE_FMT, &["MyValue", "my_value", "12345"]));
    }
    errs
}

/// Whether `name` can be used as one segment of a URL path (or storage key).
pub fn is_path_segment_name(name: &str) -> Vec<String> {
    for illegal in [".", ".."] {
        if name == illegal {
            return vec![format!("may not be '{illegal}'")];
        }
    }
    is_path_segment_prefix(name)
}

/// Whether `prefix` can start a path-segment name (a generated suffix follows it).
pub fn is_path_segment_prefix(prefix: &str) -> Vec<String> {
    ["/", "%"]
        .iter()
        .filter(|illegal| prefix.contains(**illegal))
        .map(|illegal| format!("may not contain '{illegal}'"))
        .collect()
}

// ---------------------------------------------------------------------------
// Labels, annotations, names, object metadata
// ---------------------------------------------------------------------------

/// Validates label keys (qualified names) and values; errors point at `path`.
pub fn validate_labels(labels: &BTreeMap<String, String>, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    for (key, value) in labels {
        errs.extend(validate_label_name(key, path));
        for msg in is_valid_label_value(value) {
            errs.push(FieldError::invalid(path, value, msg));
        }
    }
    errs
}

/// Validates one label key (a qualified name).
pub fn validate_label_name(key: &str, path: &str) -> ErrorList {
    is_qualified_name(key).into_iter().map(|msg| FieldError::invalid(path, key, msg)).collect()
}

/// Validates annotation keys (qualified names, case-insensitive) and their total size.
pub fn validate_annotations(annotations: &BTreeMap<String, String>, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    for key in annotations.keys() {
        // A qualified name, except that case does not matter.
        for msg in is_qualified_name(&key.to_lowercase()) {
            errs.push(FieldError::invalid(path, key, msg));
        }
    }
    if annotations_size(annotations) > TOTAL_ANNOTATION_SIZE_LIMIT_BYTES {
        errs.push(FieldError::too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT_BYTES));
    }
    errs
}

/// Total bytes of annotation keys and values, as counted against the 256 KiB limit.
pub fn annotations_size(annotations: &BTreeMap<String, String>) -> usize {
    annotations.iter().map(|(k, v)| k.len() + v.len()).sum()
}

/// Which format a kind's `metadata.name` must follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NameRule {
    /// Most kinds (upstream `NameIsDNSSubdomain`).
    Dns1123Subdomain,
    /// Namespaces, and kinds whose name becomes a DNS label (`NameIsDNSLabel`).
    Dns1123Label,
    /// Services (`NameIsDNS1035Label`).
    Dns1035Label,
    /// Kinds that only need a safe URL path segment (RBAC roles, …).
    PathSegment,
}

impl NameRule {
    /// The problems with `name`; with `prefix`, `name` is a `generateName` that a
    /// random suffix will complete (upstream `ValidateNameFunc(name, prefix)`).
    pub fn check(self, name: &str, prefix: bool) -> Vec<String> {
        match self {
            NameRule::PathSegment => {
                if prefix {
                    is_path_segment_prefix(name)
                } else {
                    is_path_segment_name(name)
                }
            }
            rule => {
                let masked;
                let name = if prefix {
                    masked = mask_trailing_dash(name);
                    masked.as_str()
                } else {
                    name
                };
                match rule {
                    NameRule::Dns1123Label => is_dns1123_label(name),
                    NameRule::Dns1035Label => is_dns1035_label(name),
                    _ => is_dns1123_subdomain(name),
                }
            }
        }
    }
}

/// Upstream `maskTrailingDash`: a generateName may end in '-' because a suffix
/// follows. Reproduced as upstream does it (the last two characters become one
/// 'a'), since that decides which prefixes validate.
fn mask_trailing_dash(name: &str) -> String {
    if name.len() > 1 && name.ends_with('-') {
        let mut cut = name.len() - 2;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}a", &name[..cut])
    } else {
        name.to_string()
    }
}

/// Validates an object name against `rule`; an empty name is a required-value error.
pub fn validate_object_name(name: &str, rule: NameRule, path: &str) -> ErrorList {
    if name.is_empty() {
        return vec![FieldError::required(path, "name or generateName is required")];
    }
    rule.check(name, false).into_iter().map(|msg| FieldError::invalid(path, name, msg)).collect()
}

/// Validates a namespace name (a DNS-1123 label).
pub fn validate_namespace_name(namespace: &str, path: &str) -> ErrorList {
    if namespace.is_empty() {
        return vec![FieldError::required(path, "")];
    }
    is_dns1123_label(namespace).into_iter().map(|msg| FieldError::invalid(path, namespace, msg)).collect()
}

/// Validates `metadata` of an object being created (upstream `ValidateObjectMeta`
/// with `metadata` as the root path).
///
/// Name generation may not have happened yet: an empty `name` is accepted when
/// `generateName` is set, and `generateName` is checked as a prefix.
pub fn validate_object_meta(meta: &ObjectMeta, namespaced: bool, rule: NameRule) -> ErrorList {
    let path = "metadata";
    let mut errs = ErrorList::new();
    let name = meta.name.as_deref().unwrap_or("");
    let generate_name = meta.generate_name.as_deref().unwrap_or("");

    if !generate_name.is_empty() {
        let field = child_path(path, "generateName");
        for msg in rule.check(generate_name, true) {
            errs.push(FieldError::invalid(&field, generate_name, msg));
        }
    }
    let name_field = child_path(path, "name");
    if name.is_empty() {
        if generate_name.is_empty() {
            errs.push(FieldError::required(name_field, "name or generateName is required"));
        }
    } else {
        errs.extend(validate_object_name(name, rule, &name_field));
    }

    let namespace = meta.namespace.as_deref().unwrap_or("");
    let namespace_field = child_path(path, "namespace");
    if namespaced {
        errs.extend(validate_namespace_name(namespace, &namespace_field));
    } else if !namespace.is_empty() {
        errs.push(FieldError::forbidden(namespace_field, "not allowed on this type"));
    }

    if let Some(generation) = meta.generation.filter(|g| *g < 0) {
        errs.push(FieldError::invalid(
            child_path(path, "generation"),
            generation,
            "must be greater than or equal to 0",
        ));
    }
    if let Some(labels) = &meta.labels {
        errs.extend(validate_labels(labels, &child_path(path, "labels")));
    }
    if let Some(annotations) = &meta.annotations {
        errs.extend(validate_annotations(annotations, &child_path(path, "annotations")));
    }
    if let Some(owners) = &meta.owner_references {
        errs.extend(validate_owner_references(owners, &child_path(path, "ownerReferences")));
    }
    if let Some(finalizers) = &meta.finalizers {
        errs.extend(validate_finalizers(finalizers, &child_path(path, "finalizers")));
    }
    if let Some(managed) = &meta.managed_fields {
        errs.extend(validate_managed_fields(managed, &child_path(path, "managedFields")));
    }
    errs
}

/// Splits an apiVersion as upstream `schema.ParseGroupVersion`; `None` when malformed.
fn parse_group_version(api_version: &str) -> Option<(&str, &str)> {
    if api_version.is_empty() || api_version == "/" {
        return Some(("", ""));
    }
    match api_version.matches('/').count() {
        0 => Some(("", api_version)),
        1 => api_version.split_once('/'),
        _ => None,
    }
}

/// Validates owner references: apiVersion, kind, name and uid set, events never
/// owners, at most one reference with `controller: true`.
pub fn validate_owner_references(owners: &[OwnerReference], path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut first_controller: Option<String> = None;
    for owner in owners {
        let (group, version) = parse_group_version(&owner.api_version).unwrap_or(("", ""));
        if version.is_empty() {
            errs.push(FieldError::invalid(
                child_path(path, "apiVersion"),
                &owner.api_version,
                "version must not be empty",
            ));
        }
        for (field, value) in [("kind", &owner.kind), ("name", &owner.name), ("uid", &owner.uid)] {
            if value.is_empty() {
                errs.push(FieldError::invalid(child_path(path, field), value, "must not be empty"));
            }
        }
        if group.is_empty() && version == "v1" && owner.kind == "Event" {
            // Upstream prints the whole reference as a Go struct; omitted here.
            errs.push(FieldError::invalid_value_omitted(path, "/v1, Kind=Event is disallowed from being an owner"));
        }
        if owner.controller == Some(true) {
            let current = format!("{}/{}", owner.kind, owner.name);
            match &first_controller {
                Some(first) => errs.push(FieldError::invalid_value_omitted(
                    path,
                    format!(
                        "Only one reference can have Controller set to true. Found \"true\" in references for {first} and {current}"
                    ),
                )),
                None => first_controller = Some(current),
            }
        }
    }
    errs
}

/// Validates finalizer names (qualified names) and that `orphan` and
/// `foregroundDeletion` are not both set.
pub fn validate_finalizers(finalizers: &[String], path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    for finalizer in finalizers {
        for msg in is_qualified_name(finalizer) {
            errs.push(FieldError::invalid(path, finalizer, msg));
        }
    }
    let has = |f: &str| finalizers.iter().any(|x| x == f);
    if has("orphan") && has("foregroundDeletion") {
        errs.push(FieldError::invalid(path, finalizers, "finalizer orphan and foregroundDeletion cannot be both set"));
    }
    errs
}

/// Validates `managedFields` entries: operation, fieldsType, manager and subresource.
pub fn validate_managed_fields(
    entries: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry],
    path: &str,
) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, entry) in entries.iter().enumerate() {
        let entry_path = index_path(path, i);
        let operation = entry.operation.as_deref().unwrap_or("");
        if operation != "Apply" && operation != "Update" {
            errs.push(FieldError::invalid(
                child_path(&entry_path, "operation"),
                operation,
                "must be `Apply` or `Update`",
            ));
        }
        let fields_type = entry.fields_type.as_deref().unwrap_or("");
        if !fields_type.is_empty() && fields_type != "FieldsV1" {
            errs.push(FieldError::invalid(child_path(&entry_path, "fieldsType"), fields_type, "must be `FieldsV1`"));
        }
        let manager = entry.manager.as_deref().unwrap_or("");
        let manager_path = child_path(&entry_path, "manager");
        if manager.len() > FIELD_MANAGER_MAX_LENGTH {
            errs.push(FieldError::too_long(&manager_path, FIELD_MANAGER_MAX_LENGTH));
        }
        for (pos, c) in manager.char_indices() {
            if !go_is_print(c) {
                errs.push(FieldError::invalid(
                    &manager_path,
                    manager,
                    format!("invalid character U+{:04X} (at position {pos})", c as u32),
                ));
            }
        }
        if entry.subresource.as_deref().unwrap_or("").len() > MAX_SUBRESOURCE_NAME_LENGTH {
            errs.push(FieldError::too_long(child_path(&entry_path, "subresource"), MAX_SUBRESOURCE_NAME_LENGTH));
        }
    }
    errs
}

#[cfg(test)]
mod tests;
