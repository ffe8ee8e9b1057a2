//! Field selectors: the `fields.ParseSelector` grammar, the fields each kind lets
//! clients select on, and their values extracted from an object.
//!
//! Follows upstream `k8s.io/apimachinery/pkg/fields/selector.go`, the field label
//! conversion functions registered per kind (`pkg/apis/*/v*/conversion.go`) and
//! the registries' `ToSelectableFields`, as of Kubernetes 1.33. Error texts are
//! upstream's.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::validation::go_quote;

/// How a field requirement compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldOp {
    /// `field=value` or `field==value`
    Equals,
    /// `field!=value`
    NotEquals,
}

/// One clause of a field selector. `value` is unescaped.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldRequirement {
    pub field: String,
    pub op: FieldOp,
    pub value: String,
}

impl fmt::Display for FieldRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            FieldOp::Equals => "=",
            FieldOp::NotEquals => "!=",
        };
        write!(f, "{}{op}{}", self.field, escape_value(&self.value))
    }
}

/// Why a field selector was rejected. Display is upstream's message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FieldSelectorError {
    /// A term without `=`, `==` or `!=`.
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    InvalidTerm {
        selector: String,
        term: String,
        /// Byte offset of the term in the selector.
        position: usize,
    },
    /// A backslash followed by something other than `\`, `,` or `=` (or by nothing).
    #[error("invalid field selector: invalid escape sequence: {sequence}")]
    InvalidEscapeSequence {
        sequence: String,
        /// Byte offset of the backslash in the selector.
        position: usize,
    },
    /// A bare `,` or `=` inside a value (upstream prints the code point as a number).
    #[error("invalid field selector: unescaped character in value: {}", *.character as u32)]
    UnescapedCharacter {
        character: char,
        /// Byte offset of the character in the selector.
        position: usize,
    },
    /// A field the kind does not support selecting on; `message` is that kind's upstream text.
    #[error("{message}")]
    UnsupportedField { field: String, message: String },
}

/// A field selector: the AND of its requirements. The default selects everything.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// Parses `f=v`, `f==v`, `f!=v` terms separated by commas (upstream
    /// `fields.ParseSelector`). In values, `\,` `\=` and `\\` stand for the
    /// character itself; a bare `,` separates terms and a bare `=` is an error.
    /// Field names are taken literally (no whitespace trimming, as upstream).
    /// The empty string selects everything.
    pub fn parse(selector: &str) -> Result<Self, FieldSelectorError> {
        let mut terms = split_terms(selector);
        // Upstream sorts the raw terms (by bytes) before interpreting them.
        terms.sort_by(|a, b| a.1.cmp(b.1));
        let mut requirements = Vec::new();
        for (offset, term) in terms {
            if term.is_empty() {
                continue;
            }
            let Some((field, op, raw_value, value_offset)) = split_term(term) else {
                return Err(FieldSelectorError::InvalidTerm {
                    selector: selector.to_string(),
                    term: term.to_string(),
                    position: offset,
                });
            };
            let value = unescape_value(raw_value, offset + value_offset)?;
            // Upstream drops a term whose field and value are both empty ("=").
            if field.is_empty() && value.is_empty() {
                continue;
            }
            requirements.push(FieldRequirement { field: field.to_string(), op, value });
        }
        Ok(FieldSelector { requirements })
    }

    /// A selector matching every object.
    pub fn everything() -> Self {
        FieldSelector::default()
    }

    /// A selector requiring `field=value`.
    pub fn one_term_equal(field: impl Into<String>, value: impl Into<String>) -> Self {
        FieldSelector {
            requirements: vec![FieldRequirement { field: field.into(), op: FieldOp::Equals, value: value.into() }],
        }
    }

    /// Whether this selector places no restriction.
    pub fn is_everything(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The requirements, in the (sorted) order upstream keeps them.
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// Whether the object's field values satisfy every requirement; a field
    /// missing from `fields` has the value "".
    pub fn matches(&self, fields: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| {
            let actual = fields.get(&r.field).map_or("", String::as_str);
            match r.op {
                FieldOp::Equals => actual == r.value,
                FieldOp::NotEquals => actual != r.value,
            }
        })
    }

    /// The value of the first `field=value` requirement on `field`, for index lookups.
    pub fn exact_match(&self, field: &str) -> Option<&str> {
        self.requirements.iter().find(|r| r.op == FieldOp::Equals && r.field == field).map(|r| r.value.as_str())
    }

    /// Checks every field is selectable on `group`/`kind`; the error for the first
    /// that is not carries that kind's upstream message.
    pub fn validate_for(&self, group: &str, kind: &str) -> Result<(), FieldSelectorError> {
        self.convert_for(group, kind).map(|_| ())
    }

    /// Like [`FieldSelector::validate_for`], also rewriting deprecated aliases the
    /// way upstream's field label conversion does (Pod `spec.host` → `spec.nodeName`),
    /// so that the result can be matched against [`object_fields`].
    pub fn convert_for(&self, group: &str, kind: &str) -> Result<FieldSelector, FieldSelectorError> {
        let spec = kind_spec(group, kind);
        let mut requirements = Vec::with_capacity(self.requirements.len());
        for r in &self.requirements {
            let field = spec.convert(&r.field).ok_or_else(|| FieldSelectorError::UnsupportedField {
                field: r.field.clone(),
                message: spec.unsupported_message(&r.field),
            })?;
            requirements.push(FieldRequirement { field: field.to_string(), op: r.op, value: r.value.clone() });
        }
        Ok(FieldSelector { requirements })
    }
}

