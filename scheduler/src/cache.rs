//! The scheduler's view of the cluster (upstream `internal/cache`): nodes and
//! the pods on them, fed by the watches, plus pods *assumed* onto a node by
//! this scheduler before their binding is confirmed, so the next decision
//! already counts them.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::StorageClass;

use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

#[derive(Debug, Clone)]
struct PodState {
    info: Arc<PodInfo>,
    node: String,
    assumed: bool,
}

/// Other objects plugins look up: namespaces (labels), claims, volumes, budgets.
#[derive(Debug, Default)]
pub struct Objects {
    pub namespaces: HashMap<String, std::collections::BTreeMap<String, String>>,
    /// `namespace/name` → claim.
    pub pvcs: HashMap<String, Arc<PersistentVolumeClaim>>,
    pub pvs: HashMap<String, Arc<PersistentVolume>>,
    pub storage_classes: HashMap<String, Arc<StorageClass>>,
    /// `namespace/name` → budget.
    pub pdbs: HashMap<String, Arc<PodDisruptionBudget>>,
}

/// Nodes and placed pods.
#[derive(Debug, Default)]
pub struct Cache {
    pub objects: Objects,
    nodes: Vec<NodeInfo>,
    index: HashMap<String, usize>,
    pods: HashMap<String, PodState>,
    /// Normalized image → number of nodes that have it.
    image_nodes: HashMap<String, usize>,
    real_nodes: usize,
}

/// Whether a node update can change a scheduling decision (not just a heartbeat).
pub fn node_change_relevant(old: &Node, new: &Node) -> bool {
    old.metadata.labels != new.metadata.labels
        || old.spec != new.spec
        || old.status.as_ref().map(|s| (&s.allocatable, &s.capacity, &s.images))
            != new.status.as_ref().map(|s| (&s.allocatable, &s.capacity, &s.images))
}

