//! A deployment on a cluster of the real daemons (apiserver, controller-manager,
//! scheduler, kubelets with the fake runtime): created with the real kubectl,
//! its pods spread over the nodes, Running and Ready, then scaled and deleted.

use std::time::{Duration, Instant};

use rustkube_harness::Cluster;

/// Polls `check` until it returns true or `limit` passes.
fn eventually(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn deployment_runs_on_fake_nodes_scales_and_goes_away() {
    let c = Cluster::start(2);
    let nodes = c.ok(&["get", "nodes", "-o", "name"]);
    assert_eq!(nodes.lines().count(), 2, "two nodes registered: {nodes}");

    c.ok(&["create", "deployment", "web", "--image=busybox", "--replicas=4", "--", "sleep", "3600"]);
    c.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    let placed = c.ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={range .items[*]}{.spec.nodeName} {.status.phase}{\"\\n\"}{end}",
    ]);
    let lines: Vec<&str> = placed.lines().collect();
    assert_eq!(lines.len(), 4, "four pods: {placed}");
    assert!(lines.iter().all(|l| l.ends_with(" Running")), "all Running: {placed}");
    for node in ["fake-node-0", "fake-node-1"] {
        assert!(lines.iter().any(|l| l.starts_with(node)), "pods spread to {node}: {placed}");
    }

    c.ok(&["scale", "deployment/web", "--replicas=1"]);
    eventually("one pod left after scaling down", Duration::from_secs(60), || {
        c.ok(&["get", "pods", "-l", "app=web", "-o", "name"]).lines().count() == 1
    });

    c.ok(&["delete", "deployment", "web"]);
    eventually("the deployment's replicasets and pods garbage-collected", Duration::from_secs(60), || {
        c.ok(&["get", "replicasets,pods", "-l", "app=web", "-o", "name"]).trim().is_empty()
    });
}
