//! An in-memory runtime (`--container-runtime-endpoint=fake://`): sandboxes get
//! fake IPs and containers "run" until stopped, so one machine can host many
//! simulated nodes, as kwok does. Knobs in the endpoint's query make it slow
//! (`start-latency=DUR`), make containers exit (`exit-code=N`, after
//! `run-for=DUR`), or make images unpullable (`missing-images=a,b`).
//! Images live in an in-memory store on a simulated image filesystem
//! ([`FakeRuntime::add_image`], [`FakeRuntime::set_image_fs`]) so image
//! garbage collection can be driven in tests.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{
    ContainerConfig, ContainerState, ContainerStats, ContainerStatus, Error, Image, ImageFsInfo, Result, Runtime,
    SandboxConfig, SandboxState, SandboxStatus, Streams, now_nanos,
};

/// The image the fake says its sandboxes are made from.
pub const SANDBOX_IMAGE: &str = "registry.k8s.io/pause:3.10";
/// Where the fake says its images are stored.
pub const IMAGE_FS_MOUNTPOINT: &str = "/var/lib/fake-runtime/images";
/// The simulated image filesystem's size until [`FakeRuntime::set_image_fs`].
pub const DEFAULT_IMAGE_FS_CAPACITY: u64 = 100 << 30;

/// The fake runtime's knobs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FakeConfig {
    /// How long RunPodSandbox and StartContainer take.
    pub start_latency: Duration,
    /// When set, containers exit with this code `run_for` after they start.
    pub exit_code: Option<i32>,
    pub run_for: Duration,
    /// Images whose pull fails as a registry's "not found" does.
    pub missing_images: Vec<String>,
    /// Where pod IPs come from (`pod-cidr=10.244.128.0/24`), so simulated
    /// nodes sharing a cluster with real ones never hand out the same IP;
    /// without it, 10.244.0.0/13.
    pub pod_cidr: Option<(std::net::Ipv4Addr, u8)>,
}

/// `a.b.c.d/n` with n between 8 and 30.
fn parse_cidr(v: &str) -> Result<(std::net::Ipv4Addr, u8), String> {
    let bad = || format!("pod-cidr {v:?} is not an IPv4 CIDR with a prefix of 8 to 30 bits");
    let (addr, bits) = v.split_once('/').ok_or_else(bad)?;
    let addr: std::net::Ipv4Addr = addr.parse().map_err(|_| bad())?;
    let bits: u8 = bits.parse().map_err(|_| bad())?;
    if !(8..=30).contains(&bits) {
        return Err(bad());
    }
    let mask = u32::MAX << (32 - bits);
    Ok((std::net::Ipv4Addr::from(u32::from(addr) & mask), bits))
}

/// The `n`th pod IP: inside `cidr` (skipping its network, `.1` and broadcast
/// addresses, wrapping around), or in 10.244.0.0/13.
fn pod_ip(cidr: Option<(std::net::Ipv4Addr, u8)>, n: u64) -> String {
    match cidr {
        Some((base, bits)) => {
            let usable = (1u64 << (32 - bits)) - 3;
            let offset = u32::try_from(n % usable + 2).unwrap_or(2);
            std::net::Ipv4Addr::from(u32::from(base) + offset).to_string()
        }
        None => format!("10.{}.{}.{}", 244 + (n >> 16) % 8, (n >> 8) & 0xff, (n & 0xff).max(2)),
    }
}

impl FakeConfig {
    /// Parses `start-latency=100ms&exit-code=1&run-for=2s&missing-images=a,b&pod-cidr=10.244.128.0/24`.
    pub fn parse(query: &str) -> Result<Self, String> {
        let mut config = FakeConfig::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "start-latency" => config.start_latency = rustkube_component_base::duration::parse(v)?,
                "run-for" => config.run_for = rustkube_component_base::duration::parse(v)?,
                "exit-code" => {
                    config.exit_code = Some(v.parse().map_err(|_| format!("exit-code {v:?} is not a number"))?)
                }
                "missing-images" => {
                    config.missing_images = v.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect()
                }
                "pod-cidr" => config.pod_cidr = Some(parse_cidr(v)?),
                other => return Err(format!("unknown fake runtime option {other:?}")),
            }
        }
        Ok(config)
    }
}

#[derive(Debug)]
struct State {
    sandboxes: HashMap<String, SandboxStatus>,
    containers: HashMap<String, ContainerStatus>,
    /// Images by id.
    images: BTreeMap<String, Image>,
    image_fs_capacity: u64,
    /// Bytes of the image filesystem used by other than images.
    image_fs_other_used: u64,
}

