//! The container runtime as the kubelet sees it: a narrow side-effect trait
//! shaped after CRI v1 (sandboxes, images, containers), implemented by the
//! CRI client ([`cri`]) and an in-memory fake ([`fake`]).

pub mod cri;
pub mod fake;

use std::collections::BTreeMap;
use std::sync::Arc;

/// Labels the kubelet puts on sandboxes and containers, as upstream.
pub const LABEL_POD_NAME: &str = "io.kubernetes.pod.name";
pub const LABEL_POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
pub const LABEL_POD_UID: &str = "io.kubernetes.pod.uid";
pub const LABEL_CONTAINER_NAME: &str = "io.kubernetes.container.name";

/// Errors of a runtime call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("connecting to the container runtime at {endpoint}: {reason}")]
    Connect { endpoint: String, reason: String },
    #[error("{op}: {message}")]
    Call { op: &'static str, message: String },
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
    #[error("pulling image {image:?}: {message}")]
    PullFailed { image: String, message: String },
    #[error("{op} is not supported by the {runtime} runtime")]
    Unsupported { op: &'static str, runtime: &'static str },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The runtime behind the kubelet.
pub type SharedRuntime = Arc<dyn Runtime>;

/// What the kubelet asks of a container runtime.
#[async_trait::async_trait]
pub trait Runtime: Send + Sync + std::fmt::Debug {
    /// `(runtime name, runtime version)`, e.g. `("containerd", "1.6.20")`.
    async fn version(&self) -> Result<(String, String)>;

    async fn run_pod_sandbox(&self, config: &SandboxConfig) -> Result<String>;
    async fn stop_pod_sandbox(&self, id: &str) -> Result<()>;
    async fn remove_pod_sandbox(&self, id: &str) -> Result<()>;
    async fn pod_sandbox_status(&self, id: &str) -> Result<SandboxStatus>;
    async fn list_pod_sandboxes(&self) -> Result<Vec<SandboxStatus>>;

    /// The image's id when present locally.
    async fn image_status(&self, image: &str) -> Result<Option<String>>;
    /// Pulls an image; returns its id (the `imageID` of container statuses).
    async fn pull_image(&self, image: &str) -> Result<String>;

    async fn create_container(
        &self,
        sandbox_id: &str,
        config: &ContainerConfig,
        sandbox: &SandboxConfig,
    ) -> Result<String>;
    async fn start_container(&self, id: &str) -> Result<()>;
    /// Sends SIGTERM (or the image's stop signal), then SIGKILL after `timeout_secs`.
    async fn stop_container(&self, id: &str, timeout_secs: i64) -> Result<()>;
    async fn remove_container(&self, id: &str) -> Result<()>;
    /// Full status; `sandbox_id` may be empty (the list carries it).
    async fn container_status(&self, id: &str) -> Result<ContainerStatus>;
    /// Every container with state, ids and labels; exit codes and times may be missing.
    async fn list_containers(&self) -> Result<Vec<ContainerStatus>>;

    /// Runs a command in a running container; `(exit code, stdout+stderr)`.
    async fn exec_sync(&self, id: &str, cmd: &[String], timeout_secs: i64) -> Result<(i32, Vec<u8>)>;

    /// CRI `Exec`: the URL of the runtime's streaming server that runs `cmd`
    /// in the container once a client upgrades a request to it.
    async fn exec(&self, id: &str, cmd: &[String], streams: Streams) -> Result<String>;
    /// CRI `Attach`: the streaming URL attaching to the container's main process.
    async fn attach(&self, id: &str, streams: Streams) -> Result<String>;
    /// CRI `PortForward`: the streaming URL forwarding to ports of the sandbox's network namespace.
    async fn port_forward(&self, sandbox_id: &str, ports: &[i32]) -> Result<String>;

    /// CRI `ListContainerStats`: resource usage of every container.
    async fn container_stats(&self) -> Result<Vec<ContainerStats>>;

    /// CRI `ListImages`: every image the runtime holds.
    async fn list_images(&self) -> Result<Vec<Image>>;
    /// CRI `RemoveImage` by id or reference; removing an image that is gone is not an error.
    async fn remove_image(&self, image: &str) -> Result<()>;
    /// CRI `ImageFsInfo`: the filesystem holding the images, with its size and free space.
    async fn image_fs_info(&self) -> Result<ImageFsInfo>;
    /// References of the images pod sandboxes are made from (the runtime's
    /// `pause` image), which image garbage collection never removes. CRI has
    /// no call for it; runtimes that say it (containerd in verbose status) do.
    async fn sandbox_images(&self) -> Result<Vec<String>>;
}

/// An image the runtime holds (CRI `Image`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Image {
    /// `sha256:…`, the `imageID` of container statuses.
    pub id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub size_bytes: u64,
    /// The runtime asks that it never be garbage collected.
    pub pinned: bool,
}

impl Image {
    /// Whether `reference` (an id, a tag or a digest reference) names this image.
    pub fn is_named(&self, reference: &str) -> bool {
        !reference.is_empty()
            && (self.id == reference
                || self.repo_tags.iter().any(|t| t == reference)
                || self.repo_digests.iter().any(|d| d == reference))
    }
}

