//! What the scheduler writes to the cluster besides bindings, behind one
//! narrow trait: events, the pod's `PodScheduled` condition and nominated
//! node, and preemption victims' deletion. [`KubeWriter`] is the real one;
//! [`NullWriter`] serves in-process runs.
//!
//! Events go out as upstream's event broadcaster sends them: queued (at most
//! [`MAX_QUEUED_EVENTS`], newer ones dropped when full) and written by one task
//! ([`EVENT_WRITERS`] at a time), so under load they never crowd out bindings.

use std::sync::Arc;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

use crate::pod_info::PodInfo;

/// Side effects of a scheduling attempt.
#[async_trait::async_trait]
pub trait ClusterWriter: Send + Sync + 'static {
    /// An event on the pod (`Scheduled`, `FailedScheduling`, `Preempted`).
    async fn event(&self, pod: &PodInfo, warning: bool, reason: &str, action: &str, note: String);
    /// `PodScheduled=False/Unschedulable` with `message`, and `status.nominatedNodeName`.
    async fn mark_unschedulable(&self, pod: &PodInfo, message: &str, nominated: Option<&str>);
    /// Deletes a preemption victim.
    async fn delete_victim(&self, victim: &PodInfo, preemptor: &PodInfo, node: &str);
}

/// Writes nothing (in-process benchmarks and tests).
#[derive(Debug, Default)]
pub struct NullWriter;

#[async_trait::async_trait]
impl ClusterWriter for NullWriter {
    async fn event(&self, _: &PodInfo, _: bool, _: &str, _: &str, _: String) {}
    async fn mark_unschedulable(&self, _: &PodInfo, _: &str, _: Option<&str>) {}
    async fn delete_victim(&self, _: &PodInfo, _: &PodInfo, _: &str) {}
}

/// Events waiting to be written beyond this are dropped (upstream `maxQueuedEvents`).
pub const MAX_QUEUED_EVENTS: usize = 1000;
/// Events written at once (upstream writes one at a time; a few keep up with a burst
/// of bindings without crowding them out).
pub const EVENT_WRITERS: usize = 8;

/// Writes through the API.
pub struct KubeWriter {
    client: kube::Client,
    events: tokio::sync::mpsc::Sender<(Event, ObjectReference)>,
    dropped: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for KubeWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeWriter").finish()
    }
}

impl KubeWriter {
    /// Events are reported by `controller` (the profile's scheduler name); the
    /// task writing them runs until the writer is dropped. Needs a Tokio runtime.
    pub fn new(client: kube::Client, controller: &str, instance: &str) -> Arc<Self> {
        let reporter = Reporter { controller: controller.to_owned(), instance: Some(instance.to_owned()) };
        let sink = Recorder::new(client.clone(), reporter);
        let (events, queued) = tokio::sync::mpsc::channel::<(Event, ObjectReference)>(MAX_QUEUED_EVENTS);
        let queued = futures_util::stream::unfold(queued, |mut q| async move { q.recv().await.map(|e| (e, q)) });
        tokio::spawn(queued.for_each_concurrent(EVENT_WRITERS, move |(ev, reference)| {
            let sink = sink.clone();
            async move {
                if let Err(e) = sink.publish(&ev, &reference).await {
                    tracing::warn!(namespace = ?reference.namespace, name = ?reference.name, reason = %ev.reason, error = %e, "recording event failed");
                }
            }
        }));
        Arc::new(KubeWriter { client, events, dropped: std::sync::atomic::AtomicU64::new(0) })
    }
}

fn reference(pod: &PodInfo) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        name: Some(pod.name.clone()),
        namespace: Some(pod.namespace.clone()),
        uid: (!pod.uid.is_empty()).then(|| pod.uid.clone()),
        resource_version: pod.pod.metadata.resource_version.clone(),
        ..Default::default()
    }
}

/// Whether the pod already shows this unschedulable condition (so no patch is needed).
pub fn condition_unchanged(pod: &PodInfo, message: &str, nominated: Option<&str>) -> bool {
    let status = pod.pod.status.as_ref();
    let same_cond = status.and_then(|s| s.conditions.as_ref()).is_some_and(|cs| {
        cs.iter().any(|c| {
            c.type_ == "PodScheduled"
                && c.status == "False"
                && c.reason.as_deref() == Some("Unschedulable")
                && c.message.as_deref() == Some(message)
        })
    });
    same_cond && nominated.is_none_or(|n| pod.nominated_node_name() == Some(n))
}

#[async_trait::async_trait]
impl ClusterWriter for KubeWriter {
    async fn event(&self, pod: &PodInfo, warning: bool, reason: &str, action: &str, note: String) {
        let mut note = note;
        if note.len() > 1024 {
            let mut end = 1021;
            while !note.is_char_boundary(end) {
                end -= 1;
            }
            note.truncate(end);
            note.push_str("...");
        }
        let ev = Event {
            type_: if warning { EventType::Warning } else { EventType::Normal },
            reason: reason.to_owned(),
            note: Some(note),
            action: action.to_owned(),
            secondary: None,
        };
        if self.events.try_send((ev, reference(pod))).is_err() {
            let n = self.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if n == 1 || n.is_multiple_of(1000) {
                tracing::warn!(dropped = n, "event queue full; dropping events");
            }
        }
    }

    async fn mark_unschedulable(&self, pod: &PodInfo, message: &str, nominated: Option<&str>) {
        if condition_unchanged(pod, message, nominated) {
            return;
        }
        let now = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let mut status = serde_json::json!({
            "conditions": [{
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": message,
                "lastProbeTime": null,
                "lastTransitionTime": now,
            }]
        });
        if let Some(n) = nominated {
            status["nominatedNodeName"] = serde_json::Value::String(n.to_owned());
        }
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &pod.namespace);
        let patch = serde_json::json!({ "status": status });
        if let Err(e) = api.patch_status(&pod.name, &PatchParams::default(), &Patch::Strategic(&patch)).await {
            tracing::warn!(namespace = %pod.namespace, name = %pod.name, error = %e, "updating the PodScheduled condition failed");
        }
    }

    async fn delete_victim(&self, victim: &PodInfo, preemptor: &PodInfo, node: &str) {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &victim.namespace);
        let condition = serde_json::json!({"status": {"conditions": [{
            "type": "DisruptionTarget",
            "status": "True",
            "reason": "PreemptionByScheduler",
            "message": format!("{}: preempting to accommodate a higher priority pod", preemptor.scheduler_name()),
            "lastTransitionTime": jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }]}});
        if let Err(e) = api.patch_status(&victim.name, &PatchParams::default(), &Patch::Strategic(&condition)).await {
            tracing::debug!(namespace = %victim.namespace, name = %victim.name, error = %e, "adding the DisruptionTarget condition failed");
        }
        match api.delete(&victim.name, &DeleteParams::default()).await {
            Ok(_) => {
                self.event(
                    victim,
                    false,
                    "Preempted",
                    "Preempting",
                    format!("Preempted by pod {} on node {node}", preemptor.uid),
                )
                .await;
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                tracing::warn!(namespace = %victim.namespace, name = %victim.name, error = %e, "deleting a preemption victim failed")
            }
        }
    }
}
