//! The kubelet's command-line flags, with upstream's names and defaults, and
//! the [`Config`] they resolve to.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::Taint;
use rustkube_api::quantity::Quantity;
use rustkube_component_base::options::LoggingOptions;

/// Errors turning flags into a configuration.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid --container-runtime-endpoint {endpoint:?}: {reason}")]
    RuntimeEndpoint { endpoint: String, reason: String },
    #[error("invalid --register-with-taints {taint:?}: {reason}")]
    Taint { taint: String, reason: String },
    #[error("invalid --node-labels {label:?}: expected key=value")]
    NodeLabel { label: String },
    #[error("invalid --{flag} {value:?}: {reason}")]
    Reserved { flag: &'static str, value: String, reason: String },
    #[error("invalid serving flags: {0}")]
    Tls(String),
    #[error("invalid --eviction-hard {value:?}: {reason}")]
    EvictionHard { value: String, reason: String },
    #[error("cannot determine the node name: {0}")]
    Hostname(String),
    #[error("failed to initialize image manager: {0}")]
    ImageGcPolicy(#[from] crate::image_gc::Error),
}

/// `--authentication-token-webhook-cache-ttl`'s default.
pub const DEFAULT_TOKEN_WEBHOOK_CACHE_TTL: Duration = Duration::from_secs(120);

/// `kubelet` flags.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "kubelet", about = "The node agent: registers the Node and runs the pods bound to it")]
pub struct Options {
    /// Kubeconfig of the API server (required to register and run pods).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,

    /// Kubeconfig used to obtain a client certificate when --kubeconfig does not exist yet.
    #[arg(long)]
    pub bootstrap_kubeconfig: Option<PathBuf>,

    /// The node name to use instead of the hostname.
    #[arg(long)]
    pub hostname_override: Option<String>,

    /// The IP address of the node (InternalIP, and the pods' hostIP).
    #[arg(long)]
    pub node_ip: Option<IpAddr>,

    /// The container runtime's endpoint: `unix:///run/containerd/containerd.sock`, or
    /// `fake://[?start-latency=DUR&exit-code=N&run-for=DUR&missing-images=a,b]` for an in-memory runtime.
    #[arg(long, default_value = "unix:///run/containerd/containerd.sock")]
    pub container_runtime_endpoint: String,

    /// Directory for the kubelet's files (pods, volumes, plugins).
    #[arg(long, default_value = "/var/lib/kubelet")]
    pub root_dir: PathBuf,

    /// Directory of static pod manifests.
    #[arg(long)]
    pub pod_manifest_path: Option<PathBuf>,

    /// Comma-separated cluster DNS server addresses given to pods.
    #[arg(long, value_delimiter = ',')]
    pub cluster_dns: Vec<IpAddr>,

    /// The cluster's DNS domain; pods search it.
    #[arg(long, default_value = "cluster.local")]
    pub cluster_domain: String,

    /// Taints to register the node with: `key=value:Effect` or `key:Effect`, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub register_with_taints: Vec<String>,

    /// Labels to add when registering the node: `key=value`, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub node_labels: Vec<String>,

    /// Resources reserved for Kubernetes system daemons: `cpu=100m,memory=100Mi,…`.
    #[arg(long, default_value = "")]
    pub kube_reserved: String,

    /// Resources reserved for OS system daemons: `cpu=100m,memory=100Mi,…`.
    #[arg(long, default_value = "")]
    pub system_reserved: String,

    /// The most pods this node runs.
    #[arg(long, default_value_t = 110)]
    pub max_pods: u32,

    /// The address of the kubelet API.
    #[arg(long, default_value = "0.0.0.0")]
    pub address: IpAddr,

    /// The port of the kubelet API (HTTPS; 0 picks a free one, logged at start).
    #[arg(long, default_value_t = 10250)]
    pub port: u16,

    /// The address of the plain-HTTP healthz endpoint.
    #[arg(long, default_value = "127.0.0.1")]
    pub healthz_bind_address: IpAddr,

    /// CA bundle whose client certificates authenticate requests to the kubelet API.
    #[arg(long)]
    pub client_ca_file: Option<PathBuf>,

    /// Allow requests to the kubelet API without a client certificate.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub anonymous_auth: bool,

    /// Authenticate bearer tokens to the kubelet API with TokenReviews to the apiserver.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub authentication_token_webhook: bool,

    /// How long TokenReview answers are cached.
    #[arg(long, default_value = "2m", value_parser = rustkube_component_base::duration::parse)]
    pub authentication_token_webhook_cache_ttl: Duration,

    /// How requests to the kubelet API are authorized: `AlwaysAllow`, or `Webhook`
    /// (a SubjectAccessReview to the apiserver per request).
    #[arg(long, value_enum, default_value_t = AuthorizationMode::AlwaysAllow)]
    pub authorization_mode: AuthorizationMode,

    /// Serving certificate of the kubelet API; a self-signed one under `<root-dir>/pki` when absent.
    #[arg(long)]
    pub tls_cert_file: Option<PathBuf>,

    /// Key of `--tls-cert-file`.
    #[arg(long)]
    pub tls_private_key_file: Option<PathBuf>,

    /// The port of the plain-HTTP healthz endpoint (0 picks a free one; negative disables).
    #[arg(long, default_value_t = 10248, allow_negative_numbers = true)]
    pub healthz_port: i32,

    /// How often the node status is computed (and posted when changed).
    #[arg(long, default_value = "10s", value_parser = rustkube_component_base::duration::parse)]
    pub node_status_update_frequency: Duration,

    /// How often the node status is posted even when unchanged.
    #[arg(long, default_value = "5m", value_parser = rustkube_component_base::duration::parse)]
    pub node_status_report_frequency: Duration,

    /// The node Lease's duration in seconds; it is renewed every quarter of it.
    #[arg(long, default_value_t = 40)]
    pub node_lease_duration_seconds: i32,

    /// Hard eviction thresholds: `signal<quantity` or `signal<percent%`, comma-separated
    /// (memory.available, nodefs.available, nodefs.inodesFree, imagefs.available,
    /// imagefs.inodesFree, pid.available); empty disables hard eviction. Default with a
    /// real runtime: upstream's `memory.available<100Mi,nodefs.available<10%,imagefs.available<15%,
    /// nodefs.inodesFree<5%`; with `fake://` none (a simulated node uses none of this machine).
    #[arg(long)]
    pub eviction_hard: Option<String>,

    /// Put pods under QoS cgroups (`kubepods`, `kubepods/burstable`, `kubepods/besteffort`).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub cgroups_per_qos: bool,

    /// The root of the pods' cgroups.
    #[arg(long, default_value = "/")]
    pub cgroup_root: String,

    /// The percent of the image filesystem's usage at or above which image garbage
    /// collection always runs; 100 disables it.
    #[arg(long, default_value_t = i32::from(crate::image_gc::DEFAULT_HIGH_THRESHOLD_PERCENT), allow_negative_numbers = true)]
    pub image_gc_high_threshold: i32,

    /// The percent of the image filesystem's usage image garbage collection frees down to.
    #[arg(long, default_value_t = i32::from(crate::image_gc::DEFAULT_LOW_THRESHOLD_PERCENT), allow_negative_numbers = true)]
    pub image_gc_low_threshold: i32,

    /// The minimum age of an unused image before it is garbage collected.
    #[arg(long, default_value = "2m", value_parser = rustkube_component_base::duration::parse)]
    pub minimum_image_ttl_duration: Duration,

    #[command(flatten)]
    pub logging: LoggingOptions,
}

/// `--authorization-mode`, upstream's kubelet values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthorizationMode {
    /// Every request that passes authentication is allowed.
    #[default]
    #[value(name = "AlwaysAllow")]
    AlwaysAllow,
    /// Each request is authorized by a SubjectAccessReview to the apiserver.
    #[value(name = "Webhook")]
    Webhook,
}

