use std::collections::BTreeSet;

use rustkube_api::registry;
use serde_json::{Value, json};

use super::schemas::{V2_REF_PREFIX, V3_REF_PREFIX};
use super::*;

fn v3(group: &str, version: &str) -> &'static Value {
    v3_group_version(group, version).unwrap_or_else(|| panic!("a document for {group}/{version}"))
}

fn schema<'a>(document: &'a Value, definition: &str) -> &'a Value {
    let found = document["components"]["schemas"].get(definition).or_else(|| document["definitions"].get(definition));
    found.unwrap_or_else(|| panic!("definition {definition} in the document"))
}

/// Every `$ref` target under `value`, skipping the keys of `properties` maps (a
/// `JSONSchemaProps` has a property named `$ref`).
fn refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                match (key.as_str(), child) {
                    ("$ref", Value::String(target)) => found.push(target.clone()),
                    ("properties", Value::Object(properties)) => properties.values().for_each(|p| refs(p, found)),
                    _ => refs(child, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, found)),
        _ => {}
    }
}

/// Every object in schema position under `value` (definitions, properties, items, ...).
fn schema_objects<'a>(value: &'a Value, found: &mut Vec<&'a Value>) {
    let Value::Object(object) = value else { return };
    found.push(value);
    if let Some(Value::Object(properties)) = object.get("properties") {
        properties.values().for_each(|p| schema_objects(p, found));
    }
    for keyword in ["items", "additionalProperties", "allOf", "oneOf", "anyOf"] {
        match object.get(keyword) {
            Some(Value::Array(schemas)) => schemas.iter().for_each(|s| schema_objects(s, found)),
            Some(schema) => schema_objects(schema, found),
            None => {}
        }
    }
}

fn gvk_list(schema: &Value) -> &Vec<Value> {
    schema["x-kubernetes-group-version-kind"].as_array().expect("an x-kubernetes-group-version-kind list")
}

/// As kubectl's `PatchMetaFromOpenAPIV3.resolve`: a property's schema is its first `allOf`
/// member, and a `$ref` is replaced by the definition it names.
fn resolve<'a>(document: &'a Value, mut schema: &'a Value) -> &'a Value {
    if let Some(first) = schema.get("allOf").and_then(|all| all.get(0)) {
        schema = first;
    }
    match schema.get("$ref").and_then(Value::as_str) {
        Some(target) => {
            let name = target.strip_prefix(V3_REF_PREFIX).expect("an OpenAPI 3 ref");
            schema_of(document, name)
        }
        None => schema,
    }
}

fn schema_of<'a>(document: &'a Value, name: &str) -> &'a Value {
    document["components"]["schemas"].get(name).unwrap_or_else(|| panic!("{name} in components.schemas"))
}

/// Follows `path` (property names; `[]` steps into array items) from `definition`, as kubectl
/// does while building a strategic merge patch, and returns the last property's schema.
fn property<'a>(document: &'a Value, definition: &str, path: &[&str]) -> &'a Value {
    let mut current = schema_of(document, definition);
    let mut last = current;
    for step in path {
        let resolved = resolve(document, current);
        if *step == "[]" {
            current = resolved.get("items").unwrap_or_else(|| panic!("items under {definition} {path:?}"));
            continue;
        }
        last = resolved["properties"].get(*step).unwrap_or_else(|| panic!("{step} under {definition} {path:?}"));
        current = last;
    }
    last
}

#[test]
fn every_served_group_version_has_an_openapi_3_document() {
    for (group, version) in schemas::served_group_versions() {
        let document = v3(group, version);
        assert_eq!(document["openapi"], "3.0.0", "{group}/{version} declares OpenAPI 3.0.0");
        assert!(document["paths"].as_object().is_some_and(|p| !p.is_empty()), "{group}/{version} has paths");
        let schemas = document["components"]["schemas"].as_object();
        assert!(schemas.is_some_and(|s| !s.is_empty()), "{group}/{version} has components.schemas");
        let served: Value = serde_json::from_slice(v3_group_version_json(group, version).unwrap()).unwrap();
        assert_eq!(&served, document, "{group}/{version} is served as the document");
    }
}

