//! The `paths` of the documents: one path item per URL the apiserver serves for a resource, with
//! one operation per verb the registry allows, shaped as upstream's `endpoints/installer.go`
//! describes them (operation ids, `x-kubernetes-action`, `x-kubernetes-group-version-kind`).
//!
//! Operations are built once in a neutral form ([`PathItem`]) and rendered either as OpenAPI 3
//! ([`Flavor::V3`]) or swagger 2.0 ([`Flavor::V2`]).

use rustkube_api::registry::{self, ResourceInfo, Subresource};
use serde_json::{Map, Value, json};

use super::kinds;
use super::parameters::{self as params, In, PRETTY, Param, path_param};
use super::schemas::{V2_REF_PREFIX, V3_REF_PREFIX, gvk};

const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1";

/// Which OpenAPI version to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flavor {
    V2,
    V3,
}

impl Flavor {
    fn reference(self, definition: &str) -> Value {
        let prefix = match self {
            Flavor::V2 => V2_REF_PREFIX,
            Flavor::V3 => V3_REF_PREFIX,
        };
        json!({ "$ref": format!("{prefix}{definition}") })
    }
}

/// One URL and the operations on it.
#[derive(Debug)]
struct PathItem {
    path: String,
    /// Parameters of every operation: the path's own (`namespace`, `name`, `path`) and `pretty`.
    parameters: Vec<Param>,
    operations: Vec<Operation>,
}

