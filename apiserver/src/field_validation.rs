//! `fieldValidation`: unknown fields in built-in objects, found by walking
//! the object against its OpenAPI v3 schema. Like upstream's typed decoding,
//! unknown fields are dropped (Ignore), dropped with a `Warning` header
//! (Warn, the default) or refused with 400 (Strict).

use serde_json::{Map, Value};

use crate::openapi;
use crate::status::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Ignore,
    Warn,
    Strict,
}

pub fn mode(query: Option<&String>) -> Result<Mode, ApiError> {
    match query.map(String::as_str) {
        None | Some("") | Some("Warn") => Ok(Mode::Warn),
        Some("Ignore") => Ok(Mode::Ignore),
        Some("Strict") => Ok(Mode::Strict),
        Some(other) => Err(ApiError::bad_request(format!(
            "fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\", got {other:?}"
        ))),
    }
}

fn components(doc: &Value) -> Option<&Map<String, Value>> {
    doc.get("components")?.get("schemas")?.as_object()
}

/// The schema of a kind in its group-version document.
fn kind_schema<'a>(doc: &'a Value, group: &str, version: &str, kind: &str) -> Option<&'a Value> {
    components(doc)?.values().find(|s| {
        s.get("x-kubernetes-group-version-kind").and_then(Value::as_array).is_some_and(|gvks| {
            gvks.iter().any(|g| g["group"] == group && g["version"] == version && g["kind"] == kind)
        })
    })
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    let mut s = schema;
    for _ in 0..8 {
        let target = s.get("$ref").and_then(Value::as_str).or_else(|| {
            s.get("allOf")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(|f| f.get("$ref"))
                .and_then(Value::as_str)
        });
        match target.and_then(|r| r.strip_prefix("#/components/schemas/")).and_then(|n| components(doc)?.get(n)) {
            Some(next) => s = next,
            None => break,
        }
    }
    s
}

fn walk(doc: &Value, schema: &Value, value: &mut Value, path: &str, unknown: &mut Vec<String>, depth: usize) {
    if depth > 64 {
        return;
    }
    let schema = resolve(doc, schema);
    if schema.get("x-kubernetes-preserve-unknown-fields").and_then(Value::as_bool) == Some(true) {
        return;
    }
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            if props.is_none() && additional.is_none() {
                return; // an untyped object (e.g. RawExtension): anything goes
            }
            let mut drop = Vec::new();
            for (key, child) in map.iter_mut() {
                let child_path = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                if let Some(sub) = props.and_then(|p| p.get(key)) {
                    walk(doc, sub, child, &child_path, unknown, depth + 1);
                } else if let Some(sub) = additional.filter(|a| a.is_object()) {
                    walk(doc, sub, child, &child_path, unknown, depth + 1);
                } else if additional.and_then(Value::as_bool) == Some(true) {
                } else {
                    unknown.push(child_path);
                    drop.push(key.clone());
                }
            }
            for key in drop {
                map.remove(&key);
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    walk(doc, item_schema, item, &format!("{path}[{i}]"), unknown, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// Removes fields the kind's schema does not declare and returns their paths.
/// Kinds without a schema are left alone.
pub fn prune_unknown(group: &str, version: &str, kind: &str, obj: &mut Value) -> Vec<String> {
    let Some(doc) = openapi::v3_group_version(group, version) else { return Vec::new() };
    let Some(schema) = kind_schema(doc, group, version, kind) else { return Vec::new() };
    let mut unknown = Vec::new();
    walk(doc, schema, obj, "", &mut unknown, 0);
    unknown
}

/// Applies `mode` to `obj`: returns the warnings to send, or the Strict error.
pub fn check(mode: Mode, group: &str, version: &str, kind: &str, obj: &mut Value) -> Result<Vec<String>, ApiError> {
    let unknown = prune_unknown(group, version, kind, obj);
    verdict(mode, version, kind, &unknown)
}

/// What `mode` makes of the unknown fields found (and already dropped) in an
/// object of `kind`: nothing (Ignore), warnings (Warn), or a 400 (Strict).
pub fn verdict(mode: Mode, version: &str, kind: &str, unknown: &[String]) -> Result<Vec<String>, ApiError> {
    if mode == Mode::Ignore || unknown.is_empty() {
        return Ok(Vec::new());
    }
    let listed: Vec<String> = unknown.iter().map(|p| format!("unknown field \"{p}\"")).collect();
    match mode {
        Mode::Strict => Err(ApiError::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
            listed.join(", ")
        ))),
        _ => Ok(listed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_are_found_and_pruned_at_any_depth() {
        let mut d = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": { "name": "d", "labels": { "any": "thing" }, "bogus": 1 },
            "spec": { "replicas": 1, "foo": "x", "selector": { "matchLabels": { "a": "b" } },
                      "template": { "spec": { "containers": [{ "name": "c", "image": "i", "imagePullPolice": "Always" }] } } }
        });
        let mut unknown = prune_unknown("apps", "v1", "Deployment", &mut d);
        unknown.sort();
        assert_eq!(unknown, vec!["metadata.bogus", "spec.foo", "spec.template.spec.containers[0].imagePullPolice"]);
        assert!(d["spec"].get("foo").is_none() && d["metadata"]["labels"]["any"] == "thing", "maps keep any key");
        let mut ok =
            json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "c" }, "data": { "k": "v" } });
        assert!(prune_unknown("", "v1", "ConfigMap", &mut ok).is_empty());
    }

    #[test]
    fn strict_refuses_with_upstreams_wording() {
        let mut c = json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "c" }, "dta": {} });
        let err = check(Mode::Strict, "", "v1", "ConfigMap", &mut c).unwrap_err();
        assert_eq!(err.code, 400);
        assert!(err.message.contains("strict decoding error: unknown field \"dta\""), "{}", err.message);
        let mut c = json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "c" }, "dta": {} });
        let warnings = check(Mode::Warn, "", "v1", "ConfigMap", &mut c).unwrap();
        assert!(c.get("dta").is_none(), "Warn drops the field");
        assert_eq!(warnings, vec!["unknown field \"dta\"".to_owned()]);
        assert!(mode(Some(&"Bogus".to_owned())).is_err());
    }
}
