//! One scheduling decision (upstream `schedulePod`): PreFilter, Filter over
//! enough feasible nodes (`percentageOfNodesToScore`, round-robin start),
//! PreScore and Score, then the best node (ties broken at random).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::cache::Cache;
use crate::diagnosis::fit_error_message;
use crate::framework::{Code, CycleState, Framework, Status};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

/// Below this many nodes every node is evaluated.
pub const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
/// The adaptive percentage never drops below this.
pub const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: i64 = 5;

/// How many feasible nodes to look for among `all` (upstream `numFeasibleNodesToFind`).
pub fn num_feasible_nodes_to_find(percentage: Option<i32>, all: usize) -> usize {
    if all < MIN_FEASIBLE_NODES_TO_FIND {
        return all;
    }
    let mut pct = i64::from(percentage.unwrap_or(0));
    if pct == 0 {
        pct = (50 - all as i64 / 125).max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND);
    }
    let n = (all as i64 * pct / 100) as usize;
    n.max(MIN_FEASIBLE_NODES_TO_FIND)
}

/// Why no node fitted.
#[derive(Debug, Clone, Default)]
pub struct FitError {
    pub num_all_nodes: usize,
    pub pre_filter_msg: Option<String>,
    pub statuses: HashMap<String, Status>,
    pub post_filter_msg: Option<String>,
    /// Plugins that rejected the pod (which cluster events may help).
    pub plugins: HashSet<&'static str>,
}

impl FitError {
    pub fn message(&self) -> String {
        fit_error_message(
            self.num_all_nodes,
            self.pre_filter_msg.as_deref(),
            &self.statuses,
            self.post_filter_msg.as_deref(),
        )
    }
}

/// The outcome of a failed attempt.
#[derive(Debug, Clone)]
pub enum ScheduleError {
    Unfit(Box<FitError>),
    Internal(String),
}

/// A successful decision.
#[derive(Debug, Clone)]
pub struct Decision {
    pub node: String,
    pub evaluated: usize,
    pub feasible: usize,
}

/// Pods nominated to nodes by preemption (upstream `nominator`).
pub type Nominated = HashMap<String, Vec<Arc<PodInfo>>>;

/// The decision loop's memory between pods.
#[derive(Debug)]
pub struct Algorithm {
    next_start: usize,
    rng: u64,
}

impl Default for Algorithm {
    fn default() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Algorithm { next_start: 0, rng: seed | 1 }
    }
}

