//! Pod facts controllers share: active, ready, available (with
//! minReadySeconds), the deletion ranking of upstream's `ActivePodsWithRanks`,
//! and pods made from a controller's template.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};

use crate::cached_pod::CachedPod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};

/// Annotation lowering a pod's cost of deletion (upstream's PodDeletionCost).
pub const POD_DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// Not terminated and not being deleted, as upstream's `IsPodActive`.
pub fn is_active(pod: &CachedPod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("");
    phase != "Succeeded" && phase != "Failed" && pod.metadata.deletion_timestamp.is_none()
}

fn ready_condition(pod: &CachedPod) -> Option<&k8s_openapi::api::core::v1::PodCondition> {
    pod.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == "Ready")
}

/// The pod's Ready condition is True.
pub fn is_ready(pod: &CachedPod) -> bool {
    ready_condition(pod).is_some_and(|c| c.status == "True")
}

/// Ready for at least `min_ready_seconds`, as upstream's `IsPodAvailable`.
pub fn is_available(pod: &CachedPod, min_ready_seconds: i32, now: jiff::Timestamp) -> bool {
    let Some(cond) = ready_condition(pod).filter(|c| c.status == "True") else { return false };
    if min_ready_seconds <= 0 {
        return true;
    }
    match &cond.last_transition_time {
        Some(Time(t)) => {
            let ready_for = now.duration_since(*t);
            ready_for.as_secs() >= i64::from(min_ready_seconds)
        }
        None => false,
    }
}

/// When a not-yet-available ready pod becomes available, if it will.
pub fn available_after(pod: &CachedPod, min_ready_seconds: i32, now: jiff::Timestamp) -> Option<std::time::Duration> {
    let cond = ready_condition(pod).filter(|c| c.status == "True")?;
    let Time(t) = cond.last_transition_time.as_ref()?;
    let left = i64::from(min_ready_seconds) - now.duration_since(*t).as_secs();
    (left > 0).then(|| std::time::Duration::from_secs(u64::try_from(left).unwrap_or(0) + 1))
}

fn phase_ordinal(pod: &CachedPod) -> u8 {
    match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Pending") | None => 0,
        Some("Unknown") => 1,
        Some("Running") => 2,
        _ => 3,
    }
}

fn deletion_cost(pod: &CachedPod) -> i64 {
    pod.metadata.annotations.as_ref().and_then(|a| a.get(POD_DELETION_COST)).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn restarts(pod: &CachedPod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|cs| cs.iter().map(|c| c.restart_count).max().unwrap_or(0))
        .unwrap_or(0)
}

fn node_name(pod: &CachedPod) -> &str {
    pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).unwrap_or("")
}

/// Orders pods so that the ones to delete first come first, as upstream's
/// `ActivePodsWithRanks.Less`: unassigned, then pending < unknown < running,
/// not ready, lower deletion cost, more pods on the same node (`rank`),
/// ready more recently, more restarts, newer.
pub fn deletion_order(a: &CachedPod, rank_a: usize, b: &CachedPod, rank_b: usize) -> Ordering {
    let assigned_a = !node_name(a).is_empty();
    let assigned_b = !node_name(b).is_empty();
    if assigned_a != assigned_b {
        return assigned_a.cmp(&assigned_b);
    }
    let (pa, pb) = (phase_ordinal(a), phase_ordinal(b));
    if pa != pb {
        return pa.cmp(&pb);
    }
    let (ra, rb) = (is_ready(a), is_ready(b));
    if ra != rb {
        return ra.cmp(&rb);
    }
    let (ca, cb) = (deletion_cost(a), deletion_cost(b));
    if ca != cb {
        return ca.cmp(&cb);
    }
    if rank_a != rank_b {
        return rank_b.cmp(&rank_a);
    }
    if ra && rb {
        let ta = ready_condition(a).and_then(|c| c.last_transition_time.as_ref()).map(|t| t.0);
        let tb = ready_condition(b).and_then(|c| c.last_transition_time.as_ref()).map(|t| t.0);
        if ta != tb {
            // More recently ready first; unknown ready time first.
            return match (ta, tb) {
                (None, _) => Ordering::Less,
                (_, None) => Ordering::Greater,
                (Some(x), Some(y)) => y.cmp(&x),
            };
        }
    }
    let (xa, xb) = (restarts(a), restarts(b));
    if xa != xb {
        return xb.cmp(&xa);
    }
    let ta = a.metadata.creation_timestamp.as_ref().map(|t| t.0);
    let tb = b.metadata.creation_timestamp.as_ref().map(|t| t.0);
    match (ta, tb) {
        (None, None) => Ordering::Equal,
        (None, _) => Ordering::Less,
        (_, None) => Ordering::Greater,
        (Some(x), Some(y)) => y.cmp(&x),
    }
}

