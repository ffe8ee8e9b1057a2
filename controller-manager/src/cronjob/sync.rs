//! One CronJob sync: reconcile the active list with the jobs that exist,
//! record completions, prune history, then start the most recent missed
//! run if the schedule, deadline and concurrency policy allow it.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, DeleteParams, PostParams, PropagationPolicy};
use kube::{Resource, ResourceExt};

use super::schedule::Schedule;
use super::{CronJobController, Error};
use crate::claim::{controller_of, controller_ref, is_conflict, is_not_found};
use crate::controller::Action;
use crate::events::{NORMAL, WARNING};
use crate::informer::split_key;
use crate::job::finished_condition;

/// The annotation carrying a job's scheduled time.
pub const SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";
/// Upstream gives up counting missed start times beyond this.
const MAX_MISSED: usize = 100;

fn seconds(t: Timestamp) -> Time {
    Time(Timestamp::from_second(t.as_second()).unwrap_or(t))
}

fn job_reference(job: &Job) -> ObjectReference {
    ObjectReference {
        api_version: Some(Job::api_version(&()).into_owned()),
        kind: Some(Job::kind(&()).into_owned()),
        name: job.metadata.name.clone(),
        namespace: job.metadata.namespace.clone(),
        uid: job.metadata.uid.clone(),
        resource_version: job.metadata.resource_version.clone(),
        ..Default::default()
    }
}

/// The latest scheduled time in `(earliest, now]` and how many there were.
fn most_recent(schedule: &Schedule, tz: &TimeZone, earliest: Timestamp, now: Timestamp) -> (Option<Timestamp>, usize) {
    let mut last = None;
    let mut count = 0;
    let mut t = earliest;
    while let Some(next) = schedule.next(t, tz) {
        if next > now {
            break;
        }
        last = Some(next);
        count += 1;
        t = next;
        if count > MAX_MISSED {
            // Jump close to now instead of walking every missed minute.
            let skip_from = now.checked_sub(jiff::SignedDuration::from_secs(366 * 24 * 3600)).unwrap_or(now);
            if t < skip_from {
                t = skip_from;
            }
        }
    }
    (last, count)
}

fn requeue_at(next: Option<Timestamp>, now: Timestamp) -> Action {
    match next {
        Some(n) => {
            let ms = u64::try_from(n.duration_since(now).as_millis().max(0)).unwrap_or(0);
            Action::RequeueAfter(Duration::from_millis(ms + 100))
        }
        None => Action::Done,
    }
}

impl CronJobController {
    fn jobs_api(&self, namespace: &str) -> Api<Job> {
        Api::namespaced(self.client.clone(), namespace)
    }

    pub(super) async fn sync_cronjob(&self, key: &str) -> Result<Action, Error> {
        let (namespace, name) = split_key(key);
        let Some(cached) = self.cronjobs.get(namespace, name) else { return Ok(Action::Done) };
        let cj = (*cached).clone();
        let uid = cj.metadata.uid.clone().unwrap_or_default();
        let children: Vec<Arc<Job>> = self
            .jobs
            .list_namespace(namespace)
            .into_iter()
            .filter(|j| controller_of(&j.metadata).is_some_and(|r| r.uid == uid))
            .collect();
        let mut status = cj.status.clone().unwrap_or_default();
        let now = Timestamp::now();

        // Active list: drop jobs that are gone or finished, add unfinished ones we do not list.
        let mut active: Vec<ObjectReference> = status.active.clone().unwrap_or_default();
        active.retain(|r| {
            children.iter().any(|j| j.metadata.uid == r.uid && finished_condition(j.status.as_ref()).is_none())
        });
        for job in &children {
            let listed = active.iter().any(|r| r.uid == job.metadata.uid);
            match finished_condition(job.status.as_ref()) {
                None if !listed => {
                    self.recorder.event(
                        &cj,
                        NORMAL,
                        "UnexpectedJob",
                        format!("Saw a job that the controller did not create or forgot: {}", job.name_any()),
                    );
                    active.push(job_reference(job));
                }
                Some(cond) if status.active.iter().flatten().any(|r| r.uid == job.metadata.uid) => {
                    self.recorder.event(
                        &cj,
                        NORMAL,
                        "SawCompletedJob",
                        format!("Saw completed job: {}, condition: {}", job.name_any(), cond.type_),
                    );
                    if cond.type_ == "Complete" {
                        let done =
                            job.status.as_ref().and_then(|s| s.completion_time.clone()).unwrap_or_else(|| seconds(now));
                        if status.last_successful_time.as_ref().is_none_or(|t| t.0 < done.0) {
                            status.last_successful_time = Some(done);
                        }
                    }
                }
                _ => {}
            }
        }
        status.active = (!active.is_empty()).then_some(active);

        self.prune_history(&cj, &children).await;

        let spec = cj.spec.clone().unwrap_or_default();
        let mut action = Action::Done;
        if cj.metadata.deletion_timestamp.is_none() && !spec.suspend.unwrap_or(false) {
            action = self.maybe_start(&cj, &mut status, &children, now).await?;
        }
        if Some(&status) != cj.status.as_ref() {
            let mut copy = cj.clone();
            copy.status = Some(status);
            Api::<CronJob>::namespaced(self.client.clone(), namespace)
                .replace_status(name, &PostParams::default(), &copy)
                .await
                .map_err(|source| Error::UpdateStatusFailed { key: key.to_owned(), source })?;
        }
        Ok(action)
    }

