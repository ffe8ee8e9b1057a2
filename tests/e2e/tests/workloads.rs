//! A deployment on a cluster of the real daemons (apiserver, controller-manager,
//! scheduler, kubelets with the fake runtime): created with the real kubectl,
//! its pods spread over the nodes, Running and Ready, then scaled and deleted.

use std::time::{Duration, Instant};

use rustkube_harness::Cluster;

fn ok(c: &Cluster, args: &[&str]) -> String {
    let out = c.kubectl("1.33", args);
    assert!(
        out.status.success(),
        "kubectl {args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

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
    let nodes = ok(&c, &["get", "nodes", "-o", "name"]);
    assert_eq!(nodes.lines().count(), 2, "two nodes registered: {nodes}");

    ok(&c, &["create", "deployment", "web", "--image=busybox", "--replicas=4", "--", "sleep", "3600"]);
    ok(&c, &["rollout", "status", "deployment/web", "--timeout=60s"]);
    let placed = ok(
        &c,
        &[
            "get",
            "pods",
            "-l",
            "app=web",
            "-o",
            "jsonpath={range .items[*]}{.spec.nodeName} {.status.phase}{\"\\n\"}{end}",
        ],
    );
    let lines: Vec<&str> = placed.lines().collect();
    assert_eq!(lines.len(), 4, "four pods: {placed}");
    assert!(lines.iter().all(|l| l.ends_with(" Running")), "all Running: {placed}");
    for node in ["fake-node-0", "fake-node-1"] {
        assert!(lines.iter().any(|l| l.starts_with(node)), "pods spread to {node}: {placed}");
    }

    ok(&c, &["scale", "deployment/web", "--replicas=1"]);
    eventually("one pod left after scaling down", Duration::from_secs(60), || {
        ok(&c, &["get", "pods", "-l", "app=web", "-o", "name"]).lines().count() == 1
    });

    ok(&c, &["delete", "deployment", "web"]);
    eventually("the deployment's replicasets and pods garbage-collected", Duration::from_secs(60), || {
        ok(&c, &["get", "replicasets,pods", "-l", "app=web", "-o", "name"]).trim().is_empty()
    });
}