impl Algorithm {
    fn next_random(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// Filters a node, counting higher-or-equal priority pods nominated to it;
    /// `fast`: only feasibility matters (see [`Framework::run_filters_fast`]).
    fn filter_node(
        fwk: &Framework,
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        nominated: &Nominated,
        fast: bool,
    ) -> Status {
        let run =
            |n: &NodeInfo| if fast { fwk.run_filters_fast(state, pod, n) } else { fwk.run_filters(state, pod, n) };
        if nominated.is_empty() {
            return run(node);
        }
        let extra: Vec<&Arc<PodInfo>> = nominated
            .get(&node.name)
            .map(|v| v.iter().filter(|p| p.key != pod.key && p.priority >= pod.priority).collect())
            .unwrap_or_default();
        if extra.is_empty() {
            return run(node);
        }
        let mut with = node.clone();
        for p in extra {
            with.add_pod(Arc::clone(p));
        }
        run(&with)
    }

    /// Chooses a node for `pod`.
    pub fn schedule(
        &mut self,
        fwk: &Framework,
        state: &mut CycleState,
        pod: &PodInfo,
        cache: &Cache,
        nominated: &Nominated,
    ) -> Result<Decision, ScheduleError> {
        let all = cache.num_nodes();
        let mut fit = FitError { num_all_nodes: all, ..Default::default() };
        if all == 0 {
            return Err(ScheduleError::Unfit(Box::new(fit)));
        }
        if !pod.parse_errors.is_empty() {
            fit.pre_filter_msg = Some(pod.parse_errors.join("; "));
            fit.plugins.insert(crate::queue::POD_SPEC);
            return Err(ScheduleError::Unfit(Box::new(fit)));
        }
        let s = fwk.run_pre_filter(state, pod, cache);
        match s.code {
            Code::Success | Code::Skip => {}
            Code::Error => {
                return Err(ScheduleError::Internal(format!(
                    "running PreFilter plugin {:?}: {}",
                    s.plugin,
                    s.message()
                )));
            }
            _ => {
                fit.pre_filter_msg = Some(s.message());
                fit.plugins.insert(s.plugin);
                for n in cache.nodes().iter().filter(|n| n.node.is_some()) {
                    fit.statuses.insert(n.name.clone(), s.clone());
                }
                return Err(ScheduleError::Unfit(Box::new(fit)));
            }
        }
        let nodes = cache.nodes();
        // A nominated node (after preemption) is tried first, and taken if it fits.
        if let Some(nn) = pod.nominated_node_name()
            && let Some(node) = cache.node(nn).filter(|n| n.node.is_some())
            && Self::filter_node(fwk, state, pod, node, nominated, false).is_success()
        {
            return Ok(Decision { node: nn.to_owned(), evaluated: 1, feasible: 1 });
        }
        let to_find = num_feasible_nodes_to_find(fwk.percentage_of_nodes_to_score, all);
        let total = nodes.len();
        let start = self.next_start % total.max(1);
        let mut feasible: Vec<&NodeInfo> = Vec::with_capacity(to_find.min(total));
        // Kept by position and turned into the per-node map only if no node fits.
        let mut rejected: Vec<(&NodeInfo, Status)> = Vec::new();
        let mut processed = 0;
        for i in 0..total {
            let node = &nodes[(start + i) % total];
            processed += 1;
            if node.node.is_none() {
                continue;
            }
            let s = Self::filter_node(fwk, state, pod, node, nominated, true);
            match s.code {
                Code::Success => {
                    feasible.push(node);
                    if feasible.len() >= to_find {
                        break;
                    }
                }
                Code::Error => {
                    return Err(ScheduleError::Internal(format!(
                        "running Filter plugin {:?}: {}",
                        s.plugin,
                        s.message()
                    )));
                }
                _ => rejected.push((node, s)),
            }
        }
        self.next_start = (start + processed) % total.max(1);
        let evaluated = feasible.len() + rejected.len();
        if feasible.is_empty() {
            for (node, fast) in rejected {
                // Report the first Filter in upstream's order that rejects the node.
                let s = match Self::filter_node(fwk, state, pod, node, nominated, false) {
                    s if s.is_success() => fast,
                    s => s,
                };
                fit.plugins.insert(s.plugin);
                fit.statuses.insert(node.name.clone(), s);
            }
            return Err(ScheduleError::Unfit(Box::new(fit)));
        }
        if feasible.len() == 1 {
            return Ok(Decision { node: feasible[0].name.clone(), evaluated, feasible: 1 });
        }
        let s = fwk.run_pre_score(state, pod, &feasible, cache);
        if s.code == Code::Error || s.is_rejected() {
            return Err(ScheduleError::Internal(format!("running PreScore plugin {:?}: {}", s.plugin, s.message())));
        }
        let scores = fwk.run_score(state, pod, &feasible, cache);
        let mut best = 0;
        let mut ties = 1u64;
        for (i, s) in scores.iter().enumerate().skip(1) {
            if *s > scores[best] {
                best = i;
                ties = 1;
            } else if *s == scores[best] {
                ties += 1;
                if self.next_random().is_multiple_of(ties) {
                    best = i;
                }
            }
        }
        Ok(Decision { node: feasible[best].name.clone(), evaluated, feasible: feasible.len() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::registry::{Handle, build};
    use crate::testing::{node, pod};

    fn fwk() -> Framework {
        let cfg = crate::config::KubeSchedulerConfiguration::parse(
            "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n",
        )
        .unwrap();
        build(&cfg.profiles[0], None, &Handle::default()).unwrap()
    }

    #[test]
    fn adaptive_percentage_as_upstream() {
        assert_eq!(num_feasible_nodes_to_find(None, 50), 50);
        assert_eq!(num_feasible_nodes_to_find(None, 1000), 420);
        assert_eq!(num_feasible_nodes_to_find(None, 5000), 500);
        assert_eq!(num_feasible_nodes_to_find(None, 6000), 300);
        assert_eq!(num_feasible_nodes_to_find(Some(1), 1000), 100);
        assert_eq!(num_feasible_nodes_to_find(Some(100), 1000), 1000);
    }

    #[test]
    fn picks_the_least_allocated_node_and_explains_failures() {
        let mut c = Cache::new();
        c.upsert_node(Arc::new(node("busy").alloc("cpu", "4").alloc("memory", "8Gi").build()));
        c.upsert_node(Arc::new(node("idle").alloc("cpu", "4").alloc("memory", "8Gi").build()));
        c.upsert_node(Arc::new(
            node("tainted").alloc("cpu", "4").alloc("memory", "8Gi").taint("k", "v", "NoSchedule").build(),
        ));
        c.add_or_update_pod(Arc::new(PodInfo::new(Arc::new(
            pod("x").req("cpu", "3").req("memory", "6Gi").on_node("busy").build(),
        ))));
        let f = fwk();
        let mut alg = Algorithm::default();
        let p = PodInfo::new(Arc::new(pod("a").req("cpu", "500m").req("memory", "1Gi").build()));
        let d = alg.schedule(&f, &mut CycleState::default(), &p, &c, &Nominated::new()).unwrap();
        assert_eq!(d.node, "idle");
        let big = PodInfo::new(Arc::new(pod("b").req("cpu", "2").build()));
        let mut c2 = c;
        c2.add_or_update_pod(Arc::new(PodInfo::new(Arc::new(pod("y").req("cpu", "3").on_node("idle").build()))));
        match alg.schedule(&f, &mut CycleState::default(), &big, &c2, &Nominated::new()) {
            Err(ScheduleError::Unfit(e)) => assert_eq!(
                e.message(),
                "0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, 2 Insufficient cpu."
            ),
            other => panic!("expected a fit error, got {other:?}"),
        }
    }

    #[test]
    fn nominated_pods_hold_their_room_against_lower_priority() {
        let mut c = Cache::new();
        c.upsert_node(Arc::new(node("n1").alloc("cpu", "1").build()));
        let vip = Arc::new(PodInfo::new(Arc::new(pod("vip").req("cpu", "1").priority(10).build())));
        let nominated: Nominated = [("n1".to_string(), vec![vip])].into();
        let low = PodInfo::new(Arc::new(pod("low").req("cpu", "1").priority(1).build()));
        assert!(Algorithm::default().schedule(&fwk(), &mut CycleState::default(), &low, &c, &nominated).is_err());
    }

    #[test]
    fn rejections_are_reported_in_upstream_filter_order_though_selective_filters_run_first() {
        let mut c = Cache::new();
        c.upsert_node(Arc::new(node("a1").alloc("cpu", "1").label("zone", "a").build()));
        c.upsert_node(Arc::new(node("b1").alloc("cpu", "1").label("zone", "b").build()));
        for name in ["w1", "w2"] {
            c.add_or_update_pod(Arc::new(PodInfo::new(Arc::new(pod(name).label("app", "web").on_node("a1").build()))));
        }
        let p = PodInfo::new(Arc::new(
            pod("new").label("app", "web").req("cpu", "2").spread(1, "zone", "DoNotSchedule", ("app", "web")).build(),
        ));
        c.prepare_for(&p);
        match Algorithm::default().schedule(&fwk(), &mut CycleState::default(), &p, &c, &Nominated::new()) {
            Err(ScheduleError::Unfit(e)) => {
                // a1 fails the spread too, but NodeResourcesFit comes first upstream.
                assert_eq!(e.message(), "0/2 nodes are available: 2 Insufficient cpu.");
                assert_eq!(e.plugins, [crate::plugins::node_resources_fit::NAME].into());
            }
            other => panic!("expected a fit error, got {other:?}"),
        }
        let fits = PodInfo::new(Arc::new(
            pod("new")
                .label("app", "web")
                .req("cpu", "500m")
                .spread(1, "zone", "DoNotSchedule", ("app", "web"))
                .build(),
        ));
        let d =
            Algorithm::default().schedule(&fwk(), &mut CycleState::default(), &fits, &c, &Nominated::new()).unwrap();
        assert_eq!(d.node, "b1", "the spread keeps it out of zone a");
    }
}
