//! DefaultPreemption against the real apiserver: victims are chosen, deleted
//! (gracefully: they terminate as a kubelet would confirm), the preemptor is
//! nominated and then bound; budgets steer the choice; `Never` does not preempt.

mod common;

use std::time::{Duration, Instant};

use common::Cluster;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use rustkube_scheduler::testing::{node, pod};

/// Waits until the pod is terminating or gone, then removes it as its kubelet would.
async fn evicted(c: &Cluster, name: &str) {
    let api = c.pods();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match api.get_opt(name).await.unwrap() {
            None => return,
            Some(p) if p.metadata.deletion_timestamp.is_some() => {
                let _ = api.delete(name, &DeleteParams { grace_period_seconds: Some(0), ..Default::default() }).await;
                return;
            }
            Some(_) => {}
        }
        assert!(Instant::now() < deadline, "victim {name} was not deleted within 20s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn nominated(c: &Cluster, name: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let p: Pod = c.pods().get(name).await.unwrap();
        if let Some(n) = p.status.and_then(|s| s.nominated_node_name) {
            return n;
        }
        assert!(Instant::now() < deadline, "{name} not nominated within 20s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn higher_priority_pod_evicts_the_cheapest_victims_and_takes_their_place() {
    let c = Cluster::start(None).await;
    c.node(node("n1").alloc("cpu", "2")).await;
    c.node(node("n2").alloc("cpu", "2")).await;
    for (name, prio) in [("low-a", 10), ("low-b", 10)] {
        c.pod(
            pod(name)
                .req("cpu", "1")
                .priority_class(&c.priority_class(prio).await, prio)
                .node_selector("kubernetes.io/hostname", "n1"),
        )
        .await;
    }
    c.pod(
        pod("mid")
            .req("cpu", "2")
            .priority_class(&c.priority_class(50).await, 50)
            .node_selector("kubernetes.io/hostname", "n2"),
    )
    .await;
    for name in ["low-a", "low-b", "mid"] {
        c.bound("default", name).await;
    }
    c.pod(pod("vip").req("cpu", "2").priority_class(&c.priority_class(1000).await, 1000)).await;
    let node = nominated(&c, "vip").await;
    assert_eq!(node, "n1", "two priority-10 victims beat one priority-50 victim");
    evicted(&c, "low-a").await;
    evicted(&c, "low-b").await;
    assert_eq!(c.bound("default", "vip").await, "n1");
    let mid: Pod = c.pods().get("mid").await.unwrap();
    assert!(mid.metadata.deletion_timestamp.is_none(), "mid must not be preempted");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_steer_preemption_and_never_policy_does_not_preempt() {
    let c = Cluster::start(None).await;
    c.node(node("n1").alloc("cpu", "1")).await;
    c.node(node("n2").alloc("cpu", "1")).await;
    c.pod(
        pod("guarded")
            .label("app", "guarded")
            .req("cpu", "1")
            .priority_class(&c.priority_class(10).await, 10)
            .node_selector("kubernetes.io/hostname", "n1"),
    )
    .await;
    c.pod(
        pod("free")
            .label("app", "free")
            .req("cpu", "1")
            .priority_class(&c.priority_class(10).await, 10)
            .node_selector("kubernetes.io/hostname", "n2"),
    )
    .await;
    c.bound("default", "guarded").await;
    c.bound("default", "free").await;
    let pdb: PodDisruptionBudget = serde_json::from_value(serde_json::json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "guard", "namespace": "default"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "guarded"}}}
    }))
    .unwrap();
    let pdbs: Api<PodDisruptionBudget> = Api::namespaced(c.client.clone(), "default");
    pdbs.create(&PostParams::default(), &pdb).await.unwrap();
    let status = serde_json::json!({"status": {"disruptionsAllowed": 0, "currentHealthy": 1, "desiredHealthy": 1, "expectedPods": 1}});
    pdbs.patch_status("guard", &PatchParams::default(), &Patch::Merge(&status)).await.unwrap();
    // The never-preempting pod's attempt below also gives the budget watch time to deliver.
    let mut never = pod("polite").req("cpu", "1").priority_class(&c.priority_class(1000).await, 1000).build();
    never.spec.as_mut().unwrap().preemption_policy = Some("Never".into());
    never.metadata.uid = None;
    c.pods().create(&PostParams::default(), &never).await.unwrap();
    c.event_containing("default", "polite", "FailedScheduling", "not eligible due to preemptionPolicy=Never").await;

    c.pod(pod("vip").req("cpu", "1").priority_class(&c.priority_class(2000).await, 2000)).await;
    assert_eq!(nominated(&c, "vip").await, "n2", "the unguarded victim is preferred");
    evicted(&c, "free").await;
    assert_eq!(c.bound("default", "vip").await, "n2");
    let guarded: Pod = c.pods().get("guarded").await.unwrap();
    assert!(guarded.metadata.deletion_timestamp.is_none());
    c.stop().await;
}
