//! Each filter plugin against the real apiserver: pods land only where they
//! fit, and unfit pods stay Pending with upstream's FailedScheduling wording.

mod common;

use common::Cluster;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use kube::Api;
use kube::api::PostParams;
use rustkube_scheduler::testing::{node, pod};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binds_a_pod_and_reports_scheduled() {
    let c = Cluster::start(None).await;
    c.node(node("n1").alloc("cpu", "2").alloc("memory", "4Gi")).await;
    c.pod(pod("p").req("cpu", "100m")).await;
    assert_eq!(c.bound("default", "p").await, "n1");
    assert_eq!(c.event("default", "p", "Scheduled").await, "Successfully assigned default/p to n1");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cordoned_tainted_and_full_nodes_give_upstream_reasons_then_a_new_node_helps() {
    let c = Cluster::start(None).await;
    c.node(node("cordoned").alloc("cpu", "4").unschedulable()).await;
    c.node(node("tainted").alloc("cpu", "4").taint("dedicated", "gpu", "NoSchedule")).await;
    c.node(node("small").alloc("cpu", "100m")).await;
    c.pod(pod("p").req("cpu", "500m")).await;
    let expected = "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) were unschedulable. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.";
    let msg = c.event_where("default", "p", "FailedScheduling", |n| n == expected).await;
    let (reason, cond_msg) = c.unschedulable_condition("default", "p", expected).await;
    assert_eq!((reason.as_str(), cond_msg.as_str()), ("Unschedulable", msg.as_str()));
    // A tolerating pod fits on the tainted node.
    c.pod(pod("tolerant").req("cpu", "500m").toleration("dedicated", "gpu", "NoSchedule")).await;
    assert_eq!(c.bound("default", "tolerant").await, "tainted");
    // A node added later makes the parked pod schedulable.
    c.node(node("big").alloc("cpu", "4")).await;
    assert_eq!(c.bound("default", "p").await, "big");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_selector_and_required_affinity_with_every_operator() {
    let c = Cluster::start(None).await;
    c.node(node("na").label("zone", "a").label("cores", "4")).await;
    c.node(node("nb").label("zone", "b").label("cores", "16")).await;
    c.pod(pod("sel").node_selector("zone", "b")).await;
    c.pod(pod("gt").node_affinity("cores", "Gt", &["8"])).await;
    c.pod(pod("lt").node_affinity("cores", "Lt", &["8"])).await;
    c.pod(pod("notin").node_affinity("zone", "NotIn", &["a"])).await;
    c.pod(
        pod("exists")
            .node_affinity("zone", "Exists", &[])
            .node_affinity("gpu", "DoesNotExist", &[])
            .node_selector("zone", "a"),
    )
    .await;
    c.pod(pod("field").node_name_field("na")).await;
    c.pod(pod("nowhere").node_affinity("zone", "In", &["c"])).await;
    assert_eq!(c.bound("default", "sel").await, "nb");
    assert_eq!(c.bound("default", "gt").await, "nb");
    assert_eq!(c.bound("default", "lt").await, "na");
    assert_eq!(c.bound("default", "notin").await, "nb");
    assert_eq!(c.bound("default", "exists").await, "na");
    assert_eq!(c.bound("default", "field").await, "na");
    c.event_containing(
        "default",
        "nowhere",
        "FailedScheduling",
        "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.",
    )
    .await;
    c.assert_pending("default", "nowhere").await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_ports_extended_resources_init_containers_and_pod_count() {
    let c = Cluster::start(None).await;
    c.node(node("n1").alloc("cpu", "1").alloc("example.com/gpu", "1").alloc("pods", "3")).await;
    c.pod(pod("port1").host_port(8080)).await;
    assert_eq!(c.bound("default", "port1").await, "n1");
    c.pod(pod("port2").host_port(8080)).await;
    c.event_containing(
        "default",
        "port2",
        "FailedScheduling",
        "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports.",
    )
    .await;
    c.pod(pod("gpu1").req("example.com/gpu", "1")).await;
    assert_eq!(c.bound("default", "gpu1").await, "n1");
    c.pod(pod("gpu2").req("example.com/gpu", "1")).await;
    c.event_containing("default", "gpu2", "FailedScheduling", "1 Insufficient example.com/gpu").await;
    c.pod(pod("init").req("cpu", "100m").init_req("cpu", "2")).await;
    c.event_containing("default", "init", "FailedScheduling", "1 Insufficient cpu").await;
    c.pod(pod("overhead").req("cpu", "900m").overhead("cpu", "200m")).await;
    c.event_containing("default", "overhead", "FailedScheduling", "1 Insufficient cpu").await;
    c.pod(pod("third")).await;
    assert_eq!(c.bound("default", "third").await, "n1");
    c.pod(pod("fourth")).await;
    c.event_containing("default", "fourth", "FailedScheduling", "1 Too many pods").await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topology_spread_and_inter_pod_affinity() {
    let c = Cluster::start(None).await;
    for (n, z) in [("a1", "a"), ("a2", "a"), ("b1", "b"), ("b2", "b")] {
        c.node(node(n).label("zone", z).alloc("cpu", "8")).await;
    }
    // Spread: four pods, max skew 1 across zones → two per zone.
    let mut zones = std::collections::BTreeMap::new();
    for i in 0..4 {
        let name = format!("s{i}");
        c.pod(pod(&name).label("app", "spread").spread(1, "zone", "DoNotSchedule", ("app", "spread"))).await;
        let n = c.bound("default", &name).await;
        *zones.entry(n[..1].to_owned()).or_insert(0) += 1;
    }
    assert_eq!(zones.values().copied().collect::<Vec<_>>(), vec![2, 2], "{zones:?}");
    // Anti-affinity per host: four fit, the fifth does not.
    let mut hosts = std::collections::BTreeSet::new();
    for i in 0..4 {
        let name = format!("anti{i}");
        c.pod(pod(&name).label("app", "anti").pod_anti_affinity(("app", "anti"), "kubernetes.io/hostname")).await;
        hosts.insert(c.bound("default", &name).await);
    }
    assert_eq!(hosts.len(), 4);
    c.pod(pod("anti4").label("app", "anti").pod_anti_affinity(("app", "anti"), "kubernetes.io/hostname")).await;
    c.event_containing(
        "default",
        "anti4",
        "FailedScheduling",
        "4 node(s) didn't satisfy existing pods anti-affinity rules",
    )
    .await;
    // Affinity: follows the db into its zone.
    c.pod(pod("db").label("app", "db").node_selector("zone", "b")).await;
    c.bound("default", "db").await;
    c.pod(pod("web").pod_affinity(("app", "db"), "zone")).await;
    assert!(c.bound("default", "web").await.starts_with('b'));
    c.pod(pod("lonely").pod_affinity(("app", "nobody"), "zone")).await;
    c.event_containing("default", "lonely", "FailedScheduling", "4 node(s) didn't match pod affinity rules").await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_volumes_pin_pods_and_missing_claims_wait_for_their_claim() {
    let c = Cluster::start(None).await;
    c.node(node("n1")).await;
    c.node(node("n2")).await;
    let pv: PersistentVolume = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": "local-n2"},
        "spec": {
            "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": "local",
            "local": {"path": "/mnt/disk"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": ["n2"]}]}]}}
        }
    }))
    .unwrap();
    Api::<PersistentVolume>::all(c.client.clone()).create(&PostParams::default(), &pv).await.unwrap();
    let claim = |name: &str| -> PersistentVolumeClaim {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "local", "volumeName": "local-n2",
                     "resources": {"requests": {"storage": "1Gi"}}}
        }))
        .unwrap()
    };
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(c.client.clone(), "default");
    pvcs.create(&PostParams::default(), &claim("data")).await.unwrap();
    c.pod(pod("uses-data").pvc("data")).await;
    assert_eq!(c.bound("default", "uses-data").await, "n2");
    c.pod(pod("missing").pvc("later")).await;
    let expected = "0/2 nodes are available: persistentvolumeclaim \"later\" not found. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.";
    c.event_where("default", "missing", "FailedScheduling", |n| n == expected).await;
    // Meanwhile other pods still schedule.
    c.pod(pod("other")).await;
    c.bound("default", "other").await;
    pvcs.create(&PostParams::default(), &claim("later")).await.unwrap();
    assert_eq!(c.bound("default", "missing").await, "n2");
    c.stop().await;
}
