//! Indexes over placed pods that let InterPodAffinity touch only the pods a
//! term can select (upstream walks every node's `PodsWithAffinity` /
//! `PodsWithRequiredAntiAffinity` lists; this goes further and looks terms up
//! by label): placed pods by namespace and label, and the required
//! anti-affinity terms of placed pods grouped by identical term, with how many
//! pods carry each term on each node. The [`crate::cache::Cache`] keeps them
//! in step with every add, remove, assume and forget.

use std::collections::{HashMap, HashSet};

use rustkube_api::LabelSelector;
use rustkube_api::label_selector::Operator;

use crate::affinity_term::AffinityTerm;
use crate::pod_info::PodInfo;

/// The `(key, value)` a selector pins to exactly one value, if any: every pod
/// it selects carries that label, so the label is an index key for it.
pub fn exact_label(selector: &LabelSelector) -> Option<(&str, &str)> {
    selector.requirements().iter().find_map(|r| match (r.operator, r.values.as_slice()) {
        (Operator::Equals | Operator::DoubleEquals | Operator::In, [value]) => Some((r.key.as_str(), value.as_str())),
        _ => None,
    })
}

/// The placed pods of one namespace.
#[derive(Debug, Default)]
struct NamespacePods {
    all: HashSet<String>,
    /// Label key → value → pod keys.
    by_label: HashMap<String, HashMap<String, HashSet<String>>>,
}

/// Placed pods carrying one identical required anti-affinity term.
#[derive(Debug)]
pub struct TermGroup {
    pub term: AffinityTerm,
    /// Node name → how many placed pods there carry the term.
    pub nodes: HashMap<String, i64>,
    total: i64,
}

/// Required anti-affinity terms of placed pods, looked up by the labels of the
/// pod they might select.
#[derive(Debug, Default)]
struct AntiAffinityTerms {
    ids: HashMap<AffinityTerm, usize>,
    groups: Vec<Option<TermGroup>>,
    free: Vec<usize>,
    /// Label key → value → groups whose selector pins that label.
    by_label: HashMap<String, HashMap<String, Vec<usize>>>,
    /// Groups whose selector pins no label (checked for every pod).
    unindexed: Vec<usize>,
}

impl AntiAffinityTerms {
    fn add(&mut self, term: &AffinityTerm, node: &str) {
        let id = match self.ids.get(term) {
            Some(id) => *id,
            None => {
                let group = TermGroup { term: term.clone(), nodes: HashMap::new(), total: 0 };
                let id = match self.free.pop() {
                    Some(id) => {
                        self.groups[id] = Some(group);
                        id
                    }
                    None => {
                        self.groups.push(Some(group));
                        self.groups.len() - 1
                    }
                };
                self.ids.insert(term.clone(), id);
                match exact_label(&term.selector) {
                    Some((k, v)) => {
                        self.by_label.entry(k.to_owned()).or_default().entry(v.to_owned()).or_default().push(id)
                    }
                    None => self.unindexed.push(id),
                }
                id
            }
        };
        let Some(group) = self.groups[id].as_mut() else { return };
        group.total += 1;
        match group.nodes.get_mut(node) {
            Some(n) => *n += 1,
            None => {
                group.nodes.insert(node.to_owned(), 1);
            }
        }
    }

    fn remove(&mut self, term: &AffinityTerm, node: &str) {
        let Some(id) = self.ids.get(term).copied() else { return };
        let Some(group) = self.groups[id].as_mut() else { return };
        if let Some(n) = group.nodes.get_mut(node) {
            *n -= 1;
            group.total -= 1;
            if *n <= 0 {
                group.nodes.remove(node);
            }
        }
        if group.total > 0 {
            return;
        }
        self.ids.remove(term);
        self.groups[id] = None;
        self.free.push(id);
        let unlist = |v: &mut Vec<usize>| {
            if let Some(i) = v.iter().position(|x| *x == id) {
                v.swap_remove(i);
            }
        };
        match exact_label(&term.selector) {
            Some((k, v)) => {
                if let Some(values) = self.by_label.get_mut(k) {
                    if let Some(list) = values.get_mut(v) {
                        unlist(list);
                        if list.is_empty() {
                            values.remove(v);
                        }
                    }
                    if values.is_empty() {
                        self.by_label.remove(k);
                    }
                }
            }
            None => unlist(&mut self.unindexed),
        }
    }
}

