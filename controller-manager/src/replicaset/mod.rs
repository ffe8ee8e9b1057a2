//! The replica set controller (and, through the same code, the replication
//! controller manager), as upstream's `pkg/controller/replicaset`: keeps
//! `spec.replicas` pods matching each ReplicaSet's selector, adopting
//! orphans and releasing pods that stop matching, and reports counts in
//! status.

mod handlers;
pub mod kind;
mod manage;
mod status;

use std::sync::Arc;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::ReplicationController;
use kube::Api;

use crate::cached_pod::CachedPod;
use crate::controller::{Action, ControllerContext, ControllerRun, Reconciler};
use crate::events::Recorder;
use crate::expectations::Expectations;
use crate::informer::{Informer, split_key};
use crate::queue::WorkQueue;
pub use kind::ReplicatedKind;

/// Upstream's burst: at most this many creates or deletes per sync.
pub const BURST_REPLICAS: usize = 500;

/// Errors of one sync.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Claim(#[from] crate::claim::Error),
    #[error("creating pods for {key}: {source}")]
    CreatePodsFailed {
        key: String,
        #[source]
        source: kube::Error,
    },
    #[error("deleting pods of {key}: {source}")]
    DeletePodsFailed {
        key: String,
        #[source]
        source: kube::Error,
    },
    #[error("updating status of {key}: {source}")]
    UpdateStatusFailed {
        key: String,
        #[source]
        source: kube::Error,
    },
}

/// The controller for one replicated kind.
pub struct ReplicaSetController<K: ReplicatedKind> {
    client: kube::Client,
    owners: Informer<K>,
    pods: Informer<CachedPod>,
    /// Other replica sets, for ranking pods doubled up on a node (None for RCs).
    siblings: Option<Informer<ReplicaSet>>,
    queue: WorkQueue,
    expectations: Arc<Expectations>,
    recorder: Recorder,
}

impl<K: ReplicatedKind> std::fmt::Debug for ReplicaSetController<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicaSetController").field("kind", &K::kind(&())).finish()
    }
}

fn build<K: ReplicatedKind>(
    ctx: &ControllerContext,
    workers: usize,
    siblings: Option<Informer<ReplicaSet>>,
) -> ControllerRun {
    let controller = Arc::new(ReplicaSetController {
        client: ctx.client.clone(),
        owners: ctx.informers.informer::<K>(),
        pods: ctx.informers.informer::<CachedPod>(),
        siblings,
        queue: WorkQueue::new(K::COMPONENT, ctx.queue_metrics.clone()),
        expectations: Arc::new(Expectations::new()),
        recorder: ctx.events.recorder(K::COMPONENT),
    });
    handlers::register(&controller);
    let stop = ctx.stop.clone();
    Box::pin(async move {
        controller.owners.wait_synced().await;
        controller.pods.wait_synced().await;
        let queue = controller.queue.clone();
        crate::controller::run_workers(controller, queue, workers, stop).await;
    })
}

/// Constructs the `replicaset-controller`.
pub fn new_replicaset_controller(ctx: &ControllerContext) -> Result<ControllerRun, String> {
    let siblings = ctx.informers.informer::<ReplicaSet>();
    Ok(build::<ReplicaSet>(ctx, ctx.options.concurrent_replicaset_syncs, Some(siblings)))
}

/// Constructs the `replicationcontroller-controller`.
pub fn new_replication_controller(ctx: &ControllerContext) -> Result<ControllerRun, String> {
    Ok(build::<ReplicationController>(ctx, ctx.options.concurrent_rc_syncs, None))
}

impl<K: ReplicatedKind> ReplicaSetController<K> {
    /// The pods API, decoding responses as `P` (`Pod`, or `CachedPod` for claims).
    fn pods_api<P>(&self, namespace: &str) -> Api<P>
    where
        P: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), namespace)
    }

    fn owners_api(&self, namespace: &str) -> Api<K> {
        Api::namespaced(self.client.clone(), namespace)
    }
}

impl<K: ReplicatedKind> Reconciler for ReplicaSetController<K> {
    type Error = Error;

    fn is_conflict(err: &Error) -> bool {
        match err {
            Error::UpdateStatusFailed { source, .. } => crate::claim::is_conflict(source),
            Error::Claim(
                crate::claim::Error::AdoptFailed { source, .. } | crate::claim::Error::ReleaseFailed { source, .. },
            ) => crate::claim::is_conflict(source),
            _ => false,
        }
    }

    async fn reconcile(&self, key: &str) -> Result<Action, Error> {
        let (namespace, name) = split_key(key);
        let Some(owner) = self.owners.get(namespace, name) else {
            tracing::debug!(kind = %K::kind(&()), key, "deleted");
            self.expectations.delete(key);
            return Ok(Action::Done);
        };
        let needs_sync = self.expectations.satisfied(key);
        let selector = match owner.selector() {
            Ok(s) => s,
            Err(err) => {
                tracing::warn!(kind = %K::kind(&()), key, error = %err, "invalid selector");
                return Ok(Action::Done);
            }
        };
        let active: Vec<Arc<CachedPod>> =
            self.pods.list_namespace(namespace).into_iter().filter(|p| crate::pods::is_active(p)).collect();
        let owners_api = self.owners_api(namespace);
        let uid = owner.meta().uid.clone();
        let recheck = || async move {
            let fresh = owners_api.get_opt(name).await?;
            Ok(fresh.is_some_and(|f| f.meta().uid == uid && f.meta().deletion_timestamp.is_none()))
        };
        let pods = crate::claim::claim(
            &self.pods_api(namespace),
            &*owner,
            active,
            |p: &CachedPod| selector.matches_opt(p.metadata.labels.as_ref()),
            recheck,
        )
        .await?;

        let mut manage_result = Ok(());
        if needs_sync && owner.meta().deletion_timestamp.is_none() {
            manage_result = self.manage_replicas(key, &owner, &pods).await;
        }
        let now = jiff::Timestamp::now();
        let new_status = status::calculate(&*owner, &pods, manage_result.as_ref().err(), now);
        let updated = self.update_status(key, &owner, new_status).await?;
        manage_result?;
        let min_ready = updated.min_ready_seconds();
        let st = updated.status();
        if min_ready > 0 && st.ready_replicas == updated.replicas() && st.available_replicas != updated.replicas() {
            let after = pods
                .iter()
                .filter_map(|p| crate::pods::available_after(p, min_ready, now))
                .min()
                .unwrap_or(std::time::Duration::from_secs(u64::try_from(min_ready).unwrap_or(1)));
            return Ok(Action::RequeueAfter(after));
        }
        Ok(Action::Done)
    }
}
