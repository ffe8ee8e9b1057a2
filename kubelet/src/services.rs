//! The cluster's Services as the kubelet sees them (upstream's service
//! lister): a watch-fed cache, and the service-link environment variables
//! every container gets from it (`KUBERNETES_SERVICE_HOST`, `<NAME>_PORT`, …).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};

/// The services whose variables every pod gets, whatever `enableServiceLinks`
/// says: the API server's own, from the `default` namespace.
const MASTER_SERVICES: &[&str] = &["kubernetes"];

/// How long building a pod's environment waits for the first list of services.
const PATIENCE: Duration = Duration::from_secs(5);

/// A cache of every Service, kept current by a watch.
#[derive(Clone)]
pub struct Services {
    store: Store<Service>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services").field("cached", &self.store.len()).finish()
    }
}

impl Services {
    /// Starts watching every Service through `client`; the watch ends when
    /// `stop` turns true (or its sender is dropped).
    pub fn watch(client: kube::Client, mut stop: tokio::sync::watch::Receiver<bool>) -> Self {
        let (store, writer) = reflector::store();
        let api: Api<Service> = Api::all(client);
        let stream = watcher(api, watcher::Config::default()).default_backoff().reflect(writer);
        tokio::spawn(async move {
            let mut stream = stream.boxed();
            loop {
                tokio::select! {
                    event = stream.next() => match event {
                        Some(Ok(_)) => {}
                        Some(Err(e)) => tracing::warn!(error = %e, "service watch failed, retrying"),
                        None => break,
                    },
                    _ = stop.wait_for(|s| *s) => break,
                }
            }
        });
        Services { store }
    }

    /// Whether the services have been listed at least once, waiting up to
    /// `patience` for the first list.
    async fn synced(&self, patience: Duration) -> bool {
        matches!(tokio::time::timeout(patience, self.store.wait_until_ready()).await, Ok(Ok(())))
    }

    /// The service-link variables of `pod` in `namespace` (see
    /// [`link_variables`]); `None` when the services have not been listed
    /// yet. As upstream, an API pod's variables wait for that first list (so
    /// `KUBERNETES_SERVICE_HOST` is never missed after a kubelet restart); a
    /// static pod's do not.
    pub async fn links_of(&self, pod: &Pod, namespace: &str) -> Option<BTreeMap<String, String>> {
        let source = pod.metadata.annotations.as_ref().and_then(|a| a.get(crate::static_pods::SOURCE));
        let is_static = source.is_some_and(|s| s != "api");
        if !is_static && !self.synced(PATIENCE).await {
            return None;
        }
        let links = pod.spec.as_ref().and_then(|s| s.enable_service_links).unwrap_or(true);
        Some(link_variables(&self.store.state(), namespace, links))
    }
}

/// The service-link variables of a pod in `namespace`: those of the master
/// services always, those of its own namespace's services when `links` (the
/// pod's `enableServiceLinks`).
pub fn link_variables(services: &[Arc<Service>], namespace: &str, links: bool) -> BTreeMap<String, String> {
    let mut chosen: BTreeMap<&str, &Service> = BTreeMap::new();
    for s in services {
        let name = s.metadata.name.as_deref().unwrap_or_default();
        let ns = s.metadata.namespace.as_deref().unwrap_or_default();
        if cluster_ip(s).is_none() {
            continue;
        }
        if ns == "default" && MASTER_SERVICES.contains(&name) {
            chosen.entry(name).or_insert(s);
        } else if ns == namespace && links {
            chosen.insert(name, s);
        }
    }
    chosen.values().flat_map(|s| variables_of(s)).collect()
}

/// The service's cluster IP, when it has one (not headless, not unset).
fn cluster_ip(s: &Service) -> Option<&str> {
    s.spec.as_ref()?.cluster_ip.as_deref().filter(|ip| !ip.is_empty() && *ip != "None")
}

/// `my-svc` → `MY_SVC`.
fn variable_name(name: &str) -> String {
    name.replace('-', "_").to_uppercase()
}

