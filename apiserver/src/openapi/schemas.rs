//! The schema definitions shared by every document: k8s-openapi's `JsonSchema` output for each
//! served kind, reshaped into what upstream's kube-openapi publishes.
//!
//! k8s-openapi gives upstream's definition names, descriptions, types and formats, but not the
//! vendor extensions kube-openapi adds from Go markers; this module adds them:
//! `x-kubernetes-group-version-kind` on kinds, lists and the shared meta types, and the patch and
//! list/map-type extensions of [`markers`](super::markers). It also synthesizes the `<Kind>List`
//! definitions (k8s-openapi models lists as one generic type without a schema) and drops the
//! `required: ["metadata"]` k8s-openapi puts on every kind (upstream requires no metadata).

use rustkube_api::registry;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::kinds::{self, MetaTag};
use super::markers;

/// Where OpenAPI 3 documents keep their definitions.
pub(super) const V3_REF_PREFIX: &str = "#/components/schemas/";
/// Where swagger 2.0 documents keep their definitions.
pub(super) const V2_REF_PREFIX: &str = "#/definitions/";

/// Every definition any document refers to, keyed by upstream name, with `$ref`s in the
/// OpenAPI 3 form (`#/components/schemas/<name>`, wrapped in `allOf` when the referring schema
/// has siblings such as `description`).
pub(super) fn all() -> Map<String, Value> {
    let mut generator = SchemaSettings::openapi3().with(|s| s.meta_schema = None).into_generator();
    for kind in kinds::KINDS {
        (kind.add)(&mut generator);
    }
    for meta in kinds::META_TYPES {
        (meta.add)(&mut generator);
    }
    let mut definitions = generator.take_definitions(true);

    for resource in registry::all().iter().filter(|r| r.supports("list")) {
        if let Some(kind) = kinds::lookup(resource.group, resource.version, resource.kind) {
            let item = (kind.definition)();
            let list = list_schema(&definitions, &item, kind.kind);
            definitions.insert(format!("{item}List"), list);
        }
    }

    for schema in definitions.values_mut() {
        drop_required_metadata(schema);
    }
    describe_scalars(&mut definitions);
    for (definition, properties) in markers::MARKERS {
        for (property, markers) in *properties {
            apply_markers(&mut definitions, definition, property, markers);
        }
    }
    tag_group_version_kinds(&mut definitions);
    definitions
}

/// The `<Kind>List` upstream defines for every listable kind; `apiVersion` and `kind` are
/// described as in the item's own schema.
fn list_schema(definitions: &Map<String, Value>, item_definition: &str, kind: &str) -> Value {
    let type_meta =
        |field: &str| definitions.get(item_definition).and_then(|item| item.pointer(&format!("/properties/{field}")));
    json!({
        "description": format!("{kind}List is a list of {kind} objects."),
        "type": "object",
        "properties": {
            "apiVersion": type_meta("apiVersion").cloned().unwrap_or_else(|| json!({"type": "string"})),
            "items": {
                "description": format!("List of {kind} objects."),
                "type": "array",
                "items": {"$ref": format!("{V3_REF_PREFIX}{item_definition}")},
            },
            "kind": type_meta("kind").cloned().unwrap_or_else(|| json!({"type": "string"})),
            "metadata": {
                "allOf": [{"$ref": format!("{V3_REF_PREFIX}io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta")}],
                "description": concat!(
                    "Standard list metadata. More info: ",
                    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
                ),
            },
        },
        "required": ["items"],
    })
}

/// k8s-openapi describes `IntOrString` and `Quantity` only by `x-kubernetes-int-or-string`;
/// kube-openapi also states the JSON types they take (`oneOf`), and tags `IntOrString` with
/// `format: int-or-string`, which clients such as kubectl's explain and validation read.
fn describe_scalars(definitions: &mut Map<String, Value>) {
    let scalars = [
        ("io.k8s.apimachinery.pkg.util.intstr.IntOrString", json!([{"type": "integer"}, {"type": "string"}])),
        ("io.k8s.apimachinery.pkg.api.resource.Quantity", json!([{"type": "string"}, {"type": "number"}])),
    ];
    for (definition, types) in scalars {
        if let Some(Value::Object(schema)) = definitions.get_mut(definition) {
            schema.insert("oneOf".to_owned(), types);
            if definition.ends_with("IntOrString") {
                schema.insert("format".to_owned(), json!("int-or-string"));
            }
        }
    }
}

/// k8s-openapi marks `metadata` required because its Rust field is not an `Option`; upstream
/// never does, and kubectl's client-side validation would reject objects without it.
fn drop_required_metadata(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else { return };
    let Some(Value::Array(required)) = object.get_mut("required") else { return };
    required.retain(|name| name != "metadata");
    if required.is_empty() {
        object.remove("required");
    }
}

/// Sets the extensions of `markers` on `definition` itself (for an empty `property`) or on its
/// `property`. Markers of a definition no document reaches are skipped.
fn apply_markers(definitions: &mut Map<String, Value>, definition: &str, property: &str, markers: &str) {
    let Some(schema) = definitions.get_mut(definition) else { return };
    let target =
        if property.is_empty() { Some(schema) } else { schema.pointer_mut(&format!("/properties/{property}")) };
    let Some(Value::Object(target)) = target else { return };
    for (key, value) in markers::extensions(markers) {
        target.insert(key.to_owned(), value);
    }
}

