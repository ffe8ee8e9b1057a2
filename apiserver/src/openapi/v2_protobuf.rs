//! The swagger 2.0 document in gnostic's protobuf form (`openapi.v2.Document` of
//! `openapiv2/OpenAPIv2.proto`), which is what kubectl asks `/openapi/v2` for
//! (`Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`): `kubectl explain`
//! before 1.29, client-side validation of kinds whose PATCH has no `fieldValidation` parameter
//! (create-only reviews, `kind: List`), and client-side apply when the OpenAPI 3 document fails.
//!
//! The encoding is written out by hand from the `.proto` field numbers: only the messages a
//! Kubernetes swagger document uses are covered, and JSON keys with no protobuf field (such as
//! `x-` extensions other than vendor extensions' own) are dropped, as gnostic's compiler would
//! refuse them. Vendor extensions carry their value as YAML, which JSON text is.

use serde_json::{Map, Value};

/// Encodes a swagger 2.0 JSON document as an `openapi.v2.Document`.
pub(super) fn encode(document: &Value) -> Vec<u8> {
    let mut message = Message::default();
    message.string(1, str_at(document, "swagger"));
    if let Some(info) = document.get("info") {
        let mut encoded = Message::default();
        encoded.string(1, str_at(info, "title"));
        encoded.string(2, str_at(info, "version"));
        encoded.string(3, str_at(info, "description"));
        message.message(2, encoded);
    }
    message.string(3, str_at(document, "host"));
    message.string(4, str_at(document, "basePath"));
    message.strings(5, document.get("schemes"));
    message.strings(6, document.get("consumes"));
    message.strings(7, document.get("produces"));
    if let Some(Value::Object(paths)) = document.get("paths") {
        let mut encoded = Message::default();
        for (path, item) in paths {
            encoded.message(2, named(path, path_item(item)));
        }
        message.message(8, encoded);
    }
    if let Some(Value::Object(definitions)) = document.get("definitions") {
        message.message(9, named_schemas(definitions));
    }
    if let Some(Value::Array(requirements)) = document.get("security") {
        for requirement in requirements {
            message.message(12, security_requirement(requirement));
        }
    }
    if let Some(Value::Object(definitions)) = document.get("securityDefinitions") {
        let mut encoded = Message::default();
        for (name, definition) in definitions {
            encoded.message(1, named(name, security_definition(definition)));
        }
        message.message(13, encoded);
    }
    message.vendor_extensions(16, document);
    message.bytes
}

fn path_item(item: &Value) -> Message {
    let mut message = Message::default();
    message.string(1, str_at(item, "$ref"));
    for (field, method) in
        [(2, "get"), (3, "put"), (4, "post"), (5, "delete"), (6, "options"), (7, "head"), (8, "patch")]
    {
        if let Some(operation) = item.get(method) {
            message.message(field, operation_message(operation));
        }
    }
    for parameter in array_at(item, "parameters") {
        message.message(9, parameters_item(parameter));
    }
    message.vendor_extensions(10, item);
    message
}

fn operation_message(operation: &Value) -> Message {
    let mut message = Message::default();
    message.strings(1, operation.get("tags"));
    message.string(2, str_at(operation, "summary"));
    message.string(3, str_at(operation, "description"));
    message.string(5, str_at(operation, "operationId"));
    message.strings(6, operation.get("produces"));
    message.strings(7, operation.get("consumes"));
    for parameter in array_at(operation, "parameters") {
        message.message(8, parameters_item(parameter));
    }
    if let Some(Value::Object(responses)) = operation.get("responses") {
        let mut encoded = Message::default();
        for (code, response) in responses {
            let value = if let Some(target) = response.get("$ref").and_then(Value::as_str) {
                let mut reference = Message::default();
                reference.string(1, target);
                Message::wrap(2, reference)
            } else {
                let mut encoded = Message::default();
                encoded.string(1, str_at(response, "description"));
                if let Some(schema) = response.get("schema") {
                    encoded.message(2, Message::wrap(1, schema_message(schema)));
                }
                encoded.vendor_extensions(5, response);
                Message::wrap(1, encoded)
            };
            encoded.message(1, named(code, value));
        }
        message.message(9, encoded);
    }
    message.strings(10, operation.get("schemes"));
    message.bool(11, bool_at(operation, "deprecated"));
    message.vendor_extensions(13, operation);
    message
}

