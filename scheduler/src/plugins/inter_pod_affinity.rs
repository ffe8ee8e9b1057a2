//! `InterPodAffinity`: required pod affinity and anti-affinity (the
//! incoming pod's terms and existing pods' anti-affinity towards it) filter
//! nodes by topology domain; preferred terms score them.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

use crate::cache::Cache;
use crate::framework::{
    CycleState, FilterPlugin, MAX_NODE_SCORE, Plugin, PreFilterPlugin, PreScorePlugin, ScorePlugin, Status,
};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

pub const NAME: &str = "InterPodAffinity";
pub const ERR_REASON_EXISTING_ANTI_AFFINITY: &str = "node(s) didn't satisfy existing pods anti-affinity rules";
pub const ERR_REASON_AFFINITY: &str = "node(s) didn't match pod affinity rules";
pub const ERR_REASON_ANTI_AFFINITY: &str = "node(s) didn't match pod anti-affinity rules";

/// Topology key → value → count (looked up by `&str`, no allocation per check).
type TopologyCounts = HashMap<String, HashMap<String, i64>>;

fn count_of(counts: &TopologyCounts, key: &str, value: &str) -> i64 {
    counts.get(key).and_then(|m| m.get(value)).copied().unwrap_or(0)
}

/// A pod's namespace labels, fetched only when a term has a `namespaceSelector`.
fn ns_labels_for<'a>(
    cache: &'a Cache,
    pod: &PodInfo,
    needed: bool,
) -> Option<&'a std::collections::BTreeMap<String, String>> {
    if needed { cache.namespace_labels(&pod.namespace) } else { None }
}

