//! No oversubscription: 2,100 pods race for 2,000 slots (20 nodes × 10 CPU,
//! 100 m each); exactly 2,000 bind, no node exceeds its CPU, the rest stay
//! Pending with a FailedScheduling condition.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::Cluster;
use futures_util::{StreamExt, stream};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, PostParams};
use rustkube_scheduler::testing::{node, pod};

const NODES: usize = 20;
const PODS: usize = 2100;
const PER_NODE: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_pods_never_oversubscribe_a_node() {
    let c = Cluster::start(None).await;
    for i in 0..NODES {
        c.node(node(&format!("n{i:02}")).alloc("cpu", "10").alloc("memory", "64Gi").alloc("pods", "110")).await;
    }
    let started = Instant::now();
    let api = c.pods();
    stream::iter(0..PODS)
        .map(|i| {
            let api = api.clone();
            async move {
                let mut p = pod(&format!("p{i:04}")).req("cpu", "100m").build();
                p.metadata.uid = None;
                api.create(&PostParams::default(), &p).await.expect("creating pod");
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    let created = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(45);
    let (bound, per_node, pending_marked) = loop {
        let pods: Vec<Pod> = api.list(&ListParams::default()).await.unwrap().items;
        let mut per_node: HashMap<String, usize> = HashMap::new();
        let mut pending_marked = 0;
        for p in &pods {
            match p.spec.as_ref().and_then(|s| s.node_name.clone()) {
                Some(n) => *per_node.entry(n).or_insert(0) += 1,
                None => {
                    let marked = p.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|cs| {
                        cs.iter().any(|c| c.type_ == "PodScheduled" && c.reason.as_deref() == Some("Unschedulable"))
                    });
                    pending_marked += usize::from(marked);
                }
            }
        }
        let bound: usize = per_node.values().sum();
        assert!(per_node.values().all(|n| *n <= PER_NODE), "a node is oversubscribed: {per_node:?}");
        if bound == NODES * PER_NODE && pending_marked == PODS - bound {
            break (bound, per_node, pending_marked);
        }
        assert!(
            Instant::now() < deadline,
            "after 45s: {bound} bound, {pending_marked} marked unschedulable, of {PODS}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    eprintln!(
        "created {PODS} pods in {created:?}; {bound} bound and {pending_marked} marked unschedulable after {:?}",
        started.elapsed()
    );
    assert_eq!(per_node.len(), NODES);
    c.stop().await;
}
