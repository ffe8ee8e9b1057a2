//! `podFailurePolicy`, as upstream's `matchPodFailurePolicy`: the first rule
//! matching a failed pod's container exit codes or pod conditions decides
//! whether the job fails at once (FailJob), the failure is not counted
//! (Ignore), or it counts toward backoffLimit (Count).

use crate::cached_pod::CachedPod;
use k8s_openapi::api::batch::v1::{PodFailurePolicy, PodFailurePolicyRule};

/// What a failed pod means for its job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Fail the job now, with this message.
    FailJob(String),
    /// Do not count the failure.
    Ignore,
    /// Count it (also when no rule matches).
    Count,
}

fn exit_code_match(rule: &PodFailurePolicyRule, pod: &CachedPod) -> Option<(String, i32)> {
    let req = rule.on_exit_codes.as_ref()?;
    let statuses = pod.status.as_ref()?;
    let all = statuses.init_container_statuses.iter().flatten().chain(statuses.container_statuses.iter().flatten());
    for cs in all {
        if req.container_name.as_deref().is_some_and(|n| n != cs.name) {
            continue;
        }
        let Some(code) = cs.state.as_ref().and_then(|s| s.terminated.as_ref()).map(|t| t.exit_code) else { continue };
        if code == 0 {
            continue;
        }
        let listed = req.values.contains(&code);
        let matches = match req.operator.as_str() {
            "In" => listed,
            "NotIn" => !listed,
            _ => false,
        };
        if matches {
            return Some((cs.name.clone(), code));
        }
    }
    None
}

fn condition_match(rule: &PodFailurePolicyRule, pod: &CachedPod) -> Option<String> {
    let patterns = rule.on_pod_conditions.as_ref()?;
    let conds = pod.status.as_ref()?.conditions.as_ref()?;
    patterns.iter().find_map(|p| {
        let want = if p.status.is_empty() { "True" } else { p.status.as_str() };
        conds.iter().find(|c| c.type_ == p.type_ && c.status == want).map(|c| c.type_.clone())
    })
}

/// The verdict of `policy` on the failed `pod`.
pub fn evaluate(policy: Option<&PodFailurePolicy>, pod: &CachedPod) -> Verdict {
    let Some(policy) = policy else { return Verdict::Count };
    let ns = pod.metadata.namespace.as_deref().unwrap_or("");
    let name = pod.metadata.name.as_deref().unwrap_or("");
    for (index, rule) in policy.rules.iter().enumerate() {
        let message = if let Some((container, code)) = exit_code_match(rule, pod) {
            format!(
                "Container {container} for pod {ns}/{name} failed with exit code {code} matching {} rule at index {index}",
                rule.action
            )
        } else if let Some(cond) = condition_match(rule, pod) {
            format!("Pod {ns}/{name} has condition {cond} matching {} rule at index {index}", rule.action)
        } else {
            continue;
        };
        return match rule.action.as_str() {
            "FailJob" => Verdict::FailJob(message),
            "Ignore" => Verdict::Ignore,
            _ => Verdict::Count,
        };
    }
    Verdict::Count
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::batch::v1::{PodFailurePolicyOnExitCodesRequirement, PodFailurePolicyOnPodConditionsPattern};
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateTerminated, ContainerStatus, PodCondition, PodStatus,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn failed_pod(code: i32, condition: Option<&str>) -> CachedPod {
        CachedPod {
            metadata: ObjectMeta { name: Some("p".into()), namespace: Some("ns".into()), ..Default::default() },
            spec: None,
            status: Some(PodStatus {
                phase: Some("Failed".into()),
                container_statuses: Some(vec![ContainerStatus {
                    name: "main".into(),
                    state: Some(ContainerState {
                        terminated: Some(ContainerStateTerminated { exit_code: code, ..Default::default() }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]),
                conditions: condition
                    .map(|t| vec![PodCondition { type_: t.into(), status: "True".into(), ..Default::default() }]),
                ..Default::default()
            }),
        }
    }

    fn policy() -> PodFailurePolicy {
        PodFailurePolicy {
            rules: vec![
                PodFailurePolicyRule {
                    action: "FailJob".into(),
                    on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                        container_name: Some("main".into()),
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
        }
    }

    #[test]
    fn first_matching_rule_decides() {
        assert_eq!(
            evaluate(Some(&policy()), &failed_pod(42, None)),
            Verdict::FailJob(
                "Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 0".into()
            )
        );
        assert_eq!(evaluate(Some(&policy()), &failed_pod(1, Some("DisruptionTarget"))), Verdict::Ignore);
        assert_eq!(evaluate(Some(&policy()), &failed_pod(1, None)), Verdict::Count);
        assert_eq!(evaluate(None, &failed_pod(42, None)), Verdict::Count);
    }
}
