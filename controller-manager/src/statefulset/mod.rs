//! The StatefulSet controller, as upstream's `pkg/controller/statefulset`:
//! pods with stable names `SET-N` and hostnames, PersistentVolumeClaims from
//! `volumeClaimTemplates` (with the retention policy), OrderedReady or
//! Parallel pod management, RollingUpdate (with `partition`) or OnDelete
//! updates through ControllerRevisions, and status with current and update
//! revisions.

mod control;
pub mod revision;

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use rustkube_api::label_selector::LabelSelector;

use crate::cached_pod::CachedPod;
use crate::claim::controller_of;
use crate::controller::{Action, ControllerContext, ControllerRun, Reconciler};
use crate::events::Recorder;
use crate::informer::{Change, Informer, key_of};
use crate::queue::WorkQueue;

/// The event source and queue name.
pub const COMPONENT: &str = "statefulset-controller";

/// Errors of one sync.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Claim(#[from] crate::claim::Error),
    #[error("{action} {kind} {name}: {source}")]
    ApiFailed {
        action: &'static str,
        kind: &'static str,
        name: String,
        #[source]
        source: kube::Error,
    },
}

/// The controller.
pub struct StatefulSetController {
    client: kube::Client,
    sets: Informer<StatefulSet>,
    pods: Informer<CachedPod>,
    revisions: Informer<ControllerRevision>,
    queue: WorkQueue,
    recorder: Recorder,
}

impl std::fmt::Debug for StatefulSetController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatefulSetController").finish_non_exhaustive()
    }
}

fn enqueue_for_pod(sets: &Informer<StatefulSet>, queue: &WorkQueue, pod: &CachedPod) {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("");
    if let Some(r) = controller_of(&pod.metadata) {
        if r.kind == "StatefulSet"
            && let Some(set) = sets.get(ns, &r.name).filter(|s| s.metadata.uid.as_deref() == Some(r.uid.as_str()))
        {
            queue.add(key_of(&*set));
        }
        return;
    }
    for set in sets.list_namespace(ns) {
        let selector = set.spec.as_ref().map(|s| &s.selector);
        if LabelSelector::from_meta(selector)
            .is_ok_and(|s| !s.is_everything() && s.matches_opt(pod.metadata.labels.as_ref()))
        {
            queue.add(key_of(&*set));
        }
    }
}

/// Constructs the `statefulset-controller`.
pub fn new_controller(ctx: &ControllerContext) -> Result<ControllerRun, String> {
    let controller = Arc::new(StatefulSetController {
        client: ctx.client.clone(),
        sets: ctx.informers.informer::<StatefulSet>(),
        pods: ctx.informers.informer::<CachedPod>(),
        revisions: ctx.informers.informer::<ControllerRevision>(),
        queue: WorkQueue::new("statefulset", ctx.queue_metrics.clone()),
        recorder: ctx.events.recorder(COMPONENT),
    });
    let queue = controller.queue.clone();
    controller.sets.add_handler(move |change| match change {
        Change::Added(s) | Change::Updated { new: s, .. } | Change::Deleted(s) => queue.add(key_of(&**s)),
    });
    let sets = controller.sets.clone();
    let queue = controller.queue.clone();
    controller.pods.add_handler(move |change| match change {
        Change::Added(p) | Change::Deleted(p) => enqueue_for_pod(&sets, &queue, p),
        Change::Updated { old, new } => {
            if old.metadata.resource_version != new.metadata.resource_version {
                if old.metadata.labels != new.metadata.labels {
                    enqueue_for_pod(&sets, &queue, old);
                }
                enqueue_for_pod(&sets, &queue, new);
            }
        }
    });
    let stop = ctx.stop.clone();
    Ok(Box::pin(async move {
        controller.sets.wait_synced().await;
        controller.pods.wait_synced().await;
        controller.revisions.wait_synced().await;
        let queue = controller.queue.clone();
        crate::controller::run_workers(controller, queue, 5, stop).await;
    }))
}

impl Reconciler for StatefulSetController {
    type Error = Error;

    fn is_conflict(err: &Error) -> bool {
        matches!(err, Error::ApiFailed { source, .. } if crate::claim::is_conflict(source))
    }

    async fn reconcile(&self, key: &str) -> Result<Action, Error> {
        self.sync(key).await
    }
}
