//! Request classification: which resource, namespace, name and verb a path
//! and method address, as upstream's RequestInfoFactory.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::Method;
use rustkube_api::registry::{self, ResourceInfo};

use crate::crd::{Catalog, CustomVersion};
use crate::status::ApiError;

/// What a resource request addresses.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    pub verb: Verb,
    pub resource: &'static ResourceInfo,
    /// The version in the URL (may differ from the resource's storage version).
    pub version: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// What follows `/proxy/` in a proxy subresource path.
    pub proxy_path: Option<String>,
    /// For a custom resource: its schema, columns and scale paths.
    pub custom: Option<Arc<CustomVersion>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DeleteCollection,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::DeleteCollection => "deletecollection",
        }
    }
}

/// Parses `/api/v1/...` and `/apis/<group>/<version>/...` resource paths.
/// `Ok(None)` means the path is a discovery path (handled elsewhere).
/// Custom resources are looked up in `custom` when the built-in registry has no match.
pub fn parse(
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    custom: &Catalog,
) -> Result<Option<RequestInfo>, ApiError> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Ok(None),
    };
    if rest.is_empty() {
        return Ok(None);
    }
    // Legacy `/watch/` prefix.
    let (legacy_watch, rest) = match rest {
        ["watch", tail @ ..] => (true, tail),
        _ => (false, rest),
    };
    // `/namespaces/<ns>/status` and `/finalize` address the namespace itself.
    let (namespace, rest): (Option<&str>, &[&str]) = match rest {
        ["namespaces", _, sub] if matches!(*sub, "status" | "finalize") => (None, rest),
        ["namespaces", ns, tail @ ..] if !tail.is_empty() => (Some(*ns), tail),
        _ => (None, rest),
    };
    let mut proxy_path = None;
    let (plural, name, subresource) = match rest {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(*name), None),
        [plural, name, "proxy"] => {
            proxy_path = Some(if path.ends_with('/') { "/".to_owned() } else { String::new() });
            (*plural, Some(*name), Some("proxy"))
        }
        [plural, name, sub] => (*plural, Some(*name), Some(*sub)),
        [plural, name, "proxy", tail @ ..] => {
            // Keep a trailing slash: `/proxy/stats/` and `/proxy/stats` differ to the backend.
            let mut joined = tail.join("/");
            if path.ends_with('/') {
                joined.push('/');
            }
            proxy_path = Some(joined);
            (*plural, Some(*name), Some("proxy"))
        }
        _ => return Err(ApiError::path_not_found()),
    };
    let (resource, custom) = match registry::lookup(group, version, plural) {
        Some(r) => (r, None),
        None => match custom.lookup(group, version, plural) {
            Some(c) => (c.info, Some(Arc::clone(c))),
            None => return Err(ApiError::path_not_found()),
        },
    };
    if namespace.is_some() && !resource.namespaced {
        return Err(ApiError::path_not_found());
    }
    if let Some(sub) = subresource
        && resource.subresource(sub).is_none()
    {
        return Err(ApiError::path_not_found());
    }
    let watch = legacy_watch || query.get("watch").is_some_and(|v| v == "true" || v == "1");
    let verb = match (method, name.is_some()) {
        (&Method::GET, true) if watch => Verb::Watch,
        (&Method::GET, true) => Verb::Get,
        (&Method::GET, false) if watch => Verb::Watch,
        (&Method::GET, false) => Verb::List,
        (&Method::POST, _) => Verb::Create,
        (&Method::PUT, true) => Verb::Update,
        (&Method::PATCH, true) => Verb::Patch,
        (&Method::DELETE, true) => Verb::Delete,
        (&Method::DELETE, false) => Verb::DeleteCollection,
        _ => return Err(ApiError::method_not_allowed()),
    };
    Ok(Some(RequestInfo {
        verb,
        resource,
        version: version.to_owned(),
        namespace: namespace.map(str::to_owned),
        name: name.map(str::to_owned),
        subresource: subresource.map(str::to_owned),
        proxy_path,
        custom,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q() -> HashMap<String, String> {
        HashMap::new()
    }

    #[test]
    fn classifies_namespaced_and_cluster_paths() {
        let r = parse(&Method::GET, "/api/v1/namespaces/default/pods/web", &q(), &Catalog::default()).unwrap().unwrap();
        assert_eq!(
            (r.verb, r.resource.plural, r.namespace.as_deref(), r.name.as_deref()),
            (Verb::Get, "pods", Some("default"), Some("web"))
        );
        let r = parse(&Method::GET, "/api/v1/namespaces/default", &q(), &Catalog::default()).unwrap().unwrap();
        assert_eq!((r.resource.plural, r.name.as_deref(), r.namespace), ("namespaces", Some("default"), None));
        let r =
            parse(&Method::PUT, "/api/v1/namespaces/kube-system/finalize", &q(), &Catalog::default()).unwrap().unwrap();
        assert_eq!(
            (r.resource.plural, r.name.as_deref(), r.subresource.as_deref()),
            ("namespaces", Some("kube-system"), Some("finalize"))
        );
        let r = parse(&Method::GET, "/apis/apps/v1/deployments", &q(), &Catalog::default()).unwrap().unwrap();
        assert_eq!((r.verb, r.namespace), (Verb::List, None));
        let r = parse(&Method::DELETE, "/apis/apps/v1/namespaces/x/deployments", &q(), &Catalog::default())
            .unwrap()
            .unwrap();
        assert_eq!(r.verb, Verb::DeleteCollection);
        let r = parse(&Method::PUT, "/apis/apps/v1/namespaces/x/deployments/d/scale", &q(), &Catalog::default())
            .unwrap()
            .unwrap();
        assert_eq!(r.subresource.as_deref(), Some("scale"));
        let mut w = q();
        w.insert("watch".into(), "true".into());
        assert_eq!(parse(&Method::GET, "/api/v1/pods", &w, &Catalog::default()).unwrap().unwrap().verb, Verb::Watch);
    }

    #[test]
    fn proxy_paths_keep_what_follows_proxy() {
        let r =
            parse(&Method::GET, "/api/v1/nodes/n1/proxy/stats/summary", &q(), &Catalog::default()).unwrap().unwrap();
        assert_eq!((r.subresource.as_deref(), r.proxy_path.as_deref()), (Some("proxy"), Some("stats/summary")));
        let r = parse(&Method::GET, "/api/v1/nodes/n1/proxy/", &q(), &Catalog::default()).unwrap().unwrap();
        assert_eq!(r.proxy_path.as_deref(), Some("/"));
        let r = parse(&Method::POST, "/api/v1/namespaces/d/pods/p/exec", &q(), &Catalog::default()).unwrap().unwrap();
        assert_eq!((r.verb, r.subresource.as_deref(), r.proxy_path), (Verb::Create, Some("exec"), None));
        assert!(parse(&Method::GET, "/api/v1/namespaces/d/pods/p/log/extra", &q(), &Catalog::default()).is_err());
    }

    #[test]
    fn unknown_paths_are_404_and_discovery_paths_pass() {
        assert!(parse(&Method::GET, "/api/v1", &q(), &Catalog::default()).unwrap().is_none());
        assert!(parse(&Method::GET, "/apis/apps/v1", &q(), &Catalog::default()).unwrap().is_none());
        assert_eq!(parse(&Method::GET, "/api/v1/nope", &q(), &Catalog::default()).unwrap_err().code, 404);
        assert_eq!(
            parse(&Method::GET, "/api/v1/namespaces/x/nodes/n", &q(), &Catalog::default()).unwrap_err().code,
            404
        );
        assert_eq!(
            parse(&Method::GET, "/api/v1/namespaces/x/pods/p/bogus", &q(), &Catalog::default()).unwrap_err().code,
            404
        );
        assert_eq!(parse(&Method::PUT, "/api/v1/pods", &q(), &Catalog::default()).unwrap_err().code, 405);
    }
}
