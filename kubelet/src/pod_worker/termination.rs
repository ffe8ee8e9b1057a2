//! Stopping a pod's containers (preStop hooks, SIGTERM, SIGKILL after the
//! grace period), removing its sandboxes and confirming its deletion, and the
//! garbage collection of dead containers and sandboxes.

use std::collections::HashMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, Preconditions};

use super::{Error, Outcome, Snapshot, Worker};
use crate::runtime::{self, ContainerState, SandboxState};
use crate::spec;
use crate::status::PodView;

impl Worker {
    /// Removes dead containers beyond the newest two of each name (the
    /// current one and the one `lastState` shows) and dead sandboxes other
    /// than the current one, as upstream's container GC.
    pub(super) async fn collect_garbage(&self, snap: &Snapshot, sandbox_id: &str) {
        let mut by_name: HashMap<&str, Vec<&runtime::ContainerStatus>> = HashMap::new();
        for c in &snap.containers {
            by_name.entry(c.name.as_str()).or_default().push(c);
        }
        for (_, mut list) in by_name {
            list.sort_by(|a, b| b.attempt.cmp(&a.attempt).then(b.created_at.cmp(&a.created_at)));
            for c in list.iter().skip(2).filter(|c| c.state == ContainerState::Exited) {
                tracing::debug!(pod = %self.key.full_name(), container = %c.name, id = %c.id, "removing dead container");
                let _ = self.ctx.runtime.remove_container(&c.id).await;
            }
        }
        for s in snap.sandboxes.iter().filter(|s| s.id != sandbox_id && s.state == SandboxState::NotReady) {
            let live = snap.containers.iter().any(|c| c.sandbox_id == s.id && c.state == ContainerState::Running);
            if !live {
                let _ = self.ctx.runtime.remove_pod_sandbox(&s.id).await;
            }
        }
    }

    /// Stops every running container (SIGTERM, then SIGKILL after `grace` seconds).
    pub(super) async fn stop_all(&self, snap: &Snapshot, grace: i64) {
        self.stop_all_with_hooks(snap, grace, None).await;
    }

    /// Stops every running container: its preStop hook first (when `pod` is
    /// given), then SIGTERM and SIGKILL after what is left of `grace` (at
    /// least 2 s after a hook, as upstream).
    async fn stop_all_with_hooks(&self, snap: &Snapshot, grace: i64, pod: Option<&Pod>) {
        let running: Vec<_> = snap
            .containers
            .iter()
            .filter(|c| matches!(c.state, ContainerState::Running | ContainerState::Created | ContainerState::Unknown))
            .collect();
        let pod_ip = pod
            .and_then(|p| p.status.as_ref())
            .and_then(|s| s.pod_ip.clone())
            .unwrap_or_else(|| self.ctx.host_ip.clone());
        let stops = running.iter().map(|c| {
            let pod_ip = pod_ip.clone();
            async move {
                let mut grace = grace;
                let spec = self.container_spec(pod, &c.name);
                let hook = spec.as_ref().and_then(|s| s.lifecycle.as_ref()).and_then(|l| l.pre_stop.clone());
                if let (Some(spec), Some(hook), true) = (spec.as_ref(), hook, c.state == ContainerState::Running) {
                    let started = std::time::Instant::now();
                    let budget = Duration::from_secs(u64::try_from(grace.max(1)).unwrap_or(1));
                    if let Err(e) = crate::probes::run_hook(&self.ctx.runtime, &hook, spec, &c.id, &pod_ip, budget).await {
                        tracing::info!(pod = %self.key.full_name(), container = %c.name, error = %e, "preStop hook failed");
                        if let Some(pod) = pod {
                            self.ctx.recorder.pod(
                                pod,
                                Some(format!("spec.containers{{{}}}", c.name)),
                                "Warning",
                                "FailedPreStopHook",
                                format!("PreStopHook failed: {e}"),
                            );
                        }
                    }
                    let spent = i64::try_from(started.elapsed().as_secs()).unwrap_or(i64::MAX);
                    grace = (grace - spent).max(2);
                }
                if let Err(e) = self.ctx.runtime.stop_container(&c.id, grace).await {
                    tracing::warn!(pod = %self.key.full_name(), container = %c.name, error = %e, "failed to stop container");
                }
            }
        });
        futures_util::future::join_all(stops).await;
        for s in snap.sandboxes.iter().filter(|s| s.state == SandboxState::Ready) {
            if let Err(e) = self.ctx.runtime.stop_pod_sandbox(&s.id).await {
                tracing::warn!(pod = %self.key.full_name(), sandbox = %s.id, error = %e, "failed to stop sandbox");
            }
        }
    }

    /// The pod's status view once its containers are stopped: sandbox not
    /// ready, no IPs, every container as the runtime now reports it.
    async fn stopped_view(&mut self, pod: &Pod) -> Result<PodView, Error> {
        let after = self.snapshot().await?;
        let sandbox = after.sandboxes.first().map(|s| s.id.clone());
        let (views, _) = self.container_views(Some(pod), &after, sandbox.as_deref(), &HashMap::new()).await?;
        self.waiting.clear();
        Ok(PodView {
            sandbox_ready: false,
            pod_ips: vec![],
            host_ip: self.ctx.host_ip.clone(),
            id_scheme: self.ctx.id_scheme.clone(),
            containers: views,
        })
    }

