//! The service-account controller and the root CA certificate publisher
//! against the real apiserver: every live namespace gets the `default`
//! ServiceAccount and the `kube-root-ca.crt` ConfigMap, deleted or tampered
//! ones come back, terminating namespaces are left alone, and a restarted
//! controller manager converges.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use rustkube_harness::Apiserver;

const T: Duration = Duration::from_secs(30);

const CONTROLLERS: &str = "--controllers=serviceaccount,root-ca-cert-publisher";

/// Upstream's `rootcacertpublisher.Description`, word for word.
const DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

/// The CA in the kubeconfig the controller manager is given, as PEM.
fn kubeconfig_ca(apiserver: &Apiserver) -> String {
    let config = kube::config::Kubeconfig::read_from(apiserver.kubeconfig()).expect("reading admin.kubeconfig");
    let data = config
        .clusters
        .first()
        .and_then(|c| c.cluster.as_ref())
        .and_then(|c| c.certificate_authority_data.clone())
        .expect("admin.kubeconfig carries certificate-authority-data");
    let der: ByteString = serde_json::from_value(serde_json::Value::String(data)).expect("base64 CA data");
    String::from_utf8(der.0).expect("PEM CA data")
}

fn pki_file(apiserver: &Apiserver, name: &str) -> PathBuf {
    apiserver.dir.path().join("pki").join(name)
}

/// Waits for the `default` ServiceAccount in `ns` and returns it.
async fn wait_default_account(client: &Client, ns: &str) -> ServiceAccount {
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    wait_for(T, &format!("service account {ns}/default"), || async { api.get_opt("default").await.ok().flatten() })
        .await
}

fn is_published(cm: &ConfigMap, ca: &str) -> bool {
    let want = BTreeMap::from([("ca.crt".to_owned(), ca.to_owned())]);
    cm.data.as_ref() == Some(&want)
        && cm.annotations().get("kubernetes.io/description").map(String::as_str) == Some(DESCRIPTION)
}

/// Waits until `ns` holds `kube-root-ca.crt` with exactly `{ca.crt: ca}` and
/// upstream's description annotation, and returns it.
async fn wait_published(client: &Client, ns: &str, ca: &str) -> ConfigMap {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    wait_for(T, &format!("configmap {ns}/kube-root-ca.crt publishing the root CA"), || async {
        api.get_opt("kube-root-ca.crt").await.ok().flatten().filter(|cm| is_published(cm, ca))
    })
    .await
}

