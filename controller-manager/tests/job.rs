//! The job controller against the real apiserver: completions with
//! parallelism, Indexed mode, backoffLimit, suspend, and tracking
//! finalizers released once pods are counted.

mod common;

use std::time::Duration;

use common::*;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{Pod, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};

const T: Duration = Duration::from_secs(45);
const TRACKING: &str = "batch.kubernetes.io/job-tracking";

fn job(name: &str, completions: i32, parallelism: i32) -> Job {
    let mut template = template(&[], "busybox");
    template.metadata = None;
    template.spec.as_mut().unwrap().restart_policy = Some("Never".into());
    Job {
        metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
        spec: Some(JobSpec {
            completions: Some(completions),
            parallelism: Some(parallelism),
            template,
            ..Default::default()
        }),
        status: None,
    }
}

async fn job_pods(c: &Cluster, ns: &str, job: &Job) -> Vec<Pod> {
    let pods: Api<Pod> = c.api(ns);
    pods.list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|p| controller_uid(&p.metadata) == job.metadata.uid)
        .collect()
}

fn phase(p: &Pod) -> String {
    p.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default()
}

async fn finish(c: &Cluster, p: &Pod, phase: &str) {
    let pods: Api<Pod> = c.api(&p.namespace().unwrap());
    let mut copy = p.clone();
    copy.status = Some(PodStatus { phase: Some(phase.into()), ..Default::default() });
    pods.replace_status(&p.name_any(), &PostParams::default(), &copy).await.unwrap();
}

