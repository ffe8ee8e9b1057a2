//! Pod (anti-)affinity terms parsed once (upstream `framework.AffinityTerm`):
//! a label selector over pods, the namespaces it looks in, and a topology key.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Pod, PodAffinityTerm};
use rustkube_api::LabelSelector;

/// One parsed term.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AffinityTerm {
    pub selector: LabelSelector,
    pub namespaces: BTreeSet<String>,
    /// `None`: only `namespaces`; `Some(everything)` with `{}`: all namespaces.
    pub namespace_selector: Option<LabelSelector>,
    pub topology_key: String,
}

/// A preferred term with its weight (negative for anti-affinity when scoring).
#[derive(Debug, Clone)]
pub struct WeightedTerm {
    pub term: AffinityTerm,
    pub weight: i32,
}

impl AffinityTerm {
    /// Parses a term of a pod in `namespace`; `pod_labels` fill `matchLabelKeys`.
    pub fn parse(t: &PodAffinityTerm, namespace: &str, pod_labels: &BTreeMap<String, String>) -> Result<Self, String> {
        let mut selector = LabelSelector::from_meta(t.label_selector.as_ref()).map_err(|e| e.to_string())?;
        for key in t.match_label_keys.iter().flatten() {
            if let Some(v) = pod_labels.get(key) {
                let r = rustkube_api::label_selector::Requirement::new(
                    key.clone(),
                    rustkube_api::label_selector::Operator::In,
                    vec![v.clone()],
                )
                .map_err(|e| e.to_string())?;
                selector = selector.and(r);
            }
        }
        for key in t.mismatch_label_keys.iter().flatten() {
            if let Some(v) = pod_labels.get(key) {
                let r = rustkube_api::label_selector::Requirement::new(
                    key.clone(),
                    rustkube_api::label_selector::Operator::NotIn,
                    vec![v.clone()],
                )
                .map_err(|e| e.to_string())?;
                selector = selector.and(r);
            }
        }
        let namespace_selector = match &t.namespace_selector {
            None => None,
            Some(s) => Some(LabelSelector::from_meta(Some(s)).map_err(|e| e.to_string())?),
        };
        let mut namespaces: BTreeSet<String> = t.namespaces.iter().flatten().cloned().collect();
        if namespaces.is_empty() && namespace_selector.is_none() {
            namespaces.insert(namespace.to_owned());
        }
        if t.topology_key.is_empty() {
            return Err("topologyKey must not be empty".into());
        }
        Ok(AffinityTerm { selector, namespaces, namespace_selector, topology_key: t.topology_key.clone() })
    }

    /// Whether the term needs namespace labels (it has a `namespaceSelector`).
    pub fn uses_namespace_labels(&self) -> bool {
        self.namespace_selector.is_some()
    }

    /// Whether `pod` (in a namespace labelled `ns_labels`) is selected by this term.
    pub fn matches(&self, pod: &Pod, ns_labels: Option<&BTreeMap<String, String>>) -> bool {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let ns_ok = self.namespaces.contains(ns)
            || self.namespace_selector.as_ref().is_some_and(|s| s.matches_opt(ns_labels) || s.is_everything());
        ns_ok && self.selector.matches_opt(pod.metadata.labels.as_ref())
    }
}
