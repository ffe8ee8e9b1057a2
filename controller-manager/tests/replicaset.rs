//! The replica set controller against the real apiserver: scale up and
//! down, adoption of orphans, release of pods that stop matching, status.

mod common;

use std::time::Duration;

use common::*;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Pod, ReplicationController, ReplicationControllerSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, Patch, PatchParams, PostParams};

const T: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicaset_scales_up_and_down_with_status() {
    let c = Cluster::start(&["--controllers=replicaset"]).await;
    c.namespace("rs1").await;
    let rss: Api<ReplicaSet> = c.api("rs1");
    rss.create(&PostParams::default(), &replicaset("web", 5, &[("app", "web")])).await.unwrap();

    let pods = wait_for(T, "5 pods", || async {
        let p = live_pods(&c.client, "rs1", "app=web").await;
        (p.len() == 5).then_some(p)
    })
    .await;
    let rs = rss.get("web").await.unwrap();
    for p in &pods {
        assert_eq!(controller_uid(&p.metadata), rs.metadata.uid, "every pod is controlled by the replica set");
        let r = &p.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(r.block_owner_deletion, Some(true));
        assert!(p.metadata.name.as_ref().unwrap().starts_with("web-"));
    }
    // Ready two of them; status follows.
    for p in &pods[..2] {
        assert!(make_ready(&c.client, p).await);
    }
    wait_for(T, "status replicas=5 ready=2 available=2", || async {
        let s = rss.get("web").await.ok()?.status?;
        (s.replicas == 5
            && s.ready_replicas == Some(2)
            && s.available_replicas == Some(2)
            && s.fully_labeled_replicas == Some(5)
            && s.observed_generation == Some(1))
        .then_some(())
    })
    .await;

    // Scale down to 2: the ready pods are kept.
    rss.patch("web", &PatchParams::default(), &Patch::Merge(serde_json::json!({"spec": {"replicas": 2}})))
        .await
        .unwrap();
    let left = wait_for(T, "2 pods", || async {
        let p = live_pods(&c.client, "rs1", "app=web").await;
        (p.len() == 2).then_some(p)
    })
    .await;
    assert!(
        left.iter().all(is_ready),
        "scale-down deletes not-ready pods first: {:?}",
        left.iter().map(|p| p.metadata.name.clone()).collect::<Vec<_>>()
    );
    // No extra pods appear later.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(live_pods(&c.client, "rs1", "app=web").await.len(), 2);
    wait_for(T, "status replicas=2 observedGeneration=2", || async {
        let s = rss.get("web").await.ok()?.status?;
        (s.replicas == 2 && s.observed_generation == Some(2)).then_some(())
    })
    .await;

    let events = c.apiserver.ok(
        "1.33",
        &[
            "get",
            "events",
            "-n",
            "rs1",
            "-o",
            "custom-columns=R:.reason,M:.message,S:.source.component",
            "--no-headers",
        ],
    );
    assert!(events.contains("SuccessfulCreate") && events.contains("Created pod: web-"), "{events}");
    assert!(events.contains("SuccessfulDelete") && events.contains("replicaset-controller"), "{events}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicaset_adopts_orphans_and_releases_pods_that_stop_matching() {
    let c = Cluster::start(&["--controllers=replicaset"]).await;
    c.namespace("rs2").await;
    let pods: Api<Pod> = c.api("rs2");
    let mut newest_orphan = None;
    for name in ["orphan-a", "orphan-b"] {
        let p = pods.create(&PostParams::default(), &bare_pod(name, &[("app", "db")])).await.unwrap();
        newest_orphan = p.metadata.creation_timestamp.map(|t| t.0);
    }
    // creationTimestamp has one-second resolution: let the clock pass the
    // orphans' second so the replica set's own pods are strictly newer (the
    // deletion ranking removes newer pods first; equal times are a tie).
    let orphan_second = newest_orphan.expect("creationTimestamp set").as_second();
    wait_for(T, "the clock to pass the orphans' creation second", || async {
        (jiff::Timestamp::now().as_second() > orphan_second).then_some(())
    })
    .await;
    let rss: Api<ReplicaSet> = c.api("rs2");
    rss.create(&PostParams::default(), &replicaset("db", 3, &[("app", "db")])).await.unwrap();
    let rs = rss.get("db").await.unwrap();

    // The orphans may be seen after the first sync created pods; either way
    // both are adopted and, being older, kept when the extras are removed.
    wait_for(T, "3 pods all controlled by the replica set, orphans among them", || async {
        let p = live_pods(&c.client, "rs2", "app=db").await;
        let names: Vec<String> = p.iter().filter_map(|p| p.metadata.name.clone()).collect();
        (p.len() == 3
            && p.iter().all(|p| controller_uid(&p.metadata) == rs.metadata.uid)
            && names.contains(&"orphan-a".to_owned())
            && names.contains(&"orphan-b".to_owned()))
        .then_some(())
    })
    .await;

    // Relabel an adopted pod: it is released and replaced.
    pods.patch(
        "orphan-a",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"metadata": {"labels": {"app": "other"}}})),
    )
    .await
    .unwrap();
    wait_for(T, "orphan-a released", || async {
        let p = pods.get("orphan-a").await.ok()?;
        controller_uid(&p.metadata).is_none().then_some(())
    })
    .await;
    wait_for(T, "3 matching pods again", || async {
        (live_pods(&c.client, "rs2", "app=db").await.len() == 3).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replication_controller_keeps_its_replicas() {
    let c = Cluster::start(&["--controllers=replicationcontroller"]).await;
    c.namespace("rc").await;
    let rcs: Api<ReplicationController> = c.api("rc");
    let rc = ReplicationController {
        metadata: ObjectMeta { name: Some("legacy".into()), ..Default::default() },
        spec: Some(ReplicationControllerSpec {
            replicas: Some(3),
            selector: Some(labels(&[("app", "legacy")])),
            template: Some(template(&[("app", "legacy")], "busybox")),
            ..Default::default()
        }),
        status: None,
    };
    rcs.create(&PostParams::default(), &rc).await.unwrap();
    wait_for(T, "3 pods and status.replicas=3", || async {
        let n = live_pods(&c.client, "rc", "app=legacy").await.len();
        let s = rcs.get("legacy").await.ok()?.status?;
        (n == 3 && s.replicas == 3).then_some(())
    })
    .await;
}
