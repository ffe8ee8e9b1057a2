//! Container environment as upstream's `makeEnvironmentVariables`: `envFrom`
//! first, then `env` in order (value, fieldRef, resourceFieldRef,
//! secretKeyRef, configMapKeyRef) with `$(VAR)` expansion against what was
//! defined before and the service links; then the service-link variables;
//! and the same expansion for command and args.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret};
use kube::Api;
use rustkube_api::quantity::Quantity;

use crate::services::Services;

/// Why a container's configuration could not be made (`CreateContainerConfigError`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{kind} {name:?} not found")]
    NotFound { kind: &'static str, name: String },
    #[error("couldn't find key {key} in {kind} {namespace}/{name}")]
    KeyNotFound { kind: &'static str, namespace: String, name: String, key: String },
    #[error("reading {kind} {namespace}/{name}: {source}")]
    Read {
        kind: &'static str,
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("services have not yet been read at least once, cannot construct envvars")]
    ServicesNotRead,
    #[error("unsupported fieldRef {0:?}")]
    FieldPath(String),
    #[error("unsupported resourceFieldRef {0:?}")]
    ResourceField(String),
}

/// Where referenced objects are read from; a cache of one sync.
pub struct Sources {
    client: kube::Client,
    namespace: String,
    config_maps: HashMap<String, Option<ConfigMap>>,
    secrets: HashMap<String, Option<Secret>>,
    services: Services,
    /// The pod's service-link variables, once made.
    links: Option<Arc<BTreeMap<String, String>>>,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources").field("namespace", &self.namespace).finish_non_exhaustive()
    }
}

impl Sources {
    pub fn new(client: kube::Client, namespace: &str, services: &Services) -> Self {
        Sources {
            client,
            namespace: namespace.to_owned(),
            config_maps: HashMap::new(),
            secrets: HashMap::new(),
            services: services.clone(),
            links: None,
        }
    }

    /// The service-link variables of `pod` (in this sync's namespace).
    async fn service_links(&mut self, pod: &Pod) -> Result<Arc<BTreeMap<String, String>>, Error> {
        if self.links.is_none() {
            let links = self.services.links_of(pod, &self.namespace).await.ok_or(Error::ServicesNotRead)?;
            self.links = Some(Arc::new(links));
        }
        Ok(self.links.clone().unwrap_or_default())
    }

    async fn config_map(&mut self, name: &str) -> Result<Option<&ConfigMap>, Error> {
        if !self.config_maps.contains_key(name) {
            let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.namespace);
            let got = api.get_opt(name).await.map_err(|source| Error::Read {
                kind: "configmap",
                namespace: self.namespace.clone(),
                name: name.to_owned(),
                source: Box::new(source),
            })?;
            self.config_maps.insert(name.to_owned(), got);
        }
        Ok(self.config_maps.get(name).and_then(Option::as_ref))
    }

    async fn secret(&mut self, name: &str) -> Result<Option<&Secret>, Error> {
        if !self.secrets.contains_key(name) {
            let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
            let got = api.get_opt(name).await.map_err(|source| Error::Read {
                kind: "secret",
                namespace: self.namespace.clone(),
                name: name.to_owned(),
                source: Box::new(source),
            })?;
            self.secrets.insert(name.to_owned(), got);
        }
        Ok(self.secrets.get(name).and_then(Option::as_ref))
    }
}

fn secret_data(s: &Secret) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = s
        .data
        .iter()
        .flatten()
        .map(|(k, ByteString(v))| (k.clone(), String::from_utf8_lossy(v).into_owned()))
        .collect();
    out.extend(s.string_data.clone().unwrap_or_default());
    out
}

/// Facts about the pod that fieldRefs read and are not in its spec.
#[derive(Debug, Clone, Default)]
pub struct PodFacts {
    pub host_ip: String,
    pub pod_ips: Vec<String>,
    /// Node allocatable, used for resourceFieldRef of unset limits.
    pub node_allocatable: BTreeMap<String, Quantity>,
}