/// Where containers run.
#[derive(Debug, Clone, PartialEq)]
pub enum RuntimeEndpoint {
    /// CRI v1 over a unix socket.
    Unix(PathBuf),
    /// The in-memory runtime, with its knobs.
    Fake(crate::runtime::fake::FakeConfig),
}

/// The resolved configuration of one kubelet.
#[derive(Debug, Clone)]
pub struct Config {
    pub kubeconfig: Option<PathBuf>,
    pub node_name: String,
    pub node_ip: Option<IpAddr>,
    pub runtime: RuntimeEndpoint,
    pub root_dir: PathBuf,
    pub pod_manifest_path: Option<PathBuf>,
    pub cluster_dns: Vec<IpAddr>,
    pub cluster_domain: String,
    pub taints: Vec<Taint>,
    pub node_labels: BTreeMap<String, String>,
    pub kube_reserved: BTreeMap<String, Quantity>,
    pub system_reserved: BTreeMap<String, Quantity>,
    pub max_pods: u32,
    pub address: IpAddr,
    pub port: u16,
    pub client_ca_file: Option<PathBuf>,
    pub anonymous_auth: bool,
    /// `--authentication-token-webhook`.
    pub authentication_token_webhook: bool,
    /// `--authentication-token-webhook-cache-ttl`.
    pub authentication_token_webhook_cache_ttl: Duration,
    pub authorization_mode: AuthorizationMode,
    pub tls_cert_file: Option<PathBuf>,
    pub tls_private_key_file: Option<PathBuf>,
    pub healthz_address: Option<(IpAddr, u16)>,
    pub node_status_update_frequency: Duration,
    pub node_status_report_frequency: Duration,
    pub node_lease_duration_seconds: i32,
    pub eviction_hard: Vec<crate::eviction::Threshold>,
    /// `--cgroup-root` when `--cgroups-per-qos`; `None` leaves the cgroup parent to the runtime.
    pub cgroup_root: Option<String>,
    /// `--image-gc-high-threshold`, `--image-gc-low-threshold`, `--minimum-image-ttl-duration`.
    pub image_gc: crate::image_gc::Policy,
    /// How often image garbage collection runs (upstream's fixed `ImageGCPeriod`; tests shorten it).
    pub image_gc_period: Duration,
}

