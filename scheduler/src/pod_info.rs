//! A pod with everything the plugins need parsed once (upstream
//! `framework.PodInfo`): requests, ports, affinity terms, spread constraints.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, Toleration};

use crate::affinity_term::{AffinityTerm, WeightedTerm};
use crate::node_selector::Terms;
use crate::resource::{PodRequests, pod_requests};

/// A host port a pod asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostPort {
    pub protocol: String,
    pub host_ip: String,
    pub port: i32,
}

/// A parsed topology spread constraint.
#[derive(Debug, Clone)]
pub struct SpreadConstraint {
    pub max_skew: i32,
    pub topology_key: String,
    pub do_not_schedule: bool,
    pub selector: rustkube_api::LabelSelector,
    pub min_domains: Option<i32>,
    /// `nodeAffinityPolicy: Honor` (the default).
    pub honor_node_affinity: bool,
    /// `nodeTaintsPolicy: Honor` (default Ignore).
    pub honor_node_taints: bool,
}

/// A pod prepared for scheduling.
#[derive(Debug, Clone)]
pub struct PodInfo {
    pub pod: Arc<Pod>,
    /// `namespace/name`.
    pub key: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub priority: i32,
    pub labels: BTreeMap<String, String>,
    pub requests: PodRequests,
    pub host_ports: Vec<HostPort>,
    pub tolerations: Vec<Toleration>,
    pub node_selector: BTreeMap<String, String>,
    pub required_node_affinity: Option<Terms>,
    pub preferred_node_affinity: Vec<(i32, crate::node_selector::Term)>,
    pub required_affinity: Vec<AffinityTerm>,
    pub required_anti_affinity: Vec<AffinityTerm>,
    pub preferred_affinity: Vec<WeightedTerm>,
    pub preferred_anti_affinity: Vec<WeightedTerm>,
    pub spread_constraints: Vec<SpreadConstraint>,
    pub pvc_names: Vec<String>,
    pub images: Vec<String>,
    /// `images` normalized as nodes report them (`docker.io/library/…:latest`).
    pub normalized_images: Vec<String>,
    /// Everything that could not be parsed; a non-empty list makes the pod unschedulable with these reasons.
    pub parse_errors: Vec<String>,
}

/// `namespace/name` of a pod.
pub fn pod_key(pod: &Pod) -> String {
    format!("{}/{}", pod.metadata.namespace.as_deref().unwrap_or("default"), pod.metadata.name.as_deref().unwrap_or(""))
}

