//! The kube-controller-manager binary as a process: kill -9 mid-rollout and
//! restart resumes with no extra pods; a standby takes over the Lease after
//! the leader is killed; /healthz and /metrics are served.

mod common;

use std::time::{Duration, Instant};

use common::*;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, Patch, PatchParams, PostParams};

const T: Duration = Duration::from_secs(45);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_rollout_then_restart_resumes_without_extra_pods() {
    let mut c = Cluster::start(&["--controllers=replicaset,deployment"]).await;
    c.namespace("crash").await;
    let kubelet = FakeKubelet::start(&c.client, "crash", any_pod);
    let deployments: Api<Deployment> = c.api("crash");
    deployments.create(&PostParams::default(), &deployment("web", 10, &[("app", "web")])).await.unwrap();
    wait_rolled_out(&c.client, "crash", "web", T).await;

    // Stall the rollout with new pods not ready, then kill the controller manager.
    kubelet.set(false);
    deployments
        .patch("web", &PatchParams::default(), &Patch::Merge(serde_json::json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}}}})))
        .await
        .unwrap();
    wait_for(T, "rollout in progress (13 pods)", || async {
        (live_pods(&c.client, "crash", "app=web").await.len() == 13).then_some(())
    })
    .await;
    c.cm.as_mut().unwrap().kill9();
    let replacement = start_cm(&c.apiserver, &["--controllers=replicaset,deployment"]);
    c.cm = Some(replacement);
    kubelet.set(true);

    let deadline = Instant::now() + T;
    let mut max_pods = 0;
    loop {
        let pods = live_pods(&c.client, "crash", "app=web").await;
        max_pods = max_pods.max(pods.len());
        if pods.len() == 10 && pods.iter().all(|p| image_of(p) == "busybox:2" && is_ready(p)) {
            break;
        }
        assert!(Instant::now() < deadline, "rollout did not resume: {} pods\n{}", pods.len(), c.cm_logs());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(max_pods <= 13, "{max_pods} pods existed at once after the restart; replicas + maxSurge is 13");
    wait_rolled_out(&c.client, "crash", "web", T).await;
    let rss = replica_sets(&c.client, "crash").await;
    assert_eq!(rss.len(), 2, "no replica set was created twice");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(live_pods(&c.client, "crash", "app=web").await.len(), 10, "no extra pods after settling");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standby_takes_over_the_lease_after_kill_9_of_the_leader() {
    let apiserver = tokio::task::block_in_place(|| rustkube_harness::Apiserver::start(&[]));
    let client = apiserver.client().await;
    let election = [
        "--controllers=replicaset",
        "--leader-elect=true",
        "--leader-elect-lease-duration=3s",
        "--leader-elect-renew-deadline=2s",
        "--leader-elect-retry-period=500ms",
    ];
    let mut first = start_cm(&apiserver, &election);
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
    let holder = wait_for(T, "a leader", || async {
        leases.get_opt("kube-controller-manager").await.ok().flatten()?.spec?.holder_identity
    })
    .await;
    let second = start_cm(&apiserver, &election);
    let rss: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    rss.create(&PostParams::default(), &replicaset("one", 2, &[("app", "one")])).await.unwrap();
    wait_for(T, "the leader manages", || async {
        (live_pods(&client, "default", "app=one").await.len() == 2).then_some(())
    })
    .await;

    first.kill9();
    let killed = Instant::now();
    let new_holder = wait_for(T, "the standby to take over", || async {
        let h = leases.get_opt("kube-controller-manager").await.ok().flatten()?.spec?.holder_identity?;
        (h != holder).then_some(h)
    })
    .await;
    let took = killed.elapsed();
    assert!(took < Duration::from_secs(10), "took over in {took:?}, expected within about the 3s lease duration");
    assert_ne!(new_holder, holder);
    rss.create(&PostParams::default(), &replicaset("two", 2, &[("app", "two")])).await.unwrap();
    wait_for(T, "the new leader manages", || async {
        (live_pods(&client, "default", "app=two").await.len() == 2).then_some(())
    })
    .await;
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_healthz_and_workqueue_metrics() {
    let c = Cluster::start(&["--controllers=replicaset"]).await;
    let port = c.cm.as_ref().unwrap().port();
    let rss: Api<ReplicaSet> = c.api("default");
    rss.create(&PostParams::default(), &replicaset("m", 1, &[("app", "m")])).await.unwrap();
    wait_for(T, "a pod", || async { (live_pods(&c.client, "default", "app=m").await.len() == 1).then_some(()) }).await;
    let curl = |path: &str| {
        let out = std::process::Command::new("curl")
            .args(["-sk", &format!("https://127.0.0.1:{port}{path}")])
            .output()
            .expect("running curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(curl("/healthz"), "ok");
    let metrics = curl("/metrics");
    for series in [
        "workqueue_adds_total{name=\"replicaset-controller\"}",
        "workqueue_depth{name=\"replicaset-controller\"}",
        "workqueue_work_duration_seconds_count{name=\"replicaset-controller\"}",
    ] {
        assert!(metrics.contains(series), "{series} missing from /metrics:\n{metrics}");
    }
}

#[test]
fn bad_flags_exit_non_zero_with_one_line() {
    let out = std::process::Command::new(rustkube_harness::binary("kube-controller-manager"))
        .arg("--controllers=bogus")
        .arg("--secure-port=0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("\"bogus\" is not in the list of known controllers"), "{stderr}");
    let out = std::process::Command::new(rustkube_harness::binary("kube-controller-manager"))
        .arg("--no-such-flag")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim().lines().count(), 1, "one clear line");
}
