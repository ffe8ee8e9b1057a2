//! JSON → protobuf: writes a Kubernetes JSON object as the message Go's generated marshallers produce
//! (fields in number order, map entries sorted by key).

use serde_json::Value;

use crate::decode::MAX_DEPTH;
use crate::schema::{Cardinality, Kind, Message, Schema};
use crate::wellknown::{Special, base64_decode, encode_special, is_inline, json_name, special};
use crate::wire::{FIXED32, FIXED64, put_key, put_len_field, put_varint_field};
use crate::{Error, Result};

pub(crate) fn message(schema: &Schema, message: &Message, value: &Value, path: &str, depth: usize) -> Result<Vec<u8>> {
    if depth > MAX_DEPTH {
        return Err(invalid(path, &format!("nested more than {MAX_DEPTH} levels deep")));
    }
    if let Some(special) = special(&message.full_name) {
        return encode_special(special, schema, message, value, path, depth);
    }
    let object = value.as_object().ok_or_else(|| invalid(path, "expected an object"))?;
    let mut out = Vec::new();
    for field in &message.fields {
        if let (true, Kind::Message(embedded)) = (is_inline(&message.full_name, &field.name), &field.kind) {
            // An embedded struct takes its fields from this same object; Go always writes it.
            let body = self::message(schema, schema.message(embedded)?, value, path, depth + 1)?;
            put_len_field(&mut out, field.number, &body);
            continue;
        }
        let name = json_name(&message.full_name, &field.name);
        // Keys the message does not have (apiVersion, kind, unknown fields) are dropped, as Go does.
        let Some(value) = object.get(name.as_ref()) else { continue };
        if value.is_null() {
            // `"creationTimestamp": null` is Go's zero non-pointer time, which Go writes as an empty
            // message; any other null is an unset pointer, which it leaves out.
            if let (Cardinality::Single, Kind::Message(type_name)) = (&field.cardinality, &field.kind)
                && matches!(special(type_name), Some(Special::Time | Special::MicroTime))
            {
                put_len_field(&mut out, field.number, &[]);
            }
            continue;
        }
        let path = if path.is_empty() { name.into_owned() } else { format!("{path}.{name}") };
        match &field.cardinality {
            Cardinality::Single => put(schema, &mut out, field.number, &field.kind, value, &path, depth)?,
            Cardinality::Repeated => {
                let items = value.as_array().ok_or_else(|| invalid(&path, "expected an array"))?;
                for (i, item) in items.iter().enumerate() {
                    put(schema, &mut out, field.number, &field.kind, item, &format!("{path}[{i}]"), depth)?;
                }
            }
            Cardinality::Map { key, value: value_kind } => {
                let entries = value.as_object().ok_or_else(|| invalid(&path, "expected an object"))?;
                let mut keys: Vec<&String> = entries.keys().collect();
                keys.sort();
                for k in keys {
                    let entry_path = format!("{path}[{k}]");
                    let mut entry = Vec::new();
                    put(schema, &mut entry, 1, key, &map_key(key, k, &entry_path)?, &entry_path, depth)?;
                    put(schema, &mut entry, 2, value_kind, &entries[k], &entry_path, depth)?;
                    put_len_field(&mut out, field.number, &entry);
                }
            }
        }
    }
    Ok(out)
}

/// JSON object keys are strings; a map with numeric keys takes them back as numbers.
fn map_key(kind: &Kind, key: &str, path: &str) -> Result<Value> {
    match kind {
        Kind::String => Ok(Value::String(key.to_owned())),
        Kind::Bool => key.parse::<bool>().map(Value::Bool).map_err(|_| invalid(path, "expected a bool key")),
        _ => key.parse::<i64>().map(Value::from).map_err(|_| invalid(path, "expected an integer key")),
    }
}

