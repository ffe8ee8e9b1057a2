//! Jobs (upstream `batch/validation` with the options the 1.33 job strategy passes).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::batch::v1::{Job, JobCondition, JobSpec, JobStatus, PodFailurePolicyRule};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use super::meta::{
    immutable, nonnegative, nonnegative_opt, validate_label_selector, validate_meta_create, validate_meta_update,
};
use super::pod::validate_pod_template_spec;
use super::{opt_str, render};
use crate::label_selector::LabelSelector;
use crate::validation::{ErrorList, FieldError, NameRule, child_path, index_path, is_dns1123_label, is_qualified_name};

const MAX_PARALLELISM_FOR_INDEXED: i32 = 100_000;
const MAX_FAILED_INDEXES: i32 = 100_000;
const COMPLETIONS_SOFT_LIMIT: i32 = 100_000;
const PARALLELISM_LIMIT_HIGH_COMPLETIONS: i32 = 10_000;
const MAX_FAILED_INDEXES_HIGH_COMPLETIONS: i32 = 10_000;
const MAX_POD_FAILURE_POLICY_RULES: usize = 20;
const MAX_EXIT_CODE_VALUES: usize = 255;
const MAX_CONDITION_PATTERNS: usize = 20;
const MAX_MANAGED_BY_LENGTH: usize = 63;
const MAX_SUCCESS_POLICY_RULES: usize = 20;
const MAX_SUCCEEDED_INDEXES_LENGTH: usize = 64 * 1024;

const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
const LEGACY_CONTROLLER_UID_LABEL: &str = "controller-uid";
const LEGACY_JOB_NAME_LABEL: &str = "job-name";

/// `ValidateJob` with prefixed labels required (new Jobs).
pub(crate) fn validate_job_create(job: &Job) -> ErrorList {
    let mut errs = validate_meta_create(&job.metadata, true, NameRule::Dns1123Subdomain, true);
    let spec = job.spec.clone().unwrap_or_default();
    errs.extend(validate_generated_selector(&job.metadata, &spec));
    errs.extend(validate_job_spec_with_selector(&spec, "spec"));
    if opt_str(&spec.completion_mode) == "Indexed"
        && let Some(completions) = spec.completions.filter(|c| *c > 0)
    {
        let name = job.metadata.name.as_deref().unwrap_or("");
        let hostname = format!("{name}-{}", completions - 1);
        if !is_dns1123_label(&hostname).is_empty() {
            errs.push(FieldError::invalid(
                "metadata.name",
                name,
                format!("will not able to create pod with invalid DNS label: {hostname}"),
            ));
        }
    }
    errs
}

