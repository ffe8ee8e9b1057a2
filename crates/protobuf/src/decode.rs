//! Protobuf → JSON: walks an encoded message with its schema and builds the JSON Go's encoding/json
//! would have written for the same object.

use serde_json::{Map, Number, Value};

use crate::presence::{Presence, presence};
use crate::schema::{Cardinality, Field, Kind, Message, Schema};
use crate::wellknown::{base64_encode, decode_special, is_inline, json_name, special};
use crate::wire::{Fields, WireValue, read_varint};
use crate::{Error, Result};

/// Deeper nesting than any Kubernetes object has; bounds recursion on hostile input.
pub(crate) const MAX_DEPTH: usize = 100;

pub(crate) fn message(schema: &Schema, message: &Message, raw: &[u8], depth: usize) -> Result<Value> {
    if depth > MAX_DEPTH {
        return Err(Error::Malformed(format!("{}: nested more than {MAX_DEPTH} levels deep", message.full_name)));
    }
    if let Some(special) = special(&message.full_name) {
        return decode_special(special, schema, message, raw, depth);
    }
    let mut values: Vec<Vec<WireValue<'_>>> = vec![Vec::new(); message.fields.len()];
    for field in Fields::new(raw) {
        let (number, value) = field?;
        // Unknown field numbers are skipped, as Go's generated unmarshallers do.
        if let Ok(i) = message.fields.binary_search_by_key(&number, |f| f.number) {
            values[i].push(value);
        }
    }
    let mut out = Map::new();
    for (field, values) in message.fields.iter().zip(values) {
        let presence = presence(&message.full_name, &field.name);
        let what = || format!("{}.{}", message.full_name, field.name);
        let value = match &field.cardinality {
            Cardinality::Single => single(schema, field, &values, presence, depth).map_err(|e| context(e, &what()))?,
            Cardinality::Repeated => {
                let items = repeated(schema, field, &values, depth).map_err(|e| context(e, &what()))?;
                match (items.is_empty(), presence) {
                    (false, _) => Some(Value::Array(items)),
                    (true, Presence::Always) => Some(Value::Null),
                    (true, _) => None,
                }
            }
            Cardinality::Map { key, value } => {
                let entries = map(schema, key, value, &values, depth).map_err(|e| context(e, &what()))?;
                match (entries.is_empty(), presence) {
                    (false, _) => Some(Value::Object(entries)),
                    (true, Presence::Always) => Some(Value::Null),
                    (true, _) => None,
                }
            }
        };
        match value {
            Some(Value::Object(embedded)) if is_inline(&message.full_name, &field.name) => out.extend(embedded),
            Some(value) => {
                out.insert(json_name(&message.full_name, &field.name).into_owned(), value);
            }
            None => {}
        }
    }
    Ok(Value::Object(out))
}

fn context(error: Error, field: &str) -> Error {
    match error {
        Error::Malformed(reason) if !reason.starts_with("field ") => {
            Error::Malformed(format!("field {field}: {reason}"))
        }
        other => other,
    }
}

