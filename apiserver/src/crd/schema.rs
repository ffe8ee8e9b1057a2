//! Structural schemas of custom resources (a CRD version's `openAPIV3Schema`):
//! pruning of undeclared fields, defaulting, and validation, as upstream's
//! apiextensions-apiserver does with kube-openapi, in that order.
//!
//! Supported keywords: `type`, `properties`, `additionalProperties`, `items`,
//! `required`, `enum`, `nullable`, `default`, `minimum`/`maximum` (and the
//! exclusive forms), `multipleOf`, `minLength`/`maxLength`, `pattern`,
//! `minItems`/`maxItems`, `uniqueItems`, `minProperties`/`maxProperties`,
//! `allOf`/`anyOf`/`oneOf`/`not`, `x-kubernetes-preserve-unknown-fields`,
//! `x-kubernetes-int-or-string`, `x-kubernetes-embedded-resource` and
//! `x-kubernetes-list-type: set|map` (with `x-kubernetes-list-map-keys`).
//! CEL rules (`x-kubernetes-validations`) are not evaluated.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rustkube_api::validation::{ErrorList, FieldError};
use serde_json::{Map, Value};

/// Nesting beyond this is refused rather than walked (no unbounded recursion).
const MAX_DEPTH: usize = 64;

fn preserves_unknown(schema: &Value) -> bool {
    schema.get("x-kubernetes-preserve-unknown-fields").and_then(Value::as_bool) == Some(true)
}

fn is_embedded(schema: &Value) -> bool {
    schema.get("x-kubernetes-embedded-resource").and_then(Value::as_bool) == Some(true)
}