/// A `ParametersItem`: a `$ref` to a shared parameter or the parameter itself.
fn parameters_item(parameter: &Value) -> Message {
    if let Some(target) = parameter.get("$ref").and_then(Value::as_str) {
        let mut reference = Message::default();
        reference.string(1, target);
        return Message::wrap(2, reference);
    }
    let location = str_at(parameter, "in");
    let encoded = if location == "body" {
        let mut body = Message::default();
        body.string(1, str_at(parameter, "description"));
        body.string(2, str_at(parameter, "name"));
        body.string(3, location);
        body.bool(4, bool_at(parameter, "required"));
        if let Some(schema) = parameter.get("schema") {
            body.message(5, schema_message(schema));
        }
        body.vendor_extensions(6, parameter);
        Message::wrap(1, body)
    } else {
        Message::wrap(2, non_body_parameter(parameter, location))
    };
    Message::wrap(1, encoded)
}

/// A `NonBodyParameter`. The four sub-schemas share their first four fields; `query` and
/// `formData` add `allowEmptyValue` as field 5 and shift the rest by one.
fn non_body_parameter(parameter: &Value, location: &str) -> Message {
    let (which, shift) = match location {
        "header" => (1, 0),
        "formData" => (2, 1),
        "query" => (3, 1),
        _ => (4, 0),
    };
    let mut message = Message::default();
    message.bool(1, bool_at(parameter, "required"));
    message.string(2, location);
    message.string(3, str_at(parameter, "description"));
    message.string(4, str_at(parameter, "name"));
    if shift == 1 {
        message.bool(5, bool_at(parameter, "allowEmptyValue"));
    }
    message.string(5 + shift, str_at(parameter, "type"));
    message.string(6 + shift, str_at(parameter, "format"));
    message.string(8 + shift, str_at(parameter, "collectionFormat"));
    if let Some(default) = parameter.get("default") {
        message.message(9 + shift, any(default));
    }
    message.bool(19 + shift, bool_at(parameter, "uniqueItems"));
    for value in array_at(parameter, "enum") {
        message.message(20 + shift, any(value));
    }
    message.vendor_extensions(22 + shift, parameter);
    Message::wrap(which, message)
}

fn named_schemas(schemas: &Map<String, Value>) -> Message {
    let mut message = Message::default();
    for (name, schema) in schemas {
        message.message(1, named(name, schema_message(schema)));
    }
    message
}

fn schema_message(schema: &Value) -> Message {
    let mut message = Message::default();
    message.string(1, str_at(schema, "$ref"));
    message.string(2, str_at(schema, "format"));
    message.string(3, str_at(schema, "title"));
    message.string(4, str_at(schema, "description"));
    if let Some(default) = schema.get("default") {
        message.message(5, any(default));
    }
    for (field, key) in [(6, "multipleOf"), (7, "maximum")] {
        message.double(field, schema.get(key));
    }
    message.bool(8, bool_at(schema, "exclusiveMaximum"));
    message.double(9, schema.get("minimum"));
    message.bool(10, bool_at(schema, "exclusiveMinimum"));
    message.int(11, schema.get("maxLength"));
    message.int(12, schema.get("minLength"));
    message.string(13, str_at(schema, "pattern"));
    message.int(14, schema.get("maxItems"));
    message.int(15, schema.get("minItems"));
    message.bool(16, bool_at(schema, "uniqueItems"));
    message.int(17, schema.get("maxProperties"));
    message.int(18, schema.get("minProperties"));
    message.strings(19, schema.get("required"));
    for value in array_at(schema, "enum") {
        message.message(20, any(value));
    }
    match schema.get("additionalProperties") {
        Some(Value::Bool(allowed)) => message.message(21, Message::wrap_bool(2, *allowed)),
        Some(additional) => message.message(21, Message::wrap(1, schema_message(additional))),
        None => {}
    }
    match schema.get("type") {
        Some(Value::String(name)) => {
            let mut types = Message::default();
            types.string(1, name);
            message.message(22, types);
        }
        Some(names @ Value::Array(_)) => {
            let mut types = Message::default();
            types.strings(1, Some(names));
            message.message(22, types);
        }
        _ => {}
    }
    match schema.get("items") {
        Some(Value::Array(items)) => {
            let mut encoded = Message::default();
            items.iter().for_each(|item| encoded.message(1, schema_message(item)));
            message.message(23, encoded);
        }
        Some(item) => message.message(23, Message::wrap(1, schema_message(item))),
        None => {}
    }
    for item in array_at(schema, "allOf") {
        message.message(24, schema_message(item));
    }
    if let Some(Value::Object(properties)) = schema.get("properties") {
        message.message(25, named_schemas(properties));
    }
    message.string(26, str_at(schema, "discriminator"));
    message.bool(27, bool_at(schema, "readOnly"));
    if let Some(example) = schema.get("example") {
        message.message(30, any(example));
    }
    message.vendor_extensions(31, schema);
    message
}