fn single(
    schema: &Schema,
    field: &Field,
    values: &[WireValue<'_>],
    presence: Presence,
    depth: usize,
) -> Result<Option<Value>> {
    if let Kind::Message(name) = &field.kind {
        if values.is_empty() && presence != Presence::Always {
            return Ok(None);
        }
        // Repeated occurrences of a message field merge; concatenating their bytes does exactly that.
        let mut merged = Vec::new();
        for value in values {
            match value {
                WireValue::Len(b) => merged.extend_from_slice(b),
                other => return Err(wire_mismatch(other)),
            }
        }
        return message(schema, schema.message(name)?, &merged, depth + 1).map(Some);
    }
    let Some(last) = values.last() else {
        return Ok((presence == Presence::Always).then(|| zero(&field.kind)));
    };
    let value = scalar(&field.kind, last)?;
    if presence == Presence::OmitEmpty && is_zero(&value) {
        return Ok(None);
    }
    Ok(Some(value))
}

fn repeated(schema: &Schema, field: &Field, values: &[WireValue<'_>], depth: usize) -> Result<Vec<Value>> {
    let mut items = Vec::with_capacity(values.len());
    for value in values {
        match (&field.kind, value) {
            (Kind::Message(name), WireValue::Len(b)) => {
                items.push(message(schema, schema.message(name)?, b, depth + 1)?)
            }
            (Kind::Message(_), other) => return Err(wire_mismatch(other)),
            // Packed encoding of numeric fields, which Go's unmarshallers also accept.
            (kind, WireValue::Len(packed)) if packable(kind) => {
                let mut b: &[u8] = packed;
                while !b.is_empty() {
                    let element = match fixed_width(kind) {
                        Some(width) => {
                            if b.len() < width {
                                return Err(Error::Malformed("truncated packed field".to_owned()));
                            }
                            let (head, rest) = b.split_at(width);
                            b = rest;
                            match width {
                                4 => WireValue::Fixed32(u32::from_le_bytes(head.try_into().unwrap_or_default())),
                                _ => WireValue::Fixed64(u64::from_le_bytes(head.try_into().unwrap_or_default())),
                            }
                        }
                        None => WireValue::Varint(read_varint(&mut b)?),
                    };
                    items.push(scalar(kind, &element)?);
                }
            }
            (kind, value) => items.push(scalar(kind, value)?),
        }
    }
    Ok(items)
}

fn map(
    schema: &Schema,
    key: &Kind,
    value: &Kind,
    entries: &[WireValue<'_>],
    depth: usize,
) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for entry in entries {
        let WireValue::Len(entry) = entry else { return Err(wire_mismatch(entry)) };
        let (mut k, mut v): (Option<WireValue<'_>>, Vec<WireValue<'_>>) = (None, Vec::new());
        for field in Fields::new(entry) {
            match field? {
                (1, wire) => k = Some(wire),
                (2, wire) => v.push(wire),
                _ => {}
            }
        }
        let key = match k.map(|k| scalar(key, &k)).transpose()?.unwrap_or_else(|| zero(key)) {
            Value::String(s) => s,
            other => other.to_string(),
        };
        let value = match value {
            Kind::Message(name) => {
                let mut merged = Vec::new();
                for part in &v {
                    let WireValue::Len(b) = part else { return Err(wire_mismatch(part)) };
                    merged.extend_from_slice(b);
                }
                message(schema, schema.message(name)?, &merged, depth + 1)?
            }
            scalar_kind => v.last().map(|w| scalar(scalar_kind, w)).transpose()?.unwrap_or_else(|| zero(scalar_kind)),
        };
        out.insert(key, value);
    }
    Ok(out)
}

fn packable(kind: &Kind) -> bool {
    !matches!(kind, Kind::String | Kind::Bytes | Kind::Message(_))
}

fn fixed_width(kind: &Kind) -> Option<usize> {
    match kind {
        Kind::Fixed32 | Kind::Sfixed32 | Kind::Float => Some(4),
        Kind::Fixed64 | Kind::Sfixed64 | Kind::Double => Some(8),
        _ => None,
    }
}

fn scalar(kind: &Kind, value: &WireValue<'_>) -> Result<Value> {
    let json = match (kind, value) {
        (Kind::Int32 | Kind::Enum, WireValue::Varint(v)) => Value::from(*v as i32),
        (Kind::Int64, WireValue::Varint(v)) => Value::from(*v as i64),
        (Kind::Uint32, WireValue::Varint(v)) => Value::from(*v as u32),
        (Kind::Uint64, WireValue::Varint(v)) => Value::from(*v),
        (Kind::Sint32, WireValue::Varint(v)) => Value::from(((*v as u32 >> 1) as i32) ^ -((*v & 1) as i32)),
        (Kind::Sint64, WireValue::Varint(v)) => Value::from(((*v >> 1) as i64) ^ -((*v & 1) as i64)),
        (Kind::Bool, WireValue::Varint(v)) => Value::Bool(*v != 0),
        (Kind::Fixed32, WireValue::Fixed32(v)) => Value::from(*v),
        (Kind::Sfixed32, WireValue::Fixed32(v)) => Value::from(*v as i32),
        (Kind::Float, WireValue::Fixed32(v)) => float(f64::from(f32::from_bits(*v)))?,
        (Kind::Fixed64, WireValue::Fixed64(v)) => Value::from(*v),
        (Kind::Sfixed64, WireValue::Fixed64(v)) => Value::from(*v as i64),
        (Kind::Double, WireValue::Fixed64(v)) => float(f64::from_bits(*v))?,
        (Kind::String, WireValue::Len(b)) => Value::String(String::from_utf8_lossy(b).into_owned()),
        (Kind::Bytes, WireValue::Len(b)) => Value::String(base64_encode(b)),
        (_, other) => return Err(wire_mismatch(other)),
    };
    Ok(json)
}

/// Go writes whole floats without a fraction (`10`, not `10.0`); NaN and infinities have no JSON form.
fn float(f: f64) -> Result<Value> {
    if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        return Ok(Value::from(f as i64));
    }
    Number::from_f64(f).map(Value::Number).ok_or_else(|| Error::Malformed(format!("{f} has no JSON form")))
}

fn zero(kind: &Kind) -> Value {
    match kind {
        Kind::String => Value::String(String::new()),
        Kind::Bool => Value::Bool(false),
        Kind::Bytes | Kind::Message(_) => Value::Null,
        _ => Value::from(0),
    }
}

fn is_zero(value: &Value) -> bool {
    match value {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

fn wire_mismatch(value: &WireValue<'_>) -> Error {
    Error::Malformed(format!("wire type {} does not match the field's type", value.wire_type()))
}
