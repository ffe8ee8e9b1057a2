//! `NodeResourcesFit`: the pod's requests (CPU, memory, ephemeral storage,
//! extended resources, one pod slot) must fit in what the node has left;
//! nodes are scored LeastAllocated (default), MostAllocated or
//! RequestedToCapacityRatio.

use std::sync::Arc;

use serde::Deserialize;

use crate::cache::Cache;
use crate::framework::{CycleState, FilterPlugin, MAX_NODE_SCORE, Plugin, PreFilterPlugin, ScorePlugin, Status};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::resource::{CPU, EPHEMERAL_STORAGE, MEMORY, Resource};

pub const NAME: &str = "NodeResourcesFit";

/// A resource and its weight in scoring.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ResourceSpec {
    pub name: String,
    #[serde(default = "one")]
    pub weight: i64,
}

fn one() -> i64 {
    1
}

/// A point of the RequestedToCapacityRatio shape (utilization 0-100 → score 0-10).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub struct ShapePoint {
    pub utilization: i64,
    pub score: i64,
}

/// How nodes are ranked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    LeastAllocated,
    MostAllocated,
    RequestedToCapacityRatio(Vec<ShapePoint>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RatioArgs {
    #[serde(default)]
    shape: Vec<ShapePoint>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StrategyArgs {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    resources: Option<Vec<ResourceSpec>>,
    #[serde(default)]
    requested_to_capacity_ratio: Option<RatioArgs>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Args {
    #[serde(default)]
    ignored_resources: Vec<String>,
    #[serde(default)]
    ignored_resource_groups: Vec<String>,
    #[serde(default)]
    scoring_strategy: Option<StrategyArgs>,
}

/// The plugin with its arguments.
#[derive(Debug)]
pub struct NodeResourcesFit {
    pub strategy: Strategy,
    pub resources: Vec<ResourceSpec>,
    pub ignored_resources: Vec<String>,
    pub ignored_groups: Vec<String>,
}

impl NodeResourcesFit {
    pub fn from_args(args: Option<&serde_json::Value>) -> Result<Self, String> {
        let args: Args = match args {
            Some(v) if !v.is_null() => serde_json::from_value(v.clone()).map_err(|e| e.to_string())?,
            _ => Args::default(),
        };
        let s = args.scoring_strategy.unwrap_or_default();
        let strategy = match s.kind.as_deref().unwrap_or("LeastAllocated") {
            "LeastAllocated" => Strategy::LeastAllocated,
            "MostAllocated" => Strategy::MostAllocated,
            "RequestedToCapacityRatio" => {
                let shape = s.requested_to_capacity_ratio.unwrap_or_default().shape;
                if shape.is_empty() {
                    return Err("scoringStrategy.requestedToCapacityRatio.shape: Required value".into());
                }
                for p in &shape {
                    if !(0..=100).contains(&p.utilization) || !(0..=10).contains(&p.score) {
                        return Err(format!("invalid shape point {p:?}: utilization 0-100, score 0-10"));
                    }
                }
                Strategy::RequestedToCapacityRatio(shape)
            }
            other => return Err(format!("scoringStrategy.type: Unsupported value: {other:?}")),
        };
        let resources = s.resources.unwrap_or_else(|| {
            vec![ResourceSpec { name: CPU.into(), weight: 1 }, ResourceSpec { name: MEMORY.into(), weight: 1 }]
        });
        if let Some(r) = resources.iter().find(|r| !(1..=100).contains(&r.weight)) {
            return Err(format!("resource {:?} weight {} not in range 1-100", r.name, r.weight));
        }
        Ok(NodeResourcesFit {
            strategy,
            resources,
            ignored_resources: args.ignored_resources,
            ignored_groups: args.ignored_resource_groups,
        })
    }

    fn ignored(&self, name: &str) -> bool {
        self.ignored_resources.iter().any(|r| r == name)
            || name.split_once('/').is_some_and(|(g, _)| self.ignored_groups.iter().any(|i| i == g))
    }
}

/// Why `request` does not fit in `node` (upstream `fitsRequest`): one reason per short resource.
pub fn insufficient(request: &Resource, node: &NodeInfo, ignored: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut reasons = Vec::new();
    let alloc = &node.allocatable;
    if node.pods.len() as i64 + 1 > alloc.allowed_pod_number {
        reasons.push("Too many pods".to_owned());
    }
    if request.is_zero() {
        return reasons;
    }
    let used = &node.requested;
    if request.milli_cpu > 0 && request.milli_cpu > alloc.milli_cpu - used.milli_cpu {
        reasons.push(format!("Insufficient {CPU}"));
    }
    if request.memory > 0 && request.memory > alloc.memory - used.memory {
        reasons.push(format!("Insufficient {MEMORY}"));
    }
    if request.ephemeral_storage > 0 && request.ephemeral_storage > alloc.ephemeral_storage - used.ephemeral_storage {
        reasons.push(format!("Insufficient {EPHEMERAL_STORAGE}"));
    }
    for (name, want) in &request.scalar {
        if *want == 0 || ignored(name) {
            continue;
        }
        if *want > alloc.get(name) - used.get(name) {
            reasons.push(format!("Insufficient {name}"));
        }
    }
    reasons
}

/// `(requested including the pod, allocatable)` of one resource, as upstream scores it.
pub fn requested_and_allocatable(pod: &PodInfo, node: &NodeInfo, resource: &str) -> (i64, i64) {
    let alloc = node.allocatable.get(resource);
    let req = match resource {
        CPU | MEMORY => node.non_zero_requested.get(resource) + pod.requests.non_zero.get(resource),
        _ => node.requested.get(resource) + pod.requests.requests.get(resource),
    };
    (req, alloc)
}

/// `(capacity - requested) * 100 / capacity`, 0 when over.
pub fn least_requested(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_NODE_SCORE / capacity
}

/// `requested * 100 / capacity`, saturating at 100.
pub fn most_requested(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 {
        return 0;
    }
    requested.min(capacity) * MAX_NODE_SCORE / capacity
}

/// The piecewise-linear shape (scores scaled ×10 to 0-100) at `utilization`.
pub fn shape_score(shape: &[ShapePoint], utilization: i64) -> i64 {
    let pts: Vec<(i64, i64)> = shape.iter().map(|p| (p.utilization, p.score * MAX_NODE_SCORE / 10)).collect();
    let Some(first) = pts.first() else { return 0 };
    if utilization <= first.0 {
        return first.1;
    }
    for w in pts.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        if utilization <= x1 {
            if x1 == x0 {
                return y1;
            }
            return y0 + (y1 - y0) * (utilization - x0) / (x1 - x0);
        }
    }
    pts.last().map(|p| p.1).unwrap_or(0)
}

impl NodeResourcesFit {
    /// The node's score under the configured strategy.
    pub fn node_score(&self, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let (mut total, mut weights) = (0i64, 0i64);
        for r in &self.resources {
            let (req, alloc) = requested_and_allocatable(pod, node, &r.name);
            if alloc == 0 {
                continue;
            }
            let s = match &self.strategy {
                Strategy::LeastAllocated => least_requested(req, alloc),
                Strategy::MostAllocated => most_requested(req, alloc),
                Strategy::RequestedToCapacityRatio(shape) => shape_score(shape, req.min(alloc) * 100 / alloc),
            };
            total += s * r.weight;
            weights += r.weight;
        }
        if weights == 0 { 0 } else { total / weights }
    }
}

impl Plugin for NodeResourcesFit {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_filter(self: Arc<Self>) -> Option<Arc<dyn PreFilterPlugin>> {
        Some(self)
    }
    fn as_filter(self: Arc<Self>) -> Option<Arc<dyn FilterPlugin>> {
        Some(self)
    }
    fn as_score(self: Arc<Self>) -> Option<Arc<dyn ScorePlugin>> {
        Some(self)
    }
}

impl PreFilterPlugin for NodeResourcesFit {
    fn pre_filter(&self, _: &mut CycleState, pod: &PodInfo, _: &Cache) -> Status {
        if pod.requests.invalid.is_empty() {
            Status::success()
        } else {
            Status::unresolvable(format!("pod has invalid resource requests: {}", pod.requests.invalid.join(", ")))
        }
    }
}

impl FilterPlugin for NodeResourcesFit {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let reasons = insufficient(&pod.requests.requests, node, &|n| self.ignored(n));
        if reasons.is_empty() {
            Status::success()
        } else {
            Status::with_reasons(crate::framework::Code::Unschedulable, reasons)
        }
    }
}

impl ScorePlugin for NodeResourcesFit {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo, _: &Cache) -> i64 {
        self.node_score(pod, node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, pod};

    fn ni(b: crate::testing::NodeBuilder) -> NodeInfo {
        let n = b.build();
        let mut i = NodeInfo::new(n.metadata.name.as_deref().unwrap());
        i.set_node(Arc::new(n));
        i
    }
    fn pi(b: crate::testing::PodBuilder) -> Arc<PodInfo> {
        Arc::new(PodInfo::new(Arc::new(b.build())))
    }

    #[test]
    fn reports_each_insufficient_resource_and_pod_count() {
        let mut n =
            ni(node("n1").alloc("cpu", "1").alloc("memory", "1Gi").alloc("example.com/gpu", "1").alloc("pods", "1"));
        n.add_pod(pi(pod("x").req("cpu", "800m")));
        let p = pi(pod("a").req("cpu", "300m").req("memory", "2Gi").req("example.com/gpu", "2"));
        let r = insufficient(&p.requests.requests, &n, &|_| false);
        assert_eq!(r, vec!["Too many pods", "Insufficient cpu", "Insufficient memory", "Insufficient example.com/gpu"]);
        assert_eq!(insufficient(&p.requests.requests, &n, &|n| n == "example.com/gpu").len(), 3);
    }

    #[test]
    fn least_and_most_allocated_score_as_upstream() {
        assert_eq!(least_requested(2500, 10000), 75);
        assert_eq!(least_requested(12000, 10000), 0);
        assert_eq!(most_requested(2500, 10000), 25);
        assert_eq!(most_requested(12000, 10000), 100);
        let n = ni(node("n1").alloc("cpu", "4").alloc("memory", "8Gi"));
        let p = pi(pod("a").req("cpu", "1").req("memory", "2Gi"));
        let least = NodeResourcesFit::from_args(None).unwrap();
        assert_eq!(least.node_score(&p, &n), 75);
        let most =
            NodeResourcesFit::from_args(Some(&serde_json::json!({"scoringStrategy": {"type": "MostAllocated"}})))
                .unwrap();
        assert_eq!(most.node_score(&p, &n), 25);
    }

    #[test]
    fn requested_to_capacity_ratio_follows_the_shape() {
        let shape = vec![ShapePoint { utilization: 0, score: 0 }, ShapePoint { utilization: 100, score: 10 }];
        assert_eq!(shape_score(&shape, 0), 0);
        assert_eq!(shape_score(&shape, 50), 50);
        assert_eq!(shape_score(&shape, 100), 100);
        let args = serde_json::json!({"scoringStrategy": {"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {"shape": [{"utilization": 0, "score": 10}, {"utilization": 100, "score": 0}]}}});
        let f = NodeResourcesFit::from_args(Some(&args)).unwrap();
        let n = ni(node("n1").alloc("cpu", "4").alloc("memory", "8Gi"));
        assert_eq!(f.node_score(&pi(pod("a").req("cpu", "2").req("memory", "4Gi")), &n), 50);
        assert!(
            NodeResourcesFit::from_args(Some(
                &serde_json::json!({"scoringStrategy": {"type": "RequestedToCapacityRatio"}})
            ))
            .is_err()
        );
    }
}
