//! `PodTopologySpread`: keeps matching pods spread across topology domains.
//! DoNotSchedule constraints filter (skew must stay within `maxSkew`, with
//! `minDomains`, `nodeAffinityPolicy` and `nodeTaintsPolicy`); ScheduleAnyway
//! constraints score, favouring the emptier domains.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::cache::Cache;
use crate::framework::{
    CycleState, FilterPlugin, MAX_NODE_SCORE, Plugin, PreFilterPlugin, PreScorePlugin, ScorePlugin, Status,
};
use crate::node_info::NodeInfo;
use crate::plugins::node_affinity::required_matches;
use crate::plugins::taint_toleration::untolerated;
use crate::pod_info::{PodInfo, SpreadConstraint};
use crate::spread_counts::SpreadCounter;

pub const NAME: &str = "PodTopologySpread";
pub const ERR_REASON_CONSTRAINTS_NOT_MATCH: &str = "node(s) didn't match pod topology spread constraints";
pub const ERR_REASON_NODE_LABEL_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";

/// The plugin.
#[derive(Debug)]
pub struct PodTopologySpread;

/// Per hard constraint: matching pods per domain and the global minimum.
#[derive(Debug, Default)]
pub struct FilterState {
    pub constraints: Vec<SpreadConstraint>,
    pub counts: Vec<HashMap<String, i64>>,
    pub min_match: Vec<i64>,
    /// Whether the incoming pod matches each constraint's own selector (0 or 1).
    pub self_match: Vec<i64>,
}

#[derive(Debug, Default)]
struct ScoreState {
    constraints: Vec<SpreadConstraint>,
    counts: Vec<HashMap<String, i64>>,
    weights: Vec<f64>,
    ignored: HashSet<String>,
}

fn node_included(pod: &PodInfo, c: &SpreadConstraint, node: &NodeInfo) -> bool {
    (!c.honor_node_affinity || required_matches(pod, node))
        && (!c.honor_node_taints || untolerated(&node.taints, &pod.tolerations).is_none())
}

/// Pods on `node` in `namespace` the constraint's selector matches (terminating ones excluded).
pub fn count_matching(node: &NodeInfo, c: &SpreadConstraint, namespace: &str) -> i64 {
    node.pods
        .iter()
        .filter(|p| p.namespace == namespace && !p.is_terminating() && c.selector.matches(&p.labels))
        .count() as i64
}

/// Whether every node passes `node_included` for these constraints, whatever its labels.
fn every_node_included(pod: &PodInfo, constraints: &[SpreadConstraint]) -> bool {
    let unrestricted = pod.node_selector.is_empty() && pod.required_node_affinity.is_none();
    constraints.iter().all(|c| (!c.honor_node_affinity || unrestricted) && !c.honor_node_taints)
}

fn add_count(counts: &mut HashMap<String, i64>, value: &str, n: i64) {
    match counts.get_mut(value) {
        Some(count) => *count += n,
        None => {
            counts.insert(value.to_owned(), n);
        }
    }
}

/// The cache's counters for `constraints` in the pod's namespace, if all are registered.
fn counters<'a>(pod: &PodInfo, constraints: &[SpreadConstraint], cache: &'a Cache) -> Option<Vec<&'a SpreadCounter>> {
    constraints.iter().map(|c| cache.spread_counter(&pod.namespace, &c.selector, &c.topology_key)).collect()
}

/// Domain counts over every eligible node (upstream `calPreFilterState`): from
/// the cache's counters when registered — O(domains) when every node is
/// eligible, else O(nodes) — or by walking every pod otherwise.
pub fn domain_counts(pod: &PodInfo, constraints: &[SpreadConstraint], cache: &Cache) -> Vec<HashMap<String, i64>> {
    counts_from(pod, constraints, cache, counters(pod, constraints, cache))
}

