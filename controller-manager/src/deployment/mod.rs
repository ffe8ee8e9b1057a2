//! The deployment controller, as upstream's `pkg/controller/deployment`:
//! rolls a Deployment's pod template out through ReplicaSets (rolling update
//! or recreate), keeps revisions and history, scales proportionally, and
//! reports progress and availability conditions `kubectl rollout status`
//! reads.

mod handlers;
mod progress;
mod recreate;
mod rolling;
mod sync;
pub mod util;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};
use rustkube_api::label_selector::LabelSelector;

use crate::cached_pod::CachedPod;
use crate::claim::is_not_found;
use crate::controller::{Action, ControllerContext, ControllerRun, Reconciler};
use crate::events::{Recorder, WARNING};
use crate::informer::{Informer, split_key};
use crate::queue::WorkQueue;

/// The event source and queue name.
pub const COMPONENT: &str = "deployment-controller";

/// Errors of one sync.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Claim(#[from] crate::claim::Error),
    #[error("creating replica set {name}: {source}")]
    CreateReplicaSetFailed {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("replica set {name} exists with a different template (hash collision), collisionCount is now {count}")]
    HashCollision { name: String, count: i32 },
    #[error("updating replica set {name}: {source}")]
    UpdateReplicaSetFailed {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("deleting replica set {name}: {source}")]
    DeleteReplicaSetFailed {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("updating deployment {name}: {source}")]
    UpdateDeploymentFailed {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("updating status of deployment {name}: {source}")]
    UpdateStatusFailed {
        name: String,
        #[source]
        source: kube::Error,
    },
}

/// A deployment's replica sets: all of them, and which one is new.
#[derive(Debug, Clone, Default)]
pub(crate) struct Family {
    pub rss: Vec<ReplicaSet>,
    pub new: Option<usize>,
}

impl Family {
    pub fn new_rs(&self) -> Option<&ReplicaSet> {
        self.new.map(|i| &self.rss[i])
    }

    pub fn old(&self) -> impl Iterator<Item = &ReplicaSet> {
        self.rss.iter().enumerate().filter(move |(i, _)| Some(*i) != self.new).map(|(_, rs)| rs)
    }

    /// Indices of the old replica sets.
    pub fn old_indices(&self) -> Vec<usize> {
        (0..self.rss.len()).filter(|i| Some(*i) != self.new).collect()
    }
}

/// The controller.
pub struct DeploymentController {
    client: kube::Client,
    deployments: Informer<Deployment>,
    rss: Informer<ReplicaSet>,
    pods: Informer<CachedPod>,
    queue: WorkQueue,
    recorder: Recorder,
    /// Replica sets as this controller last wrote them, until the cache
    /// catches up, so a sync never acts on a replica set older than its own write.
    written: Mutex<HashMap<String, ReplicaSet>>,
}

impl std::fmt::Debug for DeploymentController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeploymentController").finish_non_exhaustive()
    }
}

/// Constructs the `deployment-controller`.
pub fn new_controller(ctx: &ControllerContext) -> Result<ControllerRun, String> {
    let controller = Arc::new(DeploymentController {
        client: ctx.client.clone(),
        deployments: ctx.informers.informer::<Deployment>(),
        rss: ctx.informers.informer::<ReplicaSet>(),
        pods: ctx.informers.informer::<CachedPod>(),
        queue: WorkQueue::new(COMPONENT, ctx.queue_metrics.clone()),
        recorder: ctx.events.recorder(COMPONENT),
        written: Mutex::default(),
    });
    handlers::register(&controller);
    let workers = ctx.options.concurrent_deployment_syncs;
    let stop = ctx.stop.clone();
    Ok(Box::pin(async move {
        controller.deployments.wait_synced().await;
        controller.rss.wait_synced().await;
        controller.pods.wait_synced().await;
        let queue = controller.queue.clone();
        crate::controller::run_workers(controller, queue, workers, stop).await;
    }))
}

fn rv(obj: &ReplicaSet) -> Option<u64> {
    obj.metadata.resource_version.as_deref().and_then(|v| v.parse().ok())
}

impl DeploymentController {
    fn rs_api(&self, namespace: &str) -> Api<ReplicaSet> {
        Api::namespaced(self.client.clone(), namespace)
    }

    fn deployment_api(&self, namespace: &str) -> Api<Deployment> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// The cached replica sets of `namespace`, overlaid with this controller's newer writes.
    fn replica_sets(&self, namespace: &str) -> Vec<Arc<ReplicaSet>> {
        let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
        self.rss
            .list_namespace(namespace)
            .into_iter()
            .map(|cached| {
                let uid = cached.metadata.uid.clone().unwrap_or_default();
                match written.get(&uid) {
                    Some(mine) if rv(mine) > rv(&cached) => Arc::new(mine.clone()),
                    Some(_) => {
                        written.remove(&uid);
                        cached
                    }
                    None => cached,
                }
            })
            .collect()
    }

