//! The API's resources as discovery lists them (preferred versions, no
//! subresources), and a mapper from an ownerReference's apiVersion and kind
//! to the resource to GET, PATCH or DELETE it through.

use std::collections::HashMap;

use kube::api::{Api, ApiResource, DynamicObject};
use kube::discovery::{Discovery, Scope};

/// Errors of discovery.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("discovering the API's resources: {0}")]
    DiscoveryFailed(#[source] kube::Error),
}

/// One resource from discovery.
#[derive(Debug, Clone)]
pub struct Resource {
    pub api: ApiResource,
    pub namespaced: bool,
    pub verbs: Vec<String>,
}

impl Resource {
    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    /// `group/version/plural`.
    pub fn key(&self) -> String {
        crate::informer::resource_key(&self.api.api_version, &self.api.plural)
    }

    /// The dynamic API for this resource in `namespace` (ignored when cluster-scoped).
    pub fn api(&self, client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
        if self.namespaced {
            Api::namespaced_with(client.clone(), namespace, &self.api)
        } else {
            Api::all_with(client.clone(), &self.api)
        }
    }
}

/// Everything discovery found, indexed for lookups by kind.
#[derive(Debug, Clone, Default)]
pub struct Resources {
    pub all: Vec<Resource>,
    /// (apiVersion, kind) → index, over every served version.
    by_gvk: HashMap<(String, String), usize>,
    /// (group, kind) → index of the preferred version.
    by_gk: HashMap<(String, String), usize>,
}

impl Resources {
    /// The resource for an object's or ownerReference's `apiVersion` and `kind`.
    pub fn for_kind(&self, api_version: &str, kind: &str) -> Option<&Resource> {
        if let Some(i) = self.by_gvk.get(&(api_version.to_owned(), kind.to_owned())) {
            return self.all.get(*i);
        }
        let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
        self.by_gk.get(&(group.to_owned(), kind.to_owned())).and_then(|i| self.all.get(*i))
    }

    /// Preferred-version resources (one per group and kind).
    pub fn preferred(&self) -> impl Iterator<Item = &Resource> {
        let preferred: std::collections::HashSet<usize> = self.by_gk.values().copied().collect();
        self.all.iter().enumerate().filter(move |(i, _)| preferred.contains(i)).map(|(_, r)| r)
    }
}

/// Runs discovery.
pub async fn discover(client: &kube::Client) -> Result<Resources, Error> {
    let discovery = Discovery::new(client.clone()).run().await.map_err(Error::DiscoveryFailed)?;
    let mut out = Resources::default();
    for group in discovery.groups() {
        let preferred = group.preferred_version_or_latest().to_owned();
        for version in group.versions() {
            for (ar, caps) in group.versioned_resources(version) {
                if ar.plural.contains('/') {
                    continue;
                }
                let idx = out.all.len();
                let key = (ar.api_version.clone(), ar.kind.clone());
                let gk = (ar.group.clone(), ar.kind.clone());
                out.by_gvk.entry(key).or_insert(idx);
                if version == preferred {
                    out.by_gk.insert(gk, idx);
                } else {
                    out.by_gk.entry(gk).or_insert(idx);
                }
                out.all.push(Resource {
                    api: ar,
                    namespaced: caps.scope == Scope::Namespaced,
                    verbs: caps.operations.clone(),
                });
            }
        }
    }
    Ok(out)
}