/// Picks the `count` pods to delete from `pods`; `related` are pods of the
/// same family (other replica sets of the owner) used to rank pods doubled
/// up on a node.
pub fn pods_to_delete<'a>(
    pods: &'a [std::sync::Arc<CachedPod>],
    related: &[std::sync::Arc<CachedPod>],
    count: usize,
) -> Vec<&'a CachedPod> {
    let mut on_node: BTreeMap<&str, usize> = BTreeMap::new();
    for p in related.iter().filter(|p| is_active(p)) {
        let node = node_name(p);
        if !node.is_empty() {
            *on_node.entry(node).or_default() += 1;
        }
    }
    let mut ranked: Vec<(&CachedPod, usize)> = pods
        .iter()
        .map(|p| {
            let node = node_name(p);
            let rank = if node.is_empty() { 0 } else { on_node.get(node).copied().unwrap_or(0) };
            (&**p, rank)
        })
        .collect();
    ranked.sort_by(|(a, ra), (b, rb)| deletion_order(a, *ra, b, *rb));
    ranked.into_iter().take(count).map(|(p, _)| p).collect()
}

/// A pod for `template`, owned by `owner`, named `prefix` plus a random suffix.
pub fn pod_from_template(template: &PodTemplateSpec, namespace: &str, prefix: &str, owner: OwnerReference) -> Pod {
    let tmeta = template.metadata.clone().unwrap_or_default();
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(generate_name_prefix(prefix)),
            namespace: Some(namespace.to_owned()),
            labels: tmeta.labels,
            annotations: tmeta.annotations,
            finalizers: tmeta.finalizers,
            owner_references: Some(vec![owner]),
            ..Default::default()
        },
        spec: template.spec.clone(),
        status: None,
    }
}

/// `name-`, shortened so a generated name stays a valid object name, as
/// upstream's `getPodsPrefix`.
pub fn generate_name_prefix(name: &str) -> String {
    let prefix = format!("{name}-");
    // Generated names add 5 characters and must stay within 63.
    if prefix.len() > 58 { prefix[..58].to_owned() } else { prefix }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use k8s_openapi::api::core::v1::{PodCondition, PodStatus};

    use super::*;
    use crate::cached_pod::CachedPodSpec;

    /// A test pod builder.
    struct P(CachedPod);

    fn pod(name: &str) -> P {
        P(CachedPod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                creation_timestamp: Some(Time("2024-01-01T00:00:00Z".parse().unwrap())),
                ..Default::default()
            },
            spec: Some(CachedPodSpec::default()),
            status: Some(PodStatus { phase: Some("Pending".into()), ..Default::default() }),
        })
    }

    impl P {
        fn on_node(mut self, n: &str) -> Self {
            self.0.spec.as_mut().unwrap().node_name = Some(n.into());
            self
        }
        fn running(mut self) -> Self {
            self.0.status.as_mut().unwrap().phase = Some("Running".into());
            self
        }
        fn ready_since(mut self, t: &str) -> Self {
            self.0.status.as_mut().unwrap().conditions = Some(vec![PodCondition {
                type_: "Ready".into(),
                status: "True".into(),
                last_transition_time: Some(Time(t.parse().unwrap())),
                ..Default::default()
            }]);
            self
        }
        fn created(mut self, t: &str) -> Self {
            self.0.metadata.creation_timestamp = Some(Time(t.parse().unwrap()));
            self
        }
        fn build(self) -> Arc<CachedPod> {
            Arc::new(self.0)
        }
    }

    fn names(pods: Vec<&CachedPod>) -> Vec<String> {
        pods.into_iter().map(|p| p.metadata.name.clone().unwrap()).collect()
    }

    #[test]
    fn unscheduled_then_pending_then_not_ready_are_deleted_first() {
        let pods = vec![
            pod("ready").on_node("n").running().ready_since("2024-01-01T00:00:00Z").build(),
            pod("running").on_node("n").running().build(),
            pod("pending").on_node("n").build(),
            pod("unscheduled").build(),
        ];
        assert_eq!(names(pods_to_delete(&pods, &[], 4)), ["unscheduled", "pending", "running", "ready"]);
    }

    #[test]
    fn newer_pods_are_deleted_before_older_ones() {
        let pods = vec![
            pod("old").created("2024-01-01T00:00:00Z").build(),
            pod("new").created("2024-02-01T00:00:00Z").build(),
        ];
        assert_eq!(names(pods_to_delete(&pods, &[], 1)), ["new"]);
    }

    #[test]
    fn recently_ready_pods_go_before_long_ready_ones() {
        let pods = vec![
            pod("long").on_node("a").running().ready_since("2024-01-01T00:00:00Z").build(),
            pod("recent").on_node("b").running().ready_since("2024-03-01T00:00:00Z").build(),
        ];
        assert_eq!(names(pods_to_delete(&pods, &[], 1)), ["recent"]);
    }

    #[test]
    fn doubled_up_pods_go_first() {
        let a = pod("alone").on_node("a").running().build();
        let b = pod("crowded").on_node("b").running().build();
        let other = pod("other").on_node("b").running().build();
        let pods = vec![a.clone(), b.clone()];
        assert_eq!(names(pods_to_delete(&pods, &[a, b, other], 1)), ["crowded"]);
    }

    #[test]
    fn availability_honours_min_ready_seconds() {
        let p = pod("p").ready_since("2024-01-01T00:00:00Z").build();
        let now: jiff::Timestamp = "2024-01-01T00:00:05Z".parse().unwrap();
        assert!(is_available(&p, 0, now));
        assert!(is_available(&p, 5, now));
        assert!(!is_available(&p, 10, now));
        assert!(available_after(&p, 10, now).is_some());
    }
}
