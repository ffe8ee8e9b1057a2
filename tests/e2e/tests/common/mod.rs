//! Helpers the end-to-end scenarios share.
#![allow(dead_code)]

use rustkube_harness::Cluster;

/// One line per pod selected by `selector`: `name node phase podIP containerID`.
pub fn pods(c: &Cluster, selector: &str) -> Vec<PodLine> {
    let out = c.ok(&[
        "get",
        "pods",
        "-l",
        selector,
        "-o",
        "jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.status.phase} {.status.podIP} \
         {.metadata.labels.pod-template-hash} {.metadata.deletionTimestamp} {.status.containerStatuses[0].containerID}{\"\\n\"}{end}",
    ]);
    out.lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let get = |i: usize| f.get(i).copied().unwrap_or_default().to_owned();
            PodLine {
                name: get(0),
                node: get(1),
                phase: get(2),
                ip: get(3),
                hash: get(4),
                terminating: !get(5).is_empty(),
                container_id: get(6),
            }
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodLine {
    pub name: String,
    pub node: String,
    pub phase: String,
    pub ip: String,
    pub hash: String,
    pub terminating: bool,
    pub container_id: String,
}

/// A field of one object, by jsonpath.
pub fn field(c: &Cluster, object: &str, jsonpath: &str) -> String {
    c.ok(&["get", object, "-o", &format!("jsonpath={jsonpath}")])
}