fn security_requirement(requirement: &Value) -> Message {
    let mut message = Message::default();
    for (name, scopes) in requirement.as_object().into_iter().flatten() {
        let mut array = Message::default();
        array.strings(1, Some(scopes));
        message.message(1, named(name, array));
    }
    message
}

/// A `SecurityDefinitionsItem`; only the `apiKey` and `basic` kinds are encoded.
fn security_definition(definition: &Value) -> Message {
    let mut message = Message::default();
    match str_at(definition, "type") {
        "basic" => {
            message.string(1, "basic");
            message.string(2, str_at(definition, "description"));
            message.vendor_extensions(3, definition);
            Message::wrap(1, message)
        }
        _ => {
            message.string(1, str_at(definition, "type"));
            message.string(2, str_at(definition, "name"));
            message.string(3, str_at(definition, "in"));
            message.string(4, str_at(definition, "description"));
            message.vendor_extensions(5, definition);
            Message::wrap(2, message)
        }
    }
}

/// An `Any` holding `value` as YAML (JSON text is YAML).
fn any(value: &Value) -> Message {
    let mut message = Message::default();
    message.string(2, &value.to_string());
    message
}

/// A `Named…` pair: `name` as field 1, `value` as field 2.
fn named(name: &str, value: Message) -> Message {
    let mut message = Message::default();
    message.string(1, name);
    message.message(2, value);
    message
}

fn str_at<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn bool_at(value: &Value, key: &str) -> bool {
    value.get(key).and_then(Value::as_bool).unwrap_or_default()
}

fn array_at<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// A protobuf message under construction. Fields holding their proto3 default are left out,
/// as a proto3 encoder does, except inside a `oneof` ([`Message::wrap_bool`]).
#[derive(Debug, Default)]
struct Message {
    bytes: Vec<u8>,
}

const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LENGTH_DELIMITED: u32 = 2;

impl Message {
    /// A message whose only field is `inner` as field `field` (a `oneof` arm or a wrapper).
    fn wrap(field: u32, inner: Message) -> Message {
        let mut message = Message::default();
        message.message(field, inner);
        message
    }

    /// A message whose only field is the `oneof` boolean `value`, written even when false.
    fn wrap_bool(field: u32, value: bool) -> Message {
        let mut message = Message::default();
        message.key(field, VARINT);
        message.varint(u64::from(value));
        message
    }

    fn key(&mut self, field: u32, wire_type: u32) {
        self.varint(u64::from((field << 3) | wire_type));
    }

    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.bytes.push((value as u8 & 0x7f) | 0x80);
            value >>= 7;
        }
        self.bytes.push(value as u8);
    }

    fn length_delimited(&mut self, field: u32, payload: &[u8]) {
        self.key(field, LENGTH_DELIMITED);
        self.varint(payload.len() as u64);
        self.bytes.extend_from_slice(payload);
    }

    fn string(&mut self, field: u32, value: &str) {
        if !value.is_empty() {
            self.length_delimited(field, value.as_bytes());
        }
    }

    /// A `repeated string` from a JSON array (or a lone string).
    fn strings(&mut self, field: u32, values: Option<&Value>) {
        match values {
            Some(Value::Array(values)) => {
                for value in values.iter().filter_map(Value::as_str) {
                    self.length_delimited(field, value.as_bytes());
                }
            }
            Some(Value::String(value)) => self.length_delimited(field, value.as_bytes()),
            _ => {}
        }
    }

    fn bool(&mut self, field: u32, value: bool) {
        if value {
            self.key(field, VARINT);
            self.varint(1);
        }
    }

    /// An `int64` from a JSON number.
    fn int(&mut self, field: u32, value: Option<&Value>) {
        if let Some(value) = value.and_then(Value::as_i64).filter(|v| *v != 0) {
            self.key(field, VARINT);
            self.varint(value as u64);
        }
    }

    /// A `double` from a JSON number.
    fn double(&mut self, field: u32, value: Option<&Value>) {
        if let Some(value) = value.and_then(Value::as_f64).filter(|v| *v != 0.0) {
            self.key(field, FIXED64);
            self.bytes.extend_from_slice(&value.to_le_bytes());
        }
    }

    /// A nested message, written even when empty (its presence can matter).
    fn message(&mut self, field: u32, message: Message) {
        self.length_delimited(field, &message.bytes);
    }

    /// The `x-` keys of `value` as `repeated NamedAny vendor_extension = field`.
    fn vendor_extensions(&mut self, field: u32, value: &Value) {
        for (name, extension) in value.as_object().into_iter().flatten() {
            if name.starts_with("x-") {
                self.message(field, named(name, any(extension)));
            }
        }
    }
}
