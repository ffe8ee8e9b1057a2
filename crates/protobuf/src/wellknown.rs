//! Messages whose JSON form is not "an object of their fields": times, durations, quantities,
//! int-or-strings, embedded raw JSON, the apiextensions schema unions and `[]string` wrappers, plus the
//! JSONSchemaProps fields whose JSON names (`$ref`, `x-kubernetes-…`) differ from their proto names.

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::schema::{Message, Schema};
use crate::timestamp::{format_duration, format_rfc3339, parse_duration, parse_rfc3339};
use crate::wire::{Fields, WireValue, put_len_field, put_varint_field};
use crate::{Error, MAGIC, Result, decode, encode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Special {
    /// `metav1.Time`: RFC 3339 to the second, `null` when zero.
    Time,
    /// `metav1.MicroTime`: RFC 3339 with microseconds, `null` when zero.
    MicroTime,
    /// `metav1.Duration`: Go duration string.
    Duration,
    /// `resource.Quantity`: its canonical string.
    Quantity,
    /// `intstr.IntOrString`: a JSON number or string.
    IntOrString,
    /// `runtime.RawExtension`, `metav1.FieldsV1`, apiextensions `JSON`: the embedded JSON document.
    RawJson,
    /// apiextensions `JSONSchemaPropsOrArray`: a schema object or an array of schemas.
    SchemaOrArray,
    /// apiextensions `JSONSchemaPropsOrBool`: a schema object or a bool.
    SchemaOrBool,
    /// apiextensions `JSONSchemaPropsOrStringArray`: a schema object or an array of strings.
    SchemaOrStringArray,
    /// `metav1.Verbs`, `ExtraValue`: Go `[]string` types, a JSON array.
    StringList,
}

const APIEXTENSIONS: [&str; 2] =
    ["apiextensions_apiserver.pkg.apis.apiextensions.v1.", "apiextensions_apiserver.pkg.apis.apiextensions.v1beta1."];

pub(crate) fn special(full_name: &str) -> Option<Special> {
    let special = match full_name {
        "apimachinery.pkg.apis.meta.v1.Time" => Special::Time,
        "apimachinery.pkg.apis.meta.v1.MicroTime" => Special::MicroTime,
        "apimachinery.pkg.apis.meta.v1.Duration" => Special::Duration,
        "apimachinery.pkg.api.resource.Quantity" | "apimachinery.pkg.api.resource.QuantityValue" => Special::Quantity,
        "apimachinery.pkg.util.intstr.IntOrString" => Special::IntOrString,
        "apimachinery.pkg.runtime.RawExtension" | "apimachinery.pkg.apis.meta.v1.FieldsV1" => Special::RawJson,
        "apimachinery.pkg.apis.meta.v1.Verbs" => Special::StringList,
        _ => {
            if let Some(name) = APIEXTENSIONS.iter().find_map(|p| full_name.strip_prefix(p)) {
                return match name {
                    "JSON" => Some(Special::RawJson),
                    "JSONSchemaPropsOrArray" => Some(Special::SchemaOrArray),
                    "JSONSchemaPropsOrBool" => Some(Special::SchemaOrBool),
                    "JSONSchemaPropsOrStringArray" => Some(Special::SchemaOrStringArray),
                    _ => None,
                };
            }
            let is_extra = full_name.starts_with("api.") && full_name.ends_with(".ExtraValue");
            return is_extra.then_some(Special::StringList);
        }
    };
    Some(special)
}

/// Fields whose proto name (from the Go `protobuf:"…,name=…"` tag) is not their JSON name:
/// `(package prefix, message, proto name, JSON name)`.
const RENAMED: &[(&str, &str, &str, &str)] = &[
    ("api.admissionregistration.", "MutatingWebhookConfiguration", "Webhooks", "webhooks"),
    ("api.admissionregistration.", "ValidatingWebhookConfiguration", "Webhooks", "webhooks"),
    ("api.admissionregistration.", "Validation", "Expression", "expression"),
    ("api.admissionregistration.", "Variable", "Name", "name"),
    ("api.admissionregistration.", "Variable", "Expression", "expression"),
    ("api.authentication.", "BoundObjectReference", "uID", "uid"),
    ("api.networking.", "IngressClassParametersReference", "aPIGroup", "apiGroup"),
];

/// Go structs embedded with `json:",inline"`: a nested message in protobuf, flattened into the parent
/// object in JSON. `(package prefix, message, field)`.
const INLINE: &[(&str, &str, &str)] = &[
    ("api.admissionregistration.", "NamedRuleWithOperations", "ruleWithOperations"),
    ("api.admissionregistration.", "RuleWithOperations", "rule"),
    ("api.core.v1.", "ConfigMapEnvSource", "localObjectReference"),
    ("api.core.v1.", "ConfigMapKeySelector", "localObjectReference"),
    ("api.core.v1.", "ConfigMapProjection", "localObjectReference"),
    ("api.core.v1.", "ConfigMapVolumeSource", "localObjectReference"),
    ("api.core.v1.", "SecretEnvSource", "localObjectReference"),
    ("api.core.v1.", "SecretKeySelector", "localObjectReference"),
    ("api.core.v1.", "SecretProjection", "localObjectReference"),
    ("api.core.v1.", "EphemeralContainer", "ephemeralContainerCommon"),
    ("api.core.v1.", "PersistentVolumeSpec", "persistentVolumeSource"),
    ("api.core.v1.", "Probe", "handler"),
    ("api.core.v1.", "Volume", "volumeSource"),
    ("api.networking.", "IngressRule", "ingressRuleValue"),
    ("api.extensions.", "IngressRule", "ingressRuleValue"),
];

pub(crate) fn is_inline(message: &str, field: &str) -> bool {
    let short = message.rsplit('.').next().unwrap_or(message);
    INLINE.iter().any(|(package, m, f)| *m == short && *f == field && message.starts_with(package))
}

/// The JSON name of a field: the proto name, except for [`RENAMED`] fields and in JSONSchemaProps.
pub(crate) fn json_name<'a>(message: &str, proto_name: &'a str) -> std::borrow::Cow<'a, str> {
    let short = message.rsplit('.').next().unwrap_or(message);
    if let Some((.., json)) =
        RENAMED.iter().find(|(package, m, p, _)| *m == short && *p == proto_name && message.starts_with(package))
    {
        return (*json).into();
    }
    if !(APIEXTENSIONS.iter().any(|p| message.strip_prefix(p) == Some("JSONSchemaProps"))) {
        return proto_name.into();
    }
    match proto_name {
        "ref" => "$ref".into(),
        "schema" => "$schema".into(),
        other => match other.strip_prefix("xKubernetes") {
            // xKubernetesPreserveUnknownFields -> x-kubernetes-preserve-unknown-fields
            Some(rest) => {
                let mut out = String::from("x-kubernetes");
                for c in rest.chars() {
                    if c.is_ascii_uppercase() {
                        out.push('-');
                    }
                    out.push(c.to_ascii_lowercase());
                }
                out.into()
            }
            None => other.into(),
        },
    }
}