    fn remember(&self, rs: &ReplicaSet) {
        if let Some(uid) = rs.metadata.uid.clone() {
            self.written.lock().unwrap_or_else(|p| p.into_inner()).insert(uid, rs.clone());
        }
    }

    pub(crate) fn forget_written(&self, uid: &str) {
        self.written.lock().unwrap_or_else(|p| p.into_inner()).remove(uid);
    }

    /// Replaces `rs` (conditional on its resourceVersion).
    async fn update_rs(&self, rs: &ReplicaSet) -> Result<ReplicaSet, Error> {
        let name = rs.name_any();
        let api = self.rs_api(&rs.namespace().unwrap_or_default());
        let updated = api
            .replace(&name, &PostParams::default(), rs)
            .await
            .map_err(|source| Error::UpdateReplicaSetFailed { name, source })?;
        self.remember(&updated);
        Ok(updated)
    }

    async fn delete_rs(&self, rs: &ReplicaSet) -> Result<(), Error> {
        let name = rs.name_any();
        let api = self.rs_api(&rs.namespace().unwrap_or_default());
        let dp = DeleteParams {
            preconditions: Some(Preconditions { uid: rs.metadata.uid.clone(), resource_version: None }),
            ..Default::default()
        };
        match api.delete(&name, &dp).await {
            Ok(_) => Ok(()),
            Err(err) if is_not_found(&err) => Ok(()),
            Err(source) => Err(Error::DeleteReplicaSetFailed { name, source }),
        }
    }

    /// Writes what changed of `d` against `original`: annotations through the
    /// object, status through `/status`.
    async fn write(&self, original: &Deployment, d: &mut Deployment) -> Result<(), Error> {
        let name = d.name_any();
        let api = self.deployment_api(&d.namespace().unwrap_or_default());
        if d.metadata.annotations != original.metadata.annotations {
            let mut copy = original.clone();
            copy.metadata.annotations = d.metadata.annotations.clone();
            let written = api
                .replace(&name, &PostParams::default(), &copy)
                .await
                .map_err(|source| Error::UpdateDeploymentFailed { name: name.clone(), source })?;
            d.metadata.resource_version = written.metadata.resource_version;
            d.metadata.generation = written.metadata.generation;
            if let Some(status) = d.status.as_mut() {
                status.observed_generation = written.metadata.generation;
            }
        }
        if d.status != original.status {
            let written = api
                .replace_status(&name, &PostParams::default(), d)
                .await
                .map_err(|source| Error::UpdateStatusFailed { name, source })?;
            *d = written;
        }
        Ok(())
    }
}

impl Reconciler for DeploymentController {
    type Error = Error;

    fn is_conflict(err: &Error) -> bool {
        match err {
            Error::UpdateReplicaSetFailed { source, .. }
            | Error::UpdateDeploymentFailed { source, .. }
            | Error::UpdateStatusFailed { source, .. } => crate::claim::is_conflict(source),
            _ => false,
        }
    }

    async fn reconcile(&self, key: &str) -> Result<Action, Error> {
        let (namespace, name) = split_key(key);
        let Some(original) = self.deployments.get(namespace, name) else {
            tracing::debug!(key, "deployment deleted");
            return Ok(Action::Done);
        };
        let mut d = (*original).clone();
        let spec_selector = d.spec.as_ref().map(|s| s.selector.clone()).unwrap_or_default();
        let everything = spec_selector.match_labels.as_ref().is_none_or(|m| m.is_empty())
            && spec_selector.match_expressions.as_ref().is_none_or(|m| m.is_empty());
        if everything {
            self.recorder.event(
                &d,
                WARNING,
                "SelectingAll",
                "This deployment is selecting all pods. A non-empty selector is required.",
            );
            let status = d.status.get_or_insert_with(Default::default);
            if status.observed_generation < d.metadata.generation {
                status.observed_generation = d.metadata.generation;
                self.write(&original, &mut d).await?;
            }
            return Ok(Action::Done);
        }
        let selector = match LabelSelector::from_meta(Some(&spec_selector)) {
            Ok(s) => s,
            Err(err) => {
                tracing::warn!(key, error = %err, "invalid selector");
                return Ok(Action::Done);
            }
        };
        let family = self.claim_replica_sets(&d, &selector).await?;
        self.sync_deployment(&original, d, family).await
    }
}
