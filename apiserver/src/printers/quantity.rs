//! Canonical resource quantity strings, as apimachinery's `resource.Quantity.String()`
//! prints them ("1Gi", "1536Mi", "1500m", "2k", "1e3"), via `rustkube_api::Quantity`.

use rustkube_api::Quantity;
use serde_json::Value;

/// The canonical string of a quantity field. An unset quantity prints "0" (Go's zero `Quantity`); a
/// value that does not parse is printed as given.
pub(super) fn format_value(v: Option<&Value>) -> String {
    let raw = match v {
        None | Some(Value::Null) => return "0".to_string(),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => return other.to_string(),
    };
    Quantity::parse(&raw).map(|q| q.to_canonical_string()).unwrap_or(raw)
}