    /// Evicts the pod, as the eviction manager asked: kills its containers at
    /// once (a hard eviction allows no grace) and posts phase Failed, reason
    /// `Evicted`, the eviction message and a `DisruptionTarget` condition, as upstream.
    pub(super) async fn evict(&mut self, pod: &Pod, message: String) -> Result<Outcome, Error> {
        tracing::info!(pod = %self.key.full_name(), "evicting pod");
        let snap = self.snapshot().await?;
        self.stop_all(&snap, 0).await;
        let view = self.stopped_view(pod).await?;
        let mut basis = pod.clone();
        if let Some(last) = &self.last_posted {
            basis.status = Some(last.clone());
        }
        let mut status = crate::status::generate(&basis, &view);
        status.phase = Some("Failed".into());
        status.reason = Some(crate::eviction::REASON.into());
        status.message = Some(message.clone());
        let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::now());
        let mut conditions: Vec<_> = status
            .conditions
            .take()
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c.type_ != "DisruptionTarget")
            .collect();
        conditions.push(k8s_openapi::api::core::v1::PodCondition {
            type_: "DisruptionTarget".into(),
            status: "True".into(),
            reason: Some("TerminationByKubelet".into()),
            message: Some(message),
            last_transition_time: Some(now),
            ..Default::default()
        });
        status.conditions = Some(conditions);
        let patch = serde_json::json!({ "metadata": { "uid": self.key.uid }, "status": status });
        match self.pods().patch_status(&self.key.name, &Default::default(), &kube::api::Patch::Merge(&patch)).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(source) => return Err(Error::StatusUpdateFailed { pod: self.key.full_name(), source }),
        }
        self.last_posted = Some(status);
        self.terminal = true;
        Ok(Outcome::Requeue(super::RESYNC * 6))
    }

    /// Stops the pod with `grace` seconds, removes its sandboxes and, when
    /// `pod` is still in the API, confirms its deletion (grace 0, UID precondition).
    pub async fn terminate(&mut self, pod: Option<&Pod>, grace: i64) -> Result<Outcome, Error> {
        let snap = self.snapshot().await?;
        if let Some(pod) = pod {
            for c in snap.containers.iter().filter(|c| c.state == ContainerState::Running) {
                self.ctx.recorder.pod(
                    pod,
                    Some(format!("spec.containers{{{}}}", c.name)),
                    "Normal",
                    "Killing",
                    format!("Stopping container {}", c.name),
                );
            }
        }
        tracing::info!(pod = %self.key.full_name(), grace, "killing pod");
        self.stop_all_with_hooks(&snap, grace, pod).await;
        if let Some(pod) = pod {
            // The final status: every container terminated.
            let view = self.stopped_view(pod).await?;
            if let Err(e) = self.post_status(pod, &view, &HashMap::new()).await {
                tracing::debug!(pod = %self.key.full_name(), error = %e, "final status not posted");
            }
        }
        let mut all_removed = true;
        for s in &snap.sandboxes {
            if let Err(e) = self.ctx.runtime.remove_pod_sandbox(&s.id).await {
                tracing::warn!(pod = %self.key.full_name(), sandbox = %s.id, error = %e, "failed to remove sandbox");
                all_removed = false;
            }
        }
        if all_removed {
            self.ctx.runtime_pods.forget(&self.key.uid);
        }
        let log_dir = spec::log_directory(&self.ctx.config.root_dir, &self.key);
        let _ = tokio::fs::remove_dir_all(&log_dir).await;
        crate::volumes::cleanup(&self.ctx.config.root_dir, &self.key.uid).await;
        self.ctx.tokens.forget_pod(&self.key.uid);
        if let Some(root) = &self.ctx.config.cgroup_root {
            // In the background: a busy cgroup must not hold up the deletion.
            let (root, uid) = (root.clone(), self.key.uid.clone());
            tokio::spawn(async move { crate::cgroups::remove_pod_eventually(&root, &uid).await });
        }
        {
            let mut backoff = self.ctx.backoff.lock().unwrap_or_else(|p| p.into_inner());
            for c in &snap.containers {
                backoff.reset(&format!("{}/{}", self.key.uid, c.name));
            }
        }
        if pod.is_some() {
            let params = DeleteParams {
                grace_period_seconds: Some(0),
                preconditions: Some(Preconditions { uid: Some(self.key.uid.clone()), resource_version: None }),
                ..Default::default()
            };
            match self.pods().delete(&self.key.name, &params).await {
                Ok(_) => tracing::info!(pod = %self.key.full_name(), "pod deleted"),
                Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
                Err(source) => return Err(Error::DeleteFailed { pod: self.key.full_name(), source }),
            }
        }
        Ok(Outcome::Done)
    }
}