/// The string form: requirements joined by commas, values escaped.
impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl FromStr for FieldSelector {
    type Err = FieldSelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FieldSelector::parse(s)
    }
}

/// Escapes `\`, `,` and `=` in a value (upstream `fields.EscapeValue`).
pub fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Reverses [`escape_value`] (upstream `fields.UnescapeValue`); `offset` is where
/// the value starts in the whole selector, for error positions.
fn unescape_value(value: &str, offset: usize) -> Result<String, FieldSelectorError> {
    let mut out = String::with_capacity(value.len());
    let mut backslash_at: Option<usize> = None;
    for (i, c) in value.char_indices() {
        if let Some(at) = backslash_at.take() {
            if matches!(c, '\\' | ',' | '=') {
                out.push(c);
                continue;
            }
            return Err(FieldSelectorError::InvalidEscapeSequence {
                sequence: format!("\\{c}"),
                position: offset + at,
            });
        }
        match c {
            '\\' => backslash_at = Some(i),
            ',' | '=' => {
                return Err(FieldSelectorError::UnescapedCharacter { character: c, position: offset + i });
            }
            c => out.push(c),
        }
    }
    if let Some(at) = backslash_at {
        return Err(FieldSelectorError::InvalidEscapeSequence { sequence: "\\".to_string(), position: offset + at });
    }
    Ok(out)
}

/// Splits at commas not preceded by a backslash escape; each term with its byte offset.
fn split_terms(selector: &str) -> Vec<(usize, &str)> {
    if selector.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in selector.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            terms.push((start, &selector[start..i]));
            start = i + 1;
        }
    }
    terms.push((start, &selector[start..]));
    terms
}

