//! CronJobs (upstream `ValidateCronJobCreate`, `ValidateCronJobUpdate`).

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec};

use super::cron::parse_standard;
use super::jobs::validate_job_spec;
use super::meta::{nonnegative_opt, validate_meta_create, validate_meta_update};
use super::{opt_str, render};
use crate::validation::{ErrorList, FieldError, NameRule};

/// `ValidateCronJobCreate`: also caps the name at 52 characters, leaving room for
/// the `-<timestamp>` suffix of the Jobs it creates.
pub(crate) fn validate_cron_job_create(cron_job: &CronJob) -> ErrorList {
    let mut errs = validate_meta_create(&cron_job.metadata, true, NameRule::Dns1123Subdomain, true);
    errs.extend(validate_cron_job_spec(&cron_job.spec.clone().unwrap_or_default(), None));
    let name = cron_job.metadata.name.as_deref().unwrap_or("");
    if name.len() > 52 {
        errs.push(FieldError::invalid("metadata.name", name, "must be no more than 52 characters"));
    }
    errs
}

pub(crate) fn validate_cron_job_update(new: &CronJob, old: &CronJob) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    let old_spec = old.spec.clone().unwrap_or_default();
    errs.extend(validate_cron_job_spec(&new.spec.clone().unwrap_or_default(), Some(&old_spec)));
    errs
}

/// `validateCronJobSpec`.
fn validate_cron_job_spec(spec: &CronJobSpec, old: Option<&CronJobSpec>) -> ErrorList {
    let mut errs = ErrorList::new();
    if spec.schedule.is_empty() {
        errs.push(FieldError::required("spec.schedule", ""));
    } else {
        if let Err(e) = parse_standard(&spec.schedule) {
            errs.push(FieldError::invalid("spec.schedule", &spec.schedule, e));
        }
        let tz_allowed = old.is_some_and(|o| o.schedule.contains("TZ"));
        let has_tz = spec.schedule.contains("TZ");
        if tz_allowed && has_tz && spec.time_zone.is_some() {
            errs.push(FieldError::invalid(
                "spec.schedule",
                &spec.schedule,
                "cannot use both timeZone field and TZ or CRON_TZ in schedule",
            ));
        } else if !tz_allowed && has_tz {
            errs.push(FieldError::invalid(
                "spec.schedule",
                &spec.schedule,
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            ));
        }
    }
    nonnegative_opt(&mut errs, spec.starting_deadline_seconds, "spec.startingDeadlineSeconds");
    if old.is_none_or(|o| o.time_zone != spec.time_zone) {
        errs.extend(validate_time_zone(spec.time_zone.as_deref()));
    }
    let policy = opt_str(&spec.concurrency_policy);
    match policy {
        "Allow" | "Forbid" | "Replace" => {}
        "" => errs.push(FieldError::required("spec.concurrencyPolicy", "")),
        other => errs.push(FieldError::not_supported("spec.concurrencyPolicy", other, &["Allow", "Forbid", "Replace"])),
    }
    let job_spec = spec.job_template.spec.clone().unwrap_or_default();
    errs.extend(validate_job_spec(&job_spec, "spec.jobTemplate.spec"));
    if let Some(selector) = &job_spec.selector {
        errs.push(FieldError::invalid(
            "spec.jobTemplate.spec.selector",
            render::label_selector(Some(selector)),
            "`selector` will be auto-generated",
        ));
    }
    if job_spec.manual_selector == Some(true) {
        errs.push(FieldError::not_supported("spec.jobTemplate.spec.manualSelector", true, &["nil", "false"]));
    }
    nonnegative_opt(&mut errs, spec.successful_jobs_history_limit, "spec.successfulJobsHistoryLimit");
    nonnegative_opt(&mut errs, spec.failed_jobs_history_limit, "spec.failedJobsHistoryLimit");
    errs
}

/// `validateTimeZone`. Without a zone database the name is checked for IANA's
/// naming rules only; upstream also loads it.
fn validate_time_zone(zone: Option<&str>) -> ErrorList {
    let Some(zone) = zone else {
        return Vec::new();
    };
    let path = "spec.timeZone";
    if zone.is_empty() {
        return vec![FieldError::invalid(path, zone, "timeZone must be nil or non-empty string")];
    }
    for part in zone.split('/') {
        let valid_chars = (1..=14).contains(&part.len())
            && part.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b'+'));
        if part == "." || part == ".." || part.starts_with('-') || !valid_chars {
            return vec![FieldError::invalid(path, zone, format!("unknown time zone {zone}"))];
        }
    }
    if zone.eq_ignore_ascii_case("Local") {
        return vec![FieldError::invalid(
            path,
            zone,
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
        )];
    }
    Vec::new()
}