fn condition(j: &Job, t: &str) -> Option<(String, String)> {
    let c = j.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == t)?;
    Some((c.status.clone(), c.reason.clone().unwrap_or_default()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completes_with_parallelism_and_counts_each_pod_once() {
    let c = Cluster::start(&["--controllers=job"]).await;
    c.namespace("jobs").await;
    let jobs: Api<Job> = c.api("jobs");
    let j = jobs.create(&PostParams::default(), &job("pi", 4, 2)).await.unwrap();
    let deadline = std::time::Instant::now() + T;
    let mut max_active = 0;
    loop {
        let pods = job_pods(&c, "jobs", &j).await;
        let running: Vec<&Pod> =
            pods.iter().filter(|p| phase(p) != "Succeeded" && p.metadata.deletion_timestamp.is_none()).collect();
        max_active = max_active.max(running.len());
        for p in &running {
            assert!(p.finalizers().iter().any(|f| f == TRACKING), "pods carry the tracking finalizer while running");
            finish(&c, p, "Succeeded").await;
        }
        let current = jobs.get("pi").await.unwrap();
        if condition(&current, "Complete").is_some() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "job did not complete\n{}", c.cm_logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(max_active <= 2, "{max_active} pods ran at once with parallelism 2");
    let done = wait_for(T, "finalizers released", || async {
        let pods = job_pods(&c, "jobs", &j).await;
        pods.iter().all(|p| !p.finalizers().iter().any(|f| f == TRACKING)).then_some(pods)
    })
    .await;
    assert_eq!(done.len(), 4, "exactly 4 pods were created");
    let j = jobs.get("pi").await.unwrap();
    let s = j.status.clone().unwrap();
    assert_eq!(s.succeeded, Some(4), "each pod counted once");
    assert!(s.completion_time.is_some());
    assert_eq!(condition(&j, "Complete"), Some(("True".into(), "CompletionsReached".into())));
    assert_eq!(condition(&j, "SuccessCriteriaMet"), Some(("True".into(), "CompletionsReached".into())));
    let uncounted = s.uncounted_terminated_pods.unwrap_or_default();
    assert!(uncounted.succeeded.unwrap_or_default().is_empty() && uncounted.failed.unwrap_or_default().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexed_jobs_run_one_pod_per_index() {
    let c = Cluster::start(&["--controllers=job"]).await;
    c.namespace("idx").await;
    let jobs: Api<Job> = c.api("idx");
    let mut spec = job("ix", 3, 3);
    spec.spec.as_mut().unwrap().completion_mode = Some("Indexed".into());
    let j = jobs.create(&PostParams::default(), &spec).await.unwrap();
    let pods = wait_for(T, "3 indexed pods", || async {
        let p = job_pods(&c, "idx", &j).await;
        (p.len() == 3).then_some(p)
    })
    .await;
    let mut indexes: Vec<String> =
        pods.iter().map(|p| p.annotations()["batch.kubernetes.io/job-completion-index"].clone()).collect();
    indexes.sort();
    assert_eq!(indexes, ["0", "1", "2"]);
    for p in &pods {
        let env = p.spec.as_ref().unwrap().containers[0].env.clone().unwrap_or_default();
        assert!(env.iter().any(|e| e.name == "JOB_COMPLETION_INDEX"), "JOB_COMPLETION_INDEX injected");
        let index = &p.annotations()["batch.kubernetes.io/job-completion-index"];
        assert_eq!(p.spec.as_ref().unwrap().hostname.as_deref(), Some(format!("ix-{index}").as_str()));
    }
    let one = pods.iter().find(|p| p.annotations()["batch.kubernetes.io/job-completion-index"] == "1").unwrap();
    finish(&c, one, "Succeeded").await;
    wait_for(T, "completedIndexes 1", || async {
        (jobs.get("ix").await.ok()?.status?.completed_indexes.as_deref() == Some("1")).then_some(())
    })
    .await;
    for p in pods.iter().filter(|p| p.name_any() != one.name_any()) {
        finish(&c, p, "Succeeded").await;
    }
    let j = wait_for(T, "indexed job complete", || async {
        let j = jobs.get("ix").await.ok()?;
        condition(&j, "Complete").map(|_| j)
    })
    .await;
    assert_eq!(j.status.unwrap().completed_indexes.as_deref(), Some("0-2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_past_the_backoff_limit() {
    let c = Cluster::start(&["--controllers=job"]).await;
    c.namespace("fail").await;
    let jobs: Api<Job> = c.api("fail");
    let mut spec = job("bad", 1, 1);
    spec.spec.as_mut().unwrap().backoff_limit = Some(1);
    let j = jobs.create(&PostParams::default(), &spec).await.unwrap();
    let started = std::time::Instant::now();
    let deadline = std::time::Instant::now() + T;
    loop {
        for p in job_pods(&c, "fail", &j).await.iter().filter(|p| phase(p) != "Failed") {
            finish(&c, p, "Failed").await;
        }
        let current = jobs.get("bad").await.unwrap();
        if let Some(cond) = condition(&current, "Failed") {
            assert_eq!(cond, ("True".into(), "BackoffLimitExceeded".into()));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "job did not fail\n{}", c.cm_logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let j = wait_for(T, "failed count settled", || async {
        let j = jobs.get("bad").await.ok()?;
        (j.status.as_ref()?.failed == Some(2)).then_some(j)
    })
    .await;
    assert_eq!(condition(&j, "FailureTarget").map(|c| c.1), Some("BackoffLimitExceeded".into()));
    assert_eq!(
        job_pods(&c, "fail", &j).await.len(),
        2,
        "one replacement after the first failure, none after the second"
    );
    assert!(started.elapsed() >= Duration::from_secs(9), "the replacement waited for the 10 s failure backoff");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspended_jobs_run_nothing_until_resumed() {
    let c = Cluster::start(&["--controllers=job"]).await;
    c.namespace("susp").await;
    let jobs: Api<Job> = c.api("susp");
    let mut spec = job("later", 2, 2);
    spec.spec.as_mut().unwrap().suspend = Some(true);
    let j = jobs.create(&PostParams::default(), &spec).await.unwrap();
    wait_for(T, "Suspended condition", || async {
        let j = jobs.get("later").await.ok()?;
        (condition(&j, "Suspended") == Some(("True".into(), "JobSuspended".into()))).then_some(())
    })
    .await;
    assert!(job_pods(&c, "susp", &j).await.is_empty(), "no pods while suspended");
    jobs.patch("later", &PatchParams::default(), &Patch::Merge(serde_json::json!({"spec": {"suspend": false}})))
        .await
        .unwrap();
    wait_for(T, "pods after resume", || async { (job_pods(&c, "susp", &j).await.len() == 2).then_some(()) }).await;
    let j = jobs.get("later").await.unwrap();
    assert_eq!(condition(&j, "Suspended"), Some(("False".into(), "JobResumed".into())));
    assert!(j.status.unwrap().start_time.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_jobs_are_deleted_after_their_ttl() {
    let c = Cluster::start(&["--controllers=job,ttl-after-finished,garbagecollector"]).await;
    c.namespace("ttl").await;
    let jobs: Api<Job> = c.api("ttl");
    let mut spec = job("short", 1, 1);
    spec.spec.as_mut().unwrap().ttl_seconds_after_finished = Some(2);
    let j = jobs.create(&PostParams::default(), &spec).await.unwrap();
    let pod = wait_for(T, "the pod", || async { job_pods(&c, "ttl", &j).await.into_iter().next() }).await;
    finish(&c, &pod, "Succeeded").await;
    let finished = std::time::Instant::now();
    // Times are kept to the second, so the 2 s TTL runs out 1 to 2 s after completion.
    wait_for(T, "job complete", || async { jobs.get("short").await.ok().and_then(|j| condition(&j, "Complete")) })
        .await;
    wait_for(T, "job deleted after its TTL", || async { jobs.get_opt("short").await.unwrap().is_none().then_some(()) })
        .await;
    assert!(
        finished.elapsed() >= Duration::from_millis(900),
        "deleted {:?} after finishing, before the TTL ran out",
        finished.elapsed()
    );
    wait_for(T, "its pod collected", || async { job_pods(&c, "ttl", &j).await.is_empty().then_some(()) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_failure_policy_ignores_disruptions_and_fails_on_exit_codes() {
    use k8s_openapi::api::batch::v1::{
        PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement, PodFailurePolicyOnPodConditionsPattern,
        PodFailurePolicyRule,
    };
    use k8s_openapi::api::core::v1::{ContainerState, ContainerStateTerminated, ContainerStatus, PodCondition};
    let c = Cluster::start(&["--controllers=job"]).await;
    c.namespace("pfp").await;
    let jobs: Api<Job> = c.api("pfp");
    let mut spec = job("strict", 1, 1);
    spec.spec.as_mut().unwrap().pod_failure_policy = Some(PodFailurePolicy {
        rules: vec![
            PodFailurePolicyRule {
                action: "FailJob".into(),
                on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                    container_name: None,
                    operator: "In".into(),
                    values: vec![42],
                }),
                on_pod_conditions: None,
            },
            PodFailurePolicyRule {
                action: "Ignore".into(),
                on_exit_codes: None,
                on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
                    type_: "DisruptionTarget".into(),
                    status: "True".into(),
                }]),
            },
        ],
    });
    let j = jobs.create(&PostParams::default(), &spec).await.unwrap();
    let pods: Api<Pod> = c.api("pfp");
    let fail = |p: Pod, code: i32, disrupted: bool| {
        let pods = pods.clone();
        async move {
            let mut copy = p.clone();
            copy.status = Some(PodStatus {
                phase: Some("Failed".into()),
                conditions: disrupted.then(|| {
                    vec![PodCondition { type_: "DisruptionTarget".into(), status: "True".into(), ..Default::default() }]
                }),
                container_statuses: Some(vec![ContainerStatus {
                    name: "c".into(),
                    image: "busybox".into(),
                    image_id: String::new(),
                    ready: false,
                    restart_count: 0,
                    state: Some(ContainerState {
                        terminated: Some(ContainerStateTerminated { exit_code: code, ..Default::default() }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]),
                ..Default::default()
            });
            pods.replace_status(&p.name_any(), &PostParams::default(), &copy).await.unwrap();
        }
    };
    // A disrupted pod is not counted; a replacement follows at once.
    let first = wait_for(T, "first pod", || async { job_pods(&c, "pfp", &j).await.into_iter().next() }).await;
    fail(first.clone(), 1, true).await;
    let second = wait_for(T, "a replacement", || async {
        job_pods(&c, "pfp", &j).await.into_iter().find(|p| p.name_any() != first.name_any())
    })
    .await;
    let s = jobs.get("strict").await.unwrap().status.unwrap_or_default();
    assert_eq!(s.failed.unwrap_or(0), 0, "ignored failures are not counted");
    // Exit code 42 fails the job at once, backoffLimit notwithstanding.
    fail(second.clone(), 42, false).await;
    let j = wait_for(T, "job failed by policy", || async {
        let j = jobs.get("strict").await.ok()?;
        condition(&j, "Failed").map(|_| j)
    })
    .await;
    assert_eq!(condition(&j, "Failed"), Some(("True".into(), "PodFailurePolicy".into())));
    let msg = j.status.unwrap().conditions.unwrap().into_iter().find(|c| c.type_ == "Failed").unwrap().message.unwrap();
    assert_eq!(
        msg,
        format!(
            "Container c for pod pfp/{} failed with exit code 42 matching FailJob rule at index 0",
            second.name_any()
        )
    );
}
