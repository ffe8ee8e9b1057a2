//! Volumes that depend on the API, on the fake runtime against the real
//! apiserver: a projected service-account token the apiserver accepts as the
//! pod's account, and a persistentVolumeClaim that holds the pod until it is
//! Bound, then mounts its hostPath PersistentVolume.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{apiserver, kubelet, pod, wait_for, wait_phase};
use k8s_openapi::api::core::v1::{Event, PersistentVolume, PersistentVolumeClaim, Pod, ServiceAccount};
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use rustkube_harness::Apiserver;
use serde_json::json;

fn claims(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("a compact JWS");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// A kube client for `api` that authenticates with `token` only.
async fn token_client(api: &Apiserver, token: &str) -> kube::Client {
    let admin = kube::config::Kubeconfig::read_from(api.kubeconfig()).unwrap();
    let mut kubeconfig = admin.clone();
    let user = kube::config::NamedAuthInfo {
        name: "sa".into(),
        auth_info: Some(kube::config::AuthInfo { token: Some(token.to_owned().into()), ..Default::default() }),
        ..Default::default()
    };
    kubeconfig.auth_infos = vec![user];
    for c in &mut kubeconfig.contexts {
        if let Some(ctx) = c.context.as_mut() {
            ctx.user = Some("sa".into());
        }
    }
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
    config.default_retry = false;
    kube::Client::try_from(config).unwrap()
}

fn volume_dir(root: &Path, uid: &str, plugin: &str, name: &str) -> PathBuf {
    root.join("pods").join(uid).join("volumes").join(plugin).join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projected_service_account_token_authenticates_as_the_pods_account() {
    let api = apiserver();
    let client = api.client().await;
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    let sa = serde_json::from_value(json!({"metadata": {"name": "robot"}})).unwrap();
    let sa = accounts.create(&PostParams::default(), &sa).await.unwrap();
    let root = tempfile::tempdir().unwrap();
    let _kubelet = kubelet(&api, "fake-node-vol-1", "fake://", root.path(), &[]);
    let created = pod("tokened")
        .on_node("fake-node-vol-1")
        .spec_field("serviceAccountName", json!("robot"))
        .spec_field(
            "volumes",
            json!([{"name": "api-access", "projected": {"defaultMode": 0o440, "sources": [
                {"serviceAccountToken": {"path": "token", "expirationSeconds": 600}},
                {"serviceAccountToken": {"path": "vault/token", "audience": "vault"}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
            ]}}]),
        )
        .container_field("volumeMounts", json!([{"name": "api-access", "mountPath": "/var/run/secrets/tokens"}]))
        .create(&client)
        .await;
    wait_phase(&client, "tokened", "Running", Duration::from_secs(20)).await;
    let uid = created.metadata.uid.clone().unwrap();
    let dir = volume_dir(root.path(), &uid, "kubernetes.io~projected", "api-access");
    let token = std::fs::read_to_string(dir.join("token")).expect("the token file is written before the pod runs");
    let mode = std::fs::metadata(dir.join("token")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o440, "the projected volume's defaultMode");
    assert_eq!(std::fs::read_to_string(dir.join("namespace")).unwrap(), "default", "other sources still written");

    let c = claims(&token);
    assert_eq!(c["sub"], "system:serviceaccount:default:robot");
    assert_eq!(c["aud"], json!(["https://kubernetes.default.svc.cluster.local"]), "the apiserver's audience");
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 600, "the source's expirationSeconds");
    assert_eq!(c["kubernetes.io"]["pod"], json!({"name": "tokened", "uid": uid}), "bound to the pod");
    assert_eq!(c["kubernetes.io"]["serviceaccount"]["uid"], sa.metadata.uid.clone().unwrap().as_str());
    let vault = claims(&std::fs::read_to_string(dir.join("vault/token")).unwrap());
    assert_eq!(vault["aud"], json!(["vault"]));
    assert_eq!(vault["exp"].as_i64().unwrap() - vault["iat"].as_i64().unwrap(), 3600, "default expiration");

    // The apiserver takes the file's token for the pod's service account.
    let as_pod = token_client(&api, &token).await;
    let pods: Api<Pod> = Api::namespaced(as_pod.clone(), "default");
    let listed = pods.list(&ListParams::default()).await.expect("the token authenticates");
    assert!(listed.items.iter().any(|p| p.metadata.name.as_deref() == Some("tokened")));
    let review: serde_json::Value = as_pod
        .request(
            hyper::Request::post("/apis/authentication.k8s.io/v1/selfsubjectreviews")
                .header("content-type", "application/json")
                .body(
                    serde_json::to_vec(&json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}))
                        .unwrap(),
                )
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(review["status"]["userInfo"]["username"], "system:serviceaccount:default:robot");
    assert_eq!(review["status"]["userInfo"]["extra"]["authentication.kubernetes.io/pod-name"], json!(["tokened"]));

    // A resync keeps the cached token: the file is not rewritten within its life.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(std::fs::read_to_string(dir.join("token")).unwrap(), token, "no new token before 80% of its life");

    // The pod is deleted: its token no longer authenticates.
    common::delete_and_wait_gone(&client, "tokened", Duration::from_secs(20)).await;
    let refused = pods.list(&ListParams::default()).await.expect_err("a deleted pod's token is refused");
    assert!(matches!(&refused, kube::Error::Api(s) if s.code == 401), "401, got {refused:?}");
}

/// The volume code the pod worker runs on every sync, driven directly with a token manager
/// whose clock the test moves past 80% of the token's life.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_past_eighty_percent_of_its_life_is_replaced_by_an_atomic_rewrite() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    use rustkube_kubelet::token_manager::TokenManager;
    use rustkube_kubelet::volumes;

    let api = apiserver();
    let client = api.client().await;
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    accounts
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "default"}})).unwrap())
        .await
        .unwrap();
    let p = pod("rotating")
        .spec_field("serviceAccountName", json!("default"))
        .spec_field(
            "volumes",
            json!([{"name": "t", "projected": {"sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 600}}]}}]),
        )
        .create(&client)
        .await;
    let skew = Arc::new(AtomicI64::new(0));
    let clock_skew = Arc::clone(&skew);
    let tokens = TokenManager::with_clock(Arc::new(move || {
        jiff::Timestamp::now().as_second() + clock_skew.load(Ordering::SeqCst)
    }));
    let root = tempfile::tempdir().unwrap();
    let facts = rustkube_kubelet::env::PodFacts {
        host_ip: "127.0.0.1".into(),
        pod_ips: vec![],
        node_allocatable: Default::default(),
    };
    let uid = p.metadata.uid.clone().unwrap();
    let dir = volume_dir(root.path(), &uid, "kubernetes.io~projected", "t");
    let sync =
        || async { volumes::prepare(&p, root.path(), &client, &tokens, &facts).await.expect("volumes prepared") };

    sync().await;
    let first = std::fs::read_to_string(dir.join("token")).unwrap();
    let first_data = std::fs::read_link(dir.join("..data")).unwrap();
    assert_eq!(claims(&first)["sub"], "system:serviceaccount:default:default", "the pod's account");
    skew.store(470 - 10 - 1, Ordering::SeqCst);
    sync().await;
    assert_eq!(
        std::fs::read_to_string(dir.join("token")).unwrap(),
        first,
        "kept before 80% of its life less the jitter"
    );

    skew.store(481, Ordering::SeqCst);
    sync().await;
    let second = std::fs::read_to_string(dir.join("token")).unwrap();
    assert_ne!(second, first, "replaced past 80% of its 600 s life");
    assert_ne!(claims(&second)["jti"], claims(&first)["jti"]);
    let second_data = std::fs::read_link(dir.join("..data")).unwrap();
    assert_ne!(second_data, first_data, "written to a new generation, swapped in through ..data");
    assert!(!dir.join(&first_data).exists(), "the old generation is gone");
    assert_eq!(
        std::fs::read_link(dir.join("token")).unwrap(),
        Path::new("..data/token"),
        "the visible name links through ..data"
    );
    let pods: Api<Pod> = Api::namespaced(token_client(&api, &second).await, "default");
    pods.list(&ListParams::default()).await.expect("the rotated token authenticates");

    skew.store(0, Ordering::SeqCst);
    sync().await;
    assert_eq!(std::fs::read_to_string(dir.join("token")).unwrap(), second, "the fresh token is cached");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_claim_holds_the_pod_until_bound_then_its_host_path_volume_is_used() {
    let api = apiserver();
    let client = api.client().await;
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let pv_path = data.path().join("pv-data");
    let _kubelet = kubelet(&api, "fake-node-vol-2", "fake://", root.path(), &[]);

    let claims_api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "default");
    let pvc = serde_json::from_value(json!({
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "volumeName": "pv1"},
    }))
    .unwrap();
    let pvc = claims_api.create(&PostParams::default(), &pvc).await.unwrap();
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    let pv = serde_json::from_value(json!({
        "metadata": {"name": "pv1"},
        "spec": {
            "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "hostPath": {"path": pv_path.display().to_string(), "type": "DirectoryOrCreate"},
            "claimRef": {"namespace": "default", "name": "data", "uid": pvc.metadata.uid.clone().unwrap()},
        },
    }))
    .unwrap();
    volumes.create(&PostParams::default(), &pv).await.unwrap();

    pod("claimer")
        .on_node("fake-node-vol-2")
        .spec_field(
            "volumes",
            json!([{"name": "store", "persistentVolumeClaim": {"claimName": "data", "readOnly": true}}]),
        )
        .container_field("volumeMounts", json!([{"name": "store", "mountPath": "/data"}]))
        .create(&client)
        .await;
    // Unbound: a FailedMount event with upstream's reason, and the pod does not run.
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    wait_for(Duration::from_secs(20), "a FailedMount event for the unbound claim", || {
        let events = events.clone();
        async move {
            let list = events.list(&Default::default()).await.map_err(|e| e.to_string())?;
            let found = list.items.iter().any(|e| {
                e.reason.as_deref() == Some("FailedMount")
                    && e.message.as_deref().is_some_and(|m| {
                        m.contains("error processing PVC default/data: PVC default/data has non-bound phase")
                    })
            });
            if found { Ok(()) } else { Err(format!("{:?}", list.items.iter().map(|e| &e.message).collect::<Vec<_>>())) }
        }
    })
    .await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let waiting = pods.get("claimer").await.unwrap();
    assert_ne!(waiting.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Running"), "no run before binding");
    assert!(!pv_path.exists(), "the volume is not set up before the claim is bound");

    claims_api
        .patch_status("data", &PatchParams::default(), &Patch::Merge(json!({"status": {"phase": "Bound"}})))
        .await
        .unwrap();
    wait_phase(&client, "claimer", "Running", Duration::from_secs(20)).await;
    assert!(pv_path.is_dir(), "the PV's hostPath (DirectoryOrCreate) was prepared for the pod");
}