/// `x-kubernetes-group-version-kind` on every definition that is a kind: each served kind and
/// its list once, the shared meta types as upstream tags them.
fn tag_group_version_kinds(definitions: &mut Map<String, Value>) {
    let mut tag = |definition: &str, gvks: Vec<Value>| {
        if let Some(Value::Object(schema)) = definitions.get_mut(definition) {
            schema.insert("x-kubernetes-group-version-kind".to_owned(), Value::Array(gvks));
        }
    };
    for kind in kinds::KINDS {
        let definition = (kind.definition)();
        tag(&definition, vec![gvk(kind.group, kind.version, kind.kind)]);
        if registry::resources_in(kind.group, kind.version).any(|r| r.kind == kind.kind && r.supports("list")) {
            tag(&format!("{definition}List"), vec![gvk(kind.group, kind.version, &format!("{}List", kind.kind))]);
        }
    }
    for meta in kinds::META_TYPES {
        let gvks = match meta.tagged {
            MetaTag::None => continue,
            MetaTag::Core(kind) => vec![gvk("", "v1", kind)],
            MetaTag::EveryGroupVersion(kind) => {
                served_group_versions().map(|(group, version)| gvk(group, version, kind)).collect()
            }
        };
        tag(&(meta.definition)(), gvks);
    }
}

/// The value of one `x-kubernetes-group-version-kind` entry.
pub(super) fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "kind": kind, "version": version})
}

/// Every served group-version, the core group first, in discovery order.
pub(super) fn served_group_versions() -> impl Iterator<Item = (&'static str, &'static str)> {
    let core = registry::CORE_VERSIONS.iter().map(|v| ("", *v));
    let named = registry::groups().iter().flat_map(|g| g.versions.iter().map(move |v| (g.name, *v)));
    core.chain(named)
}

/// The definitions `roots` refer to, directly or through other definitions, in `definitions`.
pub(super) fn closure<'a>(
    definitions: &Map<String, Value>,
    roots: impl IntoIterator<Item = &'a Value>,
) -> Map<String, Value> {
    let mut selected = Map::new();
    let mut pending: Vec<String> = Vec::new();
    for root in roots {
        collect_refs(root, &mut pending);
    }
    while let Some(name) = pending.pop() {
        if selected.contains_key(&name) {
            continue;
        }
        if let Some(schema) = definitions.get(&name) {
            collect_refs(schema, &mut pending);
            selected.insert(name, schema.clone());
        }
    }
    selected
}

/// Pushes the definition name of every OpenAPI 3 `$ref` under `value`.
fn collect_refs(value: &Value, names: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                match (key.as_str(), child) {
                    ("$ref", Value::String(target)) => {
                        if let Some(name) = target.strip_prefix(V3_REF_PREFIX) {
                            names.push(name.to_owned());
                        }
                    }
                    _ => collect_refs(child, names),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, names)),
        _ => {}
    }
}

/// Rewrites an OpenAPI 3 schema into the swagger 2.0 form in place: `$ref`s point under
/// `#/definitions/`; a lone `allOf: [{$ref}]` becomes a `$ref` beside its siblings, as
/// kube-openapi writes swagger (gnostic reads the siblings; OpenAPI 3 would ignore them); and
/// the OpenAPI 3 only keywords go: `oneOf`/`anyOf` (a choice of primitive types including
/// `string` becomes `type: string`, as kube-openapi writes `IntOrString` and `Quantity`),
/// `nullable`. Only schema positions are rewritten, never the keys of a `properties` map (a
/// `JSONSchemaProps` has properties named `nullable`, `oneOf` and `$ref`).
pub(super) fn to_v2(schema: &mut Value) {
    let Value::Object(object) = schema else { return };
    object.remove("nullable");
    for keyword in ["oneOf", "anyOf"] {
        if let Some(Value::Array(choices)) = object.remove(keyword) {
            let takes_string = choices.iter().any(|c| c.get("type").is_some_and(|t| t == "string"));
            let primitive =
                choices.iter().all(|c| c.as_object().is_some_and(|c| c.len() == 1 && c.contains_key("type")));
            if takes_string && primitive && !object.contains_key("type") {
                object.insert("type".to_owned(), json!("string"));
            }
        }
    }
    if let Some(Value::Array(all_of)) = object.get("allOf")
        && let [Value::Object(only)] = all_of.as_slice()
        && only.len() == 1
        && let Some(target) = only.get("$ref").cloned()
    {
        object.remove("allOf");
        object.insert("$ref".to_owned(), target);
    }
    if let Some(Value::String(target)) = object.get_mut("$ref")
        && let Some(name) = target.strip_prefix(V3_REF_PREFIX)
    {
        *target = format!("{V2_REF_PREFIX}{name}");
    }
    if let Some(Value::Object(properties)) = object.get_mut("properties") {
        properties.values_mut().for_each(to_v2);
    }
    for keyword in ["items", "additionalProperties", "allOf"] {
        match object.get_mut(keyword) {
            Some(Value::Array(schemas)) => schemas.iter_mut().for_each(to_v2),
            Some(schema) => to_v2(schema),
            None => {}
        }
    }
}