async fn delete_namespace(client: &Client, name: &str) {
    Api::<Namespace>::all(client.clone()).delete(name, &DeleteParams::default()).await.expect("deleting namespace");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_account_and_root_ca_appear_in_existing_and_new_namespaces() {
    let c = Cluster::start(&[CONTROLLERS]).await;
    let ca = kubeconfig_ca(&c.apiserver);
    let ca_file = std::fs::read_to_string(pki_file(&c.apiserver, "ca.crt")).expect("reading the apiserver's CA file");
    assert_eq!(ca.trim(), ca_file.trim(), "the kubeconfig trusts the apiserver's CA");

    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        wait_default_account(&c.client, ns).await;
        let cm = wait_published(&c.client, ns, &ca).await;
        assert_eq!(cm.data.unwrap()["ca.crt"], ca, "{ns}: ca.crt is the kubeconfig's CA");
    }

    c.namespace("fresh").await;
    let sa = wait_default_account(&c.client, "fresh").await;
    assert_eq!(sa.metadata.namespace.as_deref(), Some("fresh"));
    let cm = wait_published(&c.client, "fresh", &ca).await;
    assert_eq!(cm.annotations()["kubernetes.io/description"], DESCRIPTION, "upstream's description annotation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_or_tampered_objects_are_restored() {
    let c = Cluster::start(&[CONTROLLERS]).await;
    let ca = kubeconfig_ca(&c.apiserver);
    c.namespace("heal").await;
    let accounts: Api<ServiceAccount> = c.api("heal");
    let cms: Api<ConfigMap> = c.api("heal");
    let first = wait_default_account(&c.client, "heal").await;
    wait_published(&c.client, "heal", &ca).await;

    accounts.delete("default", &DeleteParams::default()).await.unwrap();
    wait_for(T, "the deleted default service account recreated", || async {
        let sa = accounts.get_opt("default").await.ok().flatten()?;
        (sa.uid() != first.uid()).then_some(())
    })
    .await;

    // Wrong CA, an extra key and no annotation: all put back as upstream does.
    let tamper = serde_json::json!({
        "metadata": {"annotations": {"kubernetes.io/description": null}},
        "data": {"ca.crt": "tampered", "extra": "x"},
    });
    cms.patch("kube-root-ca.crt", &PatchParams::default(), &Patch::Merge(tamper)).await.unwrap();
    let restored = wait_published(&c.client, "heal", &ca).await;
    assert!(!restored.data.unwrap().contains_key("extra"), "data is exactly {{ca.crt}}");

    // Only the annotation missing is enough to be restored too.
    let strip = serde_json::json!({"metadata": {"annotations": {"kubernetes.io/description": null}}});
    cms.patch("kube-root-ca.crt", &PatchParams::default(), &Patch::Merge(strip)).await.unwrap();
    wait_published(&c.client, "heal", &ca).await;

    let before = cms.get("kube-root-ca.crt").await.unwrap();
    cms.delete("kube-root-ca.crt", &DeleteParams::default()).await.unwrap();
    let recreated = wait_published(&c.client, "heal", &ca).await;
    assert_ne!(recreated.uid(), before.uid(), "a new configmap after the delete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminating_namespace_gets_nothing_recreated() {
    // Without the namespace controller a deleted namespace stays Terminating.
    let c = Cluster::start(&[CONTROLLERS]).await;
    let ca = kubeconfig_ca(&c.apiserver);
    for ns in ["going", "staying"] {
        c.namespace(ns).await;
        wait_default_account(&c.client, ns).await;
        wait_published(&c.client, ns, &ca).await;
    }
    delete_namespace(&c.client, "going").await;
    let namespaces: Api<Namespace> = Api::all(c.client.clone());
    let going = namespaces.get("going").await.unwrap();
    assert_eq!(going.status.and_then(|s| s.phase).as_deref(), Some("Terminating"));

    let dp = DeleteParams::default();
    for ns in ["going", "staying"] {
        Api::<ServiceAccount>::namespaced(c.client.clone(), ns).delete("default", &dp).await.unwrap();
        Api::<ConfigMap>::namespaced(c.client.clone(), ns).delete("kube-root-ca.crt", &dp).await.unwrap();
    }
    // The live namespace's objects coming back shows both controllers saw the deletes.
    wait_default_account(&c.client, "staying").await;
    wait_published(&c.client, "staying", &ca).await;
    let accounts: Api<ServiceAccount> = c.api("going");
    let cms: Api<ConfigMap> = c.api("going");
    let watch_until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < watch_until {
        assert!(
            accounts.get_opt("default").await.unwrap().is_none(),
            "no default service account recreated in a terminating namespace\n{}",
            c.cm_logs()
        );
        assert!(
            cms.get_opt("kube-root-ca.crt").await.unwrap().is_none(),
            "no kube-root-ca.crt recreated in a terminating namespace\n{}",
            c.cm_logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_deletion_completes_with_every_controller_running() {
    let c = Cluster::start(&[]).await;
    let ca = kubeconfig_ca(&c.apiserver);
    c.namespace("short-lived").await;
    wait_default_account(&c.client, "short-lived").await;
    wait_published(&c.client, "short-lived", &ca).await;
    delete_namespace(&c.client, "short-lived").await;
    let namespaces: Api<Namespace> = Api::all(c.client.clone());
    wait_for(T, "the namespace removed despite the default account and root CA", || async {
        namespaces.get_opt("short-lived").await.unwrap().is_none().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_mid_way_converges() {
    let mut c = Cluster::start(&[CONTROLLERS]).await;
    let ca = kubeconfig_ca(&c.apiserver);
    c.namespace("before").await;
    wait_default_account(&c.client, "before").await;
    wait_published(&c.client, "before", &ca).await;

    c.cm.as_mut().unwrap().kill9();
    // Changes the controllers cannot see while down.
    c.namespace("during").await;
    Api::<ServiceAccount>::namespaced(c.client.clone(), "before")
        .delete("default", &DeleteParams::default())
        .await
        .unwrap();
    let tamper = serde_json::json!({"data": {"ca.crt": "tampered"}});
    Api::<ConfigMap>::namespaced(c.client.clone(), "before")
        .patch("kube-root-ca.crt", &PatchParams::default(), &Patch::Merge(tamper))
        .await
        .unwrap();
    let during: Api<ServiceAccount> = c.api("during");
    assert!(during.get_opt("default").await.unwrap().is_none(), "nothing runs while the controller manager is down");

    c.cm = Some(start_cm(&c.apiserver, &[CONTROLLERS]));
    for ns in ["before", "during", "default"] {
        wait_default_account(&c.client, ns).await;
        wait_published(&c.client, ns, &ca).await;
    }
    // Converged means quiet: a second restart writes nothing new.
    let rv = |cm: ConfigMap| cm.resource_version();
    let cms: Api<ConfigMap> = c.api("during");
    let settled = rv(cms.get("kube-root-ca.crt").await.unwrap());
    c.cm.as_mut().unwrap().kill9();
    c.cm = Some(start_cm(&c.apiserver, &[CONTROLLERS]));
    c.namespace("after").await;
    wait_published(&c.client, "after", &ca).await;
    assert_eq!(rv(cms.get("kube-root-ca.crt").await.unwrap()), settled, "an up-to-date configmap is not rewritten");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_ca_file_flag_is_published_instead_of_the_kubeconfig_ca() {
    let apiserver = tokio::task::block_in_place(|| Apiserver::start(&[]));
    let client = apiserver.client().await;
    // Any PEM certificate other than the kubeconfig's CA tells the two apart.
    let file = pki_file(&apiserver, "apiserver.crt");
    let bundle = std::fs::read_to_string(&file).expect("reading the apiserver's serving certificate");
    assert_ne!(bundle.trim(), kubeconfig_ca(&apiserver).trim());
    let flag = format!("--root-ca-file={}", file.display());
    // The daemon prints its log if the wait below fails.
    let _cm = start_cm(&apiserver, &["--controllers=root-ca-cert-publisher", &flag]);
    wait_published(&client, "default", &bundle).await;
}

#[test]
fn without_any_root_ca_the_controller_manager_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("insecure.kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n\
         contexts: [{name: c, context: {cluster: k, user: u}}]\n\
         clusters: [{name: k, cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}]\n\
         users: [{name: u, user: {token: t}}]\n",
    )
    .unwrap();
    let out = std::process::Command::new(rustkube_harness::binary("kube-controller-manager"))
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .args(["--controllers=root-ca-cert-publisher", "--leader-elect=false"])
        .args(["--bind-address=127.0.0.1", "--secure-port=0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "exits non-zero without a root CA: {stderr}");
    assert!(
        stderr.contains(
            "starting controller root-ca-certificate-publisher-controller: no root CA to publish: --root-ca-file is not set"
        ),
        "says which controller and why: {stderr}"
    );

    // With --root-ca-file naming something that is not PEM, the same refusal names the file.
    let bogus = dir.path().join("bogus.crt");
    std::fs::write(&bogus, "not a certificate").unwrap();
    let out = std::process::Command::new(rustkube_harness::binary("kube-controller-manager"))
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .arg(format!("--root-ca-file={}", bogus.display()))
        .args(["--controllers=root-ca-cert-publisher", "--leader-elect=false"])
        .args(["--bind-address=127.0.0.1", "--secure-port=0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "exits non-zero with a bad --root-ca-file: {stderr}");
    assert!(stderr.contains(&format!("error parsing root-ca-file at {}", bogus.display())), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_default_account_is_left_alone() {
    let apiserver = tokio::task::block_in_place(|| Apiserver::start(&[]));
    let client = apiserver.client().await;
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    let mine = ServiceAccount {
        metadata: ObjectMeta {
            name: Some("default".into()),
            labels: Some(labels(&[("made-by", "test")])),
            ..Default::default()
        },
        automount_service_account_token: Some(false),
        ..Default::default()
    };
    let created = accounts.create(&PostParams::default(), &mine).await.unwrap();
    let _cm = start_cm(&apiserver, &[CONTROLLERS]);
    // A fresh namespace's account shows the controller has synced and run.
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns =
        Namespace { metadata: ObjectMeta { name: Some("probe".into()), ..Default::default() }, ..Default::default() };
    namespaces.create(&PostParams::default(), &ns).await.unwrap();
    wait_default_account(&client, "probe").await;
    let now = accounts.get("default").await.unwrap();
    assert_eq!(now.uid(), created.uid(), "the existing default account is kept");
    assert_eq!(now.resource_version(), created.resource_version(), "and not rewritten");
}
