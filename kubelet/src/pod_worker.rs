//! One pod's worker: a sync brings the runtime in line with the pod spec
//! (sandbox → images → init containers in order → app containers, restarts
//! with CrashLoopBackOff), posts the pod status, and on deletion stops
//! everything gracefully and confirms the deletion, as upstream's
//! `SyncPod` / `SyncTerminatingPod` / `SyncTerminatedPod`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, PodStatus};
use kube::Api;
use kube::api::{Patch, PatchParams};
use rustkube_api::quantity::Quantity;

use crate::backoff::{Backoff, go_duration};
use crate::env;
use crate::events::Recorder;
use crate::options::Config;
use crate::probes::Prober;
use crate::runtime::{self, ContainerState, SandboxState, SharedRuntime, now_nanos};
use crate::spec::{self, PodKey};
use crate::status::{self, ContainerView, PodView};

mod termination;

/// How long a worker waits between syncs when nothing is pending (PLEG wakes it on container changes).
pub const RESYNC: Duration = Duration::from_secs(10);

/// What every pod worker shares.
pub struct Context {
    pub client: kube::Client,
    pub runtime: SharedRuntime,
    pub config: Config,
    pub host_ip: String,
    /// `containerd://`, `fake://`: the containerID prefix.
    pub id_scheme: String,
    pub backoff: Mutex<Backoff>,
    /// Pods the eviction manager evicts, with the eviction message, by UID.
    pub evictions: Mutex<HashMap<String, String>>,
    pub allocatable: BTreeMap<String, Quantity>,
    pub recorder: Recorder,
    /// Service-account tokens of projected volumes.
    pub tokens: crate::token_manager::TokenManager,
    /// The cluster's services, for the service-link variables.
    pub services: crate::services::Services,
    /// Which pods the runtime may hold anything of.
    pub runtime_pods: crate::runtime_pods::RuntimePods,
}

impl Context {
    /// Asks the worker of `uid` to evict its pod with `message`.
    pub fn request_eviction(&self, uid: &str, message: String) {
        self.evictions.lock().unwrap_or_else(|p| p.into_inner()).insert(uid.to_owned(), message);
    }

    /// Whether `uid` has been evicted (or is being).
    pub fn is_evicted(&self, uid: &str) -> bool {
        self.evictions.lock().unwrap_or_else(|p| p.into_inner()).contains_key(uid)
    }

    fn eviction_of(&self, uid: &str) -> Option<String> {
        self.evictions.lock().unwrap_or_else(|p| p.into_inner()).get(uid).cloned()
    }

    /// Forgets the eviction of a pod that is gone.
    pub fn forget_eviction(&self, uid: &str) {
        self.evictions.lock().unwrap_or_else(|p| p.into_inner()).remove(uid);
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("node", &self.config.node_name)
            .field("runtime", &self.runtime)
            .finish_non_exhaustive()
    }
}

/// Errors of one sync; the worker retries.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("runtime: {0}")]
    Runtime(#[from] runtime::Error),
    #[error("updating status of pod {pod}: {source}")]
    StatusUpdateFailed {
        pod: String,
        #[source]
        source: kube::Error,
    },
    #[error("deleting pod {pod}: {source}")]
    DeleteFailed {
        pod: String,
        #[source]
        source: kube::Error,
    },
}

/// What to do after a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Sync again after this long at the latest.
    Requeue(Duration),
    /// The pod is gone; the worker ends.
    Done,
}

/// The runtime's view of one pod.
#[derive(Debug, Default)]
struct Snapshot {
    /// Newest first.
    sandboxes: Vec<runtime::SandboxStatus>,
    containers: Vec<runtime::ContainerStatus>,
}

/// The state one pod's worker keeps between syncs.
#[derive(Debug)]
pub struct Worker {
    ctx: Arc<Context>,
    key: PodKey,
    /// Why a container is waiting (reason, message), by container name.
    waiting: HashMap<String, (String, String)>,
    last_posted: Option<PodStatus>,
    terminal: bool,
    prober: Prober,
    /// A `BackOff` event to record at the end of this sync.
    backoff_event: Option<(String, String)>,
    /// The containers made in this sync.
    created: Vec<String>,
    /// Whether images are present (their ID), looked up in this sync while
    /// the pod's sandbox was being made.
    image_ids: HashMap<String, Option<String>>,
}

/// The host path of each of a pod's volumes, by name.
type Volumes = BTreeMap<String, std::path::PathBuf>;

/// Container configurations made while the sandbox was (see
/// [`Worker::make_sandbox`]), with the attempt each was made for, by name.
type Premade = HashMap<String, (u32, Result<runtime::ContainerConfig, String>)>;

/// How long to wait before syncing again when the sandbox vanished under the sync.
const SANDBOX_GONE: Duration = Duration::from_millis(200);