fn counts_from(
    pod: &PodInfo,
    constraints: &[SpreadConstraint],
    cache: &Cache,
    counters: Option<Vec<&SpreadCounter>>,
) -> Vec<HashMap<String, i64>> {
    if let Some(counters) = &counters
        && every_node_included(pod, constraints)
        && (constraints.len() == 1
            || constraints.iter().all(|c| cache.nodes_with_label(&c.topology_key) == cache.num_nodes()))
    {
        return constraints
            .iter()
            .zip(counters)
            .map(|(c, counter)| {
                cache
                    .topology_domains(&c.topology_key)
                    .into_iter()
                    .flatten()
                    .map(|(v, _)| (v.clone(), counter.in_domain(v)))
                    .collect()
            })
            .collect();
    }
    let mut counts: Vec<HashMap<String, i64>> = vec![HashMap::new(); constraints.len()];
    for node in cache.nodes().iter().filter(|n| n.node.is_some()) {
        if !constraints.iter().all(|c| node.labels.contains_key(&c.topology_key)) {
            continue;
        }
        for (i, c) in constraints.iter().enumerate() {
            if !node_included(pod, c, node) {
                continue;
            }
            let value = &node.labels[&c.topology_key];
            let n = match &counters {
                Some(counters) => counters[i].on_node(&node.name),
                None => count_matching(node, c, &pod.namespace),
            };
            add_count(&mut counts[i], value, n);
        }
    }
    counts
}

/// Computes the filter state for the hard `constraints`.
pub fn filter_state(pod: &PodInfo, constraints: Vec<SpreadConstraint>, cache: &Cache) -> FilterState {
    let counts = domain_counts(pod, &constraints, cache);
    let min_match = constraints
        .iter()
        .zip(&counts)
        .map(|(c, m)| {
            let min = m.values().copied().min().unwrap_or(0);
            if c.min_domains.is_some_and(|d| (m.len() as i64) < i64::from(d)) { 0 } else { min }
        })
        .collect();
    let self_match = constraints.iter().map(|c| i64::from(c.selector.matches(&pod.labels))).collect();
    FilterState { constraints, counts, min_match, self_match }
}

/// Whether placing the pod on `node` keeps every hard constraint within its skew.
pub fn filter_node(_pod: &PodInfo, s: &FilterState, node: &NodeInfo) -> Status {
    for (i, c) in s.constraints.iter().enumerate() {
        let Some(value) = node.labels.get(&c.topology_key) else {
            return Status::unresolvable(ERR_REASON_NODE_LABEL_NOT_MATCH);
        };
        let count = s.counts[i].get(value).copied().unwrap_or(0);
        let skew = count + s.self_match[i] - s.min_match[i];
        if skew > i64::from(c.max_skew) {
            return Status::unschedulable(ERR_REASON_CONSTRAINTS_NOT_MATCH);
        }
    }
    Status::success()
}

impl Plugin for PodTopologySpread {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_filter(self: Arc<Self>) -> Option<Arc<dyn PreFilterPlugin>> {
        Some(self)
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

impl PreFilterPlugin for PodTopologySpread {
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, cache: &Cache) -> Status {
        let hard: Vec<SpreadConstraint> =
            pod.spread_constraints.iter().filter(|c| c.do_not_schedule).cloned().collect();
        if hard.is_empty() {
            return Status::skip();
        }
        state.write(NAME, filter_state(pod, hard, cache));
        Status::success()
    }
}

impl FilterPlugin for PodTopologySpread {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        match state.read::<FilterState>(NAME) {
            Some(s) => filter_node(pod, s, node),
            None => Status::success(),
        }
    }
}

const SCORE_KEY: &str = "PreScorePodTopologySpread";