#[test]
fn unknown_group_versions_have_no_document() {
    assert!(v3_group_version("apps", "v1beta1").is_none());
    assert!(v3_group_version("example.com", "v1").is_none());
    assert_eq!(v3_hash("example.com", "v1"), "");
}

#[test]
fn index_lists_every_served_group_version_with_its_hash() {
    let index = v3_index();
    let paths = index["paths"].as_object().expect("an index with paths");
    let listed: BTreeSet<&str> = paths.keys().map(String::as_str).collect();
    let served: BTreeSet<String> = schemas::served_group_versions().map(|(g, v)| api_path(g, v)).collect();
    assert_eq!(listed, served.iter().map(String::as_str).collect(), "the index lists exactly the served GVs");
    assert!(listed.contains("api/v1") && listed.contains("apis/apps/v1"), "core and apps are listed as upstream");
    for (group, version) in schemas::served_group_versions() {
        let url = paths[&api_path(group, version)]["serverRelativeURL"].as_str().unwrap();
        let hash = v3_hash(group, version);
        assert_eq!(url, format!("/openapi/v3/{}?hash={hash}", api_path(group, version)));
        assert_eq!(hash.len(), 32, "hash of {group}/{version} is 128-bit hex");
        let json = v3_group_version_json(group, version).unwrap();
        assert_eq!(hash, content_hash(json), "the hash is the served bytes' content hash");
    }
    assert_ne!(v3_hash("", "v1"), v3_hash("apps", "v1"), "different documents hash differently");
}

#[test]
fn every_ref_resolves_within_its_document() {
    for (group, version) in schemas::served_group_versions() {
        let document = v3(group, version);
        let mut found = Vec::new();
        refs(document, &mut found);
        assert!(!found.is_empty());
        for target in found {
            let name = target.strip_prefix(V3_REF_PREFIX).unwrap_or_else(|| panic!("{target} is a components ref"));
            assert!(document["components"]["schemas"].get(name).is_some(), "{target} resolves in {group}/{version}");
        }
    }
    let swagger = v2();
    let mut found = Vec::new();
    refs(swagger, &mut found);
    for target in found {
        let name = target.strip_prefix(V2_REF_PREFIX).unwrap_or_else(|| panic!("{target} is a definitions ref"));
        assert!(swagger["definitions"].get(name).is_some(), "{target} resolves in the swagger document");
    }
}

#[test]
fn kinds_carry_their_group_version_kind_in_their_documents() {
    let cases = [
        ("", "v1", "io.k8s.api.core.v1.Pod", "Pod"),
        ("", "v1", "io.k8s.api.core.v1.Service", "Service"),
        ("", "v1", "io.k8s.api.core.v1.ConfigMap", "ConfigMap"),
        ("", "v1", "io.k8s.api.core.v1.PodList", "PodList"),
        ("apps", "v1", "io.k8s.api.apps.v1.Deployment", "Deployment"),
        ("apps", "v1", "io.k8s.api.apps.v1.DeploymentList", "DeploymentList"),
    ];
    for (group, version, definition, kind) in cases {
        let expected = json!({"group": group, "version": version, "kind": kind});
        let tagged = gvk_list(schema(v3(group, version), definition));
        assert!(tagged.contains(&expected), "{definition} is tagged {expected} in {group}/{version}");
        assert!(gvk_list(schema(v2(), definition)).contains(&expected), "{definition} is tagged in swagger");
    }
    // A type several group-versions serve keeps its own GVK wherever it appears.
    let scale = json!({"group": "autoscaling", "version": "v1", "kind": "Scale"});
    assert_eq!(gvk_list(schema(v3("apps", "v1"), "io.k8s.api.autoscaling.v1.Scale")), &vec![scale]);
    // Meta types list every group-version, as upstream.
    let delete_options = gvk_list(schema(v3("apps", "v1"), "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"));
    for (group, version) in schemas::served_group_versions() {
        let expected = json!({"group": group, "version": version, "kind": "DeleteOptions"});
        assert!(delete_options.contains(&expected), "DeleteOptions is tagged {expected}");
    }
    // Types that are not kinds carry none.
    assert!(schema(v3("", "v1"), "io.k8s.api.core.v1.PodSpec").get("x-kubernetes-group-version-kind").is_none());
}

