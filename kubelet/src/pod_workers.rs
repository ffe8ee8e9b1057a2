//! Feeds pod workers: a list-watch of the pods bound to this node
//! (`spec.nodeName=<node>`) starts one worker task per pod UID, hands it the
//! newest pod, and a relist of the runtime every second (upstream's PLEG)
//! wakes the worker of any pod whose containers changed. A worker runs one
//! sync at a time, so a pod never has two syncs in flight.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::runtime::watcher;
use tokio::sync::{Notify, watch};

use crate::pod_worker::{Context, Outcome, Worker};
use crate::runtime::ContainerState;
use crate::spec::PodKey;

/// How often the runtime is relisted for container state changes.
pub const RELIST_PERIOD: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct Handle {
    pod: watch::Sender<Option<Arc<Pod>>>,
    wake: Arc<Notify>,
}

/// The live workers by pod UID.
#[derive(Debug, Clone, Default)]
pub struct Workers {
    inner: Arc<Mutex<HashMap<String, Handle>>>,
}

impl Workers {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Handle>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Number of pods with a worker.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Hands `pod` to its worker, starting one when there is none.
    fn update(&self, ctx: &Arc<Context>, pod: Pod) {
        let key = PodKey::of(&pod);
        if key.uid.is_empty() {
            return;
        }
        let mut map = self.lock();
        if let Some(h) = map.get(&key.uid)
            && !h.pod.is_closed()
        {
            // Status-only changes (often our own writes) update the cached pod without a sync, as upstream.
            let pod = Arc::new(pod);
            h.pod.send_if_modified(|cur| {
                let relevant = cur.as_deref().is_none_or(|old| needs_sync(old, &pod));
                *cur = Some(Arc::clone(&pod));
                relevant
            });
            return;
        }
        tracing::debug!(pod = %key.full_name(), "new pod, starting its worker");
        let (tx, rx) = watch::channel(Some(Arc::new(pod)));
        let wake = Arc::new(Notify::new());
        map.insert(key.uid.clone(), Handle { pod: tx, wake: Arc::clone(&wake) });
        let workers = self.clone();
        let ctx = Arc::clone(ctx);
        tokio::spawn(async move {
            run_worker(Arc::clone(&ctx), key.clone(), rx, Arc::clone(&wake)).await;
            ctx.forget_eviction(&key.uid);
            let mut map = workers.lock();
            // Only this worker's own entry: a newer one may have replaced it.
            if map.get(&key.uid).is_some_and(|h| Arc::ptr_eq(&h.wake, &wake)) {
                map.remove(&key.uid);
            }
        });
    }

    /// Tells the worker its pod is gone from the API.
    fn remove(&self, uid: &str) {
        if let Some(h) = self.lock().get(uid) {
            let _ = h.pod.send(None);
        }
    }

    /// Wakes the worker of `uid`, if any.
    pub fn wake_pod(&self, uid: &str) {
        self.wake(uid);
    }

    fn wake(&self, uid: &str) {
        if let Some(h) = self.lock().get(uid) {
            h.wake.notify_one();
        }
    }

    /// The newest version of every pod with a worker.
    pub fn pods(&self) -> Vec<Pod> {
        self.lock().values().filter_map(|h| h.pod.borrow().as_deref().cloned()).collect()
    }

    fn uids(&self) -> HashSet<String> {
        self.lock().keys().cloned().collect()
    }
}

/// Whether a new version of a pod changes what its worker should do.
fn needs_sync(old: &Pod, new: &Pod) -> bool {
    old.spec != new.spec
        || old.metadata.deletion_timestamp != new.metadata.deletion_timestamp
        || old.metadata.deletion_grace_period_seconds != new.metadata.deletion_grace_period_seconds
        || old.metadata.labels != new.metadata.labels
        || old.metadata.annotations != new.metadata.annotations
        // Of the status, only what a readiness gate waits on (as upstream's
        // HandlePodReconcile): the kubelet's own writes, PodScheduled and the
        // like change nothing it does.
        || crate::status::readiness_gate_conditions(old) != crate::status::readiness_gate_conditions(new)
}

