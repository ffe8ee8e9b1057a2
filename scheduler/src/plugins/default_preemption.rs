//! `DefaultPreemption`: when no node fits, find the node where evicting the
//! fewest, lowest-priority pods (sparing those a PodDisruptionBudget protects
//! where possible) makes room, and nominate the pod there.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde::Deserialize;

use crate::cache::Cache;
use crate::diagnosis::fit_error_message;
use crate::framework::{Code, CycleState, Framework, Plugin, PostFilterPlugin, PostFilterResult, Status};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

pub const NAME: &str = "DefaultPreemption";
pub const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
pub const NO_VICTIMS: &str = "No preemption victims found for incoming pod";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Args {
    #[serde(default)]
    min_candidate_nodes_percentage: Option<i64>,
    #[serde(default)]
    min_candidate_nodes_absolute: Option<i64>,
}

/// The plugin with its candidate limits.
#[derive(Debug)]
pub struct DefaultPreemption {
    pub min_candidate_nodes_percentage: i64,
    pub min_candidate_nodes_absolute: i64,
}

impl DefaultPreemption {
    pub fn from_args(args: Option<&serde_json::Value>) -> Result<Self, String> {
        let args: Args = match args {
            Some(v) if !v.is_null() => serde_json::from_value(v.clone()).map_err(|e| e.to_string())?,
            _ => Args::default(),
        };
        let pct = args.min_candidate_nodes_percentage.unwrap_or(10);
        let abs = args.min_candidate_nodes_absolute.unwrap_or(100);
        if !(0..=100).contains(&pct) || abs < 0 || (pct == 0 && abs == 0) {
            return Err("minCandidateNodesPercentage must be 0-100, minCandidateNodesAbsolute >= 0, not both 0".into());
        }
        Ok(DefaultPreemption { min_candidate_nodes_percentage: pct, min_candidate_nodes_absolute: abs })
    }
}

/// One node where preemption works, and at what cost.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub node: String,
    pub victims: Vec<Arc<PodInfo>>,
    pub pdb_violations: usize,
}

fn pdb_matches(pdb: &PodDisruptionBudget, pod: &PodInfo) -> bool {
    if pdb.metadata.namespace.as_deref() != Some(pod.namespace.as_str()) {
        return false;
    }
    let Some(sel) = pdb.spec.as_ref().and_then(|s| s.selector.as_ref()) else { return false };
    match rustkube_api::LabelSelector::from_meta(Some(sel)) {
        Ok(s) if !s.is_everything() => s.matches(&pod.labels),
        _ => false,
    }
}

/// Splits victims into those whose eviction would violate a budget and the rest
/// (upstream `filterPodsWithPDBViolation`), keeping their order.
pub fn split_by_pdb(
    victims: &[Arc<PodInfo>],
    pdbs: &[Arc<PodDisruptionBudget>],
) -> (Vec<Arc<PodInfo>>, Vec<Arc<PodInfo>>) {
    let mut allowed: Vec<i64> =
        pdbs.iter().map(|p| i64::from(p.status.as_ref().map(|s| s.disruptions_allowed).unwrap_or(0))).collect();
    let (mut violating, mut fine) = (Vec::new(), Vec::new());
    for v in victims {
        let mut violated = false;
        for (i, pdb) in pdbs.iter().enumerate() {
            if !pdb_matches(pdb, v) {
                continue;
            }
            let disrupted =
                pdb.status.as_ref().and_then(|s| s.disrupted_pods.as_ref()).is_some_and(|d| d.contains_key(&v.name));
            if disrupted {
                continue;
            }
            allowed[i] -= 1;
            if allowed[i] < 0 {
                violated = true;
            }
        }
        if violated { violating.push(Arc::clone(v)) } else { fine.push(Arc::clone(v)) }
    }
    (violating, fine)
}

