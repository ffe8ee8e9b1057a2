//! The DaemonSet controller, as upstream's `pkg/controller/daemon`: one pod
//! per eligible node (nodeSelector, required node affinity, tolerations incl.
//! the automatic ones), pinned to its node by node affinity; nodes added or
//! removed add or remove pods; RollingUpdate with maxUnavailable and maxSurge
//! or OnDelete, through ControllerRevisions; status counts.

pub mod placement;
mod sync;

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::Node;

use crate::cached_pod::CachedPod;
use crate::claim::controller_of;
use crate::controller::{Action, ControllerContext, ControllerRun, Reconciler};
use crate::events::Recorder;
use crate::informer::{Change, Informer, key_of};
use crate::queue::WorkQueue;

/// The event source and queue name.
pub const COMPONENT: &str = "daemonset-controller";

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
pub struct DaemonSetController {
    client: kube::Client,
    sets: Informer<DaemonSet>,
    pods: Informer<CachedPod>,
    nodes: Informer<Node>,
    revisions: Informer<ControllerRevision>,
    queue: WorkQueue,
    recorder: Recorder,
}

impl std::fmt::Debug for DaemonSetController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaemonSetController").finish_non_exhaustive()
    }
}

/// Constructs the `daemonset-controller`.
pub fn new_controller(ctx: &ControllerContext) -> Result<ControllerRun, String> {
    let controller = Arc::new(DaemonSetController {
        client: ctx.client.clone(),
        sets: ctx.informers.informer::<DaemonSet>(),
        pods: ctx.informers.informer::<CachedPod>(),
        nodes: ctx.informers.informer::<Node>(),
        revisions: ctx.informers.informer::<ControllerRevision>(),
        queue: WorkQueue::new("daemonset", ctx.queue_metrics.clone()),
        recorder: ctx.events.recorder(COMPONENT),
    });
    let queue = controller.queue.clone();
    controller.sets.add_handler(move |change| match change {
        Change::Added(s) | Change::Updated { new: s, .. } | Change::Deleted(s) => queue.add(key_of(&**s)),
    });
    let sets = controller.sets.clone();
    let queue = controller.queue.clone();
    controller.pods.add_handler(move |change| {
        let pod = match change {
            Change::Added(p) | Change::Updated { new: p, .. } | Change::Deleted(p) => p,
        };
        if let Some(r) = controller_of(&pod.metadata).filter(|r| r.kind == "DaemonSet") {
            let ns = pod.metadata.namespace.clone().unwrap_or_default();
            if sets.get(&ns, &r.name).is_some() {
                queue.add(format!("{ns}/{}", r.name));
            }
        }
    });
    let sets = controller.sets.clone();
    let queue = controller.queue.clone();
    controller.nodes.add_handler(move |change| {
        if let Change::Updated { old, new } = change
            && old.metadata.labels == new.metadata.labels
            && old.spec == new.spec
        {
            return;
        }
        for set in sets.list() {
            queue.add(key_of(&*set));
        }
    });
    let stop = ctx.stop.clone();
    Ok(Box::pin(async move {
        controller.sets.wait_synced().await;
        controller.pods.wait_synced().await;
        controller.nodes.wait_synced().await;
        controller.revisions.wait_synced().await;
        let queue = controller.queue.clone();
        crate::controller::run_workers(controller, queue, 2, stop).await;
    }))
}

impl Reconciler for DaemonSetController {
    type Error = Error;

    fn is_conflict(err: &Error) -> bool {
        matches!(err, Error::ApiFailed { source, .. } if crate::claim::is_conflict(source))
    }

    async fn reconcile(&self, key: &str) -> Result<Action, Error> {
        self.sync(key).await
    }
}