impl PreScorePlugin for PodTopologySpread {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, nodes: &[&NodeInfo], cache: &Cache) -> Status {
        let soft: Vec<SpreadConstraint> =
            pod.spread_constraints.iter().filter(|c| !c.do_not_schedule).cloned().collect();
        if soft.is_empty() {
            return Status::skip();
        }
        let mut s = ScoreState { counts: vec![HashMap::new(); soft.len()], ..Default::default() };
        let mut domains: Vec<HashSet<String>> = vec![HashSet::new(); soft.len()];
        for n in nodes {
            if !soft.iter().all(|c| n.labels.contains_key(&c.topology_key)) {
                s.ignored.insert(n.name.clone());
                continue;
            }
            for (i, c) in soft.iter().enumerate() {
                domains[i].insert(n.labels[&c.topology_key].clone());
            }
        }
        let counters = counters(pod, &soft, cache);
        match &counters {
            // Every node counts: a domain's count is the counter's (O(domains)).
            Some(counters) if every_node_included(pod, &soft) => {
                for (i, counter) in counters.iter().enumerate() {
                    for v in &domains[i] {
                        s.counts[i].insert(v.clone(), counter.in_domain(v));
                    }
                }
            }
            _ => {
                for node in cache.nodes().iter().filter(|n| n.node.is_some()) {
                    for (i, c) in soft.iter().enumerate() {
                        let Some(v) = node.labels.get(&c.topology_key) else { continue };
                        if !domains[i].contains(v) || !node_included(pod, c, node) {
                            continue;
                        }
                        let n = match &counters {
                            Some(counters) => counters[i].on_node(&node.name),
                            None => count_matching(node, c, &pod.namespace),
                        };
                        add_count(&mut s.counts[i], v, n);
                    }
                }
            }
        }
        s.weights = domains.iter().map(|d| ((d.len() + 2) as f64).ln()).collect();
        s.constraints = soft;
        state.write(SCORE_KEY, s);
        Status::success()
    }
}

