//! The garbage collector against the real apiserver: background, foreground
//! and orphan deletion of a deployment's replica sets and pods, dangling
//! owners detected by uid, custom resources as owners, and many dependents.

mod common;

use std::time::Duration;

use common::*;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::ResourceExt;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, PostParams, PropagationPolicy};

const T: Duration = Duration::from_secs(45);

async fn deployment_with_pods(c: &Cluster, ns: &str, name: &str, replicas: i32) -> Deployment {
    c.namespace(ns).await;
    let deployments: Api<Deployment> = c.api(ns);
    deployments.create(&PostParams::default(), &deployment(name, replicas, &[("app", name)])).await.unwrap();
    wait_for(T, "pods of the deployment", || async {
        let n = live_pods(&c.client, ns, &format!("app={name}")).await.len();
        (n == usize::try_from(replicas).unwrap()).then_some(())
    })
    .await;
    deployments.get(name).await.unwrap()
}

async fn counts(c: &Cluster, ns: &str) -> (usize, usize) {
    let rss = replica_sets(&c.client, ns).await.len();
    let pods: Api<Pod> = c.api(ns);
    let pods = pods.list(&Default::default()).await.map(|l| l.items.len()).unwrap_or(usize::MAX);
    (rss, pods)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_deletion_collects_replica_sets_and_pods() {
    let c = Cluster::start(&["--controllers=replicaset,deployment,garbagecollector"]).await;
    deployment_with_pods(&c, "bg", "web", 4).await;
    let deployments: Api<Deployment> = c.api("bg");
    let dp = DeleteParams { propagation_policy: Some(PropagationPolicy::Background), ..Default::default() };
    deployments.delete("web", &dp).await.unwrap();
    wait_for(T, "replica sets and pods collected", || async { (counts(&c, "bg").await == (0, 0)).then_some(()) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreground_deletion_removes_dependents_before_the_owner() {
    let c = Cluster::start(&["--controllers=replicaset,deployment,garbagecollector"]).await;
    deployment_with_pods(&c, "fg", "web", 3).await;
    let deployments: Api<Deployment> = c.api("fg");
    let dp = DeleteParams { propagation_policy: Some(PropagationPolicy::Foreground), ..Default::default() };
    deployments.delete("web", &dp).await.unwrap();
    let deadline = std::time::Instant::now() + T;
    loop {
        let d = deployments.get_opt("web").await.unwrap();
        let (rss, pods) = counts(&c, "fg").await;
        match d {
            Some(d) => {
                assert!(d.metadata.deletion_timestamp.is_some(), "owner stays, marked deleting, while dependents go")
            }
            None => {
                assert_eq!((rss, pods), (0, 0), "the owner went only after its dependents");
                break;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "foreground deletion did not finish: {rss} rs, {pods} pods\n{}",
            c.cm_logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphan_deletion_keeps_dependents_without_the_reference() {
    let c = Cluster::start(&["--controllers=replicaset,deployment,garbagecollector"]).await;
    let d = deployment_with_pods(&c, "orph", "web", 2).await;
    let out = tokio::task::block_in_place(|| {
        c.apiserver.ok("1.33", &["delete", "deployment", "web", "-n", "orph", "--cascade=orphan"])
    });
    assert!(out.contains("deleted"), "{out}");
    let deployments: Api<Deployment> = c.api("orph");
    wait_for(T, "deployment gone", || async { deployments.get_opt("web").await.unwrap().is_none().then_some(()) })
        .await;
    let rss: Vec<ReplicaSet> = replica_sets(&c.client, "orph").await;
    assert_eq!(rss.len(), 1, "the replica set is kept");
    let refs = rss[0].metadata.owner_references.clone().unwrap_or_default();
    assert!(
        !refs.iter().any(|r| Some(&r.uid) == d.metadata.uid.as_ref()),
        "reference to the deployment removed: {refs:?}"
    );
    assert_eq!(live_pods(&c.client, "orph", "app=web").await.len(), 2, "pods are kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_with_same_name_but_other_uid_counts_as_gone() {
    let c = Cluster::start(&["--controllers=garbagecollector"]).await;
    c.namespace("uid").await;
    let cms: Api<ConfigMap> = c.api("uid");
    let owner = cms
        .create(
            &PostParams::default(),
            &ConfigMap {
                metadata: ObjectMeta { name: Some("owner".into()), ..Default::default() },
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let reference = |uid: &str| OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: "owner".into(),
        uid: uid.into(),
        ..Default::default()
    };
    let secrets: Api<Secret> = c.api("uid");
    let mk = |name: &str, uid: &str| Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            owner_references: Some(vec![reference(uid)]),
            ..Default::default()
        },
        ..Default::default()
    };
    secrets.create(&PostParams::default(), &mk("real", &owner.uid().unwrap())).await.unwrap();
    secrets.create(&PostParams::default(), &mk("stale", "00000000-0000-0000-0000-000000000000")).await.unwrap();
    wait_for(T, "secret owned by a gone uid collected", || async {
        secrets.get_opt("stale").await.unwrap().is_none().then_some(())
    })
    .await;
    assert!(secrets.get_opt("real").await.unwrap().is_some(), "the secret whose owner exists stays");
    cms.delete("owner", &DeleteParams::default()).await.unwrap();
    wait_for(T, "secret collected after its owner", || async {
        secrets.get_opt("real").await.unwrap().is_none().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_resources_own_and_are_owned() {
    let apiserver = tokio::task::block_in_place(|| rustkube_harness::Apiserver::start(&[]));
    let crd = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"#;
    let out = tokio::task::block_in_place(|| apiserver.kubectl_stdin("1.33", &["apply", "-f", "-"], crd));
    assert!(out.status.success(), "creating the CRD: {}", String::from_utf8_lossy(&out.stderr));
    let client = apiserver.client().await;
    let ar = ApiResource {
        group: "example.com".into(),
        version: "v1".into(),
        api_version: "example.com/v1".into(),
        kind: "Widget".into(),
        plural: "widgets".into(),
    };
    let widgets: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);
    let widget = wait_for(T, "the CRD served", || async {
        let w = DynamicObject::new("w1", &ar).within("default");
        widgets.create(&PostParams::default(), &w).await.ok()
    })
    .await;
    let _cm = start_cm(&apiserver, &["--controllers=garbagecollector"]);
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let owned = ConfigMap {
        metadata: ObjectMeta {
            name: Some("of-widget".into()),
            owner_references: Some(vec![OwnerReference {
                api_version: "example.com/v1".into(),
                kind: "Widget".into(),
                name: "w1".into(),
                uid: widget.uid().unwrap(),
                ..Default::default()
            }]),
            ..Default::default()
        },
        ..Default::default()
    };
    cms.create(&PostParams::default(), &owned).await.unwrap();
    // A widget owned by the config map is collected when the config map goes.
    let mut w2 = DynamicObject::new("w2", &ar).within("default");
    let cm = cms.get("of-widget").await.unwrap();
    w2.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: "of-widget".into(),
        uid: cm.uid().unwrap(),
        ..Default::default()
    }]);
    widgets.create(&PostParams::default(), &w2).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(cms.get_opt("of-widget").await.unwrap().is_some(), "owned object stays while its custom owner exists");

    widgets.delete("w1", &DeleteParams::default()).await.unwrap();
    wait_for(T, "config map owned by the widget collected", || async {
        cms.get_opt("of-widget").await.unwrap().is_none().then_some(())
    })
    .await;
    wait_for(T, "widget owned by the config map collected", || async {
        widgets.get_opt("w2").await.unwrap().is_none().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_replica_sets_of_deleted_deployments_are_all_collected() {
    // The issue's scale: 10,000 pods owned by 100 replica sets.
    const DEPLOYMENTS: usize = 100;
    const REPLICAS: i32 = 100;
    let c = Cluster::start(&["--controllers=replicaset,deployment,garbagecollector"]).await;
    c.namespace("many").await;
    let deployments: Api<Deployment> = c.api("many");
    for i in 0..DEPLOYMENTS {
        deployments
            .create(&PostParams::default(), &deployment(&format!("d{i}"), REPLICAS, &[("app", &format!("d{i}"))]))
            .await
            .unwrap();
    }
    let total = DEPLOYMENTS * usize::try_from(REPLICAS).unwrap();
    let started = std::time::Instant::now();
    wait_for(Duration::from_secs(300), &format!("{total} pods"), || async {
        (counts(&c, "many").await == (DEPLOYMENTS, total)).then_some(())
    })
    .await;
    for i in 0..DEPLOYMENTS {
        deployments.delete(&format!("d{i}"), &DeleteParams::default()).await.unwrap();
    }
    eprintln!("created {total} pods in {:?}", started.elapsed());
    let started = std::time::Instant::now();
    wait_for(Duration::from_secs(300), "everything collected", || async {
        (counts(&c, "many").await == (0, 0)).then_some(())
    })
    .await;
    eprintln!("collected {DEPLOYMENTS} replica sets and {total} pods in {:?}", started.elapsed());
}