/// Dry-runs preemption on one node (upstream `SelectVictimsOnNode`).
pub fn select_victims(
    fwk: &Framework,
    state: &CycleState,
    pod: &PodInfo,
    node: &NodeInfo,
    pdbs: &[Arc<PodDisruptionBudget>],
) -> Option<Candidate> {
    let mut trial = node.clone();
    let mut potential: Vec<Arc<PodInfo>> = node.pods.iter().filter(|p| p.priority < pod.priority).cloned().collect();
    if potential.is_empty() {
        return None;
    }
    for v in &potential {
        trial.remove_pod(&v.key);
    }
    if !fwk.run_filters(state, pod, &trial).is_success() {
        return None;
    }
    // Most important first: they get the first chance to be spared.
    potential.sort_by(|a, b| b.priority.cmp(&a.priority).then_with(|| a.creation_time().cmp(&b.creation_time())));
    let (violating, fine) = split_by_pdb(&potential, pdbs);
    let mut victims = Vec::new();
    let mut pdb_violations = 0;
    for (list, violates) in [(violating, true), (fine, false)] {
        for v in list {
            trial.add_pod(Arc::clone(&v));
            if !fwk.run_filters(state, pod, &trial).is_success() {
                trial.remove_pod(&v.key);
                if violates {
                    pdb_violations += 1;
                }
                victims.push(v);
            }
        }
    }
    Some(Candidate { node: node.name.clone(), victims, pdb_violations })
}

/// upstream `pickOneNodeForPreemption`: fewest PDB violations, then lowest
/// highest-victim priority, smallest priority sum, fewest victims.
pub fn pick(candidates: &[Candidate]) -> Option<&Candidate> {
    candidates.iter().min_by_key(|c| {
        let highest = c.victims.iter().map(|v| v.priority).max().unwrap_or(i32::MIN);
        let sum: i64 = c.victims.iter().map(|v| i64::from(v.priority) + i64::from(i32::MAX) + 1).sum();
        (c.pdb_violations, highest, sum, c.victims.len())
    })
}

impl Plugin for DefaultPreemption {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_post_filter(self: Arc<Self>) -> Option<Arc<dyn PostFilterPlugin>> {
        Some(self)
    }
}

impl PostFilterPlugin for DefaultPreemption {
    fn post_filter(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        cache: &Cache,
        fwk: &Framework,
        statuses: &HashMap<String, Status>,
    ) -> (PostFilterResult, Status) {
        if pod.preemption_never() {
            return (
                PostFilterResult::default(),
                Status::unschedulable("preemption: not eligible due to preemptionPolicy=Never"),
            );
        }
        // Waiting for earlier victims on the nominated node to go.
        if let Some(nominated) = pod.nominated_node_name()
            && statuses.get(nominated).is_none_or(|s| s.code != Code::UnschedulableAndUnresolvable)
            && cache
                .node(nominated)
                .is_some_and(|n| n.pods.iter().any(|p| p.is_terminating() && p.priority < pod.priority))
        {
            return (
                PostFilterResult::default(),
                Status::unschedulable("preemption: not eligible due to a terminating pod on the nominated node"),
            );
        }
        let mut outcome: HashMap<String, Status> = HashMap::new();
        let mut potential = Vec::new();
        for node in cache.nodes().iter().filter(|n| n.node.is_some()) {
            match statuses.get(&node.name) {
                Some(s) if s.code == Code::UnschedulableAndUnresolvable => {
                    outcome.insert(node.name.clone(), Status::unresolvable(NOT_HELPFUL));
                }
                _ => potential.push(node),
            }
        }
        let limit = ((potential.len() as i64 * self.min_candidate_nodes_percentage / 100)
            .max(self.min_candidate_nodes_absolute)) as usize;
        let pdbs: Vec<Arc<PodDisruptionBudget>> = cache.objects.pdbs.values().cloned().collect();
        let mut candidates = Vec::new();
        for node in potential {
            if candidates.len() >= limit {
                break;
            }
            match select_victims(fwk, state, pod, node, &pdbs) {
                Some(c) => candidates.push(c),
                None => {
                    outcome.insert(node.name.clone(), Status::unschedulable(NO_VICTIMS));
                }
            }
        }
        match pick(&candidates) {
            Some(best) => (
                PostFilterResult { nominated_node: Some(best.node.clone()), victims: best.victims.clone() },
                Status::success(),
            ),
            None => {
                let msg = fit_error_message(cache.num_nodes(), None, &outcome, None);
                (PostFilterResult::default(), Status::unschedulable(format!("preemption: {msg}")))
            }
        }
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

    fn placed(c: &mut Cache, name: &str, node: &str, cpu: &str, prio: i32) {
        let p = pod(name).req("cpu", cpu).priority(prio).label("app", name).on_node(node).build();
        c.add_or_update_pod(Arc::new(PodInfo::new(Arc::new(p))));
    }

    #[test]
    fn picks_the_node_with_the_fewest_lowest_priority_victims() {
        let mut c = Cache::new();
        c.upsert_node(Arc::new(node("n1").alloc("cpu", "2").build()));
        c.upsert_node(Arc::new(node("n2").alloc("cpu", "2").build()));
        placed(&mut c, "a", "n1", "1", 10);
        placed(&mut c, "b", "n1", "1", 10);
        placed(&mut c, "c", "n2", "2", 5);
        let p = PodInfo::new(Arc::new(pod("vip").req("cpu", "2").priority(100).build()));
        let f = fwk();
        let st = CycleState::default();
        let statuses: HashMap<String, Status> =
            ["n1", "n2"].iter().map(|n| (n.to_string(), Status::unschedulable("Insufficient cpu"))).collect();
        let (res, status) = DefaultPreemption::from_args(None).unwrap().post_filter(&st, &p, &c, &f, &statuses);
        assert!(status.is_success(), "{status:?}");
        assert_eq!(res.nominated_node.as_deref(), Some("n2"), "one victim of priority 5 beats two of priority 10");
        assert_eq!(res.victims.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), vec!["c"]);
    }

