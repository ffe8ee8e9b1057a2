//! Why a pod did not fit, worded as upstream's `FitError`:
//! `0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, 2 Insufficient cpu. preemption: …`.

use std::collections::{BTreeMap, HashMap};

use crate::framework::Status;

/// upstream `ErrNoNodesAvailable`.
pub const NO_NODES_AVAILABLE: &str = "no nodes available to schedule pods";

fn sentence(part: &str) -> String {
    format!(" {}.", part.trim_end_matches('.'))
}

/// Builds the message: a PreFilter rejection replaces the per-node histogram;
/// the histogram counts each reason over the nodes and sorts the `count reason` strings.
pub fn fit_error_message(
    num_all_nodes: usize,
    pre_filter_msg: Option<&str>,
    statuses: &HashMap<String, Status>,
    post_filter_msg: Option<&str>,
) -> String {
    if num_all_nodes == 0 {
        return NO_NODES_AVAILABLE.to_owned();
    }
    let mut msg = format!("0/{num_all_nodes} nodes are available:");
    match pre_filter_msg.filter(|m| !m.is_empty()) {
        Some(pf) => msg.push_str(&sentence(pf)),
        None => {
            let mut histogram: BTreeMap<&str, usize> = BTreeMap::new();
            for s in statuses.values() {
                for r in s.reasons.iter() {
                    *histogram.entry(r.as_ref()).or_insert(0) += 1;
                }
            }
            let mut parts: Vec<String> = histogram.into_iter().map(|(r, n)| format!("{n} {r}")).collect();
            parts.sort();
            if !parts.is_empty() {
                msg.push_str(&sentence(&parts.join(", ")));
            }
        }
    }
    if let Some(post) = post_filter_msg.filter(|m| !m.is_empty()) {
        msg.push_str(&sentence(post));
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_sorts_reasons_as_upstream() {
        let mut s = HashMap::new();
        s.insert("n1".to_string(), Status::unresolvable("node(s) had untolerated taint {k: v}"));
        s.insert("n2".to_string(), Status::unschedulable("Insufficient cpu"));
        s.insert(
            "n3".to_string(),
            Status::with_reasons(
                crate::framework::Code::Unschedulable,
                vec!["Insufficient cpu".into(), "Insufficient memory".into()],
            ),
        );
        let msg = fit_error_message(
            3,
            None,
            &s,
            Some("preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."),
        );
        assert_eq!(
            msg,
            "0/3 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint {k: v}, 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        );
    }

    #[test]
    fn pre_filter_message_replaces_the_histogram() {
        let msg = fit_error_message(2, Some("persistentvolumeclaim \"data\" not found"), &HashMap::new(), None);
        assert_eq!(msg, "0/2 nodes are available: persistentvolumeclaim \"data\" not found.");
        assert_eq!(fit_error_message(0, None, &HashMap::new(), None), NO_NODES_AVAILABLE);
    }
}