/// Whether `container`'s environment refers to the pod's IPs (which are
/// known once its sandbox is).
pub fn needs_pod_ips(container: &Container) -> bool {
    container
        .env
        .iter()
        .flatten()
        .filter_map(|e| e.value_from.as_ref()?.field_ref.as_ref())
        .any(|f| matches!(f.field_path.as_str(), "status.podIP" | "status.podIPs"))
}

/// The environment of `container` in `pod`, in order: its declared
/// variables (`envFrom`, then `env`), then the service-link variables (see
/// [`crate::services`]) it does not declare itself. `$(VAR)` in a value
/// refers to the variables declared before it or to a service link, as
/// upstream.
pub async fn environment(
    pod: &Pod,
    container: &Container,
    facts: &PodFacts,
    sources: &mut Sources,
) -> Result<Vec<(String, String)>, Error> {
    let services = sources.service_links(pod).await?;
    let mut order: Vec<String> = Vec::new();
    let mut values: HashMap<String, String> = HashMap::new();
    let set = |k: String, v: String, order: &mut Vec<String>, values: &mut HashMap<String, String>| {
        if values.insert(k.clone(), v).is_none() {
            order.push(k);
        }
    };
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    for from in container.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        if let Some(r) = &from.config_map_ref {
            let optional = r.optional.unwrap_or(false);
            match sources.config_map(&r.name).await? {
                Some(cm) => {
                    for (k, v) in cm.data.iter().flatten() {
                        set(format!("{prefix}{k}"), v.clone(), &mut order, &mut values);
                    }
                }
                None if optional => {}
                None => return Err(Error::NotFound { kind: "configmap", name: r.name.clone() }),
            }
        }
        if let Some(r) = &from.secret_ref {
            let optional = r.optional.unwrap_or(false);
            match sources.secret(&r.name).await? {
                Some(s) => {
                    for (k, v) in secret_data(s) {
                        set(format!("{prefix}{k}"), v, &mut order, &mut values);
                    }
                }
                None if optional => {}
                None => return Err(Error::NotFound { kind: "secret", name: r.name.clone() }),
            }
        }
    }
    for env in container.env.iter().flatten() {
        let value = if let Some(source) = &env.value_from {
            if let Some(f) = &source.field_ref {
                Some(field_value(pod, &f.field_path, facts)?)
            } else if let Some(r) = &source.resource_field_ref {
                let target = match r.container_name.as_deref().filter(|n| !n.is_empty()) {
                    Some(name) => all_containers(pod).find(|c| c.name == name).unwrap_or(container),
                    None => container,
                };
                Some(resource_value(target, &r.resource, r.divisor.as_ref().map(|d| d.0.as_str()), facts)?)
            } else if let Some(r) = &source.config_map_key_ref {
                let optional = r.optional.unwrap_or(false);
                match sources.config_map(&r.name).await? {
                    Some(cm) => match cm.data.as_ref().and_then(|d| d.get(&r.key)) {
                        Some(v) => Some(v.clone()),
                        None if optional => None,
                        None => {
                            return Err(Error::KeyNotFound {
                                kind: "ConfigMap",
                                namespace: namespace.clone(),
                                name: r.name.clone(),
                                key: r.key.clone(),
                            });
                        }
                    },
                    None if optional => None,
                    None => return Err(Error::NotFound { kind: "configmap", name: r.name.clone() }),
                }
            } else if let Some(r) = &source.secret_key_ref {
                let optional = r.optional.unwrap_or(false);
                match sources.secret(&r.name).await? {
                    Some(s) => match secret_data(s).remove(&r.key) {
                        Some(v) => Some(v),
                        None if optional => None,
                        None => {
                            return Err(Error::KeyNotFound {
                                kind: "Secret",
                                namespace: namespace.clone(),
                                name: r.name.clone(),
                                key: r.key.clone(),
                            });
                        }
                    },
                    None if optional => None,
                    None => return Err(Error::NotFound { kind: "secret", name: r.name.clone() }),
                }
            } else {
                None
            }
        } else {
            Some(expand_with(env.value.as_deref().unwrap_or(""), |name| {
                values.get(name).or_else(|| services.get(name)).map(String::as_str)
            }))
        };
        if let Some(v) = value {
            set(env.name.clone(), v, &mut order, &mut values);
        }
    }
    let links: Vec<(String, String)> =
        services.iter().filter(|(k, _)| !values.contains_key(*k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    Ok(order
        .into_iter()
        .map(|k| {
            let v = values.remove(&k).unwrap_or_default();
            (k, v)
        })
        .chain(links)
        .collect())
}

fn all_containers(pod: &Pod) -> impl Iterator<Item = &Container> {
    let spec = pod.spec.as_ref();
    spec.into_iter().flat_map(|s| s.init_containers.iter().flatten().chain(s.containers.iter()))
}

/// The value of a downward-API field path.
pub fn field_value(pod: &Pod, path: &str, facts: &PodFacts) -> Result<String, Error> {
    let meta = &pod.metadata;
    let spec = pod.spec.clone().unwrap_or_default();
    let subscript = |prefix: &str| -> Option<String> {
        let rest = path.strip_prefix(prefix)?.strip_prefix("['")?.strip_suffix("']")?;
        Some(rest.to_owned())
    };
    if let Some(key) = subscript("metadata.labels") {
        return Ok(meta.labels.as_ref().and_then(|l| l.get(&key)).cloned().unwrap_or_default());
    }
    if let Some(key) = subscript("metadata.annotations") {
        return Ok(meta.annotations.as_ref().and_then(|l| l.get(&key)).cloned().unwrap_or_default());
    }
    Ok(match path {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => meta.namespace.clone().unwrap_or_default(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "metadata.labels" => format_map(meta.labels.as_ref()),
        "metadata.annotations" => format_map(meta.annotations.as_ref()),
        "spec.nodeName" => spec.node_name.unwrap_or_default(),
        "spec.serviceAccountName" => spec.service_account_name.unwrap_or_default(),
        "status.hostIP" => facts.host_ip.clone(),
        "status.hostIPs" => facts.host_ip.clone(),
        "status.podIP" => facts.pod_ips.first().cloned().unwrap_or_default(),
        "status.podIPs" => facts.pod_ips.join(","),
        other => return Err(Error::FieldPath(other.to_owned())),
    })
}

/// `key="value"` lines, sorted, as the downward API renders maps.
pub fn format_map(m: Option<&BTreeMap<String, String>>) -> String {
    m.into_iter().flatten().map(|(k, v)| format!("{k}={v:?}")).collect::<Vec<_>>().join("\n")
}

/// The value of a resourceFieldRef: the limit (node allocatable when unset)
/// or request, divided by the divisor and rounded up.
pub fn resource_value(
    container: &Container,
    resource: &str,
    divisor: Option<&str>,
    facts: &PodFacts,
) -> Result<String, Error> {
    let bad = || Error::ResourceField(resource.to_owned());
    let (kind, name) = resource.split_once('.').ok_or_else(bad)?;
    let resources = container.resources.clone().unwrap_or_default();
    let from = match kind {
        "limits" => resources.limits,
        "requests" => resources.requests,
        _ => return Err(bad()),
    };
    let mut value = from.as_ref().and_then(|m| m.get(name)).and_then(|q| Quantity::parse(&q.0).ok());
    if value.is_none() && kind == "limits" {
        value = facts.node_allocatable.get(name).cloned();
    }
    if value.is_none() && kind == "requests" && name == "cpu" {
        value = Some(Quantity::from_value(0, Default::default()));
    }
    let value = value.unwrap_or_else(|| Quantity::from_value(0, Default::default()));
    let divisor = match divisor.filter(|d| !d.is_empty()) {
        Some(d) => Quantity::parse(d).map_err(|_| bad())?,
        None => Quantity::from_value(1, Default::default()),
    };
    let d = divisor.milli_value();
    if d <= 0 {
        return Err(bad());
    }
    let v = value.milli_value();
    let out = (v + d - 1).div_euclid(d);
    Ok(out.max(if name == "cpu" && v > 0 { 1 } else { 0 }).to_string())
}

/// `$(VAR)` expansion as upstream's `expansion.Expand`: defined variables are
/// replaced, undefined ones left as written, `$$` is a literal `$`.
pub fn expand(input: &str, vars: &HashMap<String, String>) -> String {
    expand_with(input, |name| vars.get(name).map(String::as_str))
}

/// [`expand`] with the variables looked up by `lookup`.
fn expand_with<'a>(input: &str, lookup: impl Fn(&str) -> Option<&'a str>) -> String {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' && i + 1 < bytes.len() {
            match bytes[i + 1] {
                b'$' => {
                    out.push('$');
                    i += 2;
                    continue;
                }
                b'(' => {
                    if let Some(end) = input[i + 2..].find(')') {
                        let name = &input[i + 2..i + 2 + end];
                        match lookup(name) {
                            Some(v) => out.push_str(v),
                            None => out.push_str(&input[i..i + 3 + end]),
                        }
                        i += 3 + end;
                        continue;
                    }
                }
                _ => {}
            }
        }
        let ch = input[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Command and args with `$(VAR)` expanded against the container's environment.
pub fn expand_command(container: &Container, env: &[(String, String)]) -> (Vec<String>, Vec<String>) {
    let vars: HashMap<String, String> = env.iter().cloned().collect();
    let command = container.command.iter().flatten().map(|c| expand(c, &vars)).collect();
    let args = container.args.iter().flatten().map(|a| expand(a, &vars)).collect();
    (command, args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ResourceRequirements;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity as Q;

    #[test]
    fn expansion_as_upstream() {
        let vars: HashMap<String, String> = [("A".to_owned(), "x".to_owned())].into();
        assert_eq!(expand("$(A)-$(B)", &vars), "x-$(B)");
        assert_eq!(expand("$$(A)", &vars), "$(A)");
        assert_eq!(expand("cost $5 é", &vars), "cost $5 é");
        assert_eq!(expand("$(A", &vars), "$(A");
    }

    #[test]
    fn resource_field_refs_round_up_by_divisor() {
        let c = Container {
            name: "c".into(),
            resources: Some(ResourceRequirements {
                limits: Some([("cpu".to_owned(), Q("250m".into())), ("memory".to_owned(), Q("64Mi".into()))].into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let facts = PodFacts::default();
        assert_eq!(resource_value(&c, "limits.cpu", None, &facts).unwrap(), "1");
        assert_eq!(resource_value(&c, "limits.cpu", Some("1m"), &facts).unwrap(), "250");
        assert_eq!(resource_value(&c, "limits.memory", Some("1Mi"), &facts).unwrap(), "64");
        assert_eq!(resource_value(&c, "limits.memory", None, &facts).unwrap(), (64 << 20).to_string());
    }

    #[test]
    fn field_refs_read_the_pod() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u1", "labels": {"app": "web"}},
            "spec": {"nodeName": "n1", "containers": []}
        }))
        .unwrap();
        let facts = PodFacts { host_ip: "10.0.0.1".into(), pod_ips: vec!["10.244.0.5".into()], ..Default::default() };
        assert_eq!(field_value(&pod, "metadata.name", &facts).unwrap(), "p");
        assert_eq!(field_value(&pod, "metadata.labels['app']", &facts).unwrap(), "web");
        assert_eq!(field_value(&pod, "status.podIP", &facts).unwrap(), "10.244.0.5");
        assert_eq!(field_value(&pod, "spec.nodeName", &facts).unwrap(), "n1");
        assert!(field_value(&pod, "spec.bogus", &facts).is_err());
    }
}
