//! A Deployment on a containerd-backed node, driven with the real kubectl:
//! rolled out with real containers, changed (a second revision), scaled, and
//! rolled back with `kubectl rollout undo`.

mod common;

use std::time::Duration;

use common::{field, pods};
use rustkube_harness::{Cluster, eventually};

/// busybox httpd as PID 1 ignores SIGTERM; a short grace period keeps the rollout quick.
const WEB: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: busybox:1.36
        command: ["httpd", "-f", "-p", "8080"]
"#;

#[test]
fn deployment_rolls_out_scales_and_rolls_back_with_real_containers() {
    let c = Cluster::builder().nodes(1).start();
    c.ok_stdin(&["apply", "-f", "-"], WEB);
    c.ok(&["rollout", "status", "deployment/web", "--timeout=90s"]);
    let first = pods(&c, "app=web");
    assert_eq!(first.len(), 2, "two pods: {first:?}");
    for p in &first {
        assert_eq!((p.node.as_str(), p.phase.as_str()), ("node-0", "Running"), "{p:?}");
        assert!(p.container_id.starts_with("containerd://"), "a real container: {p:?}");
        assert!(p.ip.starts_with("10.244.0."), "an IP from node-0's pod CIDR: {p:?}");
    }
    let first_hash = first[0].hash.clone();

    // Revision 2.
    c.ok(&["set", "env", "deployment/web", "VERSION=v2"]);
    c.ok(&["rollout", "status", "deployment/web", "--timeout=90s"]);
    eventually("only revision 2's pods left", Duration::from_secs(60), || {
        let now = pods(&c, "app=web");
        let ok = now.len() == 2
            && now
                .iter()
                .all(|p| p.hash != first_hash && p.phase == "Running" && p.container_id.starts_with("containerd://"));
        if ok { Ok(()) } else { Err(format!("{now:?}")) }
    });
    let env = field(&c, "deployment/web", "{.spec.template.spec.containers[0].env[0].value}");
    assert_eq!(env, "v2");

    c.ok(&["scale", "deployment/web", "--replicas=3"]);
    c.ok(&["rollout", "status", "deployment/web", "--timeout=90s"]);
    eventually("three Running pods after scaling up", Duration::from_secs(60), || {
        let now = pods(&c, "app=web");
        let running = now.iter().filter(|p| p.phase == "Running" && !p.terminating).count();
        if running == 3 && now.len() == 3 { Ok(()) } else { Err(format!("{now:?}")) }
    });

    // Back to revision 1's template: its ReplicaSet is scaled up again.
    c.ok(&["rollout", "undo", "deployment/web"]);
    c.ok(&["rollout", "status", "deployment/web", "--timeout=90s"]);
    eventually("revision 1's template running on three pods", Duration::from_secs(60), || {
        let now = pods(&c, "app=web");
        let ok = now.len() == 3
            && now
                .iter()
                .all(|p| p.hash == first_hash && p.phase == "Running" && p.container_id.starts_with("containerd://"));
        if ok { Ok(()) } else { Err(format!("{now:?}")) }
    });
    let env = field(&c, "deployment/web", "{.spec.template.spec.containers[0].env}");
    assert!(env.is_empty(), "the rolled-back template has no VERSION: {env}");
    let revision = field(&c, "deployment/web", "{.metadata.annotations.deployment\\.kubernetes\\.io/revision}");
    assert_eq!(revision, "3", "undo makes revision 1's template revision 3, as upstream");
    let history = c.ok(&["rollout", "history", "deployment/web"]);
    assert!(history.contains('2') && history.contains('3'), "history lists revisions 2 and 3: {history}");
}