#[test]
fn every_registry_kind_has_a_schema() {
    for resource in registry::all() {
        let kind = kinds::lookup(resource.group, resource.version, resource.kind);
        let kind = kind.unwrap_or_else(|| panic!("a schema for {}/{}", resource.api_version(), resource.kind));
        assert_eq!((kind.definition)().rsplit('.').next(), Some(resource.kind));
        for sub in resource.subresources {
            let connect = sub.kind.ends_with("Options");
            let typed = kinds::lookup(sub.group, sub.version, sub.kind).is_some();
            assert!(connect || typed, "a schema for {}/{} ({})", resource.plural, sub.name, sub.kind);
        }
    }
}

/// kubectl explain (v2 template) looks for the resource under these paths, takes the GVK of
/// the first get/post/put/patch/delete operation it finds, then the schema tagged with it.
#[test]
fn explain_finds_every_resource_and_its_schema() {
    for resource in registry::all() {
        let document = v3(resource.group, resource.version);
        let prefix = if resource.group.is_empty() { "/api".to_owned() } else { format!("/apis/{}", resource.group) };
        let candidates = [
            format!("{prefix}/{}/{}", resource.version, resource.plural),
            format!("{prefix}/{}/{}/{{name}}", resource.version, resource.plural),
            format!("{prefix}/{}/namespaces/{{namespace}}/{}", resource.version, resource.plural),
            format!("{prefix}/{}/namespaces/{{namespace}}/{}/{{name}}", resource.version, resource.plural),
        ];
        let gvk = candidates
            .iter()
            .filter_map(|path| document["paths"].get(path))
            .flat_map(|item| ["get", "post", "put", "patch", "delete"].map(|m| item.get(m)))
            .flatten()
            .find_map(|op| op.get("x-kubernetes-group-version-kind"))
            .unwrap_or_else(|| panic!("an operation tagged with a GVK for {}", resource.plural));
        let expected = json!({"group": resource.group, "version": resource.version, "kind": resource.kind});
        assert_eq!(gvk, &expected, "{} operations carry the resource's GVK", resource.plural);
        let tagged = document["components"]["schemas"].as_object().unwrap().values().filter(|schema| {
            schema.get("x-kubernetes-group-version-kind").and_then(Value::as_array).is_some_and(|l| l.contains(gvk))
        });
        assert_eq!(tagged.count(), 1, "exactly one schema is tagged {gvk}");
    }
}