/// Splits a term at the first operator (`!=`, then `==`, then `=` tried at each
/// position): field, operator, raw value and the value's offset in the term.
fn split_term(term: &str) -> Option<(&str, FieldOp, &str, usize)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for (token, op) in [("!=", FieldOp::NotEquals), ("==", FieldOp::Equals), ("=", FieldOp::Equals)] {
            if rest.starts_with(token) {
                let value_at = i + token.len();
                return Some((&term[..i], op, &term[value_at..], value_at));
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Per-kind selectable fields
// ---------------------------------------------------------------------------

const META_NAME: &str = "metadata.name";
const META_NAMESPACE: &str = "metadata.namespace";

const POD_FIELDS: &[&str] = &[
    META_NAME,
    META_NAMESPACE,
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.podIPs",
    "status.nominatedNodeName",
];
const NODE_FIELDS: &[&str] = &[META_NAME, "spec.unschedulable"];
const REPLICATION_CONTROLLER_FIELDS: &[&str] = &[META_NAME, META_NAMESPACE, "status.replicas"];
const CORE_EVENT_FIELDS: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
    META_NAMESPACE,
    META_NAME,
];
const EVENTS_V1_EVENT_FIELDS: &[&str] = &[
    "reason",
    "regarding.kind",
    "regarding.namespace",
    "regarding.name",
    "regarding.uid",
    "regarding.apiVersion",
    "regarding.resourceVersion",
    "regarding.fieldPath",
    "reportingController",
    "source",
    "type",
    META_NAMESPACE,
    META_NAME,
];
const NAMESPACE_FIELDS: &[&str] = &["status.phase", META_NAME];
const SECRET_FIELDS: &[&str] = &["type", META_NAMESPACE, META_NAME];
const SERVICE_FIELDS: &[&str] = &[META_NAMESPACE, META_NAME, "spec.clusterIP", "spec.type"];
const JOB_FIELDS: &[&str] = &[META_NAME, META_NAMESPACE, "status.successful"];
const SIGNER_FIELDS: &[&str] = &[META_NAME, "spec.signerName"];
const RESOURCE_SLICE_FIELDS: &[&str] = &[META_NAME, "spec.nodeName", "spec.driver"];
const DEFAULT_FIELDS: &[&str] = &[META_NAME, META_NAMESPACE];

/// How a kind words the rejection of an unsupported field label.
#[derive(Clone, Copy)]
enum Rejection {
    /// `runtime.DefaultMetaV1FieldSelectorConversion`.
    Default,
    /// `field label not supported: <label>`
    NotSupported,
    /// `field label "<label>" not supported for <kind>`
    NotSupportedFor(&'static str),
    /// `field label not supported for <group/version, Kind=kind>: <label>`
    NotSupportedForGvk(&'static str),
}

struct KindSpec {
    fields: &'static [&'static str],
    aliases: &'static [(&'static str, &'static str)],
    rejection: Rejection,
}

impl KindSpec {
    fn convert<'a>(&self, field: &'a str) -> Option<&'a str> {
        if self.fields.contains(&field) {
            return Some(field);
        }
        self.aliases.iter().find(|(alias, _)| *alias == field).map(|(_, target)| *target)
    }

    fn unsupported_message(&self, field: &str) -> String {
        match self.rejection {
            Rejection::Default => format!(
                "{} is not a known field selector: only {}, {}",
                go_quote(field),
                go_quote(META_NAME),
                go_quote(META_NAMESPACE)
            ),
            Rejection::NotSupported => format!("field label not supported: {field}"),
            Rejection::NotSupportedFor(kind) => {
                format!("field label {} not supported for {kind}", go_quote(field))
            }
            Rejection::NotSupportedForGvk(gvk) => {
                format!("field label not supported for {gvk}: {field}")
            }
        }
    }
}

fn kind_spec(group: &str, kind: &str) -> KindSpec {
    let spec = |fields, rejection| KindSpec { fields, aliases: &[], rejection };
    match (group, kind) {
        ("", "Pod") => KindSpec {
            fields: POD_FIELDS,
            // Old v1 clients send spec.host.
            aliases: &[("spec.host", "spec.nodeName")],
            rejection: Rejection::NotSupported,
        },
        ("", "Node") => spec(NODE_FIELDS, Rejection::NotSupported),
        ("", "ReplicationController") => spec(REPLICATION_CONTROLLER_FIELDS, Rejection::NotSupported),
        ("", "Event") => spec(CORE_EVENT_FIELDS, Rejection::NotSupported),
        ("", "Namespace") => spec(NAMESPACE_FIELDS, Rejection::NotSupported),
        ("", "Secret") => spec(SECRET_FIELDS, Rejection::NotSupported),
        ("", "Service") => spec(SERVICE_FIELDS, Rejection::NotSupported),
        ("events.k8s.io", "Event") => spec(EVENTS_V1_EVENT_FIELDS, Rejection::NotSupported),
        ("batch", "Job") => spec(JOB_FIELDS, Rejection::NotSupportedFor("Job")),
        ("certificates.k8s.io", "CertificateSigningRequest" | "ClusterTrustBundle") => {
            spec(SIGNER_FIELDS, Rejection::NotSupported)
        }
        ("resource.k8s.io", "ResourceSlice") => {
            spec(RESOURCE_SLICE_FIELDS, Rejection::NotSupportedForGvk("resource.k8s.io/v1beta1, Kind=ResourceSlice"))
        }
        _ => spec(DEFAULT_FIELDS, Rejection::Default),
    }
}

/// The field labels a kind accepts in field selectors (upstream 1.33), aliases excluded.
pub fn supported_fields(group: &str, kind: &str) -> Vec<&'static str> {
    kind_spec(group, kind).fields.to_vec()
}

