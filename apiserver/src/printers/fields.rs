//! Forgiving reads from a JSON object: a missing, null or mistyped field reads as its Go zero value.

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::duration::human_duration_nanos;

/// The value at a dotted path of object keys ("spec.template.spec"), if every step is an object key.
pub(super) fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, key| v.as_object()?.get(key))
}

/// A string field, or `None` when absent or not a string (Go's nil `*string`).
pub(super) fn opt_str<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    get(v, path)?.as_str()
}

/// A string field, "" when absent or not a string.
pub(super) fn str<'a>(v: &'a Value, path: &str) -> &'a str {
    opt_str(v, path).unwrap_or("")
}

/// An integer field, or `None` when absent or not an integer (Go's nil `*int32`).
pub(super) fn opt_int(v: &Value, path: &str) -> Option<i64> {
    as_int(get(v, path)?)
}

/// An integer field, 0 when absent or not an integer.
pub(super) fn int(v: &Value, path: &str) -> i64 {
    opt_int(v, path).unwrap_or(0)
}

/// Reads a JSON number as an integer, accepting integral floats such as `3.0`.
pub(super) fn as_int(v: &Value) -> Option<i64> {
    if let Some(i) = v.as_i64() {
        return Some(i);
    }
    let f = v.as_f64()?;
    // Float-to-int `as` saturates; the range check keeps huge values from pretending to be integers.
    (f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64)
}

/// A boolean field, or `None` when absent or not a boolean (Go's nil `*bool`).
pub(super) fn opt_bool(v: &Value, path: &str) -> Option<bool> {
    get(v, path)?.as_bool()
}

/// A boolean field, false when absent or not a boolean.
pub(super) fn bool(v: &Value, path: &str) -> bool {
    opt_bool(v, path).unwrap_or(false)
}

/// An array field, empty when absent or not an array.
pub(super) fn arr<'a>(v: &'a Value, path: &str) -> &'a [Value] {
    get(v, path).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// An object field, or `None` when absent or not an object.
pub(super) fn obj<'a>(v: &'a Value, path: &str) -> Option<&'a Map<String, Value>> {
    get(v, path)?.as_object()
}

/// The string-valued entries of a map field (labels, selectors), skipping non-string values.
pub(super) fn string_map<'a>(v: &'a Value, path: &str) -> Vec<(&'a str, &'a str)> {
    obj(v, path).map_or_else(Vec::new, |m| m.iter().filter_map(|(k, v)| Some((k.as_str(), v.as_str()?))).collect())
}

/// A timestamp field (`metav1.Time` / `MicroTime`), `None` when unset, unparseable or Go's zero time.
pub(super) fn time(v: &Value, path: &str) -> Option<Timestamp> {
    let ts: Timestamp = opt_str(v, path)?.parse().ok()?;
    (ts != go_zero_time()).then_some(ts)
}

/// Go's zero `time.Time`, 0001-01-01T00:00:00Z, which `metav1.Time.IsZero` treats as unset.
fn go_zero_time() -> Timestamp {
    Timestamp::new(-62_135_596_800, 0).unwrap_or(Timestamp::MIN)
}

/// `metadata.name`.
pub(super) fn name(v: &Value) -> &str {
    str(v, "metadata.name")
}

/// Whether `metadata.deletionTimestamp` is set (Go's non-nil pointer; any value but null counts).
pub(super) fn deleting(v: &Value) -> bool {
    get(v, "metadata.deletionTimestamp").is_some_and(|t| !t.is_null())
}

/// The AGE cell: time since `metadata.creationTimestamp`.
pub(super) fn age(v: &Value, now: Timestamp) -> Value {
    cell(since(time(v, "metadata.creationTimestamp"), now))
}

/// Upstream's `translateTimestampSince`: "<unknown>" for an unset time, else the human duration until now.
pub(super) fn since(t: Option<Timestamp>, now: Timestamp) -> String {
    match t {
        Some(t) => between(t, now),
        None => "<unknown>".to_string(),
    }
}

/// The human duration from `start` to `end`, saturating like Go's `Time.Sub`.
pub(super) fn between(start: Timestamp, end: Timestamp) -> String {
    let nanos = end.as_nanosecond() - start.as_nanosecond();
    human_duration_nanos(nanos.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

/// A string cell.
pub(super) fn cell(s: impl Into<String>) -> Value {
    Value::String(s.into())
}

/// An integer cell.
pub(super) fn int_cell(i: impl Into<i64>) -> Value {
    Value::from(i.into())
}

/// A count cell (lengths of lists and maps).
pub(super) fn count_cell(n: usize) -> Value {
    Value::from(n as u64)
}

/// Joins the names and images of a pod template's containers, as upstream's `layoutContainerCells`.
pub(super) fn container_cells(pod_spec: Option<&Value>) -> (Value, Value) {
    let containers = pod_spec.map_or(&[][..], |spec| arr(spec, "containers"));
    let names: Vec<&str> = containers.iter().map(|c| str(c, "name")).collect();
    let images: Vec<&str> = containers.iter().map(|c| str(c, "image")).collect();
    (cell(names.join(",")), cell(images.join(",")))
}

/// Go's `IntOrString.String()`: the integer in decimal or the string as is; `None` when unset.
pub(super) fn int_or_string(v: &Value, path: &str) -> Option<String> {
    match get(v, path)? {
        Value::String(s) => Some(s.clone()),
        n @ Value::Number(_) => as_int(n).map(|i| i.to_string()),
        _ => None,
    }
}

/// The first entry of a condition list with the given type.
pub(super) fn condition<'a>(v: &'a Value, path: &str, type_: &str) -> Option<&'a Value> {
    arr(v, path).iter().find(|c| str(c, "type") == type_)
}