impl Default for State {
    fn default() -> Self {
        State {
            sandboxes: HashMap::new(),
            containers: HashMap::new(),
            images: BTreeMap::new(),
            image_fs_capacity: DEFAULT_IMAGE_FS_CAPACITY,
            image_fs_other_used: 0,
        }
    }
}

impl State {
    fn image_id(&self, reference: &str) -> Option<String> {
        self.images.values().find(|i| i.is_named(reference)).map(|i| i.id.clone())
    }
}

/// The in-memory runtime.
#[derive(Debug)]
pub struct FakeRuntime {
    config: FakeConfig,
    state: Mutex<State>,
    next_id: AtomicU64,
}

impl FakeRuntime {
    pub fn new(config: FakeConfig) -> Self {
        FakeRuntime { config, state: Mutex::default(), next_id: AtomicU64::new(1) }
    }

    fn id(&self) -> (u64, String) {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        (n, format!("{n:064x}"))
    }

    /// Puts an image of `size_bytes` tagged `reference` in the store (as a
    /// pull or an import would); returns its id.
    pub fn add_image(&self, reference: &str, size_bytes: u64, pinned: bool) -> String {
        let mut state = self.lock();
        if let Some(id) = state.image_id(reference) {
            if let Some(image) = state.images.get_mut(&id) {
                image.size_bytes = size_bytes;
                image.pinned = pinned;
            }
            return id;
        }
        let id = format!("sha256:{:064x}", self.next_id.fetch_add(1, Ordering::Relaxed));
        let image =
            Image { id: id.clone(), repo_tags: vec![reference.to_owned()], repo_digests: vec![], size_bytes, pinned };
        state.images.insert(id.clone(), image);
        id
    }

    /// Sizes the simulated image filesystem: `capacity_bytes`, of which
    /// `other_used_bytes` are used by other than images.
    pub fn set_image_fs(&self, capacity_bytes: u64, other_used_bytes: u64) {
        let mut state = self.lock();
        state.image_fs_capacity = capacity_bytes;
        state.image_fs_other_used = other_used_bytes;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lets configured containers exit once they have run long enough.
    fn advance(&self, c: &mut ContainerStatus) {
        if c.state != ContainerState::Running {
            return;
        }
        if let Some(code) = self.config.exit_code {
            let ends = c.started_at.saturating_add(i64::try_from(self.config.run_for.as_nanos()).unwrap_or(i64::MAX));
            if now_nanos() >= ends {
                c.state = ContainerState::Exited;
                c.finished_at = ends;
                c.exit_code = code;
                c.reason = if code == 0 { "Completed".into() } else { "Error".into() };
            }
        }
    }

    async fn latency(&self) {
        if !self.config.start_latency.is_zero() {
            tokio::time::sleep(self.config.start_latency).await;
        }
    }
}

#[async_trait::async_trait]
impl Runtime for FakeRuntime {
    async fn version(&self) -> Result<(String, String)> {
        Ok(("fake".into(), "0.1.0".into()))
    }

    async fn run_pod_sandbox(&self, config: &SandboxConfig) -> Result<String> {
        self.latency().await;
        let (n, id) = self.id();
        let ip = pod_ip(self.config.pod_cidr, n);
        let status = SandboxStatus {
            id: id.clone(),
            name: config.name.clone(),
            namespace: config.namespace.clone(),
            uid: config.uid.clone(),
            attempt: config.attempt,
            state: SandboxState::Ready,
            created_at: now_nanos(),
            ips: if config.host_network { vec![] } else { vec![ip] },
            labels: config.labels.clone(),
        };
        self.lock().sandboxes.insert(id.clone(), status);
        Ok(id)
    }

    async fn stop_pod_sandbox(&self, id: &str) -> Result<()> {
        let mut state = self.lock();
        let now = now_nanos();
        for c in state.containers.values_mut().filter(|c| c.sandbox_id == id && c.state == ContainerState::Running) {
            c.state = ContainerState::Exited;
            c.finished_at = now;
            c.exit_code = 137;
            c.reason = "Error".into();
        }
        if let Some(s) = state.sandboxes.get_mut(id) {
            s.state = SandboxState::NotReady;
        }
        Ok(())
    }

    async fn remove_pod_sandbox(&self, id: &str) -> Result<()> {
        let mut state = self.lock();
        state.sandboxes.remove(id);
        state.containers.retain(|_, c| c.sandbox_id != id);
        Ok(())
    }

    async fn pod_sandbox_status(&self, id: &str) -> Result<SandboxStatus> {
        self.lock().sandboxes.get(id).cloned().ok_or_else(|| Error::NotFound { kind: "sandbox", id: id.to_owned() })
    }

    async fn list_pod_sandboxes(&self) -> Result<Vec<SandboxStatus>> {
        Ok(self.lock().sandboxes.values().cloned().collect())
    }

