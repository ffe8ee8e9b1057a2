//! A profile's framework: the plugins enabled at each extension point, in
//! order, with score weights, and the loops that run them
//! (upstream `framework/runtime/framework.go`).

use std::sync::Arc;

use super::{
    BindPlugin, Code, CycleState, FilterPlugin, PostFilterPlugin, PreFilterPlugin, PreScorePlugin, ReservePlugin,
    ScorePlugin, Status,
};
use crate::cache::Cache;
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

/// Filters that decide from their PreFilter state and reject the most nodes
/// (a spread or anti-affinity pod fits few domains): tried first when only
/// feasibility matters ([`Framework::run_filters_fast`]).
const SELECTIVE_FILTERS: &[&str] =
    &[crate::plugins::pod_topology_spread::NAME, crate::plugins::inter_pod_affinity::NAME];

/// The plugins of one profile.
#[derive(Clone, Default)]
pub struct Framework {
    pub profile_name: String,
    pub percentage_of_nodes_to_score: Option<i32>,
    pub pre_filter: Vec<Arc<dyn PreFilterPlugin>>,
    pub filter: Vec<Arc<dyn FilterPlugin>>,
    pub post_filter: Vec<Arc<dyn PostFilterPlugin>>,
    pub pre_score: Vec<Arc<dyn PreScorePlugin>>,
    pub score: Vec<(Arc<dyn ScorePlugin>, i64)>,
    pub reserve: Vec<Arc<dyn ReservePlugin>>,
    pub bind: Vec<Arc<dyn BindPlugin>>,
}

impl std::fmt::Debug for Framework {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Framework")
            .field("profile", &self.profile_name)
            .field("pre_filter", &self.pre_filter.iter().map(|p| p.name()).collect::<Vec<_>>())
            .field("filter", &self.filter.iter().map(|p| p.name()).collect::<Vec<_>>())
            .field("post_filter", &self.post_filter.iter().map(|p| p.name()).collect::<Vec<_>>())
            .field("score", &self.score.iter().map(|(p, w)| (p.name(), *w)).collect::<Vec<_>>())
            .field("bind", &self.bind.iter().map(|p| p.name()).collect::<Vec<_>>())
            .finish()
    }
}

impl Framework {
    /// Runs every PreFilter; the first rejection or error stops the cycle.
    pub fn run_pre_filter(&self, state: &mut CycleState, pod: &PodInfo, cache: &Cache) -> Status {
        for p in &self.pre_filter {
            let mut s = p.pre_filter(state, pod, cache);
            match s.code {
                Code::Success => {}
                Code::Skip => {
                    state.skip_filter.insert(p.name());
                }
                _ => {
                    s.plugin = p.name();
                    return s;
                }
            }
        }
        state.filter_skip = self.filter.iter().map(|p| state.skip_filter.contains(p.name())).collect();
        let running = (0..self.filter.len()).filter(|i| !state.filter_skip[*i]);
        let (mut order, rest): (Vec<usize>, Vec<usize>) =
            running.partition(|i| SELECTIVE_FILTERS.contains(&self.filter[*i].name()));
        order.extend(rest);
        state.filter_order = Some(order);
        Status::success()
    }

    /// Whether `node` passes every Filter, trying the selective ones first.
    /// Feasibility does not depend on the order, but a rejection may name a
    /// different plugin than [`Framework::run_filters`] (upstream's order, which
    /// is what gets reported): callers that report statuses re-run that.
    pub fn run_filters_fast(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(order) = state.filter_order.as_ref().filter(|o| o.iter().all(|i| *i < self.filter.len())) else {
            return self.run_filters(state, pod, node);
        };
        for &i in order {
            if let Some(failed) = Self::filter_failure(&*self.filter[i], state, pod, node) {
                return failed;
            }
        }
        Status::success()
    }

    /// Runs the Filters on one node; the first that does not pass decides.
    pub fn run_filters(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let by_position = state.filter_skip.len() == self.filter.len();
        for (i, p) in self.filter.iter().enumerate() {
            let skip = if by_position { state.filter_skip[i] } else { state.skip_filter.contains(p.name()) };
            if skip {
                continue;
            }
            if let Some(failed) = Self::filter_failure(&**p, state, pod, node) {
                return failed;
            }
        }
        Status::success()
    }

    /// One Filter's verdict on one node: `None` when it passes (or skips),
    /// else its status naming the plugin.
    fn filter_failure(p: &dyn FilterPlugin, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Option<Status> {
        let mut s = p.filter(state, pod, node);
        if s.is_success() || s.code == Code::Skip {
            return None;
        }
        s.plugin = p.name();
        Some(s)
    }

    /// Runs every PreScore over the feasible nodes.
    pub fn run_pre_score(&self, state: &mut CycleState, pod: &PodInfo, nodes: &[&NodeInfo], cache: &Cache) -> Status {
        for p in &self.pre_score {
            let mut s = p.pre_score(state, pod, nodes, cache);
            match s.code {
                Code::Success => {}
                Code::Skip => {
                    state.skip_score.insert(p.name());
                }
                _ => {
                    s.plugin = p.name();
                    return s;
                }
            }
        }
        Status::success()
    }

    /// Weighted total score of every node (same order as `nodes`).
    pub fn run_score(&self, state: &CycleState, pod: &PodInfo, nodes: &[&NodeInfo], cache: &Cache) -> Vec<i64> {
        let mut totals = vec![0i64; nodes.len()];
        let mut scores = vec![0i64; nodes.len()];
        for (p, weight) in &self.score {
            if state.skip_score.contains(p.name()) {
                continue;
            }
            for (i, n) in nodes.iter().enumerate() {
                scores[i] = p.score(state, pod, n, cache);
            }
            p.normalize(state, pod, &mut scores);
            for (t, s) in totals.iter_mut().zip(&scores) {
                *t += (*s).clamp(0, super::MAX_NODE_SCORE) * weight;
            }
        }
        totals
    }

    pub fn run_reserve(&self, state: &CycleState, pod: &PodInfo, node: &str) -> Status {
        for (i, p) in self.reserve.iter().enumerate() {
            let mut s = p.reserve(state, pod, node);
            if !s.is_success() {
                s.plugin = p.name();
                for q in self.reserve[..i].iter().rev() {
                    q.unreserve(state, pod, node);
                }
                return s;
            }
        }
        Status::success()
    }

    pub fn run_unreserve(&self, state: &CycleState, pod: &PodInfo, node: &str) {
        for p in self.reserve.iter().rev() {
            p.unreserve(state, pod, node);
        }
    }

    /// Binds with the first Bind plugin that does not skip.
    pub async fn run_bind(&self, pod: &PodInfo, node: &str) -> Status {
        for p in &self.bind {
            let mut s = p.bind(pod, node).await;
            if s.code == Code::Skip {
                continue;
            }
            s.plugin = p.name();
            return s;
        }
        Status::error("no bind plugin bound the pod")
    }
}
