//! One job sync: claim pods, track finished ones, decide complete / failed /
//! suspended, create or delete pods toward the wanted number of active
//! ones, and write status with upstream's conditions.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use kube::api::{DeleteParams, PostParams};
use rustkube_api::label_selector::LabelSelector;

use super::indexed::{index_of, parse_intervals, set_index};
use super::tracking::{is_indexed, outcome};
use super::{Error, JobController, TRACKING_FINALIZER, finished_condition};
use crate::cached_pod::CachedPod;
use crate::claim::{controller_ref, is_not_found};
use crate::controller::Action;
use crate::deployment::util::now_time;
use crate::events::{NORMAL, WARNING};
use crate::informer::{key_of, split_key};

fn condition(type_: &str, status: &str, reason: &str, message: &str) -> JobCondition {
    let now = now_time();
    JobCondition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        last_probe_time: Some(now.clone()),
        last_transition_time: Some(now),
    }
}

/// Sets `cond` unless one of its type already has its status.
fn set_condition(status: &mut JobStatus, cond: JobCondition) {
    let conds = status.conditions.get_or_insert_with(Vec::new);
    if let Some(existing) = conds.iter_mut().find(|c| c.type_ == cond.type_) {
        if existing.status != cond.status {
            *existing = cond;
        }
        return;
    }
    conds.push(cond);
}

fn has_condition(status: &JobStatus, type_: &str) -> bool {
    status.conditions.iter().flatten().any(|c| c.type_ == type_ && c.status == "True")
}

impl JobController {
    pub(super) async fn sync_job(&self, key: &str) -> Result<Action, Error> {
        let (namespace, name) = split_key(key);
        let Some(cached) = self.jobs.get(namespace, name) else {
            self.expectations.delete(key);
            self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
            return Ok(Action::Done);
        };
        let needs_sync = self.expectations.satisfied(key);
        let job = (*cached).clone();
        let spec = job.spec.clone().unwrap_or_default();
        let selector = spec.selector.as_ref().and_then(|s| LabelSelector::from_meta(Some(s)).ok());
        let candidates = self.pods.list_namespace(namespace);
        let jobs_api = self.jobs_api(namespace);
        let uid = job.metadata.uid.clone();
        let recheck = || async move {
            let fresh = jobs_api.get_opt(name).await?;
            Ok(fresh.is_some_and(|f| f.metadata.uid == uid && f.metadata.deletion_timestamp.is_none()))
        };
        let pods = crate::claim::claim(
            &self.pods_api(namespace),
            &job,
            candidates,
            |p: &CachedPod| {
                selector.as_ref().is_some_and(|s| !s.is_everything() && s.matches_opt(p.metadata.labels.as_ref()))
            },
            recheck,
        )
        .await?;

        let job = self.track_finished_pods(key, job, &pods).await?;
        if finished_condition(job.status.as_ref()).is_some() {
            // Finished: only stragglers to stop.
            self.delete_pods(key, &job, pods.iter().filter(|p| outcome(p).is_none()).cloned().collect()).await?;
            return Ok(Action::Done);
        }

        let mut status = job.status.clone().unwrap_or_default();
        let active: Vec<Arc<CachedPod>> = pods.iter().filter(|p| outcome(p).is_none()).cloned().collect();
        let succeeded = status.succeeded.unwrap_or(0);
        let failed = status.failed.unwrap_or(0);
        let parallelism = spec.parallelism.unwrap_or(1).max(0);
        let completions = spec.completions;
        let indexed = is_indexed(&job);
        let completed_indexes = parse_intervals(status.completed_indexes.as_deref().unwrap_or(""));
        let now = jiff::Timestamp::now();

        let backoff_limit = spec.backoff_limit.unwrap_or(6);
        let deadline_exceeded = match (spec.active_deadline_seconds, &status.start_time) {
            (Some(ads), Some(Time(start))) => now.duration_since(*start).as_secs() >= ads,
            _ => false,
        };
        let complete = if indexed {
            i32::try_from(completed_indexes.len()).unwrap_or(0) >= completions.unwrap_or(1)
        } else {
            match completions {
                Some(c) => succeeded >= c,
                None => succeeded > 0 && active.is_empty(),
            }
        };
        let failure_target = status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "FailureTarget" && c.status == "True")
            .map(|c| (c.reason.clone().unwrap_or_default(), c.message.clone().unwrap_or_default()));
        let failure: Option<(String, String)> = if let Some(target) = failure_target {
            Some(target)
        } else if failed > backoff_limit {
            Some(("BackoffLimitExceeded".into(), "Job has reached the specified backoff limit".into()))
        } else if deadline_exceeded {
            Some(("DeadlineExceeded".into(), "Job was active longer than specified deadline".into()))
        } else {
            None
        };