/// One service's variables: `<NAME>_SERVICE_HOST`, `<NAME>_SERVICE_PORT`
/// (the first port) and `<NAME>_SERVICE_PORT_<PORT NAME>` per named port,
/// then the Docker-link ones (`<NAME>_PORT`, `<NAME>_PORT_<port>_<PROTO>`
/// with its `_PROTO`, `_PORT` and `_ADDR`).
fn variables_of(s: &Service) -> Vec<(String, String)> {
    let Some(ip) = cluster_ip(s) else { return Vec::new() };
    let prefix = variable_name(s.metadata.name.as_deref().unwrap_or_default());
    let ports = s.spec.as_ref().and_then(|spec| spec.ports.as_deref()).unwrap_or_default();
    let mut out = vec![(format!("{prefix}_SERVICE_HOST"), ip.to_owned())];
    let Some(first) = ports.first() else { return out };
    out.push((format!("{prefix}_SERVICE_PORT"), first.port.to_string()));
    for p in ports {
        if let Some(name) = p.name.as_deref().filter(|n| !n.is_empty()) {
            out.push((format!("{prefix}_SERVICE_PORT_{}", variable_name(name)), p.port.to_string()));
        }
    }
    for (i, p) in ports.iter().enumerate() {
        let protocol = p.protocol.as_deref().filter(|p| !p.is_empty()).unwrap_or("TCP");
        let lower = protocol.to_lowercase();
        let host_port = match ip.parse::<IpAddr>() {
            Ok(addr) => SocketAddr::new(addr, u16::try_from(p.port).unwrap_or(0)).to_string(),
            Err(_) => format!("{ip}:{}", p.port),
        };
        let url = format!("{lower}://{host_port}");
        if i == 0 {
            out.push((format!("{prefix}_PORT"), url.clone()));
        }
        let port_prefix = format!("{prefix}_PORT_{}_{}", p.port, protocol.to_uppercase());
        out.push((format!("{port_prefix}_PROTO"), lower));
        out.push((format!("{port_prefix}_PORT"), p.port.to_string()));
        out.push((format!("{port_prefix}_ADDR"), ip.to_owned()));
        out.push((port_prefix, url));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(namespace: &str, name: &str, ip: &str, ports: serde_json::Value) -> Arc<Service> {
        Arc::new(
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"clusterIP": ip, "ports": ports},
            }))
            .unwrap(),
        )
    }

    #[test]
    fn variables_as_upstream_names_them() {
        let svc = service(
            "default",
            "my-web",
            "10.96.0.20",
            serde_json::json!([{"name": "http", "port": 80}, {"name": "dns-udp", "port": 53, "protocol": "UDP"}]),
        );
        let vars = link_variables(&[svc], "default", true);
        let want: BTreeMap<String, String> = [
            ("MY_WEB_SERVICE_HOST", "10.96.0.20"),
            ("MY_WEB_SERVICE_PORT", "80"),
            ("MY_WEB_SERVICE_PORT_HTTP", "80"),
            ("MY_WEB_SERVICE_PORT_DNS_UDP", "53"),
            ("MY_WEB_PORT", "tcp://10.96.0.20:80"),
            ("MY_WEB_PORT_80_TCP", "tcp://10.96.0.20:80"),
            ("MY_WEB_PORT_80_TCP_PROTO", "tcp"),
            ("MY_WEB_PORT_80_TCP_PORT", "80"),
            ("MY_WEB_PORT_80_TCP_ADDR", "10.96.0.20"),
            ("MY_WEB_PORT_53_UDP", "udp://10.96.0.20:53"),
            ("MY_WEB_PORT_53_UDP_PROTO", "udp"),
            ("MY_WEB_PORT_53_UDP_PORT", "53"),
            ("MY_WEB_PORT_53_UDP_ADDR", "10.96.0.20"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(vars, want);
    }

    #[test]
    fn which_services_a_pod_sees() {
        let all = [
            service("default", "kubernetes", "10.96.0.1", serde_json::json!([{"name": "https", "port": 443}])),
            service("default", "other", "10.96.0.5", serde_json::json!([{"port": 8080}])),
            service("shop", "cart", "10.96.0.7", serde_json::json!([{"port": 9000}])),
            service("shop", "headless", "None", serde_json::json!([{"port": 9001}])),
            service("shop", "kubernetes", "10.96.0.9", serde_json::json!([{"port": 1}])),
        ];
        let shop = link_variables(&all, "shop", true);
        assert_eq!(
            shop.get("KUBERNETES_SERVICE_HOST").map(String::as_str),
            Some("10.96.0.9"),
            "a same-named service of the pod's own namespace wins, as upstream"
        );
        assert!(!shop.contains_key("KUBERNETES_SERVICE_PORT_HTTPS"));
        assert_eq!(shop.get("CART_SERVICE_PORT").map(String::as_str), Some("9000"));
        assert!(!shop.contains_key("OTHER_SERVICE_HOST"), "another namespace's service");
        assert!(!shop.contains_key("HEADLESS_SERVICE_HOST"), "a headless service");

        let off = link_variables(&all, "shop", false);
        assert_eq!(off["KUBERNETES_SERVICE_HOST"], "10.96.0.1", "the master service even with links off");
        assert_eq!(off["KUBERNETES_SERVICE_PORT_HTTPS"], "443");
        assert!(!off.contains_key("CART_SERVICE_HOST"));

        let default = link_variables(&all, "default", true);
        assert_eq!(default.get("OTHER_PORT").map(String::as_str), Some("tcp://10.96.0.5:8080"));
        assert_eq!(default.get("KUBERNETES_SERVICE_HOST").map(String::as_str), Some("10.96.0.1"));
    }

    #[test]
    fn ipv6_addresses_are_bracketed_in_urls() {
        let svc = service("default", "v6", "fd00::10", serde_json::json!([{"port": 80}]));
        let vars = link_variables(&[svc], "default", true);
        assert_eq!(vars["V6_PORT"], "tcp://[fd00::10]:80");
        assert_eq!(vars["V6_PORT_80_TCP_ADDR"], "fd00::10");
    }
}
