//! CRI v1 over a unix socket (containerd's CRI plugin), with the `k8s-cri`
//! bindings on tonic.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use k8s_cri::v1 as cri;
use k8s_cri::v1::image_service_client::ImageServiceClient;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

use super::{
    ContainerConfig, ContainerState, ContainerStats, ContainerStatus, Error, Image, ImageFsInfo, Result, Runtime,
    SandboxConfig, SandboxState, SandboxStatus, Streams,
};

/// How long an ordinary CRI call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// A CRI v1 client of one runtime socket.
#[derive(Debug, Clone)]
pub struct CriRuntime {
    socket: PathBuf,
    runtime: RuntimeServiceClient<Channel>,
    images: ImageServiceClient<Channel>,
}

fn call_err(op: &'static str) -> impl Fn(tonic::Status) -> Error {
    move |s| Error::Call { op, message: s.message().to_owned() }
}

/// Like [`call_err`], but a `NotFound` status is the typed not-found error of `kind` `id`.
fn lookup_err(op: &'static str, kind: &'static str, id: &str) -> impl Fn(tonic::Status) -> Error {
    let id = id.to_owned();
    move |s| {
        if s.code() == tonic::Code::NotFound { Error::NotFound { kind, id: id.clone() } } else { call_err(op)(s) }
    }
}

fn req<T>(msg: T, timeout: Duration) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.set_timeout(timeout);
    r
}