impl Options {
    /// Resolves the flags; fails with one clear message on a bad value.
    pub fn config(&self) -> Result<Config, Error> {
        let node_name = match &self.hostname_override {
            Some(name) if !name.trim().is_empty() => name.trim().to_lowercase(),
            _ => hostname()?.to_lowercase(),
        };
        let taints = self
            .register_with_taints
            .iter()
            .filter(|t| !t.is_empty())
            .map(|t| parse_taint(t))
            .collect::<Result<_, _>>()?;
        let mut node_labels = BTreeMap::new();
        for label in self.node_labels.iter().filter(|l| !l.is_empty()) {
            let (k, v) = label.split_once('=').ok_or_else(|| Error::NodeLabel { label: label.clone() })?;
            if k.is_empty() {
                return Err(Error::NodeLabel { label: label.clone() });
            }
            node_labels.insert(k.to_owned(), v.to_owned());
        }
        if self.tls_cert_file.is_some() != self.tls_private_key_file.is_some() {
            return Err(Error::Tls("--tls-cert-file and --tls-private-key-file must be given together".into()));
        }
        if !self.anonymous_auth && self.client_ca_file.is_none() && !self.authentication_token_webhook {
            return Err(Error::Tls(
                "--anonymous-auth=false needs --client-ca-file or --authentication-token-webhook".into(),
            ));
        }
        Ok(Config {
            kubeconfig: self.kubeconfig.clone().or_else(|| self.bootstrap_kubeconfig.clone()),
            node_name,
            node_ip: self.node_ip,
            runtime: parse_endpoint(&self.container_runtime_endpoint)?,
            root_dir: self.root_dir.clone(),
            pod_manifest_path: self.pod_manifest_path.clone(),
            cluster_dns: self.cluster_dns.clone(),
            cluster_domain: self.cluster_domain.clone(),
            taints,
            node_labels,
            kube_reserved: parse_reserved("kube-reserved", &self.kube_reserved)?,
            system_reserved: parse_reserved("system-reserved", &self.system_reserved)?,
            max_pods: self.max_pods,
            address: self.address,
            port: self.port,
            client_ca_file: self.client_ca_file.clone(),
            anonymous_auth: self.anonymous_auth,
            authentication_token_webhook: self.authentication_token_webhook,
            authentication_token_webhook_cache_ttl: self.authentication_token_webhook_cache_ttl,
            authorization_mode: self.authorization_mode,
            tls_cert_file: self.tls_cert_file.clone(),
            tls_private_key_file: self.tls_private_key_file.clone(),
            healthz_address: u16::try_from(self.healthz_port).ok().map(|p| (self.healthz_bind_address, p)),
            node_status_update_frequency: self.node_status_update_frequency,
            node_status_report_frequency: self.node_status_report_frequency,
            node_lease_duration_seconds: self.node_lease_duration_seconds.max(1),
            eviction_hard: self.eviction_thresholds()?,
            cgroup_root: self.cgroups_per_qos.then(|| self.cgroup_root.clone()),
            image_gc: crate::image_gc::Policy::new(
                self.image_gc_high_threshold,
                self.image_gc_low_threshold,
                self.minimum_image_ttl_duration,
            )?,
            image_gc_period: crate::image_gc::PERIOD,
        })
    }
}

