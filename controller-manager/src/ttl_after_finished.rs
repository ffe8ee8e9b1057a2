//! The TTL-after-finished controller, as upstream's `ttlafterfinished`:
//! deletes a finished Job (Complete or Failed) `ttlSecondsAfterFinished`
//! after it finished, in the background so its pods go with it, checking
//! the live object first so a Job changed since it was cached is not
//! deleted by mistake.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use kube::Api;
use kube::api::{DeleteParams, Preconditions, PropagationPolicy};

use crate::claim::is_not_found;
use crate::controller::{Action, ControllerContext, ControllerRun, Reconciler};
use crate::informer::{Change, Informer, key_of, split_key};
use crate::job::finished_condition;
use crate::queue::WorkQueue;

/// Errors of one sync.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("getting job {key}: {source}")]
    GetFailed {
        key: String,
        #[source]
        source: kube::Error,
    },
    #[error("deleting job {key}: {source}")]
    DeleteFailed {
        key: String,
        #[source]
        source: kube::Error,
    },
}

/// The controller.
pub struct TtlAfterFinishedController {
    client: kube::Client,
    jobs: Informer<Job>,
    queue: WorkQueue,
}

impl std::fmt::Debug for TtlAfterFinishedController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TtlAfterFinishedController").finish_non_exhaustive()
    }
}

/// How long until `job` expires: `None` when it never does (no TTL, not
/// finished, being deleted), zero when it already has.
pub fn time_left(job: &Job, now: jiff::Timestamp) -> Option<Duration> {
    if job.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let ttl = job.spec.as_ref()?.ttl_seconds_after_finished?;
    let finished = finished_condition(job.status.as_ref())?;
    let at = finished
        .last_transition_time
        .as_ref()
        .map(|t| t.0)
        .or_else(|| job.status.as_ref()?.completion_time.as_ref().map(|t| t.0))?;
    let elapsed_ms = now.duration_since(at).as_millis();
    let ttl_ms = i128::from(ttl) * 1000;
    let left = u64::try_from((ttl_ms - elapsed_ms).max(0)).unwrap_or(0);
    Some(Duration::from_millis(left))
}

/// Constructs the `ttl-after-finished-controller`.
pub fn new_controller(ctx: &ControllerContext) -> Result<ControllerRun, String> {
    let controller = Arc::new(TtlAfterFinishedController {
        client: ctx.client.clone(),
        jobs: ctx.informers.informer::<Job>(),
        queue: WorkQueue::new("ttl_jobs_to_delete", ctx.queue_metrics.clone()),
    });
    let queue = controller.queue.clone();
    controller.jobs.add_handler(move |change| {
        if let Change::Added(j) | Change::Updated { new: j, .. } = change
            && time_left(j, jiff::Timestamp::now()).is_some()
        {
            queue.add(key_of(&**j));
        }
    });
    let stop = ctx.stop.clone();
    Ok(Box::pin(async move {
        controller.jobs.wait_synced().await;
        let queue = controller.queue.clone();
        crate::controller::run_workers(controller, queue, 5, stop).await;
    }))
}

impl Reconciler for TtlAfterFinishedController {
    type Error = Error;

    async fn reconcile(&self, key: &str) -> Result<Action, Error> {
        let (namespace, name) = split_key(key);
        let Some(cached) = self.jobs.get(namespace, name) else { return Ok(Action::Done) };
        match time_left(&cached, jiff::Timestamp::now()) {
            None => return Ok(Action::Done),
            Some(left) if !left.is_zero() => return Ok(Action::RequeueAfter(left)),
            Some(_) => {}
        }
        // The cache may be stale (TTL changed, job replaced): decide on the live object.
        let api: Api<Job> = Api::namespaced(self.client.clone(), namespace);
        let fresh = match api.get_opt(name).await {
            Ok(Some(j)) => j,
            Ok(None) => return Ok(Action::Done),
            Err(source) => return Err(Error::GetFailed { key: key.to_owned(), source }),
        };
        match time_left(&fresh, jiff::Timestamp::now()) {
            None => return Ok(Action::Done),
            Some(left) if !left.is_zero() => return Ok(Action::RequeueAfter(left)),
            Some(_) => {}
        }
        tracing::info!(namespace, name, "cleaning up finished job whose TTL expired");
        let dp = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            preconditions: Some(Preconditions {
                uid: fresh.metadata.uid.clone(),
                resource_version: fresh.metadata.resource_version.clone(),
            }),
            ..Default::default()
        };
        match api.delete(name, &dp).await {
            Ok(_) => Ok(Action::Done),
            Err(err) if is_not_found(&err) => Ok(Action::Done),
            Err(source) => Err(Error::DeleteFailed { key: key.to_owned(), source }),
        }
    }
}
