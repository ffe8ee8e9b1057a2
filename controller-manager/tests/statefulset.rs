//! The StatefulSet controller against the real apiserver: ordered creation
//! with stable names, hostnames and claims; Parallel management; rolling
//! updates with a partition through ControllerRevisions; ordered scale-down.

mod common;

use std::time::Duration;

use common::*;
use k8s_openapi::api::apps::v1::{
    RollingUpdateStatefulSetStrategy, StatefulSet, StatefulSetSpec, StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PersistentVolumeClaimSpec, VolumeResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};

const T: Duration = Duration::from_secs(45);

fn statefulset(name: &str, replicas: i32, parallel: bool) -> StatefulSet {
    StatefulSet {
        metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            service_name: Some(name.into()),
            pod_management_policy: Some(if parallel { "Parallel" } else { "OrderedReady" }.into()),
            selector: LabelSelector { match_labels: Some(labels(&[("app", name)])), ..Default::default() },
            template: template(&[("app", name)], "busybox:1"),
            volume_claim_templates: Some(vec![PersistentVolumeClaim {
                metadata: ObjectMeta { name: Some("data".into()), ..Default::default() },
                spec: Some(PersistentVolumeClaimSpec {
                    access_modes: Some(vec!["ReadWriteOnce".into()]),
                    resources: Some(VolumeResourceRequirements {
                        requests: Some([("storage".to_owned(), Quantity("1Gi".into()))].into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                status: None,
            }]),
            ..Default::default()
        }),
        status: None,
    }
}

async fn names(c: &Cluster, ns: &str, app: &str) -> Vec<String> {
    let mut n: Vec<String> =
        live_pods(&c.client, ns, &format!("app={app}")).await.iter().map(|p| p.name_any()).collect();
    n.sort();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_ready_creates_one_pod_at_a_time_with_stable_identity_and_claims() {
    let c = Cluster::start(&["--controllers=statefulset"]).await;
    c.namespace("sts").await;
    let kubelet = FakeKubelet::start(&c.client, "sts", any_pod);
    kubelet.set(false);
    let sets: Api<StatefulSet> = c.api("sts");
    sets.create(&PostParams::default(), &statefulset("web", 3, false)).await.unwrap();
    wait_for(T, "web-0", || async { (names(&c, "sts", "web").await == ["web-0"]).then_some(()) }).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(names(&c, "sts", "web").await, ["web-0"], "web-1 waits for web-0 to be Running and Ready");
    kubelet.set(true);
    wait_for(T, "web-0..2 ready", || async {
        let s = sets.get("web").await.ok()?.status?;
        (s.ready_replicas == Some(3) && s.current_revision.is_some() && s.current_revision == s.update_revision)
            .then_some(())
    })
    .await;
    assert_eq!(names(&c, "sts", "web").await, ["web-0", "web-1", "web-2"]);
    for p in live_pods(&c.client, "sts", "app=web").await {
        let spec = p.spec.clone().unwrap();
        assert_eq!(spec.hostname.as_deref(), Some(p.name_any().as_str()));
        assert_eq!(spec.subdomain.as_deref(), Some("web"));
        let claim =
            spec.volumes.unwrap().into_iter().find(|v| v.name == "data").unwrap().persistent_volume_claim.unwrap();
        assert_eq!(claim.claim_name, format!("data-{}", p.name_any()));
        assert_eq!(p.labels()["statefulset.kubernetes.io/pod-name"], p.name_any());
        assert!(p.labels()["controller-revision-hash"].starts_with("web-"));
    }
    let pvcs: Api<PersistentVolumeClaim> = c.api("sts");
    let mut claims: Vec<String> =
        pvcs.list(&Default::default()).await.unwrap().items.iter().map(|p| p.name_any()).collect();
    claims.sort();
    assert_eq!(claims, ["data-web-0", "data-web-1", "data-web-2"]);

    // Scale down removes the highest ordinals; claims are retained by default.
    sets.patch("web", &PatchParams::default(), &Patch::Merge(serde_json::json!({"spec": {"replicas": 1}})))
        .await
        .unwrap();
    wait_for(T, "only web-0 left", || async { (names(&c, "sts", "web").await == ["web-0"]).then_some(()) }).await;
    assert_eq!(pvcs.list(&Default::default()).await.unwrap().items.len(), 3, "claims are retained");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_management_creates_all_pods_at_once() {
    let c = Cluster::start(&["--controllers=statefulset"]).await;
    c.namespace("par").await;
    let sets: Api<StatefulSet> = c.api("par");
    sets.create(&PostParams::default(), &statefulset("db", 3, true)).await.unwrap();
    wait_for(T, "3 pods without any ready", || async {
        (names(&c, "par", "db").await == ["db-0", "db-1", "db-2"]).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_update_respects_the_partition() {
    let c = Cluster::start(&["--controllers=statefulset"]).await;
    c.namespace("part").await;
    let _kubelet = FakeKubelet::start(&c.client, "part", any_pod);
    let sets: Api<StatefulSet> = c.api("part");
    let mut set = statefulset("app", 3, false);
    set.spec.as_mut().unwrap().update_strategy = Some(StatefulSetUpdateStrategy {
        type_: Some("RollingUpdate".into()),
        rolling_update: Some(RollingUpdateStatefulSetStrategy { partition: Some(1), max_unavailable: None }),
    });
    sets.create(&PostParams::default(), &set).await.unwrap();
    let first = wait_for(T, "3 ready", || async {
        let s = sets.get("app").await.ok()?.status?;
        (s.ready_replicas == Some(3) && s.current_revision == s.update_revision).then_some(s.current_revision.unwrap())
    })
    .await;
    sets.patch(
        "app",
        &PatchParams::default(),
        &Patch::Merge(
            serde_json::json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}}}}),
        ),
    )
    .await
    .unwrap();
    let status = wait_for(T, "ordinals 1 and 2 updated", || async {
        let s = sets.get("app").await.ok()?.status?;
        (s.updated_replicas == Some(2) && s.ready_replicas == Some(3)).then_some(s)
    })
    .await;
    assert_eq!(
        status.current_revision.as_deref(),
        Some(first.as_str()),
        "current revision stays while the partition holds"
    );
    let update = status.update_revision.unwrap();
    assert_ne!(update, first);
    for p in live_pods(&c.client, "part", "app=app").await {
        let want = if p.name_any() == "app-0" { &first } else { &update };
        assert_eq!(&p.labels()["controller-revision-hash"], want, "{} on the expected revision", p.name_any());
    }
    sets.patch(
        "app",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}})),
    )
    .await
    .unwrap();
    wait_for(T, "all updated and current", || async {
        let s = sets.get("app").await.ok()?.status?;
        (s.updated_replicas == Some(3)
            && s.ready_replicas == Some(3)
            && s.current_revision.as_deref() == Some(update.as_str()))
        .then_some(())
    })
    .await;
    let images: Vec<String> = live_pods(&c.client, "part", "app=app").await.iter().map(image_of).collect();
    assert!(images.iter().all(|i| i == "busybox:2"), "{images:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_follow_the_retention_policy() {
    use k8s_openapi::api::apps::v1::StatefulSetPersistentVolumeClaimRetentionPolicy;
    let c = Cluster::start(&["--controllers=statefulset,garbagecollector"]).await;
    c.namespace("keep").await;
    let _kubelet = FakeKubelet::start(&c.client, "keep", any_pod);
    let sets: Api<StatefulSet> = c.api("keep");
    let mut set = statefulset("kv", 2, false);
    set.spec.as_mut().unwrap().persistent_volume_claim_retention_policy =
        Some(StatefulSetPersistentVolumeClaimRetentionPolicy {
            when_deleted: Some("Delete".into()),
            when_scaled: Some("Delete".into()),
        });
    sets.create(&PostParams::default(), &set).await.unwrap();
    wait_for(T, "2 ready", || async { (sets.get("kv").await.ok()?.status?.ready_replicas == Some(2)).then_some(()) })
        .await;
    let pvcs: Api<PersistentVolumeClaim> = c.api("keep");
    let claim_names = || async {
        let mut n: Vec<String> =
            pvcs.list(&Default::default()).await.unwrap().items.iter().map(|p| p.name_any()).collect();
        n.sort();
        n
    };
    assert_eq!(claim_names().await, ["data-kv-0", "data-kv-1"]);
    sets.patch("kv", &PatchParams::default(), &Patch::Merge(serde_json::json!({"spec": {"replicas": 1}})))
        .await
        .unwrap();
    wait_for(T, "the scaled-away claim deleted with its pod", || async {
        (claim_names().await == ["data-kv-0"]).then_some(())
    })
    .await;
    sets.delete("kv", &Default::default()).await.unwrap();
    wait_for(T, "the remaining claim deleted with the set", || async { claim_names().await.is_empty().then_some(()) })
        .await;
}