impl ScorePlugin for PodTopologySpread {
    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo, _: &Cache) -> i64 {
        let Some(s) = state.read::<ScoreState>(SCORE_KEY) else { return 0 };
        if s.ignored.contains(&node.name) {
            return -1;
        }
        let mut score = 0.0;
        for (i, c) in s.constraints.iter().enumerate() {
            if let Some(v) = node.labels.get(&c.topology_key) {
                let cnt = s.counts[i].get(v).copied().unwrap_or(0);
                score += cnt as f64 * s.weights[i] + f64::from(c.max_skew - 1);
            }
        }
        score.round() as i64
    }

    /// Fewer matching pods score higher; ignored nodes (marked -1) get 0.
    fn normalize(&self, _: &CycleState, _: &PodInfo, scores: &mut [i64]) {
        let valid = scores.iter().copied().filter(|s| *s >= 0);
        let min = valid.clone().min().unwrap_or(0);
        let max = valid.max().unwrap_or(0);
        for s in scores.iter_mut() {
            *s = if *s < 0 {
                0
            } else if max == 0 {
                MAX_NODE_SCORE
            } else {
                MAX_NODE_SCORE * (max + min - *s) / max
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, pod};

    fn cluster(nodes: &[(&str, &str, usize)]) -> Cache {
        let mut c = Cache::new();
        for (name, zone, pods) in nodes {
            c.upsert_node(Arc::new(node(name).label("zone", zone).build()));
            for i in 0..*pods {
                let p = pod(&format!("{name}-{i}")).label("app", "web").on_node(name).build();
                c.add_or_update_pod(Arc::new(PodInfo::new(Arc::new(p))));
            }
        }
        c
    }

    fn run(c: &Cache, p: &PodInfo, node: &str) -> Status {
        let hard = p.spread_constraints.iter().filter(|c| c.do_not_schedule).cloned().collect();
        let s = filter_state(p, hard, c);
        filter_node(p, &s, c.node(node).unwrap())
    }

    #[test]
    fn skew_beyond_max_is_rejected() {
        let c = cluster(&[("a1", "a", 2), ("b1", "b", 0)]);
        let p = PodInfo::new(Arc::new(
            pod("new").label("app", "web").spread(1, "zone", "DoNotSchedule", ("app", "web")).build(),
        ));
        assert_eq!(run(&c, &p, "a1").reasons, vec![ERR_REASON_CONSTRAINTS_NOT_MATCH]);
        assert!(run(&c, &p, "b1").is_success());
    }

    #[test]
    fn nodes_without_the_key_are_unresolvable() {
        let mut c = cluster(&[("a1", "a", 0)]);
        c.upsert_node(Arc::new(node("bare").build()));
        let p = PodInfo::new(Arc::new(
            pod("new").label("app", "web").spread(1, "zone", "DoNotSchedule", ("app", "web")).build(),
        ));
        let s = run(&c, &p, "bare");
        assert_eq!(s.code, crate::framework::Code::UnschedulableAndUnresolvable);
        assert_eq!(s.reasons, vec![ERR_REASON_NODE_LABEL_NOT_MATCH]);
    }

    #[test]
    fn min_domains_treats_the_global_minimum_as_zero() {
        let c = cluster(&[("a1", "a", 1), ("b1", "b", 1)]);
        let without = PodInfo::new(Arc::new(
            pod("new").label("app", "web").spread(1, "zone", "DoNotSchedule", ("app", "web")).build(),
        ));
        assert!(run(&c, &without, "a1").is_success());
        let with = PodInfo::new(Arc::new(
            pod("new").label("app", "web").spread(1, "zone", "DoNotSchedule", ("app", "web")).min_domains(3).build(),
        ));
        assert!(!run(&c, &with, "a1").is_success(), "only 2 of 3 domains: min counts as 0, skew 2");
    }

    #[test]
    fn node_affinity_policy_limits_the_domains_counted() {
        let mut c = cluster(&[("a1", "a", 1), ("b1", "b", 0)]);
        c.upsert_node(Arc::new(node("c1").label("zone", "c").label("pool", "other").build()));
        let base = pod("new").label("app", "web").node_affinity("zone", "In", &["a", "b"]).spread(
            1,
            "zone",
            "DoNotSchedule",
            ("app", "web"),
        );
        let p = PodInfo::new(Arc::new(base.build()));
        // zone c is excluded (Honor), so min is 0 from zone b, not from zone c.
        assert!(run(&c, &p, "b1").is_success());
        assert!(!run(&c, &p, "a1").is_success());
    }

    #[test]
    fn soft_constraints_score_emptier_domains_higher() {
        let c = cluster(&[("a1", "a", 3), ("b1", "b", 0)]);
        let p = PodInfo::new(Arc::new(
            pod("new").label("app", "web").spread(1, "zone", "ScheduleAnyway", ("app", "web")).build(),
        ));
        let plugin = PodTopologySpread;
        let mut st = CycleState::default();
        let nodes: Vec<&NodeInfo> = c.nodes().iter().collect();
        assert!(plugin.pre_score(&mut st, &p, &nodes, &c).is_success());
        let mut scores: Vec<i64> = nodes.iter().map(|n| plugin.score(&st, &p, n, &c)).collect();
        plugin.normalize(&st, &p, &mut scores);
        let a = nodes.iter().position(|n| n.name == "a1").unwrap();
        let b = nodes.iter().position(|n| n.name == "b1").unwrap();
        assert!(scores[b] > scores[a], "{scores:?}");
        assert_eq!(scores[b], MAX_NODE_SCORE);
    }

    #[test]
    fn counts_from_the_cache_counters_equal_a_walk_over_every_pod() {
        use crate::testing::random::{Rng, random_pod, step};
        let plugin = PodTopologySpread;
        for seed in 1..=20u64 {
            let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let mut r2 = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let (mut indexed, mut walked) = (Cache::new(), Cache::new());
            for _ in 0..300 {
                step(&mut r, &mut indexed, true);
                step(&mut r2, &mut walked, false);
                let p = PodInfo::new(Arc::new(random_pod(&mut r)));
                random_pod(&mut r2);
                if p.spread_constraints.is_empty() {
                    continue;
                }
                indexed.prepare_for(&p);
                assert_eq!(
                    domain_counts(&p, &p.spread_constraints, &indexed),
                    counts_from(&p, &p.spread_constraints, &walked, None),
                    "seed {seed}: counts for {:?}",
                    p.spread_constraints
                );
                let mut scores = Vec::new();
                for c in [&indexed, &walked] {
                    let mut st = CycleState::default();
                    let nodes: Vec<&NodeInfo> = c.nodes().iter().filter(|n| n.node.is_some()).collect();
                    let s = plugin.pre_score(&mut st, &p, &nodes, c);
                    let mut per_node: Vec<(String, i64)> =
                        nodes.iter().map(|n| (n.name.clone(), plugin.score(&st, &p, n, c))).collect();
                    per_node.sort();
                    scores.push((s.code, per_node));
                }
                assert_eq!(scores[0], scores[1], "seed {seed}: scores for {:?}", p.spread_constraints);
            }
        }
    }
}