#[derive(Debug)]
struct Operation {
    method: &'static str,
    /// `x-kubernetes-action`.
    action: &'static str,
    id: String,
    description: String,
    /// `x-kubernetes-group-version-kind`: the kind the operation reads or writes.
    gvk: Option<(&'static str, &'static str, &'static str)>,
    parameters: &'static [Param],
    body: Option<Body>,
    /// What a successful call answers with, and under which status codes.
    payload: Payload,
    codes: &'static [(&'static str, &'static str)],
    tag: String,
}

/// A request body.
#[derive(Debug)]
enum Body {
    /// An object of this definition (create, replace).
    Object(String),
    /// A patch document in any of the patch media types.
    Patch,
    /// Optional `DeleteOptions`.
    DeleteOptions,
}

/// What a successful response carries.
#[derive(Debug)]
enum Payload {
    /// A JSON object of this definition.
    Object(String),
    /// A JSON object of this definition, or a stream of them when watching.
    Watchable(String),
    /// Plain text (`pods/log`).
    Text,
    /// Whatever the upgraded or proxied connection says (`exec`, `attach`, `proxy`).
    Stream,
}

const OK: &[(&str, &str)] = &[("200", "OK")];
const CREATED: &[(&str, &str)] = &[("200", "OK"), ("201", "Created"), ("202", "Accepted")];
const REPLACED: &[(&str, &str)] = &[("200", "OK"), ("201", "Created")];
const DELETED: &[(&str, &str)] = &[("200", "OK"), ("202", "Accepted")];

/// The path items of `group`/`version`, rendered in `flavor`, keyed by path.
pub(super) fn group_version(group: &str, version: &str, flavor: Flavor) -> Map<String, Value> {
    items(group, version).into_iter().map(|item| (item.path.clone(), render_item(&item, flavor))).collect()
}

/// The path items of a custom group-version: each resource with the definition name of its schema.
pub(super) fn custom_group_version(
    group: &str,
    version: &str,
    resources: &[(&ResourceInfo, String)],
    flavor: Flavor,
) -> Map<String, Value> {
    let names = Names::new(group, version);
    let mut items = vec![resources_item(&names)];
    for (resource, definition) in resources {
        resource_items(&names, resource, definition.clone(), &mut items);
    }
    items
        .into_iter()
        .map(|item| {
            let mut rendered = render_item(&item, flavor);
            // Custom resources take no strategic merge patch (kubectl apply then sends a merge patch).
            if let Some(content) = rendered.pointer_mut("/patch/requestBody/content").and_then(Value::as_object_mut) {
                content.remove("application/strategic-merge-patch+json");
            }
            if let Some(consumes) = rendered.pointer_mut("/patch/consumes").and_then(Value::as_array_mut) {
                consumes.retain(|c| c != "application/strategic-merge-patch+json");
            }
            (item.path.clone(), rendered)
        })
        .collect()
}

/// `GET <root>/`: the group-version's APIResourceList.
fn resources_item(names: &Names) -> PathItem {
    PathItem {
        path: format!("{}/", names.root),
        parameters: Vec::new(),
        operations: vec![Operation {
            method: "get",
            action: "",
            id: format!("get{}APIResources", names.camel),
            description: "get available resources".to_owned(),
            gvk: None,
            parameters: &[],
            body: None,
            payload: Payload::Object(format!("{META}.APIResourceList")),
            codes: OK,
            tag: names.tag.clone(),
        }],
    }
}

fn items(group: &str, version: &str) -> Vec<PathItem> {
    let names = Names::new(group, version);
    let mut items = vec![resources_item(&names)];
    for resource in registry::resources_in(group, version) {
        if let Some(kind) = kinds::lookup(resource.group, resource.version, resource.kind) {
            resource_items(&names, resource, (kind.definition)().into_owned(), &mut items);
        }
    }
    items
}

/// How a group-version appears in URLs, operation ids and tags.
#[derive(Debug)]
struct Names {
    /// `/api/v1` or `/apis/<group>/<version>`.
    root: String,
    /// `CoreV1`, `RbacAuthorizationV1`.
    camel: String,
    /// `core_v1`, `rbacAuthorization_v1`.
    tag: String,
}

impl Names {
    fn new(group: &str, version: &str) -> Self {
        let root = if group.is_empty() { format!("/api/{version}") } else { format!("/apis/{group}/{version}") };
        let short = group.strip_suffix(".k8s.io").unwrap_or(group);
        let group_camel: String =
            if short.is_empty() { "Core".to_owned() } else { short.split('.').map(capitalize).collect() };
        let version_camel = capitalize(version);
        let mut tag = group_camel.clone();
        tag[..1].make_ascii_lowercase();
        Self { root, camel: format!("{group_camel}{version_camel}"), tag: format!("{tag}_{version}") }
    }
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// The paths of one resource: its collection, its items, its subresources and the deprecated
/// `watch/` paths.
fn resource_items(names: &Names, resource: &ResourceInfo, definition: String, items: &mut Vec<PathItem>) {
    let kind = resource.kind;
    let gvk = Some((resource.group, resource.version, kind));
    let list = format!("{definition}List");
    let (scope, scope_params) = if resource.namespaced {
        (format!("{}/namespaces/{{namespace}}", names.root), vec![params::NAMESPACE])
    } else {
        (names.root.clone(), Vec::new())
    };
    let namespaced = if resource.namespaced { "Namespaced" } else { "" };
    let gv = &names.camel;
    let op = |method, action, id: String, description: String| Operation {
        method,
        action,
        id,
        description,
        gvk,
        parameters: &[],
        body: None,
        payload: Payload::Stream,
        codes: OK,
        tag: names.tag.clone(),
    };

    // The collection: list, create, deletecollection.
    let mut collection = Vec::new();
    if resource.supports("list") {
        collection.push(Operation {
            parameters: params::LIST,
            payload: Payload::Watchable(list.clone()),
            ..op("get", "list", format!("list{gv}{namespaced}{kind}"), format!("list or watch objects of kind {kind}"))
        });
    }
    if resource.supports("create") {
        collection.push(Operation {
            parameters: params::WRITE,
            body: Some(Body::Object(definition.clone())),
            payload: Payload::Object(definition.clone()),
            codes: CREATED,
            ..op("post", "post", format!("create{gv}{namespaced}{kind}"), format!("create a {kind}"))
        });
    }
    if resource.supports("deletecollection") {
        collection.push(Operation {
            parameters: params::DELETE_COLLECTION,
            body: Some(Body::DeleteOptions),
            payload: Payload::Object(format!("{META}.Status")),
            ..op(
                "delete",
                "deletecollection",
                format!("delete{gv}Collection{namespaced}{kind}"),
                format!("delete collection of {kind}"),
            )
        });
    }
    let collection_path = format!("{scope}/{}", resource.plural);
    push(items, &collection_path, with_pretty(&scope_params), collection);

    // Every namespace's objects at once.
    if resource.namespaced && resource.supports("list") {
        let operation = Operation {
            parameters: params::LIST,
            payload: Payload::Watchable(list.clone()),
            ..op(
                "get",
                "list",
                format!("list{gv}{kind}ForAllNamespaces"),
                format!("list or watch objects of kind {kind}"),
            )
        };
        push(items, &format!("{}/{}", names.root, resource.plural), with_pretty(&[]), vec![operation]);
    }

    // One object: get, replace, patch, delete.
    let name = path_param("name", "name of the object");
    let mut item_params = vec![name];
    item_params.extend(scope_params.iter().copied());
    let mut item = Vec::new();
    if resource.supports("get") {
        item.push(Operation {
            payload: Payload::Object(definition.clone()),
            ..op("get", "get", format!("read{gv}{namespaced}{kind}"), format!("read the specified {kind}"))
        });
    }
    if resource.supports("update") {
        item.push(Operation {
            parameters: params::WRITE,
            body: Some(Body::Object(definition.clone())),
            payload: Payload::Object(definition.clone()),
            codes: REPLACED,
            ..op("put", "put", format!("replace{gv}{namespaced}{kind}"), format!("replace the specified {kind}"))
        });
    }
    if resource.supports("patch") {
        item.push(Operation {
            parameters: params::PATCH,
            body: Some(Body::Patch),
            payload: Payload::Object(definition.clone()),
            codes: REPLACED,
            ..op(
                "patch",
                "patch",
                format!("patch{gv}{namespaced}{kind}"),
                format!("partially update the specified {kind}"),
            )
        });
    }
    if resource.supports("delete") {
        item.push(Operation {
            parameters: params::DELETE,
            body: Some(Body::DeleteOptions),
            payload: Payload::Object(format!("{META}.Status")),
            codes: DELETED,
            ..op("delete", "delete", format!("delete{gv}{namespaced}{kind}"), format!("delete a {kind}"))
        });
    }
    let item_path = format!("{collection_path}/{{name}}");
    push(items, &item_path, with_pretty(&item_params), item);

    for subresource in resource.subresources {
        subresource_items(names, resource, &definition, subresource, &item_path, &item_params, items);
    }

    // The deprecated watch paths upstream still documents.
    if resource.supports("watch") {
        let watch_scope = scope.replacen(&names.root, &format!("{}/watch", names.root), 1);
        let event = format!("{META}.WatchEvent");
        let watch = |action, id: String, description: String| Operation {
            parameters: params::LIST,
            payload: Payload::Watchable(event.clone()),
            ..op("get", action, id, description)
        };
        let deprecated = "deprecated: use the 'watch' parameter with a list operation instead";
        let collection_watch = watch(
            "watchlist",
            format!("watch{gv}{namespaced}{kind}List"),
            format!("watch individual changes to a list of {kind}. {deprecated}."),
        );
        let watch_collection = format!("{watch_scope}/{}", resource.plural);
        push(items, &watch_collection, with_pretty(&scope_params), vec![collection_watch]);
        let item_watch = watch(
            "watch",
            format!("watch{gv}{namespaced}{kind}"),
            format!(
                "watch changes to an object of kind {kind}. {deprecated}, filtered to a single item with the \
                    'fieldSelector' parameter."
            ),
        );
        push(items, &format!("{watch_collection}/{{name}}"), with_pretty(&item_params), vec![item_watch]);
        if resource.namespaced {
            let all = watch(
                "watchlist",
                format!("watch{gv}{kind}ListForAllNamespaces"),
                format!("watch individual changes to a list of {kind}. {deprecated}."),
            );
            push(items, &format!("{}/watch/{}", names.root, resource.plural), with_pretty(&[]), vec![all]);
        }
    }
}

/// The paths of one subresource of `resource`, under `item_path` (`.../{name}`).
fn subresource_items(
    names: &Names,
    resource: &ResourceInfo,
    resource_definition: &str,
    subresource: &Subresource,
    item_path: &str,
    item_params: &[Param],
    items: &mut Vec<PathItem>,
) {
    let gv = &names.camel;
    let namespaced = if resource.namespaced { "Namespaced" } else { "" };
    let kind = resource.kind;
    let sub = subresource.name;
    let suffix = capitalize(sub);
    let path = format!("{item_path}/{sub}");
    let op = |method, action, id: String, description: String| Operation {
        method,
        action,
        id,
        description,
        gvk: Some((subresource.group, subresource.version, subresource.kind)),
        parameters: &[],
        body: None,
        payload: Payload::Stream,
        codes: OK,
        tag: names.tag.clone(),
    };

    if sub == "log" {
        let operation = Operation {
            parameters: params::LOG,
            payload: Payload::Text,
            ..op("get", "get", format!("read{gv}{namespaced}{kind}Log"), format!("read log of the specified {kind}"))
        };
        push(items, &path, with_pretty(item_params), vec![operation]);
        return;
    }

    // `status` answers with the resource's own definition (custom resources have no typed kind).
    let typed_definition = if subresource.kind == resource.kind && subresource.group == resource.group {
        Some(resource_definition.to_owned())
    } else {
        kinds::lookup(subresource.group, subresource.version, subresource.kind).map(|t| (t.definition)().into_owned())
    };
    let Some(definition) = typed_definition else {
        // A connect subresource (exec, attach, portforward, proxy): the body and answer are
        // whatever the upgraded or proxied connection carries.
        let parameters = match sub {
            "exec" => params::EXEC,
            "attach" => params::ATTACH,
            "portforward" => params::PORT_FORWARD,
            _ => params::PROXY,
        };
        let methods: Vec<(&str, &str)> =
            [("get", "Get"), ("post", "Post"), ("put", "Put"), ("patch", "Patch"), ("delete", "Delete")]
                .into_iter()
                .filter(|(method, _)| subresource.supports(verb_of(method)))
                .collect();
        let connect = |with_path: bool| -> Vec<Operation> {
            let path_suffix = if with_path { "WithPath" } else { "" };
            methods
                .iter()
                .map(|(method, camel)| Operation {
                    parameters: if with_path { &[] } else { parameters },
                    ..op(
                        method,
                        "connect",
                        format!("connect{gv}{camel}{namespaced}{kind}{suffix}{path_suffix}"),
                        format!("connect {} requests to {sub} of {kind}", method.to_ascii_uppercase()),
                    )
                })
                .collect()
        };
        // Connect paths take no `pretty`: their answers are not JSON.
        push(items, &path, item_params.to_vec(), connect(false));
        if sub == "proxy" {
            let mut with_path = item_params.to_vec();
            with_path.push(params::PROXY_PATH);
            push(items, &format!("{path}/{{path}}"), with_path, connect(true));
        }
        return;
    };

    let mut operations = Vec::new();
    if subresource.supports("get") {
        operations.push(Operation {
            payload: Payload::Object(definition.clone()),
            ..op(
                "get",
                "get",
                format!("read{gv}{namespaced}{kind}{suffix}"),
                format!("read {sub} of the specified {kind}"),
            )
        });
    }
    if subresource.supports("create") {
        operations.push(Operation {
            parameters: params::WRITE,
            body: Some(Body::Object(definition.clone())),
            payload: Payload::Object(definition.clone()),
            codes: CREATED,
            ..op("post", "post", format!("create{gv}{namespaced}{kind}{suffix}"), format!("create {sub} of a {kind}"))
        });
    }
    if subresource.supports("update") {
        operations.push(Operation {
            parameters: params::WRITE,
            body: Some(Body::Object(definition.clone())),
            payload: Payload::Object(definition.clone()),
            codes: REPLACED,
            ..op(
                "put",
                "put",
                format!("replace{gv}{namespaced}{kind}{suffix}"),
                format!("replace {sub} of the specified {kind}"),
            )
        });
    }
    if subresource.supports("patch") {
        operations.push(Operation {
            parameters: params::PATCH,
            body: Some(Body::Patch),
            payload: Payload::Object(definition.clone()),
            codes: REPLACED,
            ..op(
                "patch",
                "patch",
                format!("patch{gv}{namespaced}{kind}{suffix}"),
                format!("partially update {sub} of the specified {kind}"),
            )
        });
    }
    push(items, &path, with_pretty(item_params), operations);
}

/// The registry verb an HTTP method of a connect subresource needs.
fn verb_of(method: &str) -> &'static str {
    match method {
        "post" => "create",
        "put" => "update",
        "patch" => "patch",
        "delete" => "delete",
        _ => "get",
    }
}

fn with_pretty(params: &[Param]) -> Vec<Param> {
    let mut params = params.to_vec();
    params.push(PRETTY);
    params
}

fn push(items: &mut Vec<PathItem>, path: &str, parameters: Vec<Param>, operations: Vec<Operation>) {
    if !operations.is_empty() {
        items.push(PathItem { path: path.to_owned(), parameters, operations });
    }
}

// ---------------------------------------------------------------------------------------
// Rendering.
// ---------------------------------------------------------------------------------------

const PATCH_TYPES: &[&str] = &[
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];

fn render_item(item: &PathItem, flavor: Flavor) -> Value {
    let mut rendered = Map::new();
    if !item.parameters.is_empty() {
        let params = item.parameters.iter().map(|p| render_param(p, flavor)).collect();
        rendered.insert("parameters".to_owned(), Value::Array(params));
    }
    for operation in &item.operations {
        rendered.insert(operation.method.to_owned(), render_operation(operation, flavor));
    }
    Value::Object(rendered)
}

fn render_param(param: &Param, flavor: Flavor) -> Value {
    let location = match param.location {
        In::Path => "path",
        In::Query => "query",
    };
    let mut rendered = json!({ "name": param.name, "in": location, "description": param.description });
    match flavor {
        Flavor::V3 => rendered["schema"] = json!({ "type": param.kind }),
        Flavor::V2 => rendered["type"] = json!(param.kind),
    }
    if param.location == In::Path {
        rendered["required"] = json!(true);
    }
    rendered
}

fn render_operation(operation: &Operation, flavor: Flavor) -> Value {
    let mut rendered = json!({
        "description": operation.description,
        "operationId": operation.id,
        "tags": [operation.tag],
    });
    if !operation.action.is_empty() {
        rendered["x-kubernetes-action"] = json!(operation.action);
    }
    if let Some((group, version, kind)) = operation.gvk {
        rendered["x-kubernetes-group-version-kind"] = gvk(group, version, kind);
    }
    let mut params: Vec<Value> = operation.parameters.iter().map(|p| render_param(p, flavor)).collect();
    let request = operation.body.as_ref().map(|body| match body {
        Body::Object(definition) => (vec!["*/*"], flavor.reference(definition), true),
        Body::Patch => (PATCH_TYPES.to_vec(), flavor.reference(&format!("{META}.Patch")), true),
        Body::DeleteOptions => (vec!["*/*"], flavor.reference(&format!("{META}.DeleteOptions")), false),
    });
    let (produces, schema) = match &operation.payload {
        Payload::Object(definition) => (vec!["application/json"], flavor.reference(definition)),
        Payload::Watchable(definition) => {
            (vec!["application/json", "application/json;stream=watch"], flavor.reference(definition))
        }
        Payload::Text => (vec!["text/plain"], json!({ "type": "string" })),
        Payload::Stream => (vec!["*/*"], json!({ "type": "string" })),
    };
    let mut responses = Map::new();
    match flavor {
        Flavor::V3 => {
            if let Some((media_types, schema, required)) = request {
                let content: Map<String, Value> =
                    media_types.iter().map(|m| ((*m).to_owned(), json!({ "schema": schema }))).collect();
                rendered["requestBody"] = json!({ "content": content });
                if required {
                    rendered["requestBody"]["required"] = json!(true);
                }
            }
            let content: Map<String, Value> =
                produces.iter().map(|m| ((*m).to_owned(), json!({ "schema": schema }))).collect();
            for (code, description) in operation.codes {
                responses.insert((*code).to_owned(), json!({ "description": description, "content": content }));
            }
        }
        Flavor::V2 => {
            let consumes = match &request {
                Some((media_types, schema, required)) => {
                    params.push(json!({ "name": "body", "in": "body", "required": required, "schema": schema }));
                    media_types.clone()
                }
                None => vec!["*/*"],
            };
            rendered["consumes"] = json!(consumes);
            rendered["produces"] = json!(produces);
            rendered["schemes"] = json!(["https"]);
            for (code, description) in operation.codes {
                responses.insert((*code).to_owned(), json!({ "description": description, "schema": schema }));
            }
        }
    }
    responses.insert("401".to_owned(), json!({ "description": "Unauthorized" }));
    rendered["responses"] = Value::Object(responses);
    if !params.is_empty() {
        rendered["parameters"] = Value::Array(params);
    }
    rendered
}
