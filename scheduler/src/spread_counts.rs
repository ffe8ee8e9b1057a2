//! Counts for PodTopologySpread kept up to date as pods and nodes change
//! (upstream recomputes them in every PreFilter by walking every pod): for each
//! `(namespace, selector, topology key)` some pending pod spreads by, the
//! matching placed pods per node and per topology domain; and for every node
//! label, how many nodes carry each value (the domains, including empty ones).
//! With them PreFilter costs O(domains) instead of O(pods).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use rustkube_api::LabelSelector;

use crate::pod_info::PodInfo;

/// A counter unused for this long is dropped when another is registered.
pub const COUNTER_IDLE_LIMIT: Duration = Duration::from_secs(300);

/// Matching placed pods for one `(namespace, selector, topology key)`.
#[derive(Debug, Clone)]
pub struct SpreadCounter {
    pub selector: LabelSelector,
    pub topology_key: String,
    /// Node name → matching placed pods there (including nodes not yet known).
    pub per_node: HashMap<String, i64>,
    /// Topology value → matching pods on known nodes carrying that value.
    pub domains: HashMap<String, i64>,
    last_used: Instant,
}

impl SpreadCounter {
    /// Whether a placed pod of the counter's namespace counts (upstream skips terminating pods).
    pub fn counts(&self, pod: &PodInfo) -> bool {
        !pod.is_terminating() && self.selector.matches(&pod.labels)
    }

    pub fn on_node(&self, node: &str) -> i64 {
        self.per_node.get(node).copied().unwrap_or(0)
    }

    pub fn in_domain(&self, value: &str) -> i64 {
        self.domains.get(value).copied().unwrap_or(0)
    }

    fn bump(&mut self, node: &str, labels: Option<&BTreeMap<String, String>>, by: i64) {
        match self.per_node.get_mut(node) {
            Some(n) => {
                *n += by;
                if *n == 0 {
                    self.per_node.remove(node);
                }
            }
            None => {
                self.per_node.insert(node.to_owned(), by);
            }
        }
        if let Some(v) = labels.and_then(|l| l.get(&self.topology_key)) {
            self.bump_domain(v, by);
        }
    }

    fn bump_domain(&mut self, value: &str, by: i64) {
        match self.domains.get_mut(value) {
            Some(n) => {
                *n += by;
                if *n == 0 {
                    self.domains.remove(value);
                }
            }
            None => {
                self.domains.insert(value.to_owned(), by);
            }
        }
    }
}

/// Every registered counter, by namespace, plus the nodes per label value.
#[derive(Debug, Default)]
pub struct SpreadCounts {
    by_namespace: HashMap<String, Vec<SpreadCounter>>,
    /// Known nodes per label key → value → node count.
    domains: HashMap<String, HashMap<String, usize>>,
    /// Known nodes per label key.
    key_nodes: HashMap<String, usize>,
}

impl SpreadCounts {
    /// The counter for `(namespace, selector, key)`, when registered.
    pub fn get(&self, namespace: &str, selector: &LabelSelector, key: &str) -> Option<&SpreadCounter> {
        self.by_namespace.get(namespace)?.iter().find(|c| c.topology_key == key && &c.selector == selector)
    }

    /// Marks the counter used now; false when it is not registered.
    pub fn touch(&mut self, namespace: &str, selector: &LabelSelector, key: &str, now: Instant) -> bool {
        let Some(list) = self.by_namespace.get_mut(namespace) else { return false };
        match list.iter_mut().find(|c| c.topology_key == key && &c.selector == selector) {
            Some(c) => {
                c.last_used = now;
                true
            }
            None => false,
        }
    }

