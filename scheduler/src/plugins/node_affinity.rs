//! `NodeAffinity`: `nodeSelector` and required node affinity filter nodes;
//! preferred terms add their weights to a node's score.

use std::sync::Arc;

use crate::cache::Cache;
use crate::framework::{CycleState, FilterPlugin, Plugin, PreScorePlugin, ScorePlugin, Status, default_normalize};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

pub const NAME: &str = "NodeAffinity";
pub const ERR_REASON_POD: &str = "node(s) didn't match Pod's node affinity/selector";

/// The plugin.
#[derive(Debug)]
pub struct NodeAffinity;

/// Whether the node matches the pod's `nodeSelector` and required affinity.
pub fn required_matches(pod: &PodInfo, node: &NodeInfo) -> bool {
    pod.node_selector.iter().all(|(k, v)| node.labels.get(k) == Some(v))
        && pod.required_node_affinity.as_ref().is_none_or(|t| t.matches(&node.name, &node.labels))
}

/// Sum of the weights of the preferred terms the node matches.
pub fn preferred_score(pod: &PodInfo, node: &NodeInfo) -> i64 {
    pod.preferred_node_affinity
        .iter()
        .filter(|(_, t)| t.matches(&node.name, &node.labels))
        .map(|(w, _)| i64::from(*w))
        .sum()
}

impl Plugin for NodeAffinity {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_filter(self: Arc<Self>) -> Option<Arc<dyn FilterPlugin>> {
        Some(self)
    }
    fn as_pre_score(self: Arc<Self>) -> Option<Arc<dyn PreScorePlugin>> {
        Some(self)
    }
    fn as_score(self: Arc<Self>) -> Option<Arc<dyn ScorePlugin>> {
        Some(self)
    }
}

impl FilterPlugin for NodeAffinity {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if required_matches(pod, node) { Status::success() } else { Status::unresolvable(ERR_REASON_POD) }
    }
}

impl PreScorePlugin for NodeAffinity {
    fn pre_score(&self, _: &mut CycleState, pod: &PodInfo, _: &[&NodeInfo], _: &Cache) -> Status {
        if pod.preferred_node_affinity.is_empty() { Status::skip() } else { Status::success() }
    }
}

impl ScorePlugin for NodeAffinity {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo, _: &Cache) -> i64 {
        preferred_score(pod, node)
    }
    fn normalize(&self, _: &CycleState, _: &PodInfo, scores: &mut [i64]) {
        default_normalize(scores, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, pod};

    fn ni(n: k8s_openapi::api::core::v1::Node) -> NodeInfo {
        let mut i = NodeInfo::new(n.metadata.name.as_deref().unwrap());
        i.set_node(Arc::new(n));
        i
    }

    #[test]
    fn node_selector_and_required_terms_both_apply() {
        let n = ni(node("n1").label("zone", "a").label("cores", "16").build());
        let p = |b: crate::testing::PodBuilder| PodInfo::new(Arc::new(b.build()));
        assert!(required_matches(&p(pod("a").node_selector("zone", "a")), &n));
        assert!(!required_matches(&p(pod("a").node_selector("zone", "b")), &n));
        assert!(required_matches(&p(pod("a").node_affinity("cores", "Gt", &["8"])), &n));
        assert!(!required_matches(&p(pod("a").node_affinity("cores", "Lt", &["8"])), &n));
        assert!(required_matches(&p(pod("a").node_name_field("n1")), &n));
        assert!(!required_matches(&p(pod("a").node_name_field("n2")), &n));
    }

    #[test]
    fn preferred_terms_sum_weights() {
        let n = ni(node("n1").label("zone", "a").label("disk", "ssd").build());
        let p =
            PodInfo::new(Arc::new(pod("a").preferred_node(5, "zone", "a").preferred_node(3, "disk", "hdd").build()));
        assert_eq!(preferred_score(&p, &n), 5);
    }
}
