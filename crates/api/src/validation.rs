//! Field validation errors and the name, label and metadata rules shared by every resource.
//!
//! This follows upstream `k8s.io/apimachinery/pkg/util/validation` (the `Is…`
//! functions return the list of problems, empty when the value is valid),
//! `util/validation/field` (the error type and its rendering) and
//! `api/validation/objectmeta.go`. Messages are upstream's, word for word:
//! clients and users read them.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

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

/// Why a field is invalid; one to one with `metav1.CauseType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorType {
    Invalid,
    Required,
    Duplicate,
    NotFound,
    NotSupported,
    Forbidden,
    TooLong,
    TooMany,
    Internal,
}

impl ErrorType {
    /// The `metav1.CauseType` (`reason` of a status cause).
    pub fn reason(self) -> &'static str {
        match self {
            ErrorType::Invalid => "FieldValueInvalid",
            ErrorType::Required => "FieldValueRequired",
            ErrorType::Duplicate => "FieldValueDuplicate",
            ErrorType::NotFound => "FieldValueNotFound",
            ErrorType::NotSupported => "FieldValueNotSupported",
            ErrorType::Forbidden => "FieldValueForbidden",
            ErrorType::TooLong => "FieldValueTooLong",
            ErrorType::TooMany => "FieldValueTooMany",
            ErrorType::Internal => "InternalError",
        }
    }

    /// The human phrase upstream prints for the type (`ErrorType.String()`).
    pub fn phrase(self) -> &'static str {
        match self {
            ErrorType::Invalid => "Invalid value",
            ErrorType::Required => "Required value",
            ErrorType::Duplicate => "Duplicate value",
            ErrorType::NotFound => "Not found",
            ErrorType::NotSupported => "Unsupported value",
            ErrorType::Forbidden => "Forbidden",
            ErrorType::TooLong => "Too long",
            ErrorType::TooMany => "Too many",
            ErrorType::Internal => "Internal error",
        }
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.phrase())
    }
}

/// One field-level validation error (upstream `field.Error`).
///
/// `bad_value` holds the value *as upstream renders it* in the message: a string
/// Go-quoted (`"Foo"`), a number bare (`-1`), a list in Go syntax
/// (`[]string{"a", "b"}`); `None` when the message carries no value. The
/// constructors do the rendering; build the struct by hand only with an
/// already rendered value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub error_type: ErrorType,
    pub field: String,
    pub bad_value: Option<String>,
    pub detail: String,
}

/// A list of field errors; empty means valid.
pub type ErrorList = Vec<FieldError>;

/// A value that can appear in a field error, rendered as upstream's `%q` / `%v`.
pub trait BadValue {
    /// The value as it appears in the message.
    fn render(&self) -> String;
}

impl BadValue for str {
    fn render(&self) -> String {
        go_quote(self)
    }
}

impl BadValue for String {
    fn render(&self) -> String {
        go_quote(self)
    }
}

impl<T: BadValue + ?Sized> BadValue for &T {
    fn render(&self) -> String {
        (**self).render()
    }
}

