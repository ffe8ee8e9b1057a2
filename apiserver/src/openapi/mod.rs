//! The OpenAPI documents kube-apiserver serves: `/openapi/v2` (swagger 2.0, every group in one
//! document, as JSON or gnostic protobuf) and `/openapi/v3` (an index of one OpenAPI 3.0
//! document per group-version), built from k8s-openapi's schemas and the resource registry.
//!
//! They are what kubectl reads for `explain` (OpenAPI 3 from 1.29, swagger protobuf before),
//! for client-side apply's strategic merge patch (`x-kubernetes-patch-strategy` /
//! `x-kubernetes-patch-merge-key`), and for client-side validation (swagger protobuf, used
//! while a kind's PATCH does not list `fieldValidation`; see `parameters::SERVER_VALIDATES_FIELDS`).
//!
//! Each document is built once, on first use, and kept as compact JSON (or protobuf) bytes: a
//! `serde_json::Value` takes about six times the memory of its text. The `Value` forms are
//! parsed from those bytes on demand, per document, for callers that want to inspect them.

mod kinds;
mod markers;
mod parameters;
mod paths;
mod schemas;
mod v2_protobuf;

use std::fmt::Write as _;
use std::sync::OnceLock;

use rustkube_api::registry::ResourceInfo;
use serde_json::{Map, Value, json};

use paths::Flavor;

/// `info.version` of every document.
const INFO_VERSION: &str = "v1.33.0";

/// One group-version's OpenAPI 3 document.
#[derive(Debug)]
struct GroupVersionDocument {
    group: &'static str,
    version: &'static str,
    json: Box<[u8]>,
    hash: String,
    parsed: OnceLock<Value>,
}

static V3: OnceLock<Vec<GroupVersionDocument>> = OnceLock::new();
static V2_JSON: OnceLock<Box<[u8]>> = OnceLock::new();
static V2_VALUE: OnceLock<Value> = OnceLock::new();
static V2_PROTOBUF: OnceLock<Box<[u8]>> = OnceLock::new();

/// The `/openapi/v3` index: every served group-version's path (`api/v1`, `apis/apps/v1`) and
/// the URL of its document, whose `hash` query parameter changes whenever the document does.
pub fn v3_index() -> Value {
    let paths: Map<String, Value> = v3_documents()
        .iter()
        .map(|doc| {
            let path = api_path(doc.group, doc.version);
            let url = format!("/openapi/v3/{path}?hash={}", doc.hash);
            (path, json!({ "serverRelativeURL": url }))
        })
        .collect();
    json!({ "paths": paths })
}

/// The OpenAPI 3.0 document of `group`/`version` (the core group is `""`), or `None` for a
/// group-version the apiserver does not serve. Serve [`v3_group_version_json`] instead: it is
/// the same document already serialized.
pub fn v3_group_version(group: &str, version: &str) -> Option<&'static Value> {
    let doc = v3_document(group, version)?;
    Some(doc.parsed.get_or_init(|| parse(&doc.json)))
}

/// [`v3_group_version`] as compact JSON, the body of `/openapi/v3/api/v1` and
/// `/openapi/v3/apis/<group>/<version>`.
pub fn v3_group_version_json(group: &str, version: &str) -> Option<&'static [u8]> {
    v3_document(group, version).map(|doc| &*doc.json)
}

/// The content hash (32 uppercase hex digits) of [`v3_group_version_json`], as used in the
/// index's `serverRelativeURL` and as the document's `ETag`; empty for a group-version not
/// served.
pub fn v3_hash(group: &str, version: &str) -> &'static str {
    v3_document(group, version).map_or("", |doc| doc.hash.as_str())
}

/// The swagger 2.0 document of every served group-version: `/openapi/v2` as JSON. Serve
/// [`v2_json`] (or [`v2_protobuf`]) instead: it is the same document already encoded.
pub fn v2() -> &'static Value {
    V2_VALUE.get_or_init(|| parse(v2_json()))
}

