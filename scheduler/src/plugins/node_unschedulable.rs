//! `NodeUnschedulable`: nodes with `spec.unschedulable` take only pods that
//! tolerate the `node.kubernetes.io/unschedulable:NoSchedule` taint.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Taint;

use crate::framework::{CycleState, FilterPlugin, Plugin, Status};
use crate::node_info::NodeInfo;
use crate::plugins::taint_toleration::tolerates;
use crate::pod_info::PodInfo;

pub const NAME: &str = "NodeUnschedulable";
pub const ERR_REASON: &str = "node(s) were unschedulable";
pub const TAINT_KEY: &str = "node.kubernetes.io/unschedulable";

/// The plugin.
#[derive(Debug)]
pub struct NodeUnschedulable;

/// Whether `pod` may go to a node whose `unschedulable` flag is `unschedulable`.
pub fn fits(pod: &PodInfo, unschedulable: bool) -> bool {
    if !unschedulable {
        return true;
    }
    let taint = Taint { key: TAINT_KEY.into(), effect: "NoSchedule".into(), value: None, time_added: None };
    pod.tolerations.iter().any(|t| tolerates(t, &taint))
}

impl Plugin for NodeUnschedulable {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_filter(self: Arc<Self>) -> Option<Arc<dyn FilterPlugin>> {
        Some(self)
    }
}

impl FilterPlugin for NodeUnschedulable {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if fits(pod, node.unschedulable) { Status::success() } else { Status::unresolvable(ERR_REASON) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::pod;

    #[test]
    fn unschedulable_nodes_take_only_tolerating_pods() {
        let plain = PodInfo::new(Arc::new(pod("a").build()));
        assert!(fits(&plain, false));
        assert!(!fits(&plain, true));
        let tolerant = PodInfo::new(Arc::new(pod("b").toleration(TAINT_KEY, "", "NoSchedule").build()));
        assert!(fits(&tolerant, true));
    }
}
