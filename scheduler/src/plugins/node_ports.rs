//! `NodePorts`: a pod asking for host ports fits only where no pod already
//! holds the same protocol and port on an overlapping host IP.

use std::sync::Arc;

use crate::cache::Cache;
use crate::framework::{CycleState, FilterPlugin, Plugin, PreFilterPlugin, Status};
use crate::node_info::NodeInfo;
use crate::pod_info::{HostPort, PodInfo};

pub const NAME: &str = "NodePorts";
pub const ERR_REASON: &str = "node(s) didn't have free ports for the requested pod ports";

/// The plugin.
#[derive(Debug)]
pub struct NodePorts;

/// Whether `want` collides with a port in use (`0.0.0.0` overlaps every IP).
pub fn conflicts(used: &[HostPort], want: &[HostPort]) -> bool {
    want.iter().any(|w| {
        used.iter().any(|u| {
            u.port == w.port
                && u.protocol == w.protocol
                && (u.host_ip == w.host_ip || u.host_ip == "0.0.0.0" || w.host_ip == "0.0.0.0")
        })
    })
}

impl Plugin for NodePorts {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_filter(self: Arc<Self>) -> Option<Arc<dyn PreFilterPlugin>> {
        Some(self)
    }
    fn as_filter(self: Arc<Self>) -> Option<Arc<dyn FilterPlugin>> {
        Some(self)
    }
}

impl PreFilterPlugin for NodePorts {
    fn pre_filter(&self, _: &mut CycleState, pod: &PodInfo, _: &Cache) -> Status {
        if pod.host_ports.is_empty() { Status::skip() } else { Status::success() }
    }
}

impl FilterPlugin for NodePorts {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if conflicts(&node.used_ports, &pod.host_ports) { Status::unschedulable(ERR_REASON) } else { Status::success() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hp(ip: &str, port: i32, proto: &str) -> HostPort {
        HostPort { host_ip: ip.into(), port, protocol: proto.into() }
    }

    #[test]
    fn wildcard_ips_overlap_and_protocols_separate() {
        let used = vec![hp("0.0.0.0", 80, "TCP"), hp("10.0.0.1", 53, "UDP")];
        assert!(conflicts(&used, &[hp("127.0.0.1", 80, "TCP")]));
        assert!(!conflicts(&used, &[hp("0.0.0.0", 80, "UDP")]));
        assert!(conflicts(&used, &[hp("0.0.0.0", 53, "UDP")]));
        assert!(!conflicts(&used, &[hp("10.0.0.2", 53, "UDP")]));
    }
}
