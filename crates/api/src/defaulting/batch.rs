//! Defaults of the `batch` group (upstream `batch/v1/defaults.go`) and the Job
//! strategy's selector generation.

use serde_json::{Value, json};

use super::pod::default_pod_template_spec;
use super::{Object, default_str, default_value, each_object, ensure_object, is_absent, object_mut};

/// The pod label and selector key carrying the Job's uid.
pub(crate) const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
/// The pod label carrying the Job's name.
pub(crate) const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
/// The unprefixed twins of the labels above, still set for compatibility.
pub(crate) const LEGACY_CONTROLLER_UID_LABEL: &str = "controller-uid";
pub(crate) const LEGACY_JOB_NAME_LABEL: &str = "job-name";

/// `SetDefaults_Job`.
pub(crate) fn default_job(job: &mut Object) {
    let template_labels = job
        .get("spec")
        .and_then(|s| s.get("template"))
        .and_then(|t| t.get("metadata"))
        .and_then(|m| m.get("labels"))
        .filter(|l| l.is_object())
        .cloned();
    let Some(spec) = ensure_object(job, "spec") else {
        return;
    };
    // Both unset: a non-parallel job of one completion.
    if is_absent(spec.get("completions")) && is_absent(spec.get("parallelism")) {
        spec.insert("completions".into(), json!(1));
        spec.insert("parallelism".into(), json!(1));
    }
    default_value(spec, "parallelism", json!(1));
    if is_absent(spec.get("backoffLimit")) {
        // With a per-index limit, the global limit is effectively disabled.
        let limit = if is_absent(spec.get("backoffLimitPerIndex")) { 6 } else { i64::from(i32::MAX) };
        spec.insert("backoffLimit".into(), json!(limit));
    }
    default_value(spec, "completionMode", json!("NonIndexed"));
    default_value(spec, "suspend", json!(false));
    if is_absent(spec.get("podReplacementPolicy")) {
        let policy = if is_absent(spec.get("podFailurePolicy")) { "TerminatingOrFailed" } else { "Failed" };
        spec.insert("podReplacementPolicy".into(), json!(policy));
    }
    default_job_spec_parts(spec);
    if let Some(labels) = template_labels
        && let Some(meta) = ensure_object(job, "metadata")
        && super::is_empty_collection(meta.get("labels"))
    {
        meta.insert("labels".into(), labels);
    }
}

/// `SetDefaults_CronJob`, and the pod template of its job template (the job-level
/// defaults are applied when the controller creates each Job).
pub(crate) fn default_cron_job(cron_job: &mut Object) {
    let Some(spec) = ensure_object(cron_job, "spec") else {
        return;
    };
    default_str(spec, "concurrencyPolicy", "Allow");
    default_value(spec, "suspend", json!(false));
    default_value(spec, "successfulJobsHistoryLimit", json!(3));
    default_value(spec, "failedJobsHistoryLimit", json!(1));
    if let Some(job_spec) = ensure_object(spec, "jobTemplate").and_then(|t| ensure_object(t, "spec")) {
        default_job_spec_parts(job_spec);
    }
}

/// The nested defaulters a JobSpec gets wherever it appears: the pod template and
/// pod failure policy condition patterns (`status` defaults to `True`).
fn default_job_spec_parts(spec: &mut Object) {
    if let Some(template) = ensure_object(spec, "template") {
        default_pod_template_spec(template);
    }
    if let Some(policy) = object_mut(spec, "podFailurePolicy") {
        for rule in each_object(policy, "rules") {
            for pattern in each_object(rule, "onPodConditions") {
                default_str(pattern, "status", "True");
            }
        }
    }
}

/// The Job strategy's selector generation (`generateSelector`): unless
/// `manualSelector` is true, the selector is `controller-uid=<uid>` and the template
/// is labelled with the uid and the job name, prefixed and legacy.
pub(crate) fn generate_job_selector(job: &mut Object) {
    let meta = job.get("metadata");
    let uid = meta.and_then(|m| m.get("uid")).and_then(Value::as_str).unwrap_or("").to_string();
    let name = meta.and_then(|m| m.get("name")).and_then(Value::as_str).unwrap_or("").to_string();
    if uid.is_empty() {
        return;
    }
    let Some(spec) = ensure_object(job, "spec") else {
        return;
    };
    if spec.get("manualSelector").and_then(Value::as_bool) == Some(true) {
        return;
    }
    spec.insert("manualSelector".into(), json!(false));
    if let Some(labels) = ensure_object(spec, "template")
        .and_then(|t| ensure_object(t, "metadata"))
        .and_then(|m| ensure_object(m, "labels"))
    {
        // Labels the user already set are kept; a conflict fails validation.
        for (key, value) in [
            (LEGACY_JOB_NAME_LABEL, &name),
            (JOB_NAME_LABEL, &name),
            (LEGACY_CONTROLLER_UID_LABEL, &uid),
            (CONTROLLER_UID_LABEL, &uid),
        ] {
            labels.entry(key).or_insert_with(|| Value::String(value.clone()));
        }
    }
    if let Some(match_labels) = ensure_object(spec, "selector").and_then(|s| ensure_object(s, "matchLabels")) {
        match_labels.entry(CONTROLLER_UID_LABEL).or_insert(Value::String(uid));
    }
}
