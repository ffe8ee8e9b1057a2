//! The `kube-scheduler` binary with `--leader-elect`: one of two instances
//! schedules; after the leader is killed with SIGKILL the standby takes over
//! within the lease duration; health and metrics are served on the secure port.

use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use rustkube_harness::{Apiserver, Daemon};
use rustkube_scheduler::testing::{node, pod};

const LEASE: Duration = Duration::from_secs(3);

fn start(api: &Apiserver) -> Daemon {
    Daemon::start(
        "kube-scheduler",
        &[
            format!("--kubeconfig={}", api.kubeconfig().display()),
            "--leader-elect=true".into(),
            "--leader-elect-lease-duration=3s".into(),
            "--leader-elect-renew-deadline=2s".into(),
            "--leader-elect-retry-period=500ms".into(),
            "--bind-address=127.0.0.1".into(),
            "--secure-port=0".into(),
        ],
    )
}

async fn wait_log(d: &Daemon, needle: &str, within: Duration) -> Duration {
    let start = Instant::now();
    while !d.logs().contains(needle) {
        assert!(start.elapsed() < within, "{needle:?} not logged within {within:?}:\n{}", d.log_tail());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

async fn create_and_bind(client: &kube::Client, name: &str) -> String {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut p = pod(name).build();
    p.metadata.uid = None;
    pods.create(&PostParams::default(), &p).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(n) = pods.get(name).await.unwrap().spec.and_then(|s| s.node_name) {
            return n;
        }
        assert!(Instant::now() < deadline, "{name} not bound within 20s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn curl(port: u16, path: &str) -> String {
    let out =
        Command::new("curl").args(["-sk", &format!("https://127.0.0.1:{port}{path}")]).output().expect("running curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standby_takes_over_after_the_leader_is_killed() {
    let api = tokio::task::block_in_place(|| Apiserver::start(&[]));
    let client = api.client().await;
    let n = node("n1").alloc("cpu", "4").build();
    let nodes: Api<Node> = Api::all(client.clone());
    nodes.create(&PostParams::default(), &n).await.unwrap();
    nodes
        .patch_status("n1", &PatchParams::default(), &Patch::Merge(&serde_json::json!({"status": n.status})))
        .await
        .unwrap();

    let mut leader = tokio::task::block_in_place(|| start(&api));
    wait_log(&leader, "successfully acquired lease", Duration::from_secs(10)).await;
    let standby = tokio::task::block_in_place(|| start(&api));
    wait_log(&standby, "attempting to acquire leader lease", Duration::from_secs(10)).await;
    assert_eq!(create_and_bind(&client, "before").await, "n1");
    assert!(!standby.logs().contains("successfully acquired lease"), "only one scheduler may lead");
    assert!(!standby.logs().contains("caches synced; scheduling"), "the standby must not schedule");

    assert_eq!(curl(leader.port(), "/healthz"), "ok");
    let metrics = curl(leader.port(), "/metrics");
    assert!(
        metrics.contains("scheduler_schedule_attempts_total{result=\"scheduled\",profile=\"default-scheduler\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("scheduler_pod_scheduling_duration_seconds"), "{metrics}");
    assert!(metrics.contains("scheduler_pending_pods"), "{metrics}");

    leader.kill9();
    let took = wait_log(&standby, "successfully acquired lease", LEASE + Duration::from_secs(5)).await;
    eprintln!("standby took over {took:?} after kill -9 (lease duration {LEASE:?})");
    assert!(took <= LEASE + Duration::from_secs(2), "takeover took {took:?}");
    assert_eq!(create_and_bind(&client, "after").await, "n1");
    drop(standby);
}