fn to_map(m: &BTreeMap<String, String>) -> HashMap<String, String> {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn from_map(m: HashMap<String, String>) -> BTreeMap<String, String> {
    m.into_iter().collect()
}

impl CriRuntime {
    /// Connects (lazily: the first call dials) to the runtime's socket and checks it answers `Version`.
    pub async fn connect(socket: &Path) -> Result<Self> {
        let path = socket.to_path_buf();
        let endpoint = socket.display().to_string();
        let channel = Endpoint::try_from("http://[::]:0")
            .map_err(|e| Error::Connect { endpoint: endpoint.clone(), reason: e.to_string() })?
            .connect_timeout(Duration::from_secs(5))
            .connect_with_connector_lazy(tower::service_fn(move |_: Uri| {
                let path = path.clone();
                async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
            }));
        let rt = CriRuntime {
            socket: socket.to_path_buf(),
            runtime: RuntimeServiceClient::new(channel.clone()).max_decoding_message_size(16 << 20),
            images: ImageServiceClient::new(channel).max_decoding_message_size(16 << 20),
        };
        Ok(rt)
    }

    fn sandbox_config(c: &SandboxConfig) -> cri::PodSandboxConfig {
        let ns_mode = |host: bool| if host { cri::NamespaceMode::Node as i32 } else { cri::NamespaceMode::Pod as i32 };
        cri::PodSandboxConfig {
            metadata: Some(cri::PodSandboxMetadata {
                name: c.name.clone(),
                uid: c.uid.clone(),
                namespace: c.namespace.clone(),
                attempt: c.attempt,
            }),
            hostname: c.hostname.clone(),
            log_directory: c.log_directory.clone(),
            dns_config: c.dns.as_ref().map(|d| cri::DnsConfig {
                servers: d.servers.clone(),
                searches: d.searches.clone(),
                options: d.options.clone(),
            }),
            port_mappings: c
                .port_mappings
                .iter()
                .map(|p| cri::PortMapping {
                    protocol: match p.protocol.as_str() {
                        "UDP" => cri::Protocol::Udp as i32,
                        "SCTP" => cri::Protocol::Sctp as i32,
                        _ => cri::Protocol::Tcp as i32,
                    },
                    container_port: p.container_port,
                    host_port: p.host_port,
                    host_ip: p.host_ip.clone(),
                })
                .collect(),
            labels: to_map(&c.labels),
            annotations: to_map(&c.annotations),
            linux: Some(cri::LinuxPodSandboxConfig {
                cgroup_parent: c.cgroup_parent.clone(),
                sysctls: to_map(&c.sysctls),
                security_context: Some(cri::LinuxSandboxSecurityContext {
                    namespace_options: Some(cri::NamespaceOption {
                        network: ns_mode(c.host_network),
                        pid: pid_mode(c),
                        ipc: ns_mode(c.host_ipc),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            windows: None,
        }
    }

    fn container_status_from(s: cri::ContainerStatus, sandbox_id: String) -> ContainerStatus {
        let meta = s.metadata.unwrap_or_default();
        ContainerStatus {
            id: s.id,
            sandbox_id,
            name: meta.name,
            attempt: meta.attempt,
            state: state_of(s.state),
            created_at: s.created_at,
            started_at: s.started_at,
            finished_at: s.finished_at,
            exit_code: s.exit_code,
            reason: s.reason,
            message: s.message,
            image: s.image.map(|i| i.image).unwrap_or_default(),
            image_ref: s.image_ref,
            labels: from_map(s.labels),
        }
    }
}

fn pid_mode(c: &SandboxConfig) -> i32 {
    if c.host_pid {
        cri::NamespaceMode::Node as i32
    } else if c.share_pid {
        cri::NamespaceMode::Pod as i32
    } else {
        cri::NamespaceMode::Container as i32
    }
}

fn state_of(state: i32) -> ContainerState {
    match cri::ContainerState::try_from(state) {
        Ok(cri::ContainerState::ContainerCreated) => ContainerState::Created,
        Ok(cri::ContainerState::ContainerRunning) => ContainerState::Running,
        Ok(cri::ContainerState::ContainerExited) => ContainerState::Exited,
        _ => ContainerState::Unknown,
    }
}

#[async_trait::async_trait]
impl Runtime for CriRuntime {
    async fn version(&self) -> Result<(String, String)> {
        let v = self
            .runtime
            .clone()
            .version(req(cri::VersionRequest { version: "v1".into() }, Duration::from_secs(10)))
            .await
            .map_err(|s| Error::Connect {
                endpoint: self.socket.display().to_string(),
                reason: s.message().to_owned(),
            })?
            .into_inner();
        Ok((v.runtime_name, v.runtime_version))
    }

    async fn run_pod_sandbox(&self, config: &SandboxConfig) -> Result<String> {
        let r = self
            .runtime
            .clone()
            .run_pod_sandbox(req(
                cri::RunPodSandboxRequest {
                    config: Some(Self::sandbox_config(config)),
                    runtime_handler: String::new(),
                },
                CALL_TIMEOUT,
            ))
            .await
            .map_err(call_err("RunPodSandbox"))?;
        Ok(r.into_inner().pod_sandbox_id)
    }

    async fn stop_pod_sandbox(&self, id: &str) -> Result<()> {
        self.runtime
            .clone()
            .stop_pod_sandbox(req(cri::StopPodSandboxRequest { pod_sandbox_id: id.to_owned() }, CALL_TIMEOUT))
            .await
            .map_err(call_err("StopPodSandbox"))?;
        Ok(())
    }

    async fn remove_pod_sandbox(&self, id: &str) -> Result<()> {
        self.runtime
            .clone()
            .remove_pod_sandbox(req(cri::RemovePodSandboxRequest { pod_sandbox_id: id.to_owned() }, CALL_TIMEOUT))
            .await
            .map_err(call_err("RemovePodSandbox"))?;
        Ok(())
    }

    async fn pod_sandbox_status(&self, id: &str) -> Result<SandboxStatus> {
        let r = self
            .runtime
            .clone()
            .pod_sandbox_status(req(
                cri::PodSandboxStatusRequest { pod_sandbox_id: id.to_owned(), verbose: false },
                CALL_TIMEOUT,
            ))
            .await
            .map_err(lookup_err("PodSandboxStatus", "sandbox", id))?
            .into_inner();
        let s = r.status.ok_or_else(|| Error::NotFound { kind: "sandbox", id: id.to_owned() })?;
        let meta = s.metadata.unwrap_or_default();
        let mut ips = Vec::new();
        if let Some(net) = s.network {
            if !net.ip.is_empty() {
                ips.push(net.ip);
            }
            ips.extend(net.additional_ips.into_iter().map(|i| i.ip).filter(|i| !i.is_empty()));
        }
        Ok(SandboxStatus {
            id: s.id,
            name: meta.name,
            namespace: meta.namespace,
            uid: meta.uid,
            attempt: meta.attempt,
            state: if s.state == cri::PodSandboxState::SandboxReady as i32 {
                SandboxState::Ready
            } else {
                SandboxState::NotReady
            },
            created_at: s.created_at,
            ips,
            labels: from_map(s.labels),
        })
    }

    async fn list_pod_sandboxes(&self) -> Result<Vec<SandboxStatus>> {
        let r = self
            .runtime
            .clone()
            .list_pod_sandbox(req(cri::ListPodSandboxRequest { filter: None }, CALL_TIMEOUT))
            .await
            .map_err(call_err("ListPodSandbox"))?
            .into_inner();
        Ok(r.items
            .into_iter()
            .map(|s| {
                let meta = s.metadata.unwrap_or_default();
                SandboxStatus {
                    id: s.id,
                    name: meta.name,
                    namespace: meta.namespace,
                    uid: meta.uid,
                    attempt: meta.attempt,
                    state: if s.state == cri::PodSandboxState::SandboxReady as i32 {
                        SandboxState::Ready
                    } else {
                        SandboxState::NotReady
                    },
                    created_at: s.created_at,
                    ips: vec![],
                    labels: from_map(s.labels),
                }
            })
            .collect())
    }

    async fn image_status(&self, image: &str) -> Result<Option<String>> {
        let r = self
            .images
            .clone()
            .image_status(req(
                cri::ImageStatusRequest {
                    image: Some(cri::ImageSpec { image: image.to_owned(), ..Default::default() }),
                    verbose: false,
                },
                CALL_TIMEOUT,
            ))
            .await
            .map_err(call_err("ImageStatus"))?
            .into_inner();
        Ok(r.image.map(|i| i.id).filter(|id| !id.is_empty()))
    }

    async fn pull_image(&self, image: &str) -> Result<String> {
        let r = self
            .images
            .clone()
            .pull_image(req(
                cri::PullImageRequest {
                    image: Some(cri::ImageSpec { image: image.to_owned(), ..Default::default() }),
                    auth: None,
                    sandbox_config: None,
                },
                Duration::from_secs(300),
            ))
            .await
            .map_err(|s| Error::PullFailed { image: image.to_owned(), message: s.message().to_owned() })?
            .into_inner();
        Ok(r.image_ref)
    }

    async fn create_container(&self, sandbox_id: &str, c: &ContainerConfig, sandbox: &SandboxConfig) -> Result<String> {
        let config = cri::ContainerConfig {
            metadata: Some(cri::ContainerMetadata { name: c.name.clone(), attempt: c.attempt }),
            image: Some(cri::ImageSpec { image: c.image.clone(), ..Default::default() }),
            command: c.command.clone(),
            args: c.args.clone(),
            working_dir: c.working_dir.clone(),
            envs: c.envs.iter().map(|(k, v)| cri::KeyValue { key: k.clone(), value: v.clone() }).collect(),
            mounts: c
                .mounts
                .iter()
                .map(|m| cri::Mount {
                    container_path: m.container_path.clone(),
                    host_path: m.host_path.clone(),
                    readonly: m.readonly,
                    ..Default::default()
                })
                .collect(),
            labels: to_map(&c.labels),
            annotations: to_map(&c.annotations),
            log_path: c.log_path.clone(),
            stdin: c.stdin,
            stdin_once: c.stdin_once,
            tty: c.tty,
            linux: Some(cri::LinuxContainerConfig {
                resources: Some(cri::LinuxContainerResources {
                    cpu_period: c.cpu_period,
                    cpu_quota: c.cpu_quota,
                    cpu_shares: c.cpu_shares,
                    memory_limit_in_bytes: c.memory_limit_bytes,
                    ..Default::default()
                }),
                security_context: Some(cri::LinuxContainerSecurityContext {
                    capabilities: Some(cri::Capability {
                        add_capabilities: c.security.add_capabilities.clone(),
                        drop_capabilities: c.security.drop_capabilities.clone(),
                        add_ambient_capabilities: vec![],
                    }),
                    privileged: c.security.privileged,
                    namespace_options: Some(cri::NamespaceOption {
                        network: if sandbox.host_network {
                            cri::NamespaceMode::Node as i32
                        } else {
                            cri::NamespaceMode::Pod as i32
                        },
                        pid: pid_mode(sandbox),
                        ipc: if sandbox.host_ipc {
                            cri::NamespaceMode::Node as i32
                        } else {
                            cri::NamespaceMode::Pod as i32
                        },
                        ..Default::default()
                    }),
                    run_as_user: c.security.run_as_user.map(|value| cri::Int64Value { value }),
                    run_as_group: c.security.run_as_group.map(|value| cri::Int64Value { value }),
                    readonly_rootfs: c.security.readonly_rootfs,
                    supplemental_groups: c.security.supplemental_groups.clone(),
                    no_new_privs: c.security.no_new_privs,
                    ..Default::default()
                }),
            }),
            ..Default::default()
        };
        let r = self
            .runtime
            .clone()
            .create_container(req(
                cri::CreateContainerRequest {
                    pod_sandbox_id: sandbox_id.to_owned(),
                    config: Some(config),
                    sandbox_config: Some(Self::sandbox_config(sandbox)),
                },
                CALL_TIMEOUT,
            ))
            .await
            .map_err(call_err("CreateContainer"))?;
        Ok(r.into_inner().container_id)
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        self.runtime
            .clone()
            .start_container(req(cri::StartContainerRequest { container_id: id.to_owned() }, CALL_TIMEOUT))
            .await
            .map_err(call_err("StartContainer"))?;
        Ok(())
    }

    async fn stop_container(&self, id: &str, timeout_secs: i64) -> Result<()> {
        let wait = Duration::from_secs(u64::try_from(timeout_secs.max(0)).unwrap_or(0)) + CALL_TIMEOUT;
        self.runtime
            .clone()
            .stop_container(req(cri::StopContainerRequest { container_id: id.to_owned(), timeout: timeout_secs }, wait))
            .await
            .map_err(call_err("StopContainer"))?;
        Ok(())
    }

    async fn remove_container(&self, id: &str) -> Result<()> {
        self.runtime
            .clone()
            .remove_container(req(cri::RemoveContainerRequest { container_id: id.to_owned() }, CALL_TIMEOUT))
            .await
            .map_err(call_err("RemoveContainer"))?;
        Ok(())
    }

    async fn container_status(&self, id: &str) -> Result<ContainerStatus> {
        let r = self
            .runtime
            .clone()
            .container_status(req(
                cri::ContainerStatusRequest { container_id: id.to_owned(), verbose: false },
                CALL_TIMEOUT,
            ))
            .await
            .map_err(lookup_err("ContainerStatus", "container", id))?
            .into_inner();
        let s = r.status.ok_or_else(|| Error::NotFound { kind: "container", id: id.to_owned() })?;
        // ContainerStatus lacks the sandbox id; callers take it from the list.
        Ok(Self::container_status_from(s, String::new()))
    }

    /// Lists containers cheaply: state, ids and labels; exit codes and times need [`Runtime::container_status`].
    async fn list_containers(&self) -> Result<Vec<ContainerStatus>> {
        let r = self
            .runtime
            .clone()
            .list_containers(req(cri::ListContainersRequest { filter: None }, CALL_TIMEOUT))
            .await
            .map_err(call_err("ListContainers"))?
            .into_inner();
        let mut out = Vec::with_capacity(r.containers.len());
        for c in r.containers {
            let state = state_of(c.state);
            let meta = c.metadata.unwrap_or_default();
            out.push(ContainerStatus {
                id: c.id,
                sandbox_id: c.pod_sandbox_id,
                name: meta.name,
                attempt: meta.attempt,
                state,
                created_at: c.created_at,
                started_at: 0,
                finished_at: 0,
                exit_code: 0,
                reason: String::new(),
                message: String::new(),
                image: c.image.map(|i| i.image).unwrap_or_default(),
                image_ref: c.image_ref,
                labels: from_map(c.labels),
            });
        }
        Ok(out)
    }

    async fn exec_sync(&self, id: &str, cmd: &[String], timeout_secs: i64) -> Result<(i32, Vec<u8>)> {
        let wait = Duration::from_secs(u64::try_from(timeout_secs.max(1)).unwrap_or(1)) + Duration::from_secs(5);
        let r = self
            .runtime
            .clone()
            .exec_sync(req(
                cri::ExecSyncRequest { container_id: id.to_owned(), cmd: cmd.to_vec(), timeout: timeout_secs },
                wait,
            ))
            .await
            .map_err(call_err("ExecSync"))?
            .into_inner();
        let mut out = r.stdout;
        out.extend_from_slice(&r.stderr);
        Ok((r.exit_code, out))
    }

    async fn exec(&self, id: &str, cmd: &[String], streams: Streams) -> Result<String> {
        let r = self
            .runtime
            .clone()
            .exec(req(
                cri::ExecRequest {
                    container_id: id.to_owned(),
                    cmd: cmd.to_vec(),
                    tty: streams.tty,
                    stdin: streams.stdin,
                    stdout: streams.stdout,
                    stderr: streams.stderr,
                },
                Duration::from_secs(10),
            ))
            .await
            .map_err(lookup_err("Exec", "container", id))?;
        Ok(r.into_inner().url)
    }

    async fn attach(&self, id: &str, streams: Streams) -> Result<String> {
        let r = self
            .runtime
            .clone()
            .attach(req(
                cri::AttachRequest {
                    container_id: id.to_owned(),
                    stdin: streams.stdin,
                    tty: streams.tty,
                    stdout: streams.stdout,
                    stderr: streams.stderr,
                },
                Duration::from_secs(10),
            ))
            .await
            .map_err(lookup_err("Attach", "container", id))?;
        Ok(r.into_inner().url)
    }

    async fn port_forward(&self, sandbox_id: &str, ports: &[i32]) -> Result<String> {
        let r = self
            .runtime
            .clone()
            .port_forward(req(
                cri::PortForwardRequest { pod_sandbox_id: sandbox_id.to_owned(), port: ports.to_vec() },
                Duration::from_secs(10),
            ))
            .await
            .map_err(lookup_err("PortForward", "sandbox", sandbox_id))?;
        Ok(r.into_inner().url)
    }

    async fn container_stats(&self) -> Result<Vec<ContainerStats>> {
        let r = self
            .runtime
            .clone()
            .list_container_stats(req(cri::ListContainerStatsRequest { filter: None }, CALL_TIMEOUT))
            .await
            .map_err(call_err("ListContainerStats"))?
            .into_inner();
        Ok(r.stats
            .into_iter()
            .map(|s| {
                let attributes = s.attributes.unwrap_or_default();
                ContainerStats {
                    id: attributes.id,
                    name: attributes.metadata.map(|m| m.name).unwrap_or_default(),
                    pod_uid: attributes.labels.get(super::LABEL_POD_UID).cloned().unwrap_or_default(),
                    memory_working_set_bytes: s.memory.and_then(|m| m.working_set_bytes).map(|v| v.value).unwrap_or(0),
                    cpu_usage_core_nanos: s
                        .cpu
                        .as_ref()
                        .and_then(|c| c.usage_core_nano_seconds.as_ref())
                        .map(|v| v.value)
                        .unwrap_or(0),
                    cpu_usage_nano_cores: s.cpu.and_then(|c| c.usage_nano_cores).map(|v| v.value),
                    writable_layer_bytes: s.writable_layer.and_then(|w| w.used_bytes).map(|v| v.value).unwrap_or(0),
                }
            })
            .collect())
    }

    async fn list_images(&self) -> Result<Vec<Image>> {
        let r = self
            .images
            .clone()
            .list_images(req(cri::ListImagesRequest { filter: None }, CALL_TIMEOUT))
            .await
            .map_err(call_err("ListImages"))?
            .into_inner();
        Ok(r.images
            .into_iter()
            .map(|i| Image {
                id: i.id,
                repo_tags: i.repo_tags,
                repo_digests: i.repo_digests,
                size_bytes: i.size,
                pinned: i.pinned,
            })
            .collect())
    }

    async fn remove_image(&self, image: &str) -> Result<()> {
        self.images
            .clone()
            .remove_image(req(
                cri::RemoveImageRequest {
                    image: Some(cri::ImageSpec { image: image.to_owned(), ..Default::default() }),
                },
                CALL_TIMEOUT,
            ))
            .await
            .map_err(call_err("RemoveImage"))?;
        Ok(())
    }

    async fn image_fs_info(&self) -> Result<ImageFsInfo> {
        let r = self
            .images
            .clone()
            .image_fs_info(req(cri::ImageFsInfoRequest {}, CALL_TIMEOUT))
            .await
            .map_err(call_err("ImageFsInfo"))?
            .into_inner();
        let fs = r.image_filesystems.into_iter().next().ok_or_else(|| Error::Call {
            op: "ImageFsInfo",
            message: "the runtime reported no image filesystem".into(),
        })?;
        let mountpoint = PathBuf::from(fs.fs_id.map(|f| f.mountpoint).unwrap_or_default());
        let stat = rustix::fs::statvfs(&mountpoint).map_err(|e| Error::Call {
            op: "ImageFsInfo",
            message: format!("statvfs of the image filesystem {}: {e}", mountpoint.display()),
        })?;
        Ok(ImageFsInfo {
            mountpoint,
            used_bytes: fs.used_bytes.map(|u| u.value).unwrap_or(0),
            capacity_bytes: stat.f_blocks.saturating_mul(stat.f_frsize),
            available_bytes: stat.f_bavail.saturating_mul(stat.f_frsize),
        })
    }

    /// containerd says its `sandbox_image` in the verbose runtime status
    /// (`info.config.sandboxImage`) and each sandbox's image in the verbose
    /// sandbox status (`info.info.image`).
    async fn sandbox_images(&self) -> Result<Vec<String>> {
        let r = self
            .runtime
            .clone()
            .status(req(cri::StatusRequest { verbose: true }, CALL_TIMEOUT))
            .await
            .map_err(call_err("Status"))?
            .into_inner();
        let mut images: Vec<String> =
            r.info.get("config").and_then(|c| json_string(c, "sandboxImage")).into_iter().collect();
        for sandbox in self.list_pod_sandboxes().await? {
            let status = match self
                .runtime
                .clone()
                .pod_sandbox_status(req(
                    cri::PodSandboxStatusRequest { pod_sandbox_id: sandbox.id.clone(), verbose: true },
                    CALL_TIMEOUT,
                ))
                .await
            {
                Ok(status) => status.into_inner(),
                // Removed since the list: it uses no image any more.
                Err(s) if s.code() == tonic::Code::NotFound => continue,
                Err(s) => return Err(call_err("PodSandboxStatus")(s)),
            };
            if let Some(image) = status.info.get("info").and_then(|i| json_string(i, "image"))
                && !images.contains(&image)
            {
                images.push(image);
            }
        }
        Ok(images)
    }
}

/// The non-empty string `key` of the JSON object `text`.
fn json_string(text: &str, key: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    value.get(key)?.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}
