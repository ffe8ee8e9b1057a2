//! The deployment controller against the real apiserver and the real
//! kubectl: rolling updates that keep availability, Recreate, rollback,
//! pause/resume/restart, proportional scaling and the progress deadline.

mod common;

use std::time::Duration;

use common::*;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentStrategy, RollingUpdateDeployment};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};

const T: Duration = Duration::from_secs(45);

fn set_image(image: &str) -> Patch<serde_json::Value> {
    Patch::Merge(serde_json::json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}}}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_update_of_10_never_drops_below_min_available() {
    let c = Cluster::start(&["--controllers=replicaset,deployment"]).await;
    c.namespace("roll").await;
    let _kubelet = FakeKubelet::start(&c.client, "roll", any_pod);
    let deployments: Api<Deployment> = c.api("roll");
    deployments.create(&PostParams::default(), &deployment("web", 10, &[("app", "web")])).await.unwrap();
    let d = wait_rolled_out(&c.client, "roll", "web", T).await;
    assert_eq!(d.annotations().get("deployment.kubernetes.io/revision").map(String::as_str), Some("1"));

    deployments.patch("web", &PatchParams::default(), &set_image("busybox:2")).await.unwrap();
    // maxSurge 25% of 10 rounds up to 3, maxUnavailable 25% rounds down to 2.
    let (mut min_ready, mut max_total) = (usize::MAX, 0);
    let deadline = std::time::Instant::now() + T;
    loop {
        let pods = live_pods(&c.client, "roll", "app=web").await;
        min_ready = min_ready.min(pods.iter().filter(|p| is_ready(p)).count());
        max_total = max_total.max(pods.len());
        let done = pods.len() == 10 && pods.iter().all(|p| image_of(p) == "busybox:2" && is_ready(p));
        if done {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "rollout did not finish: {} pods\n{}", pods.len(), c.cm_logs());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(min_ready >= 8, "available pods dropped to {min_ready}, below replicas - maxUnavailable = 8");
    assert!(max_total <= 13, "{max_total} pods existed at once, above replicas + maxSurge = 13");
    let d = wait_rolled_out(&c.client, "roll", "web", T).await;
    assert_eq!(d.annotations().get("deployment.kubernetes.io/revision").map(String::as_str), Some("2"));
    let rss = replica_sets(&c.client, "roll").await;
    assert_eq!(rss.len(), 2, "one old, one new replica set");
    let new = rss.iter().find(|rs| rs.spec.as_ref().unwrap().replicas == Some(10)).expect("new rs at 10");
    let hash = new.labels().get("pod-template-hash").expect("pod-template-hash label").clone();
    assert_eq!(new.name_any(), format!("web-{hash}"));
    assert_eq!(new.annotations().get("deployment.kubernetes.io/desired-replicas").map(String::as_str), Some("10"));
    assert_eq!(new.annotations().get("deployment.kubernetes.io/max-replicas").map(String::as_str), Some("13"));
    let conds = d.status.unwrap().conditions.unwrap();
    let progressing = conds.iter().find(|c| c.type_ == "Progressing").unwrap();
    assert_eq!(progressing.reason.as_deref(), Some("NewReplicaSetAvailable"));
    assert_eq!(
        progressing.message.as_deref(),
        Some(format!("ReplicaSet \"web-{hash}\" has successfully progressed.").as_str())
    );
    let available = conds.iter().find(|c| c.type_ == "Available").unwrap();
    assert_eq!((available.status.as_str(), available.reason.as_deref()), ("True", Some("MinimumReplicasAvailable")));

    let events = c.apiserver.ok(
        "1.33",
        &[
            "get",
            "events",
            "-n",
            "roll",
            "--field-selector",
            "reason=ScalingReplicaSet",
            "-o",
            "custom-columns=M:.message",
            "--no-headers",
        ],
    );
    assert!(events.contains(&format!("Scaled up replica set web-{hash} to 3")), "{events}");
    assert!(events.contains("Scaled down replica set") && events.contains("from 10"), "{events}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_rollout_undo_history_and_status() {
    let c = Cluster::start(&["--controllers=replicaset,deployment"]).await;
    c.namespace("undo").await;
    let _kubelet = FakeKubelet::start(&c.client, "undo", any_pod);
    let deployments: Api<Deployment> = c.api("undo");
    deployments.create(&PostParams::default(), &deployment("app", 3, &[("app", "a")])).await.unwrap();
    let kubectl = |args: &[&str]| tokio::task::block_in_place(|| c.apiserver.ok("1.33", args));
    let out = kubectl(&["rollout", "status", "deployment/app", "-n", "undo", "--timeout=60s"]);
    assert!(out.contains("successfully rolled out"), "{out}");

    kubectl(&["set", "image", "deployment/app", "c=busybox:2", "-n", "undo"]);
    let out = kubectl(&["rollout", "status", "deployment/app", "-n", "undo", "--timeout=60s"]);
    assert!(out.contains("successfully rolled out"), "{out}");
    let history = kubectl(&["rollout", "history", "deployment/app", "-n", "undo"]);
    let revisions: Vec<&str> = history.lines().skip(2).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(revisions, ["1", "2"], "{history}");

    let out = kubectl(&["rollout", "undo", "deployment/app", "-n", "undo"]);
    assert!(out.contains("rolled back"), "{out}");
    let out = kubectl(&["rollout", "status", "deployment/app", "-n", "undo", "--timeout=60s"]);
    assert!(out.contains("successfully rolled out"), "{out}");
    let d = wait_rolled_out(&c.client, "undo", "app", T).await;
    let image = d.spec.unwrap().template.spec.unwrap().containers[0].image.clone();
    assert_eq!(image.as_deref(), Some("busybox:1"), "rolled back to revision 1's template");
    assert_eq!(d.metadata.annotations.unwrap()["deployment.kubernetes.io/revision"], "3");
    let rss = replica_sets(&c.client, "undo").await;
    assert_eq!(rss.len(), 2, "the old replica set was reused, not a third created");
    let reused =
        rss.iter().find(|rs| rs.annotations()["deployment.kubernetes.io/revision"] == "3").expect("revision 3");
    assert_eq!(reused.annotations()["deployment.kubernetes.io/revision-history"], "1");
    let pods = live_pods(&c.client, "undo", "app=a").await;
    assert!(pods.iter().all(|p| image_of(p) == "busybox:1"), "all pods back on busybox:1");

    let out = kubectl(&["rollout", "undo", "deployment/app", "-n", "undo", "--to-revision=2"]);
    assert!(out.contains("rolled back"), "{out}");
    let out = kubectl(&["rollout", "status", "deployment/app", "-n", "undo", "--timeout=60s"]);
    assert!(out.contains("successfully rolled out"), "{out}");
    let history = kubectl(&["rollout", "history", "deployment/app", "-n", "undo"]);
    let revisions: Vec<&str> = history.lines().skip(2).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(revisions, ["3", "4"], "{history}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_and_restart() {
    let c = Cluster::start(&["--controllers=replicaset,deployment"]).await;
    c.namespace("pause").await;
    let _kubelet = FakeKubelet::start(&c.client, "pause", any_pod);
    let deployments: Api<Deployment> = c.api("pause");
    deployments.create(&PostParams::default(), &deployment("p", 2, &[("app", "p")])).await.unwrap();
    wait_rolled_out(&c.client, "pause", "p", T).await;
    let kubectl = |args: &[&str]| tokio::task::block_in_place(|| c.apiserver.ok("1.33", args));

    kubectl(&["rollout", "pause", "deployment/p", "-n", "pause"]);
    kubectl(&["set", "image", "deployment/p", "c=busybox:2", "-n", "pause"]);
    wait_for(T, "Progressing=Unknown DeploymentPaused", || async {
        let d = deployments.get("p").await.ok()?;
        let conds = d.status?.conditions?;
        conds
            .iter()
            .any(|c| {
                c.type_ == "Progressing" && c.reason.as_deref() == Some("DeploymentPaused") && c.status == "Unknown"
            })
            .then_some(())
    })
    .await;
    assert_eq!(replica_sets(&c.client, "pause").await.len(), 1, "no new replica set while paused");

    kubectl(&["rollout", "resume", "deployment/p", "-n", "pause"]);
    wait_for(T, "new replica set after resume", || async {
        (replica_sets(&c.client, "pause").await.len() == 2).then_some(())
    })
    .await;
    wait_rolled_out(&c.client, "pause", "p", T).await;

    kubectl(&["rollout", "restart", "deployment/p", "-n", "pause"]);
    wait_for(T, "a third replica set after restart", || async {
        (replica_sets(&c.client, "pause").await.len() == 3).then_some(())
    })
    .await;
    let d = wait_rolled_out(&c.client, "pause", "p", T).await;
    assert_eq!(d.annotations()["deployment.kubernetes.io/revision"], "3");
    let pods = live_pods(&c.client, "pause", "app=p").await;
    assert!(
        pods.iter().all(|p| p.annotations().contains_key("kubectl.kubernetes.io/restartedAt")),
        "pods restarted with the new template"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreate_removes_old_pods_before_creating_new_ones() {
    let c = Cluster::start(&["--controllers=replicaset,deployment"]).await;
    c.namespace("recreate").await;
    let _kubelet = FakeKubelet::start(&c.client, "recreate", any_pod);
    let deployments: Api<Deployment> = c.api("recreate");
    let mut d = deployment("r", 4, &[("app", "r")]);
    d.spec.as_mut().unwrap().strategy =
        Some(DeploymentStrategy { type_: Some("Recreate".into()), rolling_update: None });
    deployments.create(&PostParams::default(), &d).await.unwrap();
    wait_rolled_out(&c.client, "recreate", "r", T).await;
    deployments.patch("r", &PatchParams::default(), &set_image("busybox:2")).await.unwrap();
    let deadline = std::time::Instant::now() + T;
    loop {
        let pods = live_pods(&c.client, "recreate", "app=r").await;
        let old = pods.iter().filter(|p| image_of(p) == "busybox:1").count();
        let new = pods.len() - old;
        assert!(old == 0 || new == 0, "old and new pods coexisted: {old} old, {new} new");
        if new == 4 && pods.iter().all(is_ready) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "recreate did not finish\n{}", c.cm_logs());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    wait_rolled_out(&c.client, "recreate", "r", T).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_mid_rollout_is_proportional_and_deadline_is_reported() {
    let c = Cluster::start(&["--controllers=replicaset,deployment"]).await;
    c.namespace("prop").await;
    // Only v1 pods ever become ready, so the rollout to v2 stalls.
    let _kubelet = FakeKubelet::start(&c.client, "prop", |p| image_of(p) == "busybox:1");
    let deployments: Api<Deployment> = c.api("prop");
    let mut d = deployment("s", 10, &[("app", "s")]);
    let spec = d.spec.as_mut().unwrap();
    spec.progress_deadline_seconds = Some(3);
    spec.strategy = Some(DeploymentStrategy {
        type_: Some("RollingUpdate".into()),
        rolling_update: Some(RollingUpdateDeployment {
            max_surge: Some(IntOrString::Int(3)),
            max_unavailable: Some(IntOrString::Int(2)),
        }),
    });
    deployments.create(&PostParams::default(), &d).await.unwrap();
    wait_rolled_out(&c.client, "prop", "s", T).await;
    deployments.patch("s", &PatchParams::default(), &set_image("busybox:2")).await.unwrap();
    // Stalls at old 8 + new 5 = 13 (surge 3), with the 5 new pods not ready.
    wait_for(T, "stalled rollout at 8 old + 5 new", || async {
        let rss = replica_sets(&c.client, "prop").await;
        let mut sizes: Vec<i32> = rss.iter().map(|rs| rs.spec.as_ref().unwrap().replicas.unwrap()).collect();
        sizes.sort();
        (sizes == [5, 8]).then_some(())
    })
    .await;
    let out = tokio::task::block_in_place(|| {
        c.apiserver.kubectl("1.33", &["rollout", "status", "deployment/s", "-n", "prop", "--timeout=30s"])
    });
    assert!(!out.status.success(), "rollout status fails once the deadline passes");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("exceeded its progress deadline"), "{stderr}");
    let d = deployments.get("s").await.unwrap();
    let cond = d.status.unwrap().conditions.unwrap().into_iter().find(|c| c.type_ == "Progressing").unwrap();
    assert_eq!((cond.status.as_str(), cond.reason.as_deref()), ("False", Some("ProgressDeadlineExceeded")));

    // Scale 10 → 20: the 7 extra replicas (20+3 allowed − 13 now... ) are spread by size.
    deployments
        .patch("s", &PatchParams::default(), &Patch::Merge(serde_json::json!({"spec": {"replicas": 20}})))
        .await
        .unwrap();
    let sizes = wait_for(T, "proportional scale to 23 total", || async {
        let rss = replica_sets(&c.client, "prop").await;
        let mut sizes: Vec<i32> = rss.iter().map(|rs| rs.spec.as_ref().unwrap().replicas.unwrap()).collect();
        sizes.sort();
        (sizes.iter().sum::<i32>() == 23).then_some(sizes)
    })
    .await;
    // 13 → 23 adds 10: old 8 gets round(8*23/13)-8 = 6, new 5 gets the remaining 4 → [9, 14].
    assert_eq!(sizes, [9, 14], "both replica sets grew in proportion");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_events_are_coalesced_by_count() {
    use k8s_openapi::api::core::v1::Event;
    let c = Cluster::start(&["--controllers=replicaset,deployment"]).await;
    c.namespace("ev").await;
    let deployments: Api<Deployment> = c.api("ev");
    deployments.create(&PostParams::default(), &deployment("e", 1, &[("app", "e")])).await.unwrap();
    wait_for(T, "1 pod", || async { (live_pods(&c.client, "ev", "app=e").await.len() == 1).then_some(()) }).await;
    for replicas in [2, 1, 2] {
        deployments
            .patch("e", &PatchParams::default(), &Patch::Merge(serde_json::json!({"spec": {"replicas": replicas}})))
            .await
            .unwrap();
        let want = usize::try_from(replicas).unwrap();
        wait_for(T, "scaled", || async { (live_pods(&c.client, "ev", "app=e").await.len() == want).then_some(()) })
            .await;
    }
    let events: Api<Event> = c.api("ev");
    let scaled_up = wait_for(T, "one event with count 2", || async {
        let list = events.list(&Default::default()).await.ok()?;
        let matching: Vec<Event> = list
            .items
            .into_iter()
            .filter(|e| {
                e.message
                    .as_deref()
                    .is_some_and(|m| m.starts_with("Scaled up replica set e-") && m.ends_with(" to 2 from 1"))
            })
            .collect();
        (matching.len() == 1 && matching[0].count == Some(2)).then_some(matching)
    })
    .await;
    let e = &scaled_up[0];
    assert_eq!(e.reason.as_deref(), Some("ScalingReplicaSet"));
    assert_eq!(e.source.as_ref().and_then(|s| s.component.as_deref()), Some("deployment-controller"));
    assert_eq!(e.involved_object.kind.as_deref(), Some("Deployment"));
}
