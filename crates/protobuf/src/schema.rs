//! The Kubernetes message definitions, read once from the embedded FileDescriptorSet, and the mapping
//! from an object's `apiVersion`/`kind` to its message.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::wire::{Fields, WireValue};
use crate::{Error, Result};

/// `google.protobuf.FileDescriptorSet` compiled from the Kubernetes 1.33 `generated.proto` files by
/// `schema-gen/` (see the crate docs for why it is embedded rather than taken from a dependency).
static DESCRIPTOR_SET: &[u8] = include_bytes!("../schema/kubernetes-v1.33.binpb");

static SCHEMA: LazyLock<std::result::Result<Schema, String>> =
    LazyLock::new(|| Schema::parse(DESCRIPTOR_SET).map_err(|e| e.to_string()));

/// The loaded schema; an error only if the embedded descriptor set is corrupt (a build defect).
pub(crate) fn schema() -> Result<&'static Schema> {
    SCHEMA.as_ref().map_err(|e| Error::Schema(e.clone()))
}

/// Scalar and composite field types, as `FieldDescriptorProto.Type` numbers them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Double,
    Float,
    Int64,
    Uint64,
    Int32,
    Fixed64,
    Fixed32,
    Bool,
    String,
    Bytes,
    Uint32,
    Enum,
    Sfixed32,
    Sfixed64,
    Sint32,
    Sint64,
    /// Fully qualified message name without the leading dot.
    Message(String),
}

#[derive(Debug, Clone)]
pub(crate) enum Cardinality {
    Single,
    Repeated,
    /// `map<K, V>`: a repeated entry message with key field 1 and value field 2.
    Map {
        key: Kind,
        value: Kind,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub(crate) name: String,
    pub(crate) number: u32,
    pub(crate) kind: Kind,
    pub(crate) cardinality: Cardinality,
}

#[derive(Debug)]
pub(crate) struct Message {
    pub(crate) full_name: String,
    /// Sorted by field number, the order Go's marshaller writes them in.
    pub(crate) fields: Vec<Field>,
    map_entry: bool,
}

#[derive(Debug)]
pub(crate) struct Schema {
    messages: HashMap<String, Message>,
}

impl Schema {
    pub(crate) fn message(&self, full_name: &str) -> Result<&Message> {
        self.messages.get(full_name).ok_or_else(|| Error::Schema(format!("message {full_name} is not in the schema")))
    }

    /// The message that encodes objects of `apiVersion`/`kind`, as the apiserver's scheme would pick it.
    pub(crate) fn message_for(&self, api_version: &str, kind: &str) -> Result<&Message> {
        let unknown = || Error::UnknownType { api_version: api_version.to_owned(), kind: kind.to_owned() };
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        if kind.is_empty() || version.is_empty() || kind.contains('.') || version.contains('.') {
            return Err(unknown());
        }
        let package = group_package(group).ok_or_else(unknown)?;
        let candidates = [format!("{package}.{version}.{kind}"), format!("{META_PACKAGE}.{kind}")];
        candidates.iter().find_map(|name| self.messages.get(name.as_str()).filter(|m| !m.map_entry)).ok_or_else(unknown)
    }

    fn parse(set: &[u8]) -> Result<Schema> {
        let mut messages = HashMap::new();
        for field in Fields::new(set) {
            if let (1, WireValue::Len(file)) = field? {
                parse_file(file, &mut messages)?;
            }
        }
        // Resolve map entries now so decoding never has to look twice.
        let entries: HashMap<String, (Kind, Kind)> = messages
            .values()
            .filter(|m| m.map_entry)
            .filter_map(|m| {
                Some((m.full_name.clone(), (m.fields.first()?.kind.clone(), m.fields.get(1)?.kind.clone())))
            })
            .collect();
        for message in messages.values_mut() {
            for field in &mut message.fields {
                if let (Cardinality::Repeated, Kind::Message(name)) = (&field.cardinality, &field.kind)
                    && let Some((key, value)) = entries.get(name)
                {
                    field.cardinality = Cardinality::Map { key: key.clone(), value: value.clone() };
                }
            }
        }
        Ok(Schema { messages })
    }
}

/// Package of the apimachinery meta types every group version also serves (Status, DeleteOptions…).
const META_PACKAGE: &str = "apimachinery.pkg.apis.meta.v1";

/// Proto package prefix (without the version) of an API group, in the layout of the embedded protos.
fn group_package(group: &str) -> Option<String> {
    let package = match group {
        "" => "api.core",
        "meta.k8s.io" => "apimachinery.pkg.apis.meta",
        "apiextensions.k8s.io" => "apiextensions_apiserver.pkg.apis.apiextensions",
        "apiregistration.k8s.io" => "kube_aggregator.pkg.apis.apiregistration",
        "rbac.authorization.k8s.io" => "api.rbac",
        "flowcontrol.apiserver.k8s.io" => "api.flowcontrol",
        "internal.apiserver.k8s.io" => "api.apiserverinternal",
        _ => {
            let first = group.split('.').next()?;
            if first.is_empty() || !first.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
                return None;
            }
            return Some(format!("api.{first}"));
        }
    };
    Some(package.to_owned())
}

