//! The scheduler's view of the cluster (upstream `internal/cache`): nodes and
//! the pods on them, fed by the watches, plus pods *assumed* onto a node by
//! this scheduler before their binding is confirmed, so the next decision
//! already counts them. It also keeps the indexes the affinity and spread
//! plugins query ([`PodIndex`], [`SpreadCounts`]) in step with every change.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::StorageClass;

use crate::node_info::NodeInfo;
use crate::pod_index::PodIndex;
use crate::pod_info::PodInfo;
use crate::spread_counts::{SpreadCounter, SpreadCounts};

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
    pod_index: PodIndex,
    spread: SpreadCounts,
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

    fn entry_index(&mut self, name: &str) -> usize {
        match self.index.get(name) {
            Some(i) => *i,
            None => {
                self.nodes.push(NodeInfo::new(name));
                self.index.insert(name.to_owned(), self.nodes.len() - 1);
                self.nodes.len() - 1
            }
        }
    }

    /// The indexes of placed pods (InterPodAffinity).
    pub fn pod_index(&self) -> &PodIndex {
        &self.pod_index
    }

    /// A placed pod and the node entry it is on.
    pub fn placed(&self, key: &str) -> Option<(&Arc<PodInfo>, &NodeInfo)> {
        let s = self.pods.get(key)?;
        Some((&s.info, self.node(&s.node)?))
    }

    /// The spread counter for `(namespace, selector, key)`, when registered by [`Cache::prepare_for`].
    pub fn spread_counter(
        &self,
        namespace: &str,
        selector: &rustkube_api::LabelSelector,
        key: &str,
    ) -> Option<&SpreadCounter> {
        self.spread.get(namespace, selector, key)
    }

    /// Values of node label `key` on known nodes, with how many nodes carry each.
    pub fn topology_domains(&self, key: &str) -> Option<&HashMap<String, usize>> {
        self.spread.domains(key)
    }

    /// How many known nodes carry label `key`.
    pub fn nodes_with_label(&self, key: &str) -> usize {
        self.spread.nodes_with(key)
    }

    /// Registers (or keeps alive) the spread counters `pod`'s constraints need,
    /// so its PreFilter and PreScore read counts instead of walking pods.
    pub fn prepare_for(&mut self, pod: &PodInfo) {
        if pod.spread_constraints.is_empty() {
            return;
        }
        let now = Instant::now();
        for c in &pod.spread_constraints {
            if self.spread.touch(&pod.namespace, &c.selector, &c.topology_key, now) {
                continue;
            }
            let mut per_node: HashMap<String, i64> = HashMap::new();
            let pods = &self.pods;
            self.pod_index.for_each_in_namespace(&pod.namespace, &c.selector, |key| {
                if let Some(st) = pods.get(key)
                    && !st.info.is_terminating()
                    && c.selector.matches(&st.info.labels)
                {
                    *per_node.entry(st.node.clone()).or_insert(0) += 1;
                }
            });
            let (nodes, index) = (&self.nodes, &self.index);
            let labels_of = |n: &str| index.get(n).map(|i| &nodes[*i]).filter(|n| n.node.is_some()).map(|n| &n.labels);
            self.spread.register(&pod.namespace, c.selector.clone(), &c.topology_key, per_node, labels_of, now);
        }
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
        let idx = self.entry_index(&name);
        let entry = &self.nodes[idx];
        let was_real = entry.node.is_some();
        let same_labels = match node.metadata.labels.as_ref() {
            Some(l) => *l == entry.labels,
            None => entry.labels.is_empty(),
        };
        let relabel = !was_real || !same_labels;
        if was_real && relabel {
            self.spread.node_out(&name, &entry.labels);
        }
        let entry = &mut self.nodes[idx];
        entry.set_node(node);
        if relabel {
            self.spread.node_in(&name, &entry.labels);
        }
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
        if self.nodes[idx].node.is_some() {
            self.spread.node_out(name, &self.nodes[idx].labels);
        }
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
        let idx = self.entry_index(node);
        self.nodes[idx].add_pod(Arc::clone(&info));
        let labels = self.nodes[idx].node.is_some().then_some(&self.nodes[idx].labels);
        self.spread.pod_added(&info, node, labels);
        self.pod_index.add(&info, node);
        self.pods.insert(info.key.clone(), PodState { info, node: node.to_owned(), assumed });
    }

    fn unplace(&mut self, key: &str) -> Option<PodState> {
        let state = self.pods.remove(key)?;
        self.pod_index.remove(&state.info, &state.node);
        let labels =
            self.index.get(&state.node).map(|i| &self.nodes[*i]).filter(|n| n.node.is_some()).map(|n| &n.labels);
        self.spread.pod_removed(&state.info, &state.node, labels);
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
impl Cache {
    /// Recounts every index from scratch and panics where the incremental one differs.
    pub fn check_indexes(&self) {
        let mut fresh = PodIndex::default();
        for st in self.pods.values() {
            fresh.add(&st.info, &st.node);
        }
        assert_eq!(self.pod_index.summary(), fresh.summary(), "pod index differs from a rebuild");
        let known: Vec<&NodeInfo> = self.nodes.iter().filter(|n| n.node.is_some()).collect();
        let mut keys: std::collections::BTreeSet<&str> = ["zone", "rack", "kubernetes.io/hostname"].into();
        keys.extend(known.iter().flat_map(|n| n.labels.keys().map(String::as_str)));
        for key in keys {
            let mut want: HashMap<String, usize> = HashMap::new();
            for n in &known {
                if let Some(v) = n.labels.get(key) {
                    *want.entry(v.clone()).or_default() += 1;
                }
            }
            let got = self.topology_domains(key).cloned().unwrap_or_default();
            assert_eq!(got, want, "nodes per value of label {key}");
            assert_eq!(self.nodes_with_label(key), want.values().sum::<usize>(), "nodes with label {key}");
        }
        for (ns, counter) in self.spread.iter() {
            let mut per_node: HashMap<String, i64> = HashMap::new();
            for st in self.pods.values().filter(|st| st.info.namespace == ns && counter.counts(&st.info)) {
                *per_node.entry(st.node.clone()).or_default() += 1;
            }
            assert_eq!(counter.per_node, per_node, "per-node counts of {ns}/{:?}", counter.selector);
            let mut domains: HashMap<String, i64> = HashMap::new();
            for n in &known {
                if let (Some(v), Some(c)) = (n.labels.get(&counter.topology_key), per_node.get(&n.name)) {
                    *domains.entry(v.clone()).or_default() += c;
                }
            }
            assert_eq!(counter.domains, domains, "domain counts of {ns}/{:?}", counter.selector);
        }
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

#[cfg(test)]
mod index_tests {
    use super::*;
    use crate::testing::random::{Rng, step};
    use crate::testing::{node, pod};

    fn info(p: k8s_openapi::api::core::v1::Pod) -> Arc<PodInfo> {
        Arc::new(PodInfo::new(Arc::new(p)))
    }

    /// Nodes of the anti-affinity groups that may select a pod labelled `group=value`.
    fn groups_for(c: &Cache, value: &str) -> Vec<Vec<(String, i64)>> {
        let labels = [("group".to_string(), value.to_string())].into();
        let mut out = Vec::new();
        c.pod_index().for_each_anti_affinity_group(&labels, |g| {
            let mut nodes: Vec<(String, i64)> = g.nodes.iter().map(|(n, c)| (n.clone(), *c)).collect();
            nodes.sort();
            out.push(nodes);
        });
        out
    }

    #[test]
    fn anti_affinity_index_follows_assume_forget_confirm_update_and_remove() {
        let mut c = Cache::new();
        c.upsert_node(Arc::new(node("n1").build()));
        c.upsert_node(Arc::new(node("n2").build()));
        let guard =
            |group: &str| pod("g").label("group", group).pod_anti_affinity(("group", group), "kubernetes.io/hostname");
        c.assume(info(guard("x").build()), "n1");
        assert_eq!(groups_for(&c, "x"), vec![vec![("n1".to_string(), 1)]]);
        assert!(groups_for(&c, "y").is_empty(), "a term pinned to group=x is not looked at for group=y");
        c.check_indexes();
        c.forget("default/g");
        assert!(groups_for(&c, "x").is_empty(), "forgetting drops the term");
        c.check_indexes();
        c.assume(info(guard("x").build()), "n1");
        c.add_or_update_pod(info(guard("x").on_node("n1").build()));
        assert_eq!(groups_for(&c, "x"), vec![vec![("n1".to_string(), 1)]], "confirming does not double count");
        c.add_or_update_pod(info(guard("y").on_node("n2").build()));
        assert!(groups_for(&c, "x").is_empty(), "an update replaces the old terms");
        assert_eq!(groups_for(&c, "y"), vec![vec![("n2".to_string(), 1)]]);
        c.check_indexes();
        c.remove_pod("default/g");
        assert!(groups_for(&c, "y").is_empty());
        assert_eq!(c.pod_index().pods_with_required_anti_affinity(), 0);
        c.check_indexes();
    }

    #[test]
    fn label_index_finds_only_pods_a_term_can_select() {
        let mut c = Cache::new();
        c.upsert_node(Arc::new(node("n1").build()));
        c.add_or_update_pod(info(pod("a").label("app", "web").on_node("n1").build()));
        c.add_or_update_pod(info(pod("b").label("app", "db").on_node("n1").build()));
        c.add_or_update_pod(info(pod("c").namespace("other").label("app", "web").on_node("n1").build()));
        let p = PodInfo::new(Arc::new(pod("new").pod_affinity(("app", "web"), "zone").build()));
        let mut found = Vec::new();
        c.pod_index().for_each_candidate(&p.required_affinity[0], |k| found.push(k.to_owned()));
        assert_eq!(found, vec!["default/a"], "own namespace, label app=web only");
        c.remove_pod("default/a");
        found.clear();
        c.pod_index().for_each_candidate(&p.required_affinity[0], |k| found.push(k.to_owned()));
        assert!(found.is_empty());
        c.check_indexes();
    }

    #[test]
    fn spread_counts_follow_pods_node_relabels_and_removal() {
        let mut c = Cache::new();
        c.upsert_node(Arc::new(node("n1").label("zone", "a").build()));
        c.upsert_node(Arc::new(node("n2").label("zone", "b").build()));
        for (name, n) in [("w1", "n1"), ("w2", "n1"), ("w3", "n2")] {
            c.add_or_update_pod(info(pod(name).label("app", "web").on_node(n).build()));
        }
        c.add_or_update_pod(info(pod("d").label("app", "db").on_node("n2").build()));
        let p = PodInfo::new(Arc::new(pod("new").spread(1, "zone", "DoNotSchedule", ("app", "web")).build()));
        let sel = &p.spread_constraints[0].selector;
        assert!(c.spread_counter("default", sel, "zone").is_none(), "registered on demand");
        c.prepare_for(&p);
        let domains = |c: &Cache| {
            let mut d: Vec<(String, i64)> = c
                .spread_counter("default", sel, "zone")
                .unwrap()
                .domains
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect();
            d.sort();
            d
        };
        assert_eq!(domains(&c), vec![("a".into(), 2), ("b".into(), 1)]);
        c.assume(info(pod("w4").label("app", "web").build()), "n2");
        assert_eq!(domains(&c), vec![("a".into(), 2), ("b".into(), 2)], "an assumed pod counts at once");
        c.forget("default/w4");
        assert_eq!(domains(&c), vec![("a".into(), 2), ("b".into(), 1)]);
        c.upsert_node(Arc::new(node("n2").label("zone", "a").build()));
        assert_eq!(domains(&c), vec![("a".into(), 3)], "a relabelled node moves its pods");
        c.check_indexes();
        c.remove_node("n1");
        assert_eq!(domains(&c), vec![("a".into(), 1)], "pods on a removed node count in no domain");
        c.upsert_node(Arc::new(node("n1").label("zone", "c").build()));
        assert_eq!(domains(&c), vec![("a".into(), 1), ("c".into(), 2)]);
        let mut dying = pod("w1").label("app", "web").on_node("n1").build();
        dying.metadata.deletion_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::UNIX_EPOCH));
        c.add_or_update_pod(info(dying));
        assert_eq!(domains(&c), vec![("a".into(), 1), ("c".into(), 1)], "terminating pods do not count");
        assert_eq!(c.topology_domains("zone").unwrap().len(), 2);
        c.check_indexes();
    }

    #[test]
    fn incremental_indexes_match_a_recount_after_random_operations() {
        for seed in 1..=20u64 {
            let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let mut c = Cache::new();
            for _ in 0..400 {
                step(&mut r, &mut c, true);
                c.check_indexes();
            }
        }
    }
}