/// Last value of each field number in a small fixed message (later values win, as in protobuf).
fn last_values(bytes: &[u8]) -> Result<[Option<WireValue<'_>>; 4]> {
    let mut values = [None; 4];
    for field in Fields::new(bytes) {
        let (number, value) = field?;
        if let Some(slot) = values.get_mut(number as usize) {
            *slot = Some(value);
        }
    }
    Ok(values)
}

fn varint(value: Option<WireValue<'_>>, what: &str) -> Result<i64> {
    match value {
        None => Ok(0),
        Some(WireValue::Varint(v)) => Ok(v as i64),
        Some(_) => Err(Error::Malformed(format!("{what}: expected a varint"))),
    }
}

fn bytes<'a>(value: Option<WireValue<'a>>, what: &str) -> Result<&'a [u8]> {
    match value {
        None => Ok(&[]),
        Some(WireValue::Len(b)) => Ok(b),
        Some(_) => Err(Error::Malformed(format!("{what}: expected length-delimited bytes"))),
    }
}

fn text(value: Option<WireValue<'_>>, what: &str) -> Result<String> {
    Ok(String::from_utf8_lossy(bytes(value, what)?).into_owned())
}

/// The JSONSchemaProps message an apiextensions union wraps (the type of its message field).
fn union_schema<'a>(schema: &'a Schema, message: &Message) -> Result<&'a Message> {
    let name = message.fields.iter().find_map(|f| match &f.kind {
        crate::schema::Kind::Message(name) => Some(name),
        _ => None,
    });
    schema.message(name.ok_or_else(|| Error::Schema(format!("{} does not wrap a schema", message.full_name)))?)
}