fn parse_file(file: &[u8], messages: &mut HashMap<String, Message>) -> Result<()> {
    let mut package = String::new();
    let mut bodies = Vec::new();
    for field in Fields::new(file) {
        match field? {
            (2, WireValue::Len(p)) => package = utf8(p)?,
            (4, WireValue::Len(m)) => bodies.push(m),
            _ => {}
        }
    }
    for body in bodies {
        parse_message(&package, body, messages)?;
    }
    Ok(())
}

fn parse_message(scope: &str, body: &[u8], messages: &mut HashMap<String, Message>) -> Result<()> {
    let mut name = String::new();
    let mut fields = Vec::new();
    let mut nested = Vec::new();
    let mut map_entry = false;
    for field in Fields::new(body) {
        match field? {
            (1, WireValue::Len(n)) => name = utf8(n)?,
            (2, WireValue::Len(f)) => fields.push(parse_field(f)?),
            (3, WireValue::Len(n)) => nested.push(n),
            (7, WireValue::Len(options)) => {
                for option in Fields::new(options) {
                    if let (7, WireValue::Varint(v)) = option? {
                        map_entry = v != 0;
                    }
                }
            }
            _ => {}
        }
    }
    let full_name = format!("{scope}.{name}");
    for n in nested {
        parse_message(&full_name, n, messages)?;
    }
    fields.sort_by_key(|f| f.number);
    messages.insert(full_name.clone(), Message { full_name, fields, map_entry });
    Ok(())
}

fn parse_field(body: &[u8]) -> Result<Field> {
    let (mut name, mut number, mut repeated, mut type_number, mut type_name) = (String::new(), 0, false, 0, None);
    for field in Fields::new(body) {
        match field? {
            (1, WireValue::Len(n)) => name = utf8(n)?,
            (3, WireValue::Varint(n)) => number = u32::try_from(n).map_err(|_| bad("field number"))?,
            (4, WireValue::Varint(label)) => repeated = label == 3,
            (5, WireValue::Varint(t)) => type_number = t,
            (6, WireValue::Len(t)) => type_name = Some(utf8(t)?.trim_start_matches('.').to_owned()),
            _ => {}
        }
    }
    let kind = match type_number {
        1 => Kind::Double,
        2 => Kind::Float,
        3 => Kind::Int64,
        4 => Kind::Uint64,
        5 => Kind::Int32,
        6 => Kind::Fixed64,
        7 => Kind::Fixed32,
        8 => Kind::Bool,
        9 => Kind::String,
        11 => Kind::Message(type_name.ok_or_else(|| bad("message field without a type name"))?),
        12 => Kind::Bytes,
        13 => Kind::Uint32,
        14 => Kind::Enum,
        15 => Kind::Sfixed32,
        16 => Kind::Sfixed64,
        17 => Kind::Sint32,
        18 => Kind::Sint64,
        other => return Err(bad(&format!("unsupported field type {other}"))),
    };
    let cardinality = if repeated { Cardinality::Repeated } else { Cardinality::Single };
    Ok(Field { name, number, kind, cardinality })
}

fn utf8(bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| bad("name is not UTF-8"))
}

fn bad(what: &str) -> Error {
    Error::Schema(format!("embedded descriptor set: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_group_version_the_apiserver_serves_has_its_kinds() {
        let schema = schema().unwrap();
        for (api_version, kind) in [
            ("v1", "ConfigMap"),
            ("v1", "Status"),
            ("v1", "DeleteOptions"),
            ("v1", "List"),
            ("apps/v1", "Deployment"),
            ("batch/v1", "CronJob"),
            ("autoscaling/v1", "HorizontalPodAutoscaler"),
            ("autoscaling/v2", "HorizontalPodAutoscaler"),
            ("coordination.k8s.io/v1", "Lease"),
            ("discovery.k8s.io/v1", "EndpointSlice"),
            ("networking.k8s.io/v1", "Ingress"),
            ("policy/v1", "Eviction"),
            ("policy/v1", "DeleteOptions"),
            ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
            ("storage.k8s.io/v1", "StorageClass"),
            ("scheduling.k8s.io/v1", "PriorityClass"),
            ("certificates.k8s.io/v1", "CertificateSigningRequest"),
            ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
            ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
            ("events.k8s.io/v1", "Event"),
            ("node.k8s.io/v1", "RuntimeClass"),
            ("authentication.k8s.io/v1", "TokenRequest"),
            ("authorization.k8s.io/v1", "SelfSubjectAccessReview"),
            ("meta.k8s.io/v1", "Status"),
        ] {
            assert!(schema.message_for(api_version, kind).is_ok(), "{api_version} {kind} should have a message");
        }
    }

    #[test]
    fn map_fields_are_recognised() {
        let schema = schema().unwrap();
        let cm = schema.message("api.core.v1.ConfigMap").unwrap();
        let data = cm.fields.iter().find(|f| f.name == "data").unwrap();
        assert!(matches!(data.cardinality, Cardinality::Map { key: Kind::String, value: Kind::String }));
    }

    #[test]
    fn unknown_kinds_and_odd_names_are_rejected() {
        let schema = schema().unwrap();
        for (api_version, kind) in [("v1", "Nope"), ("v1", "ConfigMap.DataEntry"), ("", "Pod"), ("x/y/z", "Pod")] {
            assert!(
                matches!(schema.message_for(api_version, kind), Err(Error::UnknownType { .. })),
                "{api_version:?} {kind:?} should be an unknown type"
            );
        }
    }
}
