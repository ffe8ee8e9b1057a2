//! Runtime configurations from a pod spec: the sandbox (hostname, DNS with
//! the cluster search path, port mappings, namespaces) and each container
//! (image, command, environment, resources, logs), with upstream's CRI labels.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{Container, Pod};

use crate::runtime::{
    ContainerConfig, DnsConfig, LABEL_CONTAINER_NAME, LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID, PortMapping,
    SandboxConfig, SecurityConfig,
};

/// The identity of a pod.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PodKey {
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

impl PodKey {
    pub fn of(pod: &Pod) -> Self {
        PodKey {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            name: pod.metadata.name.clone().unwrap_or_default(),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
        }
    }

    /// `name_namespace(uid)`, as upstream names pods in messages.
    pub fn full_name(&self) -> String {
        format!("{}_{}({})", self.name, self.namespace, self.uid)
    }
}

/// The pod's log directory: `<root>/pod-logs/<ns>_<name>_<uid>`.
pub fn log_directory(root_dir: &Path, key: &PodKey) -> PathBuf {
    root_dir.join("pod-logs").join(format!("{}_{}_{}", key.namespace, key.name, key.uid))
}

/// The host file a container's termination message is written to.
pub fn termination_log_path(root_dir: &Path, uid: &str, container: &str, attempt: u32) -> PathBuf {
    root_dir.join("pods").join(uid).join("containers").join(container).join(format!("{attempt}.termination-log"))
}

/// The termination message of a finished container, as upstream: the file at
/// `terminationMessagePath` (at most 4 KiB), or with `FallbackToLogsOnError`
/// and a failure, the tail of its log (at most 2 KiB).
pub fn termination_message(
    root_dir: &Path,
    key: &PodKey,
    container: &Container,
    attempt: u32,
    exit_code: i32,
) -> String {
    let path = termination_log_path(root_dir, &key.uid, &container.name, attempt);
    let mut message =
        std::fs::read(&path).map(|b| String::from_utf8_lossy(&b[..b.len().min(4096)]).into_owned()).unwrap_or_default();
    if message.is_empty()
        && exit_code != 0
        && container.termination_message_policy.as_deref() == Some("FallbackToLogsOnError")
    {
        let log = log_directory(root_dir, key).join(&container.name).join(format!("{attempt}.log"));
        let text = std::fs::read_to_string(log).unwrap_or_default();
        // CRI log lines: `<time> <stream> <P|F> <content>`.
        let content: Vec<&str> = text.lines().filter_map(|l| l.splitn(4, ' ').nth(3)).collect();
        let tail = content[content.len().saturating_sub(80)..].join("\n");
        let start = tail.len().saturating_sub(2048);
        let start = (start..tail.len()).find(|i| tail.is_char_boundary(*i)).unwrap_or(tail.len());
        message = tail[start..].to_owned();
    }
    message
}

/// The DNS configuration a pod gets, as upstream's `GetPodDNS`.
pub fn dns_config(pod: &Pod, cluster_dns: &[IpAddr], cluster_domain: &str) -> Option<DnsConfig> {
    let spec = pod.spec.clone().unwrap_or_default();
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let host_network = spec.host_network.unwrap_or(false);
    let policy = spec.dns_policy.as_deref().unwrap_or("ClusterFirst");
    let cluster_first = match policy {
        "ClusterFirstWithHostNet" => true,
        "ClusterFirst" => !host_network,
        _ => false,
    };
    let mut dns = if policy == "None" {
        DnsConfig::default()
    } else if cluster_first && !cluster_dns.is_empty() {
        DnsConfig {
            servers: cluster_dns.iter().map(IpAddr::to_string).collect(),
            searches: vec![
                format!("{namespace}.svc.{cluster_domain}"),
                format!("svc.{cluster_domain}"),
                cluster_domain.to_owned(),
            ],
            options: vec!["ndots:5".into()],
        }
    } else if spec.dns_config.is_none() {
        // "Default" (or no cluster DNS): the runtime copies the host's resolv.conf.
        return None;
    } else {
        DnsConfig::default()
    };
    if let Some(extra) = &spec.dns_config {
        dns.servers.extend(extra.nameservers.clone().unwrap_or_default());
        dns.searches.extend(extra.searches.clone().unwrap_or_default());
        for o in extra.options.iter().flatten() {
            let Some(name) = o.name.clone() else { continue };
            let rendered = match &o.value {
                Some(v) => format!("{name}:{v}"),
                None => name.clone(),
            };
            dns.options.retain(|x| x.split(':').next() != Some(name.as_str()));
            dns.options.push(rendered);
        }
    }
    Some(dns)
}