    /// Registers a counter whose `per_node` the caller computed; domains are
    /// derived from `labels_of` (the labels of a known node). Drops counters
    /// idle for [`COUNTER_IDLE_LIMIT`].
    pub fn register<'a>(
        &mut self,
        namespace: &str,
        selector: LabelSelector,
        topology_key: &str,
        per_node: HashMap<String, i64>,
        labels_of: impl Fn(&str) -> Option<&'a BTreeMap<String, String>>,
        now: Instant,
    ) {
        for list in self.by_namespace.values_mut() {
            list.retain(|c| now.saturating_duration_since(c.last_used) < COUNTER_IDLE_LIMIT);
        }
        self.by_namespace.retain(|_, l| !l.is_empty());
        let mut c = SpreadCounter {
            selector,
            topology_key: topology_key.to_owned(),
            per_node: HashMap::new(),
            domains: HashMap::new(),
            last_used: now,
        };
        for (node, n) in per_node {
            if n != 0 {
                c.bump(&node, labels_of(&node), n);
            }
        }
        self.by_namespace.entry(namespace.to_owned()).or_default().push(c);
    }

    /// How many registered counters there are.
    pub fn len(&self) -> usize {
        self.by_namespace.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every counter with its namespace (for consistency checks).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &SpreadCounter)> {
        self.by_namespace.iter().flat_map(|(ns, l)| l.iter().map(move |c| (ns.as_str(), c)))
    }

    /// A pod was placed on `node` (`labels`: the node's, when it is known).
    pub fn pod_added(&mut self, pod: &PodInfo, node: &str, labels: Option<&BTreeMap<String, String>>) {
        self.pod_changed(pod, node, labels, 1);
    }

    /// A pod left `node`.
    pub fn pod_removed(&mut self, pod: &PodInfo, node: &str, labels: Option<&BTreeMap<String, String>>) {
        self.pod_changed(pod, node, labels, -1);
    }

    fn pod_changed(&mut self, pod: &PodInfo, node: &str, labels: Option<&BTreeMap<String, String>>, by: i64) {
        let Some(list) = self.by_namespace.get_mut(pod.namespace.as_str()) else { return };
        for c in list.iter_mut() {
            if c.counts(pod) {
                c.bump(node, labels, by);
            }
        }
    }

    /// A known node with `labels` stops counting (removed, or about to be relabelled).
    pub fn node_out(&mut self, node: &str, labels: &BTreeMap<String, String>) {
        self.node_changed(node, labels, -1);
    }

    /// A node with `labels` becomes known (added, or relabelled).
    pub fn node_in(&mut self, node: &str, labels: &BTreeMap<String, String>) {
        self.node_changed(node, labels, 1);
    }

    fn node_changed(&mut self, node: &str, labels: &BTreeMap<String, String>, sign: i64) {
        for (k, v) in labels {
            match self.key_nodes.get_mut(k.as_str()) {
                Some(n) => {
                    *n = n.saturating_add_signed(sign as isize);
                    if *n == 0 {
                        self.key_nodes.remove(k.as_str());
                    }
                }
                None if sign > 0 => {
                    self.key_nodes.insert(k.clone(), 1);
                }
                None => {}
            }
            let values = match self.domains.get_mut(k.as_str()) {
                Some(values) => values,
                None => self.domains.entry(k.clone()).or_default(),
            };
            match values.get_mut(v.as_str()) {
                Some(n) => {
                    *n = n.saturating_add_signed(sign as isize);
                    if *n == 0 {
                        values.remove(v.as_str());
                    }
                }
                None if sign > 0 => {
                    values.insert(v.clone(), 1);
                }
                None => {}
            }
            if values.is_empty() {
                self.domains.remove(k.as_str());
            }
        }
        for c in self.by_namespace.values_mut().flatten() {
            let n = c.on_node(node);
            if n == 0 {
                continue;
            }
            if let Some(v) = labels.get(&c.topology_key) {
                c.bump_domain(v, n * sign);
            }
        }
    }

    /// Values of label `key` on known nodes, with how many nodes carry each.
    pub fn domains(&self, key: &str) -> Option<&HashMap<String, usize>> {
        self.domains.get(key)
    }

    /// How many known nodes carry label `key`.
    pub fn nodes_with(&self, key: &str) -> usize {
        self.key_nodes.get(key).copied().unwrap_or(0)
    }
}