fn put(
    schema: &Schema,
    out: &mut Vec<u8>,
    number: u32,
    kind: &Kind,
    value: &Value,
    path: &str,
    depth: usize,
) -> Result<()> {
    match kind {
        Kind::Message(name) => {
            // A null inside a list or map is the zero value: an empty message.
            let body = match value {
                Value::Null => Vec::new(),
                _ => message(schema, schema.message(name)?, value, path, depth + 1)?,
            };
            put_len_field(out, number, &body);
        }
        Kind::String => put_len_field(out, number, string(value, path)?.as_bytes()),
        Kind::Bytes => {
            let decoded = base64_decode(string(value, path)?).ok_or_else(|| invalid(path, "expected base64 data"))?;
            put_len_field(out, number, &decoded);
        }
        Kind::Bool => put_varint_field(out, number, u64::from(bool_value(value, path)?)),
        Kind::Int32 | Kind::Enum => {
            put_varint_field(out, number, int(value, path, i32::MIN.into(), i32::MAX.into())? as u64)
        }
        Kind::Int64 => put_varint_field(out, number, int(value, path, i64::MIN, i64::MAX)? as u64),
        Kind::Uint32 => put_varint_field(out, number, int(value, path, 0, u32::MAX.into())? as u64),
        Kind::Uint64 => put_varint_field(out, number, uint(value, path)?),
        Kind::Sint32 => {
            let n = int(value, path, i32::MIN.into(), i32::MAX.into())?;
            put_varint_field(out, number, ((n << 1) ^ (n >> 63)) as u64);
        }
        Kind::Sint64 => {
            let n = int(value, path, i64::MIN, i64::MAX)?;
            put_varint_field(out, number, ((n << 1) ^ (n >> 63)) as u64);
        }
        Kind::Fixed32 | Kind::Sfixed32 | Kind::Float => {
            let bits = match kind {
                Kind::Float => (float(value, path)? as f32).to_bits(),
                Kind::Fixed32 => int(value, path, 0, u32::MAX.into())? as u32,
                _ => int(value, path, i32::MIN.into(), i32::MAX.into())? as i32 as u32,
            };
            put_key(out, number, FIXED32);
            out.extend_from_slice(&bits.to_le_bytes());
        }
        Kind::Fixed64 | Kind::Sfixed64 | Kind::Double => {
            let bits = match kind {
                Kind::Double => float(value, path)?.to_bits(),
                Kind::Fixed64 => uint(value, path)?,
                _ => int(value, path, i64::MIN, i64::MAX)? as u64,
            };
            put_key(out, number, FIXED64);
            out.extend_from_slice(&bits.to_le_bytes());
        }
    }
    Ok(())
}

fn string<'a>(value: &'a Value, path: &str) -> Result<&'a str> {
    match value {
        Value::String(s) => Ok(s),
        Value::Null => Ok(""),
        _ => Err(invalid(path, "expected a string")),
    }
}

fn bool_value(value: &Value, path: &str) -> Result<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Null => Ok(false),
        _ => Err(invalid(path, "expected a bool")),
    }
}

fn int(value: &Value, path: &str, min: i64, max: i64) -> Result<i64> {
    let n = match value {
        Value::Null => Some(0),
        Value::Number(n) => {
            n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18).map(|f| f as i64))
        }
        _ => None,
    };
    n.filter(|n| (min..=max).contains(n))
        .ok_or_else(|| invalid(path, &format!("expected an integer in [{min}, {max}]")))
}

fn uint(value: &Value, path: &str) -> Result<u64> {
    match value {
        Value::Null => Ok(0),
        Value::Number(n) => n.as_u64().ok_or_else(|| invalid(path, "expected an unsigned integer")),
        _ => Err(invalid(path, "expected an unsigned integer")),
    }
}

fn float(value: &Value, path: &str) -> Result<f64> {
    match value {
        Value::Null => Ok(0.0),
        Value::Number(n) => n.as_f64().ok_or_else(|| invalid(path, "expected a number")),
        _ => Err(invalid(path, "expected a number")),
    }
}

fn invalid(path: &str, reason: &str) -> Error {
    Error::InvalidValue { path: path.to_owned(), reason: reason.to_owned() }
}