/// The indexes, keyed by pod key (`namespace/name`).
#[derive(Debug, Default)]
pub struct PodIndex {
    namespaces: HashMap<String, NamespacePods>,
    anti_affinity: AntiAffinityTerms,
    /// Placed pods whose terms can change an incoming pod's InterPodAffinity score.
    scoring_affinity: HashSet<String>,
    /// Placed pods with at least one required anti-affinity term.
    required_anti_affinity: usize,
}

impl PodIndex {
    /// Indexes a pod placed on `node`.
    pub fn add(&mut self, pod: &PodInfo, node: &str) {
        let ns = self.namespaces.entry(pod.namespace.clone()).or_default();
        ns.all.insert(pod.key.clone());
        for (k, v) in &pod.labels {
            let values = match ns.by_label.get_mut(k.as_str()) {
                Some(values) => values,
                None => ns.by_label.entry(k.clone()).or_default(),
            };
            match values.get_mut(v.as_str()) {
                Some(keys) => {
                    keys.insert(pod.key.clone());
                }
                None => {
                    values.insert(v.clone(), HashSet::from([pod.key.clone()]));
                }
            }
        }
        for t in &pod.required_anti_affinity {
            self.anti_affinity.add(t, node);
        }
        if !pod.required_anti_affinity.is_empty() {
            self.required_anti_affinity += 1;
        }
        if pod.has_scoring_affinity() {
            self.scoring_affinity.insert(pod.key.clone());
        }
    }

    /// Unindexes a pod that was placed on `node` (the same `pod` that was added).
    pub fn remove(&mut self, pod: &PodInfo, node: &str) {
        if let Some(ns) = self.namespaces.get_mut(pod.namespace.as_str()) {
            ns.all.remove(pod.key.as_str());
            for (k, v) in &pod.labels {
                let Some(values) = ns.by_label.get_mut(k.as_str()) else { continue };
                if let Some(keys) = values.get_mut(v.as_str()) {
                    keys.remove(pod.key.as_str());
                    if keys.is_empty() {
                        values.remove(v.as_str());
                    }
                }
                if values.is_empty() {
                    ns.by_label.remove(k.as_str());
                }
            }
            if ns.all.is_empty() {
                self.namespaces.remove(pod.namespace.as_str());
            }
        }
        for t in &pod.required_anti_affinity {
            self.anti_affinity.remove(t, node);
        }
        if !pod.required_anti_affinity.is_empty() {
            self.required_anti_affinity -= 1;
        }
        if pod.has_scoring_affinity() {
            self.scoring_affinity.remove(pod.key.as_str());
        }
    }

    /// How many placed pods have required anti-affinity terms.
    pub fn pods_with_required_anti_affinity(&self) -> usize {
        self.required_anti_affinity
    }

    /// Keys of placed pods whose terms can change another pod's InterPodAffinity score.
    pub fn pods_with_scoring_affinity(&self) -> impl Iterator<Item = &str> {
        self.scoring_affinity.iter().map(String::as_str)
    }

    pub fn any_scoring_affinity(&self) -> bool {
        !self.scoring_affinity.is_empty()
    }