/// The sandbox configuration of `pod` for attempt `attempt`.
pub fn sandbox_config(
    pod: &Pod,
    attempt: u32,
    root_dir: &Path,
    cluster_dns: &[IpAddr],
    cluster_domain: &str,
) -> SandboxConfig {
    let key = PodKey::of(pod);
    let spec = pod.spec.clone().unwrap_or_default();
    let mut hostname = spec.hostname.clone().unwrap_or_else(|| key.name.clone());
    hostname.truncate(63);
    let hostname = hostname.trim_end_matches(['-', '.']).to_owned();
    let mut labels: BTreeMap<String, String> = pod.metadata.labels.clone().unwrap_or_default();
    labels.insert(LABEL_POD_NAME.into(), key.name.clone());
    labels.insert(LABEL_POD_NAMESPACE.into(), key.namespace.clone());
    labels.insert(LABEL_POD_UID.into(), key.uid.clone());
    let port_mappings = spec
        .containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .filter(|p| p.host_port.unwrap_or(0) > 0)
        .map(|p| PortMapping {
            protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
            container_port: p.container_port,
            host_port: p.host_port.unwrap_or(0),
            host_ip: p.host_ip.clone().unwrap_or_default(),
        })
        .collect();
    SandboxConfig {
        name: key.name.clone(),
        namespace: key.namespace.clone(),
        uid: key.uid.clone(),
        attempt,
        hostname,
        log_directory: log_directory(root_dir, &key).display().to_string(),
        dns: dns_config(pod, cluster_dns, cluster_domain),
        port_mappings,
        labels,
        annotations: pod.metadata.annotations.clone().unwrap_or_default(),
        host_network: spec.host_network.unwrap_or(false),
        host_pid: spec.host_pid.unwrap_or(false),
        host_ipc: spec.host_ipc.unwrap_or(false),
        share_pid: spec.share_process_namespace.unwrap_or(false),
        sysctls: spec
            .security_context
            .iter()
            .flat_map(|sc| sc.sysctls.iter().flatten())
            .map(|s| (s.name.clone(), s.value.clone()))
            .collect(),
        cgroup_parent: String::new(),
    }
}

fn milli(q: Option<&k8s_openapi::apimachinery::pkg::api::resource::Quantity>) -> Option<i64> {
    q.and_then(|q| rustkube_api::quantity::Quantity::parse(&q.0).ok()).map(|q| q.milli_value())
}

/// The container configuration of `container` for restart number `attempt`.
pub fn container_config(
    pod: &Pod,
    container: &Container,
    attempt: u32,
    env: Vec<(String, String)>,
    command: Vec<String>,
    args: Vec<String>,
) -> ContainerConfig {
    let key = PodKey::of(pod);
    let resources = container.resources.clone().unwrap_or_default();
    let requests = resources.requests.unwrap_or_default();
    let limits = resources.limits.unwrap_or_default();
    // Requests default to limits, as the apiserver defaults them.
    let cpu_request = milli(requests.get("cpu")).or_else(|| milli(limits.get("cpu")));
    let cpu_shares = cpu_request.map(|m| (m * 1024 / 1000).max(2)).unwrap_or(2);
    let (cpu_quota, cpu_period) = match milli(limits.get("cpu")) {
        Some(m) if m > 0 => ((m * 100_000 / 1000).max(1000), 100_000),
        _ => (0, 0),
    };
    let memory_limit_bytes = limits
        .get("memory")
        .and_then(|q| rustkube_api::quantity::Quantity::parse(&q.0).ok())
        .map(|q| q.value())
        .unwrap_or(0);
    let labels = BTreeMap::from([
        (LABEL_POD_NAME.to_owned(), key.name.clone()),
        (LABEL_POD_NAMESPACE.to_owned(), key.namespace.clone()),
        (LABEL_POD_UID.to_owned(), key.uid.clone()),
        (LABEL_CONTAINER_NAME.to_owned(), container.name.clone()),
    ]);
    let annotations = BTreeMap::from([
        ("io.kubernetes.container.restartCount".to_owned(), attempt.to_string()),
        (
            "io.kubernetes.container.terminationMessagePath".to_owned(),
            container.termination_message_path.clone().unwrap_or_else(|| "/dev/termination-log".into()),
        ),
        (
            "io.kubernetes.pod.terminationGracePeriod".to_owned(),
            pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(30).to_string(),
        ),
    ]);
    ContainerConfig {
        name: container.name.clone(),
        attempt,
        image: container.image.clone().unwrap_or_default(),
        command,
        args,
        working_dir: container.working_dir.clone().unwrap_or_default(),
        envs: env,
        mounts: vec![],
        labels,
        annotations,
        log_path: format!("{}/{attempt}.log", container.name),
        stdin: container.stdin.unwrap_or(false),
        stdin_once: container.stdin_once.unwrap_or(false),
        tty: container.tty.unwrap_or(false),
        cpu_shares,
        cpu_quota,
        cpu_period,
        memory_limit_bytes,
        security: security_config(pod, container),
    }
}