/// A sandbox's status, read once, when first asked for (and meanwhile
/// in flight, when polled alongside other work).
enum SandboxStatusRead {
    Pending(
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<runtime::SandboxStatus, runtime::Error>> + Send>>,
    ),
    /// Its IPs; `None` when the sandbox is gone.
    Read(Option<Vec<String>>),
}

impl SandboxStatusRead {
    /// The sandbox's IPs, or `None` when it is gone.
    async fn ips(&mut self) -> Result<Option<Vec<String>>, Error> {
        let read = match self {
            SandboxStatusRead::Read(ips) => return Ok(ips.clone()),
            SandboxStatusRead::Pending(read) => read.await,
        };
        // The future is done: never poll it again (a failed read counts as gone for the rest of this sync).
        let (ips, result) = match read {
            Ok(status) => (Some(status.ips.clone()), Ok(Some(status.ips))),
            Err(runtime::Error::NotFound { .. }) => (None, Ok(None)),
            Err(e) => (None, Err(e.into())),
        };
        *self = SandboxStatusRead::Read(ips);
        result
    }
}

fn instant_of_nanos(nanos: i64) -> Instant {
    let ago = now_nanos().saturating_sub(nanos).max(0);
    Instant::now().checked_sub(Duration::from_nanos(u64::try_from(ago).unwrap_or(0))).unwrap_or_else(Instant::now)
}