    async fn maybe_start(
        &self,
        cj: &CronJob,
        status: &mut k8s_openapi::api::batch::v1::CronJobStatus,
        children: &[Arc<Job>],
        now: Timestamp,
    ) -> Result<Action, Error> {
        let spec = cj.spec.clone().unwrap_or_default();
        let schedule = match Schedule::parse(&spec.schedule) {
            Ok(s) => s,
            Err(err) => {
                self.recorder.event(
                    cj,
                    WARNING,
                    "UnparseableSchedule",
                    format!("unparseable schedule: {:?} : {err}", spec.schedule),
                );
                return Ok(Action::Done);
            }
        };
        let tz = match spec.time_zone.as_deref() {
            Some(name) => match TimeZone::get(name) {
                Ok(tz) => tz,
                Err(err) => {
                    self.recorder.event(cj, WARNING, "UnknownTimeZone", format!("invalid timeZone: {name:?}: {err}"));
                    return Ok(Action::Done);
                }
            },
            None => TimeZone::system(),
        };
        let created = cj.metadata.creation_timestamp.as_ref().map_or(now, |t| t.0);
        let mut earliest = status.last_schedule_time.as_ref().map_or(created, |t| t.0);
        if let Some(sds) = spec.starting_deadline_seconds {
            let floor = now.checked_sub(jiff::SignedDuration::from_secs(sds)).unwrap_or(now);
            if floor > earliest {
                earliest = floor;
            }
        }
        let next_after_now = schedule.next(now, &tz);
        let (scheduled, missed) = most_recent(&schedule, &tz, earliest, now);
        let Some(scheduled) = scheduled else { return Ok(requeue_at(next_after_now, now)) };
        if missed > MAX_MISSED {
            self.recorder.event(
                cj,
                WARNING,
                "TooManyMissedTimes",
                format!("too many missed start times: {missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew"),
            );
        }
        if let Some(sds) = spec.starting_deadline_seconds
            && now.duration_since(scheduled).as_secs() > sds
        {
            self.recorder.event(
                cj,
                WARNING,
                "MissSchedule",
                format!("Missed scheduled time to start a job: {}", scheduled.to_zoned(tz.clone())),
            );
            return Ok(requeue_at(next_after_now, now));
        }
        let active = status.active.clone().unwrap_or_default();
        match spec.concurrency_policy.as_deref() {
            Some("Forbid") if !active.is_empty() => {
                self.recorder.event(
                    cj,
                    NORMAL,
                    "JobAlreadyActive",
                    "Not starting job because prior execution is running and concurrency policy is Forbid",
                );
                return Ok(requeue_at(next_after_now, now));
            }
            Some("Replace") => {
                for r in &active {
                    let Some(job) = children.iter().find(|j| j.metadata.uid == r.uid) else { continue };
                    let dp =
                        DeleteParams { propagation_policy: Some(PropagationPolicy::Background), ..Default::default() };
                    match self.jobs_api(&job.namespace().unwrap_or_default()).delete(&job.name_any(), &dp).await {
                        Ok(_) => self.recorder.event(
                            cj,
                            NORMAL,
                            "SuccessfulDelete",
                            format!("Deleted job {}", job.name_any()),
                        ),
                        Err(err) if is_not_found(&err) => {}
                        Err(source) => return Err(Error::DeleteJobFailed { name: job.name_any(), source }),
                    }
                }
                status.active = None;
            }
            _ => {}
        }
        let job_name = format!("{}-{}", cj.name_any(), scheduled.as_second() / 60);
        let template = spec.job_template.clone();
        let tmeta = template.metadata.clone().unwrap_or_default();
        let mut annotations = tmeta.annotations.clone().unwrap_or_default();
        annotations.insert(
            SCHEDULED_TIMESTAMP.to_owned(),
            scheduled.to_zoned(tz.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        );
        let job = Job {
            metadata: ObjectMeta {
                name: Some(job_name.clone()),
                namespace: cj.metadata.namespace.clone(),
                labels: tmeta.labels.clone(),
                annotations: Some(annotations),
                owner_references: Some(vec![controller_ref(cj)]),
                ..Default::default()
            },
            spec: Some(template.spec.unwrap_or_default()),
            status: None,
        };
        let api = self.jobs_api(&cj.namespace().unwrap_or_default());
        let created = match api.create(&PostParams::default(), &job).await {
            Ok(j) => {
                self.recorder.event(cj, NORMAL, "SuccessfulCreate", format!("Created job {job_name}"));
                j
            }
            Err(err) if is_conflict(&err) => {
                // Already created for this time (by us before a restart, or someone else).
                match api.get_opt(&job_name).await {
                    Ok(Some(j))
                        if controller_of(&j.metadata).is_some_and(|r| Some(&r.uid) == cj.metadata.uid.as_ref()) =>
                    {
                        j
                    }
                    _ => return Err(Error::CreateJobFailed { name: job_name, source: err }),
                }
            }
            Err(source) => {
                self.recorder.event(cj, WARNING, "FailedCreate", format!("Error creating job: {source}"));
                return Err(Error::CreateJobFailed { name: job_name, source });
            }
        };
        let mut active = status.active.clone().unwrap_or_default();
        if !active.iter().any(|r| r.uid == created.metadata.uid)
            && finished_condition(created.status.as_ref()).is_none()
        {
            active.push(job_reference(&created));
        }
        status.active = (!active.is_empty()).then_some(active);
        status.last_schedule_time = Some(seconds(scheduled));
        Ok(requeue_at(next_after_now, now))
    }

    /// Deletes the oldest finished jobs beyond the history limits.
    async fn prune_history(&self, cj: &CronJob, children: &[Arc<Job>]) {
        let spec = cj.spec.clone().unwrap_or_default();
        for (kind, limit) in [
            ("Complete", spec.successful_jobs_history_limit.unwrap_or(3)),
            ("Failed", spec.failed_jobs_history_limit.unwrap_or(1)),
        ] {
            let mut finished: Vec<&Arc<Job>> = children
                .iter()
                .filter(|j| j.metadata.deletion_timestamp.is_none())
                .filter(|j| finished_condition(j.status.as_ref()).is_some_and(|c| c.type_ == kind))
                .collect();
            let excess = finished.len().saturating_sub(usize::try_from(limit.max(0)).unwrap_or(0));
            if excess == 0 {
                continue;
            }
            finished.sort_by_key(|j| {
                j.status.as_ref().and_then(|s| s.start_time.clone()).map(|t| t.0).or(j
                    .metadata
                    .creation_timestamp
                    .as_ref()
                    .map(|t| t.0))
            });
            for job in finished.into_iter().take(excess) {
                let dp = DeleteParams { propagation_policy: Some(PropagationPolicy::Background), ..Default::default() };
                match self.jobs_api(&job.namespace().unwrap_or_default()).delete(&job.name_any(), &dp).await {
                    Ok(_) => {
                        self.recorder.event(cj, NORMAL, "SuccessfulDelete", format!("Deleted job {}", job.name_any()))
                    }
                    Err(err) if is_not_found(&err) => {}
                    Err(err) => tracing::warn!(job = %job.name_any(), error = %err, "pruning cronjob history failed"),
                }
            }
        }
    }
}