/// What kubectl's client-side apply reads: the PATCH operation of each kind (by GVK), and
/// `x-kubernetes-patch-strategy` / `-merge-key` along the fields, through `allOf` wrappers.
#[test]
fn strategic_merge_patch_metadata_is_where_kubectl_reads_it() {
    for resource in registry::all().iter().filter(|r| r.supports("patch")) {
        let document = v3(resource.group, resource.version);
        let expected = json!({"group": resource.group, "version": resource.version, "kind": resource.kind});
        let patch = document["paths"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|item| item.get("patch"))
            .find(|op| op["x-kubernetes-group-version-kind"] == expected && op["x-kubernetes-action"] == "patch");
        let patch = patch.unwrap_or_else(|| panic!("a PATCH operation for {expected}"));
        let names: Vec<&str> =
            patch["parameters"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
        assert!(names.contains(&"fieldManager"), "PATCH of {} takes fieldManager", resource.plural);
        assert_eq!(
            names.contains(&"fieldValidation"),
            parameters::SERVER_VALIDATES_FIELDS,
            "PATCH of {} lists fieldValidation only when the server enforces it",
            resource.plural
        );
        assert!(patch["requestBody"]["content"].get("application/strategic-merge-patch+json").is_some());
    }

    let apps = v3("apps", "v1");
    let deployment = "io.k8s.api.apps.v1.Deployment";
    let pod_spec = ["spec", "template", "spec"];
    let containers = property(apps, deployment, &pod_spec.iter().chain(&["containers"]).copied().collect::<Vec<_>>());
    assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
    assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
    assert_eq!(containers["x-kubernetes-list-type"], "map");
    assert_eq!(containers["x-kubernetes-list-map-keys"], json!(["name"]));
    let env = property(apps, deployment, &["spec", "template", "spec", "containers", "[]", "env"]);
    assert_eq!(
        (&env["x-kubernetes-patch-strategy"], &env["x-kubernetes-patch-merge-key"]),
        (&json!("merge"), &json!("name"))
    );
    let ports = property(apps, deployment, &["spec", "template", "spec", "containers", "[]", "ports"]);
    assert_eq!(ports["x-kubernetes-patch-merge-key"], "containerPort");
    assert_eq!(ports["x-kubernetes-list-map-keys"], json!(["containerPort", "protocol"]));
    let volumes = property(apps, deployment, &["spec", "template", "spec", "volumes"]);
    assert_eq!(volumes["x-kubernetes-patch-strategy"], "merge,retainKeys");
    let strategy = property(apps, deployment, &["spec", "strategy"]);
    assert_eq!(strategy["x-kubernetes-patch-strategy"], "retainKeys");
    assert!(strategy.get("allOf").is_some(), "an object field keeps its extensions beside the allOf wrapper");
    let owners = property(apps, deployment, &["metadata", "ownerReferences"]);
    assert_eq!(owners["x-kubernetes-patch-merge-key"], "uid");
    let finalizers = property(apps, deployment, &["metadata", "finalizers"]);
    assert_eq!(finalizers["x-kubernetes-patch-strategy"], "merge");
    // A Go-embedded struct's markers land on the type that inlines its fields.
    let core = v3("", "v1");
    let ephemeral_env = property(core, "io.k8s.api.core.v1.EphemeralContainer", &["env"]);
    assert_eq!(ephemeral_env["x-kubernetes-patch-merge-key"], "name");
    // Struct-level markers land on the definition.
    assert_eq!(schema(core, "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector")["x-kubernetes-map-type"], "atomic");
}

#[test]
fn every_marker_names_an_existing_property() {
    let definitions = schemas::all();
    for (definition, properties) in markers::MARKERS {
        let schema = definitions.get(*definition).unwrap_or_else(|| panic!("{definition} is built"));
        for (property, markers) in *properties {
            assert!(!markers::extensions(markers).is_empty(), "{definition}.{property} has known markers");
            if !property.is_empty() {
                assert!(schema["properties"].get(*property).is_some(), "{definition} has a property {property}");
            }
        }
    }
}

#[test]
fn marker_syntax_becomes_kube_openapi_extensions() {
    let extensions =
        markers::extensions("patchMergeKey=port patchStrategy=merge listType=map listMapKey=port listMapKey=protocol");
    assert_eq!(
        extensions,
        vec![
            ("x-kubernetes-patch-merge-key", json!("port")),
            ("x-kubernetes-patch-strategy", json!("merge")),
            ("x-kubernetes-list-type", json!("map")),
            ("x-kubernetes-list-map-keys", json!(["port", "protocol"])),
        ]
    );
    assert_eq!(markers::extensions("structType=atomic"), vec![("x-kubernetes-map-type", json!("atomic"))]);
}

/// kubectl parses OpenAPI 3 with kube-openapi's `spec3` and swagger with gnostic: neither
/// knows JSON Schema 2020-12 (`$defs`, `const`, type arrays), and swagger has no `oneOf`,
/// `anyOf` or `nullable`.
#[test]
fn schemas_use_only_the_keywords_of_their_openapi_version() {
    for (group, version) in schemas::served_group_versions() {
        let document = v3(group, version);
        assert!(document.get("$schema").is_none() && document.get("$defs").is_none());
        let mut found = Vec::new();
        document["components"]["schemas"].as_object().unwrap().values().for_each(|s| schema_objects(s, &mut found));
        for schema in found {
            for keyword in ["$schema", "$defs", "const", "definitions", "prefixItems", "unevaluatedProperties"] {
                assert!(schema.get(keyword).is_none(), "no {keyword} in {group}/{version}: {schema}");
            }
            assert!(!schema.get("type").is_some_and(Value::is_array), "a single type in {group}/{version}");
        }
    }
    let mut found = Vec::new();
    v2()["definitions"].as_object().unwrap().values().for_each(|s| schema_objects(s, &mut found));
    for schema in found {
        for keyword in ["oneOf", "anyOf", "nullable", "$defs", "const"] {
            assert!(schema.get(keyword).is_none(), "no {keyword} in swagger: {schema}");
        }
        if let Some(Value::Array(all_of)) = schema.get("allOf") {
            assert!(all_of.len() != 1 || all_of[0].get("$ref").is_none(), "swagger refs are not wrapped: {schema}");
        }
    }
}

#[test]
fn int_or_string_and_quantity_read_as_upstream_writes_them() {
    let core = v3("", "v1");
    let int_or_string = schema(core, "io.k8s.apimachinery.pkg.util.intstr.IntOrString");
    assert_eq!(int_or_string["x-kubernetes-int-or-string"], true);
    assert_eq!(int_or_string["format"], "int-or-string");
    assert_eq!(int_or_string["oneOf"], json!([{"type": "integer"}, {"type": "string"}]));
    let quantity = schema(core, "io.k8s.apimachinery.pkg.api.resource.Quantity");
    assert_eq!(quantity["oneOf"], json!([{"type": "string"}, {"type": "number"}]));
    let swagger = v2();
    let int_or_string = schema(swagger, "io.k8s.apimachinery.pkg.util.intstr.IntOrString");
    assert_eq!((&int_or_string["type"], &int_or_string["format"]), (&json!("string"), &json!("int-or-string")));
    assert_eq!(schema(swagger, "io.k8s.apimachinery.pkg.api.resource.Quantity")["type"], "string");
    // CRD schemas keep JSONSchemaProps' own `oneOf`/`nullable` properties in swagger.
    let props = schema(swagger, "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps");
    for property in ["oneOf", "anyOf", "nullable", "$ref", "x-kubernetes-preserve-unknown-fields"] {
        assert!(props["properties"].get(property).is_some(), "JSONSchemaProps keeps its {property} property");
    }
}

#[test]
fn kinds_do_not_require_metadata() {
    for definition in ["io.k8s.api.core.v1.Pod", "io.k8s.api.core.v1.ConfigMap", "io.k8s.api.core.v1.Namespace"] {
        let pod = schema(v3("", "v1"), definition);
        assert!(!pod.get("required").is_some_and(|r| r.as_array().unwrap().contains(&json!("metadata"))));
    }
    let container = schema(v3("", "v1"), "io.k8s.api.core.v1.Container");
    assert_eq!(container["required"], json!(["name"]), "other required fields are kept");
}

#[test]
fn lists_are_defined_for_listable_kinds() {
    let core = v3("", "v1");
    let list = schema(core, "io.k8s.api.core.v1.PodList");
    assert_eq!(list["properties"]["items"]["items"]["$ref"], format!("{V3_REF_PREFIX}io.k8s.api.core.v1.Pod"));
    assert_eq!(list["required"], json!(["items"]));
    let get = &core["paths"]["/api/v1/namespaces/{namespace}/pods"]["get"];
    assert_eq!(get["x-kubernetes-action"], "list");
    assert_eq!(get["operationId"], "listCoreV1NamespacedPod");
    let ok = &get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"];
    assert_eq!(ok, &json!(format!("{V3_REF_PREFIX}io.k8s.api.core.v1.PodList")));
}

#[test]
fn operations_follow_the_verbs_the_registry_allows() {
    let core = v3("", "v1");
    let pods = &core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"];
    for (method, id) in [
        ("get", "readCoreV1NamespacedPod"),
        ("put", "replaceCoreV1NamespacedPod"),
        ("patch", "patchCoreV1NamespacedPod"),
        ("delete", "deleteCoreV1NamespacedPod"),
    ] {
        assert_eq!(pods[method]["operationId"], id);
    }
    let collection = &core["paths"]["/api/v1/namespaces/{namespace}/pods"];
    assert_eq!(collection["post"]["operationId"], "createCoreV1NamespacedPod");
    assert_eq!(collection["delete"]["x-kubernetes-action"], "deletecollection");
    assert!(core["paths"]["/api/v1/pods"]["get"].is_object(), "pods of every namespace");
    assert!(core["paths"]["/api/v1/watch/namespaces/{namespace}/pods"]["get"].is_object(), "deprecated watch");
    // Namespaces have no deletecollection; componentstatuses are read-only.
    assert!(core["paths"]["/api/v1/namespaces"].get("delete").is_none());
    assert!(core["paths"]["/api/v1/componentstatuses"].get("post").is_none());
    // Subresources, typed and connect.
    let status = &core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/status"];
    assert_eq!(status["patch"]["operationId"], "patchCoreV1NamespacedPodStatus");
    let eviction = &core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/eviction"]["post"];
    assert_eq!(
        eviction["x-kubernetes-group-version-kind"],
        json!({"group": "policy", "version": "v1", "kind": "Eviction"})
    );
    let exec = &core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/exec"];
    assert_eq!(exec["post"]["x-kubernetes-action"], "connect");
    assert_eq!(exec["get"]["operationId"], "connectCoreV1GetNamespacedPodExec");
    assert!(core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/proxy/{path}"]["get"].is_object());
    let log = &core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/log"]["get"];
    assert_eq!(log["responses"]["200"]["content"]["text/plain"]["schema"]["type"], "string");
    let scale = &v3("apps", "v1")["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"];
    assert_eq!(scale["put"]["x-kubernetes-group-version-kind"]["kind"], "Scale");
    // Create-only reviews: a collection with POST only.
    let reviews = &v3("authorization.k8s.io", "v1")["paths"];
    let local = &reviews["/apis/authorization.k8s.io/v1/namespaces/{namespace}/localsubjectaccessreviews"];
    assert_eq!(local.as_object().unwrap().keys().collect::<Vec<_>>(), ["parameters", "post"]);
    assert!(reviews.get("/apis/authorization.k8s.io/v1/subjectaccessreviews/{name}").is_none());
    // The group-version root lists its resources.
    let root = &v3("apps", "v1")["paths"]["/apis/apps/v1/"]["get"];
    assert_eq!(root["operationId"], "getAppsV1APIResources");
}

/// OpenAPI requires each `{param}` of a path to be declared, and operation ids to be unique.
#[test]
fn paths_declare_their_parameters_and_operation_ids_are_unique() {
    let mut documents: Vec<&Value> = schemas::served_group_versions().map(|(g, v)| v3(g, v)).collect();
    documents.push(v2());
    for document in documents {
        let mut ids = BTreeSet::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            let templated: Vec<&str> =
                path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect();
            let declared = |op: &Value| -> BTreeSet<String> {
                let shared = item["parameters"].as_array().into_iter().flatten();
                let own = op["parameters"].as_array().into_iter().flatten();
                shared
                    .chain(own)
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().unwrap().to_owned())
                    .collect()
            };
            for (method, op) in item.as_object().unwrap().iter().filter(|(k, _)| *k != "parameters") {
                let names = declared(op);
                for name in &templated {
                    assert!(names.contains(*name), "{method} {path} declares {{{name}}}");
                }
                let id = op["operationId"].as_str().unwrap().to_owned();
                assert!(ids.insert(id.clone()), "operation id {id} is unique");
                assert!(op["responses"]["200"].is_object(), "{method} {path} answers 200");
            }
        }
    }
}

