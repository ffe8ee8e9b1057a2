//! `TaintToleration`: a node's NoSchedule/NoExecute taints keep out pods
//! that do not tolerate them; untolerated PreferNoSchedule taints lower the
//! node's score.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Taint, Toleration};

use crate::cache::Cache;
use crate::framework::{CycleState, FilterPlugin, Plugin, ScorePlugin, Status, default_normalize};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

pub const NAME: &str = "TaintToleration";

/// The plugin.
#[derive(Debug)]
pub struct TaintToleration;

/// upstream `Toleration.ToleratesTaint`.
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    if t.effect.as_deref().is_some_and(|e| !e.is_empty() && e != taint.effect) {
        return false;
    }
    if t.key.as_deref().is_some_and(|k| !k.is_empty() && k != taint.key) {
        return false;
    }
    match t.operator.as_deref().unwrap_or("Equal") {
        "Exists" => true,
        "Equal" | "" => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        _ => false,
    }
}

/// The first NoSchedule/NoExecute taint no toleration tolerates.
pub fn untolerated<'a>(taints: &'a [Taint], tolerations: &[Toleration]) -> Option<&'a Taint> {
    taints
        .iter()
        .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
        .find(|taint| !tolerations.iter().any(|t| tolerates(t, taint)))
}

/// How many PreferNoSchedule taints are not tolerated (the raw score, lower is better).
pub fn intolerable_prefer_no_schedule(taints: &[Taint], tolerations: &[Toleration]) -> i64 {
    let relevant: Vec<&Toleration> = tolerations
        .iter()
        .filter(|t| t.effect.as_deref().is_none_or(|e| e.is_empty() || e == "PreferNoSchedule"))
        .collect();
    taints
        .iter()
        .filter(|t| t.effect == "PreferNoSchedule")
        .filter(|taint| !relevant.iter().any(|t| tolerates(t, taint)))
        .count() as i64
}

impl Plugin for TaintToleration {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_filter(self: Arc<Self>) -> Option<Arc<dyn FilterPlugin>> {
        Some(self)
    }
    fn as_score(self: Arc<Self>) -> Option<Arc<dyn ScorePlugin>> {
        Some(self)
    }
}

impl FilterPlugin for TaintToleration {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        match untolerated(&node.taints, &pod.tolerations) {
            None => Status::success(),
            Some(t) => Status::unresolvable(format!(
                "node(s) had untolerated taint {{{}: {}}}",
                t.key,
                t.value.as_deref().unwrap_or("")
            )),
        }
    }
}

impl ScorePlugin for TaintToleration {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo, _: &Cache) -> i64 {
        intolerable_prefer_no_schedule(&node.taints, &pod.tolerations)
    }
    fn normalize(&self, _: &CycleState, _: &PodInfo, scores: &mut [i64]) {
        default_normalize(scores, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taint(k: &str, v: &str, e: &str) -> Taint {
        Taint { key: k.into(), value: Some(v.into()), effect: e.into(), time_added: None }
    }
    fn tol(k: &str, op: &str, v: &str, e: &str) -> Toleration {
        Toleration {
            key: Some(k.into()),
            operator: Some(op.into()),
            value: Some(v.into()),
            effect: Some(e.into()),
            ..Default::default()
        }
    }

    #[test]
    fn tolerations_match_key_value_effect_and_exists() {
        let t = taint("dedicated", "gpu", "NoSchedule");
        assert!(tolerates(&tol("dedicated", "Equal", "gpu", "NoSchedule"), &t));
        assert!(tolerates(&tol("dedicated", "Equal", "gpu", ""), &t), "empty effect matches all effects");
        assert!(!tolerates(&tol("dedicated", "Equal", "cpu", "NoSchedule"), &t));
        assert!(!tolerates(&tol("dedicated", "Equal", "gpu", "NoExecute"), &t));
        assert!(tolerates(&tol("", "Exists", "", ""), &t), "empty key with Exists tolerates everything");
    }

    #[test]
    fn only_hard_effects_filter_and_prefer_no_schedule_scores() {
        let taints = vec![taint("a", "1", "PreferNoSchedule"), taint("b", "2", "NoExecute")];
        assert_eq!(untolerated(&taints, &[]).map(|t| t.key.as_str()), Some("b"));
        assert_eq!(untolerated(&taints, &[tol("b", "Exists", "", "NoExecute")]), None);
        assert_eq!(intolerable_prefer_no_schedule(&taints, &[]), 1);
        assert_eq!(intolerable_prefer_no_schedule(&taints, &[tol("a", "Equal", "1", "PreferNoSchedule")]), 0);
        let mut scores = vec![0, 2, 1];
        default_normalize(&mut scores, true);
        assert_eq!(scores, vec![100, 0, 50]);
    }
}
