//! Discovery: `/api`, `/apis`, per-group-version resource lists, aggregated
//! discovery (apidiscovery.k8s.io v2 and v2beta1) and `/version`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rustkube_api::registry::{self, ResourceInfo};
use serde_json::{Value, json};

use crate::crd::Catalog;
use crate::handlers::json_response;
use crate::status::ApiError;

/// The Kubernetes version rustkube speaks.
pub const KUBE_MAJOR: &str = "1";
pub const KUBE_MINOR: &str = "33";

pub fn version() -> Value {
    json!({
        "major": KUBE_MAJOR,
        "minor": KUBE_MINOR,
        "gitVersion": format!("v{KUBE_MAJOR}.{KUBE_MINOR}.0-rustkube.{}", env!("CARGO_PKG_VERSION")),
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "n/a (rust)",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, go_arch()),
    })
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// Which aggregated discovery version the client accepts, if any.
fn aggregated_version(accept: Option<&str>) -> Option<&'static str> {
    let accept = accept?;
    let mut best = None;
    for part in accept.split(',') {
        let params: Vec<&str> = part.split(';').map(str::trim).collect();
        if !params.contains(&"as=APIGroupDiscoveryList") || !params.contains(&"g=apidiscovery.k8s.io") {
            if best.is_none() && params.first().is_some_and(|m| *m == "application/json") {
                return None;
            }
            continue;
        }
        if params.contains(&"v=v2") {
            return Some("v2");
        }
        if params.contains(&"v=v2beta1") && best.is_none() {
            best = Some("v2beta1");
        }
    }
    best
}

fn resource_entry(r: &ResourceInfo) -> Value {
    let mut e = json!({
        "name": r.plural,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": r.verbs,
    });
    if !r.short_names.is_empty() {
        e["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        e["categories"] = json!(r.categories);
    }
    e
}

fn subresource_entries(r: &ResourceInfo) -> Vec<Value> {
    r.subresources
        .iter()
        .map(|s| {
            let mut e = json!({
                "name": format!("{}/{}", r.plural, s.name),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": s.kind,
                "verbs": s.verbs,
            });
            if s.group != r.group || s.version != r.version {
                e["group"] = json!(s.group);
                e["version"] = json!(s.version);
            }
            e
        })
        .collect()
}

/// `/api/v1` or `/apis/<group>/<version>`.
pub fn resource_list(group: &str, version: &str, custom: &Catalog) -> Result<Value, ApiError> {
    let mut resources: Vec<&ResourceInfo> = registry::resources_in(group, version).collect();
    if resources.is_empty() {
        resources = custom.resources_in(group, version).collect();
    }
    if resources.is_empty() {
        return Err(ApiError::path_not_found());
    }
    let mut list = Vec::new();
    for r in resources {
        list.push(resource_entry(r));
        list.extend(subresource_entries(r));
    }
    let gv = if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") };
    Ok(json!({ "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": list }))
}

fn group_entry(name: &str, versions: &[&str], preferred: &str) -> Value {
    let versions: Vec<Value> =
        versions.iter().map(|v| json!({ "groupVersion": format!("{name}/{v}"), "version": v })).collect();
    json!({
        "name": name,
        "versions": versions,
        "preferredVersion": { "groupVersion": format!("{name}/{preferred}"), "version": preferred },
    })
}

fn aggregated_resource(r: &ResourceInfo) -> Value {
    let mut e = json!({
        "resource": r.plural,
        "responseKind": { "group": r.group, "version": r.version, "kind": r.kind },
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": r.verbs,
    });
    if !r.short_names.is_empty() {
        e["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        e["categories"] = json!(r.categories);
    }
    let subs: Vec<Value> = r
        .subresources
        .iter()
        .map(|s| {
            json!({
                "subresource": s.name,
                "responseKind": { "group": s.group, "version": s.version, "kind": s.kind },
                "verbs": s.verbs,
            })
        })
        .collect();
    if !subs.is_empty() {
        e["subresources"] = json!(subs);
    }
    e
}

fn aggregated_group(name: &str, versions: &[&str], custom: &Catalog) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| {
            let resources: Vec<Value> =
                registry::resources_in(name, v).chain(custom.resources_in(name, v)).map(aggregated_resource).collect();
            json!({ "version": v, "resources": resources, "freshness": "Current" })
        })
        .collect();
    json!({ "metadata": { "name": name, "creationTimestamp": null }, "versions": versions })
}

fn aggregated(items: Vec<Value>, version: &str) -> Response {
    let body = json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    });
    let mut resp = (StatusCode::OK, serde_json::to_vec(&body).unwrap_or_default()).into_response();
    let ct = format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList");
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_str(&ct).expect("valid header"));
    resp.headers_mut().insert(header::VARY, HeaderValue::from_static("Accept"));
    resp
}

/// `/api`.
pub fn api(accept: Option<&str>, advertise: &str) -> Response {
    if let Some(v) = aggregated_version(accept) {
        return aggregated(vec![aggregated_group("", &["v1"], &Catalog::default())], v);
    }
    json_response(
        StatusCode::OK,
        &json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": advertise }],
        }),
    )
}

/// `/apis`.
pub fn apis(accept: Option<&str>, custom: &Catalog) -> Response {
    if let Some(v) = aggregated_version(accept) {
        let items = registry::groups()
            .iter()
            .map(|g| aggregated_group(g.name, g.versions, custom))
            .chain(custom.groups().iter().map(|g| aggregated_group(g.name, &g.versions, custom)))
            .collect();
        return aggregated(items, v);
    }
    let groups: Vec<Value> = registry::groups()
        .iter()
        .map(|g| group_entry(g.name, g.versions, g.preferred_version))
        .chain(custom.groups().iter().map(|g| group_entry(g.name, &g.versions, g.versions[0])))
        .collect();
    json_response(StatusCode::OK, &json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups }))
}

/// `/apis/<group>`.
pub fn group(name: &str, custom: &Catalog) -> Result<Value, ApiError> {
    let mut v = match registry::groups().iter().find(|g| g.name == name) {
        Some(g) => group_entry(g.name, g.versions, g.preferred_version),
        None => {
            let g = custom.groups().iter().find(|g| g.name == name).ok_or_else(ApiError::path_not_found)?;
            group_entry(g.name, &g.versions, g.versions[0])
        }
    };
    v["kind"] = json!("APIGroup");
    v["apiVersion"] = json!("v1");
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregated_discovery_is_chosen_from_accept() {
        let kubectl = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(aggregated_version(Some(kubectl)), Some("v2"));
        let old = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(aggregated_version(Some(old)), Some("v2beta1"));
        assert_eq!(aggregated_version(Some("application/json")), None);
        assert_eq!(aggregated_version(None), None);
    }

    #[test]
    fn core_resource_list_has_pods_and_their_subresources() {
        let list = resource_list("", "v1", &Catalog::default()).unwrap();
        let names: Vec<&str> =
            list["resources"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert!(names.contains(&"pods") && names.contains(&"pods/status") && names.contains(&"pods/binding"));
        assert!(resource_list("apps", "v9", &Catalog::default()).is_err());
    }
}
