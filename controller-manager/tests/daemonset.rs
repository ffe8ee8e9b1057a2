//! The DaemonSet controller against the real apiserver (Node objects made
//! by the test, no kubelet): one pod per eligible node, nodes added and
//! removed, and a rolling update within maxUnavailable.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec};
use k8s_openapi::api::core::v1::{Node, NodeSpec, Pod, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};

const T: Duration = Duration::from_secs(45);

fn node(name: &str, l: &[(&str, &str)], taint: Option<&str>) -> Node {
    Node {
        metadata: ObjectMeta { name: Some(name.into()), labels: Some(labels(l)), ..Default::default() },
        spec: Some(NodeSpec {
            taints: taint.map(|k| vec![Taint { key: k.into(), effect: "NoSchedule".into(), ..Default::default() }]),
            ..Default::default()
        }),
        status: None,
    }
}

fn daemonset(name: &str, selector: Option<(&str, &str)>) -> DaemonSet {
    let mut tmpl = template(&[("app", name)], "busybox:1");
    tmpl.spec.as_mut().unwrap().node_selector = selector.map(|(k, v)| labels(&[(k, v)]));
    DaemonSet {
        metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
        spec: Some(DaemonSetSpec {
            selector: LabelSelector { match_labels: Some(labels(&[("app", name)])), ..Default::default() },
            template: tmpl,
            ..Default::default()
        }),
        status: None,
    }
}

fn pinned_node(p: &Pod) -> String {
    let terms = p
        .spec
        .as_ref()
        .unwrap()
        .affinity
        .as_ref()
        .unwrap()
        .node_affinity
        .as_ref()
        .unwrap()
        .required_during_scheduling_ignored_during_execution
        .as_ref()
        .unwrap()
        .node_selector_terms
        .clone();
    terms[0].match_fields.as_ref().unwrap()[0].values.as_ref().unwrap()[0].clone()
}

