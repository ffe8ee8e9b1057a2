//! Indexed completion mode: the completion index of a pod, the
//! `completedIndexes` interval notation ("1,3-5"), and pods stamped with
//! their index (annotation, label, `JOB_COMPLETION_INDEX`, hostname).

use std::collections::BTreeSet;

use crate::cached_pod::CachedPod;
use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector, Pod};

/// The annotation (and label) carrying a pod's completion index.
pub const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";

/// The pod's completion index, when it has a valid one below `completions`.
pub fn index_of(pod: &CachedPod, completions: i32) -> Option<i32> {
    let meta = &pod.metadata;
    let raw = meta
        .annotations
        .as_ref()
        .and_then(|a| a.get(COMPLETION_INDEX))
        .or_else(|| meta.labels.as_ref().and_then(|l| l.get(COMPLETION_INDEX)))?;
    raw.parse().ok().filter(|i| *i >= 0 && *i < completions)
}

/// Parses "1,3-5" into its indexes (invalid parts are skipped).
pub fn parse_intervals(s: &str) -> BTreeSet<i32> {
    let mut out = BTreeSet::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<i32>(), b.parse::<i32>()) {
                    out.extend(a..=b);
                }
            }
            None => {
                if let Ok(i) = part.parse() {
                    out.insert(i);
                }
            }
        }
    }
    out
}

/// Formats indexes as upstream's `completedIndexes`: ascending, runs of three
/// or more as `a-b`, pairs as `a,b`.
pub fn format_intervals(indexes: &BTreeSet<i32>) -> String {
    let mut parts = Vec::new();
    let mut iter = indexes.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end += 1;
            iter.next();
        }
        match end - start {
            0 => parts.push(start.to_string()),
            1 => {
                parts.push(start.to_string());
                parts.push(end.to_string());
            }
            _ => parts.push(format!("{start}-{end}")),
        }
    }
    parts.join(",")
}

/// Stamps `pod` with completion index `index` of job `job_name`.
pub fn set_index(pod: &mut Pod, job_name: &str, index: i32) {
    let value = index.to_string();
    pod.metadata.annotations.get_or_insert_with(Default::default).insert(COMPLETION_INDEX.to_owned(), value.clone());
    pod.metadata.labels.get_or_insert_with(Default::default).insert(COMPLETION_INDEX.to_owned(), value);
    pod.metadata.generate_name = Some(crate::pods::generate_name_prefix(&format!("{job_name}-{index}")));
    if let Some(spec) = pod.spec.as_mut() {
        if spec.hostname.is_none() {
            spec.hostname = Some(format!("{job_name}-{index}"));
        }
        let env = EnvVar {
            name: "JOB_COMPLETION_INDEX".to_owned(),
            value: None,
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    api_version: None,
                    field_path: format!("metadata.annotations['{COMPLETION_INDEX}']"),
                }),
                ..Default::default()
            }),
        };
        for c in spec.init_containers.iter_mut().flatten().chain(spec.containers.iter_mut()) {
            let vars = c.env.get_or_insert_with(Vec::new);
            if !vars.iter().any(|v| v.name == "JOB_COMPLETION_INDEX") {
                vars.push(env.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_round_trip_in_upstream_notation() {
        let set: BTreeSet<i32> = [0, 1, 3, 4, 5, 7, 9, 10].into();
        assert_eq!(format_intervals(&set), "0,1,3-5,7,9,10");
        assert_eq!(parse_intervals("0,1,3-5,7,9,10"), set);
        assert_eq!(format_intervals(&BTreeSet::new()), "");
    }
}
