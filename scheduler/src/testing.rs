//! Fixture builders for tests and benchmarks: `pod("a").req("cpu", "100m")`,
//! `node("n1").alloc("cpu", "4").label("zone", "a")`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Container, ContainerImage, ContainerPort, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement,
    NodeSelectorTerm, NodeSpec, NodeStatus, PersistentVolumeClaimVolumeSource, Pod, PodAffinity, PodAffinityTerm,
    PodAntiAffinity, PodSpec, PreferredSchedulingTerm, ResourceRequirements, Taint, Toleration,
    TopologySpreadConstraint, Volume, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

/// Builds a pod in namespace `default` with one container `c` (image `pause`).
pub fn pod(name: &str) -> PodBuilder {
    PodBuilder {
        pod: Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("default".into()),
                uid: Some(format!("uid-{name}")),
                ..Default::default()
            },
            spec: Some(PodSpec {
                containers: vec![Container { name: "c".into(), image: Some("pause".into()), ..Default::default() }],
                ..Default::default()
            }),
            status: None,
        },
    }
}

/// A pod under construction.
#[derive(Debug, Clone)]
pub struct PodBuilder {
    pod: Pod,
}

/// Sets a request; extended resources (not overcommitable) get the same limit, as validation requires.
fn req_of(c: &mut Container, k: &str, v: &str) {
    let r = c.resources.get_or_insert_with(ResourceRequirements::default);
    r.requests.get_or_insert_with(BTreeMap::new).insert(k.into(), Quantity(v.into()));
    if k.contains('/') || k.starts_with("hugepages-") {
        r.limits.get_or_insert_with(BTreeMap::new).insert(k.into(), Quantity(v.into()));
    }
}