/// `validateGeneratedSelector`: unless the selector is manual, the template carries
/// the generated labels and the selector matches them.
fn validate_generated_selector(meta: &ObjectMeta, spec: &JobSpec) -> ErrorList {
    let mut errs = ErrorList::new();
    if spec.manual_selector == Some(true) {
        return errs;
    }
    let Some(selector) = &spec.selector else {
        return errs;
    };
    let uid = meta.uid.as_deref().unwrap_or("");
    let name = meta.name.as_deref().unwrap_or("");
    if uid.is_empty() {
        errs.push(FieldError::required("metadata.uid", ""));
    }
    let template_meta = spec.template.metadata.clone().unwrap_or_default();
    for (key, expected) in [
        (LEGACY_CONTROLLER_UID_LABEL, uid),
        (LEGACY_JOB_NAME_LABEL, name),
        (CONTROLLER_UID_LABEL, uid),
        (JOB_NAME_LABEL, name),
    ] {
        errs.extend(validate_has_label(&template_meta, "spec.template.metadata", key, expected));
    }
    let expected: BTreeMap<String, String> = [
        (CONTROLLER_UID_LABEL, uid),
        (JOB_NAME_LABEL, name),
        (LEGACY_CONTROLLER_UID_LABEL, uid),
        (LEGACY_JOB_NAME_LABEL, name),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if let Ok(parsed) = LabelSelector::from_meta(Some(selector))
        && !parsed.matches(&expected)
    {
        errs.push(FieldError::invalid(
            "spec.selector",
            render::label_selector(Some(selector)),
            "`selector` not auto-generated",
        ));
    }
    errs
}

/// `ValidateHasLabel`.
fn validate_has_label(meta: &ObjectMeta, path: &str, key: &str, expected: &str) -> ErrorList {
    let label_path = format!("{path}.labels[{key}]");
    match meta.labels.as_ref().and_then(|l| l.get(key)) {
        None => vec![FieldError::required(label_path, format!("must be '{expected}'"))],
        Some(actual) if actual != expected => {
            vec![FieldError::invalid(
                label_path,
                render::string_map(meta.labels.as_ref()),
                format!("must be '{expected}'"),
            )]
        }
        Some(_) => Vec::new(),
    }
}

/// `ValidateJobSpec`: the spec, a selector, and the template matching it.
fn validate_job_spec_with_selector(spec: &JobSpec, path: &str) -> ErrorList {
    let mut errs = validate_job_spec(spec, path);
    let selector_path = child_path(path, "selector");
    match &spec.selector {
        None => errs.push(FieldError::required(&selector_path, "")),
        Some(selector) => errs.extend(validate_label_selector(Some(selector), &selector_path)),
    }
    if let Ok(parsed) = LabelSelector::from_meta(spec.selector.as_ref()) {
        let labels = spec.template.metadata.as_ref().and_then(|m| m.labels.as_ref());
        if !parsed.matches_opt(labels) {
            errs.push(FieldError::invalid(
                child_path(path, "template.metadata.labels"),
                render::string_map(labels),
                "`selector` does not match template `labels`",
            ));
        }
    }
    errs
}

/// `validateJobSpec`.
pub(crate) fn validate_job_spec(spec: &JobSpec, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let p = |field: &str| child_path(path, field);
    nonnegative_opt(&mut errs, spec.parallelism, &p("parallelism"));
    nonnegative_opt(&mut errs, spec.completions, &p("completions"));
    nonnegative_opt(&mut errs, spec.active_deadline_seconds, &p("activeDeadlineSeconds"));
    nonnegative_opt(&mut errs, spec.backoff_limit, &p("backoffLimit"));
    nonnegative_opt(&mut errs, spec.ttl_seconds_after_finished, &p("ttlSecondsAfterFinished"));
    nonnegative_opt(&mut errs, spec.backoff_limit_per_index, &p("backoffLimitPerIndex"));
    if let Some(max_failed) = spec.max_failed_indexes {
        errs.extend(nonnegative(i64::from(max_failed), p("maxFailedIndexes")));
        if spec.backoff_limit_per_index.is_none() {
            errs.push(FieldError::required(p("backoffLimitPerIndex"), "when maxFailedIndexes is specified"));
        }
    }
    if let Some(managed_by) = &spec.managed_by {
        errs.extend(validate_domain_prefixed_path(managed_by, &p("managedBy")));
        if managed_by.len() > MAX_MANAGED_BY_LENGTH {
            errs.push(FieldError::too_long(p("managedBy"), MAX_MANAGED_BY_LENGTH));
        }
    }
    let indexed = opt_str(&spec.completion_mode) == "Indexed";
    if let Some(mode) = &spec.completion_mode {
        if mode != "NonIndexed" && mode != "Indexed" {
            errs.push(FieldError::not_supported(p("completionMode"), mode, &["NonIndexed", "Indexed"]));
        }
        if indexed {
            if spec.completions.is_none() {
                errs.push(FieldError::required(p("completions"), "when completion mode is Indexed"));
            }
            if let Some(parallelism) = spec.parallelism.filter(|v| *v > MAX_PARALLELISM_FOR_INDEXED) {
                errs.push(FieldError::invalid(
                    p("parallelism"),
                    parallelism,
                    format!(
                        "must be less than or equal to {MAX_PARALLELISM_FOR_INDEXED} when completion mode is Indexed"
                    ),
                ));
            }
            if let (Some(completions), Some(max_failed)) = (spec.completions, spec.max_failed_indexes)
                && max_failed > completions
            {
                errs.push(FieldError::invalid(
                    p("maxFailedIndexes"),
                    max_failed,
                    "must be less than or equal to completions",
                ));
            }
            if let Some(max_failed) = spec.max_failed_indexes.filter(|m| *m > MAX_FAILED_INDEXES) {
                errs.push(FieldError::invalid(
                    p("maxFailedIndexes"),
                    max_failed,
                    format!("must be less than or equal to {MAX_FAILED_INDEXES}"),
                ));
            }
            let high =
                spec.completions.is_some_and(|c| c > COMPLETIONS_SOFT_LIMIT) && spec.backoff_limit_per_index.is_some();
            if high {
                if spec.max_failed_indexes.is_none() {
                    errs.push(FieldError::required(
                        p("maxFailedIndexes"),
                        format!("must be specified when completions is above {COMPLETIONS_SOFT_LIMIT}"),
                    ));
                }
                if let Some(parallelism) = spec.parallelism.filter(|v| *v > PARALLELISM_LIMIT_HIGH_COMPLETIONS) {
                    errs.push(FieldError::invalid(
                        p("parallelism"),
                        parallelism,
                        format!("must be less than or equal to {PARALLELISM_LIMIT_HIGH_COMPLETIONS} when completions are above {COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index"),
                    ));
                }
                if let Some(max_failed) = spec.max_failed_indexes.filter(|m| *m > MAX_FAILED_INDEXES_HIGH_COMPLETIONS) {
                    errs.push(FieldError::invalid(
                        p("maxFailedIndexes"),
                        max_failed,
                        format!("must be less than or equal to {MAX_FAILED_INDEXES_HIGH_COMPLETIONS} when completions are above {COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index"),
                    ));
                }
            }
        }
    }
    if !indexed {
        if let Some(limit) = spec.backoff_limit_per_index {
            errs.push(FieldError::invalid(p("backoffLimitPerIndex"), limit, "requires indexed completion mode"));
        }
        if let Some(max_failed) = spec.max_failed_indexes {
            errs.push(FieldError::invalid(p("maxFailedIndexes"), max_failed, "requires indexed completion mode"));
        }
    }
    if let Some(policy) = &spec.pod_failure_policy {
        errs.extend(validate_pod_failure_policy(&policy.rules, spec, &p("podFailurePolicy")));
    }
    if let Some(success) = &spec.success_policy {
        if !indexed {
            errs.push(FieldError::invalid(
                p("successPolicy"),
                render::json(success),
                "requires indexed completion mode",
            ));
        } else {
            errs.extend(validate_success_policy(&success.rules, spec.completions.unwrap_or(0), &p("successPolicy")));
        }
    }
    if let Some(policy) = &spec.pod_replacement_policy {
        if spec.pod_failure_policy.is_some() {
            if policy != "Failed" {
                errs.push(FieldError::not_supported(p("podReplacementPolicy"), policy, &["Failed"]));
            }
        } else if policy != "Failed" && policy != "TerminatingOrFailed" {
            errs.push(FieldError::not_supported(p("podReplacementPolicy"), policy, &["Failed", "TerminatingOrFailed"]));
        }
    }
    errs.extend(validate_pod_template_spec(Some(&spec.template), &p("template")));
    let restart_path = child_path(&p("template"), "spec.restartPolicy");
    let restart = spec.template.spec.as_ref().and_then(|s| s.restart_policy.clone()).unwrap_or_default();
    match restart.as_str() {
        "Always" | "" => errs.push(FieldError::required(restart_path, "valid values: \"OnFailure\", \"Never\"")),
        "OnFailure" | "Never" => {
            if spec.pod_failure_policy.is_some() && restart != "Never" {
                errs.push(FieldError::invalid(
                    restart_path,
                    &restart,
                    "only \"Never\" is supported when podFailurePolicy is specified",
                ));
            }
        }
        other => errs.push(FieldError::not_supported(restart_path, other, &["OnFailure", "Never"])),
    }
    errs
}

/// `IsDomainPrefixedPath`: `domain/path` with a DNS subdomain and a non-empty path.
fn validate_domain_prefixed_path(value: &str, path: &str) -> ErrorList {
    let Some((domain, rest)) = value.split_once('/') else {
        return vec![FieldError::invalid(path, value, "must be a domain-prefixed path (such as \"acme.io/foo\")")];
    };
    let mut errs: ErrorList = crate::validation::is_dns1123_subdomain(domain)
        .into_iter()
        .map(|m| FieldError::invalid(path, domain, m))
        .collect();
    if rest.is_empty() {
        errs.push(FieldError::invalid(path, value, "must be a domain-prefixed path (such as \"acme.io/foo\")"));
    }
    errs
}

/// `validatePodFailurePolicy` and its rules.
fn validate_pod_failure_policy(rules: &[PodFailurePolicyRule], spec: &JobSpec, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let rules_path = child_path(path, "rules");
    if rules.len() > MAX_POD_FAILURE_POLICY_RULES {
        errs.push(FieldError::too_many(&rules_path, Some(rules.len()), Some(MAX_POD_FAILURE_POLICY_RULES)));
    }
    let pod_spec = spec.template.spec.clone().unwrap_or_default();
    let containers: BTreeSet<String> =
        pod_spec.containers.iter().chain(pod_spec.init_containers.iter().flatten()).map(|c| c.name.clone()).collect();
    const ACTIONS: [&str; 4] = ["Count", "FailIndex", "FailJob", "Ignore"];
    for (i, rule) in rules.iter().enumerate() {
        let rule_path = index_path(&rules_path, i);
        let action_path = child_path(&rule_path, "action");
        match rule.action.as_str() {
            "" => errs.push(FieldError::required(
                &action_path,
                "valid values: [\"Count\" \"FailIndex\" \"FailJob\" \"Ignore\"]",
            )),
            "FailIndex" if spec.backoff_limit_per_index.is_none() => {
                errs.push(FieldError::invalid(
                    &action_path,
                    "FailIndex",
                    "requires the backoffLimitPerIndex to be set",
                ));
            }
            action if !ACTIONS.contains(&action) => {
                errs.push(FieldError::not_supported(&action_path, action, &ACTIONS))
            }
            _ => {}
        }
        if let Some(on_exit) = &rule.on_exit_codes {
            let p = child_path(&rule_path, "onExitCodes");
            match on_exit.operator.as_str() {
                "" => errs.push(FieldError::required(child_path(&p, "operator"), "valid values: [\"In\" \"NotIn\"]")),
                "In" | "NotIn" => {}
                other => errs.push(FieldError::not_supported(child_path(&p, "operator"), other, &["In", "NotIn"])),
            }
            if let Some(name) = &on_exit.container_name
                && !containers.contains(name)
            {
                errs.push(FieldError::invalid(
                    child_path(&p, "containerName"),
                    name,
                    "must be one of the container or initContainer names in the pod template",
                ));
            }
            let values_path = child_path(&p, "values");
            if on_exit.values.is_empty() {
                errs.push(FieldError::invalid(
                    &values_path,
                    render::int32_slice(&on_exit.values),
                    "at least one value is required",
                ));
            } else if on_exit.values.len() > MAX_EXIT_CODE_VALUES {
                errs.push(FieldError::too_many(&values_path, Some(on_exit.values.len()), Some(MAX_EXIT_CODE_VALUES)));
            }
            let mut seen = BTreeSet::new();
            let mut ordered = true;
            for (j, value) in on_exit.values.iter().enumerate() {
                let value_path = index_path(&values_path, j);
                if on_exit.operator == "In" && *value == 0 {
                    errs.push(FieldError::invalid(&value_path, *value, "must not be 0 for the In operator"));
                }
                if !seen.insert(*value) {
                    errs.push(FieldError::duplicate(&value_path, *value));
                }
                if j > 0 && on_exit.values[j - 1] > *value {
                    ordered = false;
                }
            }
            if !ordered {
                errs.push(FieldError::invalid(&values_path, render::int32_slice(&on_exit.values), "must be ordered"));
            }
        }
        let patterns = rule.on_pod_conditions.as_deref().unwrap_or_default();
        if !patterns.is_empty() {
            let p = child_path(&rule_path, "onPodConditions");
            if patterns.len() > MAX_CONDITION_PATTERNS {
                errs.push(FieldError::too_many(&p, Some(patterns.len()), Some(MAX_CONDITION_PATTERNS)));
            }
            for (j, pattern) in patterns.iter().enumerate() {
                let pattern_path = index_path(&p, j);
                for msg in is_qualified_name(&pattern.type_) {
                    errs.push(FieldError::invalid(child_path(&pattern_path, "type"), &pattern.type_, msg));
                }
                let status = pattern.status.as_str();
                match status {
                    "" => errs.push(FieldError::required(
                        child_path(&pattern_path, "status"),
                        "valid values: [\"False\" \"True\" \"Unknown\"]",
                    )),
                    "False" | "True" | "Unknown" => {}
                    other => errs.push(FieldError::not_supported(
                        child_path(&pattern_path, "status"),
                        other,
                        &["False", "True", "Unknown"],
                    )),
                }
            }
        }
        if rule.on_exit_codes.is_some() && !patterns.is_empty() {
            errs.push(FieldError::invalid_value_omitted(
                &rule_path,
                "specifying both OnExitCodes and OnPodConditions is not supported",
            ));
        }
        if rule.on_exit_codes.is_none() && patterns.is_empty() {
            errs.push(FieldError::invalid_value_omitted(
                &rule_path,
                "specifying one of OnExitCodes and OnPodConditions is required",
            ));
        }
    }
    errs
}

/// `validateSuccessPolicy`.
fn validate_success_policy(
    rules: &[k8s_openapi::api::batch::v1::SuccessPolicyRule],
    completions: i32,
    path: &str,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let rules_path = child_path(path, "rules");
    if rules.is_empty() {
        errs.push(FieldError::required(
            &rules_path,
            "at least one rules must be specified when the successPolicy is specified",
        ));
    }
    if rules.len() > MAX_SUCCESS_POLICY_RULES {
        errs.push(FieldError::too_many(&rules_path, Some(rules.len()), Some(MAX_SUCCESS_POLICY_RULES)));
    }
    for (i, rule) in rules.iter().enumerate() {
        let rule_path = index_path(&rules_path, i);
        if rule.succeeded_count.is_none() && rule.succeeded_indexes.is_none() {
            errs.push(FieldError::required(
                &rule_path,
                "at least one of succeededCount or succeededIndexes must be specified",
            ));
        }
        let mut total = 0;
        if let Some(indexes) = &rule.succeeded_indexes {
            let p = child_path(&rule_path, "succeededIndexes");
            if indexes.len() > MAX_SUCCEEDED_INDEXES_LENGTH {
                errs.push(FieldError::too_long(&p, MAX_SUCCEEDED_INDEXES_LENGTH));
            }
            match validate_indexes_format(indexes, completions) {
                Ok(t) => total = t,
                Err(e) => errs.push(FieldError::invalid(&p, indexes, format!("error parsing succeededIndexes: {e}"))),
            }
        }
        if let Some(count) = rule.succeeded_count {
            let p = child_path(&rule_path, "succeededCount");
            errs.extend(nonnegative(i64::from(count), &p));
            if count > completions {
                errs.push(FieldError::invalid(
                    &p,
                    count,
                    format!("must be less than or equal to {completions} (the number of specified completions)"),
                ));
            }
            if rule.succeeded_indexes.is_some() && count > total {
                errs.push(FieldError::invalid(
                    &p,
                    count,
                    format!("must be less than or equal to {total} (the number of indexes in the specified succeededIndexes field)"),
                ));
            }
        }
    }
    errs
}

/// `validateIndexesFormat`: ascending `a` or `a-b` intervals below `completions`;
/// the number of indexes.
fn validate_indexes_format(indexes: &str, completions: i32) -> Result<i32, String> {
    if indexes.is_empty() {
        return Ok(0);
    }
    let mut last: Option<i64> = None;
    let mut total: i64 = 0;
    for interval in indexes.split(',') {
        let (x, y) = parse_index_interval(interval, completions)?;
        if let Some(last) = last.filter(|l| *l >= x) {
            return Err(format!("non-increasing order, previous: {last}, current: {x}"));
        }
        total += y - x + 1;
        last = Some(y);
    }
    Ok(i32::try_from(total).unwrap_or(i32::MAX))
}

fn parse_index_interval(interval: &str, completions: i32) -> Result<(i64, i64), String> {
    let limits: Vec<&str> = interval.split('-').collect();
    if limits.len() > 2 {
        return Err(format!(
            "the fragment {} violates the requirement that an index interval can have at most two parts separated by '-'",
            crate::validation::go_quote(interval)
        ));
    }
    let parse = |s: &str| -> Result<i64, String> {
        let x: i64 = s
            .parse()
            .map_err(|_| format!("cannot convert string to integer for index: {}", crate::validation::go_quote(s)))?;
        if x >= i64::from(completions) {
            return Err(format!("too large index: {}", crate::validation::go_quote(s)));
        }
        Ok(x)
    };
    let x = parse(limits[0])?;
    if limits.len() == 2 {
        let y = parse(limits[1])?;
        if x >= y {
            return Err(format!("non-increasing order, previous: {x}, current: {y}"));
        }
        return Ok((x, y));
    }
    Ok((x, x))
}

/// `ValidateJobUpdate`: the new spec valid, and the selector, template (save
/// scheduling directives while suspended before starting), completion mode,
/// failure and success policies, per-index limit and managedBy unchanged;
/// completions only with parallelism for Indexed jobs.
pub(crate) fn validate_job_update(new: &Job, old: &Job) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    let spec = new.spec.clone().unwrap_or_default();
    let old_spec = old.spec.clone().unwrap_or_default();
    errs.extend(validate_job_spec_with_selector(&spec, "spec"));
    if spec.completions != old_spec.completions {
        let indexed = opt_str(&spec.completion_mode) == "Indexed";
        if !indexed {
            errs.push(immutable("spec.completions", render::ptr(spec.completions)));
        } else if let Some(completions) = spec.completions
            && Some(completions) != spec.parallelism
        {
            errs.push(FieldError::invalid(
                "spec.completions",
                completions,
                "can only be modified in tandem with spec.parallelism",
            ));
        }
    }
    if spec.selector != old_spec.selector {
        errs.push(immutable("spec.selector", render::label_selector(spec.selector.as_ref())));
    }
    let suspended_not_started =
        old_spec.suspend == Some(true) && old.status.as_ref().and_then(|s| s.start_time.as_ref()).is_none();
    let mut old_template = old_spec.template.clone();
    if suspended_not_started {
        relax_scheduling_directives(&mut old_template, &spec.template);
    }
    if spec.template != old_template {
        errs.push(immutable("spec.template", render::json(&spec.template)));
    }
    let checks: [(&str, Value, Value); 5] = [
        ("completionMode", json_of(&spec.completion_mode), json_of(&old_spec.completion_mode)),
        ("podFailurePolicy", json_of(&spec.pod_failure_policy), json_of(&old_spec.pod_failure_policy)),
        ("backoffLimitPerIndex", json_of(&spec.backoff_limit_per_index), json_of(&old_spec.backoff_limit_per_index)),
        ("managedBy", json_of(&spec.managed_by), json_of(&old_spec.managed_by)),
        ("successPolicy", json_of(&spec.success_policy), json_of(&old_spec.success_policy)),
    ];
    for (field, new_value, old_value) in checks {
        if new_value != old_value {
            let shown = match &new_value {
                Value::Null => render::Raw("null".into()),
                Value::String(s) => render::Raw(crate::validation::go_quote(s)),
                other => render::Raw(other.to_string()),
            };
            errs.push(immutable(format!("spec.{field}"), shown));
        }
    }
    errs
}