    async fn image_status(&self, image: &str) -> Result<Option<String>> {
        Ok(self.lock().image_id(image))
    }

    async fn pull_image(&self, image: &str) -> Result<String> {
        if self.config.missing_images.iter().any(|m| m == image) {
            return Err(Error::PullFailed {
                image: image.to_owned(),
                message: format!("failed to resolve reference {image:?}: not found"),
            });
        }
        // An image already present keeps its id, as an unchanged image pulled again does.
        if let Some(id) = self.lock().image_id(image) {
            return Ok(id);
        }
        Ok(self.add_image(image, 0, false))
    }

    async fn create_container(
        &self,
        sandbox_id: &str,
        config: &ContainerConfig,
        _sandbox: &SandboxConfig,
    ) -> Result<String> {
        let (_, id) = self.id();
        let mut state = self.lock();
        if !state.sandboxes.contains_key(sandbox_id) {
            return Err(Error::NotFound { kind: "sandbox", id: sandbox_id.to_owned() });
        }
        let image_ref = state.image_id(&config.image).unwrap_or_default();
        state.containers.insert(
            id.clone(),
            ContainerStatus {
                id: id.clone(),
                sandbox_id: sandbox_id.to_owned(),
                name: config.name.clone(),
                attempt: config.attempt,
                state: ContainerState::Created,
                created_at: now_nanos(),
                started_at: 0,
                finished_at: 0,
                exit_code: 0,
                reason: String::new(),
                message: String::new(),
                image: config.image.clone(),
                image_ref,
                labels: config.labels.clone(),
            },
        );
        Ok(id)
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        self.latency().await;
        let mut state = self.lock();
        let c = state.containers.get_mut(id).ok_or_else(|| Error::NotFound { kind: "container", id: id.to_owned() })?;
        c.state = ContainerState::Running;
        c.started_at = now_nanos();
        Ok(())
    }

    async fn stop_container(&self, id: &str, _timeout_secs: i64) -> Result<()> {
        let mut state = self.lock();
        if let Some(c) = state.containers.get_mut(id) {
            self.advance(c);
            if c.state != ContainerState::Exited {
                c.state = ContainerState::Exited;
                c.finished_at = now_nanos();
                c.exit_code = 143;
                c.reason = "Error".into();
            }
        }
        Ok(())
    }

    async fn remove_container(&self, id: &str) -> Result<()> {
        self.lock().containers.remove(id);
        Ok(())
    }

    async fn container_status(&self, id: &str) -> Result<ContainerStatus> {
        let mut state = self.lock();
        let c = state.containers.get_mut(id).ok_or_else(|| Error::NotFound { kind: "container", id: id.to_owned() })?;
        self.advance(c);
        Ok(c.clone())
    }

    async fn list_containers(&self) -> Result<Vec<ContainerStatus>> {
        let mut state = self.lock();
        Ok(state
            .containers
            .values_mut()
            .map(|c| {
                self.advance(c);
                c.clone()
            })
            .collect())
    }

    async fn exec_sync(&self, id: &str, _cmd: &[String], _timeout_secs: i64) -> Result<(i32, Vec<u8>)> {
        let status = self.container_status(id).await?;
        if status.state != ContainerState::Running {
            return Err(Error::Call { op: "exec", message: format!("container {id} is not running") });
        }
        Ok((0, Vec::new()))
    }

    async fn exec(&self, _id: &str, _cmd: &[String], _streams: Streams) -> Result<String> {
        Err(Error::Unsupported { op: "exec", runtime: "fake" })
    }

    async fn attach(&self, _id: &str, _streams: Streams) -> Result<String> {
        Err(Error::Unsupported { op: "attach", runtime: "fake" })
    }

    async fn port_forward(&self, _sandbox_id: &str, _ports: &[i32]) -> Result<String> {
        Err(Error::Unsupported { op: "port-forward", runtime: "fake" })
    }

    /// Running containers, each using nothing.
    async fn container_stats(&self) -> Result<Vec<ContainerStats>> {
        Ok(self
            .list_containers()
            .await?
            .into_iter()
            .filter(|c| c.state == ContainerState::Running)
            .map(|c| ContainerStats {
                pod_uid: c.pod_uid().unwrap_or_default().to_owned(),
                id: c.id,
                name: c.name,
                ..Default::default()
            })
            .collect())
    }

    async fn list_images(&self) -> Result<Vec<Image>> {
        Ok(self.lock().images.values().cloned().collect())
    }

    async fn remove_image(&self, image: &str) -> Result<()> {
        let mut state = self.lock();
        if let Some(id) = state.image_id(image) {
            state.images.remove(&id);
        }
        Ok(())
    }