/// The selectable field values of `obj` (the kind's JSON object), formatted as
/// upstream's `ToSelectableFields`: absent strings are "", booleans "true"/"false"
/// (absent is "false"), counts decimal (absent is "0"). Cluster-scoped kinds
/// with their own field set have no `metadata.namespace`, as upstream.
/// `status.podIPs` is accepted for pods but, as upstream, has no value to match.
pub fn object_fields(group: &str, kind: &str, obj: &Value) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    let mut put = |name: &str, value: String| {
        fields.insert(name.to_string(), value);
    };
    let s = |path: &[&str]| string_at(obj, path);
    put(META_NAME, s(&["metadata", "name"]));
    let cluster_scoped = matches!(
        (group, kind),
        ("", "Node" | "Namespace")
            | ("certificates.k8s.io", "CertificateSigningRequest" | "ClusterTrustBundle")
            | ("resource.k8s.io", "ResourceSlice")
    );
    if !cluster_scoped {
        put(META_NAMESPACE, s(&["metadata", "namespace"]));
    }
    match (group, kind) {
        ("", "Pod") => {
            put("spec.nodeName", s(&["spec", "nodeName"]));
            put("spec.restartPolicy", s(&["spec", "restartPolicy"]));
            put("spec.schedulerName", s(&["spec", "schedulerName"]));
            put("spec.serviceAccountName", s(&["spec", "serviceAccountName"]));
            put("spec.hostNetwork", bool_at(obj, &["spec", "hostNetwork"]).to_string());
            put("status.phase", s(&["status", "phase"]));
            // The primary IP: podIPs[0], else the legacy singular field.
            let pod_ip = obj
                .pointer("/status/podIPs/0/ip")
                .and_then(Value::as_str)
                .map_or_else(|| s(&["status", "podIP"]), str::to_string);
            put("status.podIP", pod_ip);
            put("status.nominatedNodeName", s(&["status", "nominatedNodeName"]));
        }
        ("", "Node") => put("spec.unschedulable", bool_at(obj, &["spec", "unschedulable"]).to_string()),
        ("", "ReplicationController") => put("status.replicas", int_at(obj, &["status", "replicas"]).to_string()),
        ("", "Event") => {
            for f in ["kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"] {
                put(&format!("involvedObject.{f}"), s(&["involvedObject", f]));
            }
            put("reason", s(&["reason"]));
            let reporting = s(&["reportingComponent"]);
            let source = non_empty_or(s(&["source", "component"]), || reporting.clone());
            put("reportingComponent", reporting);
            put("source", source);
            put("type", s(&["type"]));
        }
        ("events.k8s.io", "Event") => {
            // Reads the events.k8s.io/v1 shape, falling back to the core/v1 one.
            for f in ["kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"] {
                let value = non_empty_or(s(&["regarding", f]), || s(&["involvedObject", f]));
                put(&format!("regarding.{f}"), value);
            }
            put("reason", s(&["reason"]));
            let reporting = non_empty_or(s(&["reportingController"]), || s(&["reportingComponent"]));
            let source = non_empty_or(s(&["deprecatedSource", "component"]), || {
                non_empty_or(s(&["source", "component"]), || reporting.clone())
            });
            put("reportingController", reporting);
            put("source", source);
            put("type", s(&["type"]));
        }
        ("", "Namespace") => put("status.phase", s(&["status", "phase"])),
        ("", "Secret") => put("type", s(&["type"])),
        ("", "Service") => {
            put("spec.clusterIP", s(&["spec", "clusterIP"]));
            put("spec.type", s(&["spec", "type"]));
        }
        ("batch", "Job") => put("status.successful", int_at(obj, &["status", "succeeded"]).to_string()),
        ("certificates.k8s.io", "CertificateSigningRequest" | "ClusterTrustBundle") => {
            put("spec.signerName", s(&["spec", "signerName"]));
        }
        ("resource.k8s.io", "ResourceSlice") => {
            put("spec.nodeName", s(&["spec", "nodeName"]));
            put("spec.driver", s(&["spec", "driver"]));
        }
        _ => {}
    }
    fields
}

fn value_at<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |v, key| v.get(key))
}

fn string_at(obj: &Value, path: &[&str]) -> String {
    value_at(obj, path).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn bool_at(obj: &Value, path: &[&str]) -> bool {
    value_at(obj, path).and_then(Value::as_bool).unwrap_or(false)
}

fn int_at(obj: &Value, path: &[&str]) -> i64 {
    value_at(obj, path).and_then(Value::as_i64).unwrap_or(0)
}

fn non_empty_or(value: String, fallback: impl FnOnce() -> String) -> String {
    if value.is_empty() { fallback() } else { value }
}

#[cfg(test)]
mod tests;