#[test]
fn swagger_document_is_swagger_2() {
    let swagger = v2();
    assert_eq!(&serde_json::from_slice::<Value>(v2_json()).unwrap(), swagger, "v2 is served as the document");
    assert_eq!(v2_protobuf(), v2_protobuf::encode(swagger), "the protobuf encodes the same document");
    assert_eq!(swagger["swagger"], "2.0");
    assert!(swagger["definitions"].as_object().unwrap().len() > 400, "every definition");
    let patch = &swagger["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
    assert_eq!(
        patch["x-kubernetes-group-version-kind"],
        json!({"group": "apps", "version": "v1", "kind": "Deployment"})
    );
    let body = patch["parameters"].as_array().unwrap().iter().find(|p| p["in"] == "body").expect("a body parameter");
    assert_eq!(body["schema"]["$ref"], format!("{V2_REF_PREFIX}io.k8s.apimachinery.pkg.apis.meta.v1.Patch"));
    assert!(patch["consumes"].as_array().unwrap().contains(&json!("application/strategic-merge-patch+json")));
    let query = patch["parameters"].as_array().unwrap().iter().find(|p| p["in"] == "query").unwrap();
    assert!(query.get("type").is_some() && query.get("schema").is_none(), "swagger parameters are typed inline");
    let metadata = &schema(swagger, "io.k8s.api.core.v1.Pod")["properties"]["metadata"];
    assert_eq!(metadata["$ref"], format!("{V2_REF_PREFIX}io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
    assert!(metadata["description"].is_string(), "a ref keeps its description beside it in swagger");
}

/// A minimal protobuf reader: the fields of one message as (number, wire type, payload).
fn fields(mut bytes: &[u8]) -> Vec<(u64, u64, Vec<u8>)> {
    fn varint(bytes: &mut &[u8]) -> u64 {
        let mut value = 0;
        for shift in (0..64).step_by(7) {
            let byte = bytes[0];
            *bytes = &bytes[1..];
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                break;
            }
        }
        value
    }
    let mut found = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes);
        let payload = match key & 7 {
            0 => varint(&mut bytes).to_le_bytes().to_vec(),
            1 => {
                let (head, rest) = bytes.split_at(8);
                bytes = rest;
                head.to_vec()
            }
            2 => {
                let len = varint(&mut bytes) as usize;
                let (head, rest) = bytes.split_at(len);
                bytes = rest;
                head.to_vec()
            }
            other => panic!("wire type {other}"),
        };
        found.push((key >> 3, key & 7, payload));
    }
    found
}

