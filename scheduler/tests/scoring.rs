//! Score plugins against the real apiserver: each check uses its own group
//! of otherwise equal nodes (pinned by a `group` label) so one preference decides.

mod common;

use common::Cluster;
use rustkube_scheduler::testing::{node, pod};

const PROFILES: &str = r#"
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
- schedulerName: packer
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
        resources: [{name: cpu, weight: 1}, {name: memory, weight: 1}]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_score_plugin_steers_the_choice() {
    let c = Cluster::start(Some(PROFILES)).await;
    let n = |name: &str, group: &str| node(name).label("group", group).alloc("cpu", "4").alloc("memory", "8Gi");
    // NodeResourcesFit LeastAllocated (default profile) vs MostAllocated (packer profile).
    c.node(n("busy", "fit")).await;
    c.node(n("idle", "fit")).await;
    c.pod(pod("filler").req("cpu", "2").req("memory", "4Gi").on_node("busy")).await;
    // NodeAffinity preferred.
    c.node(n("pref-a", "pref").label("zone", "a")).await;
    c.node(n("pref-b", "pref").label("zone", "b")).await;
    // TaintToleration PreferNoSchedule.
    c.node(n("soft-tainted", "taint").taint("spot", "true", "PreferNoSchedule")).await;
    c.node(n("clean", "taint")).await;
    // ImageLocality.
    c.node(n("has-image", "image").image("registry.example/big:1", 900 * 1024 * 1024)).await;
    c.node(n("no-image", "image")).await;
    // InterPodAffinity preferred and PodTopologySpread ScheduleAnyway.
    c.node(n("z-a", "topo").label("zone", "a")).await;
    c.node(n("z-b", "topo").label("zone", "b")).await;
    c.pod(pod("cache").label("app", "cache").on_node("z-a")).await;
    c.pod(pod("w0").label("app", "web").on_node("z-a")).await;
    c.pod(pod("w1").label("app", "web").on_node("z-a")).await;

    c.pod(pod("least").req("cpu", "500m").req("memory", "1Gi").node_selector("group", "fit")).await;
    c.pod(pod("most").req("cpu", "500m").req("memory", "1Gi").node_selector("group", "fit").scheduler("packer")).await;
    c.pod(pod("prefers-b").node_selector("group", "pref").preferred_node(50, "zone", "b")).await;
    c.pod(pod("avoids-taint").node_selector("group", "taint")).await;
    c.pod(pod("wants-image").image("registry.example/big:1").node_selector("group", "image")).await;
    c.pod(pod("near-cache").node_selector("group", "topo").preferred_pod_affinity(100, ("app", "cache"), "zone")).await;
    c.pod(pod("spread-web").label("app", "web").node_selector("group", "topo").spread(
        1,
        "zone",
        "ScheduleAnyway",
        ("app", "web"),
    ))
    .await;

    assert_eq!(c.bound("default", "least").await, "idle", "LeastAllocated prefers the idle node");
    assert_eq!(c.bound("default", "most").await, "busy", "MostAllocated (packer profile) prefers the busy node");
    assert_eq!(c.bound("default", "prefers-b").await, "pref-b");
    assert_eq!(c.bound("default", "avoids-taint").await, "clean");
    assert_eq!(c.bound("default", "wants-image").await, "has-image");
    assert_eq!(c.bound("default", "near-cache").await, "z-a");
    assert_eq!(c.bound("default", "spread-web").await, "z-b");
    c.stop().await;
}