/// The image filesystem: CRI `ImageFsInfo` gives its mountpoint and the bytes
/// images use; its capacity and free space are those of the filesystem
/// mounted there (statvfs), as upstream's stats provider reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFsInfo {
    pub mountpoint: std::path::PathBuf,
    pub used_bytes: u64,
    pub capacity_bytes: u64,
    pub available_bytes: u64,
}

/// What a container uses now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerStats {
    pub id: String,
    pub name: String,
    pub pod_uid: String,
    pub memory_working_set_bytes: u64,
    /// Cumulative CPU time in nanoseconds.
    pub cpu_usage_core_nanos: u64,
    /// CPU use averaged over the runtime's last sampling window, in nanocores.
    pub cpu_usage_nano_cores: Option<u64>,
    /// Bytes of the container's writable layer.
    pub writable_layer_bytes: u64,
}

/// Which standard streams an exec or attach session carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Streams {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

/// DNS settings of a sandbox.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DnsConfig {
    pub servers: Vec<String>,
    pub searches: Vec<String>,
    pub options: Vec<String>,
}

/// A port published on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct PortMapping {
    pub protocol: String,
    pub container_port: i32,
    pub host_port: i32,
    pub host_ip: String,
}

/// What a pod sandbox is made from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SandboxConfig {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub attempt: u32,
    pub hostname: String,
    pub log_directory: String,
    pub dns: Option<DnsConfig>,
    pub port_mappings: Vec<PortMapping>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub host_network: bool,
    pub host_pid: bool,
    pub host_ipc: bool,
    /// `shareProcessNamespace`: one PID namespace for the whole pod.
    pub share_pid: bool,
    /// Namespaced sysctls from the pod's securityContext.
    pub sysctls: BTreeMap<String, String>,
    pub cgroup_parent: String,
}

/// The state of a sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxState {
    Ready,
    NotReady,
}

/// What the runtime knows of a sandbox.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxStatus {
    pub id: String,
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub attempt: u32,
    pub state: SandboxState,
    /// Nanoseconds since the epoch.
    pub created_at: i64,
    pub ips: Vec<String>,
    pub labels: BTreeMap<String, String>,
}

/// A bind mount into a container.
#[derive(Debug, Clone, PartialEq)]
pub struct Mount {
    pub container_path: String,
    pub host_path: String,
    pub readonly: bool,
}

/// A container's Linux security settings (from the pod's and the container's securityContext).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecurityConfig {
    pub run_as_user: Option<i64>,
    pub run_as_group: Option<i64>,
    pub supplemental_groups: Vec<i64>,
    pub privileged: bool,
    pub readonly_rootfs: bool,
    pub no_new_privs: bool,
    pub add_capabilities: Vec<String>,
    pub drop_capabilities: Vec<String>,
}

/// What a container is made from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerConfig {
    pub name: String,
    pub attempt: u32,
    pub image: String,
    pub command: Vec<String>,
    pub args: Vec<String>,
    pub working_dir: String,
    pub envs: Vec<(String, String)>,
    pub mounts: Vec<Mount>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub log_path: String,
    pub stdin: bool,
    /// Close the container's stdin when the first attached client detaches.
    pub stdin_once: bool,
    pub tty: bool,
    pub cpu_shares: i64,
    pub cpu_quota: i64,
    pub cpu_period: i64,
    pub memory_limit_bytes: i64,
    pub security: SecurityConfig,
}

/// The state of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerState {
    Created,
    Running,
    Exited,
    Unknown,
}

/// What the runtime knows of a container.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerStatus {
    pub id: String,
    pub sandbox_id: String,
    pub name: String,
    pub attempt: u32,
    pub state: ContainerState,
    /// Nanoseconds since the epoch (0 when not yet).
    pub created_at: i64,
    pub started_at: i64,
    pub finished_at: i64,
    pub exit_code: i32,
    pub reason: String,
    pub message: String,
    pub image: String,
    pub image_ref: String,
    pub labels: BTreeMap<String, String>,
}

impl ContainerStatus {
    /// The pod UID from the container's labels.
    pub fn pod_uid(&self) -> Option<&str> {
        self.labels.get(LABEL_POD_UID).map(String::as_str)
    }
}

/// Nanoseconds since the epoch, now.
pub fn now_nanos() -> i64 {
    i64::try_from(jiff::Timestamp::now().as_nanosecond()).unwrap_or(i64::MAX)
}

/// Builds the runtime an endpoint names.
pub async fn connect(endpoint: &crate::options::RuntimeEndpoint) -> Result<SharedRuntime> {
    match endpoint {
        crate::options::RuntimeEndpoint::Unix(path) => Ok(Arc::new(cri::CriRuntime::connect(path).await?)),
        crate::options::RuntimeEndpoint::Fake(config) => Ok(Arc::new(fake::FakeRuntime::new(config.clone()))),
    }
}