        let mut result = Ok(());
        let mut requeue = Action::Done;
        if let Some((reason, message)) = &failure {
            result = self.delete_pods(key, &job, active.clone()).await;
            set_condition(&mut status, condition("FailureTarget", "True", reason, message));
            set_condition(&mut status, condition("Failed", "True", reason, message));
            self.recorder.event(&job, WARNING, reason, message.clone());
        } else if complete {
            result = self.delete_pods(key, &job, active.clone()).await;
            let (reason, message) = ("CompletionsReached", "Reached expected number of succeeded pods");
            set_condition(&mut status, condition("SuccessCriteriaMet", "True", reason, message));
            set_condition(&mut status, condition("Complete", "True", reason, message));
            status.completion_time = Some(now_time());
            self.recorder.event(&job, NORMAL, "Completed", "Job completed");
        } else if spec.suspend.unwrap_or(false) {
            result = self.delete_pods(key, &job, active.clone()).await;
            if !has_condition(&status, "Suspended") {
                set_condition(&mut status, condition("Suspended", "True", "JobSuspended", "Job suspended"));
                self.recorder.event(&job, NORMAL, "Suspended", "Job suspended");
                status.start_time = None;
            }
        } else {
            if has_condition(&status, "Suspended") {
                set_condition(&mut status, condition("Suspended", "False", "JobResumed", "Job resumed"));
                self.recorder.event(&job, NORMAL, "Resumed", "Job resumed");
            }
            if status.start_time.is_none() {
                status.start_time = Some(now_time());
            }
            let backoff_left = self.backoff_left(key, failed);
            if let Some(left) = backoff_left {
                requeue = Action::RequeueAfter(left);
            }
            if needs_sync && backoff_left.is_none() {
                result = if indexed {
                    self.manage_indexed(key, &job, &active, parallelism, completions.unwrap_or(1), &completed_indexes)
                        .await
                } else {
                    let want = match completions {
                        Some(c) => (c - succeeded).clamp(0, parallelism),
                        None if succeeded > 0 => 0,
                        None => parallelism,
                    };
                    self.manage_count(key, &job, &active, want).await
                };
            }
            if let Some(ads) = spec.active_deadline_seconds
                && backoff_left.is_none()
            {
                let started = status.start_time.as_ref().map_or(now, |t| t.0);
                let left = ads - now.duration_since(started).as_secs();
                requeue = Action::RequeueAfter(Duration::from_secs(u64::try_from(left.max(1)).unwrap_or(1)));
            }
        }
        let active_now = i32::try_from(
            self.pods
                .list_namespace(namespace)
                .iter()
                .filter(|p| {
                    crate::claim::controller_of(&p.metadata).is_some_and(|r| Some(&r.uid) == job.metadata.uid.as_ref())
                        && outcome(p).is_none()
                })
                .count(),
        )
        .unwrap_or(0);
        let finishing = failure.is_some() || complete;
        status.active = if finishing { None } else { Some(active_now).filter(|a| *a > 0) };
        status.ready = Some(i32::try_from(active.iter().filter(|p| crate::pods::is_ready(p)).count()).unwrap_or(0));
        if status != job.status.clone().unwrap_or_default() {
            self.write_status(key, &job, status).await?;
        }
        result.map(|()| requeue)
    }

    /// How long pod creation must still wait after the job's latest failure.
    fn backoff_left(&self, key: &str, failed: i32) -> Option<Duration> {
        if failed <= 0 {
            return None;
        }
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let entry = failures.entry(key.to_owned()).or_insert((failed, std::time::Instant::now()));
        if entry.0 != failed {
            *entry = (failed, std::time::Instant::now());
        }
        let left = super::failure_backoff(failed).saturating_sub(entry.1.elapsed());
        (!left.is_zero()).then_some(left)
    }

    /// NonIndexed: create or delete toward `want` active pods.
    async fn manage_count(&self, key: &str, job: &Job, active: &[Arc<CachedPod>], want: i32) -> Result<(), Error> {
        let have = i32::try_from(active.len()).unwrap_or(i32::MAX);
        if have > want {
            let excess = usize::try_from(have - want).unwrap_or(0);
            let victims: Vec<Arc<CachedPod>> =
                crate::pods::pods_to_delete(active, &[], excess).into_iter().map(|p| Arc::new(p.clone())).collect();
            return self.delete_pods(key, job, victims).await;
        }
        let missing = usize::try_from(want - have).unwrap_or(0).min(crate::replicaset::BURST_REPLICAS);
        self.create_pods(key, job, vec![None; missing]).await
    }

    /// Indexed: one active pod per pending index, at most `parallelism`.
    async fn manage_indexed(
        &self,
        key: &str,
        job: &Job,
        active: &[Arc<CachedPod>],
        parallelism: i32,
        completions: i32,
        completed: &BTreeSet<i32>,
    ) -> Result<(), Error> {
        let mut seen = BTreeSet::new();
        let mut excess = Vec::new();
        for pod in active {
            match index_of(pod, completions) {
                Some(i) if !completed.contains(&i) && seen.insert(i) => {}
                _ => excess.push(Arc::clone(pod)),
            }
        }
        if !excess.is_empty() {
            return self.delete_pods(key, job, excess).await;
        }
        let room = usize::try_from(parallelism).unwrap_or(0).saturating_sub(seen.len());
        let pending: Vec<Option<i32>> =
            (0..completions).filter(|i| !completed.contains(i) && !seen.contains(i)).take(room).map(Some).collect();
        self.create_pods(key, job, pending).await
    }

    /// Creates one pod per entry (with its completion index, if any) in slow-start batches.
    async fn create_pods(&self, key: &str, job: &Job, indexes: Vec<Option<i32>>) -> Result<(), Error> {
        if indexes.is_empty() {
            return Ok(());
        }
        let Some(template) = job.spec.as_ref().map(|s| s.template.clone()) else { return Ok(()) };
        let namespace = job.namespace().unwrap_or_default();
        let api = self.pods_api(&namespace);
        let mut base = crate::pods::pod_from_template(&template, &namespace, &job.name_any(), controller_ref(job));
        base.metadata.finalizers.get_or_insert_with(Vec::new).push(TRACKING_FINALIZER.to_owned());
        self.expectations.expect_creations(key, indexes.len());
        let mut remaining: &[Option<i32>] = &indexes;
        let mut batch = 1;
        while !remaining.is_empty() {
            let (now, rest) = remaining.split_at(batch.min(remaining.len()));
            let results = join_all(now.iter().map(|index| {
                let mut pod = base.clone();
                if let Some(i) = index {
                    set_index(&mut pod, &job.name_any(), *i);
                }
                let api = api.clone();
                async move { api.create(&PostParams::default(), &pod).await }
            }))
            .await;
            let mut first_err = None;
            for r in results {
                match r {
                    Ok(p) => {
                        self.recorder.event(job, NORMAL, "SuccessfulCreate", format!("Created pod: {}", p.name_any()))
                    }
                    Err(err) => {
                        self.expectations.creation_observed(key);
                        self.recorder.event(job, WARNING, "FailedCreate", format!("Error creating: {err}"));
                        first_err.get_or_insert(err);
                    }
                }
            }
            if let Some(source) = first_err {
                for _ in rest {
                    self.expectations.creation_observed(key);
                }
                return Err(Error::CreatePodsFailed { key: key.to_owned(), source });
            }
            remaining = rest;
            batch *= 2;
        }
        Ok(())
    }

    async fn delete_pods(&self, key: &str, job: &Job, pods: Vec<Arc<CachedPod>>) -> Result<(), Error> {
        let pods: Vec<Arc<CachedPod>> = pods.into_iter().filter(|p| p.metadata.deletion_timestamp.is_none()).collect();
        if pods.is_empty() {
            return Ok(());
        }
        self.expectations.expect_deletions(key, pods.iter().map(|p| key_of(&**p)));
        let namespace = job.namespace().unwrap_or_default();
        let api = self.pods_api::<CachedPod>(&namespace);
        let results = join_all(pods.iter().map(|p| {
            let api = api.clone();
            let name = p.name_any();
            async move { (name.clone(), api.delete(&name, &DeleteParams::default()).await) }
        }))
        .await;
        let mut first_err = None;
        for (name, r) in results {
            match r {
                Ok(_) => self.recorder.event(job, NORMAL, "SuccessfulDelete", format!("Deleted pod: {name}")),
                Err(err) => {
                    self.expectations.deletion_observed(key, &format!("{namespace}/{name}"));
                    if !is_not_found(&err) {
                        first_err.get_or_insert(err);
                    }
                }
            }
        }
        // Pods stopped here still carry the tracking finalizer; a later sync releases them.
        match first_err {
            Some(source) => Err(Error::DeletePodsFailed { key: key.to_owned(), source }),
            None => Ok(()),
        }
    }
}