/// [`v2`] as compact JSON, the body of `/openapi/v2` for `Accept: application/json`.
pub fn v2_json() -> &'static [u8] {
    V2_JSON.get_or_init(|| serialize(&build_v2()))
}

/// [`v2`] as gnostic's protobuf `openapi.v2.Document`: the body of `/openapi/v2` for a client
/// whose `Accept` asks for `application/com.github.proto-openapi.spec.v2@v1.0+protobuf`
/// (kubectl always does), sent with
/// `Content-Type: application/com.github.proto-openapi.spec.v2.v1.0+protobuf`.
pub fn v2_protobuf() -> &'static [u8] {
    V2_PROTOBUF.get_or_init(|| v2_protobuf::encode(&build_v2()).into_boxed_slice())
}

/// Upstream's definition name of a custom kind: the group reversed, then version and kind
/// (`com.example.v1.Widget` for `example.com/v1` `Widget`).
pub fn custom_definition_name(group: &str, version: &str, kind: &str) -> String {
    let reversed: Vec<&str> = group.split('.').rev().collect();
    format!("{}.{version}.{kind}", reversed.join("."))
}

const API_VERSION_DESCRIPTION: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DESCRIPTION: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

/// The OpenAPI 3 document of a custom group-version, as compact JSON: the paths of its
/// resources, each CRD schema as a definition (with `apiVersion`, `kind` and `metadata`
/// added, as upstream's CRD OpenAPI builder does), its List, and the meta definitions they
/// refer to. `resources` pairs each served resource with its `openAPIV3Schema`.
/// `core_definitions` come from [`core_definitions`], parsed once per request by the caller.
pub fn v3_custom_json(
    group: &str,
    version: &str,
    resources: &[(&ResourceInfo, Option<&Value>)],
    core_definitions: &Map<String, Value>,
) -> Box<[u8]> {
    let named: Vec<(&ResourceInfo, String)> =
        resources.iter().map(|(r, _)| (*r, custom_definition_name(group, version, r.kind))).collect();
    let paths = paths::custom_group_version(group, version, &named, Flavor::V3);
    let mut custom = Map::new();
    for ((resource, schema), (_, definition)) in resources.iter().zip(&named) {
        let mut schema = schema.cloned().unwrap_or_else(|| json!({ "type": "object" }));
        if !schema.is_object() {
            schema = json!({ "type": "object" });
        }
        if !schema.get("properties").is_some_and(Value::is_object) {
            schema["properties"] = json!({});
        }
        schema["properties"]["apiVersion"] = json!({ "type": "string", "description": API_VERSION_DESCRIPTION });
        schema["properties"]["kind"] = json!({ "type": "string", "description": KIND_DESCRIPTION });
        schema["properties"]["metadata"] = json!({
            "allOf": [{ "$ref": format!("{}io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", schemas::V3_REF_PREFIX) }],
            "description": "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        });
        schema["x-kubernetes-group-version-kind"] = json!([schemas::gvk(group, version, resource.kind)]);
        let list_kind = format!("{}List", resource.kind);
        let list = json!({
            "type": "object",
            "description": format!("{list_kind} is a list of {}", resource.kind),
            "required": ["items"],
            "properties": {
                "apiVersion": { "type": "string", "description": API_VERSION_DESCRIPTION },
                "items": {
                    "type": "array",
                    "description": format!("List of {}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md", resource.plural),
                    "items": { "$ref": format!("{}{definition}", schemas::V3_REF_PREFIX) },
                },
                "kind": { "type": "string", "description": KIND_DESCRIPTION },
                "metadata": {
                    "allOf": [{ "$ref": format!("{}io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta", schemas::V3_REF_PREFIX) }],
                    "description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
                },
            },
            "x-kubernetes-group-version-kind": [schemas::gvk(group, version, &list_kind)],
        });
        custom.insert(definition.clone(), schema);
        custom.insert(format!("{definition}List"), list);
    }
    let mut components = schemas::closure(core_definitions, paths.values().chain(custom.values()));
    components.extend(custom);
    let document = json!({
        "openapi": "3.0.0",
        "info": { "title": "Kubernetes CRD Swagger", "version": "v0.1.0" },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": { "BearerToken": bearer_token() },
        },
        "security": [{ "BearerToken": [] }],
    });
    serialize(&document)
}

/// The definitions of the core group's document (ObjectMeta, Status, DeleteOptions,
/// WatchEvent, …), which custom documents refer to. Parsed on each call, so an idle
/// server keeps no parsed copy.
pub fn core_definitions() -> Map<String, Value> {
    let mut core = v3_group_version_json("", "v1").map(parse).unwrap_or_default();
    match core.pointer_mut("/components/schemas").map(Value::take) {
        Some(Value::Object(definitions)) => definitions,
        _ => Map::new(),
    }
}

/// The content hash of a document, as in the index's `serverRelativeURL`.
pub fn document_hash(json: &[u8]) -> String {
    content_hash(json)
}

/// `api/v1` or `apis/<group>/<version>`: a group-version's key in the index and its URL under
/// `/openapi/v3/`.
fn api_path(group: &str, version: &str) -> String {
    if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") }
}

fn v3_document(group: &str, version: &str) -> Option<&'static GroupVersionDocument> {
    v3_documents().iter().find(|doc| doc.group == group && doc.version == version)
}