/// The plugin with its `hardPodAffinityWeight`.
#[derive(Debug)]
pub struct InterPodAffinity {
    pub hard_pod_affinity_weight: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Args {
    #[serde(default)]
    hard_pod_affinity_weight: Option<i64>,
}

impl InterPodAffinity {
    pub fn from_args(args: Option<&serde_json::Value>) -> Result<Self, String> {
        let args: Args = match args {
            Some(v) if !v.is_null() => serde_json::from_value(v.clone()).map_err(|e| e.to_string())?,
            _ => Args::default(),
        };
        let w = args.hard_pod_affinity_weight.unwrap_or(1);
        if !(0..=100).contains(&w) {
            return Err(format!("hardPodAffinityWeight: Invalid value: {w}: not in valid range [0-100]"));
        }
        Ok(InterPodAffinity { hard_pod_affinity_weight: w })
    }
}

/// Counts computed once per cycle (upstream `preFilterState`).
#[derive(Debug, Default, PartialEq)]
pub struct FilterState {
    pub existing_anti_affinity: TopologyCounts,
    pub affinity: TopologyCounts,
    pub anti_affinity: TopologyCounts,
    /// No pod matches the affinity terms yet but the pod matches its own: the first of its group may go anywhere.
    pub self_affinity_allowed: bool,
}

fn bump(counts: &mut TopologyCounts, node: &NodeInfo, key: &str, by: i64) {
    if let Some(v) = node.labels.get(key) {
        if !counts.contains_key(key) {
            counts.insert(key.to_owned(), HashMap::new());
        }
        if let Some(values) = counts.get_mut(key) {
            match values.get_mut(v.as_str()) {
                Some(c) => *c += by,
                None => {
                    values.insert(v.clone(), by);
                }
            }
        }
    }
}

/// Builds the filter counts from the cache's indexes: only placed pods a term
/// may select, and only the anti-affinity term groups that may select `pod`,
/// are visited (upstream walks every pod with affinity on every node).
pub fn filter_state(pod: &PodInfo, cache: &Cache) -> FilterState {
    let mut s = FilterState::default();
    let index = cache.pod_index();
    let own_ns = cache.namespace_labels(&pod.namespace);
    let needs_ns = pod.required_affinity.iter().chain(&pod.required_anti_affinity).any(|t| t.uses_namespace_labels());
    index.for_each_anti_affinity_group(&pod.labels, |g| {
        if !g.term.matches(&pod.pod, own_ns) {
            return;
        }
        for (name, n) in &g.nodes {
            if let Some(node) = cache.node(name).filter(|n| n.node.is_some()) {
                bump(&mut s.existing_anti_affinity, node, &g.term.topology_key, *n);
            }
        }
    });
    let placed = |key: &str| cache.placed(key).filter(|(_, node)| node.node.is_some());
    // Every affinity term must match, so the first term's candidates are enough.
    if let Some(first) = pod.required_affinity.first() {
        index.for_each_candidate(first, |key| {
            let Some((existing, node)) = placed(key) else { return };
            let ns = ns_labels_for(cache, existing, needs_ns);
            if pod.required_affinity.iter().all(|t| t.matches(&existing.pod, ns)) {
                for t in &pod.required_affinity {
                    bump(&mut s.affinity, node, &t.topology_key, 1);
                }
            }
        });
    }
    for t in &pod.required_anti_affinity {
        index.for_each_candidate(t, |key| {
            let Some((existing, node)) = placed(key) else { return };
            if t.matches(&existing.pod, ns_labels_for(cache, existing, needs_ns)) {
                bump(&mut s.anti_affinity, node, &t.topology_key, 1);
            }
        });
    }
    s.self_affinity_allowed =
        s.affinity.is_empty() && pod.required_affinity.iter().all(|t| t.matches(&pod.pod, own_ns));
    s
}

/// Whether `node` satisfies every required (anti-)affinity rule.
pub fn filter_node(pod: &PodInfo, s: &FilterState, node: &NodeInfo) -> Status {
    if s.existing_anti_affinity
        .iter()
        .any(|(k, values)| node.labels.get(k).and_then(|v| values.get(v)).is_some_and(|c| *c > 0))
    {
        return Status::unschedulable(ERR_REASON_EXISTING_ANTI_AFFINITY);
    }
    for t in &pod.required_anti_affinity {
        if let Some(v) = node.labels.get(&t.topology_key)
            && count_of(&s.anti_affinity, &t.topology_key, v) > 0
        {
            return Status::unschedulable(ERR_REASON_ANTI_AFFINITY);
        }
    }
    let affinity_ok = pod
        .required_affinity
        .iter()
        .all(|t| node.labels.get(&t.topology_key).is_some_and(|v| count_of(&s.affinity, &t.topology_key, v) > 0));
    if !affinity_ok {
        let all_have_keys = pod.required_affinity.iter().all(|t| node.labels.contains_key(&t.topology_key));
        if !(s.self_affinity_allowed && all_have_keys) {
            return Status::unresolvable(ERR_REASON_AFFINITY);
        }
    }
    Status::success()
}

impl Plugin for InterPodAffinity {
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

impl PreFilterPlugin for InterPodAffinity {
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, cache: &Cache) -> Status {
        let any_existing = cache.pod_index().pods_with_required_anti_affinity() > 0;
        if pod.required_affinity.is_empty() && pod.required_anti_affinity.is_empty() && !any_existing {
            return Status::skip();
        }
        state.write(NAME, filter_state(pod, cache));
        Status::success()
    }
}

impl FilterPlugin for InterPodAffinity {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        match state.read::<FilterState>(NAME) {
            Some(s) => filter_node(pod, s, node),
            None => Status::success(),
        }
    }
}

const SCORE_KEY: &str = "PreScoreInterPodAffinity";

/// Topology key → value → score.
#[derive(Debug, Default, PartialEq)]
struct ScoreState {
    topology: HashMap<String, HashMap<String, i64>>,
}

fn add_score(s: &mut ScoreState, node: &NodeInfo, key: &str, w: i64) {
    if let Some(v) = node.labels.get(key) {
        *s.topology.entry(key.to_owned()).or_default().entry(v.clone()).or_insert(0) += w;
    }
}

