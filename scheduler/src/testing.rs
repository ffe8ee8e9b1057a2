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

/// Random cluster changes for property tests of the cache's incremental indexes.
#[cfg(test)]
pub(crate) mod random {
    use std::sync::Arc;

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelectorRequirement, Time};

    use super::*;
    use crate::cache::Cache;
    use crate::pod_info::PodInfo;

    /// A small xorshift generator (deterministic per seed).
    #[derive(Debug)]
    pub struct Rng(pub u64);

    impl Rng {
        pub fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        pub fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        pub fn pick<'a>(&mut self, of: &[&'a str]) -> &'a str {
            of[self.below(of.len() as u64) as usize]
        }
    }

    const NODES: &[&str] = &["n0", "n1", "n2", "n3", "n4", "n5"];
    const TOPOLOGY: &[&str] = &["zone", "rack", "kubernetes.io/hostname"];

    pub fn random_node(r: &mut Rng) -> Node {
        let name = r.pick(NODES);
        let mut b = node(name);
        if r.below(6) != 0 {
            b = b.label("zone", r.pick(&["a", "b", "c"]));
        }
        if r.below(3) != 0 {
            b = b.label("rack", r.pick(&["r1", "r2"]));
        }
        b.build()
    }

    /// A pod with random labels, terms and constraints (not placed).
    pub fn random_pod(r: &mut Rng) -> Pod {
        let name = format!("p{}", r.below(24));
        let mut b = pod(&name).namespace(r.pick(&["default", "default", "other"]));
        if r.below(4) != 0 {
            b = b.label("app", r.pick(&["web", "db"]));
        }
        if r.below(2) == 0 {
            b = b.label("group", r.pick(&["g0", "g1"]));
        }
        match r.below(8) {
            0 | 1 => b = b.pod_anti_affinity(("group", r.pick(&["g0", "g1"])), r.pick(TOPOLOGY)),
            2 => b = b.pod_affinity(("app", r.pick(&["web", "db"])), r.pick(TOPOLOGY)),
            3 => b = b.preferred_pod_affinity(5, ("app", r.pick(&["web", "db"])), r.pick(TOPOLOGY)),
            4 => b = b.preferred_pod_anti_affinity(3, ("group", r.pick(&["g0", "g1"])), r.pick(TOPOLOGY)),
            _ => {}
        }
        if r.below(4) == 0 {
            let when = r.pick(&["DoNotSchedule", "ScheduleAnyway"]);
            b = b.spread(1, r.pick(TOPOLOGY), when, ("app", r.pick(&["web", "db"])));
            if r.below(4) == 0 {
                b = b.spread(2, r.pick(TOPOLOGY), when, ("group", "g0"));
            }
            if r.below(5) == 0 {
                b = b.node_selector("rack", "r1");
            }
        }
        let mut p = b.build();
        if r.below(6) == 0 {
            // An anti-affinity term no label index can serve (`Exists`).
            let term = PodAffinityTerm {
                label_selector: Some(LabelSelector {
                    match_expressions: Some(vec![LabelSelectorRequirement {
                        key: "app".into(),
                        operator: "Exists".into(),
                        values: None,
                    }]),
                    ..Default::default()
                }),
                topology_key: r.pick(TOPOLOGY).into(),
                ..Default::default()
            };
            let aff = p.spec.as_mut().unwrap().affinity.get_or_insert_with(Default::default);
            let anti = aff.pod_anti_affinity.get_or_insert_with(Default::default);
            anti.required_during_scheduling_ignored_during_execution.get_or_insert_with(Vec::new).push(term);
        }
        if r.below(8) == 0 {
            p.metadata.deletion_timestamp = Some(Time(jiff::Timestamp::UNIX_EPOCH));
        }
        p
    }

    /// Applies one random change to `c`; `prepare` registers spread counters now and then.
    pub fn step(r: &mut Rng, c: &mut Cache, prepare: bool) {
        let key = |r: &mut Rng| format!("{}/p{}", r.pick(&["default", "other"]), r.below(24));
        match r.below(10) {
            0 | 1 => c.upsert_node(Arc::new(random_node(r))),
            2 => c.remove_node(r.pick(NODES)),
            3 | 4 => {
                let mut p = random_pod(r);
                p.spec.as_mut().unwrap().node_name = Some(r.pick(&["n0", "n1", "n2", "n3", "n4", "n5", "n9"]).into());
                c.add_or_update_pod(Arc::new(PodInfo::new(Arc::new(p))));
            }
            5 => c.assume(Arc::new(PodInfo::new(Arc::new(random_pod(r)))), r.pick(NODES)),
            6 => c.forget(&key(r)),
            7 => c.remove_pod(&key(r)),
            8 => {
                let p = PodInfo::new(Arc::new(random_pod(r)));
                if prepare {
                    c.prepare_for(&p);
                }
            }
            _ => {
                let mut placed: Vec<Arc<PodInfo>> = c.pods().cloned().collect();
                placed.sort_by(|a, b| a.key.cmp(&b.key));
                let keep = placed.into_iter().filter(|_| r.below(4) != 0).filter(|p| p.node_name().is_some()).collect();
                c.sync_pods(keep);
            }
        }
    }
}
