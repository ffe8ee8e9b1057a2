//! The control plane survives its daemons dying: kill -9 of each of
//! kube-apiserver, kube-controller-manager and kube-scheduler in the middle
//! of a rollout, then a restart, ends with exactly the Deployment's pods —
//! none lost, none duplicated; and after an apiserver restart every
//! component's watches resume (a change made afterwards is acted on).
//! Fake-runtime nodes: real containers add nothing to these.

mod common;

use std::time::{Duration, Instant};

use common::{field, pods};
use rustkube_harness::{Cluster, eventually};

const REPLICAS: usize = 6;

/// Exactly `REPLICAS` live pods, all of the current template, Running, with
/// distinct names; no pod of an older ReplicaSet left.
fn settled(c: &Cluster) -> Result<(), String> {
    let hash = current_hash(c);
    let now = pods(c, "app=web");
    let live: Vec<_> = now.iter().filter(|p| !p.terminating).collect();
    let mut names: Vec<&str> = live.iter().map(|p| p.name.as_str()).collect();
    names.sort();
    names.dedup();
    let ok = now.len() == REPLICAS
        && names.len() == REPLICAS
        && live.iter().all(|p| p.hash == hash && p.phase == "Running" && !p.node.is_empty());
    if ok { Ok(()) } else { Err(format!("current hash {hash}: {now:?}")) }
}

/// The pod-template-hash of the ReplicaSet of the Deployment's current revision.
fn current_hash(c: &Cluster) -> String {
    let revision = field(c, "deployment/web", "{.metadata.annotations.deployment\\.kubernetes\\.io/revision}");
    let sets = c.ok(&[
        "get",
        "replicasets",
        "-l",
        "app=web",
        "-o",
        "jsonpath={range .items[*]}{.metadata.annotations.deployment\\.kubernetes\\.io/revision} {.metadata.labels.pod-template-hash}{\"\\n\"}{end}",
    ]);
    sets.lines().find_map(|l| l.strip_prefix(&format!("{revision} ")).map(str::to_owned)).unwrap_or_default()
}

#[test]
fn killing_each_control_plane_daemon_mid_rollout_loses_and_duplicates_no_pods() {
    let mut c = Cluster::builder().fake_nodes(2).start();
    c.ok(&[
        "create",
        "deployment",
        "web",
        "--image=busybox:1.36",
        &format!("--replicas={REPLICAS}"),
        "--",
        "sleep",
        "3600",
    ]);
    c.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    eventually("the first rollout settled", Duration::from_secs(60), || settled(&c));

    for daemon in ["kube-controller-manager", "kube-scheduler", "kube-apiserver"] {
        let before = current_hash(&c);
        // A rolling update (maxSurge 25%, maxUnavailable 25%) in flight when the daemon dies.
        c.ok(&["set", "env", "deployment/web", &format!("KILLED={daemon}")]);
        eventually("the rollout to start", Duration::from_secs(30), || {
            let now = pods(&c, "app=web");
            if now.iter().any(|p| p.hash != before) || daemon == "kube-controller-manager" {
                Ok(())
            } else {
                Err(format!("{now:?}"))
            }
        });
        c.kill9(daemon);
        c.restart(daemon);
        let started = Instant::now();
        c.ok(&["rollout", "status", "deployment/web", "--timeout=120s"]);
        eventually(&format!("the rollout settled after kill -9 of {daemon}"), Duration::from_secs(90), || settled(&c));
        eprintln!("rollout settled {:.1}s after restarting {daemon}", started.elapsed().as_secs_f64());
        assert_ne!(current_hash(&c), before, "the new template rolled out");
        // And it stays settled: no late duplicate from a controller that lost track.
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            settled(&c).unwrap_or_else(|e| panic!("after kill -9 of {daemon}, pods changed again: {e}"));
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

#[test]
fn apiserver_restart_resumes_every_components_watches() {
    let mut c = Cluster::builder().fake_nodes(1).start();
    // Each component has a watch open before the restart.
    c.ok(&["create", "deployment", "before", "--image=busybox:1.36", "--replicas=1", "--", "sleep", "3600"]);
    c.ok(&["rollout", "status", "deployment/before", "--timeout=60s"]);

    c.terminate("kube-apiserver");
    c.restart("kube-apiserver");
    let restarted = jiff_now_rfc3339(&c);

    // controller-manager (deployment, replicaset), scheduler and kubelet act on a change made now.
    c.ok(&["create", "deployment", "after", "--image=busybox:1.36", "--replicas=2", "--", "sleep", "3600"]);
    c.ok(&["rollout", "status", "deployment/after", "--timeout=60s"]);
    eventually("the new deployment's pods bound and Running", Duration::from_secs(60), || {
        let now = pods(&c, "app=after");
        let ok = now.len() == 2 && now.iter().all(|p| p.phase == "Running" && p.node == "fake-node-0");
        if ok { Ok(()) } else { Err(format!("{now:?}")) }
    });
    // A change to an object that existed before: scale the old deployment.
    c.ok(&["scale", "deployment/before", "--replicas=3"]);
    eventually("the old deployment scaled", Duration::from_secs(60), || {
        let now = pods(&c, "app=before");
        let ok = now.len() == 3 && now.iter().all(|p| p.phase == "Running");
        if ok { Ok(()) } else { Err(format!("{now:?}")) }
    });
    // The garbage collector's watches: deleting a deployment removes its ReplicaSets and pods.
    c.ok(&["delete", "deployment", "before"]);
    eventually("the deleted deployment's replicasets and pods collected", Duration::from_secs(60), || {
        let left = c.ok(&["get", "replicasets,pods", "-l", "app=before", "-o", "name"]);
        if left.trim().is_empty() { Ok(()) } else { Err(left) }
    });
    // The kubelet keeps renewing its node Lease through the new apiserver.
    eventually("the node lease renewed after the restart", Duration::from_secs(30), || {
        let renew = c.ok(&["get", "lease", "-n", "kube-node-lease", "fake-node-0", "-o", "jsonpath={.spec.renewTime}"]);
        if renew.as_str() > restarted.as_str() {
            Ok(())
        } else {
            Err(format!("renewTime {renew} vs restart {restarted}"))
        }
    });
}

/// The apiserver's idea of now, as an RFC 3339 string comparable with renewTime.
fn jiff_now_rfc3339(c: &Cluster) -> String {
    // A fresh object's creationTimestamp is the server's clock.
    c.ok(&["create", "configmap", "clock"]);
    let t = field(c, "configmap/clock", "{.metadata.creationTimestamp}");
    t.trim_end_matches('Z').to_owned()
}
