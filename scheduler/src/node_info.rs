//! What the scheduler knows about one node (upstream `framework.NodeInfo`):
//! the Node, the pods on it (bound or assumed), their summed requests, used
//! host ports and the images the node reports.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Taint};

use crate::pod_info::{HostPort, PodInfo};
use crate::resource::Resource;

/// One node and its pods.
#[derive(Debug, Clone, Default)]
pub struct NodeInfo {
    pub name: String,
    /// `None` while pods are known on a node the watch has not delivered yet.
    pub node: Option<Arc<Node>>,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    pub unschedulable: bool,
    pub allocatable: Resource,
    /// Allocatable entries that are not quantities (counted as zero).
    pub allocatable_errors: Vec<String>,
    pub requested: Resource,
    pub non_zero_requested: Resource,
    pub pods: Vec<Arc<PodInfo>>,
    pub pods_with_affinity: usize,
    pub pods_with_required_anti_affinity: usize,
    /// Pods whose terms can change an incoming pod's InterPodAffinity score.
    pub pods_with_scoring_affinity: usize,
    pub used_ports: Vec<HostPort>,
    /// Normalized image name → size in bytes.
    pub images: HashMap<String, i64>,
}

/// Upstream's image name normalisation: `nginx` → `docker.io/library/nginx:latest`.
pub fn normalize_image(name: &str) -> String {
    let (repo, rest) = match name.split_once('@') {
        Some((r, d)) => (r.to_owned(), format!("@{d}")),
        None => {
            let last = name.rsplit('/').next().unwrap_or(name);
            if last.contains(':') {
                let idx = name.rfind(':').unwrap_or(name.len());
                (name[..idx].to_owned(), name[idx..].to_owned())
            } else {
                (name.to_owned(), ":latest".to_owned())
            }
        }
    };
    let first = repo.split('/').next().unwrap_or("");
    let has_domain = repo.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let repo = if has_domain {
        repo
    } else if repo.contains('/') {
        format!("docker.io/{repo}")
    } else {
        format!("docker.io/library/{repo}")
    };
    format!("{repo}{rest}")
}

impl NodeInfo {
    pub fn new(name: &str) -> NodeInfo {
        NodeInfo { name: name.to_owned(), ..Default::default() }
    }

    /// Replaces the Node object, re-reading labels, taints and allocatable.
    pub fn set_node(&mut self, node: Arc<Node>) {
        self.labels = node.metadata.labels.clone().unwrap_or_default();
        let spec = node.spec.clone().unwrap_or_default();
        self.taints = spec.taints.unwrap_or_default();
        self.unschedulable = spec.unschedulable.unwrap_or(false);
        let status = node.status.clone().unwrap_or_default();
        let (alloc, bad) = Resource::from_list(status.allocatable.as_ref().or(status.capacity.as_ref()));
        if !bad.is_empty() {
            tracing::warn!(node = %self.name, invalid = ?bad, "node reports allocatable values that are not quantities; counting them as zero");
        }
        self.allocatable = alloc;
        self.allocatable_errors = bad;
        self.images.clear();
        for image in status.images.iter().flatten() {
            for n in image.names.iter().flatten() {
                self.images.insert(normalize_image(n), image.size_bytes.unwrap_or(0));
            }
        }
        self.node = Some(node);
    }

    pub fn add_pod(&mut self, pod: Arc<PodInfo>) {
        self.requested.add(&pod.requests.requests);
        self.non_zero_requested.add(&pod.requests.non_zero);
        if pod.has_affinity() {
            self.pods_with_affinity += 1;
        }
        if !pod.required_anti_affinity.is_empty() {
            self.pods_with_required_anti_affinity += 1;
        }
        if pod.has_scoring_affinity() {
            self.pods_with_scoring_affinity += 1;
        }
        self.used_ports.extend(pod.host_ports.iter().cloned());
        self.pods.push(pod);
    }

    /// Removes the pod with `key`; false when it was not here.
    pub fn remove_pod(&mut self, key: &str) -> bool {
        let Some(idx) = self.pods.iter().position(|p| p.key == key) else {
            return false;
        };
        let pod = self.pods.swap_remove(idx);
        self.requested.sub(&pod.requests.requests);
        self.non_zero_requested.sub(&pod.requests.non_zero);
        if pod.has_affinity() {
            self.pods_with_affinity -= 1;
        }
        if !pod.required_anti_affinity.is_empty() {
            self.pods_with_required_anti_affinity -= 1;
        }
        if pod.has_scoring_affinity() {
            self.pods_with_scoring_affinity -= 1;
        }
        for hp in &pod.host_ports {
            if let Some(i) = self.used_ports.iter().position(|u| u == hp) {
                self.used_ports.swap_remove(i);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::pod;

    #[test]
    fn image_names_normalize_as_upstream() {
        assert_eq!(normalize_image("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(normalize_image("nginx:1.2"), "docker.io/library/nginx:1.2");
        assert_eq!(normalize_image("me/app"), "docker.io/me/app:latest");
        assert_eq!(normalize_image("registry.k8s.io/pause:3.9"), "registry.k8s.io/pause:3.9");
        assert_eq!(normalize_image("localhost:5000/x"), "localhost:5000/x:latest");
    }

    #[test]
    fn adding_and_removing_pods_keeps_sums() {
        let mut n = NodeInfo::new("n1");
        n.add_pod(Arc::new(PodInfo::new(Arc::new(pod("a").req("cpu", "1").host_port(80).build()))));
        n.add_pod(Arc::new(PodInfo::new(Arc::new(pod("b").req("cpu", "500m").build()))));
        assert_eq!(n.requested.milli_cpu, 1500);
        assert_eq!(n.used_ports.len(), 1);
        assert!(n.remove_pod("default/a"));
        assert_eq!(n.requested.milli_cpu, 500);
        assert!(n.used_ports.is_empty());
        assert!(!n.remove_pod("default/a"));
    }
}