async fn pods_by_node(c: &Cluster, ns: &str, app: &str) -> BTreeMap<String, Vec<Pod>> {
    let mut out: BTreeMap<String, Vec<Pod>> = BTreeMap::new();
    for p in live_pods(&c.client, ns, &format!("app={app}")).await {
        out.entry(pinned_node(&p)).or_default().push(p);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_pod_per_eligible_node_as_nodes_come_and_go() {
    let c = Cluster::start(&["--controllers=daemonset"]).await;
    c.namespace("ds").await;
    let nodes: Api<Node> = Api::all(c.client.clone());
    for n in [
        node("n1", &[("disk", "ssd")], None),
        node("n2", &[("disk", "hdd")], None),
        node("n3", &[("disk", "ssd")], Some("dedicated")),
    ] {
        nodes.create(&PostParams::default(), &n).await.unwrap();
    }
    let sets: Api<DaemonSet> = c.api("ds");
    sets.create(&PostParams::default(), &daemonset("agent", Some(("disk", "ssd")))).await.unwrap();
    wait_for(T, "a pod on n1 only", || async {
        let by = pods_by_node(&c, "ds", "agent").await;
        (by.keys().cloned().collect::<Vec<_>>() == ["n1"]).then_some(())
    })
    .await;
    let pod = &pods_by_node(&c, "ds", "agent").await["n1"][0];
    let tolerations = pod.spec.as_ref().unwrap().tolerations.clone().unwrap_or_default();
    assert!(
        tolerations.iter().any(|t| t.key.as_deref() == Some("node.kubernetes.io/unschedulable")),
        "automatic tolerations added"
    );

    nodes.create(&PostParams::default(), &node("n4", &[("disk", "ssd")], None)).await.unwrap();
    wait_for(T, "a pod on the new node", || async {
        (pods_by_node(&c, "ds", "agent").await.keys().cloned().collect::<Vec<_>>() == ["n1", "n4"]).then_some(())
    })
    .await;
    nodes.delete("n1", &DeleteParams::default()).await.unwrap();
    wait_for(T, "the removed node's pod gone", || async {
        (pods_by_node(&c, "ds", "agent").await.keys().cloned().collect::<Vec<_>>() == ["n4"]).then_some(())
    })
    .await;
    let status = wait_for(T, "status", || async {
        let s = sets.get("agent").await.ok()?.status?;
        (s.desired_number_scheduled == 1 && s.current_number_scheduled == 1).then_some(s)
    })
    .await;
    assert_eq!(status.number_misscheduled, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_update_keeps_all_but_max_unavailable_nodes_served() {
    let c = Cluster::start(&["--controllers=daemonset"]).await;
    c.namespace("dsr").await;
    let nodes: Api<Node> = Api::all(c.client.clone());
    for i in 0..4 {
        nodes.create(&PostParams::default(), &node(&format!("w{i}"), &[], None)).await.unwrap();
    }
    let _kubelet = FakeKubelet::start(&c.client, "dsr", any_pod);
    let sets: Api<DaemonSet> = c.api("dsr");
    sets.create(&PostParams::default(), &daemonset("proxy", None)).await.unwrap();
    wait_for(T, "4 ready pods", || async {
        let s = sets.get("proxy").await.ok()?.status?;
        (s.number_ready == 4 && s.updated_number_scheduled == Some(4)).then_some(())
    })
    .await;
    sets.patch(
        "proxy",
        &PatchParams::default(),
        &Patch::Merge(
            serde_json::json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}}}}),
        ),
    )
    .await
    .unwrap();
    let deadline = std::time::Instant::now() + T;
    let mut min_served = usize::MAX;
    loop {
        let by = pods_by_node(&c, "dsr", "proxy").await;
        let served = by.values().filter(|ps| ps.iter().any(is_ready)).count();
        min_served = min_served.min(served);
        let done =
            by.len() == 4 && by.values().all(|ps| ps.len() == 1 && image_of(&ps[0]) == "busybox:2" && is_ready(&ps[0]));
        if done {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "rolling update did not finish\n{}", c.cm_logs());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(min_served >= 3, "{min_served} nodes served at some point; maxUnavailable 1 allows no fewer than 3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn surge_update_keeps_every_node_served() {
    use k8s_openapi::api::apps::v1::{DaemonSetUpdateStrategy, RollingUpdateDaemonSet};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let c = Cluster::start(&["--controllers=daemonset"]).await;
    c.namespace("dss").await;
    let nodes: Api<Node> = Api::all(c.client.clone());
    for i in 0..3 {
        nodes.create(&PostParams::default(), &node(&format!("s{i}"), &[], None)).await.unwrap();
    }
    let _kubelet = FakeKubelet::start(&c.client, "dss", any_pod);
    let sets: Api<DaemonSet> = c.api("dss");
    let mut ds = daemonset("edge", None);
    ds.spec.as_mut().unwrap().update_strategy = Some(DaemonSetUpdateStrategy {
        type_: Some("RollingUpdate".into()),
        rolling_update: Some(RollingUpdateDaemonSet {
            max_surge: Some(IntOrString::Int(1)),
            max_unavailable: Some(IntOrString::Int(0)),
        }),
    });
    sets.create(&PostParams::default(), &ds).await.unwrap();
    wait_for(T, "3 ready pods", || async { (sets.get("edge").await.ok()?.status?.number_ready == 3).then_some(()) })
        .await;
    sets.patch(
        "edge",
        &PatchParams::default(),
        &Patch::Merge(
            serde_json::json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}}}}),
        ),
    )
    .await
    .unwrap();
    let deadline = std::time::Instant::now() + T;
    let (mut min_served, mut max_pods) = (usize::MAX, 0);
    loop {
        let by = pods_by_node(&c, "dss", "edge").await;
        min_served = min_served.min(by.values().filter(|ps| ps.iter().any(is_ready)).count());
        max_pods = max_pods.max(by.values().map(Vec::len).sum());
        if by.len() == 3 && by.values().all(|ps| ps.len() == 1 && image_of(&ps[0]) == "busybox:2" && is_ready(&ps[0])) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "surge update did not finish\n{}", c.cm_logs());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(min_served, 3, "with maxUnavailable 0 every node always has a ready pod");
    assert!(max_pods <= 4, "{max_pods} pods at once; maxSurge 1 allows 4");
}