    /// Keys of the placed pods `term` may select: a superset (callers still
    /// match the term), found through the term's pinned label when it has one.
    pub fn for_each_candidate<'a>(&'a self, term: &AffinityTerm, mut f: impl FnMut(&'a str)) {
        if term.selector.is_nothing() {
            return;
        }
        let exact = exact_label(&term.selector);
        let mut visit = |ns: &'a NamespacePods| match exact {
            Some((k, v)) => {
                for key in ns.by_label.get(k).and_then(|m| m.get(v)).into_iter().flatten() {
                    f(key);
                }
            }
            None => ns.all.iter().for_each(|key| f(key)),
        };
        if term.namespace_selector.is_some() {
            self.namespaces.values().for_each(&mut visit);
        } else {
            term.namespaces.iter().filter_map(|n| self.namespaces.get(n.as_str())).for_each(&mut visit);
        }
    }

    /// Keys of the placed pods of `namespace` that `selector` may select (a superset).
    pub fn for_each_in_namespace<'a>(&'a self, namespace: &str, selector: &LabelSelector, mut f: impl FnMut(&'a str)) {
        let Some(ns) = self.namespaces.get(namespace) else { return };
        if selector.is_nothing() {
            return;
        }
        match exact_label(selector) {
            Some((k, v)) => ns.by_label.get(k).and_then(|m| m.get(v)).into_iter().flatten().for_each(|key| f(key)),
            None => ns.all.iter().for_each(|key| f(key)),
        }
    }

    /// Groups of placed pods' required anti-affinity terms that may select a pod
    /// labelled `labels` (a superset: callers still match the term).
    pub fn for_each_anti_affinity_group<'a>(
        &'a self,
        labels: &std::collections::BTreeMap<String, String>,
        mut f: impl FnMut(&'a TermGroup),
    ) {
        let a = &self.anti_affinity;
        if a.ids.is_empty() {
            return;
        }
        let mut visit = |id: &usize| {
            if let Some(g) = a.groups[*id].as_ref() {
                f(g);
            }
        };
        for (k, v) in labels {
            if let Some(ids) = a.by_label.get(k.as_str()).and_then(|m| m.get(v.as_str())) {
                ids.iter().for_each(&mut visit);
            }
        }
        a.unindexed.iter().for_each(&mut visit);
    }

    /// Every term group (for consistency checks).
    pub fn anti_affinity_groups(&self) -> impl Iterator<Item = &TermGroup> {
        self.anti_affinity.groups.iter().flatten()
    }
}

/// Everything the index holds, in comparable form (tests rebuild an index from
/// scratch and compare).
#[cfg(test)]
type LabelKeys = Vec<(String, String, Vec<String>)>;
#[cfg(test)]
type TermNodes = (Vec<(String, i64)>, Option<(String, String)>);

#[cfg(test)]
#[derive(Debug, PartialEq)]
pub struct Summary {
    /// Namespace → (pod count, label → pod keys).
    pub namespaces: std::collections::BTreeMap<String, (usize, LabelKeys)>,
    /// Term (debug form) → node → count, and the label it is indexed under.
    pub terms: std::collections::BTreeMap<String, TermNodes>,
    pub scoring: Vec<String>,
    pub required_anti_affinity: usize,
}

#[cfg(test)]
impl PodIndex {
    pub fn summary(&self) -> Summary {
        let mut namespaces = std::collections::BTreeMap::new();
        for (name, ns) in &self.namespaces {
            let mut labels = Vec::new();
            for (k, values) in &ns.by_label {
                for (v, keys) in values {
                    let mut keys: Vec<String> = keys.iter().cloned().collect();
                    keys.sort();
                    labels.push((k.clone(), v.clone(), keys));
                }
            }
            labels.sort();
            namespaces.insert(name.clone(), (ns.all.len(), labels));
        }
        let a = &self.anti_affinity;
        let mut terms = std::collections::BTreeMap::new();
        for (term, id) in &a.ids {
            let g = a.groups[*id].as_ref().expect("a listed group exists");
            assert_eq!(&g.term, term, "group id points at its term");
            let mut nodes: Vec<(String, i64)> = g.nodes.iter().map(|(n, c)| (n.clone(), *c)).collect();
            nodes.sort();
            assert_eq!(g.total, nodes.iter().map(|(_, c)| c).sum::<i64>(), "group total is the sum of its nodes");
            let indexed: Vec<(String, String)> = a
                .by_label
                .iter()
                .flat_map(|(k, m)| m.iter().map(move |(v, ids)| (k, v, ids)))
                .filter(|(_, _, ids)| ids.contains(id))
                .map(|(k, v, _)| (k.clone(), v.clone()))
                .collect();
            let unindexed = a.unindexed.contains(id);
            assert!(indexed.len() + usize::from(unindexed) == 1, "a group is listed exactly once");
            terms.insert(format!("{term:?}"), (nodes, indexed.into_iter().next()));
        }
        let live = a.groups.iter().flatten().count();
        assert_eq!(live, a.ids.len(), "no orphaned groups");
        let mut scoring: Vec<String> = self.scoring_affinity.iter().cloned().collect();
        scoring.sort();
        Summary { namespaces, terms, scoring, required_anti_affinity: self.required_anti_affinity }
    }
}
