//! Where a DaemonSet's pods belong, as upstream's `NodeShouldRunDaemonPod`:
//! nodeSelector, required node affinity, and taints tolerated by the pod's
//! tolerations plus the ones every daemon pod gets automatically; and the
//! per-node pod (node affinity pinning it to the node).

use std::collections::BTreeMap;

use crate::cached_pod::CachedPod;
use k8s_openapi::api::core::v1::{
    Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PodSpec, Taint, Toleration,
};

/// The tolerations upstream adds to every daemon pod.
pub fn automatic_tolerations(spec: &PodSpec) -> Vec<Toleration> {
    let t = |key: &str, effect: &str| Toleration {
        key: Some(key.to_owned()),
        operator: Some("Exists".to_owned()),
        effect: Some(effect.to_owned()),
        ..Default::default()
    };
    let mut out = vec![
        t("node.kubernetes.io/not-ready", "NoExecute"),
        t("node.kubernetes.io/unreachable", "NoExecute"),
        t("node.kubernetes.io/disk-pressure", "NoSchedule"),
        t("node.kubernetes.io/memory-pressure", "NoSchedule"),
        t("node.kubernetes.io/pid-pressure", "NoSchedule"),
        t("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if spec.host_network == Some(true) {
        out.push(t("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    out
}

fn tolerates(tol: &Toleration, taint: &Taint) -> bool {
    if tol.effect.as_deref().is_some_and(|e| !e.is_empty() && e != taint.effect) {
        return false;
    }
    match tol.operator.as_deref() {
        Some("Exists") => tol.key.as_deref().is_none_or(|k| k.is_empty() || k == taint.key),
        _ => {
            tol.key.as_deref() == Some(taint.key.as_str())
                && tol.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("")
        }
    }
}

fn requirement_matches(req: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = req.values.as_deref().unwrap_or_default();
    match req.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), Some(bound)) =
                (value.and_then(|v| v.parse::<i64>().ok()), values.first().and_then(|b| b.parse::<i64>().ok()))
            else {
                return false;
            };
            if req.operator == "Gt" { v > bound } else { v < bound }
        }
        _ => false,
    }
}

fn term_matches(term: &NodeSelectorTerm, node: &Node) -> bool {
    let labels = node.metadata.labels.clone().unwrap_or_default();
    let name = node.metadata.name.as_deref();
    let exprs = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    exprs.iter().all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(|r| r.key == "metadata.name" && requirement_matches(r, name))
}

/// Whether a daemon pod with `spec` should run on `node`.
pub fn should_run(spec: &PodSpec, node: &Node) -> bool {
    let labels: BTreeMap<String, String> = node.metadata.labels.clone().unwrap_or_default();
    if let Some(sel) = &spec.node_selector
        && sel.iter().any(|(k, v)| labels.get(k) != Some(v))
    {
        return false;
    }
    if let Some(required) = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| n.required_during_scheduling_ignored_during_execution.as_ref())
        && !required.node_selector_terms.iter().any(|t| term_matches(t, node))
    {
        return false;
    }
    let mut tolerations = spec.tolerations.clone().unwrap_or_default();
    tolerations.extend(automatic_tolerations(spec));
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .into_iter()
        .flatten()
        .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
        .all(|taint| tolerations.iter().any(|tol| tolerates(tol, taint)))
}

/// The node a daemon pod is for: its nodeName, else its node-affinity pin.
pub fn node_of(pod: &CachedPod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    if let Some(n) = spec.node_name.as_ref().filter(|n| !n.is_empty()) {
        return Some(n.clone());
    }
    let terms = &spec
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms;
    terms
        .iter()
        .flat_map(|t| t.match_fields.iter().flatten())
        .find(|f| f.key == "metadata.name" && f.operator == "In")
        .and_then(|f| f.values.as_ref()?.first().cloned())
}

/// Pins `spec` to `node` with required node affinity (replacing other
/// required terms, as upstream) and adds the automatic tolerations.
pub fn pin_to_node(spec: &mut PodSpec, node: &str) {
    let term = NodeSelectorTerm {
        match_expressions: None,
        match_fields: Some(vec![NodeSelectorRequirement {
            key: "metadata.name".to_owned(),
            operator: "In".to_owned(),
            values: Some(vec![node.to_owned()]),
        }]),
    };
    let affinity = spec.affinity.get_or_insert_with(Affinity::default);
    let node_affinity = affinity.node_affinity.get_or_insert_with(NodeAffinity::default);
    node_affinity.required_during_scheduling_ignored_during_execution =
        Some(NodeSelector { node_selector_terms: vec![term] });
    let auto = automatic_tolerations(spec);
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    for t in auto {
        if !tolerations.iter().any(|x| x.key == t.key && x.effect == t.effect) {
            tolerations.push(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::NodeSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn node(name: &str, labels: &[(&str, &str)], taints: &[(&str, &str)]) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
                ..Default::default()
            },
            spec: Some(NodeSpec {
                taints: Some(
                    taints
                        .iter()
                        .map(|(k, e)| Taint { key: k.to_string(), effect: e.to_string(), ..Default::default() })
                        .collect(),
                ),
                ..Default::default()
            }),
            status: None,
        }
    }

    #[test]
    fn node_selector_and_taints_decide_placement() {
        let mut spec =
            PodSpec { node_selector: Some([("disk".to_owned(), "ssd".to_owned())].into()), ..Default::default() };
        assert!(should_run(&spec, &node("a", &[("disk", "ssd")], &[])));
        assert!(!should_run(&spec, &node("b", &[("disk", "hdd")], &[])));
        spec.node_selector = None;
        assert!(!should_run(&spec, &node("c", &[], &[("dedicated", "NoSchedule")])), "untolerated taint");
        assert!(
            should_run(&spec, &node("d", &[], &[("node.kubernetes.io/unschedulable", "NoSchedule")])),
            "automatic toleration"
        );
        assert!(should_run(&spec, &node("e", &[], &[("x", "PreferNoSchedule")])), "soft taints do not block");
    }

    #[test]
    fn pinned_pods_name_their_node() {
        let mut spec = PodSpec::default();
        pin_to_node(&mut spec, "n1");
        let pod = CachedPod::from(k8s_openapi::api::core::v1::Pod { spec: Some(spec), ..Default::default() });
        assert_eq!(node_of(&pod).as_deref(), Some("n1"));
    }
}
