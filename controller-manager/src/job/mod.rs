//! The job controller, as upstream's `pkg/controller/job`: runs pods until
//! `completions` succeed (NonIndexed, or one per index in Indexed mode) with
//! at most `parallelism` active, fails the job past `backoffLimit` or
//! `activeDeadlineSeconds`, honours `suspend`, and tracks finished pods
//! with the `batch.kubernetes.io/job-tracking` finalizer so none is counted
//! twice.

pub mod failure_policy;
pub mod indexed;
mod manage;
mod tracking;

use std::sync::Arc;

use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus};
use kube::Api;

use crate::cached_pod::CachedPod;
use crate::claim::controller_of;
use crate::controller::{Action, ControllerContext, ControllerRun, Reconciler};
use crate::events::Recorder;
use crate::expectations::Expectations;
use crate::informer::{Change, Informer, key_of};
use crate::queue::WorkQueue;

/// The event source and queue name.
pub const COMPONENT: &str = "job-controller";
/// The finalizer on every pod of a job until its outcome is counted.
pub const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";

/// Errors of one sync.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Claim(#[from] crate::claim::Error),
    #[error("creating pods for job {key}: {source}")]
    CreatePodsFailed {
        key: String,
        #[source]
        source: kube::Error,
    },
    #[error("deleting pods of job {key}: {source}")]
    DeletePodsFailed {
        key: String,
        #[source]
        source: kube::Error,
    },
    #[error("removing the tracking finalizer from pod {namespace}/{name}: {source}")]
    RemoveFinalizerFailed {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("updating status of job {key}: {source}")]
    UpdateStatusFailed {
        key: String,
        #[source]
        source: kube::Error,
    },
}

/// The controller.
pub struct JobController {
    client: kube::Client,
    jobs: Informer<Job>,
    pods: Informer<CachedPod>,
    queue: WorkQueue,
    expectations: Arc<Expectations>,
    recorder: Recorder,
    /// Per job: the failed count last seen and when it was first seen, for
    /// the pod re-creation backoff (upstream: 10 s doubling, at most 6 min).
    failures: std::sync::Mutex<std::collections::HashMap<String, (i32, std::time::Instant)>>,
}

/// The delay before replacing pods after `failed` failures.
pub fn failure_backoff(failed: i32) -> std::time::Duration {
    if failed <= 0 {
        return std::time::Duration::ZERO;
    }
    let exp = u32::try_from(failed - 1).unwrap_or(0).min(6);
    std::time::Duration::from_secs(10 * (1u64 << exp)).min(std::time::Duration::from_secs(360))
}

impl std::fmt::Debug for JobController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobController").finish_non_exhaustive()
    }
}

/// The job's Complete or Failed condition, if it has finished.
pub fn finished_condition(status: Option<&JobStatus>) -> Option<&JobCondition> {
    status?.conditions.as_ref()?.iter().find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
}

fn job_of(jobs: &Informer<Job>, pod: &CachedPod) -> Option<String> {
    let r = controller_of(&pod.metadata).filter(|r| r.kind == "Job")?;
    let ns = pod.metadata.namespace.as_deref().unwrap_or("");
    let job = jobs.get(ns, &r.name).filter(|j| j.metadata.uid.as_deref() == Some(r.uid.as_str()))?;
    Some(key_of(&*job))
}

/// Constructs the `job-controller`.
pub fn new_controller(ctx: &ControllerContext) -> Result<ControllerRun, String> {
    let controller = Arc::new(JobController {
        client: ctx.client.clone(),
        jobs: ctx.informers.informer::<Job>(),
        pods: ctx.informers.informer::<CachedPod>(),
        queue: WorkQueue::new("job", ctx.queue_metrics.clone()),
        expectations: Arc::new(Expectations::new()),
        recorder: ctx.events.recorder(COMPONENT),
        failures: std::sync::Mutex::default(),
    });
    let queue = controller.queue.clone();
    let exp = Arc::clone(&controller.expectations);
    controller.jobs.add_handler(move |change| match change {
        Change::Added(j) | Change::Updated { new: j, .. } => queue.add(key_of(&**j)),
        Change::Deleted(j) => {
            exp.delete(&key_of(&**j));
            queue.add(key_of(&**j));
        }
    });
    let jobs = controller.jobs.clone();
    let queue = controller.queue.clone();
    let exp = Arc::clone(&controller.expectations);
    controller.pods.add_handler(move |change| match change {
        Change::Added(p) => {
            if let Some(key) = job_of(&jobs, p) {
                if p.metadata.deletion_timestamp.is_some() {
                    exp.deletion_observed(&key, &key_of(&**p));
                } else {
                    exp.creation_observed(&key);
                }
                queue.add(key);
            }
        }
        Change::Updated { old, new } => {
            if old.metadata.resource_version == new.metadata.resource_version {
                return;
            }
            if let Some(key) = job_of(&jobs, new) {
                if new.metadata.deletion_timestamp.is_some() {
                    exp.deletion_observed(&key, &key_of(&**new));
                }
                queue.add(key);
            }
        }
        Change::Deleted(p) => {
            if let Some(key) = job_of(&jobs, p) {
                exp.deletion_observed(&key, &key_of(&**p));
                queue.add(key);
            }
        }
    });
    let workers = ctx.options.concurrent_job_syncs;
    let stop = ctx.stop.clone();
    Ok(Box::pin(async move {
        controller.jobs.wait_synced().await;
        controller.pods.wait_synced().await;
        let queue = controller.queue.clone();
        crate::controller::run_workers(controller, queue, workers, stop).await;
    }))
}

impl JobController {
    /// The pods API, decoding responses as `P` (`Pod`, or `CachedPod` for claims).
    fn pods_api<P>(&self, namespace: &str) -> Api<P>
    where
        P: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), namespace)
    }

    fn jobs_api(&self, namespace: &str) -> Api<Job> {
        Api::namespaced(self.client.clone(), namespace)
    }
}

impl Reconciler for JobController {
    type Error = Error;

    fn is_conflict(err: &Error) -> bool {
        matches!(err, Error::UpdateStatusFailed { source, .. } | Error::RemoveFinalizerFailed { source, .. } if crate::claim::is_conflict(source))
    }

    async fn reconcile(&self, key: &str) -> Result<Action, Error> {
        self.sync_job(key).await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::failure_backoff;

    #[test]
    fn failure_backoff_doubles_from_10s_and_caps_at_6min() {
        assert_eq!(failure_backoff(0), Duration::ZERO);
        assert_eq!(failure_backoff(1), Duration::from_secs(10));
        assert_eq!(failure_backoff(2), Duration::from_secs(20));
        assert_eq!(failure_backoff(6), Duration::from_secs(320));
        assert_eq!(failure_backoff(7), Duration::from_secs(360));
        assert_eq!(failure_backoff(50), Duration::from_secs(360));
    }
}