fn json_of<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The old template with the fields a suspended, never-started Job may change
/// (node affinity, node selector, tolerations, labels, annotations, scheduling
/// gates) taken from the new one.
fn relax_scheduling_directives(old: &mut PodTemplateSpec, new: &PodTemplateSpec) {
    let new_spec = new.spec.clone().unwrap_or_default();
    let old_spec = old.spec.get_or_insert_with(Default::default);
    match (&new_spec.affinity, &mut old_spec.affinity) {
        (None, Some(old_affinity)) => {
            old_affinity.node_affinity = None;
            if old_affinity.pod_affinity.is_none() && old_affinity.pod_anti_affinity.is_none() {
                old_spec.affinity = None;
            }
        }
        (Some(new_affinity), None) => {
            old_spec.affinity = Some(k8s_openapi::api::core::v1::Affinity {
                node_affinity: new_affinity.node_affinity.clone(),
                ..Default::default()
            });
        }
        (Some(new_affinity), Some(old_affinity)) => old_affinity.node_affinity = new_affinity.node_affinity.clone(),
        (None, None) => {}
    }
    old_spec.node_selector = new_spec.node_selector.clone();
    old_spec.tolerations = new_spec.tolerations.clone();
    old_spec.scheduling_gates = new_spec.scheduling_gates.clone();
    let new_meta = new.metadata.clone().unwrap_or_default();
    let old_meta = old.metadata.get_or_insert_with(Default::default);
    old_meta.annotations = new_meta.annotations;
    old_meta.labels = new_meta.labels;
}

