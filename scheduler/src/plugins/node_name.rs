//! `NodeName`: a pod naming a node in `spec.nodeName` fits only there.

use std::sync::Arc;

use crate::framework::{CycleState, FilterPlugin, Plugin, Status};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

pub const NAME: &str = "NodeName";
pub const ERR_REASON: &str = "node(s) didn't match the requested node name";

/// The plugin.
#[derive(Debug)]
pub struct NodeName;

/// Whether `pod` may go to the node called `node`.
pub fn fits(pod: &PodInfo, node: &str) -> bool {
    pod.node_name().is_none_or(|n| n == node)
}

impl Plugin for NodeName {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_filter(self: Arc<Self>) -> Option<Arc<dyn FilterPlugin>> {
        Some(self)
    }
}

impl FilterPlugin for NodeName {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if fits(pod, &node.name) { Status::success() } else { Status::unresolvable(ERR_REASON) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::pod;

    #[test]
    fn only_the_named_node_fits() {
        let p = PodInfo::new(Arc::new(pod("a").on_node("n1").build()));
        assert!(fits(&p, "n1"));
        assert!(!fits(&p, "n2"));
        assert!(fits(&PodInfo::new(Arc::new(pod("b").build())), "n2"));
    }
}