pub(crate) fn decode_special(
    special: Special,
    schema: &Schema,
    message: &Message,
    raw: &[u8],
    depth: usize,
) -> Result<Value> {
    let name = message.full_name.as_str();
    match special {
        Special::Time | Special::MicroTime => {
            // Go marshals a zero time as an empty message, and reads an empty message back as zero.
            if raw.is_empty() {
                return Ok(Value::Null);
            }
            let [_, seconds, nanos, _] = last_values(raw)?;
            let (seconds, nanos) = (varint(seconds, name)?, i64::from(varint(nanos, name)? as i32));
            let digits = if special == Special::Time { 0 } else { 6 };
            let formatted = format_rfc3339(seconds, nanos, digits)
                .ok_or_else(|| Error::Malformed(format!("{name}: {seconds}s is outside years 0000-9999")))?;
            Ok(Value::String(formatted))
        }
        Special::Duration => Ok(Value::String(format_duration(varint(last_values(raw)?[1], name)?))),
        Special::Quantity => {
            let s = text(last_values(raw)?[1], name)?;
            Ok(Value::String(if s.is_empty() { "0".to_owned() } else { s }))
        }
        Special::IntOrString => {
            let [_, kind, int_val, str_val] = last_values(raw)?;
            if varint(kind, name)? == 1 {
                Ok(Value::String(text(str_val, name)?))
            } else {
                Ok(Value::from(varint(int_val, name)? as i32))
            }
        }
        Special::RawJson => {
            let raw = bytes(last_values(raw)?[1], name)?;
            embedded_json(raw, depth)
        }
        Special::StringList => {
            let mut items = Vec::new();
            for field in Fields::new(raw) {
                if let (1, value) = field? {
                    items.push(Value::String(text(Some(value), name)?));
                }
            }
            Ok(Value::Array(items))
        }
        Special::SchemaOrArray | Special::SchemaOrBool | Special::SchemaOrStringArray => {
            decode_union(special, schema, message, raw, depth)
        }
    }
}

fn decode_union(special: Special, schema: &Schema, message: &Message, raw: &[u8], depth: usize) -> Result<Value> {
    let props = union_schema(schema, message)?;
    let mut schema_bytes: Option<Vec<u8>> = None;
    let mut list = Vec::new();
    let mut allows = false;
    for field in Fields::new(raw) {
        match (special, field?) {
            (Special::SchemaOrBool, (1, WireValue::Varint(v))) => allows = v != 0,
            (Special::SchemaOrBool, (2, WireValue::Len(b))) | (_, (1, WireValue::Len(b))) => {
                schema_bytes.get_or_insert_with(Vec::new).extend_from_slice(b);
            }
            (Special::SchemaOrArray, (2, WireValue::Len(b))) => {
                list.push(decode::message(schema, props, b, depth + 1)?)
            }
            (Special::SchemaOrStringArray, (2, WireValue::Len(b))) => {
                list.push(Value::String(String::from_utf8_lossy(b).into_owned()));
            }
            (_, (number, _)) => {
                return Err(Error::Malformed(format!("{}: unexpected field {number}", message.full_name)));
            }
        }
    }
    // Precedence as in the Go MarshalJSON methods of these types.
    if special == Special::SchemaOrBool {
        return match schema_bytes {
            Some(b) => decode::message(schema, props, &b, depth + 1),
            None => Ok(Value::Bool(allows)),
        };
    }
    if !list.is_empty() {
        return Ok(Value::Array(list));
    }
    match schema_bytes {
        Some(b) => decode::message(schema, props, &b, depth + 1),
        None => Ok(Value::Null),
    }
}

/// Raw bytes embedded in an object: JSON as written, or a nested `k8s\0` protobuf object.
fn embedded_json(raw: &[u8], depth: usize) -> Result<Value> {
    if raw.is_empty() {
        return Ok(Value::Null);
    }
    if raw.starts_with(&MAGIC) {
        return crate::decode_nested(raw, depth + 1);
    }
    serde_json::from_slice(raw)
        .map_err(|e| Error::Malformed(format!("embedded object is neither JSON nor protobuf: {e}")))
}