impl InterPodAffinity {
    /// The incoming pod's preferred terms against the placed pods they may select.
    fn score_own_terms(&self, s: &mut ScoreState, pod: &PodInfo, cache: &Cache) {
        let selects_namespaces =
            pod.preferred_affinity.iter().chain(&pod.preferred_anti_affinity).any(|t| t.term.uses_namespace_labels());
        let terms = pod
            .preferred_affinity
            .iter()
            .map(|t| (t, i64::from(t.weight)))
            .chain(pod.preferred_anti_affinity.iter().map(|t| (t, -i64::from(t.weight))));
        for (t, w) in terms {
            cache.pod_index().for_each_candidate(&t.term, |key| {
                let Some((existing, node)) = cache.placed(key).filter(|(_, n)| n.node.is_some()) else { return };
                if t.term.matches(&existing.pod, ns_labels_for(cache, existing, selects_namespaces)) {
                    add_score(s, node, &t.term.topology_key, w);
                }
            });
        }
    }

    /// A placed pod's terms (required affinity via `hardPodAffinityWeight`, preferred) against the incoming pod.
    fn score_existing_terms(
        &self,
        s: &mut ScoreState,
        pod: &PodInfo,
        existing: &PodInfo,
        node: &NodeInfo,
        cache: &Cache,
    ) {
        let existing_selects_namespaces = existing
            .required_affinity
            .iter()
            .chain(existing.preferred_affinity.iter().map(|t| &t.term))
            .chain(existing.preferred_anti_affinity.iter().map(|t| &t.term))
            .any(|t| t.uses_namespace_labels());
        let own_ns = ns_labels_for(cache, pod, existing_selects_namespaces);
        if self.hard_pod_affinity_weight > 0 {
            for t in &existing.required_affinity {
                if t.matches(&pod.pod, own_ns) {
                    add_score(s, node, &t.topology_key, self.hard_pod_affinity_weight);
                }
            }
        }
        for t in &existing.preferred_affinity {
            if t.term.matches(&pod.pod, own_ns) {
                add_score(s, node, &t.term.topology_key, i64::from(t.weight));
            }
        }
        for t in &existing.preferred_anti_affinity {
            if t.term.matches(&pod.pod, own_ns) {
                add_score(s, node, &t.term.topology_key, -i64::from(t.weight));
            }
        }
    }
}

impl PreScorePlugin for InterPodAffinity {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, _: &[&NodeInfo], cache: &Cache) -> Status {
        let has_preferred = !pod.preferred_affinity.is_empty() || !pod.preferred_anti_affinity.is_empty();
        let any_existing = cache.pod_index().any_scoring_affinity();
        if !has_preferred && !any_existing {
            return Status::skip();
        }
        let mut s = ScoreState::default();
        if has_preferred {
            self.score_own_terms(&mut s, pod, cache);
        }
        for key in cache.pod_index().pods_with_scoring_affinity() {
            if let Some((existing, node)) = cache.placed(key).filter(|(_, n)| n.node.is_some()) {
                self.score_existing_terms(&mut s, pod, existing, node, cache);
            }
        }
        if s.topology.is_empty() {
            return Status::skip();
        }
        state.write(SCORE_KEY, s);
        Status::success()
    }
}

