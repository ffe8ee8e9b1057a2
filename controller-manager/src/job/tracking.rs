//! Counting finished pods exactly once, as upstream's job tracking with
//! finalizers: a finished pod's uid is first written to
//! `status.uncountedTerminatedPods`, then the pod's tracking finalizer is
//! removed, then the uid moves into `succeeded` / `failed` (and, for Indexed
//! jobs, `completedIndexes`). A crash between steps repeats a step; no step
//! counts a pod twice.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use futures_util::future::join_all;
use k8s_openapi::api::batch::v1::{Job, JobCondition, UncountedTerminatedPods};
use kube::ResourceExt;
use kube::api::{Patch, PatchParams, PostParams};

use super::failure_policy::{Verdict, evaluate};
use super::indexed::{format_intervals, index_of, parse_intervals};
use super::{Error, JobController, TRACKING_FINALIZER, finished_condition};
use crate::cached_pod::CachedPod;
use crate::claim::is_not_found;

pub(super) fn has_finalizer(pod: &CachedPod) -> bool {
    pod.metadata.finalizers.iter().flatten().any(|f| f == TRACKING_FINALIZER)
}

fn phase(pod: &CachedPod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("")
}

/// `Some(true)` for a succeeded pod, `Some(false)` for a failed one (or one
/// deleted before finishing), `None` while it runs.
pub(super) fn outcome(pod: &CachedPod) -> Option<bool> {
    match phase(pod) {
        "Succeeded" => Some(true),
        "Failed" => Some(false),
        _ if pod.metadata.deletion_timestamp.is_some() => Some(false),
        _ => None,
    }
}

fn completions(job: &Job) -> i32 {
    job.spec.as_ref().and_then(|s| s.completions).unwrap_or(1)
}

pub(super) fn is_indexed(job: &Job) -> bool {
    job.spec.as_ref().and_then(|s| s.completion_mode.as_deref()) == Some("Indexed")
}

impl JobController {
    /// Runs the three tracking steps; returns the job as last written.
    pub(super) async fn track_finished_pods(&self, key: &str, job: Job, pods: &[Arc<CachedPod>]) -> Result<Job, Error> {
        let finished = finished_condition(job.status.as_ref()).is_some();
        let mut status = job.status.clone().unwrap_or_default();
        let mut uncounted = status.uncounted_terminated_pods.clone().unwrap_or_default();
        let mut succeeded: BTreeSet<String> = uncounted.succeeded.clone().unwrap_or_default().into_iter().collect();
        let mut failed: BTreeSet<String> = uncounted.failed.clone().unwrap_or_default().into_iter().collect();

        // 1. Note newly finished pods (a finished job counts nothing more).
        let mut noted = false;
        let mut ignored: BTreeSet<String> = BTreeSet::new();
        let policy = job.spec.as_ref().and_then(|s| s.pod_failure_policy.as_ref());
        if !finished {
            for pod in pods.iter().filter(|p| has_finalizer(p)) {
                let uid = pod.uid().unwrap_or_default();
                if succeeded.contains(&uid) || failed.contains(&uid) {
                    continue;
                }
                match outcome(pod) {
                    Some(true) => noted |= succeeded.insert(uid),
                    Some(false) => match evaluate(policy, pod) {
                        Verdict::Ignore => {
                            ignored.insert(uid);
                        }
                        Verdict::FailJob(message) => {
                            noted |= failed.insert(uid);
                            if !status.conditions.iter().flatten().any(|c| c.type_ == "FailureTarget") {
                                let now = crate::deployment::util::now_time();
                                status.conditions.get_or_insert_with(Vec::new).push(JobCondition {
                                    type_: "FailureTarget".into(),
                                    status: "True".into(),
                                    reason: Some("PodFailurePolicy".into()),
                                    message: Some(message),
                                    last_probe_time: Some(now.clone()),
                                    last_transition_time: Some(now),
                                });
                            }
                        }
                        Verdict::Count => noted |= failed.insert(uid),
                    },
                    None => {}
                }
            }
        }
        let mut job = job;
        if noted {
            uncounted.succeeded = Some(succeeded.iter().cloned().collect());
            uncounted.failed = Some(failed.iter().cloned().collect());
            status.uncounted_terminated_pods = Some(uncounted.clone());
            job = self.write_status(key, &job, status.clone()).await?;
        }

        // 2. Remove the finalizer from every counted (or, once finished, every finishing) pod.
        let release: Vec<&Arc<CachedPod>> = pods
            .iter()
            .filter(|p| has_finalizer(p))
            .filter(|p| {
                let uid = p.uid().unwrap_or_default();
                succeeded.contains(&uid)
                    || failed.contains(&uid)
                    || ignored.contains(&uid)
                    || (finished && outcome(p).is_some())
            })
            .collect();
        let results = join_all(release.iter().map(|p| self.remove_finalizer(p))).await;
        for r in results {
            r?;
        }

        // 3. Move the uids into the counts.
        if succeeded.is_empty() && failed.is_empty() {
            return Ok(job);
        }
        let by_uid: HashMap<String, &Arc<CachedPod>> = pods.iter().map(|p| (p.uid().unwrap_or_default(), p)).collect();
        let mut status = job.status.clone().unwrap_or_default();
        status.succeeded = Some(status.succeeded.unwrap_or(0) + i32::try_from(succeeded.len()).unwrap_or(0));
        status.failed = Some(status.failed.unwrap_or(0) + i32::try_from(failed.len()).unwrap_or(0));
        if is_indexed(&job) {
            let mut done = parse_intervals(status.completed_indexes.as_deref().unwrap_or(""));
            for uid in &succeeded {
                if let Some(i) = by_uid.get(uid).and_then(|p| index_of(p, completions(&job))) {
                    done.insert(i);
                }
            }
            status.completed_indexes = Some(format_intervals(&done));
        }
        status.uncounted_terminated_pods =
            Some(UncountedTerminatedPods { failed: Some(vec![]), succeeded: Some(vec![]) });
        self.write_status(key, &job, status).await
    }

    async fn remove_finalizer(&self, pod: &CachedPod) -> Result<(), Error> {
        let namespace = pod.namespace().unwrap_or_default();
        let finalizers: Vec<String> =
            pod.metadata.finalizers.iter().flatten().filter(|f| *f != TRACKING_FINALIZER).cloned().collect();
        let patch = serde_json::json!({
            "metadata": { "finalizers": finalizers, "uid": pod.metadata.uid, "resourceVersion": pod.metadata.resource_version }
        });
        match self
            .pods_api::<CachedPod>(&namespace)
            .patch(&pod.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => Ok(()),
            Err(err) if is_not_found(&err) => Ok(()),
            Err(source) => Err(Error::RemoveFinalizerFailed { namespace, name: pod.name_any(), source }),
        }
    }

    /// Writes `status` onto `job` through `/status` (conditional on its resourceVersion).
    pub(super) async fn write_status(
        &self,
        key: &str,
        job: &Job,
        status: k8s_openapi::api::batch::v1::JobStatus,
    ) -> Result<Job, Error> {
        let mut copy = job.clone();
        copy.status = Some(status);
        self.jobs_api(&job.namespace().unwrap_or_default())
            .replace_status(&job.name_any(), &PostParams::default(), &copy)
            .await
            .map_err(|source| Error::UpdateStatusFailed { key: key.to_owned(), source })
    }
}
