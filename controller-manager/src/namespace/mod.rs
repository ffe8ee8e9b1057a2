//! The namespace controller, as upstream's `pkg/controller/namespace`: when
//! a namespace is being deleted, delete every namespaced object in it (all
//! resources discovery lists), report progress in status conditions while
//! content or finalizers remain, then remove the `kubernetes` finalizer
//! through `namespaces/NAME/finalize` so the namespace goes away.

mod deleter;

use std::sync::Arc;

use k8s_openapi::api::core::v1::Namespace;

use crate::controller::{Action, ControllerContext, ControllerRun, Reconciler};
use crate::informer::{Change, Informer};
use crate::queue::WorkQueue;

/// The spec finalizer this controller owns.
pub const FINALIZER: &str = "kubernetes";

/// Errors of one sync.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Discovery(#[from] crate::discovery::Error),
    #[error("getting namespace {name}: {source}")]
    GetFailed {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("updating status of namespace {name}: {source}")]
    UpdateStatusFailed {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("finalizing namespace {name}: {source}")]
    FinalizeFailed {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("deleting content of namespace {name}: {message}")]
    ContentDeletionFailed { name: String, message: String },
}

/// The controller.
pub struct NamespaceController {
    client: kube::Client,
    namespaces: Informer<Namespace>,
    queue: WorkQueue,
}

impl std::fmt::Debug for NamespaceController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamespaceController").finish_non_exhaustive()
    }
}

/// Constructs the `namespace-controller`.
pub fn new_controller(ctx: &ControllerContext) -> Result<ControllerRun, String> {
    let controller = Arc::new(NamespaceController {
        client: ctx.client.clone(),
        namespaces: ctx.informers.informer::<Namespace>(),
        queue: WorkQueue::new("namespace", ctx.queue_metrics.clone()),
    });
    let queue = controller.queue.clone();
    controller.namespaces.add_handler(move |change| {
        if let Change::Added(ns) | Change::Updated { new: ns, .. } = change
            && ns.metadata.deletion_timestamp.is_some()
        {
            queue.add(ns.metadata.name.clone().unwrap_or_default());
        }
    });
    let workers = ctx.options.concurrent_namespace_syncs;
    let stop = ctx.stop.clone();
    Ok(Box::pin(async move {
        controller.namespaces.wait_synced().await;
        let queue = controller.queue.clone();
        crate::controller::run_workers(controller, queue, workers, stop).await;
    }))
}

impl Reconciler for NamespaceController {
    type Error = Error;

    async fn reconcile(&self, name: &str) -> Result<Action, Error> {
        let Some(cached) = self.namespaces.get("", name) else { return Ok(Action::Done) };
        if cached.metadata.deletion_timestamp.is_none() {
            return Ok(Action::Done);
        }
        self.delete_namespace(name).await
    }
}
