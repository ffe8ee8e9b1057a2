//! Bad input never crashes or stalls the scheduler: the affected pod stays
//! Pending with a clear event while others schedule. Where the apiserver
//! already refuses the input (as upstream validation does), that refusal is
//! asserted instead.

mod common;

use common::Cluster;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use rustkube_scheduler::testing::{node, pod};

fn invalid(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 422 || s.code == 400)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_affinity_and_junk_node_quantities_leave_others_scheduling() {
    let c = Cluster::start(None).await;
    c.node(node("good").alloc("cpu", "1")).await;

    // A node whose allocatable CPU is not a quantity.
    let junk = node("junk").alloc("cpu", "lots").build();
    let nodes: Api<Node> = Api::all(c.client.clone());
    let mut bare = junk.clone();
    bare.status = None;
    nodes.create(&PostParams::default(), &bare).await.unwrap();
    let junk_status = nodes
        .patch_status("junk", &PatchParams::default(), &Patch::Merge(&serde_json::json!({"status": junk.status})))
        .await;
    let junk_accepted = match &junk_status {
        Ok(_) => true,
        Err(e) => {
            assert!(invalid(e), "junk quantity must be accepted or refused as invalid, got {e}");
            false
        }
    };

    // A pod whose node affinity cannot be parsed (Gt needs an integer).
    let mut bad = pod("bad-affinity").node_affinity("cores", "Gt", &["many"]).build();
    bad.metadata.uid = None;
    let bad_created = match c.pods().create(&PostParams::default(), &bad).await {
        Ok(_) => true,
        Err(e) => {
            assert!(invalid(&e), "malformed affinity must be accepted or refused as invalid, got {e}");
            false
        }
    };
    eprintln!("apiserver accepted junk node quantity: {junk_accepted}; malformed affinity: {bad_created}");

    // An unsatisfiable (well-formed) affinity.
    c.pod(pod("unsatisfiable").node_affinity("zone", "In", &["mars"])).await;

    c.pod(pod("needs-cpu").req("cpu", "500m")).await;
    assert_eq!(c.bound("default", "needs-cpu").await, "good", "the junk node has no usable CPU");
    c.pod(pod("plain")).await;
    c.bound("default", "plain").await;

    c.event_containing("default", "unsatisfiable", "FailedScheduling", "didn't match Pod's node affinity/selector")
        .await;
    c.assert_pending("default", "unsatisfiable").await;
    if bad_created {
        c.event_containing("default", "bad-affinity", "FailedScheduling", "invalid node affinity").await;
        c.assert_pending("default", "bad-affinity").await;
    }
    let p: Pod = c.pods().get("plain").await.unwrap();
    assert!(p.spec.unwrap().node_name.is_some());
    c.stop().await;
}