macro_rules! bare_bad_value {
    ($($t:ty),*) => {$(
        impl BadValue for $t {
            fn render(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
bare_bad_value!(i8, i16, i32, i64, u8, u16, u32, u64, usize, isize, bool);

/// A list of strings, rendered as Go's `%#v` of a `[]string`.
impl BadValue for [String] {
    fn render(&self) -> String {
        go_string_slice(self)
    }
}

impl BadValue for Vec<String> {
    fn render(&self) -> String {
        go_string_slice(self)
    }
}

impl FieldError {
    fn new(
        error_type: ErrorType,
        field: impl Into<String>,
        bad_value: Option<String>,
        detail: impl Into<String>,
    ) -> Self {
        FieldError { error_type, field: field.into(), bad_value, detail: detail.into() }
    }

    /// A malformed value (failed format check, out of range …).
    pub fn invalid(field: impl Into<String>, value: impl BadValue, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Invalid, field, Some(value.render()), detail)
    }

    /// Like [`FieldError::invalid`] but without the value in the message.
    pub fn invalid_value_omitted(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Invalid, field, None, detail)
    }

    /// A required value is missing.
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Required, field, None, detail)
    }

    /// A value that must be unique is not.
    pub fn duplicate(field: impl Into<String>, value: impl BadValue) -> Self {
        Self::new(ErrorType::Duplicate, field, Some(value.render()), "")
    }

    /// A referenced value does not exist.
    pub fn not_found(field: impl Into<String>, value: impl BadValue) -> Self {
        Self::new(ErrorType::NotFound, field, Some(value.render()), "")
    }

    /// A value outside an enumeration; `valid` lists the accepted values.
    pub fn not_supported<S: AsRef<str>>(field: impl Into<String>, value: impl BadValue, valid: &[S]) -> Self {
        let detail = if valid.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = valid.iter().map(|v| go_quote(v.as_ref())).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(ErrorType::NotSupported, field, Some(value.render()), detail)
    }

    /// A well-formed value that is not allowed here.
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Forbidden, field, None, detail)
    }

    /// A value longer than `max_bytes`; the value itself is never printed.
    pub fn too_long(field: impl Into<String>, max_bytes: usize) -> Self {
        let unit = if max_bytes == 1 { "byte" } else { "bytes" };
        Self::new(ErrorType::TooLong, field, None, format!("may not be more than {max_bytes} {unit}"))
    }

    /// A value that is too long, when no limit is worth stating.
    pub fn too_long_unbounded(field: impl Into<String>) -> Self {
        Self::new(ErrorType::TooLong, field, None, "value is too long")
    }

    /// A list with more than `max` items (`actual` items, when known).
    pub fn too_many(field: impl Into<String>, actual: Option<usize>, max: Option<usize>) -> Self {
        let detail = match max {
            Some(max) => format!("must have at most {max} items"),
            None => "has too many items".to_string(),
        };
        Self::new(ErrorType::TooMany, field, actual.map(|a| a.to_string()), detail)
    }

    /// A failure unrelated to the input.
    pub fn internal(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Internal, field, None, detail)
    }

    /// The `metav1.CauseType` of this error ("FieldValueInvalid", …).
    pub fn reason(&self) -> &'static str {
        self.error_type.reason()
    }

    /// The message without the field path (upstream `ErrorBody()`), as used in
    /// `status.details.causes[].message`.
    pub fn body(&self) -> String {
        let mut s = String::from(self.error_type.phrase());
        let shows_value = !matches!(
            self.error_type,
            ErrorType::Required | ErrorType::Forbidden | ErrorType::TooLong | ErrorType::Internal
        );
        if let Some(value) = self.bad_value.as_ref().filter(|_| shows_value) {
            s.push_str(": ");
            s.push_str(value);
        }
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

impl std::error::Error for FieldError {}

/// The message of a whole list, as upstream's `ErrorList.ToAggregate().Error()`:
/// one error alone, several as `[a, b]`, duplicates dropped, empty for none.
pub fn aggregate_message(errors: &[FieldError]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for e in errors {
        let msg = e.to_string();
        if !seen.contains(&msg) {
            seen.push(msg);
        }
    }
    match seen.len() {
        0 => String::new(),
        1 => seen.remove(0),
        _ => format!("[{}]", seen.join(", ")),
    }
}

/// `parent.child`, or `child` at the root (upstream `Path.Child`).
pub fn child_path(parent: &str, child: &str) -> String {
    if parent.is_empty() { child.to_string() } else { format!("{parent}.{child}") }
}

/// `parent[index]` (upstream `Path.Index`).
pub fn index_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// `parent[key]` (upstream `Path.Key`).
pub fn key_path(parent: &str, key: &str) -> String {
    format!("{parent}[{key}]")
}

// ---------------------------------------------------------------------------
// Go rendering helpers
// ---------------------------------------------------------------------------

/// Go's `strconv.Quote` / `%q`: double quotes, backslash escapes, non-printable
/// characters as `\x`, `\u` or `\U` escapes.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if go_is_print(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `strconv.IsPrint`: everything but control and
/// format characters, separators other than the ASCII space, private-use code
/// points and non-characters.
fn go_is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    let format_or_private = matches!(
        u,
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0xE000..=0xF8FF
            | 0xFDD0..=0xFDEF
            | 0x110BD
            | 0x110CD
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
            | 0xF0000..
    );
    let non_character = (u & 0xFFFE) == 0xFFFE;
    !(format_or_private || non_character)
}