impl PodBuilder {
    fn spec(&mut self) -> &mut PodSpec {
        self.pod.spec.get_or_insert_with(Default::default)
    }
    fn affinity(&mut self) -> &mut Affinity {
        self.spec().affinity.get_or_insert_with(Default::default)
    }
    pub fn namespace(mut self, ns: &str) -> Self {
        self.pod.metadata.namespace = Some(ns.into());
        self
    }
    pub fn req(mut self, k: &str, v: &str) -> Self {
        req_of(&mut self.spec().containers[0], k, v);
        self
    }
    pub fn init_req(mut self, k: &str, v: &str) -> Self {
        let mut c = Container { name: "init".into(), image: Some("pause".into()), ..Default::default() };
        req_of(&mut c, k, v);
        self.spec().init_containers.get_or_insert_with(Vec::new).push(c);
        self
    }
    pub fn sidecar_req(mut self, k: &str, v: &str) -> Self {
        let mut c = Container {
            name: "sidecar".into(),
            image: Some("pause".into()),
            restart_policy: Some("Always".into()),
            ..Default::default()
        };
        req_of(&mut c, k, v);
        self.spec().init_containers.get_or_insert_with(Vec::new).push(c);
        self
    }
    pub fn overhead(mut self, k: &str, v: &str) -> Self {
        self.spec().overhead.get_or_insert_with(BTreeMap::new).insert(k.into(), Quantity(v.into()));
        self
    }
    pub fn on_node(mut self, n: &str) -> Self {
        self.spec().node_name = Some(n.into());
        self
    }
    pub fn scheduler(mut self, s: &str) -> Self {
        self.spec().scheduler_name = Some(s.into());
        self
    }
    pub fn label(mut self, k: &str, v: &str) -> Self {
        self.pod.metadata.labels.get_or_insert_with(BTreeMap::new).insert(k.into(), v.into());
        self
    }
    pub fn node_selector(mut self, k: &str, v: &str) -> Self {
        self.spec().node_selector.get_or_insert_with(BTreeMap::new).insert(k.into(), v.into());
        self
    }
    pub fn toleration(mut self, key: &str, value: &str, effect: &str) -> Self {
        self.spec().tolerations.get_or_insert_with(Vec::new).push(Toleration {
            key: Some(key.into()),
            operator: Some("Equal".into()),
            value: Some(value.into()),
            effect: (!effect.is_empty()).then(|| effect.into()),
            ..Default::default()
        });
        self
    }
    pub fn priority(mut self, p: i32) -> Self {
        self.spec().priority = Some(p);
        self
    }
    /// `priorityClassName` with the value the Priority admission plugin would fill in.
    pub fn priority_class(mut self, name: &str, value: i32) -> Self {
        self.spec().priority_class_name = Some(name.into());
        self.priority(value)
    }
    pub fn host_port(mut self, port: i32) -> Self {
        self.spec().containers[0].ports.get_or_insert_with(Vec::new).push(ContainerPort {
            container_port: port,
            host_port: Some(port),
            protocol: Some("TCP".into()),
            ..Default::default()
        });
        self
    }
    pub fn image(mut self, image: &str) -> Self {
        self.spec().containers[0].image = Some(image.into());
        self
    }
    /// A required node affinity term with one expression.
    pub fn node_affinity(mut self, key: &str, op: &str, values: &[&str]) -> Self {
        let na = self.affinity().node_affinity.get_or_insert_with(NodeAffinity::default);
        na.required_during_scheduling_ignored_during_execution
            .get_or_insert_with(|| NodeSelector { node_selector_terms: vec![] });
        if let Some(sel) = na.required_during_scheduling_ignored_during_execution.as_mut() {
            sel.node_selector_terms.push(NodeSelectorTerm {
                match_expressions: Some(vec![NodeSelectorRequirement {
                    key: key.into(),
                    operator: op.into(),
                    values: Some(values.iter().map(|s| s.to_string()).collect()),
                }]),
                match_fields: None,
            });
        }
        self
    }
    /// A required term selecting nodes by name (`matchFields`).
    pub fn node_name_field(mut self, name: &str) -> Self {
        let na = self.affinity().node_affinity.get_or_insert_with(NodeAffinity::default);
        na.required_during_scheduling_ignored_during_execution = Some(NodeSelector {
            node_selector_terms: vec![NodeSelectorTerm {
                match_expressions: None,
                match_fields: Some(vec![NodeSelectorRequirement {
                    key: "metadata.name".into(),
                    operator: "In".into(),
                    values: Some(vec![name.into()]),
                }]),
            }],
        });
        self
    }
    pub fn preferred_node(mut self, weight: i32, key: &str, value: &str) -> Self {
        let na = self.affinity().node_affinity.get_or_insert_with(NodeAffinity::default);
        na.preferred_during_scheduling_ignored_during_execution.get_or_insert_with(Vec::new).push(
            PreferredSchedulingTerm {
                weight,
                preference: NodeSelectorTerm {
                    match_expressions: Some(vec![NodeSelectorRequirement {
                        key: key.into(),
                        operator: "In".into(),
                        values: Some(vec![value.into()]),
                    }]),
                    match_fields: None,
                },
            },
        );
        self
    }
    fn term(label: (&str, &str), topology_key: &str) -> PodAffinityTerm {
        PodAffinityTerm {
            label_selector: Some(LabelSelector {
                match_labels: Some([(label.0.to_string(), label.1.to_string())].into()),
                ..Default::default()
            }),
            topology_key: topology_key.into(),
            ..Default::default()
        }
    }
    pub fn pod_affinity(mut self, label: (&str, &str), topology_key: &str) -> Self {
        let t = Self::term(label, topology_key);
        let pa = self.affinity().pod_affinity.get_or_insert_with(PodAffinity::default);
        pa.required_during_scheduling_ignored_during_execution.get_or_insert_with(Vec::new).push(t);
        self
    }
    /// A required affinity term with an explicit namespace selector.
    pub fn pod_affinity_ns_selector(mut self, label: (&str, &str), topology_key: &str, ns_label: (&str, &str)) -> Self {
        let mut t = Self::term(label, topology_key);
        t.namespace_selector = Some(LabelSelector {
            match_labels: Some([(ns_label.0.to_string(), ns_label.1.to_string())].into()),
            ..Default::default()
        });
        let pa = self.affinity().pod_affinity.get_or_insert_with(PodAffinity::default);
        pa.required_during_scheduling_ignored_during_execution.get_or_insert_with(Vec::new).push(t);
        self
    }
    pub fn pod_anti_affinity(mut self, label: (&str, &str), topology_key: &str) -> Self {
        let t = Self::term(label, topology_key);
        let pa = self.affinity().pod_anti_affinity.get_or_insert_with(PodAntiAffinity::default);
        pa.required_during_scheduling_ignored_during_execution.get_or_insert_with(Vec::new).push(t);
        self
    }
    pub fn preferred_pod_affinity(mut self, weight: i32, label: (&str, &str), topology_key: &str) -> Self {
        let t = Self::term(label, topology_key);
        let pa = self.affinity().pod_affinity.get_or_insert_with(PodAffinity::default);
        pa.preferred_during_scheduling_ignored_during_execution
            .get_or_insert_with(Vec::new)
            .push(WeightedPodAffinityTerm { weight, pod_affinity_term: t });
        self
    }
    pub fn preferred_pod_anti_affinity(mut self, weight: i32, label: (&str, &str), topology_key: &str) -> Self {
        let t = Self::term(label, topology_key);
        let pa = self.affinity().pod_anti_affinity.get_or_insert_with(PodAntiAffinity::default);
        pa.preferred_during_scheduling_ignored_during_execution
            .get_or_insert_with(Vec::new)
            .push(WeightedPodAffinityTerm { weight, pod_affinity_term: t });
        self
    }
    /// A spread constraint selecting pods with `label`.
    pub fn spread(mut self, max_skew: i32, topology_key: &str, when: &str, label: (&str, &str)) -> Self {
        self.spec().topology_spread_constraints.get_or_insert_with(Vec::new).push(TopologySpreadConstraint {
            max_skew,
            topology_key: topology_key.into(),
            when_unsatisfiable: when.into(),
            label_selector: Some(LabelSelector {
                match_labels: Some([(label.0.to_string(), label.1.to_string())].into()),
                ..Default::default()
            }),
            ..Default::default()
        });
        self
    }
    /// Sets `minDomains` on the last spread constraint.
    pub fn min_domains(mut self, n: i32) -> Self {
        if let Some(c) = self.spec().topology_spread_constraints.as_mut().and_then(|v| v.last_mut()) {
            c.min_domains = Some(n);
        }
        self
    }
    pub fn pvc(mut self, claim: &str) -> Self {
        self.spec().volumes.get_or_insert_with(Vec::new).push(Volume {
            name: claim.into(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim.into(),
                read_only: None,
            }),
            ..Default::default()
        });
        self
    }
    pub fn build(self) -> Pod {
        self.pod
    }
}

