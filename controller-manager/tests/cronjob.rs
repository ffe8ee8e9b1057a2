//! The CronJob controller against the real apiserver: a missed run is
//! started (named by its scheduled minute, annotated with its time),
//! Forbid skips while a run is active, completion is recorded, suspend
//! holds runs back, and `kubectl create job --from=cronjob/x` works.

mod common;

use std::time::Duration;

use common::*;
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, Job, JobCondition, JobSpec, JobTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};

const T: Duration = Duration::from_secs(45);

fn cronjob(name: &str, schedule: &str, policy: &str, suspend: bool) -> CronJob {
    let mut template = template(&[], "busybox");
    template.metadata = None;
    template.spec.as_mut().unwrap().restart_policy = Some("Never".into());
    CronJob {
        metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
        spec: Some(CronJobSpec {
            schedule: schedule.into(),
            concurrency_policy: Some(policy.into()),
            suspend: Some(suspend),
            job_template: JobTemplateSpec { metadata: None, spec: Some(JobSpec { template, ..Default::default() }) },
            ..Default::default()
        }),
        status: None,
    }
}

/// Pretends the last run was three minutes ago, so runs were missed since.
async fn backdate(cjs: &Api<CronJob>, name: &str) {
    let past = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(180);
    let patch = serde_json::json!({"status": {"lastScheduleTime": Time(past)}});
    cjs.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
}

async fn owned_jobs(c: &Cluster, ns: &str, cj: &CronJob) -> Vec<Job> {
    let jobs: Api<Job> = c.api(ns);
    jobs.list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|j| controller_uid(&j.metadata) == cj.metadata.uid)
        .collect()
}

async fn events(c: &Cluster, ns: &str) -> String {
    tokio::task::block_in_place(|| {
        c.apiserver
            .ok("1.33", &["get", "events", "-n", ns, "-o", "custom-columns=R:.reason,M:.message", "--no-headers"])
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_run_starts_forbid_waits_and_completion_is_recorded() {
    let c = Cluster::start(&["--controllers=cronjob"]).await;
    c.namespace("cron").await;
    let cjs: Api<CronJob> = c.api("cron");
    let cj = cjs.create(&PostParams::default(), &cronjob("tick", "* * * * *", "Forbid", false)).await.unwrap();
    backdate(&cjs, "tick").await;
    let job =
        wait_for(T, "a job for the missed run", || async { owned_jobs(&c, "cron", &cj).await.into_iter().next() })
            .await;
    let minutes: i64 =
        job.name_any().strip_prefix("tick-").expect("named after the cronjob").parse().expect("scheduled minute");
    let now_minutes = jiff::Timestamp::now().as_second() / 60;
    assert!(
        (now_minutes - 1..=now_minutes).contains(&minutes),
        "the most recent missed minute, got {minutes} (now {now_minutes})"
    );
    assert!(job.annotations().contains_key("batch.kubernetes.io/cronjob-scheduled-timestamp"));
    let status = wait_for(T, "job listed as active", || async {
        let s = cjs.get("tick").await.ok()?.status?;
        s.active.as_ref().is_some_and(|a| a.iter().any(|r| r.uid == job.metadata.uid)).then_some(s)
    })
    .await;
    assert_eq!(status.last_schedule_time.map(|t| t.0.as_second() / 60), Some(minutes));

    // Forbid: another missed run does not start while this one is active.
    backdate(&cjs, "tick").await;
    wait_for(T, "JobAlreadyActive event", || async {
        events(&c, "cron").await.contains("JobAlreadyActive").then_some(())
    })
    .await;
    assert_eq!(owned_jobs(&c, "cron", &cj).await.len(), 1, "no second run under Forbid");

    // The run completes.
    let jobs: Api<Job> = c.api("cron");
    let now = Time(jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).unwrap());
    let cond = |t: &str| JobCondition {
        type_: t.into(),
        status: "True".into(),
        reason: Some("CompletionsReached".into()),
        message: Some("Reached expected number of succeeded pods".into()),
        last_transition_time: Some(now.clone()),
        last_probe_time: Some(now.clone()),
    };
    let mut done = jobs.get(&job.name_any()).await.unwrap();
    let status = done.status.get_or_insert_with(Default::default);
    status.start_time = Some(now.clone());
    status.completion_time = Some(now.clone());
    status.succeeded = Some(1);
    status.conditions = Some(vec![cond("SuccessCriteriaMet"), cond("Complete")]);
    jobs.replace_status(&job.name_any(), &PostParams::default(), &done).await.unwrap();
    wait_for(T, "completion recorded", || async {
        let s = cjs.get("tick").await.ok()?.status?;
        (s.active.is_none() && s.last_successful_time.is_some()).then_some(())
    })
    .await;
    let ev = events(&c, "cron").await;
    assert!(ev.contains(&format!("Created job {}", job.name_any())), "{ev}");
    assert!(ev.contains(&format!("Saw completed job: {}, condition: Complete", job.name_any())), "{ev}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspended_cronjobs_start_nothing_and_manual_runs_work() {
    let c = Cluster::start(&["--controllers=cronjob"]).await;
    c.namespace("held").await;
    let cjs: Api<CronJob> = c.api("held");
    let cj = cjs.create(&PostParams::default(), &cronjob("nightly", "@hourly", "Allow", true)).await.unwrap();
    backdate(&cjs, "nightly").await;
    let out = tokio::task::block_in_place(|| {
        c.apiserver.ok("1.33", &["create", "job", "manual", "--from=cronjob/nightly", "-n", "held"])
    });
    assert!(out.contains("job.batch/manual created"), "{out}");
    wait_for(T, "the manual run listed as active", || async {
        let s = cjs.get("nightly").await.ok()?.status?;
        s.active.as_ref().is_some_and(|a| a.iter().any(|r| r.name.as_deref() == Some("manual"))).then_some(())
    })
    .await;
    let jobs = owned_jobs(&c, "held", &cj).await;
    assert_eq!(
        jobs.iter().map(|j| j.name_any()).collect::<Vec<_>>(),
        ["manual"],
        "only the manual run; the suspended schedule started nothing"
    );
}