    async fn image_fs_info(&self) -> Result<ImageFsInfo> {
        let state = self.lock();
        let used_bytes: u64 = state.images.values().map(|i| i.size_bytes).sum();
        Ok(ImageFsInfo {
            mountpoint: IMAGE_FS_MOUNTPOINT.into(),
            used_bytes,
            capacity_bytes: state.image_fs_capacity,
            available_bytes: state
                .image_fs_capacity
                .saturating_sub(used_bytes.saturating_add(state.image_fs_other_used)),
        })
    }

    async fn sandbox_images(&self) -> Result<Vec<String>> {
        Ok(vec![SANDBOX_IMAGE.to_owned()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn containers_run_until_stopped_or_exit_as_configured() {
        let rt = FakeRuntime::new(FakeConfig::parse("exit-code=3").unwrap());
        let sb = rt.run_pod_sandbox(&SandboxConfig { uid: "u".into(), ..Default::default() }).await.unwrap();
        assert_eq!(rt.pod_sandbox_status(&sb).await.unwrap().ips.len(), 1);
        let c = rt
            .create_container(
                &sb,
                &ContainerConfig { name: "c".into(), ..Default::default() },
                &SandboxConfig::default(),
            )
            .await
            .unwrap();
        rt.start_container(&c).await.unwrap();
        let s = rt.container_status(&c).await.unwrap();
        assert_eq!((s.state, s.exit_code), (ContainerState::Exited, 3), "exit-code=3 exits at once");

        let rt = FakeRuntime::new(FakeConfig::default());
        let sb = rt.run_pod_sandbox(&SandboxConfig::default()).await.unwrap();
        let c = rt.create_container(&sb, &ContainerConfig::default(), &SandboxConfig::default()).await.unwrap();
        rt.start_container(&c).await.unwrap();
        assert_eq!(rt.container_status(&c).await.unwrap().state, ContainerState::Running);
        rt.stop_container(&c, 30).await.unwrap();
        assert_eq!(rt.container_status(&c).await.unwrap().state, ContainerState::Exited);
    }

    #[tokio::test]
    async fn missing_images_fail_to_pull() {
        let rt = FakeRuntime::new(FakeConfig::parse("missing-images=nope:1").unwrap());
        assert!(rt.pull_image("nope:1").await.is_err());
        let id = rt.pull_image("busybox").await.unwrap();
        assert_eq!(rt.image_status("busybox").await.unwrap(), Some(id));
        assert!(FakeConfig::parse("bogus=1").is_err());
    }

    #[tokio::test]
    async fn the_image_store_lists_removes_and_fills_the_simulated_image_filesystem() {
        let rt = FakeRuntime::new(FakeConfig::default());
        rt.set_image_fs(1000, 100);
        let pulled = rt.pull_image("busybox").await.unwrap();
        assert_eq!(rt.pull_image("busybox").await.unwrap(), pulled, "pulling again keeps the image");
        let big = rt.add_image("big:1", 600, false);
        let pause = rt.add_image(SANDBOX_IMAGE, 50, true);
        let fs = rt.image_fs_info().await.unwrap();
        assert_eq!((fs.used_bytes, fs.capacity_bytes, fs.available_bytes), (650, 1000, 250));
        let images = rt.list_images().await.unwrap();
        assert_eq!(images.len(), 3);
        assert!(images.iter().any(|i| i.id == pause && i.pinned && i.repo_tags == [SANDBOX_IMAGE]));
        rt.remove_image("big:1").await.unwrap();
        rt.remove_image(&big).await.expect("removing an image that is gone is no error");
        assert_eq!(rt.image_status("big:1").await.unwrap(), None);
        assert_eq!(rt.image_fs_info().await.unwrap().available_bytes, 850);
        rt.remove_image(&pulled).await.unwrap();
        assert_eq!(rt.image_status("busybox").await.unwrap(), None, "removed by id");
        assert_eq!(rt.sandbox_images().await.unwrap(), [SANDBOX_IMAGE]);
    }

    #[test]
    fn pod_ips_come_from_the_configured_cidr() {
        let config = FakeConfig::parse("pod-cidr=10.244.130.7/24").unwrap();
        assert_eq!(config.pod_cidr, Some(("10.244.130.0".parse().unwrap(), 24)));
        assert_eq!(pod_ip(config.pod_cidr, 0), "10.244.130.2");
        assert_eq!(pod_ip(config.pod_cidr, 252), "10.244.130.254");
        assert_eq!(pod_ip(config.pod_cidr, 253), "10.244.130.2", "wraps inside the CIDR");
        assert!(FakeConfig::parse("pod-cidr=10.0.0.0/31").is_err());
        assert!(FakeConfig::parse("pod-cidr=nope").is_err());
        assert_eq!(pod_ip(None, 0), "10.244.0.2");
    }
}
