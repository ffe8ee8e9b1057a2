//! A Job and a CronJob run to completion in real containers on a
//! containerd-backed node.

mod common;

use std::time::Duration;

use common::field;
use rustkube_harness::{Cluster, eventually};

const JOB: &str = r#"
apiVersion: batch/v1
kind: Job
metadata: {name: count}
spec:
  completions: 3
  parallelism: 2
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: count
        image: busybox:1.36
        command: ["sh", "-c", "echo counted-by-$(hostname)"]
"#;

const CRONJOB: &str = r#"
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "* * * * *"
  concurrencyPolicy: Forbid
  successfulJobsHistoryLimit: 3
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: tick
            image: busybox:1.36
            command: ["sh", "-c", "echo tick-from-a-real-container"]
"#;

#[test]
fn job_and_cronjob_run_to_completion_in_real_containers() {
    let c = Cluster::builder().nodes(1).start();
    c.ok_stdin(&["apply", "-f", "-"], JOB);
    c.ok_stdin(&["apply", "-f", "-"], CRONJOB);

    c.ok(&["wait", "--for=condition=Complete", "job/count", "--timeout=90s"]);
    assert_eq!(field(&c, "job/count", "{.status.succeeded}"), "3");
    let names = c.ok(&["get", "pods", "-l", "job-name=count", "-o", "name"]);
    let names: Vec<&str> = names.lines().collect();
    assert_eq!(names.len(), 3, "one pod per completion, none retried: {names:?}");
    for name in names {
        let log = c.ok(&["logs", name]);
        let pod = name.trim_start_matches("pod/");
        assert_eq!(log, format!("counted-by-{pod}\n"), "the container ran with the pod's hostname");
    }

    // The schedule fires at the next minute boundary.
    eventually("a CronJob run to succeed", Duration::from_secs(100), || {
        let last = field(&c, "cronjob/tick", "{.status.lastSuccessfulTime}");
        if last.is_empty() { Err(field(&c, "cronjob/tick", "{.status}")) } else { Ok(()) }
    });
    let jobs = c.ok(&["get", "jobs", "-o", "jsonpath={range .items[*]}{.metadata.name} {.metadata.ownerReferences[0].name} {.status.succeeded}{\"\\n\"}{end}"]);
    let run =
        jobs.lines().find(|l| l.contains(" tick ")).unwrap_or_else(|| panic!("a job owned by the cronjob: {jobs}"));
    let job = run.split(' ').next().unwrap_or_default();
    assert!(run.ends_with(" 1"), "the cronjob's job succeeded once: {run}");
    let pod = c.ok(&["get", "pods", "-l", &format!("job-name={job}"), "-o", "jsonpath={.items[0].metadata.name}"]);
    assert_eq!(c.ok(&["logs", &pod]), "tick-from-a-real-container\n");
}