/// The container's security settings: its own securityContext over the pod's.
pub fn security_config(pod: &Pod, container: &Container) -> SecurityConfig {
    let pod_sc = pod.spec.as_ref().and_then(|s| s.security_context.clone()).unwrap_or_default();
    let sc = container.security_context.clone().unwrap_or_default();
    let mut groups: Vec<i64> = pod_sc.supplemental_groups.clone().unwrap_or_default();
    if let Some(fs_group) = pod_sc.fs_group {
        groups.push(fs_group);
    }
    let caps = sc.capabilities.clone().unwrap_or_default();
    SecurityConfig {
        run_as_user: sc.run_as_user.or(pod_sc.run_as_user),
        run_as_group: sc.run_as_group.or(pod_sc.run_as_group),
        supplemental_groups: groups,
        privileged: sc.privileged.unwrap_or(false),
        readonly_rootfs: sc.read_only_root_filesystem.unwrap_or(false),
        no_new_privs: sc.allow_privilege_escalation == Some(false),
        add_capabilities: caps.add.unwrap_or_default(),
        drop_capabilities: caps.drop.unwrap_or_default(),
    }
}

/// The pull policy in effect: as given, else `Always` for `:latest` or untagged images.
pub fn pull_policy(container: &Container) -> String {
    if let Some(p) = container.image_pull_policy.as_deref().filter(|p| !p.is_empty()) {
        return p.to_owned();
    }
    let image = container.image.as_deref().unwrap_or("");
    let name = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') {
        return "IfNotPresent".into();
    }
    match name.split_once(':') {
        Some((_, "latest")) | None => "Always".into(),
        Some(_) => "IfNotPresent".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(json: serde_json::Value) -> Pod {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn cluster_first_dns_uses_the_cluster_search_path() {
        let p = pod(serde_json::json!({"metadata": {"name": "p", "namespace": "ns1"}, "spec": {"containers": []}}));
        let dns = dns_config(&p, &["10.96.0.10".parse().unwrap()], "cluster.local").unwrap();
        assert_eq!(dns.servers, vec!["10.96.0.10"]);
        assert_eq!(dns.searches, vec!["ns1.svc.cluster.local", "svc.cluster.local", "cluster.local"]);
        assert_eq!(dns.options, vec!["ndots:5"]);
        assert_eq!(dns_config(&p, &[], "cluster.local"), None, "no cluster DNS: the host's resolv.conf");
    }

    #[test]
    fn container_resources_and_labels() {
        let p =
            pod(serde_json::json!({"metadata": {"name": "p", "namespace": "ns", "uid": "u"}, "spec": {"containers": [
                {"name": "c", "image": "busybox:1", "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}}}
            ]}}));
        let c = &p.spec.as_ref().unwrap().containers[0];
        let cfg = container_config(&p, c, 2, vec![], vec![], vec![]);
        assert_eq!(cfg.cpu_shares, 512);
        assert_eq!((cfg.cpu_quota, cfg.cpu_period), (50_000, 100_000));
        assert_eq!(cfg.memory_limit_bytes, 64 << 20);
        assert_eq!(cfg.labels[LABEL_POD_UID], "u");
        assert_eq!(cfg.log_path, "c/2.log");
        assert_eq!(pull_policy(c), "IfNotPresent");
        let latest = Container { image: Some("busybox".into()), ..Default::default() };
        assert_eq!(pull_policy(&latest), "Always");
    }
}
