//! `VolumeBinding`: every PersistentVolumeClaim the pod mounts must exist;
//! a claim bound to a PersistentVolume with node affinity (local volumes)
//! restricts the pod to the nodes that volume can reach.

use std::sync::Arc;

use crate::cache::Cache;
use crate::framework::{CycleState, FilterPlugin, Plugin, PreFilterPlugin, Status};
use crate::node_info::NodeInfo;
use crate::node_selector::Terms;
use crate::pod_info::PodInfo;

pub const NAME: &str = "VolumeBinding";
pub const ERR_REASON_NODE_CONFLICT: &str = "node(s) had volume node affinity conflict";
pub const ERR_REASON_PV_NOT_EXIST: &str = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)";
pub const ERR_REASON_UNBOUND_IMMEDIATE: &str = "pod has unbound immediate PersistentVolumeClaims";
pub const ERR_REASON_BIND_CONFLICT: &str = "node(s) didn't find available persistent volumes to bind";

/// The plugin.
#[derive(Debug)]
pub struct VolumeBinding;

/// The node affinities of the pod's bound volumes.
#[derive(Debug, Default)]
pub struct State {
    pub affinities: Vec<Terms>,
}

/// Resolves the pod's claims to volume node affinities, or why it cannot run anywhere.
pub fn resolve(pod: &PodInfo, cache: &Cache) -> Result<State, Status> {
    let mut state = State::default();
    for claim in &pod.pvc_names {
        let Some(pvc) = cache.objects.pvcs.get(&format!("{}/{claim}", pod.namespace)) else {
            return Err(Status::unresolvable(format!("persistentvolumeclaim \"{claim}\" not found")));
        };
        if pvc.metadata.deletion_timestamp.is_some() {
            return Err(Status::unresolvable(format!("persistentvolumeclaim \"{claim}\" is being deleted")));
        }
        let spec = pvc.spec.clone().unwrap_or_default();
        match spec.volume_name.as_deref().filter(|v| !v.is_empty()) {
            Some(volume) => {
                let Some(pv) = cache.objects.pvs.get(volume) else {
                    return Err(Status::unresolvable(ERR_REASON_PV_NOT_EXIST));
                };
                if let Some(required) =
                    pv.spec.as_ref().and_then(|s| s.node_affinity.as_ref()).and_then(|a| a.required.as_ref())
                {
                    state.affinities.push(Terms::from_selector(required));
                }
            }
            None => {
                let class = spec.storage_class_name.unwrap_or_default();
                let delayed = cache
                    .objects
                    .storage_classes
                    .get(&class)
                    .is_some_and(|sc| sc.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer"));
                return Err(if delayed {
                    Status::unresolvable(ERR_REASON_BIND_CONFLICT)
                } else {
                    Status::unresolvable(ERR_REASON_UNBOUND_IMMEDIATE)
                });
            }
        }
    }
    Ok(state)
}

impl Plugin for VolumeBinding {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_filter(self: Arc<Self>) -> Option<Arc<dyn PreFilterPlugin>> {
        Some(self)
    }
    fn as_filter(self: Arc<Self>) -> Option<Arc<dyn FilterPlugin>> {
        Some(self)
    }
}

impl PreFilterPlugin for VolumeBinding {
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, cache: &Cache) -> Status {
        if pod.pvc_names.is_empty() {
            return Status::skip();
        }
        match resolve(pod, cache) {
            Ok(s) => {
                state.write(NAME, s);
                Status::success()
            }
            Err(status) => status,
        }
    }
}

impl FilterPlugin for VolumeBinding {
    fn filter(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<State>(NAME) else { return Status::success() };
        if s.affinities.iter().all(|t| t.matches(&node.name, &node.labels)) {
            Status::success()
        } else {
            Status::unresolvable(ERR_REASON_NODE_CONFLICT)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::pod;
    use k8s_openapi::api::core::v1::{
        NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PersistentVolume, PersistentVolumeClaim,
        PersistentVolumeClaimSpec, PersistentVolumeSpec, VolumeNodeAffinity,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn bound_local_volume(cache: &mut Cache, host: &str) {
        cache.objects.pvcs.insert(
            "default/data".into(),
            Arc::new(PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some("data".into()),
                    namespace: Some("default".into()),
                    ..Default::default()
                },
                spec: Some(PersistentVolumeClaimSpec { volume_name: Some("pv1".into()), ..Default::default() }),
                status: None,
            }),
        );
        cache.objects.pvs.insert(
            "pv1".into(),
            Arc::new(PersistentVolume {
                metadata: ObjectMeta { name: Some("pv1".into()), ..Default::default() },
                spec: Some(PersistentVolumeSpec {
                    node_affinity: Some(VolumeNodeAffinity {
                        required: Some(NodeSelector {
                            node_selector_terms: vec![NodeSelectorTerm {
                                match_expressions: Some(vec![NodeSelectorRequirement {
                                    key: "kubernetes.io/hostname".into(),
                                    operator: "In".into(),
                                    values: Some(vec![host.into()]),
                                }]),
                                match_fields: None,
                            }],
                        }),
                    }),
                    ..Default::default()
                }),
                status: None,
            }),
        );
    }

    #[test]
    fn missing_claim_is_unresolvable_with_its_name() {
        let p = PodInfo::new(Arc::new(pod("a").pvc("data").build()));
        let err = resolve(&p, &Cache::new()).unwrap_err();
        assert_eq!(err.reasons, vec!["persistentvolumeclaim \"data\" not found"]);
    }

    #[test]
    fn local_volume_pins_the_pod_to_its_node() {
        let mut c = Cache::new();
        c.upsert_node(Arc::new(crate::testing::node("n1").build()));
        c.upsert_node(Arc::new(crate::testing::node("n2").build()));
        bound_local_volume(&mut c, "n2");
        let p = PodInfo::new(Arc::new(pod("a").pvc("data").build()));
        let mut st = CycleState::default();
        assert!(VolumeBinding.pre_filter(&mut st, &p, &c).is_success());
        assert_eq!(VolumeBinding.filter(&st, &p, c.node("n1").unwrap()).reasons, vec![ERR_REASON_NODE_CONFLICT]);
        assert!(VolumeBinding.filter(&st, &p, c.node("n2").unwrap()).is_success());
    }
}
