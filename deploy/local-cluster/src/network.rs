//! The cluster's network, all of it inside namespaces the launcher makes:
//! a cluster namespace holding the bridge `rkbr0` (10.240.0.1/24, where the
//! control plane listens), and per containerd node a namespace joined to the
//! bridge by a veth pair (`eth0`, node IP 10.240.0.(10+i)) whose pods get
//! 10.244.i.0/24 from the node's own CNI bridge. Every namespace routes each
//! other node's pod CIDR via that node's IP. The host namespace is never
//! touched: no interface, route or iptables rule is added there.

use std::net::Ipv4Addr;

use anyhow::Context;

use crate::netns;

/// The bridge in the cluster namespace.
pub const BRIDGE: &str = "rkbr0";
/// The bridge address: where the control plane listens for nodes.
pub const BRIDGE_IP: Ipv4Addr = Ipv4Addr::new(10, 240, 0, 1);
/// The most containerd nodes one cluster network holds.
pub const MAX_NODES: u32 = 200;

/// One containerd node's place in the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeNet {
    pub name: String,
    pub netns: String,
    pub ip: Ipv4Addr,
    /// `10.244.i.0/24`
    pub pod_cidr: String,
}

/// The namespaces and addresses of a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    pub cluster_netns: String,
    pub nodes: Vec<NodeNet>,
}

impl Topology {
    /// `nodes` containerd nodes named `node-0…` in namespaces `CLUSTER-node-0…`.
    pub fn new(cluster_netns: &str, nodes: u32) -> anyhow::Result<Self> {
        anyhow::ensure!(nodes <= MAX_NODES, "at most {MAX_NODES} containerd nodes (asked for {nodes})");
        let nodes = (0..nodes)
            .map(|i| {
                let name = format!("node-{i}");
                let octet = u8::try_from(i).unwrap_or(u8::MAX);
                NodeNet {
                    netns: format!("{cluster_netns}-{name}"),
                    name,
                    ip: Ipv4Addr::new(10, 240, 0, octet.saturating_add(10)),
                    pod_cidr: format!("10.244.{i}.0/24"),
                }
            })
            .collect();
        Ok(Topology { cluster_netns: cluster_netns.to_owned(), nodes })
    }

    /// Every namespace, the cluster's first.
    pub fn namespaces(&self) -> Vec<String> {
        std::iter::once(self.cluster_netns.clone()).chain(self.nodes.iter().map(|n| n.netns.clone())).collect()
    }

    /// Makes the namespaces, bridge, veth pairs and routes. `record` hears
    /// each namespace name before it is made, so a crash half-way still
    /// leaves a complete list for the clean-up.
    pub fn build(&self, record: &mut dyn FnMut(&str) -> anyhow::Result<()>) -> anyhow::Result<()> {
        let cluster = &self.cluster_netns;
        // Never take over (and so later delete) a namespace someone else made.
        for name in self.namespaces() {
            if netns::exists(&name) {
                anyhow::bail!(
                    "network namespace {name} already exists and is not this cluster's; \
                     remove it with `ip netns del {name}` or choose another name"
                );
            }
        }
        record(cluster)?;
        netns::add(cluster)?;
        let mut cluster_cmds = vec![
            format!("link add {BRIDGE} type bridge"),
            format!("addr add {BRIDGE_IP}/24 dev {BRIDGE}"),
            format!("link set {BRIDGE} up"),
        ];
        for (i, node) in self.nodes.iter().enumerate() {
            record(&node.netns)?;
            netns::add(&node.netns)?;
            cluster_cmds.push(format!("link add veth{i} type veth peer name eth0 netns {}", node.netns));
            cluster_cmds.push(format!("link set veth{i} master {BRIDGE} up"));
        }
        for node in &self.nodes {
            cluster_cmds.push(format!("route add {} via {}", node.pod_cidr, node.ip));
        }
        netns::ip_batch(cluster, &cluster_cmds)?;
        for node in &self.nodes {
            let mut cmds = vec![format!("addr add {}/24 dev eth0", node.ip), "link set eth0 up".to_owned()];
            for other in self.nodes.iter().filter(|o| o.name != node.name) {
                cmds.push(format!("route add {} via {}", other.pod_cidr, other.ip));
            }
            netns::ip_batch(&node.netns, &cmds)?;
            // Pods' traffic to other nodes and to the control plane is routed through the node.
            netns::run_in(Some(&node.netns), || std::fs::write("/proc/sys/net/ipv4/ip_forward", "1"))?
                .with_context(|| format!("enabling IP forwarding in {}", node.netns))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_get_distinct_ips_pod_cidrs_and_namespaces() {
        let t = Topology::new("rk-x", 3).unwrap();
        assert_eq!(t.namespaces(), ["rk-x", "rk-x-node-0", "rk-x-node-1", "rk-x-node-2"]);
        assert_eq!(t.nodes[2].ip, Ipv4Addr::new(10, 240, 0, 12));
        assert_eq!(t.nodes[2].pod_cidr, "10.244.2.0/24");
        assert!(Topology::new("rk-x", MAX_NODES + 1).is_err());
    }
}
