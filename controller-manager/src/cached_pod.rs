//! The pod as the controllers cache it: metadata, status, and of the spec
//! only what a controller reads of an existing pod (its node, and the node
//! affinity that pins a daemon pod). Watch events decode straight into this
//! type, so the rest of the spec (containers, volumes, security contexts) is
//! skipped while parsing and never held: a typed `PodSpec` is 1.4 KiB even
//! when empty and a typed container 2 KiB, which at 10,000 pods would be most
//! of the controller-manager's memory. Controllers never write a cached pod
//! back whole (they create pods from templates and patch existing ones), so
//! nothing left out here can be lost.

use k8s_openapi::api::core::v1::{NodeAffinity, Pod, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

/// A cached pod (`v1` `Pod`, decoded with only the fields controllers read).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedPod {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: Option<CachedPodSpec>,
    #[serde(default)]
    pub status: Option<PodStatus>,
}

/// What controllers read of a cached pod's spec.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedPodSpec {
    #[serde(default)]
    pub node_name: Option<String>,
    #[serde(default)]
    pub affinity: Option<CachedAffinity>,
}

/// The node affinity of a cached pod (pod affinity terms are not read).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedAffinity {
    #[serde(default)]
    pub node_affinity: Option<NodeAffinity>,
}

impl k8s_openapi::Resource for CachedPod {
    const API_VERSION: &'static str = <Pod as k8s_openapi::Resource>::API_VERSION;
    const GROUP: &'static str = <Pod as k8s_openapi::Resource>::GROUP;
    const KIND: &'static str = <Pod as k8s_openapi::Resource>::KIND;
    const VERSION: &'static str = <Pod as k8s_openapi::Resource>::VERSION;
    const URL_PATH_SEGMENT: &'static str = <Pod as k8s_openapi::Resource>::URL_PATH_SEGMENT;
    type Scope = <Pod as k8s_openapi::Resource>::Scope;
}

impl k8s_openapi::Metadata for CachedPod {
    type Ty = ObjectMeta;

    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl From<Pod> for CachedPod {
    /// The cached view of a full pod (what a watch event would have decoded to).
    fn from(pod: Pod) -> Self {
        CachedPod {
            metadata: pod.metadata,
            spec: pod.spec.map(|s| CachedPodSpec {
                node_name: s.node_name,
                affinity: s.affinity.and_then(|a| a.node_affinity).map(|n| CachedAffinity { node_affinity: Some(n) }),
            }),
            status: pod.status,
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{Container, PodSpec};

    use super::*;

    #[test]
    fn decodes_a_full_pod_keeping_only_what_controllers_read() {
        let pod = Pod {
            metadata: ObjectMeta { name: Some("p".into()), namespace: Some("ns".into()), ..Default::default() },
            spec: Some(PodSpec {
                node_name: Some("n1".into()),
                containers: vec![Container { name: "c".into(), image: Some("busybox".into()), ..Default::default() }],
                ..Default::default()
            }),
            status: Some(PodStatus { phase: Some("Running".into()), ..Default::default() }),
        };
        let cached: CachedPod = serde_json::from_value(serde_json::to_value(&pod).unwrap()).unwrap();
        assert_eq!(cached.metadata.name.as_deref(), Some("p"));
        assert_eq!(cached.spec.as_ref().and_then(|s| s.node_name.as_deref()), Some("n1"));
        assert_eq!(cached.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Running"));
        assert!(std::mem::size_of::<CachedPod>() * 2 < std::mem::size_of::<Pod>());
        let converted = CachedPod::from(pod);
        assert_eq!(converted.spec.and_then(|s| s.node_name).as_deref(), Some("n1"));
    }

    #[test]
    fn is_served_at_the_pod_path() {
        use kube::Resource;
        assert_eq!(CachedPod::kind(&()), "Pod");
        assert_eq!(CachedPod::url_path(&(), Some("ns")), "/api/v1/namespaces/ns/pods");
    }
}