impl Options {
    fn eviction_thresholds(&self) -> Result<Vec<crate::eviction::Threshold>, Error> {
        let value = match (&self.eviction_hard, self.container_runtime_endpoint.starts_with("fake://")) {
            (Some(v), _) => v.as_str(),
            (None, true) => "",
            (None, false) => crate::eviction::DEFAULT_EVICTION_HARD,
        };
        crate::eviction::parse(value).map_err(|reason| Error::EvictionHard { value: value.to_owned(), reason })
    }
}

impl Config {
    /// A configuration for tests and embedding: fake runtime, no servers, no
    /// eviction thresholds (a simulated node uses none of this machine).
    pub fn fake(node_name: &str, kubeconfig: Option<PathBuf>, root_dir: PathBuf) -> Self {
        Config {
            kubeconfig,
            node_name: node_name.to_owned(),
            node_ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            runtime: RuntimeEndpoint::Fake(Default::default()),
            root_dir,
            pod_manifest_path: None,
            cluster_dns: vec![],
            cluster_domain: "cluster.local".into(),
            taints: vec![],
            node_labels: BTreeMap::new(),
            kube_reserved: BTreeMap::new(),
            system_reserved: BTreeMap::new(),
            max_pods: 110,
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            client_ca_file: None,
            anonymous_auth: true,
            authentication_token_webhook: false,
            authentication_token_webhook_cache_ttl: DEFAULT_TOKEN_WEBHOOK_CACHE_TTL,
            authorization_mode: AuthorizationMode::AlwaysAllow,
            tls_cert_file: None,
            tls_private_key_file: None,
            healthz_address: None,
            node_status_update_frequency: Duration::from_secs(10),
            node_status_report_frequency: Duration::from_secs(300),
            node_lease_duration_seconds: 40,
            eviction_hard: vec![],
            cgroup_root: None,
            image_gc: crate::image_gc::Policy::default(),
            image_gc_period: crate::image_gc::PERIOD,
        }
    }
}

fn hostname() -> Result<String, Error> {
    let name = rustix::system::uname().nodename().to_string_lossy().trim().to_owned();
    if name.is_empty() {
        Err(Error::Hostname("the hostname is empty; set --hostname-override".into()))
    } else {
        Ok(name)
    }
}

/// `unix:///path` or `fake://?knobs`.
pub fn parse_endpoint(endpoint: &str) -> Result<RuntimeEndpoint, Error> {
    let bad = |reason: &str| Error::RuntimeEndpoint { endpoint: endpoint.to_owned(), reason: reason.to_owned() };
    if let Some(path) = endpoint.strip_prefix("unix://") {
        if !path.starts_with('/') {
            return Err(bad("the socket path must be absolute (unix:///path)"));
        }
        return Ok(RuntimeEndpoint::Unix(PathBuf::from(path)));
    }
    if let Some(rest) = endpoint.strip_prefix("fake://") {
        let query = rest.trim_start_matches('/').trim_start_matches('?');
        return crate::runtime::fake::FakeConfig::parse(query).map(RuntimeEndpoint::Fake).map_err(|e| bad(&e));
    }
    Err(bad("only unix:// and fake:// endpoints are supported"))
}

