//! Tables for the batch group: jobs and cron jobs.

use jiff::Timestamp;
use serde_json::Value;

use super::fields::{self, age, cell, container_cells, count_cell, get, int, name, opt_bool, opt_int, str, time};
use super::selector::format_label_selector;
use super::{AGE, CONTAINERS_DESCRIPTION, Column, IMAGES_DESCRIPTION, NAME, col, descriptions as d, wide};

pub(super) const JOB_COLUMNS: &[Column] = &[
    NAME,
    col("Status", "string", "Status of the job."),
    col("Completions", "string", d::JOB_STATUS_SUCCEEDED),
    col("Duration", "string", "Time required to complete the job."),
    AGE,
    wide("Containers", "string", CONTAINERS_DESCRIPTION),
    wide("Images", "string", IMAGES_DESCRIPTION),
    wide("Selector", "string", d::JOB_SPEC_SELECTOR),
];

pub(super) fn job_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let succeeded = int(o, "status.succeeded");
    let completions = match opt_int(o, "spec.completions") {
        Some(completions) => format!("{succeeded}/{completions}"),
        None => match opt_int(o, "spec.parallelism").unwrap_or(0) {
            parallelism if parallelism > 1 => format!("{succeeded}/1 of {parallelism}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let duration = match (time(o, "status.startTime"), time(o, "status.completionTime")) {
        (None, _) => String::new(),
        (Some(start), None) => fields::between(start, now),
        (Some(start), Some(end)) => fields::between(start, end),
    };
    let (names, images) = container_cells(get(o, "spec.template.spec"));
    vec![
        cell(name(o)),
        cell(job_status(o)),
        cell(completions),
        cell(duration),
        age(o, now),
        names,
        images,
        cell(format_label_selector(o, "spec.selector")),
    ]
}

/// The first matching of Complete, Failed, Terminating (being deleted), Suspended, FailureTarget, else Running.
fn job_status(o: &Value) -> &'static str {
    // Upstream looks at the first condition of each type only.
    let has =
        |type_: &str| fields::condition(o, "status.conditions", type_).is_some_and(|c| str(c, "status") == "True");
    if has("Complete") {
        "Complete"
    } else if has("Failed") {
        "Failed"
    } else if fields::deleting(o) {
        "Terminating"
    } else if has("Suspended") {
        "Suspended"
    } else if has("FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    }
}

pub(super) const CRON_JOB_COLUMNS: &[Column] = &[
    NAME,
    col("Schedule", "string", d::CRONJOB_SPEC_SCHEDULE),
    col("Timezone", "string", d::CRONJOB_SPEC_TIME_ZONE),
    col("Suspend", "boolean", d::CRONJOB_SPEC_SUSPEND),
    col("Active", "integer", d::CRONJOB_STATUS_ACTIVE),
    col("Last Schedule", "string", d::CRONJOB_STATUS_LAST_SCHEDULE),
    AGE,
    wide("Containers", "string", CONTAINERS_DESCRIPTION),
    wide("Images", "string", IMAGES_DESCRIPTION),
    wide("Selector", "string", d::JOB_SPEC_SELECTOR),
];

pub(super) fn cron_job_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    // An unparseable or zero lastScheduleTime is a set-but-zero pointer upstream, hence "<unknown>".
    let last_schedule = match get(o, "status.lastScheduleTime") {
        None | Some(Value::Null) => "<none>".to_string(),
        Some(_) => fields::since(time(o, "status.lastScheduleTime"), now),
    };
    let suspend = match opt_bool(o, "spec.suspend") {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    };
    let (names, images) = container_cells(get(o, "spec.jobTemplate.spec.template.spec"));
    vec![
        cell(name(o)),
        cell(str(o, "spec.schedule")),
        cell(fields::opt_str(o, "spec.timeZone").unwrap_or("<none>")),
        cell(suspend),
        count_cell(fields::arr(o, "status.active").len()),
        cell(last_schedule),
        age(o, now),
        names,
        images,
        cell(format_label_selector(o, "spec.jobTemplate.spec.selector")),
    ]
}
