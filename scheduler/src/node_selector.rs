//! Node selector terms (`requiredDuringScheduling…` and preferred node
//! affinity, PV node affinity) parsed once and matched against nodes, as
//! upstream's `component-helpers/scheduling/corev1/nodeaffinity`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{NodeSelector, NodeSelectorRequirement, NodeSelectorTerm};
use rustkube_api::LabelSelector;
use rustkube_api::label_selector::{Operator, Requirement};

/// One term: every label expression and every field expression must hold.
#[derive(Debug, Clone)]
pub struct Term {
    labels: LabelSelector,
    /// `metadata.name` In/NotIn values (the only field upstream supports).
    fields: Vec<(bool, Vec<String>)>,
    /// A term that failed to parse matches nothing, as upstream's lazy-error selector.
    invalid: bool,
}

/// Terms ORed together.
#[derive(Debug, Clone, Default)]
pub struct Terms {
    pub terms: Vec<Term>,
    /// Why some terms are invalid (for events).
    pub errors: Vec<String>,
}

fn requirement(r: &NodeSelectorRequirement) -> Result<Requirement, String> {
    let op = match r.operator.as_str() {
        "In" => Operator::In,
        "NotIn" => Operator::NotIn,
        "Exists" => Operator::Exists,
        "DoesNotExist" => Operator::DoesNotExist,
        "Gt" => Operator::GreaterThan,
        "Lt" => Operator::LessThan,
        other => return Err(format!("{other:?} is not a valid node selector operator")),
    };
    Requirement::new(r.key.clone(), op, r.values.clone().unwrap_or_default()).map_err(|e| e.to_string())
}

impl Term {
    pub fn parse(t: &NodeSelectorTerm) -> Result<Term, String> {
        let mut labels = LabelSelector::everything();
        for r in t.match_expressions.iter().flatten() {
            labels = labels.and(requirement(r)?);
        }
        let mut fields = Vec::new();
        for f in t.match_fields.iter().flatten() {
            if f.key != "metadata.name" {
                return Err(format!("{:?} is not a valid field selector key", f.key));
            }
            let values = f.values.clone().unwrap_or_default();
            match f.operator.as_str() {
                "In" => fields.push((true, values)),
                "NotIn" => fields.push((false, values)),
                other => return Err(format!("{other:?} is not a valid field selector operator")),
            }
        }
        let empty =
            t.match_expressions.as_ref().is_none_or(Vec::is_empty) && t.match_fields.as_ref().is_none_or(Vec::is_empty);
        // An empty term matches no objects (upstream).
        Ok(Term { labels, fields, invalid: empty })
    }

    pub fn matches(&self, name: &str, labels: &BTreeMap<String, String>) -> bool {
        !self.invalid
            && self.labels.matches(labels)
            && self.fields.iter().all(|(is_in, values)| values.iter().any(|v| v == name) == *is_in)
    }
}

impl Terms {
    pub fn parse(terms: &[NodeSelectorTerm]) -> Terms {
        let mut out = Terms::default();
        for t in terms {
            match Term::parse(t) {
                Ok(term) => out.terms.push(term),
                Err(e) => {
                    out.errors.push(e);
                    out.terms.push(Term { labels: LabelSelector::nothing(), fields: Vec::new(), invalid: true });
                }
            }
        }
        out
    }

    pub fn from_selector(s: &NodeSelector) -> Terms {
        Terms::parse(&s.node_selector_terms)
    }

    /// Whether any term matches.
    pub fn matches(&self, name: &str, labels: &BTreeMap<String, String>) -> bool {
        self.terms.iter().any(|t| t.matches(name, labels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(key: &str, op: &str, values: &[&str]) -> NodeSelectorRequirement {
        NodeSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: Some(values.iter().map(|s| s.to_string()).collect()),
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn all_operators_match_as_upstream() {
        let l = labels(&[("zone", "a"), ("cores", "8")]);
        let term = |r: NodeSelectorRequirement| {
            Term::parse(&NodeSelectorTerm { match_expressions: Some(vec![r]), match_fields: None }).unwrap()
        };
        assert!(term(req("zone", "In", &["a", "b"])).matches("n", &l));
        assert!(!term(req("zone", "NotIn", &["a"])).matches("n", &l));
        assert!(term(req("zone", "Exists", &[])).matches("n", &l));
        assert!(term(req("gpu", "DoesNotExist", &[])).matches("n", &l));
        assert!(term(req("cores", "Gt", &["4"])).matches("n", &l));
        assert!(!term(req("cores", "Lt", &["4"])).matches("n", &l));
        assert!(!term(req("zone", "Gt", &["4"])).matches("n", &l), "non-integer label never Gt");
    }

    #[test]
    fn match_fields_select_by_node_name_and_terms_are_ored() {
        let t =
            NodeSelectorTerm { match_expressions: None, match_fields: Some(vec![req("metadata.name", "In", &["n2"])]) };
        let terms = Terms::parse(&[
            t,
            NodeSelectorTerm { match_expressions: Some(vec![req("x", "In", &["y"])]), match_fields: None },
        ]);
        assert!(terms.matches("n2", &BTreeMap::new()));
        assert!(!terms.matches("n1", &BTreeMap::new()));
        assert!(terms.matches("n1", &labels(&[("x", "y")])));
    }

    #[test]
    fn malformed_and_empty_terms_match_nothing() {
        let bad = Terms::parse(&[NodeSelectorTerm {
            match_expressions: Some(vec![req("a", "Gt", &["x", "y"])]),
            match_fields: None,
        }]);
        assert_eq!(bad.errors.len(), 1);
        assert!(!bad.matches("n", &labels(&[("a", "5")])));
        let empty = Terms::parse(&[NodeSelectorTerm::default()]);
        assert!(!empty.matches("n", &BTreeMap::new()));
    }
}