fn v3_documents() -> &'static [GroupVersionDocument] {
    V3.get_or_init(build_v3)
}

fn build_v3() -> Vec<GroupVersionDocument> {
    let definitions = schemas::all();
    schemas::served_group_versions()
        .map(|(group, version)| {
            let paths = paths::group_version(group, version, Flavor::V3);
            let components = schemas::closure(&definitions, paths.values());
            let document = json!({
                "openapi": "3.0.0",
                "info": { "title": "Kubernetes", "version": INFO_VERSION },
                "paths": paths,
                "components": {
                    "schemas": components,
                    "securitySchemes": { "BearerToken": bearer_token() },
                },
                "security": [{ "BearerToken": [] }],
            });
            let json = serialize(&document);
            let hash = content_hash(&json);
            GroupVersionDocument { group, version, json, hash, parsed: OnceLock::new() }
        })
        .collect()
}

fn build_v2() -> Value {
    let mut definitions = schemas::all();
    definitions.values_mut().for_each(schemas::to_v2);
    let mut paths = Map::new();
    for (group, version) in schemas::served_group_versions() {
        paths.extend(paths::group_version(group, version, Flavor::V2));
    }
    json!({
        "swagger": "2.0",
        "info": { "title": "Kubernetes", "version": INFO_VERSION },
        "paths": paths,
        "definitions": definitions,
        "securityDefinitions": { "BearerToken": bearer_token() },
        "security": [{ "BearerToken": [] }],
    })
}

/// The security scheme upstream declares: a bearer token in the `authorization` header.
fn bearer_token() -> Value {
    json!({
        "description": "Bearer Token authentication",
        "in": "header",
        "name": "authorization",
        "type": "apiKey",
    })
}

fn serialize(document: &Value) -> Box<[u8]> {
    // Serializing a `Value` cannot fail: its keys are strings and its numbers finite.
    serde_json::to_vec(document).unwrap_or_default().into_boxed_slice()
}

fn parse(json: &[u8]) -> Value {
    // The bytes are this module's own serialization of a `Value`.
    serde_json::from_slice(json).unwrap_or_default()
}

/// FNV-1a (128-bit) of `bytes`, as 32 uppercase hex digits. Not a cryptographic hash: it only
/// has to change when the document does, for caches.
fn content_hash(bytes: &[u8]) -> String {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013b;
    let hash = bytes.iter().fold(OFFSET, |hash, byte| (hash ^ u128::from(*byte)).wrapping_mul(PRIME));
    let mut hex = String::with_capacity(32);
    let _ = write!(hex, "{hash:032X}");
    hex
}

#[cfg(test)]
mod tests;