fn nullable(schema: &Value) -> bool {
    schema.get("nullable").and_then(Value::as_bool) == Some(true)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

/// Removes fields `schema` does not declare (returning their paths, for
/// `fieldValidation`), drops nulls the schema does not allow, and fills in
/// defaults. `obj` is a whole custom resource: `apiVersion`, `kind` and
/// `metadata` at the root are always kept.
pub fn prune_and_default(schema: &Value, obj: &mut Value) -> Vec<String> {
    let mut unknown = Vec::new();
    walk(schema, obj, "", &mut unknown, true, 0);
    unknown
}

fn walk(schema: &Value, value: &mut Value, path: &str, unknown: &mut Vec<String>, root: bool, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            let keep_all = preserves_unknown(schema) || additional.and_then(Value::as_bool) == Some(true);
            let embedded = root || is_embedded(schema);
            let mut drop = Vec::new();
            for (key, child) in map.iter_mut() {
                if embedded && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let child_schema = props.and_then(|p| p.get(key)).or_else(|| additional.filter(|a| a.is_object()));
                match child_schema {
                    Some(s) => {
                        if child.is_null() && !nullable(s) {
                            // Upstream drops nulls of non-nullable fields before defaulting.
                            drop.push(key.clone());
                            continue;
                        }
                        walk(s, child, &join(path, key), unknown, false, depth + 1);
                    }
                    None if keep_all => {}
                    None => {
                        unknown.push(join(path, key));
                        drop.push(key.clone());
                    }
                }
            }
            for key in drop {
                map.remove(&key);
            }
            if let Some(props) = props {
                for (key, s) in props {
                    if map.contains_key(key) {
                        continue;
                    }
                    if let Some(default) = s.get("default") {
                        let mut d = default.clone();
                        walk(s, &mut d, &join(path, key), &mut Vec::new(), false, depth + 1);
                        map.insert(key.clone(), d);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items").filter(|s| s.is_object()) {
                for (i, item) in items.iter_mut().enumerate() {
                    walk(item_schema, item, &format!("{path}[{i}]"), unknown, false, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// The JSON type name upstream reports for a value.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_integer(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0),
        _ => false,
    }
}

fn type_matches(expected: &str, v: &Value) -> bool {
    match expected {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => is_integer(v),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        _ => true,
    }
}

/// A value as upstream prints it in a validation message: strings quoted,
/// numbers and booleans bare, anything else as JSON.
fn render(v: &Value) -> String {
    match v {
        Value::String(s) => rustkube_api::validation::BadValue::render(s.as_str()),
        other => other.to_string(),
    }
}

fn invalid(path: &str, v: &Value, detail: String) -> FieldError {
    FieldError { bad_value: Some(render(v)), ..FieldError::invalid_value_omitted(path, detail) }
}

fn regex(pattern: &str) -> Option<Arc<regex::Regex>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Arc<regex::Regex>>>>> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() > 4096 {
        cache.clear();
    }
    cache.entry(pattern.to_owned()).or_insert_with(|| regex::Regex::new(pattern).ok().map(Arc::new)).clone()
}

/// Validates `obj` (after pruning and defaulting) against `schema`.
pub fn validate(schema: &Value, obj: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    check(schema, obj, "", &mut errs, true, 0);
    errs
}

fn check(schema: &Value, v: &Value, path: &str, errs: &mut ErrorList, root: bool, depth: usize) {
    if depth > MAX_DEPTH {
        errs.push(FieldError::invalid_value_omitted(path, "nesting is too deep"));
        return;
    }
    if v.is_null() {
        if !nullable(schema) && schema.get("type").is_some() && !root {
            errs.push(invalid(
                path,
                v,
                format!("{path} in body must be of type {}: \"null\"", schema["type"].as_str().unwrap_or("")),
            ));
        }
        return;
    }
    let int_or_string = schema.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true);
    if int_or_string {
        if !(is_integer(v) || v.is_string()) {
            errs.push(invalid(path, v, format!("{path} in body must be of type integer,string: \"{}\"", type_name(v))));
            return;
        }
    } else if let Some(expected) = schema.get("type").and_then(Value::as_str)
        && !type_matches(expected, v)
    {
        errs.push(invalid(path, v, format!("{path} in body must be of type {expected}: \"{}\"", type_name(v))));
        return;
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(v)
    {
        let valid: Vec<String> =
            options.iter().map(|o| o.as_str().map_or_else(|| o.to_string(), str::to_owned)).collect();
        let mut e = FieldError::not_supported(path, "", &valid);
        e.bad_value = Some(render(v));
        errs.push(e);
    }
    match v {
        Value::Number(n) => check_number(schema, v, n.as_f64().unwrap_or(0.0), path, errs),
        Value::String(s) => check_string(schema, v, s, path, errs),
        Value::Array(items) => check_array(schema, v, items, path, errs, depth),
        Value::Object(map) => check_object(schema, v, map, path, errs, root, depth),
        _ => {}
    }
    for (keyword, sub) in [("allOf", true), ("anyOf", false), ("oneOf", false)] {
        let Some(options) = schema.get(keyword).and_then(Value::as_array) else { continue };
        let results: Vec<ErrorList> = options
            .iter()
            .map(|s| {
                let mut e = ErrorList::new();
                check(s, v, path, &mut e, root, depth + 1);
                e
            })
            .collect();
        let passing = results.iter().filter(|r| r.is_empty()).count();
        match keyword {
            "allOf" if sub => {
                for r in results {
                    errs.extend(r);
                }
            }
            "anyOf" if passing == 0 => errs.push(FieldError::invalid_value_omitted(
                path,
                format!("{path} in body must match at least one schema in anyOf"),
            )),
            "oneOf" if passing != 1 => errs.push(FieldError::invalid_value_omitted(
                path,
                format!("{path} in body must match exactly one schema in oneOf"),
            )),
            _ => {}
        }
    }
    if let Some(not) = schema.get("not").filter(|s| s.is_object()) {
        let mut e = ErrorList::new();
        check(not, v, path, &mut e, root, depth + 1);
        if e.is_empty() {
            errs.push(FieldError::invalid_value_omitted(
                path,
                format!("{path} in body must not validate the schema (not)"),
            ));
        }
    }
}

fn check_number(schema: &Value, v: &Value, n: f64, path: &str, errs: &mut ErrorList) {
    let exclusive = |k: &str| schema.get(k).and_then(Value::as_bool) == Some(true);
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
        if exclusive("exclusiveMinimum") && n <= min {
            errs.push(invalid(path, v, format!("{path} in body should be greater than {}", schema["minimum"])));
        } else if n < min {
            errs.push(invalid(
                path,
                v,
                format!("{path} in body should be greater than or equal to {}", schema["minimum"]),
            ));
        }
    }
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
        if exclusive("exclusiveMaximum") && n >= max {
            errs.push(invalid(path, v, format!("{path} in body should be less than {}", schema["maximum"])));
        } else if n > max {
            errs.push(invalid(
                path,
                v,
                format!("{path} in body should be less than or equal to {}", schema["maximum"]),
            ));
        }
    }
    if let Some(m) = schema.get("multipleOf").and_then(Value::as_f64)
        && m > 0.0
        && (n / m).fract().abs() > 1e-9
    {
        errs.push(invalid(path, v, format!("{path} in body should be a multiple of {}", schema["multipleOf"])));
    }
}

fn check_string(schema: &Value, v: &Value, s: &str, path: &str, errs: &mut ErrorList) {
    let chars = s.chars().count() as u64;
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
        && chars < min
    {
        errs.push(invalid(path, v, format!("{path} in body should be at least {min} chars long")));
    }
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
        && chars > max
    {
        errs.push(FieldError::too_long(path, usize::try_from(max).unwrap_or(usize::MAX)));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
        && let Some(re) = regex(pattern)
        && !re.is_match(s)
    {
        errs.push(invalid(path, v, format!("{path} in body should match '{pattern}'")));
    }
}

fn check_array(schema: &Value, v: &Value, items: &[Value], path: &str, errs: &mut ErrorList, depth: usize) {
    let n = items.len() as u64;
    if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
        && n < min
    {
        errs.push(invalid(path, v, format!("{path} in body should have at least {min} items")));
    }
    if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
        && n > max
    {
        errs.push(FieldError::too_many(path, Some(items.len()), usize::try_from(max).ok()));
    }
    let list_type = schema.get("x-kubernetes-list-type").and_then(Value::as_str);
    let unique = schema.get("uniqueItems").and_then(Value::as_bool) == Some(true) || list_type == Some("set");
    if unique {
        for (i, item) in items.iter().enumerate() {
            if items[..i].contains(item) {
                let mut e = FieldError::duplicate(format!("{path}[{i}]"), "");
                e.bad_value = Some(render(item));
                errs.push(e);
            }
        }
    }
    if list_type == Some("map")
        && let Some(keys) = schema.get("x-kubernetes-list-map-keys").and_then(Value::as_array)
    {
        let key_of = |item: &Value| -> Vec<Value> {
            keys.iter().filter_map(Value::as_str).map(|k| item.get(k).cloned().unwrap_or(Value::Null)).collect()
        };
        let seen: Vec<Vec<Value>> = items.iter().map(key_of).collect();
        for i in 0..seen.len() {
            if seen[..i].contains(&seen[i]) {
                let mut e = FieldError::duplicate(format!("{path}[{i}]"), "");
                e.bad_value = Some(Value::Array(seen[i].clone()).to_string());
                errs.push(e);
            }
        }
    }
    if let Some(item_schema) = schema.get("items").filter(|s| s.is_object()) {
        for (i, item) in items.iter().enumerate() {
            check(item_schema, item, &format!("{path}[{i}]"), errs, false, depth + 1);
        }
    }
}

fn check_object(
    schema: &Value,
    v: &Value,
    map: &Map<String, Value>,
    path: &str,
    errs: &mut ErrorList,
    root: bool,
    depth: usize,
) {
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for key in required.iter().filter_map(Value::as_str) {
            if map.get(key).is_none_or(Value::is_null) {
                errs.push(FieldError::required(join(path, key), ""));
            }
        }
    }
    let n = map.len() as u64;
    if let Some(min) = schema.get("minProperties").and_then(Value::as_u64)
        && n < min
    {
        errs.push(invalid(path, v, format!("{path} in body should have at least {min} properties")));
    }
    if let Some(max) = schema.get("maxProperties").and_then(Value::as_u64)
        && n > max
    {
        errs.push(FieldError::too_many(path, Some(map.len()), usize::try_from(max).ok()));
    }
    let props = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties").filter(|a| a.is_object());
    let embedded = root || is_embedded(schema);
    for (key, child) in map {
        if embedded && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        if let Some(s) = props.and_then(|p| p.get(key)).or(additional) {
            check(s, child, &join(path, key), errs, false, depth + 1);
        }
    }
    if is_embedded(schema) {
        for key in ["apiVersion", "kind"] {
            if map.get(key).and_then(Value::as_str).is_none_or(str::is_empty) {
                errs.push(FieldError::required(join(path, key), "must not be empty"));
            }
        }
    }
}

/// Problems with a schema itself, checked when a CRD is written: the parts
/// this server relies on (types known, patterns compile, defaults valid).
pub fn schema_errors(schema: &Value, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    schema_walk(schema, path, &mut errs, 0);
    errs
}

fn schema_walk(schema: &Value, path: &str, errs: &mut ErrorList, depth: usize) {
    if depth > MAX_DEPTH {
        errs.push(FieldError::invalid_value_omitted(path, "schema nesting is too deep"));
        return;
    }
    let Some(map) = schema.as_object() else {
        errs.push(FieldError::invalid_value_omitted(path, "must be an object"));
        return;
    };
    if let Some(t) = map.get("type") {
        let known =
            t.as_str().is_some_and(|t| matches!(t, "object" | "array" | "string" | "integer" | "number" | "boolean"));
        if !known {
            let mut e = FieldError::not_supported(
                format!("{path}.type"),
                "",
                &["array", "boolean", "integer", "number", "object", "string"],
            );
            e.bad_value = Some(render(t));
            errs.push(e);
        }
    }
    if let Some(p) = map.get("pattern").and_then(Value::as_str)
        && regex(p).is_none()
    {
        errs.push(FieldError::invalid(format!("{path}.pattern"), p, "must be a valid regular expression"));
    }
    if let Some(props) = map.get("properties").and_then(Value::as_object) {
        for (k, s) in props {
            schema_walk(s, &format!("{path}.properties[{k}]"), errs, depth + 1);
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(s) = map.get(key).filter(|s| s.is_object()) {
            schema_walk(s, &format!("{path}.{key}"), errs, depth + 1);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(list) = map.get(key).and_then(Value::as_array) {
            for (i, s) in list.iter().enumerate() {
                schema_walk(s, &format!("{path}.{key}[{i}]"), errs, depth + 1);
            }
        }
    }
    if let Some(default) = map.get("default") {
        let mut d = default.clone();
        let mut ignored = Vec::new();
        walk(schema, &mut d, "", &mut ignored, false, 0);
        let mut inner = ErrorList::new();
        check(schema, &d, "", &mut inner, false, 0);
        for e in inner {
            errs.push(FieldError::invalid_value_omitted(format!("{path}.default"), e.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "required": ["image"],
                    "properties": {
                        "image": { "type": "string", "minLength": 1, "pattern": "^[a-z0-9./:-]+$" },
                        "replicas": { "type": "integer", "minimum": 0, "maximum": 10, "default": 1 },
                        "mode": { "type": "string", "enum": ["fast", "safe"], "default": "safe" },
                        "port": { "x-kubernetes-int-or-string": true },
                        "tags": { "type": "array", "items": { "type": "string" }, "x-kubernetes-list-type": "set", "maxItems": 3 },
                        "labels": { "type": "object", "additionalProperties": { "type": "string" } },
                        "extra": { "type": "object", "x-kubernetes-preserve-unknown-fields": true },
                        "nested": { "type": "object", "default": {}, "properties": { "level": { "type": "string", "default": "info" } } },
                        "note": { "type": "string", "nullable": true }
                    }
                },
                "status": { "type": "object", "properties": { "ready": { "type": "boolean" } } }
            }
        })
    }

    #[test]
    fn prunes_unknown_fields_but_keeps_metadata_maps_and_preserved_subtrees() {
        let mut obj = json!({
            "apiVersion": "example.com/v1", "kind": "Widget", "metadata": { "name": "w", "labels": { "a": "b" } },
            "spec": { "image": "busybox", "bogus": 1, "labels": { "x": "y" }, "extra": { "anything": [1, 2] } },
            "top": true
        });
        let mut unknown = prune_and_default(&schema(), &mut obj);
        unknown.sort();
        assert_eq!(unknown, vec!["spec.bogus", "top"]);
        assert_eq!(obj["metadata"]["labels"]["a"], "b");
        assert_eq!(obj["spec"]["labels"]["x"], "y");
        assert_eq!(obj["spec"]["extra"]["anything"], json!([1, 2]));
    }

    #[test]
    fn defaults_fill_missing_fields_recursively_and_nulls_are_dropped() {
        let mut obj = json!({ "spec": { "image": "busybox", "mode": null, "note": null } });
        prune_and_default(&schema(), &mut obj);
        assert_eq!(obj["spec"]["replicas"], 1);
        assert_eq!(obj["spec"]["mode"], "safe", "a null non-nullable field is dropped, then defaulted");
        assert_eq!(obj["spec"]["nested"]["level"], "info", "defaults of a defaulted object apply too");
        assert!(obj["spec"]["note"].is_null() && obj["spec"].get("note").is_some(), "nullable keeps null");
        assert!(validate(&schema(), &obj).is_empty(), "{:?}", validate(&schema(), &obj));
    }

    #[test]
    fn validation_names_each_bad_field_as_upstream() {
        let obj = json!({ "spec": {
            "replicas": "three", "mode": "slow", "port": [1], "tags": ["a", "a"], "labels": { "k": 1 }
        }});
        let errs: Vec<String> = validate(&schema(), &obj).iter().map(ToString::to_string).collect();
        let expected = [
            "spec.image: Required value",
            "spec.replicas: Invalid value: \"three\": spec.replicas in body must be of type integer: \"string\"",
            "spec.mode: Unsupported value: \"slow\": supported values: \"fast\", \"safe\"",
            "spec.port: Invalid value: [1]: spec.port in body must be of type integer,string: \"array\"",
            "spec.tags[1]: Duplicate value: \"a\"",
            "spec.labels.k: Invalid value: 1: spec.labels.k in body must be of type string: \"integer\"",
        ];
        for e in expected {
            assert!(errs.iter().any(|x| x == e), "missing {e:?} in {errs:#?}");
        }
        let range = validate(&schema(), &json!({ "spec": { "image": "UPPER", "replicas": 11 } }));
        let range: Vec<String> = range.iter().map(ToString::to_string).collect();
        assert!(
            range.iter().any(|e| e.contains("spec.replicas in body should be less than or equal to 10")),
            "{range:?}"
        );
        assert!(range.iter().any(|e| e.contains("spec.image in body should match '^[a-z0-9./:-]+$'")), "{range:?}");
    }

    #[test]
    fn schema_problems_are_found_when_the_crd_is_written() {
        let bad = json!({ "type": "object", "properties": {
            "a": { "type": "strin" },
            "b": { "type": "string", "pattern": "([" },
            "c": { "type": "integer", "default": "x" }
        }});
        let errs: Vec<String> =
            schema_errors(&bad, "spec.versions[0].schema.openAPIV3Schema").iter().map(ToString::to_string).collect();
        assert_eq!(errs.len(), 3, "{errs:#?}");
        assert!(schema_errors(&schema(), "s").is_empty());
    }

    #[test]
    fn deep_or_hostile_input_never_overflows() {
        let mut v = json!("leaf");
        for _ in 0..200 {
            v = json!({ "x": v });
        }
        let s = json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true });
        let mut obj = json!({ "spec": v });
        prune_and_default(&s, &mut obj);
        let _ = validate(&s, &obj);
    }
}