impl Cache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Labels of namespace `name`, when known.
    pub fn namespace_labels(&self, name: &str) -> Option<&std::collections::BTreeMap<String, String>> {
        self.objects.namespaces.get(name)
    }

    /// Every node entry, including placeholders for pods on unknown nodes (`node == None`).
    pub fn nodes(&self) -> &[NodeInfo] {
        &self.nodes
    }

    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.index.get(name).map(|i| &self.nodes[*i])
    }

    /// How many Node objects are known.
    pub fn num_nodes(&self) -> usize {
        self.real_nodes
    }

    /// How many nodes have `image` (normalized).
    pub fn image_spread(&self, image: &str) -> usize {
        self.image_nodes.get(image).copied().unwrap_or(0)
    }

    fn entry(&mut self, name: &str) -> &mut NodeInfo {
        let idx = match self.index.get(name) {
            Some(i) => *i,
            None => {
                self.nodes.push(NodeInfo::new(name));
                self.index.insert(name.to_owned(), self.nodes.len() - 1);
                self.nodes.len() - 1
            }
        };
        &mut self.nodes[idx]
    }

    fn drop_entry(&mut self, name: &str) {
        if let Some(idx) = self.index.remove(name) {
            self.nodes.swap_remove(idx);
            if idx < self.nodes.len() {
                let moved = self.nodes[idx].name.clone();
                self.index.insert(moved, idx);
            }
        }
    }

    fn forget_images(&mut self, name: &str) {
        let Some(info) = self.node(name) else { return };
        if info.node.is_none() {
            return;
        }
        let images: Vec<String> = info.images.keys().cloned().collect();
        for i in images {
            if let Some(c) = self.image_nodes.get_mut(&i) {
                *c = c.saturating_sub(1);
                if *c == 0 {
                    self.image_nodes.remove(&i);
                }
            }
        }
    }

    /// Adds or replaces a Node.
    pub fn upsert_node(&mut self, node: Arc<Node>) {
        let name = node.metadata.name.clone().unwrap_or_default();
        self.forget_images(&name);
        let entry = self.entry(&name);
        let was_real = entry.node.is_some();
        entry.set_node(node);
        let images: Vec<String> = entry.images.keys().cloned().collect();
        if !was_real {
            self.real_nodes += 1;
        }
        for i in images {
            *self.image_nodes.entry(i).or_insert(0) += 1;
        }
    }

    /// Removes a Node; its pods stay counted until they go.
    pub fn remove_node(&mut self, name: &str) {
        self.forget_images(name);
        let Some(idx) = self.index.get(name).copied() else { return };
        if self.nodes[idx].node.take().is_some() {
            self.real_nodes -= 1;
        }
        if self.nodes[idx].pods.is_empty() {
            self.drop_entry(name);
        }
    }

    /// Replaces every node after a relist.
    pub fn sync_nodes(&mut self, nodes: Vec<Arc<Node>>) {
        let keep: std::collections::HashSet<String> = nodes.iter().filter_map(|n| n.metadata.name.clone()).collect();
        let gone: Vec<String> =
            self.nodes.iter().filter(|n| n.node.is_some() && !keep.contains(&n.name)).map(|n| n.name.clone()).collect();
        for name in gone {
            self.remove_node(&name);
        }
        for n in nodes {
            self.upsert_node(n);
        }
    }

    fn place(&mut self, info: Arc<PodInfo>, node: &str, assumed: bool) {
        self.entry(node).add_pod(Arc::clone(&info));
        self.pods.insert(info.key.clone(), PodState { info, node: node.to_owned(), assumed });
    }

    fn unplace(&mut self, key: &str) -> Option<PodState> {
        let state = self.pods.remove(key)?;
        if let Some(idx) = self.index.get(&state.node).copied() {
            self.nodes[idx].remove_pod(key);
            if self.nodes[idx].node.is_none() && self.nodes[idx].pods.is_empty() {
                self.drop_entry(&state.node);
            }
        }
        Some(state)
    }

    /// Records a pod the API shows bound to `spec.nodeName` (confirming an assumption).
    pub fn add_or_update_pod(&mut self, info: Arc<PodInfo>) {
        let Some(node) = info.node_name().map(str::to_owned) else { return };
        self.unplace(&info.key);
        self.place(info, &node, false);
    }

    /// Removes a pod (deleted, or terminated).
    pub fn remove_pod(&mut self, key: &str) {
        self.unplace(key);
    }

    /// Counts a pod on `node` before its binding is written.
    pub fn assume(&mut self, info: Arc<PodInfo>, node: &str) {
        self.unplace(&info.key);
        self.place(info, node, true);
    }

    /// Drops an assumption whose binding failed.
    pub fn forget(&mut self, key: &str) {
        if self.pods.get(key).is_some_and(|s| s.assumed) {
            self.unplace(key);
        }
    }

    pub fn is_assumed(&self, key: &str) -> bool {
        self.pods.get(key).is_some_and(|s| s.assumed)
    }

    /// Where a placed pod is.
    pub fn pod_node(&self, key: &str) -> Option<&str> {
        self.pods.get(key).map(|s| s.node.as_str())
    }

    /// Replaces every bound pod after a relist, keeping assumptions in flight.
    pub fn sync_pods(&mut self, pods: Vec<Arc<PodInfo>>) {
        let keep: std::collections::HashSet<&str> = pods.iter().map(|p| p.key.as_str()).collect();
        let gone: Vec<String> = self
            .pods
            .iter()
            .filter(|(k, s)| !s.assumed && !keep.contains(k.as_str()))
            .map(|(k, _)| k.clone())
            .collect();
        for k in gone {
            self.unplace(&k);
        }
        for p in pods {
            self.add_or_update_pod(p);
        }
    }

    /// Every placed pod (for PVC-use and affinity checks).
    pub fn pods(&self) -> impl Iterator<Item = &Arc<PodInfo>> {
        self.pods.values().map(|s| &s.info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, pod};

    fn info(p: k8s_openapi::api::core::v1::Pod) -> Arc<PodInfo> {
        Arc::new(PodInfo::new(Arc::new(p)))
    }

    #[test]
    fn assumed_pods_count_at_once_and_forget_releases_them() {
        let mut c = Cache::new();
        c.upsert_node(Arc::new(node("n1").alloc("cpu", "1").build()));
        c.assume(info(pod("a").req("cpu", "600m").build()), "n1");
        assert_eq!(c.node("n1").unwrap().requested.milli_cpu, 600);
        assert!(c.is_assumed("default/a"));
        c.forget("default/a");
        assert_eq!(c.node("n1").unwrap().requested.milli_cpu, 0);
    }

    #[test]
    fn watch_confirms_an_assumption_without_double_counting() {
        let mut c = Cache::new();
        c.upsert_node(Arc::new(node("n1").alloc("cpu", "1").build()));
        c.assume(info(pod("a").req("cpu", "600m").build()), "n1");
        c.add_or_update_pod(info(pod("a").req("cpu", "600m").on_node("n1").build()));
        assert_eq!(c.node("n1").unwrap().requested.milli_cpu, 600);
        assert!(!c.is_assumed("default/a"));
        c.forget("default/a");
        assert_eq!(c.node("n1").unwrap().pods.len(), 1, "a confirmed pod is not forgotten");
    }

    #[test]
    fn relist_removes_vanished_nodes_and_pods_but_keeps_assumed() {
        let mut c = Cache::new();
        c.upsert_node(Arc::new(node("n1").image("nginx", 100).build()));
        c.upsert_node(Arc::new(node("n2").image("nginx", 100).build()));
        c.add_or_update_pod(info(pod("a").on_node("n1").build()));
        c.assume(info(pod("b").build()), "n1");
        assert_eq!(c.image_spread("docker.io/library/nginx:latest"), 2);
        c.sync_nodes(vec![Arc::new(node("n1").build())]);
        c.sync_pods(vec![]);
        assert_eq!(c.num_nodes(), 1);
        assert!(c.node("n2").is_none());
        assert_eq!(c.node("n1").unwrap().pods.len(), 1, "assumed pod kept");
        assert_eq!(c.image_spread("docker.io/library/nginx:latest"), 0);
    }

    #[test]
    fn pods_on_unknown_nodes_are_kept_until_the_node_arrives() {
        let mut c = Cache::new();
        c.add_or_update_pod(info(pod("a").req("cpu", "1").on_node("later").build()));
        assert_eq!(c.num_nodes(), 0);
        c.upsert_node(Arc::new(node("later").alloc("cpu", "2").build()));
        assert_eq!(c.node("later").unwrap().requested.milli_cpu, 1000);
        c.remove_node("later");
        assert!(c.node("later").is_some(), "placeholder while the pod is there");
        c.remove_pod("default/a");
        assert!(c.node("later").is_none());
    }
}