    #[test]
    fn spares_pods_that_are_not_needed_and_never_evicts_higher_priority() {
        let mut c = Cache::new();
        c.upsert_node(Arc::new(node("n1").alloc("cpu", "3").build()));
        placed(&mut c, "low", "n1", "1", 1);
        placed(&mut c, "mid", "n1", "1", 2);
        placed(&mut c, "high", "n1", "1", 1000);
        let p = PodInfo::new(Arc::new(pod("vip").req("cpu", "1").priority(100).build()));
        let cand = select_victims(&fwk(), &CycleState::default(), &p, c.node("n1").unwrap(), &[]).unwrap();
        assert_eq!(cand.victims.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), vec!["low"]);
    }

    #[test]
    fn reports_when_preemption_cannot_help() {
        let mut c = Cache::new();
        c.upsert_node(Arc::new(node("n1").alloc("cpu", "1").build()));
        placed(&mut c, "a", "n1", "1", 1000);
        let p = PodInfo::new(Arc::new(pod("vip").req("cpu", "1").priority(100).build()));
        let statuses: HashMap<String, Status> = [("n1".to_string(), Status::unschedulable("Insufficient cpu"))].into();
        let (res, status) =
            DefaultPreemption::from_args(None).unwrap().post_filter(&CycleState::default(), &p, &c, &fwk(), &statuses);
        assert!(res.nominated_node.is_none());
        assert_eq!(
            status.message(),
            "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
        );
    }

    #[test]
    fn budgets_make_violating_victims_the_last_resort() {
        use k8s_openapi::api::policy::v1::{PodDisruptionBudgetSpec, PodDisruptionBudgetStatus};
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
        let pdb = Arc::new(PodDisruptionBudget {
            metadata: ObjectMeta { name: Some("p".into()), namespace: Some("default".into()), ..Default::default() },
            spec: Some(PodDisruptionBudgetSpec {
                selector: Some(LabelSelector {
                    match_labels: Some([("app".to_string(), "a".to_string())].into()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            status: Some(PodDisruptionBudgetStatus { disruptions_allowed: 0, ..Default::default() }),
        });
        let a = Arc::new(PodInfo::new(Arc::new(pod("a").label("app", "a").build())));
        let b = Arc::new(PodInfo::new(Arc::new(pod("b").label("app", "b").build())));
        let (violating, fine) = split_by_pdb(&[a, b], &[pdb]);
        assert_eq!(violating.len(), 1);
        assert_eq!(fine[0].name, "b");
    }
}
