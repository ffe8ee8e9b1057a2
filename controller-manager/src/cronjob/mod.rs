//! The CronJob controller, as upstream's `cronjob_controllerv2`: creates a
//! Job for each scheduled time (standard cron syntax, macros, `timeZone`),
//! honours `concurrencyPolicy` (Allow / Forbid / Replace),
//! `startingDeadlineSeconds` and `suspend`, tracks active jobs and the last
//! schedule / success times, and prunes finished jobs beyond the history
//! limits.

pub mod schedule;
mod sync;

use std::sync::Arc;

use k8s_openapi::api::batch::v1::{CronJob, Job};

use crate::claim::controller_of;
use crate::controller::{Action, ControllerContext, ControllerRun, Reconciler};
use crate::events::Recorder;
use crate::informer::{Change, Informer, key_of};
use crate::queue::WorkQueue;

/// The event source and queue name.
pub const COMPONENT: &str = "cronjob-controller";

/// Errors of one sync.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("creating job {name}: {source}")]
    CreateJobFailed {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("deleting job {name}: {source}")]
    DeleteJobFailed {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("updating status of cronjob {key}: {source}")]
    UpdateStatusFailed {
        key: String,
        #[source]
        source: kube::Error,
    },
}

/// The controller.
pub struct CronJobController {
    client: kube::Client,
    cronjobs: Informer<CronJob>,
    jobs: Informer<Job>,
    queue: WorkQueue,
    recorder: Recorder,
}

impl std::fmt::Debug for CronJobController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CronJobController").finish_non_exhaustive()
    }
}

/// Constructs the `cronjob-controller`.
pub fn new_controller(ctx: &ControllerContext) -> Result<ControllerRun, String> {
    let controller = Arc::new(CronJobController {
        client: ctx.client.clone(),
        cronjobs: ctx.informers.informer::<CronJob>(),
        jobs: ctx.informers.informer::<Job>(),
        queue: WorkQueue::new("cronjob", ctx.queue_metrics.clone()),
        recorder: ctx.events.recorder(COMPONENT),
    });
    let queue = controller.queue.clone();
    controller.cronjobs.add_handler(move |change| match change {
        Change::Added(c) | Change::Updated { new: c, .. } | Change::Deleted(c) => queue.add(key_of(&**c)),
    });
    let queue = controller.queue.clone();
    controller.jobs.add_handler(move |change| {
        let job = match change {
            Change::Added(j) | Change::Updated { new: j, .. } | Change::Deleted(j) => j,
        };
        if let Some(r) = controller_of(&job.metadata).filter(|r| r.kind == "CronJob") {
            let ns = job.metadata.namespace.clone().unwrap_or_default();
            queue.add(format!("{ns}/{}", r.name));
        }
    });
    let stop = ctx.stop.clone();
    Ok(Box::pin(async move {
        controller.cronjobs.wait_synced().await;
        controller.jobs.wait_synced().await;
        let queue = controller.queue.clone();
        crate::controller::run_workers(controller, queue, 5, stop).await;
    }))
}

impl Reconciler for CronJobController {
    type Error = Error;

    fn is_conflict(err: &Error) -> bool {
        matches!(err, Error::UpdateStatusFailed { source, .. } if crate::claim::is_conflict(source))
    }

    async fn reconcile(&self, key: &str) -> Result<Action, Error> {
        self.sync_cronjob(key).await
    }
}