pub(crate) fn encode_special(
    special: Special,
    schema: &Schema,
    message: &Message,
    value: &Value,
    path: &str,
    depth: usize,
) -> Result<Vec<u8>> {
    let invalid = |reason: &str| Error::InvalidValue { path: path.to_owned(), reason: reason.to_owned() };
    let mut out = Vec::new();
    match special {
        Special::Time | Special::MicroTime => {
            let s = value.as_str().ok_or_else(|| invalid("expected an RFC 3339 time string"))?;
            let (seconds, nanos) = parse_rfc3339(s).ok_or_else(|| invalid("expected an RFC 3339 time string"))?;
            let nanos = if special == Special::Time { 0 } else { nanos / 1000 * 1000 };
            put_varint_field(&mut out, 1, seconds as u64);
            put_varint_field(&mut out, 2, nanos as u64);
        }
        Special::Duration => {
            let s = value.as_str().ok_or_else(|| invalid("expected a duration string"))?;
            put_varint_field(
                &mut out,
                1,
                parse_duration(s).ok_or_else(|| invalid("expected a duration string"))? as u64,
            );
        }
        Special::Quantity => {
            let s = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Err(invalid("expected a quantity string")),
            };
            put_len_field(&mut out, 1, s.as_bytes());
        }
        Special::IntOrString => match value {
            // Go writes all three fields of the struct.
            Value::Number(n) => {
                let n = n.as_i64().and_then(|n| i32::try_from(n).ok()).ok_or_else(|| invalid("expected an int32"))?;
                put_varint_field(&mut out, 1, 0);
                put_varint_field(&mut out, 2, n as i64 as u64);
                put_len_field(&mut out, 3, b"");
            }
            Value::String(s) => {
                put_varint_field(&mut out, 1, 1);
                put_varint_field(&mut out, 2, 0);
                put_len_field(&mut out, 3, s.as_bytes());
            }
            _ => return Err(invalid("expected an integer or a string")),
        },
        Special::RawJson => {
            let raw = serde_json::to_vec(value).map_err(|e| invalid(&e.to_string()))?;
            put_len_field(&mut out, 1, &raw);
        }
        Special::StringList => {
            for item in value.as_array().ok_or_else(|| invalid("expected an array of strings"))? {
                put_len_field(
                    &mut out,
                    1,
                    item.as_str().ok_or_else(|| invalid("expected an array of strings"))?.as_bytes(),
                );
            }
        }
        Special::SchemaOrArray | Special::SchemaOrBool | Special::SchemaOrStringArray => {
            let props = union_schema(schema, message)?;
            let schema_field = if special == Special::SchemaOrBool { 2 } else { 1 };
            match value {
                Value::Object(_) => {
                    if special == Special::SchemaOrBool {
                        put_varint_field(&mut out, 1, 1);
                    }
                    let body = encode::message(schema, props, value, path, depth + 1)?;
                    put_len_field(&mut out, schema_field, &body);
                }
                Value::Bool(b) if special == Special::SchemaOrBool => put_varint_field(&mut out, 1, u64::from(*b)),
                Value::Array(items) if special == Special::SchemaOrArray => {
                    for (i, item) in items.iter().enumerate() {
                        let body = encode::message(schema, props, item, &format!("{path}[{i}]"), depth + 1)?;
                        put_len_field(&mut out, 2, &body);
                    }
                }
                Value::Array(items) if special == Special::SchemaOrStringArray => {
                    for item in items {
                        put_len_field(
                            &mut out,
                            2,
                            item.as_str().ok_or_else(|| invalid("expected strings"))?.as_bytes(),
                        );
                    }
                }
                _ => return Err(invalid("value does not fit this schema union")),
            }
        }
    }
    Ok(out)
}

/// Encodes binary data the way Go's encoding/json does for `[]byte`.
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// The JSON an object map gets its `apiVersion`/`kind` in front of, as Go writes TypeMeta first.
pub(crate) fn with_type_meta(api_version: &str, kind: &str, body: Value) -> Value {
    let mut out = Map::new();
    out.insert("kind".to_owned(), Value::String(kind.to_owned()));
    out.insert("apiVersion".to_owned(), Value::String(api_version.to_owned()));
    if let Value::Object(fields) = body {
        out.extend(fields);
    }
    Value::Object(out)
}