fn field(message: &[u8], number: u64) -> Vec<Vec<u8>> {
    fields(message).into_iter().filter(|(n, _, _)| *n == number).map(|(_, _, p)| p).collect()
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

#[test]
fn swagger_protobuf_is_the_gnostic_document() {
    let document = v2_protobuf();
    assert_eq!(field(document, 1), vec![b"2.0".to_vec()], "Document.swagger");
    let info = &field(document, 2)[0];
    assert_eq!(text(&field(info, 1)[0]), "Kubernetes", "Info.title");
    let definitions = field(&field(document, 9)[0], 1);
    assert_eq!(definitions.len(), v2()["definitions"].as_object().unwrap().len(), "every NamedSchema");
    let pod = definitions.iter().find(|d| field(d, 1)[0] == b"io.k8s.api.core.v1.Pod").expect("the Pod definition");
    let pod = &field(pod, 2)[0];
    let types = field(&field(pod, 22)[0], 1);
    assert_eq!(types, vec![b"object".to_vec()], "Schema.type");
    let extensions = field(pod, 31);
    let gvk = extensions.iter().find(|e| field(e, 1)[0] == b"x-kubernetes-group-version-kind").expect("the GVK");
    let yaml: Value = serde_json::from_slice(&field(&field(gvk, 2)[0], 2)[0]).unwrap();
    assert_eq!(yaml, json!([{"group": "", "version": "v1", "kind": "Pod"}]), "Any.yaml holds the value");
    let properties = field(&field(pod, 25)[0], 1);
    let metadata = properties.iter().find(|p| field(p, 1)[0] == b"metadata").unwrap();
    let reference = &field(&field(metadata, 2)[0], 1)[0];
    assert_eq!(text(reference), "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "Schema._ref");

    // The PATCH of a deployment, as kubectl's v2 query-parameter verifier walks it.
    let paths = field(&field(document, 8)[0], 2);
    let item = paths
        .iter()
        .find(|p| field(p, 1)[0] == b"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
        .expect("the deployment path");
    let patch = &field(&field(item, 2)[0], 8)[0];
    let parameters = field(patch, 8);
    let query_names: Vec<String> = parameters
        .iter()
        .filter_map(|item| field(item, 1).first().cloned())
        .filter_map(|parameter| field(&parameter, 2).first().cloned())
        .filter_map(|non_body| field(&non_body, 3).first().cloned())
        .map(|query| text(&field(&query, 4)[0]).to_owned())
        .collect();
    assert!(query_names.contains(&"fieldManager".to_owned()), "query parameters: {query_names:?}");
    let extensions = field(patch, 13);
    assert!(extensions.iter().any(|e| field(e, 1)[0] == b"x-kubernetes-group-version-kind"));
}

#[test]
fn custom_group_versions_get_their_schema_paths_and_meta_definitions() {
    let info = registry::ResourceInfo {
        group: "example.com",
        version: "v1",
        kind: "Widget",
        plural: "widgets",
        singular: "widget",
        short_names: &[],
        namespaced: true,
        verbs: registry::STANDARD_VERBS,
        subresources: &[],
        categories: &[],
        storage_segment: Some("example.com/widgets"),
    };
    let crd_schema = json!({ "type": "object", "properties": { "spec": { "type": "object", "properties": { "size": { "type": "integer" } } } } });
    let doc: Value = serde_json::from_slice(&v3_custom_json(
        "example.com",
        "v1",
        &[(&info, Some(&crd_schema))],
        &core_definitions(),
    ))
    .unwrap();
    assert_eq!(custom_definition_name("example.com", "v1", "Widget"), "com.example.v1.Widget");
    let widget = schema(&doc, "com.example.v1.Widget");
    assert_eq!(widget["properties"]["spec"]["properties"]["size"]["type"], "integer");
    assert_eq!(widget["x-kubernetes-group-version-kind"][0]["kind"], "Widget");
    assert!(widget["properties"]["metadata"].to_string().contains("ObjectMeta"));
    schema(&doc, "com.example.v1.WidgetList");
    schema(&doc, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
    schema(&doc, "io.k8s.apimachinery.pkg.apis.meta.v1.Status");
    let patch = &doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"];
    let types: Vec<&String> = patch["requestBody"]["content"].as_object().unwrap().keys().collect();
    assert!(!types.is_empty() && !types.iter().any(|t| t.contains("strategic")), "{types:?}");
    // Every reference resolves inside the document.
    let mut found = Vec::new();
    refs(&doc, &mut found);
    for r in found {
        let name = r.strip_prefix(V3_REF_PREFIX).unwrap();
        assert!(doc["components"]["schemas"].get(name).is_some(), "dangling {r}");
    }
}