impl PodInfo {
    pub fn new(pod: Arc<Pod>) -> PodInfo {
        let namespace = pod.metadata.namespace.clone().unwrap_or_else(|| "default".to_owned());
        let name = pod.metadata.name.clone().unwrap_or_default();
        let labels = pod.metadata.labels.clone().unwrap_or_default();
        let spec = pod.spec.clone().unwrap_or_default();
        let mut errors = Vec::new();
        let requests = pod_requests(&spec);
        errors.extend(requests.invalid.iter().map(|e| format!("invalid resource request: {e}")));
        let mut host_ports = Vec::new();
        for c in spec.containers.iter().chain(spec.init_containers.iter().flatten()) {
            for p in c.ports.iter().flatten() {
                if let Some(hp) = p.host_port.filter(|hp| *hp > 0) {
                    host_ports.push(HostPort {
                        protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                        host_ip: p.host_ip.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| "0.0.0.0".into()),
                        port: hp,
                    });
                }
            }
        }
        let affinity = spec.affinity.clone().unwrap_or_default();
        let na = affinity.node_affinity.unwrap_or_default();
        let required_node_affinity =
            na.required_during_scheduling_ignored_during_execution.as_ref().map(Terms::from_selector);
        if let Some(t) = &required_node_affinity {
            errors.extend(t.errors.iter().map(|e| format!("invalid node affinity: {e}")));
        }
        let mut preferred_node_affinity = Vec::new();
        for p in na.preferred_during_scheduling_ignored_during_execution.iter().flatten() {
            match crate::node_selector::Term::parse(&p.preference) {
                Ok(t) => preferred_node_affinity.push((p.weight, t)),
                Err(e) => errors.push(format!("invalid preferred node affinity: {e}")),
            }
        }
        let mut parse_terms = |terms: Option<&Vec<k8s_openapi::api::core::v1::PodAffinityTerm>>, what: &str| {
            let mut out = Vec::new();
            for t in terms.into_iter().flatten() {
                match AffinityTerm::parse(t, &namespace, &labels) {
                    Ok(t) => out.push(t),
                    Err(e) => errors.push(format!("invalid {what}: {e}")),
                }
            }
            out
        };
        let pa = affinity.pod_affinity.unwrap_or_default();
        let paa = affinity.pod_anti_affinity.unwrap_or_default();
        let required_affinity =
            parse_terms(pa.required_during_scheduling_ignored_during_execution.as_ref(), "pod affinity");
        let required_anti_affinity =
            parse_terms(paa.required_during_scheduling_ignored_during_execution.as_ref(), "pod anti-affinity");
        let mut weighted = |terms: Option<&Vec<k8s_openapi::api::core::v1::WeightedPodAffinityTerm>>, what: &str| {
            let mut out = Vec::new();
            for t in terms.into_iter().flatten() {
                match AffinityTerm::parse(&t.pod_affinity_term, &namespace, &labels) {
                    Ok(term) => out.push(WeightedTerm { term, weight: t.weight }),
                    Err(e) => errors.push(format!("invalid {what}: {e}")),
                }
            }
            out
        };
        let preferred_affinity =
            weighted(pa.preferred_during_scheduling_ignored_during_execution.as_ref(), "pod affinity");
        let preferred_anti_affinity =
            weighted(paa.preferred_during_scheduling_ignored_during_execution.as_ref(), "pod anti-affinity");
        let mut spread_constraints = Vec::new();
        for c in spec.topology_spread_constraints.iter().flatten() {
            let mut selector = match rustkube_api::LabelSelector::from_meta(c.label_selector.as_ref()) {
                Ok(s) => s,
                Err(e) => {
                    errors.push(format!("invalid topology spread constraint selector: {e}"));
                    continue;
                }
            };
            for key in c.match_label_keys.iter().flatten() {
                if let Some(v) = labels.get(key)
                    && let Ok(r) = rustkube_api::label_selector::Requirement::new(
                        key.clone(),
                        rustkube_api::label_selector::Operator::In,
                        vec![v.clone()],
                    )
                {
                    selector = selector.and(r);
                }
            }
            if c.max_skew <= 0 {
                errors.push(format!(
                    "invalid topology spread constraint: maxSkew {} must be greater than zero",
                    c.max_skew
                ));
                continue;
            }
            spread_constraints.push(SpreadConstraint {
                max_skew: c.max_skew,
                topology_key: c.topology_key.clone(),
                do_not_schedule: c.when_unsatisfiable == "DoNotSchedule",
                selector,
                min_domains: c.min_domains,
                honor_node_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
                honor_node_taints: c.node_taints_policy.as_deref() == Some("Honor"),
            });
        }
        let pvc_names = spec
            .volumes
            .iter()
            .flatten()
            .filter_map(|v| v.persistent_volume_claim.as_ref().map(|c| c.claim_name.clone()))
            .collect();
        let images: Vec<String> = spec.containers.iter().filter_map(|c| c.image.clone()).collect();
        let normalized_images = images.iter().map(|i| crate::node_info::normalize_image(i)).collect();
        PodInfo {
            key: format!("{namespace}/{name}"),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            priority: spec.priority.unwrap_or(0),
            tolerations: spec.tolerations.clone().unwrap_or_default(),
            node_selector: spec.node_selector.clone().unwrap_or_default(),
            namespace,
            name,
            labels,
            requests,
            host_ports,
            required_node_affinity,
            preferred_node_affinity,
            required_affinity,
            required_anti_affinity,
            preferred_affinity,
            preferred_anti_affinity,
            spread_constraints,
            pvc_names,
            images,
            normalized_images,
            parse_errors: errors,
            pod,
        }
    }

    pub fn node_name(&self) -> Option<&str> {
        self.pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).filter(|n| !n.is_empty())
    }

    pub fn scheduler_name(&self) -> &str {
        self.pod
            .spec
            .as_ref()
            .and_then(|s| s.scheduler_name.as_deref())
            .unwrap_or(crate::config::DEFAULT_SCHEDULER_NAME)
    }

    pub fn is_terminating(&self) -> bool {
        self.pod.metadata.deletion_timestamp.is_some()
    }

    /// Whether the pod has any (anti-)affinity an existing-pod check must look at.
    pub fn has_affinity(&self) -> bool {
        !self.required_affinity.is_empty()
            || !self.required_anti_affinity.is_empty()
            || !self.preferred_affinity.is_empty()
            || !self.preferred_anti_affinity.is_empty()
    }

    /// Whether the pod's terms can change another pod's InterPodAffinity score
    /// (required affinity via `hardPodAffinityWeight`, or preferred terms).
    pub fn has_scoring_affinity(&self) -> bool {
        !self.required_affinity.is_empty()
            || !self.preferred_affinity.is_empty()
            || !self.preferred_anti_affinity.is_empty()
    }

    pub fn creation_time(&self) -> Option<jiff::Timestamp> {
        self.pod.metadata.creation_timestamp.as_ref().map(|t| t.0)
    }

    pub fn preemption_never(&self) -> bool {
        self.pod.spec.as_ref().and_then(|s| s.preemption_policy.as_deref()) == Some("Never")
    }

    pub fn nominated_node_name(&self) -> Option<&str> {
        self.pod.status.as_ref().and_then(|s| s.nominated_node_name.as_deref()).filter(|n| !n.is_empty())
    }
}