/// `key=value:Effect` or `key:Effect`.
pub fn parse_taint(s: &str) -> Result<Taint, Error> {
    let bad = |reason: &str| Error::Taint { taint: s.to_owned(), reason: reason.to_owned() };
    let (kv, effect) = s.rsplit_once(':').ok_or_else(|| bad("expected key=value:Effect"))?;
    if !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect) {
        return Err(bad("effect must be NoSchedule, PreferNoSchedule or NoExecute"));
    }
    let (key, value) = match kv.split_once('=') {
        Some((k, v)) => (k, Some(v.to_owned())),
        None => (kv, None),
    };
    if key.is_empty() {
        return Err(bad("the key is empty"));
    }
    Ok(Taint { key: key.to_owned(), value, effect: effect.to_owned(), time_added: None })
}

/// `cpu=100m,memory=1Gi,ephemeral-storage=1Gi,pid=100`.
pub fn parse_reserved(flag: &'static str, s: &str) -> Result<BTreeMap<String, Quantity>, Error> {
    let mut out = BTreeMap::new();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let bad = |reason: String| Error::Reserved { flag, value: item.to_owned(), reason };
        let (k, v) = item.split_once('=').ok_or_else(|| bad("expected name=quantity".into()))?;
        if !["cpu", "memory", "ephemeral-storage", "pid"].contains(&k) {
            return Err(bad(format!("unknown resource {k:?}")));
        }
        let q = Quantity::parse(v).map_err(|e| bad(e.to_string()))?;
        if q.sign() < 0 {
            return Err(bad("must not be negative".into()));
        }
        out.insert(k.to_owned(), q);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn delegated_auth_flags_have_upstream_names_and_defaults() {
        let o = Options::try_parse_from(["kubelet", "--hostname-override=n"]).unwrap();
        let c = o.config().unwrap();
        assert!(!c.authentication_token_webhook, "the token webhook is off by default");
        assert_eq!(c.authentication_token_webhook_cache_ttl, Duration::from_secs(120));
        assert_eq!(c.authorization_mode, AuthorizationMode::AlwaysAllow);
        let o = Options::try_parse_from([
            "kubelet",
            "--hostname-override=n",
            "--authentication-token-webhook",
            "--authentication-token-webhook-cache-ttl=10s",
            "--authorization-mode=Webhook",
            "--anonymous-auth=false",
        ])
        .unwrap();
        let c = o.config().expect("the token webhook authenticates without a client CA");
        assert!(c.authentication_token_webhook);
        assert_eq!(c.authentication_token_webhook_cache_ttl, Duration::from_secs(10));
        assert_eq!(c.authorization_mode, AuthorizationMode::Webhook);
        assert!(Options::try_parse_from(["kubelet", "--authorization-mode=RBAC"]).is_err(), "only upstream's modes");
        let none = Options::try_parse_from(["kubelet", "--hostname-override=n", "--anonymous-auth=false"]).unwrap();
        assert!(none.config().is_err(), "without anonymous auth some authenticator is needed");
    }

    #[test]
    fn upstream_defaults() {
        let o = Options::try_parse_from(["kubelet", "--hostname-override=Node-A"]).unwrap();
        assert_eq!(o.port, 10250);
        assert_eq!(o.healthz_port, 10248);
        assert_eq!(o.max_pods, 110);
        let c = o.config().unwrap();
        assert_eq!(c.node_name, "node-a", "node names are lowercased as upstream");
        assert_eq!(c.runtime, RuntimeEndpoint::Unix("/run/containerd/containerd.sock".into()));
        assert_eq!(c.cluster_domain, "cluster.local");
        assert_eq!(c.eviction_hard, crate::eviction::parse(crate::eviction::DEFAULT_EVICTION_HARD).unwrap());
        let fake =
            Options::try_parse_from(["kubelet", "--hostname-override=n", "--container-runtime-endpoint=fake://"]);
        assert!(fake.unwrap().config().unwrap().eviction_hard.is_empty(), "a simulated node has no thresholds");
    }

    #[test]
    fn taints_labels_and_reserved_parse() {
        let o = Options::try_parse_from([
            "kubelet",
            "--hostname-override=n",
            "--register-with-taints=a=b:NoSchedule,c:NoExecute",
            "--node-labels=node-role.kubernetes.io/worker=,zone=z1",
            "--kube-reserved=cpu=100m,memory=100Mi",
            "--cluster-dns=10.96.0.10",
            "--container-runtime-endpoint=fake://?exit-code=1",
        ])
        .unwrap();
        let c = o.config().unwrap();
        assert_eq!(c.taints.len(), 2);
        assert_eq!(c.taints[0].value.as_deref(), Some("b"));
        assert_eq!(c.taints[1].value, None);
        assert_eq!(c.node_labels["node-role.kubernetes.io/worker"], "");
        assert_eq!(c.kube_reserved["cpu"].milli_value(), 100);
        assert!(matches!(c.runtime, RuntimeEndpoint::Fake(ref f) if f.exit_code == Some(1)));
    }

    #[test]
    fn bad_values_are_rejected_with_the_flag_named() {
        let bad = |args: &[&str]| {
            let mut all = vec!["kubelet", "--hostname-override=n"];
            all.extend_from_slice(args);
            Options::try_parse_from(all).unwrap().config().unwrap_err().to_string()
        };
        assert!(bad(&["--register-with-taints=a=b:Sometimes"]).contains("--register-with-taints"));
        assert!(bad(&["--container-runtime-endpoint=tcp://x"]).contains("--container-runtime-endpoint"));
        assert!(bad(&["--kube-reserved=gpu=1"]).contains("--kube-reserved"));
        assert!(bad(&["--node-labels=novalue"]).contains("--node-labels"));
        assert!(bad(&["--eviction-hard=memory.available>1Gi"]).contains("--eviction-hard"));
    }

    #[test]
    fn image_gc_flags_default_as_upstream_and_bad_thresholds_stop_the_kubelet() {
        let c = Options::try_parse_from(["kubelet", "--hostname-override=n"]).unwrap().config().unwrap();
        assert_eq!(c.image_gc, crate::image_gc::Policy::default());
        assert_eq!(
            (c.image_gc.high_threshold_percent, c.image_gc.low_threshold_percent, c.image_gc.min_age),
            (85, 80, Duration::from_secs(120))
        );
        assert_eq!(c.image_gc_period, Duration::from_secs(300), "upstream's ImageGCPeriod");
        let c = Options::try_parse_from([
            "kubelet",
            "--hostname-override=n",
            "--image-gc-high-threshold=90",
            "--image-gc-low-threshold=70",
            "--minimum-image-ttl-duration=1h",
        ])
        .unwrap()
        .config()
        .unwrap();
        assert_eq!(
            (c.image_gc.high_threshold_percent, c.image_gc.low_threshold_percent, c.image_gc.min_age),
            (90, 70, Duration::from_secs(3600))
        );
        let bad = |args: &[&str]| {
            let mut all = vec!["kubelet", "--hostname-override=n"];
            all.extend_from_slice(args);
            Options::try_parse_from(all).unwrap().config().unwrap_err().to_string()
        };
        assert_eq!(
            bad(&["--image-gc-high-threshold=101"]),
            "failed to initialize image manager: invalid HighThresholdPercent 101, must be in range [0-100]"
        );
        assert_eq!(
            bad(&["--image-gc-low-threshold=-1"]),
            "failed to initialize image manager: invalid LowThresholdPercent -1, must be in range [0-100]"
        );
        assert_eq!(
            bad(&["--image-gc-high-threshold=70", "--image-gc-low-threshold=75"]),
            "failed to initialize image manager: LowThresholdPercent 75 can not be higher than HighThresholdPercent 70"
        );
    }
}