impl Worker {
    pub fn new(ctx: Arc<Context>, key: PodKey) -> Self {
        Worker {
            ctx,
            key,
            waiting: HashMap::new(),
            last_posted: None,
            terminal: false,
            prober: Prober::default(),
            backoff_event: None,
            image_ids: HashMap::new(),
            created: Vec::new(),
        }
    }

    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.ctx.client.clone(), &self.key.namespace)
    }

    async fn snapshot(&self) -> Result<Snapshot, Error> {
        if self.ctx.runtime_pods.surely_empty(&self.key.uid) {
            return Ok(Snapshot::default());
        }
        let (sandboxes, containers) = tokio::join!(self.ctx.runtime.list_pod_sandboxes(), self.containers());
        let mut sandboxes: Vec<_> = sandboxes?.into_iter().filter(|s| s.uid == self.key.uid).collect();
        sandboxes.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.attempt.cmp(&a.attempt)));
        Ok(Snapshot { sandboxes, containers: containers? })
    }

    /// This pod's containers, in any sandbox.
    async fn containers(&self) -> Result<Vec<runtime::ContainerStatus>, Error> {
        let all = self.ctx.runtime.list_containers().await?;
        Ok(all.into_iter().filter(|c| c.pod_uid() == Some(self.key.uid.as_str())).collect())
    }

    fn container_spec(&self, pod: Option<&Pod>, name: &str) -> Option<Container> {
        let spec = pod?.spec.as_ref()?;
        spec.init_containers.iter().flatten().chain(spec.containers.iter()).find(|c| c.name == name).cloned()
    }

    /// Full statuses of the newest container per name in `sandbox_id`, and of
    /// the one before it (any sandbox), plus the highest attempt per name.
    /// The statuses are read from the runtime all at once, but for those in
    /// `known` (by container ID), read just before.
    async fn container_views(
        &self,
        pod: Option<&Pod>,
        snap: &Snapshot,
        sandbox_id: Option<&str>,
        known: &HashMap<String, runtime::ContainerStatus>,
    ) -> Result<(HashMap<String, ContainerView>, HashMap<String, u32>), Error> {
        let mut by_name: HashMap<&str, Vec<&runtime::ContainerStatus>> = HashMap::new();
        for c in &snap.containers {
            by_name.entry(c.name.as_str()).or_default().push(c);
        }
        // Per name: the highest attempt, the current container (in this sandbox) and the one before.
        let mut plans = Vec::with_capacity(by_name.len());
        for (name, mut list) in by_name {
            list.sort_by(|a, b| b.attempt.cmp(&a.attempt).then(b.created_at.cmp(&a.created_at)));
            let (current, previous) = match list.iter().position(|c| Some(c.sandbox_id.as_str()) == sandbox_id) {
                Some(i) => (Some(list[i]), list.get(i + 1).copied()),
                None => (None, Some(list[0])),
            };
            plans.push((name, list[0].attempt, current, previous));
        }
        let wanted: Vec<&runtime::ContainerStatus> = plans
            .iter()
            .flat_map(|(_, _, current, previous)| current.iter().chain(previous.iter()).copied())
            .filter(|c| !known.contains_key(&c.id))
            .collect();
        let read = futures_util::future::join_all(wanted.iter().map(|c| self.full_status(c))).await;
        let mut statuses: HashMap<&str, Option<runtime::ContainerStatus>> =
            known.iter().map(|(id, s)| (id.as_str(), Some(s.clone()))).collect();
        for (c, status) in wanted.iter().zip(read) {
            statuses.insert(c.id.as_str(), status?);
        }
        let mut status_of =
            |c: Option<&runtime::ContainerStatus>| c.and_then(|c| statuses.remove(c.id.as_str()).flatten());
        let mut views = HashMap::new();
        let mut max_attempt = HashMap::new();
        for (name, attempt, current, previous) in plans {
            max_attempt.insert(name.to_owned(), attempt);
            let mut view = ContainerView {
                restart_count: i32::try_from(attempt).unwrap_or(i32::MAX),
                ready: true,
                started: true,
                current: status_of(current),
                previous: status_of(previous),
                ..Default::default()
            };
            if let Some(cur) =
                view.current.as_mut().filter(|c| c.state == ContainerState::Exited && c.message.is_empty())
                && let Some(spec) = self.container_spec(pod, name)
            {
                cur.message =
                    spec::termination_message(&self.ctx.config.root_dir, &self.key, &spec, cur.attempt, cur.exit_code);
            }
            views.insert(name.to_owned(), view);
        }
        Ok((views, max_attempt))
    }

    async fn full_status(&self, c: &runtime::ContainerStatus) -> Result<Option<runtime::ContainerStatus>, Error> {
        match self.ctx.runtime.container_status(&c.id).await {
            Ok(mut s) => {
                if s.sandbox_id.is_empty() {
                    s.sandbox_id = c.sandbox_id.clone();
                }
                Ok(Some(s))
            }
            Err(runtime::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Brings the runtime in line with `pod` and posts its status.
    pub async fn sync(&mut self, pod: &Pod) -> Result<Outcome, Error> {
        if pod.metadata.deletion_timestamp.is_some() {
            let spec_grace = pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(30);
            let grace = pod.metadata.deletion_grace_period_seconds.unwrap_or(spec_grace);
            return self.terminate(Some(pod), grace).await;
        }
        let api_terminal =
            matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded") | Some("Failed"));
        if !self.terminal
            && !api_terminal
            && let Some(message) = self.ctx.eviction_of(&self.key.uid)
        {
            return self.evict(pod, message).await;
        }
        self.image_ids.clear();
        self.created.clear();
        let snap = self.snapshot().await?;
        if self.terminal || api_terminal {
            self.stop_all(&snap, 0).await;
            return Ok(Outcome::Requeue(RESYNC * 6));
        }
        let spec = pod.spec.clone().unwrap_or_default();
        let policy = spec.restart_policy.clone().unwrap_or_else(|| "Always".into());

        // The sandbox. A new one is made while the volumes, and the configurations of the containers
        // that start first in it, are prepared; its status (the pod IPs) is read as those containers
        // are made, unless one of them needs it before.
        let ready = snap.sandboxes.first().filter(|s| s.state == SandboxState::Ready).cloned();
        let mut facts = env::PodFacts {
            host_ip: self.ctx.host_ip.clone(),
            pod_ips: vec![],
            node_allocatable: self.ctx.allocatable.clone(),
        };
        let mut sources = env::Sources::new(self.ctx.client.clone(), &self.key.namespace, &self.ctx.services);
        let attempt = ready.as_ref().map_or_else(|| snap.sandboxes.first().map_or(0, |s| s.attempt + 1), |s| s.attempt);
        let sandbox_config = self.sandbox_config(pod, attempt);
        let (sandbox_id, prepared, mut premade) = match ready {
            Some(s) => (s.id, self.prepare_volumes(pod, &facts).await, Premade::new()),
            None => {
                let made = self.make_sandbox(pod, &spec, &snap, &sandbox_config, &facts, &mut sources).await;
                match made {
                    (Ok(id), prepared, premade) => (id, prepared, premade),
                    (Err(e), _, _) => {
                        tracing::warn!(pod = %self.key.full_name(), error = %e, "failed to create pod sandbox");
                        self.ctx.recorder.pod(
                            pod,
                            None,
                            "Warning",
                            "FailedCreatePodSandBox",
                            format!("Failed to create pod sandbox: {e}"),
                        );
                        self.post_status(pod, &PodView::default_for(&self.ctx), &HashMap::new()).await?;
                        return Ok(Outcome::Requeue(Duration::from_secs(5)));
                    }
                }
            }
        };
        let mut sandbox_status = {
            let (runtime, id) = (Arc::clone(&self.ctx.runtime), sandbox_id.clone());
            SandboxStatusRead::Pending(Box::pin(async move { runtime.pod_sandbox_status(&id).await }))
        };
        self.collect_garbage(&snap, &sandbox_id).await;
        let (views, max_attempt) = self.container_views(Some(pod), &snap, Some(&sandbox_id), &HashMap::new()).await?;
        let mut requeue = RESYNC;
        let volumes = match prepared {
            Ok(v) => v,
            Err(e) => {
                tracing::info!(pod = %self.key.full_name(), error = %e, "volumes not ready");
                self.ctx.recorder.pod(pod, None, "Warning", "FailedMount", format!("MountVolume.SetUp failed: {e}"));
                let Some(ips) = sandbox_status.ips().await? else { return Ok(Outcome::Requeue(SANDBOX_GONE)) };
                let view = PodView {
                    sandbox_ready: true,
                    pod_ips: ips,
                    host_ip: self.ctx.host_ip.clone(),
                    id_scheme: self.ctx.id_scheme.clone(),
                    containers: views,
                };
                self.post_status(pod, &view, &self.waiting.clone()).await?;
                return Ok(Outcome::Requeue(Duration::from_secs(2)));
            }
        };
        let start = |c: &Container| (c.clone(), max_attempt.get(&c.name).map(|a| a + 1).unwrap_or(0));
        let mut to_start: Vec<(Container, u32)> = Vec::new();

        // Init containers, in order, each to completion.
        let mut inits_done = true;
        for c in spec.init_containers.iter().flatten() {
            let current = views.get(&c.name).and_then(|v| v.current.as_ref());
            match current.map(|s| (s.state, s.exit_code)) {
                Some((ContainerState::Exited, 0)) => continue,
                Some((ContainerState::Running, _)) => {}
                Some((_, _)) if policy == "Never" => {}
                Some(_) => {
                    if let Some(wait) = self.in_crash_backoff(c, current) {
                        requeue = requeue.min(wait);
                    } else {
                        to_start.push(start(c));
                    }
                }
                None => to_start.push(start(c)),
            }
            inits_done = false;
            break;
        }
        if inits_done {
            for c in &spec.containers {
                let current = views.get(&c.name).and_then(|v| v.current.as_ref());
                match current.map(|s| (s.state, s.exit_code)) {
                    None => to_start.push(start(c)),
                    Some((ContainerState::Running, _)) => {}
                    Some((ContainerState::Exited | ContainerState::Created, code)) => {
                        let restart = match policy.as_str() {
                            "Always" => true,
                            "OnFailure" => code != 0 || current.is_some_and(|s| s.state == ContainerState::Created),
                            _ => false,
                        };
                        if restart {
                            if let Some(wait) = self.in_crash_backoff(c, current) {
                                requeue = requeue.min(wait);
                            } else {
                                to_start.push(start(c));
                            }
                        }
                    }
                    Some((ContainerState::Unknown, _)) => {}
                }
            }
        }
        if let Some((name, message)) = self.backoff_event.take() {
            self.ctx.recorder.pod(pod, Some(format!("spec.containers{{{name}}}")), "Warning", "BackOff", message);
        }
        // The pod IPs are read first when a container to start may need them (its environment is
        // not made yet, or a postStart hook may address the pod); else while they start.
        let ips_needed = to_start.iter().any(|(c, attempt)| {
            premade.get(&c.name).is_none_or(|(a, _)| a != attempt)
                || c.lifecycle.as_ref().is_some_and(|l| l.post_start.is_some())
        });
        if ips_needed {
            let Some(ips) = sandbox_status.ips().await? else { return Ok(Outcome::Requeue(SANDBOX_GONE)) };
            facts.pod_ips = ips;
        }
        let acted = !to_start.is_empty();
        let starts = async {
            for (c, attempt) in to_start {
                let config = premade.remove(&c.name).filter(|(a, _)| *a == attempt).map(|(_, config)| config);
                if let Some(wait) = self
                    .start_container(
                        pod,
                        &c,
                        attempt,
                        &sandbox_id,
                        &sandbox_config,
                        &facts,
                        &mut sources,
                        &volumes,
                        config,
                    )
                    .await
                {
                    requeue = requeue.min(wait);
                }
            }
        };
        let (read, ()) = tokio::join!(sandbox_status.ips(), starts);
        let Some(pod_ips) = read? else { return Ok(Outcome::Requeue(SANDBOX_GONE)) };

        // Status from what is there now.
        let (mut views, _) = if acted {
            // What changed since the snapshot are the containers made just now (their statuses are read
            // directly) and the states of those listed then (container_views reads them anew).
            let created = std::mem::take(&mut self.created);
            let read = futures_util::future::join_all(created.iter().map(|id| self.ctx.runtime.container_status(id)));
            let mut known = HashMap::new();
            for (id, status) in created.iter().zip(read.await) {
                match status {
                    Ok(mut s) => {
                        s.id.clone_from(id);
                        s.sandbox_id.clone_from(&sandbox_id);
                        known.insert(id.clone(), s);
                    }
                    Err(runtime::Error::NotFound { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let mut containers = snap.containers;
            containers.extend(known.values().cloned());
            let snap = Snapshot { sandboxes: snap.sandboxes, containers };
            self.container_views(Some(pod), &snap, Some(&sandbox_id), &known).await?
        } else {
            (views, max_attempt)
        };
        let pod_ip = pod_ips.first().cloned().unwrap_or_else(|| self.ctx.host_ip.clone());
        if let Some(wait) = self.run_probes(pod, &spec.containers, &mut views, &pod_ip).await {
            requeue = requeue.min(wait);
        }
        let view = PodView {
            sandbox_ready: true,
            pod_ips,
            host_ip: self.ctx.host_ip.clone(),
            id_scheme: self.ctx.id_scheme.clone(),
            containers: views,
        };
        let posted = self.post_status(pod, &view, &self.waiting.clone()).await?;
        if matches!(posted.phase.as_deref(), Some("Succeeded") | Some("Failed")) {
            tracing::info!(pod = %self.key.full_name(), phase = ?posted.phase, "pod reached a terminal phase");
            self.terminal = true;
            let snap = self.snapshot().await?;
            self.stop_all(&snap, 0).await;
            return Ok(Outcome::Requeue(RESYNC * 6));
        }
        Ok(Outcome::Requeue(requeue))
    }

    /// Runs the due probes of the running app containers, sets their
    /// ready/started, restarts those whose liveness failed; returns when the
    /// next probe is due.
    async fn run_probes(
        &mut self,
        pod: &Pod,
        containers: &[Container],
        views: &mut HashMap<String, ContainerView>,
        pod_ip: &str,
    ) -> Option<Duration> {
        let mut next: Option<Duration> = None;
        let mut failures = Vec::new();
        let mut running = Vec::new();
        for c in containers {
            let Some(view) = views.get_mut(&c.name) else { continue };
            let Some(current) = view.current.clone().filter(|s| s.state == ContainerState::Running) else { continue };
            running.push(c.name.clone());
            if c.readiness_probe.is_none() && c.liveness_probe.is_none() && c.startup_probe.is_none() {
                continue;
            }
            let started_at = instant_of_nanos(current.started_at);
            let (verdict, due) =
                self.prober.probe(&self.ctx.runtime, c, &current.id, started_at, pod_ip, &mut failures).await;
            view.ready = verdict.ready;
            view.started = verdict.started;
            if let Some(due) = due {
                let wait = due.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
                next = Some(next.map_or(wait, |n| n.min(wait)));
            }
            if verdict.kill {
                let field_path = Some(format!("spec.containers{{{}}}", c.name));
                self.ctx.recorder.pod(
                    pod,
                    field_path,
                    "Normal",
                    "Killing",
                    format!("Container {} failed liveness probe, will be restarted", c.name),
                );
                let grace = pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(30);
                tracing::info!(pod = %self.key.full_name(), container = %c.name, "liveness probe failed, restarting container");
                if let Err(e) = self.ctx.runtime.stop_container(&current.id, grace).await {
                    tracing::warn!(pod = %self.key.full_name(), container = %c.name, error = %e, "failed to stop unhealthy container");
                }
                view.ready = false;
                next = Some(Duration::from_millis(100));
            }
        }
        for f in failures {
            self.ctx.recorder.pod(
                pod,
                Some(format!("spec.containers{{{}}}", f.container)),
                "Warning",
                "Unhealthy",
                format!("{} probe failed: {}", f.kind.name(), f.output),
            );
        }
        self.prober.retain(&running);
        next
    }

    /// `Some(wait)` when `c` must not be restarted yet (and marks it CrashLoopBackOff).
    fn in_crash_backoff(&mut self, c: &Container, current: Option<&runtime::ContainerStatus>) -> Option<Duration> {
        let key = format!("{}/{}", self.key.uid, c.name);
        let finished = current.map(|s| if s.finished_at > 0 { s.finished_at } else { s.created_at }).unwrap_or(0);
        let now = Instant::now();
        let mut backoff = self.ctx.backoff.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(wait) = backoff.remaining_since(&key, instant_of_nanos(finished), now) {
            if self.waiting.get(&c.name).is_none_or(|(r, _)| r != "CrashLoopBackOff") {
                self.backoff_event = Some((
                    c.name.clone(),
                    format!("Back-off restarting failed container {} in pod {}", c.name, self.key.full_name()),
                ));
            }
            let message = format!(
                "back-off {} restarting failed container={} pod={}",
                go_duration(backoff.get(&key)),
                c.name,
                self.key.full_name()
            );
            self.waiting.insert(c.name.clone(), ("CrashLoopBackOff".into(), message));
            return Some(wait);
        }
        backoff.next(&key, now);
        None
    }

    /// The sandbox configuration, with the pod's QoS cgroup parent when `--cgroups-per-qos`.
    fn sandbox_config(&self, pod: &Pod, attempt: u32) -> runtime::SandboxConfig {
        let mut config = spec::sandbox_config(
            pod,
            attempt,
            &self.ctx.config.root_dir,
            &self.ctx.config.cluster_dns,
            &self.ctx.config.cluster_domain,
        );
        if let Some(root) = &self.ctx.config.cgroup_root {
            config.cgroup_parent = crate::cgroups::pod_parent(root, &status::qos_class(pod), &self.key.uid);
        }
        config
    }

    /// Makes a new sandbox for the pod (see [`Worker::create_sandbox`]) and
    /// meanwhile looks up the images of the containers that start first in it
    /// (the first init container, or else the app containers), for
    /// [`Worker::ensure_image`], prepares the pod's volumes and, when they are
    /// ready, those containers' configurations.
    async fn make_sandbox(
        &mut self,
        pod: &Pod,
        spec: &PodSpec,
        snap: &Snapshot,
        sandbox_config: &runtime::SandboxConfig,
        facts: &env::PodFacts,
        sources: &mut env::Sources,
    ) -> (Result<String, Error>, Result<Volumes, crate::volumes::Error>, Premade) {
        let first: Vec<&Container> = match spec.init_containers.as_deref().and_then(<[Container]>::first) {
            Some(init) => vec![init],
            None => spec.containers.iter().collect(),
        };
        let mut images: Vec<String> = first.iter().filter_map(|c| c.image.clone()).collect();
        images.sort();
        images.dedup();
        let runtime = &self.ctx.runtime;
        let look_ups = futures_util::future::join_all(images.into_iter().map(|image| async move {
            let id = runtime.image_status(&image).await;
            (image, id)
        }));
        let this = &*self;
        let prepare = async move {
            let prepared = this.prepare_volumes(pod, facts).await;
            let mut premade = Premade::new();
            if let Ok(volumes) = &prepared {
                // Not those whose environment names the pod's IPs, which the sandbox will have.
                for c in first.into_iter().filter(|c| !env::needs_pod_ips(c)) {
                    // The attempt the container will have: one past its newest, in any sandbox.
                    let newest = snap.containers.iter().filter(|s| s.name == c.name).map(|s| s.attempt).max();
                    let attempt = newest.map_or(0, |a| a + 1);
                    let config = this.prepare_container(pod, c, attempt, sandbox_config, facts, sources, volumes).await;
                    premade.insert(c.name.clone(), (attempt, config));
                }
            }
            (prepared, premade)
        };
        let (sandbox, found, (prepared, premade)) =
            tokio::join!(self.create_sandbox(snap, sandbox_config), look_ups, prepare);
        // A failed look-up is made again, and reported, by ensure_image.
        self.image_ids = found.into_iter().filter_map(|(image, id)| Some((image, id.ok()?))).collect();
        (sandbox, prepared, premade)
    }

    /// Makes every volume of `pod` exist and be current (see [`crate::volumes::prepare`]).
    async fn prepare_volumes(&self, pod: &Pod, facts: &env::PodFacts) -> Result<Volumes, crate::volumes::Error> {
        let ctx = &self.ctx;
        crate::volumes::prepare(pod, &ctx.config.root_dir, &ctx.client, &ctx.tokens, facts).await
    }

    /// Runs a new sandbox (after stopping what is left of a dead one); its ID.
    async fn create_sandbox(&self, snap: &Snapshot, config: &runtime::SandboxConfig) -> Result<String, Error> {
        // A dead sandbox takes its containers with it: stop them before starting over.
        self.stop_all(snap, 0).await;
        self.ctx.runtime_pods.add(&self.key.uid);
        let id = self.ctx.runtime.run_pod_sandbox(config).await?;
        tracing::info!(pod = %self.key.full_name(), sandbox = %id, attempt = config.attempt, "started pod sandbox");
        Ok(id)
    }

    /// The runtime configuration of container `c` (restart `attempt`): its
    /// environment, command, mounts, and on the host its termination-log file
    /// and log directory; else why it cannot be made (CreateContainerConfigError).
    #[allow(clippy::too_many_arguments)]
    async fn prepare_container(
        &self,
        pod: &Pod,
        c: &Container,
        attempt: u32,
        sandbox_config: &runtime::SandboxConfig,
        facts: &env::PodFacts,
        sources: &mut env::Sources,
        volumes: &Volumes,
    ) -> Result<runtime::ContainerConfig, String> {
        let env = env::environment(pod, c, facts, sources).await.map_err(|e| e.to_string())?;
        let (command, args) = env::expand_command(c, &env);
        let mut config = spec::container_config(pod, c, attempt, env, command, args);
        let mut mounts = crate::volumes::mounts(pod, c, volumes).map_err(|e| e.to_string())?;
        let log = spec::termination_log_path(&self.ctx.config.root_dir, &self.key.uid, &c.name, attempt);
        let prepared = log.parent().map(std::fs::create_dir_all).unwrap_or(Ok(())).and_then(|_| {
            std::fs::write(&log, b"")?;
            std::fs::set_permissions(&log, std::os::unix::fs::PermissionsExt::from_mode(0o666))
        });
        if prepared.is_ok() {
            mounts.push(runtime::Mount {
                container_path: c.termination_message_path.clone().unwrap_or_else(|| "/dev/termination-log".into()),
                host_path: log.display().to_string(),
                readonly: false,
            });
        }
        config.mounts = mounts;
        let _ = tokio::fs::create_dir_all(format!("{}/{}", sandbox_config.log_directory, c.name)).await;
        Ok(config)
    }

    /// Pulls per policy, creates (from `premade`, its configuration made
    /// beforehand, if given) and starts one container; records why it waits
    /// when it cannot. Returns how soon to retry when backing off.
    #[allow(clippy::too_many_arguments)]
    async fn start_container(
        &mut self,
        pod: &Pod,
        c: &Container,
        attempt: u32,
        sandbox_id: &str,
        sandbox_config: &runtime::SandboxConfig,
        facts: &env::PodFacts,
        sources: &mut env::Sources,
        volumes: &Volumes,
        premade: Option<Result<runtime::ContainerConfig, String>>,
    ) -> Option<Duration> {
        let field_path = Some(format!("spec.containers{{{}}}", c.name));
        let image = c.image.clone().unwrap_or_default();
        if let Err((reason, message, wait)) = self.ensure_image(pod, c, &image).await {
            self.waiting.insert(c.name.clone(), (reason, message));
            return wait;
        }
        let made = match premade {
            Some(made) => made,
            None => self.prepare_container(pod, c, attempt, sandbox_config, facts, sources, volumes).await,
        };
        let config = match made {
            Ok(config) => config,
            Err(message) => {
                self.ctx.recorder.pod(pod, field_path, "Warning", "Failed", format!("Error: {message}"));
                self.waiting.insert(c.name.clone(), ("CreateContainerConfigError".into(), message));
                return Some(Duration::from_secs(5));
            }
        };
        let id = match self.ctx.runtime.create_container(sandbox_id, &config, sandbox_config).await {
            Ok(id) => {
                self.created.push(id.clone());
                id
            }
            Err(e) => {
                self.ctx.recorder.pod(pod, field_path, "Warning", "Failed", format!("Error: {e}"));
                self.waiting.insert(c.name.clone(), ("CreateContainerError".into(), e.to_string()));
                return Some(Duration::from_secs(5));
            }
        };
        self.ctx.recorder.pod(pod, field_path.clone(), "Normal", "Created", format!("Created container: {}", c.name));
        if let Err(e) = self.ctx.runtime.start_container(&id).await {
            self.ctx.recorder.pod(pod, field_path, "Warning", "Failed", format!("Error: {e}"));
            self.waiting.insert(c.name.clone(), ("RunContainerError".into(), e.to_string()));
            return Some(Duration::from_secs(1));
        }
        tracing::info!(pod = %self.key.full_name(), container = %c.name, attempt, "started container");
        self.ctx.recorder.pod(pod, field_path.clone(), "Normal", "Started", format!("Started container {}", c.name));
        if let Some(hook) = c.lifecycle.as_ref().and_then(|l| l.post_start.as_ref()) {
            let pod_ip = facts.pod_ips.first().cloned().unwrap_or_else(|| self.ctx.host_ip.clone());
            if let Err(e) =
                crate::probes::run_hook(&self.ctx.runtime, hook, c, &id, &pod_ip, Duration::from_secs(30)).await
            {
                // Upstream kills a container whose postStart hook failed; the restart policy takes over.
                self.ctx.recorder.pod(
                    pod,
                    field_path,
                    "Warning",
                    "FailedPostStartHook",
                    format!("PostStartHook failed: {e}"),
                );
                let grace = pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(30);
                let _ = self.ctx.runtime.stop_container(&id, grace).await;
            }
        }
        self.waiting.remove(&c.name);
        None
    }

    /// Makes sure the image is present per the pull policy; on failure
    /// `(reason, message, retry after)`.
    async fn ensure_image(
        &mut self,
        pod: &Pod,
        c: &Container,
        image: &str,
    ) -> Result<(), (String, String, Option<Duration>)> {
        let field_path = Some(format!("spec.containers{{{}}}", c.name));
        let policy = spec::pull_policy(c);
        let present = match self.image_ids.remove(image) {
            Some(id) => Ok(id),
            None => self.ctx.runtime.image_status(image).await,
        };
        let present = match present {
            Ok(p) => p,
            Err(e) => return Err(("ErrImageInspect".into(), e.to_string(), Some(Duration::from_secs(5)))),
        };
        if policy == "Never" {
            return match present {
                Some(_) => Ok(()),
                None => Err((
                    "ErrImageNeverPull".into(),
                    format!("Container image {image:?} is not present with pull policy of Never"),
                    Some(Duration::from_secs(10)),
                )),
            };
        }
        if policy == "IfNotPresent" && present.is_some() {
            self.ctx.recorder.pod(
                pod,
                field_path,
                "Normal",
                "Pulled",
                format!("Container image {image:?} already present on machine"),
            );
            return Ok(());
        }
        let key = format!("{}/{}", self.key.uid, image);
        let now = Instant::now();
        {
            let backoff = self.ctx.backoff.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(wait) = backoff.remaining_since_update(&key, now) {
                drop(backoff);
                self.ctx.recorder.pod(
                    pod,
                    field_path,
                    "Normal",
                    "BackOff",
                    format!("Back-off pulling image {image:?}"),
                );
                return Err(("ImagePullBackOff".into(), format!("Back-off pulling image {image:?}"), Some(wait)));
            }
        }
        self.ctx.recorder.pod(pod, field_path.clone(), "Normal", "Pulling", format!("Pulling image {image:?}"));
        let started = Instant::now();
        match self.ctx.runtime.pull_image(image).await {
            Ok(_) => {
                self.ctx.recorder.pod(
                    pod,
                    field_path,
                    "Normal",
                    "Pulled",
                    format!("Successfully pulled image {image:?} in {:?}", started.elapsed()),
                );
                Ok(())
            }
            Err(e) => {
                let message = match &e {
                    runtime::Error::PullFailed { message, .. } => message.clone(),
                    other => other.to_string(),
                };
                tracing::info!(pod = %self.key.full_name(), image, error = %message, "failed to pull image");
                self.ctx.recorder.pod(
                    pod,
                    field_path,
                    "Warning",
                    "Failed",
                    format!("Failed to pull image {image:?}: {message}"),
                );
                self.ctx.backoff.lock().unwrap_or_else(|p| p.into_inner()).next(&key, Instant::now());
                // Sync again soon so the status moves on to ImagePullBackOff, as upstream's resyncs make it.
                Err(("ErrImagePull".into(), message, Some(Duration::from_secs(1))))
            }
        }
    }

    /// Posts the status `view` gives when it differs from what was posted.
    async fn post_status(
        &mut self,
        pod: &Pod,
        view: &PodView,
        waiting: &HashMap<String, (String, String)>,
    ) -> Result<PodStatus, Error> {
        let mut view = view.clone();
        for (name, w) in waiting {
            view.containers.entry(name.clone()).or_default().waiting = Some(w.clone());
        }
        let mut basis = pod.clone();
        if let Some(s) = &self.last_posted {
            // Our own conditions and times as last posted; everyone else's as the API has them now.
            let mut status = s.clone();
            let ours = s.conditions.iter().flatten().filter(|c| status::KUBELET_CONDITIONS.contains(&c.type_.as_str()));
            let theirs = pod
                .status
                .iter()
                .flat_map(|s| s.conditions.iter().flatten())
                .filter(|c| !status::KUBELET_CONDITIONS.contains(&c.type_.as_str()));
            status.conditions = Some(ours.chain(theirs).cloned().collect());
            basis.status = Some(status);
        }
        let mut new = status::generate(&basis, &view);
        // A status never goes back from terminal.
        if let Some(prev) = basis.status.as_ref().and_then(|s| s.phase.clone())
            && (prev == "Succeeded" || prev == "Failed")
        {
            new.phase = Some(prev);
        }
        if self.last_posted.as_ref() == Some(&new) || pod.status.as_ref() == Some(&new) {
            self.last_posted = Some(new.clone());
            return Ok(new);
        }
        let patch = serde_json::json!({ "metadata": { "uid": self.key.uid }, "status": new });
        match self.pods().patch_status(&self.key.name, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(_) => {
                tracing::debug!(pod = %self.key.full_name(), phase = ?new.phase, "posted pod status");
                self.last_posted = Some(new.clone());
                Ok(new)
            }
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(new),
            Err(source) => Err(Error::StatusUpdateFailed { pod: self.key.full_name(), source }),
        }
    }
}

impl PodView {
    /// A view with no sandbox yet.
    fn default_for(ctx: &Context) -> Self {
        PodView {
            sandbox_ready: false,
            pod_ips: vec![],
            host_ip: ctx.host_ip.clone(),
            id_scheme: ctx.id_scheme.clone(),
            containers: HashMap::new(),
        }
    }
}