async fn run_worker(ctx: Arc<Context>, key: PodKey, mut rx: watch::Receiver<Option<Arc<Pod>>>, wake: Arc<Notify>) {
    let mut worker = Worker::new(Arc::clone(&ctx), key.clone());
    let mut last_pod: Option<Arc<Pod>> = None;
    let mut failures = 0u32;
    loop {
        let pod = rx.borrow_and_update().clone();
        let result = match &pod {
            Some(p) => {
                last_pod = Some(Arc::clone(p));
                worker.sync(p).await
            }
            None => {
                // Gone from the API (force deletion): kill what is left.
                let grace = last_pod.as_ref().and_then(|p| p.metadata.deletion_grace_period_seconds).unwrap_or(1);
                worker.terminate(None, grace).await
            }
        };
        let wait = match result {
            Ok(Outcome::Done) => return,
            Ok(Outcome::Requeue(d)) => {
                failures = 0;
                d
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::warn!(pod = %key.full_name(), error = %e, "error syncing pod, will retry");
                Duration::from_millis(200u64.saturating_mul(1 << failures.min(6)))
            }
        };
        tokio::select! {
            changed = rx.changed() => if changed.is_err() { return },
            _ = wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Runs until `shutdown`: the pod list-watch and the runtime relist.
pub async fn run(ctx: Arc<Context>, workers: Workers, mut shutdown: watch::Receiver<bool>) {
    ctx.runtime_pods.seed(ctx.runtime.as_ref()).await;
    let relist = tokio::spawn(relist_loop(Arc::clone(&ctx), workers.clone()));
    let api: Api<Pod> = Api::all(ctx.client.clone());
    let config = watcher::Config::default().fields(&format!("spec.nodeName={}", ctx.config.node_name));
    let mut stream = watcher(api, config).boxed();
    let mut listed: HashSet<String> = HashSet::new();
    loop {
        let event = tokio::select! {
            e = stream.next() => e,
            _ = shutdown.changed() => break,
        };
        match event {
            Some(Ok(watcher::Event::Apply(pod))) => workers.update(&ctx, pod),
            Some(Ok(watcher::Event::Delete(pod))) => {
                if let Some(uid) = pod.metadata.uid.as_deref() {
                    workers.remove(uid);
                }
            }
            Some(Ok(watcher::Event::Init)) => listed.clear(),
            Some(Ok(watcher::Event::InitApply(pod))) => {
                if let Some(uid) = pod.metadata.uid.clone() {
                    listed.insert(uid);
                }
                workers.update(&ctx, pod);
            }
            Some(Ok(watcher::Event::InitDone)) => {
                // Pods deleted while the watch was down.
                for uid in workers.uids().difference(&listed) {
                    workers.remove(uid);
                }
                cleanup_orphans(&ctx, &workers).await;
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "pod watch failed, retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.changed() => break,
                }
            }
            None => break,
        }
    }
    relist.abort();
}

/// Stops and removes sandboxes of pods this kubelet has no worker for.
async fn cleanup_orphans(ctx: &Arc<Context>, workers: &Workers) {
    let live = workers.uids();
    // Pod directories (volumes, termination logs) of pods that are gone.
    if let Ok(mut dirs) = tokio::fs::read_dir(ctx.config.root_dir.join("pods")).await {
        while let Ok(Some(d)) = dirs.next_entry().await {
            let uid = d.file_name().to_string_lossy().into_owned();
            if !live.contains(&uid) {
                tracing::info!(uid = %uid, "removing orphaned pod directory");
                crate::volumes::cleanup(&ctx.config.root_dir, &uid).await;
            }
        }
    }
    let Ok(sandboxes) = ctx.runtime.list_pod_sandboxes().await else { return };
    for s in sandboxes.iter().filter(|s| !s.uid.is_empty() && !live.contains(&s.uid)) {
        tracing::info!(sandbox = %s.id, pod = %format!("{}/{}", s.namespace, s.name), "removing orphaned pod sandbox");
        let _ = ctx.runtime.stop_pod_sandbox(&s.id).await;
        let _ = ctx.runtime.remove_pod_sandbox(&s.id).await;
        if let Some(root) = &ctx.config.cgroup_root {
            crate::cgroups::remove_pod_eventually(root, &s.uid).await;
        }
    }
}

/// Upstream's PLEG: relist containers and wake the pods whose containers changed.
async fn relist_loop(ctx: Arc<Context>, workers: Workers) {
    let mut previous: HashMap<String, (ContainerState, String)> = HashMap::new();
    let mut ticker = tokio::time::interval(RELIST_PERIOD);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Ok(containers) = ctx.runtime.list_containers().await else { continue };
        let mut current = HashMap::with_capacity(containers.len());
        for c in containers {
            let uid = c.pod_uid().unwrap_or_default().to_owned();
            if previous.get(&c.id).map(|(s, _)| *s) != Some(c.state) {
                workers.wake(&uid);
            }
            current.insert(c.id, (c.state, uid));
        }
        for (id, (_, uid)) in &previous {
            if !current.contains_key(id) {
                workers.wake(uid);
            }
        }
        previous = current;
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{PodCondition, PodReadinessGate, PodSpec, PodStatus};

    use super::*;

    fn with_conditions(gates: &[&str], conditions: &[(&str, &str)]) -> Pod {
        Pod {
            spec: Some(PodSpec {
                readiness_gates: Some(
                    gates.iter().map(|g| PodReadinessGate { condition_type: (*g).to_owned() }).collect(),
                ),
                ..Default::default()
            }),
            status: Some(PodStatus {
                conditions: Some(
                    conditions
                        .iter()
                        .map(|(t, s)| PodCondition {
                            type_: (*t).to_owned(),
                            status: (*s).to_owned(),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn only_readiness_gate_conditions_of_the_status_call_for_a_sync() {
        let before = with_conditions(&["example.com/lb"], &[("example.com/lb", "False")]);
        // The kubelet's own conditions and PodScheduled (often its own write) do not.
        let posted = with_conditions(
            &["example.com/lb"],
            &[("example.com/lb", "False"), ("PodScheduled", "True"), ("Ready", "False")],
        );
        assert!(!needs_sync(&before, &posted));
        // A gate's condition turning does: Ready waits on it.
        let gate_open = with_conditions(&["example.com/lb"], &[("example.com/lb", "True"), ("PodScheduled", "True")]);
        assert!(needs_sync(&posted, &gate_open));
        // A condition no gate names does not.
        let other = with_conditions(&["example.com/lb"], &[("example.com/lb", "True"), ("DisruptionTarget", "True")]);
        assert!(!needs_sync(&gate_open, &other));
    }
}
