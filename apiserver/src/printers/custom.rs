//! Tables of custom resources: a Name column, then the CRD version's
//! `additionalPrinterColumns` (or upstream's default Age column), each cell
//! read with the column's JSONPath, as apiextensions' table convertor does.

use jsonpath_rust::JsonPath;
use serde_json::{Value, json};

use super::{descriptions, fields};

/// One `additionalPrinterColumns` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct PrinterColumn {
    pub name: String,
    /// "string" | "integer" | "number" | "boolean" | "date".
    pub type_: String,
    pub format: String,
    pub description: String,
    pub priority: i64,
    /// The column's path as written in the CRD (`.spec.replicas`).
    pub json_path: String,
}

impl PrinterColumn {
    /// The columns of a CRD version (`spec.versions[i]`): its own, or Age when it has none.
    pub fn of_version(version: &Value) -> Vec<PrinterColumn> {
        let given: Vec<PrinterColumn> = version
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
            .map(|cols| {
                cols.iter()
                    .filter_map(|c| {
                        let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                        let name = s("name");
                        let json_path = s("jsonPath");
                        (!name.is_empty() && !json_path.is_empty()).then(|| PrinterColumn {
                            description: match s("description") {
                                d if d.is_empty() => {
                                    format!("Custom resource definition column (in JSONPath format): {json_path}")
                                }
                                d => d,
                            },
                            name,
                            type_: s("type"),
                            format: s("format"),
                            priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
                            json_path,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        if !given.is_empty() {
            return given;
        }
        vec![PrinterColumn {
            name: "Age".into(),
            type_: "date".into(),
            format: String::new(),
            description: descriptions::META_CREATION.into(),
            priority: 0,
            json_path: ".metadata.creationTimestamp".into(),
        }]
    }
}

/// Column definitions: Name, then `columns`.
pub fn column_definitions(columns: &[PrinterColumn]) -> Vec<Value> {
    let mut defs = vec![json!({
        "name": "Name", "type": "string", "format": "name", "description": descriptions::META_NAME, "priority": 0,
    })];
    defs.extend(columns.iter().map(|c| {
        json!({ "name": c.name, "type": c.type_, "format": c.format, "description": c.description, "priority": c.priority })
    }));
    defs
}

/// Kubernetes JSONPath (`.spec.x`, `{.spec.x}`) in the `$`-rooted form the query library reads.
fn rooted(path: &str) -> String {
    let p = path.trim();
    let p = p.strip_prefix('{').and_then(|p| p.strip_suffix('}')).unwrap_or(p).trim();
    if p.starts_with('$') {
        p.to_owned()
    } else if p.starts_with('[') {
        format!("${p}")
    } else {
        format!("$.{}", p.trim_start_matches('.'))
    }
}

/// The cells of one object: its name, then each column's value.
pub fn cells(columns: &[PrinterColumn], obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    let mut out = vec![json!(name)];
    for c in columns {
        let found = obj.query(&rooted(&c.json_path)).ok().and_then(|r| r.first().map(|v| (*v).clone()));
        out.push(match found {
            None | Some(Value::Null) => Value::Null,
            Some(v) => cell(&c.type_, v, now),
        });
    }
    out
}

fn cell(type_: &str, v: Value, now: jiff::Timestamp) -> Value {
    match (type_, v) {
        ("string", Value::String(s)) => json!(s),
        ("string", other) => json!(other.to_string()),
        ("integer", Value::Number(n)) => {
            n.as_i64().map_or_else(|| json!(n.as_f64().unwrap_or(0.0) as i64), |i| json!(i))
        }
        ("number", Value::Number(n)) => json!(n.as_f64().unwrap_or(0.0)),
        ("boolean", Value::Bool(b)) => json!(b),
        ("date", Value::String(s)) => match s.parse::<jiff::Timestamp>() {
            Ok(t) => json!(fields::since(Some(t), now)),
            Err(_) => json!("<invalid>"),
        },
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_default_to_age_and_cells_follow_json_paths() {
        let now: jiff::Timestamp = "2026-01-01T00:10:00Z".parse().unwrap();
        let obj = json!({
            "metadata": { "name": "w", "creationTimestamp": "2026-01-01T00:00:00Z" },
            "spec": { "replicas": 3, "image": "busybox", "on": true },
            "status": { "conditions": [{ "type": "Ready", "status": "True" }] }
        });
        let age = PrinterColumn::of_version(&json!({ "name": "v1" }));
        assert_eq!(cells(&age, &obj, now), vec![json!("w"), json!("10m")]);
        let version = json!({ "additionalPrinterColumns": [
            { "name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas" },
            { "name": "Image", "type": "string", "jsonPath": ".spec.image", "priority": 1 },
            { "name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status" },
            { "name": "Missing", "type": "string", "jsonPath": ".spec.nothing" },
            { "name": "On", "type": "boolean", "jsonPath": ".spec.on" },
        ]});
        let cols = PrinterColumn::of_version(&version);
        assert_eq!(
            cells(&cols, &obj, now),
            vec![json!("w"), json!(3), json!("busybox"), json!("True"), Value::Null, json!(true)]
        );
        let defs = column_definitions(&cols);
        assert_eq!(defs[0]["format"], "name");
        assert_eq!(defs[2]["priority"], 1);
        assert_eq!(defs[1]["description"], "Custom resource definition column (in JSONPath format): .spec.replicas");
    }
}