impl ScorePlugin for InterPodAffinity {
    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo, _: &Cache) -> i64 {
        let Some(s) = state.read::<ScoreState>(SCORE_KEY) else { return 0 };
        s.topology.iter().filter_map(|(k, values)| node.labels.get(k).and_then(|v| values.get(v))).sum()
    }

    fn normalize(&self, _: &CycleState, _: &PodInfo, scores: &mut [i64]) {
        let min = scores.iter().copied().min().unwrap_or(0);
        let max = scores.iter().copied().max().unwrap_or(0);
        let diff = max - min;
        for s in scores.iter_mut() {
            *s = if diff > 0 { (MAX_NODE_SCORE as f64 * ((*s - min) as f64 / diff as f64)) as i64 } else { 0 };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, pod};

    fn cluster() -> Cache {
        let mut c = Cache::new();
        for (name, zone) in [("a1", "a"), ("a2", "a"), ("b1", "b")] {
            c.upsert_node(Arc::new(node(name).label("zone", zone).build()));
        }
        let db = pod("db").label("app", "db").on_node("a1").build();
        c.add_or_update_pod(Arc::new(PodInfo::new(Arc::new(db))));
        c
    }

    fn check(c: &Cache, p: &PodInfo, node: &str) -> Status {
        filter_node(p, &filter_state(p, c), c.node(node).unwrap())
    }

    #[test]
    fn affinity_requires_a_matching_pod_in_the_same_domain() {
        let c = cluster();
        let p = PodInfo::new(Arc::new(pod("web").pod_affinity(("app", "db"), "zone").build()));
        assert!(check(&c, &p, "a2").is_success(), "same zone as db");
        assert_eq!(check(&c, &p, "b1").reasons, vec![ERR_REASON_AFFINITY]);
    }

    #[test]
    fn anti_affinity_keeps_out_of_the_domain() {
        let c = cluster();
        let p = PodInfo::new(Arc::new(pod("web").pod_anti_affinity(("app", "db"), "zone").build()));
        assert_eq!(check(&c, &p, "a2").reasons, vec![ERR_REASON_ANTI_AFFINITY]);
        assert!(check(&c, &p, "b1").is_success());
    }

    #[test]
    fn existing_pods_anti_affinity_is_symmetric() {
        let mut c = cluster();
        let guard = pod("guard")
            .label("app", "guard")
            .pod_anti_affinity(("app", "web"), "kubernetes.io/hostname")
            .on_node("b1")
            .build();
        c.add_or_update_pod(Arc::new(PodInfo::new(Arc::new(guard))));
        let p = PodInfo::new(Arc::new(pod("web").label("app", "web").build()));
        assert_eq!(check(&c, &p, "b1").reasons, vec![ERR_REASON_EXISTING_ANTI_AFFINITY]);
        assert!(check(&c, &p, "a1").is_success());
    }

    #[test]
    fn first_pod_of_a_self_affine_group_may_go_anywhere() {
        let c = cluster();
        let p = PodInfo::new(Arc::new(pod("w").label("app", "w").pod_affinity(("app", "w"), "zone").build()));
        assert!(check(&c, &p, "b1").is_success());
    }

    #[test]
    fn namespace_selector_widens_the_namespaces_searched() {
        let mut c = cluster();
        c.objects.namespaces.insert("other".into(), [("team".to_string(), "x".to_string())].into());
        let other = pod("cache").namespace("other").label("app", "cache").on_node("b1").build();
        c.add_or_update_pod(Arc::new(PodInfo::new(Arc::new(other))));
        let plain = PodInfo::new(Arc::new(pod("w").pod_affinity(("app", "cache"), "zone").build()));
        assert!(!check(&c, &plain, "b1").is_success(), "own namespace only");
        let wide =
            PodInfo::new(Arc::new(pod("w").pod_affinity_ns_selector(("app", "cache"), "zone", ("team", "x")).build()));
        assert!(check(&c, &wide, "b1").is_success());
        assert!(!check(&c, &wide, "a1").is_success());
    }

    #[test]
    fn preferred_affinity_scores_the_domain_higher() {
        let c = cluster();
        let p = PodInfo::new(Arc::new(pod("web").preferred_pod_affinity(10, ("app", "db"), "zone").build()));
        let plugin = InterPodAffinity::from_args(None).unwrap();
        let mut st = CycleState::default();
        let nodes: Vec<&NodeInfo> = c.nodes().iter().collect();
        assert!(plugin.pre_score(&mut st, &p, &nodes, &c).is_success());
        let mut scores: Vec<i64> = nodes.iter().map(|n| plugin.score(&st, &p, n, &c)).collect();
        plugin.normalize(&st, &p, &mut scores);
        let by = |name: &str| scores[nodes.iter().position(|n| n.name == name).unwrap()];
        assert_eq!((by("a1"), by("a2"), by("b1")), (100, 100, 0));
    }

    /// The pre-index algorithm: every pod on every node (upstream's walk).
    fn filter_state_by_walking(pod: &PodInfo, cache: &Cache) -> FilterState {
        let mut s = FilterState::default();
        let own_ns = cache.namespace_labels(&pod.namespace);
        let needs_ns =
            pod.required_affinity.iter().chain(&pod.required_anti_affinity).any(|t| t.uses_namespace_labels());
        for node in cache.nodes().iter().filter(|n| n.node.is_some()) {
            for existing in &node.pods {
                for t in &existing.required_anti_affinity {
                    if t.matches(&pod.pod, own_ns) {
                        bump(&mut s.existing_anti_affinity, node, &t.topology_key, 1);
                    }
                }
                let ns = ns_labels_for(cache, existing, needs_ns);
                if !pod.required_affinity.is_empty()
                    && pod.required_affinity.iter().all(|t| t.matches(&existing.pod, ns))
                {
                    for t in &pod.required_affinity {
                        bump(&mut s.affinity, node, &t.topology_key, 1);
                    }
                }
                for t in &pod.required_anti_affinity {
                    if t.matches(&existing.pod, ns) {
                        bump(&mut s.anti_affinity, node, &t.topology_key, 1);
                    }
                }
            }
        }
        s.self_affinity_allowed =
            s.affinity.is_empty() && pod.required_affinity.iter().all(|t| t.matches(&pod.pod, own_ns));
        s
    }

    fn score_state_by_walking(plugin: &InterPodAffinity, pod: &PodInfo, cache: &Cache) -> ScoreState {
        let mut s = ScoreState::default();
        for node in cache.nodes().iter().filter(|n| n.node.is_some()) {
            for existing in &node.pods {
                for t in &pod.preferred_affinity {
                    if t.term.matches(&existing.pod, cache.namespace_labels(&existing.namespace)) {
                        add_score(&mut s, node, &t.term.topology_key, i64::from(t.weight));
                    }
                }
                for t in &pod.preferred_anti_affinity {
                    if t.term.matches(&existing.pod, cache.namespace_labels(&existing.namespace)) {
                        add_score(&mut s, node, &t.term.topology_key, -i64::from(t.weight));
                    }
                }
                plugin.score_existing_terms(&mut s, pod, existing, node, cache);
            }
        }
        s
    }

    #[test]
    fn indexed_state_equals_a_walk_over_every_pod() {
        use crate::testing::random::{Rng, random_pod, step};
        let plugin = InterPodAffinity::from_args(None).unwrap();
        let mut checked = 0;
        for seed in 1..=20u64 {
            let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let mut c = Cache::new();
            c.objects.namespaces.insert("other".into(), [("team".to_string(), "x".to_string())].into());
            for _ in 0..300 {
                step(&mut r, &mut c, true);
                let p = PodInfo::new(Arc::new(random_pod(&mut r)));
                assert_eq!(filter_state(&p, &c), filter_state_by_walking(&p, &c), "seed {seed}: filter state");
                let mut st = CycleState::default();
                let code = plugin.pre_score(&mut st, &p, &[], &c).code;
                let walked = score_state_by_walking(&plugin, &p, &c);
                match st.read::<ScoreState>(SCORE_KEY) {
                    Some(s) => assert_eq!(s, &walked, "seed {seed}: score state"),
                    None => assert!(
                        code == crate::framework::Code::Skip && walked.topology.is_empty(),
                        "seed {seed}: skipped although the walk scores {walked:?}"
                    ),
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 6000);
    }
}