/// Go's `%#v` of a `[]string`.
fn go_string_slice(values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| go_quote(v)).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

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
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;

    const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
    const NAME_PART_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

    fn meta() -> ObjectMeta {
        ObjectMeta { name: Some("good".into()), namespace: Some("default".into()), ..Default::default() }
    }

    fn messages(errs: &ErrorList) -> Vec<String> {
        errs.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn display_matches_upstream_error_string() {
        let e = FieldError::invalid("metadata.name", "Foo", SUBDOMAIN_MSG);
        assert_eq!(e.to_string(), format!("metadata.name: Invalid value: \"Foo\": {SUBDOMAIN_MSG}"));
        let e = FieldError::required("metadata.name", "name or generateName is required");
        assert_eq!(e.to_string(), "metadata.name: Required value: name or generateName is required");
        assert_eq!(FieldError::required("metadata.namespace", "").to_string(), "metadata.namespace: Required value");
        assert_eq!(
            FieldError::forbidden("metadata.namespace", "not allowed on this type").to_string(),
            "metadata.namespace: Forbidden: not allowed on this type"
        );
        assert_eq!(
            FieldError::too_long("metadata.annotations", 262144).to_string(),
            "metadata.annotations: Too long: may not be more than 262144 bytes"
        );
        assert_eq!(FieldError::too_long("x", 1).to_string(), "x: Too long: may not be more than 1 byte");
        assert_eq!(FieldError::too_long_unbounded("x").to_string(), "x: Too long: value is too long");
        assert_eq!(
            FieldError::not_supported("spec.restartPolicy", "Sometimes", &["Always", "Never", "OnFailure"]).to_string(),
            "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"Never\", \"OnFailure\""
        );
        assert_eq!(
            FieldError::not_supported::<&str>("x", "y", &[]).to_string(),
            "x: Unsupported value: \"y\"",
            "no valid values means no detail"
        );
        assert_eq!(
            FieldError::duplicate("spec.containers[1].name", "app").to_string(),
            "spec.containers[1].name: Duplicate value: \"app\""
        );
        assert_eq!(FieldError::not_found("spec.x", "y").to_string(), "spec.x: Not found: \"y\"");
        assert_eq!(
            FieldError::too_many("spec.items", Some(5), Some(3)).to_string(),
            "spec.items: Too many: 5: must have at most 3 items"
        );
        assert_eq!(
            FieldError::too_many("spec.items", None, None).to_string(),
            "spec.items: Too many: has too many items"
        );
        assert_eq!(FieldError::internal("metadata.name", "boom").to_string(), "metadata.name: Internal error: boom");
        assert_eq!(
            FieldError::invalid("spec.replicas", -1i32, "must be greater than or equal to 0").to_string(),
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0"
        );
        assert_eq!(FieldError::invalid("spec.x", true, "").to_string(), "spec.x: Invalid value: true");
        assert_eq!(FieldError::invalid_value_omitted("a", "b").to_string(), "a: Invalid value: b");
    }

    #[test]
    fn reasons_are_metav1_cause_types() {
        let cases = [
            (FieldError::invalid("f", "v", ""), "FieldValueInvalid"),
            (FieldError::required("f", ""), "FieldValueRequired"),
            (FieldError::duplicate("f", "v"), "FieldValueDuplicate"),
            (FieldError::not_found("f", "v"), "FieldValueNotFound"),
            (FieldError::not_supported::<&str>("f", "v", &[]), "FieldValueNotSupported"),
            (FieldError::forbidden("f", ""), "FieldValueForbidden"),
            (FieldError::too_long("f", 3), "FieldValueTooLong"),
            (FieldError::too_many("f", None, Some(1)), "FieldValueTooMany"),
            (FieldError::internal("f", "x"), "InternalError"),
        ];
        for (err, reason) in cases {
            assert_eq!(err.reason(), reason, "reason of {err}");
        }
    }

    #[test]
    fn body_omits_field_path() {
        let e = FieldError::invalid("metadata.name", "a", "bad");
        assert_eq!(e.body(), "Invalid value: \"a\": bad");
    }

    #[test]
    fn values_are_go_quoted() {
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("tab\there\n"), r#""tab\there\n""#);
        assert_eq!(go_quote("\u{1}\u{7f}"), r#""\x01\x7f""#);
        assert_eq!(go_quote("é日本"), "\"é日本\"");
        assert_eq!(go_quote("\u{ad}\u{feff}"), r#""\u00ad\ufeff""#);
        assert_eq!(go_quote("\u{f0000}"), r#""\U000f0000""#);
        assert_eq!(go_quote("\u{a0}"), r#""\u00a0""#);
        assert_eq!(vec!["orphan".to_string(), "x".to_string()].render(), r#"[]string{"orphan", "x"}"#);
    }

    #[test]
    fn aggregate_joins_and_dedups() {
        assert_eq!(aggregate_message(&[]), "");
        let a = FieldError::required("a", "");
        let b = FieldError::required("b", "");
        assert_eq!(aggregate_message(std::slice::from_ref(&a)), "a: Required value");
        assert_eq!(aggregate_message(&[a.clone(), b, a]), "[a: Required value, b: Required value]");
    }

    #[test]
    fn dns1123_label_rules_and_messages() {
        for ok in ["a", "0", "my-name", "123-abc", "a-1-b", &"a".repeat(63)] {
            assert!(is_dns1123_label(ok).is_empty(), "{ok:?} should be a valid label");
        }
        assert_eq!(is_dns1123_label("Foo"), vec![LABEL_MSG.to_string()]);
        assert_eq!(is_dns1123_label(""), vec![LABEL_MSG.to_string()]);
        assert_eq!(is_dns1123_label("-a"), vec![LABEL_MSG.to_string()]);
        assert_eq!(is_dns1123_label("a-"), vec![LABEL_MSG.to_string()]);
        assert_eq!(is_dns1123_label("a.b"), vec!["must not contain dots".to_string()]);
        assert_eq!(is_dns1123_label(&"a".repeat(64)), vec!["must be no more than 63 characters".to_string()]);
        assert_eq!(
            is_dns1123_label(&format!("{}_", "a".repeat(64))),
            vec!["must be no more than 63 characters".to_string(), LABEL_MSG.to_string()]
        );
    }

    #[test]
    fn dns1123_subdomain_rules_and_messages() {
        let label63 = "a".repeat(63);
        let max = format!("{label63}.{label63}.{label63}.{}", "a".repeat(61));
        assert_eq!(max.len(), 253);
        for ok in ["a", "example.com", "a-b.c-d", "0.0", max.as_str()] {
            assert!(is_dns1123_subdomain(ok).is_empty(), "{ok:?} should be a valid subdomain");
        }
        for bad in ["", "A", ".a", "a.", "a..b", "a_b", "-a.b", "a.-b", "ü"] {
            assert_eq!(is_dns1123_subdomain(bad), vec![SUBDOMAIN_MSG.to_string()], "{bad:?}");
        }
        let too_long = format!("{max}a");
        assert_eq!(is_dns1123_subdomain(&too_long), vec!["must be no more than 253 characters".to_string()]);
    }

    #[test]
    fn dns1035_label_rules_and_messages() {
        assert!(is_dns1035_label("my-name").is_empty());
        assert!(is_dns1035_label("abc-123").is_empty());
        assert_eq!(is_dns1035_label("1abc"), vec![DNS1035_MSG.to_string()]);
        assert_eq!(is_dns1035_label("a.b"), vec![DNS1035_MSG.to_string()]);
        assert_eq!(is_dns1035_label(&"a".repeat(64)), vec!["must be no more than 63 characters".to_string()]);
    }

    #[test]
    fn qualified_name_rules_and_messages() {
        for ok in ["a", "MyName", "my.name", "123-abc", "example.com/MyName", "a/b", &"a".repeat(63)] {
            assert!(is_qualified_name(ok).is_empty(), "{ok:?} should be a qualified name");
        }
        assert_eq!(is_qualified_name(""), vec!["name part must be non-empty".to_string(), NAME_PART_MSG.to_string()]);
        assert_eq!(is_qualified_name("a_"), vec![NAME_PART_MSG.to_string()]);
        assert_eq!(
            is_qualified_name(&"a".repeat(64)),
            vec!["name part must be no more than 63 characters".to_string()]
        );
        assert_eq!(is_qualified_name("/a"), vec!["prefix part must be non-empty".to_string()]);
        assert_eq!(is_qualified_name("Example.com/a"), vec![format!("prefix part {SUBDOMAIN_MSG}")]);
        assert_eq!(
            is_qualified_name("example.com/"),
            vec!["name part must be non-empty".to_string(), NAME_PART_MSG.to_string()]
        );
        assert_eq!(
            is_qualified_name("a/b/c"),
            vec!["a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')".to_string()]
        );
        // The prefix may be as long as a subdomain, only the name part is limited to 63.
        let prefix = format!("{}.com", "a".repeat(60));
        assert!(is_qualified_name(&format!("{prefix}/{}", "b".repeat(63))).is_empty());
    }

    #[test]
    fn label_value_rules_and_messages() {
        for ok in ["", "a", "MyValue", "my_value", "12345", "a.b-c_d", &"v".repeat(63)] {
            assert!(is_valid_label_value(ok).is_empty(), "{ok:?} should be a label value");
        }
        for bad in ["-a", "a-", "a b", "a/b", "ä"] {
            assert_eq!(is_valid_label_value(bad), vec![LABEL_VALUE_MSG.to_string()], "{bad:?}");
        }
        assert_eq!(is_valid_label_value(&"v".repeat(64)), vec!["must be no more than 63 characters".to_string()]);
    }

    #[test]
    fn path_segment_names() {
        assert!(is_path_segment_name("system:admin").is_empty());
        assert_eq!(is_path_segment_name("."), vec!["may not be '.'".to_string()]);
        assert_eq!(is_path_segment_name(".."), vec!["may not be '..'".to_string()]);
        assert_eq!(
            is_path_segment_name("a/b%c"),
            vec!["may not contain '/'".to_string(), "may not contain '%'".to_string()]
        );
        assert!(is_path_segment_prefix("..").is_empty(), "a prefix may be '..'");
    }

    #[test]
    fn labels_report_key_and_value_at_the_map_path() {
        let labels = BTreeMap::from([("a_".to_string(), "ok".to_string()), ("k".to_string(), "-bad".to_string())]);
        assert_eq!(
            messages(&validate_labels(&labels, "metadata.labels")),
            vec![
                format!("metadata.labels: Invalid value: \"a_\": {NAME_PART_MSG}"),
                format!("metadata.labels: Invalid value: \"-bad\": {LABEL_VALUE_MSG}"),
            ]
        );
    }

    #[test]
    fn annotation_keys_are_case_insensitive_and_size_limited() {
        let ok = BTreeMap::from([("Example.COM/Key".to_string(), "anything at all!".to_string())]);
        assert!(validate_annotations(&ok, "metadata.annotations").is_empty());
        let bad = BTreeMap::from([("bad key".to_string(), String::new())]);
        let errs = validate_annotations(&bad, "metadata.annotations");
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].bad_value.as_deref(), Some("\"bad key\""), "original key reported");

        let key = "k".to_string();
        let at_limit = BTreeMap::from([(key.clone(), "v".repeat(TOTAL_ANNOTATION_SIZE_LIMIT_BYTES - key.len()))]);
        assert!(validate_annotations(&at_limit, "metadata.annotations").is_empty(), "exactly 256 KiB is allowed");
        let over = BTreeMap::from([(key.clone(), "v".repeat(TOTAL_ANNOTATION_SIZE_LIMIT_BYTES - key.len() + 1))]);
        assert_eq!(
            messages(&validate_annotations(&over, "metadata.annotations")),
            vec!["metadata.annotations: Too long: may not be more than 262144 bytes".to_string()]
        );
    }

    #[test]
    fn object_name_rules() {
        assert!(validate_object_name("a.b", NameRule::Dns1123Subdomain, "metadata.name").is_empty());
        assert_eq!(
            messages(&validate_object_name("a.b", NameRule::Dns1123Label, "metadata.name")),
            vec!["metadata.name: Invalid value: \"a.b\": must not contain dots".to_string()]
        );
        assert_eq!(validate_object_name("1a", NameRule::Dns1035Label, "metadata.name").len(), 1);
        assert!(validate_object_name("system:node:x", NameRule::PathSegment, "metadata.name").is_empty());
        assert_eq!(
            messages(&validate_object_name("", NameRule::PathSegment, "metadata.name")),
            vec!["metadata.name: Required value: name or generateName is required".to_string()]
        );
        assert_eq!(
            messages(&validate_object_name("Foo", NameRule::Dns1123Subdomain, "metadata.name")),
            vec![format!("metadata.name: Invalid value: \"Foo\": {SUBDOMAIN_MSG}")]
        );
    }

    #[test]
    fn object_meta_valid() {
        assert!(validate_object_meta(&meta(), true, NameRule::Dns1123Subdomain).is_empty());
        let cluster = ObjectMeta { name: Some("n1".into()), ..Default::default() };
        assert!(validate_object_meta(&cluster, false, NameRule::Dns1123Subdomain).is_empty());
    }

    #[test]
    fn object_meta_requires_name_or_generate_name() {
        let m = ObjectMeta { namespace: Some("default".into()), ..Default::default() };
        assert_eq!(
            messages(&validate_object_meta(&m, true, NameRule::Dns1123Subdomain)),
            vec!["metadata.name: Required value: name or generateName is required".to_string()]
        );
        let m =
            ObjectMeta { generate_name: Some("web-".into()), namespace: Some("default".into()), ..Default::default() };
        assert!(validate_object_meta(&m, true, NameRule::Dns1123Subdomain).is_empty(), "trailing dash masked");
        let m =
            ObjectMeta { generate_name: Some("Web-".into()), namespace: Some("default".into()), ..Default::default() };
        assert_eq!(
            messages(&validate_object_meta(&m, true, NameRule::Dns1123Subdomain)),
            vec![format!("metadata.generateName: Invalid value: \"Web-\": {SUBDOMAIN_MSG}")]
        );
        // Upstream's mask drops two characters: "a.-" becomes "aa" … but "a-" becomes "a".
        assert_eq!(mask_trailing_dash("a-"), "a");
        assert_eq!(mask_trailing_dash("ab-"), "aa");
        assert_eq!(mask_trailing_dash("-"), "-");
        assert_eq!(mask_trailing_dash("é-"), "a", "never splits a character");
        let m = ObjectMeta { generate_name: Some("-".into()), namespace: Some("default".into()), ..Default::default() };
        assert_eq!(validate_object_meta(&m, true, NameRule::Dns1123Subdomain).len(), 1);
    }

    #[test]
    fn object_meta_namespace_rules() {
        let mut m = meta();
        m.namespace = None;
        assert_eq!(
            messages(&validate_object_meta(&m, true, NameRule::Dns1123Subdomain)),
            vec!["metadata.namespace: Required value".to_string()]
        );
        m.namespace = Some("Bad".into());
        assert_eq!(
            messages(&validate_object_meta(&m, true, NameRule::Dns1123Subdomain)),
            vec![format!("metadata.namespace: Invalid value: \"Bad\": {LABEL_MSG}")]
        );
        m.namespace = Some("default".into());
        assert_eq!(
            messages(&validate_object_meta(&m, false, NameRule::Dns1123Subdomain)),
            vec!["metadata.namespace: Forbidden: not allowed on this type".to_string()]
        );
    }

    #[test]
    fn object_meta_labels_annotations_generation() {
        let mut m = meta();
        m.labels = Some(BTreeMap::from([("app".into(), "-x".into())]));
        m.annotations = Some(BTreeMap::from([("a/b/c".into(), "".into())]));
        m.generation = Some(-1);
        let errs = validate_object_meta(&m, true, NameRule::Dns1123Subdomain);
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["metadata.generation", "metadata.labels", "metadata.annotations"]);
        assert_eq!(errs[0].to_string(), "metadata.generation: Invalid value: -1: must be greater than or equal to 0");
    }

    fn owner(kind: &str, name: &str, controller: Option<bool>) -> OwnerReference {
        OwnerReference {
            api_version: "apps/v1".into(),
            kind: kind.into(),
            name: name.into(),
            uid: "u1".into(),
            controller,
            block_owner_deletion: None,
        }
    }

    #[test]
    fn owner_references() {
        let mut m = meta();
        m.owner_references = Some(vec![owner("ReplicaSet", "a", Some(true)), owner("ReplicaSet", "b", Some(false))]);
        assert!(validate_object_meta(&m, true, NameRule::Dns1123Subdomain).is_empty());

        m.owner_references = Some(vec![owner("ReplicaSet", "a", Some(true)), owner("StatefulSet", "b", Some(true))]);
        assert_eq!(
            messages(&validate_object_meta(&m, true, NameRule::Dns1123Subdomain)),
            vec!["metadata.ownerReferences: Invalid value: Only one reference can have Controller set to true. Found \"true\" in references for ReplicaSet/a and StatefulSet/b".to_string()]
        );

        let empty = OwnerReference::default();
        assert_eq!(
            messages(&validate_owner_references(&[empty], "metadata.ownerReferences")),
            vec![
                "metadata.ownerReferences.apiVersion: Invalid value: \"\": version must not be empty".to_string(),
                "metadata.ownerReferences.kind: Invalid value: \"\": must not be empty".to_string(),
                "metadata.ownerReferences.name: Invalid value: \"\": must not be empty".to_string(),
                "metadata.ownerReferences.uid: Invalid value: \"\": must not be empty".to_string(),
            ]
        );
        let mut r = owner("Event", "e", None);
        r.api_version = "v1".into();
        assert_eq!(
            messages(&validate_owner_references(&[r], "p")),
            vec!["p: Invalid value: /v1, Kind=Event is disallowed from being an owner".to_string()]
        );
        let mut r = owner("X", "x", None);
        r.api_version = "a/b/c".into();
        assert_eq!(validate_owner_references(&[r], "p").len(), 1, "malformed apiVersion has no version");
        let mut r = owner("X", "x", None);
        r.api_version = "apps/".into();
        assert_eq!(validate_owner_references(&[r], "p").len(), 1, "group without version");
    }

    #[test]
    fn finalizers() {
        let mut m = meta();
        m.finalizers = Some(vec!["kubernetes.io/pv-protection".into(), "foregroundDeletion".into()]);
        assert!(validate_object_meta(&m, true, NameRule::Dns1123Subdomain).is_empty());
        m.finalizers = Some(vec!["bad finalizer".into()]);
        assert_eq!(
            messages(&validate_object_meta(&m, true, NameRule::Dns1123Subdomain)),
            vec![format!("metadata.finalizers: Invalid value: \"bad finalizer\": {NAME_PART_MSG}")]
        );
        m.finalizers = Some(vec!["orphan".into(), "foregroundDeletion".into()]);
        assert_eq!(
            messages(&validate_object_meta(&m, true, NameRule::Dns1123Subdomain)),
            vec!["metadata.finalizers: Invalid value: []string{\"orphan\", \"foregroundDeletion\"}: finalizer orphan and foregroundDeletion cannot be both set".to_string()]
        );
    }

    #[test]
    fn managed_fields() {
        let good = ManagedFieldsEntry {
            operation: Some("Apply".into()),
            fields_type: Some("FieldsV1".into()),
            manager: Some("kubectl".into()),
            ..Default::default()
        };
        assert!(validate_managed_fields(&[good], "metadata.managedFields").is_empty());
        let bad = ManagedFieldsEntry {
            operation: Some("Patch".into()),
            fields_type: Some("FieldsV2".into()),
            manager: Some(format!("{}\u{7}", "m".repeat(128))),
            subresource: Some("s".repeat(257)),
            ..Default::default()
        };
        let manager = format!("{}\u{7}", "m".repeat(128));
        assert_eq!(
            messages(&validate_managed_fields(&[bad], "metadata.managedFields")),
            vec![
                "metadata.managedFields[0].operation: Invalid value: \"Patch\": must be `Apply` or `Update`"
                    .to_string(),
                "metadata.managedFields[0].fieldsType: Invalid value: \"FieldsV2\": must be `FieldsV1`".to_string(),
                "metadata.managedFields[0].manager: Too long: may not be more than 128 bytes".to_string(),
                format!(
                    "metadata.managedFields[0].manager: Invalid value: {}: invalid character U+0007 (at position 128)",
                    go_quote(&manager)
                ),
                "metadata.managedFields[0].subresource: Too long: may not be more than 256 bytes".to_string(),
            ]
        );
    }

    #[test]
    fn paths() {
        assert_eq!(child_path("", "metadata"), "metadata");
        assert_eq!(child_path("metadata", "name"), "metadata.name");
        assert_eq!(index_path("spec.containers", 2), "spec.containers[2]");
        assert_eq!(key_path("values[0]", "app"), "values[0][app]");
    }

    #[test]
    fn junk_never_panics() {
        let junk =
            ["", "/", "//", "-", "-/-", ".", "..", "é", "日本/語", "\u{0}", "a/\u{ffff}", "\\", "%", "a-", "é-", "--"];
        for s in junk {
            let _ = is_dns1123_label(s);
            let _ = is_dns1123_subdomain(s);
            let _ = is_dns1035_label(s);
            let _ = is_qualified_name(s);
            let _ = is_valid_label_value(s);
            let _ = is_path_segment_name(s);
            for rule in
                [NameRule::Dns1123Subdomain, NameRule::Dns1123Label, NameRule::Dns1035Label, NameRule::PathSegment]
            {
                let _ = rule.check(s, true);
                let _ = rule.check(s, false);
            }
            let m = ObjectMeta {
                name: Some(s.into()),
                generate_name: Some(s.into()),
                namespace: Some(s.into()),
                labels: Some(BTreeMap::from([(s.to_string(), s.to_string())])),
                annotations: Some(BTreeMap::from([(s.to_string(), s.to_string())])),
                finalizers: Some(vec![s.to_string()]),
                ..Default::default()
            };
            for e in validate_object_meta(&m, true, NameRule::Dns1123Subdomain) {
                let _ = e.to_string();
            }
        }
    }
}
