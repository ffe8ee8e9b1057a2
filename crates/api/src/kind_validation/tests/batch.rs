//! Jobs and CronJobs.

use serde_json::{Value, json};

use super::{
    Case, create_errors, defaulted, prepare_for_create, run_create_cases, run_update_cases, set, status_errors,
    stored_meta,
};

fn job() -> Value {
    let mut job = defaulted(
        "batch",
        "Job",
        json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "pi", "namespace": "default", "uid": "6f2b1c4e-0000-4000-8000-000000000001"},
            "spec": {"template": {"spec": {"containers": [{"name": "pi", "image": "perl"}], "restartPolicy": "Never"}}},
        }),
    );
    prepare_for_create("batch", "Job", &mut job);
    job
}

fn stored_job() -> Value {
    let mut j = job();
    j["metadata"] = stored_meta("pi", Some("default"));
    j
}

#[test]
fn job_create_rules() {
    let cases = [
        Case {
            behaviour: "job pods never restart Always (the PodSpec default)",
            change: |j| set(j, "/spec/template/spec/restartPolicy", json!("Always")),
            expected: &["spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""],
        },
        Case {
            behaviour: "parallelism is not negative",
            change: |j| set(j, "/spec/parallelism", json!(-1)),
            expected: &["spec.parallelism: Invalid value: -1: must be greater than or equal to 0"],
        },
        Case {
            behaviour: "completion modes are NonIndexed or Indexed",
            change: |j| set(j, "/spec/completionMode", json!("Sorted")),
            expected: &[
                "spec.completionMode: Unsupported value: \"Sorted\": supported values: \"NonIndexed\", \"Indexed\"",
            ],
        },
        Case {
            behaviour: "a per-index backoff limit needs Indexed completion",
            change: |j| set(j, "/spec/backoffLimitPerIndex", json!(1)),
            expected: &["spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode"],
        },
        Case {
            behaviour: "the generated labels are required on the template",
            change: |j| set(j, "/spec/template/metadata/labels/batch.kubernetes.io~1job-name", json!("x")),
            expected: &[],
        },
        Case {
            behaviour: "a selector is required",
            change: |j| {
                j["spec"].as_object_mut().map(|s| s.remove("selector"));
            },
            expected: &["spec.selector: Required value"],
        },
        Case {
            behaviour: "the pod failure policy needs Never pods",
            change: |j| {
                set(j, "/spec/template/spec/restartPolicy", json!("OnFailure"));
                set(
                    j,
                    "/spec/podFailurePolicy",
                    json!({"rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [1]}}]}),
                );
                set(j, "/spec/podReplacementPolicy", json!("Failed"));
            },
            expected: &[
                "spec.template.spec.restartPolicy: Invalid value: \"OnFailure\": only \"Never\" is supported when podFailurePolicy is specified",
            ],
        },
        Case {
            behaviour: "exit codes are ordered and In excludes 0",
            change: |j| {
                set(
                    j,
                    "/spec/podFailurePolicy",
                    json!({"rules": [{"action": "Ignore", "onExitCodes": {"operator": "In", "values": [3, 0]}}]}),
                )
            },
            expected: &[
                "spec.podFailurePolicy.rules[0].onExitCodes.values[1]: Invalid value: 0: must not be 0 for the In operator",
                "spec.podFailurePolicy.rules[0].onExitCodes.values: Invalid value: []int32{3, 0}: must be ordered",
            ],
        },
    ];
    // The generated-label case replaces a label through a pointer with an escaped '/'.
    let (labels, rest): (Vec<Case>, Vec<Case>) =
        cases.into_iter().partition(|c| c.behaviour.starts_with("the generated labels"));
    run_create_cases("batch", "Job", job, &rest);
    for _ in labels {
        let mut j = job();
        j["spec"]["template"]["metadata"]["labels"]["batch.kubernetes.io/job-name"] = json!("x");
        assert_eq!(
            create_errors("batch", "Job", &j),
            vec![
                "spec.template.metadata.labels[batch.kubernetes.io/job-name]: Invalid value: map[string]string{\"batch.kubernetes.io/controller-uid\":\"6f2b1c4e-0000-4000-8000-000000000001\", \"batch.kubernetes.io/job-name\":\"x\", \"controller-uid\":\"6f2b1c4e-0000-4000-8000-000000000001\", \"job-name\":\"pi\"}: must be 'pi'"
            ]
        );
    }
}

#[test]
fn job_update_keeps_selector_template_and_completions() {
    let cases = [
        Case { behaviour: "parallelism may change", change: |j| set(j, "/spec/parallelism", json!(3)), expected: &[] },
        Case {
            behaviour: "completions are immutable for NonIndexed jobs",
            change: |j| set(j, "/spec/completions", json!(3)),
            expected: &["spec.completions: Invalid value: 3: field is immutable"],
        },
        Case {
            behaviour: "the selector is immutable",
            change: |j| set(j, "/spec/selector/matchLabels/extra", json!("x")),
            expected: &[],
        },
    ];
    let (selector, rest): (Vec<Case>, Vec<Case>) =
        cases.into_iter().partition(|c| c.behaviour.starts_with("the selector"));
    run_update_cases("batch", "Job", stored_job, &rest);
    for _ in selector {
        let old = stored_job();
        let mut new = old.clone();
        set(&mut new, "/spec/selector/matchLabels/extra", json!("x"));
        let got = super::update_errors("batch", "Job", &new, &old);
        assert!(
            got.iter().any(|g| g.starts_with("spec.selector: Invalid value: v1.LabelSelector{")
                && g.ends_with(": field is immutable")),
            "{got:#?}"
        );
    }
    let old = stored_job();
    let mut new = old.clone();
    set(&mut new, "/spec/template/spec/containers/0/image", json!("perl:5"));
    let got = super::update_errors("batch", "Job", &new, &old);
    assert!(
        got.iter().any(|g| g.starts_with("spec.template: Invalid value: ") && g.ends_with(": field is immutable")),
        "{got:#?}"
    );
    let mut suspended_old = stored_job();
    set(&mut suspended_old, "/spec/suspend", json!(true));
    let mut rescheduled = suspended_old.clone();
    set(&mut rescheduled, "/spec/template/spec/nodeSelector", json!({"zone": "a"}));
    assert!(
        super::update_errors("batch", "Job", &rescheduled, &suspended_old).is_empty(),
        "a suspended job that never ran may be rescheduled"
    );
}

#[test]
fn job_status_rules() {
    let old = stored_job();
    let mut failed = old.clone();
    set(&mut failed, "/status", json!({"failed": 1}));
    assert!(status_errors("batch", "Job", &failed, &old).is_empty());
    let mut fewer = failed.clone();
    set(&mut fewer, "/status/failed", json!(0));
    assert_eq!(
        status_errors("batch", "Job", &fewer, &failed),
        vec!["status.failed: Invalid value: 0: cannot decrease the failed counter"]
    );
    let mut complete = failed.clone();
    set(&mut complete, "/status/conditions", json!([{"type": "Complete", "status": "True"}]));
    let got = status_errors("batch", "Job", &complete, &failed);
    for want in [
        "status.completionTime: Required value: completionTime is required for Complete jobs",
        "status.conditions: Invalid value: cannot set Complete=True condition without the SuccessCriteriaMet=true condition",
        "status.startTime: Required value: startTime is required for finished job",
    ] {
        assert!(got.iter().any(|g| g == want), "expected {want:?} among {got:#?}");
    }
}

fn cron_job() -> Value {
    defaulted(
        "batch",
        "CronJob",
        json!({
            "metadata": {"name": "nightly", "namespace": "default"},
            "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "OnFailure"}}}}},
        }),
    )
}

#[test]
fn cron_job_rules() {
    let cases = [
        Case {
            behaviour: "step values parse",
            change: |c| set(c, "/spec/schedule", json!("*/5 * * * *")),
            expected: &[],
        },
        Case {
            behaviour: "named days and ranges parse",
            change: |c| set(c, "/spec/schedule", json!("0 9 * jan-jun MON-FRI")),
            expected: &[],
        },
        Case { behaviour: "descriptors parse", change: |c| set(c, "/spec/schedule", json!("@hourly")), expected: &[] },
        Case {
            behaviour: "a schedule has five fields",
            change: |c| set(c, "/spec/schedule", json!("* * *")),
            expected: &["spec.schedule: Invalid value: \"* * *\": expected exactly 5 fields, found 3: [* * *]"],
        },
        Case {
            behaviour: "minutes stop at 59",
            change: |c| set(c, "/spec/schedule", json!("61 * * * *")),
            expected: &["spec.schedule: Invalid value: \"61 * * * *\": end of range (61) above maximum (59): 61"],
        },
        Case {
            behaviour: "fields are numbers or names",
            change: |c| set(c, "/spec/schedule", json!("x * * * *")),
            expected: &[
                "spec.schedule: Invalid value: \"x * * * *\": failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax",
            ],
        },
        Case {
            behaviour: "unknown descriptors are rejected",
            change: |c| set(c, "/spec/schedule", json!("@fortnightly")),
            expected: &["spec.schedule: Invalid value: \"@fortnightly\": unrecognized descriptor: @fortnightly"],
        },
        Case {
            behaviour: "time zones go in the timeZone field",
            change: |c| set(c, "/spec/schedule", json!("CRON_TZ=UTC 0 3 * * *")),
            expected: &[
                "spec.schedule: Invalid value: \"CRON_TZ=UTC 0 3 * * *\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            ],
        },
        Case {
            behaviour: "a schedule is required",
            change: |c| set(c, "/spec/schedule", json!("")),
            expected: &["spec.schedule: Required value"],
        },
        Case {
            behaviour: "names leave room for the job suffix",
            change: |c| set(c, "/metadata/name", json!("n".repeat(53))),
            expected: &[],
        },
        Case {
            behaviour: "concurrency policies are Allow, Forbid or Replace",
            change: |c| set(c, "/spec/concurrencyPolicy", json!("Queue")),
            expected: &[
                "spec.concurrencyPolicy: Unsupported value: \"Queue\": supported values: \"Allow\", \"Forbid\", \"Replace\"",
            ],
        },
        Case {
            behaviour: "job template pods restart OnFailure or Never",
            change: |c| set(c, "/spec/jobTemplate/spec/template/spec/restartPolicy", json!("Always")),
            expected: &[
                "spec.jobTemplate.spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\"",
            ],
        },
        Case {
            behaviour: "the job template's selector is generated",
            change: |c| set(c, "/spec/jobTemplate/spec/selector", json!({"matchLabels": {"a": "b"}})),
            expected: &[
                "spec.jobTemplate.spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"a\":\"b\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: `selector` will be auto-generated",
            ],
        },
        Case {
            behaviour: "time zones are IANA names",
            change: |c| set(c, "/spec/timeZone", json!("Local")),
            expected: &[
                "spec.timeZone: Invalid value: \"Local\": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
            ],
        },
    ];
    let (long, rest): (Vec<Case>, Vec<Case>) =
        cases.into_iter().partition(|c| c.behaviour.starts_with("names leave room"));
    run_create_cases("batch", "CronJob", cron_job, &rest);
    for _ in long {
        let mut c = cron_job();
        let name = "n".repeat(53);
        set(&mut c, "/metadata/name", json!(name));
        assert_eq!(
            create_errors("batch", "CronJob", &c),
            vec![format!("metadata.name: Invalid value: \"{name}\": must be no more than 52 characters")]
        );
    }
}