/// `ValidateJobUpdateStatus` with the options of the 1.33 strategy (managedBy
/// enabled): counters, terminal conditions and timestamps consistent, each rule
/// only where the fields it covers changed.
pub(crate) fn validate_job_status_update(new: &Job, old: &Job) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    let status = new.status.clone().unwrap_or_default();
    let old_status = old.status.clone().unwrap_or_default();
    let spec = new.spec.clone().unwrap_or_default();
    let conditions = status.conditions.as_deref().unwrap_or_default();
    let old_conditions = old_status.conditions.as_deref().unwrap_or_default();
    let is_true = |list: &[JobCondition], kind: &str| list.iter().any(|c| c.type_ == kind && c.status == "True");
    let finished = |list: &[JobCondition]| is_true(list, "Complete") || is_true(list, "Failed");
    let (complete, failed) = (is_true(conditions, "Complete"), is_true(conditions, "Failed"));
    let finished_changed = finished(conditions) != finished(old_conditions);
    let complete_changed = complete != is_true(old_conditions, "Complete");
    let failed_changed = failed != is_true(old_conditions, "Failed");
    let active_changed = status.active != old_status.active;
    let start_changed = status.start_time != old_status.start_time;
    let completion_changed = status.completion_time != old_status.completion_time;
    let indexed = opt_str(&spec.completion_mode) == "Indexed";

    errs.extend(validate_job_status_counts(&status));
    if (complete_changed || failed_changed) && complete && failed {
        errs.push(FieldError::invalid_value_omitted(
            "status.conditions",
            "cannot set Complete=True and Failed=true conditions",
        ));
    }
    if (complete_changed || completion_changed) && status.completion_time.is_some() && !complete {
        errs.push(FieldError::invalid(
            "status.completionTime",
            render::time_ptr(status.completion_time.as_ref()),
            "cannot set completionTime when there is no Complete=True condition",
        ));
    }
    if (complete_changed || completion_changed) && status.completion_time.is_none() && complete {
        errs.push(FieldError::required("status.completionTime", "completionTime is required for Complete jobs"));
    }
    if (failed_changed || status.failed_indexes != old_status.failed_indexes)
        && failed
        && !is_true(conditions, "FailureTarget")
    {
        errs.push(FieldError::invalid_value_omitted(
            "status.conditions",
            "cannot set Failed=True condition without the FailureTarget=true condition",
        ));
    }
    if complete_changed && complete && !is_true(conditions, "SuccessCriteriaMet") {
        errs.push(FieldError::invalid_value_omitted(
            "status.conditions",
            "cannot set Complete=True condition without the SuccessCriteriaMet=true condition",
        ));
    }
    if (finished_changed || active_changed) && status.active.unwrap_or(0) > 0 && finished(conditions) {
        errs.push(FieldError::invalid(
            "status.active",
            status.active.unwrap_or(0),
            "active>0 is invalid for finished job",
        ));
    }
    if (finished_changed || start_changed) && status.start_time.is_none() && finished(conditions) {
        errs.push(FieldError::required("status.startTime", "startTime is required for finished job"));
    }
    if let Some(completions) = spec.completions {
        let indexes = opt_str(&status.completed_indexes);
        if status.completed_indexes != old_status.completed_indexes
            && let Err(e) = validate_indexes_format(indexes, completions)
        {
            errs.push(FieldError::invalid(
                "status.completedIndexes",
                indexes,
                format!("error parsing completedIndexes: {e}"),
            ));
        }
    }
    if status.completed_indexes != old_status.completed_indexes
        && !opt_str(&status.completed_indexes).is_empty()
        && !indexed
    {
        errs.push(FieldError::invalid(
            "status.completedIndexes",
            opt_str(&status.completed_indexes),
            "cannot set non-empty completedIndexes when non-indexed completion mode",
        ));
    }
    if (status.ready != old_status.ready || active_changed) && status.ready.unwrap_or(0) > status.active.unwrap_or(0) {
        errs.push(FieldError::invalid(
            "status.ready",
            status.ready.unwrap_or(0),
            "cannot set more ready pods than active",
        ));
    }
    for kind in ["Failed", "Complete", "FailureTarget"] {
        if is_true(old_conditions, kind) && !is_true(conditions, kind) {
            errs.push(FieldError::invalid_value_omitted(
                "status.conditions",
                format!("cannot disable the terminal {kind}=True condition"),
            ));
        }
    }
    if status.failed.unwrap_or(0) < old_status.failed.unwrap_or(0) {
        errs.push(FieldError::invalid(
            "status.failed",
            status.failed.unwrap_or(0),
            "cannot decrease the failed counter",
        ));
    }
    let may_scale_down = indexed && spec.completions == spec.parallelism;
    if !may_scale_down && status.succeeded.unwrap_or(0) < old_status.succeeded.unwrap_or(0) {
        errs.push(FieldError::invalid(
            "status.succeeded",
            status.succeeded.unwrap_or(0),
            "cannot decrease the succeeded counter",
        ));
    }
    if status.completion_time.is_some()
        && old_status.completion_time.is_some()
        && status.completion_time != old_status.completion_time
    {
        errs.push(FieldError::invalid(
            "status.completionTime",
            render::time_ptr(status.completion_time.as_ref()),
            "completionTime cannot be mutated",
        ));
    }
    if is_true(old_conditions, "SuccessCriteriaMet") && !is_true(conditions, "SuccessCriteriaMet") {
        errs.push(FieldError::invalid_value_omitted(
            "status.conditions",
            "cannot disable the SuccessCriteriaMet=True condition",
        ));
    }
    errs
}

/// Non-negative counters and unique, non-empty uncounted pod uids.
fn validate_job_status_counts(status: &JobStatus) -> ErrorList {
    let mut errs = ErrorList::new();
    errs.extend(nonnegative(i64::from(status.active.unwrap_or(0)), "status.active"));
    errs.extend(nonnegative(i64::from(status.succeeded.unwrap_or(0)), "status.succeeded"));
    errs.extend(nonnegative(i64::from(status.failed.unwrap_or(0)), "status.failed"));
    nonnegative_opt(&mut errs, status.ready, "status.ready");
    nonnegative_opt(&mut errs, status.terminating, "status.terminating");
    if let Some(uncounted) = &status.uncounted_terminated_pods {
        let mut seen = BTreeSet::new();
        for (field, list) in [("succeeded", &uncounted.succeeded), ("failed", &uncounted.failed)] {
            for (i, uid) in list.iter().flatten().enumerate() {
                let p = format!("status.uncountedTerminatedPods.{field}[{i}]");
                if uid.is_empty() {
                    errs.push(FieldError::invalid(p, uid, "must not be empty"));
                } else if !seen.insert(uid.clone()) {
                    errs.push(FieldError::duplicate(p, uid));
                }
            }
        }
    }
    errs
}