/// Builds a node allowing 110 pods, with `kubernetes.io/hostname` set.
pub fn node(name: &str) -> NodeBuilder {
    let mut alloc = BTreeMap::new();
    alloc.insert("pods".to_string(), Quantity("110".into()));
    NodeBuilder {
        node: Node {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some([("kubernetes.io/hostname".to_string(), name.to_string())].into()),
                ..Default::default()
            },
            spec: Some(NodeSpec::default()),
            status: Some(NodeStatus { allocatable: Some(alloc.clone()), capacity: Some(alloc), ..Default::default() }),
        },
    }
}

/// A node under construction.
#[derive(Debug, Clone)]
pub struct NodeBuilder {
    node: Node,
}

impl NodeBuilder {
    fn status(&mut self) -> &mut NodeStatus {
        self.node.status.get_or_insert_with(Default::default)
    }
    pub fn alloc(mut self, k: &str, v: &str) -> Self {
        let s = self.status();
        s.allocatable.get_or_insert_with(BTreeMap::new).insert(k.into(), Quantity(v.into()));
        s.capacity.get_or_insert_with(BTreeMap::new).insert(k.into(), Quantity(v.into()));
        self
    }
    pub fn label(mut self, k: &str, v: &str) -> Self {
        self.node.metadata.labels.get_or_insert_with(BTreeMap::new).insert(k.into(), v.into());
        self
    }
    pub fn taint(mut self, key: &str, value: &str, effect: &str) -> Self {
        self.node.spec.get_or_insert_with(Default::default).taints.get_or_insert_with(Vec::new).push(Taint {
            key: key.into(),
            value: Some(value.into()),
            effect: effect.into(),
            time_added: None,
        });
        self
    }
    pub fn unschedulable(mut self) -> Self {
        self.node.spec.get_or_insert_with(Default::default).unschedulable = Some(true);
        self
    }
    pub fn image(mut self, name: &str, size: i64) -> Self {
        self.status()
            .images
            .get_or_insert_with(Vec::new)
            .push(ContainerImage { names: Some(vec![name.into()]), size_bytes: Some(size) });
        self
    }
    pub fn build(self) -> Node {
        self.node
    }
}
