//! ServiceAccount admission against the real kube-apiserver: a pod's account
//! defaults to `default` and must exist; the `kube-api-access-*` projected
//! volume is mounted into every container unless automount is off; an
//! account's imagePullSecrets fill a pod without any; mirror pods are left
//! alone; `--disable-admission-plugins` turns it off, and the real kubectl
//! shows upstream's refusal. Also NamespaceLifecycle's refusal, as upstream's
//! Status with its `NamespaceTerminating` cause.

mod support;

use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use support::{Apiserver, admin, kubectl_output};

const TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

async fn namespace(c: &kube::Client, ns: &str) {
    let namespaces: Api<Namespace> = Api::all(c.clone());
    namespaces
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap())
        .await
        .unwrap();
}

async fn account(c: &kube::Client, ns: &str, body: Value) {
    let accounts: Api<ServiceAccount> = Api::namespaced(c.clone(), ns);
    accounts.create(&PostParams::default(), &serde_json::from_value(body).unwrap()).await.unwrap();
}

/// Creates `pod` in `ns`: the stored pod as JSON, or the refusal's code and message.
async fn create(c: &kube::Client, ns: &str, pod: Value) -> Result<Value, (u16, String)> {
    let pods: Api<Pod> = Api::namespaced(c.clone(), ns);
    match pods.create(&PostParams::default(), &serde_json::from_value(pod).unwrap()).await {
        Ok(p) => Ok(serde_json::to_value(p).unwrap()),
        Err(kube::Error::Api(s)) => Err((s.code, s.message)),
        Err(other) => panic!("creating a pod failed outside the API: {other:?}"),
    }
}

fn pod(name: &str, spec: Value) -> Value {
    json!({"metadata": {"name": name}, "spec": spec})
}

fn busybox(name: &str) -> Value {
    json!({"name": name, "image": "busybox"})
}

fn mounts_at_token_path(c: &Value) -> Vec<Value> {
    c["volumeMounts"].as_array().into_iter().flatten().filter(|m| m["mountPath"] == TOKEN_PATH).cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_run_as_an_existing_account_with_the_api_access_volume_mounted() {
    let s = Apiserver::start(&["--enable-admission-plugins=ServiceAccount"]);
    let c = admin(&s).await;
    namespace(&c, "sa").await;

    // No `default` account yet: refused as upstream, with the pod's (generate)name.
    let refused = create(&c, "sa", pod("early", json!({"containers": [busybox("c")]}))).await.unwrap_err();
    assert_eq!(refused.0, 403, "{refused:?}");
    assert_eq!(
        refused.1,
        "pods \"early\" is forbidden: error looking up service account sa/default: serviceaccount \"default\" not found"
    );
    let generated =
        create(&c, "sa", json!({"metadata": {"generateName": "web-"}, "spec": {"containers": [busybox("c")]}}))
            .await
            .unwrap_err();
    assert!(generated.1.starts_with("pods \"web-\" is forbidden"), "{generated:?}");
    let named = create(&c, "sa", pod("named", json!({"serviceAccountName": "robot", "containers": [busybox("c")]})))
        .await
        .unwrap_err();
    assert!(named.1.contains("serviceaccount \"robot\" not found"), "{named:?}");

    account(&c, "sa", json!({"metadata": {"name": "default"}})).await;
    let p = create(
        &c,
        "sa",
        pod(
            "web",
            json!({
                "initContainers": [busybox("init")],
                "containers": [
                    busybox("app"),
                    {"name": "own", "image": "busybox", "volumeMounts": [{"name": "mine", "mountPath": TOKEN_PATH}]},
                ],
                "volumes": [{"name": "mine", "emptyDir": {}}],
            }),
        ),
    )
    .await
    .unwrap();
    let spec = &p["spec"];
    assert_eq!((&spec["serviceAccountName"], &spec["serviceAccount"]), (&json!("default"), &json!("default")));
    let volumes = spec["volumes"].as_array().unwrap();
    let access: Vec<&Value> =
        volumes.iter().filter(|v| v["name"].as_str().unwrap().starts_with("kube-api-access-")).collect();
    assert_eq!(access.len(), 1, "one API-access volume: {volumes:?}");
    let volume_name = access[0]["name"].as_str().unwrap();
    assert_eq!(volume_name.len(), "kube-api-access-".len() + 5, "a five-character suffix: {volume_name}");
    assert_eq!(
        access[0]["projected"],
        json!({
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ],
        })
    );
    let expected_mount = json!({"name": volume_name, "readOnly": true, "mountPath": TOKEN_PATH});
    assert_eq!(mounts_at_token_path(&spec["initContainers"][0]), std::slice::from_ref(&expected_mount));
    assert_eq!(mounts_at_token_path(&spec["containers"][0]), [expected_mount]);
    assert_eq!(
        mounts_at_token_path(&spec["containers"][1]),
        [json!({"name": "mine", "mountPath": TOKEN_PATH})],
        "a container's own mount at the token path is kept and nothing is added"
    );

    // Every container already mounts something there: no volume is added.
    let own = create(
        &c,
        "sa",
        pod(
            "own",
            json!({
                "containers": [{"name": "c", "image": "busybox", "volumeMounts": [{"name": "m", "mountPath": TOKEN_PATH}]}],
                "volumes": [{"name": "m", "emptyDir": {}}],
            }),
        ),
    )
    .await
    .unwrap();
    assert_eq!(own["spec"]["volumes"].as_array().unwrap().len(), 1, "{own}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automount_pull_secrets_mirror_pods_and_turning_the_plugin_off() {
    let s = Apiserver::start(&["--enable-admission-plugins=ServiceAccount"]);
    let c = admin(&s).await;
    namespace(&c, "opt").await;
    account(&c, "opt", json!({"metadata": {"name": "default"}})).await;
    account(
        &c,
        "opt",
        json!({"metadata": {"name": "quiet"}, "automountServiceAccountToken": false, "imagePullSecrets": [{"name": "regcred"}]}),
    )
    .await;

    let has_access = |p: &Value| {
        p["spec"]["volumes"]
            .as_array()
            .is_some_and(|v| v.iter().any(|v| v["name"].as_str().unwrap().starts_with("kube-api-access-")))
    };
    // The account turns automount off; the pod inherits its pull secrets.
    let quiet = create(&c, "opt", pod("quiet", json!({"serviceAccountName": "quiet", "containers": [busybox("c")]})))
        .await
        .unwrap();
    assert!(!has_access(&quiet), "{quiet}");
    assert_eq!(quiet["spec"]["imagePullSecrets"], json!([{"name": "regcred"}]));
    // The pod's own setting wins over the account's, and its own pull secrets stay.
    let loud = create(
        &c,
        "opt",
        pod(
            "loud",
            json!({"serviceAccountName": "quiet", "automountServiceAccountToken": true,
                   "imagePullSecrets": [{"name": "mine"}], "containers": [busybox("c")]}),
        ),
    )
    .await
    .unwrap();
    assert!(has_access(&loud), "{loud}");
    assert_eq!(loud["spec"]["imagePullSecrets"], json!([{"name": "mine"}]));
    let off =
        create(&c, "opt", pod("off", json!({"automountServiceAccountToken": false, "containers": [busybox("c")]})))
            .await
            .unwrap();
    assert!(!has_access(&off), "{off}");
    assert_eq!(off["spec"]["serviceAccountName"], "default");

    // Mirror pods are not changed, and may not name an account.
    let mirror = |name: &str, spec: Value| json!({"metadata": {"name": name, "annotations": {"kubernetes.io/config.mirror": "abc"}}, "spec": spec});
    let m = create(&c, "opt", mirror("static-node", json!({"nodeName": "node", "containers": [busybox("c")]})))
        .await
        .unwrap();
    assert!(!has_access(&m) && m["spec"].get("serviceAccountName").is_none(), "{m}");
    let refused = create(
        &c,
        "opt",
        mirror("static-sa", json!({"nodeName": "node", "serviceAccountName": "default", "containers": [busybox("c")]})),
    )
    .await
    .unwrap_err();
    assert_eq!(
        refused,
        (403, "pods \"static-sa\" is forbidden: a mirror pod may not reference service accounts".to_owned())
    );

    // The real kubectl shows upstream's refusal.
    let out = kubectl_output(
        "1.33",
        &s.kubeconfig(),
        &[
            "run",
            "lost",
            "--image=busybox",
            "-n",
            "opt",
            "--overrides",
            r#"{"spec": {"serviceAccountName": "nobody"}}"#,
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pods \"lost\" is forbidden: error looking up service account opt/nobody: serviceaccount \"nobody\" not found"),
        "{stderr}"
    );

    // Turned off: pods need no account and get nothing mounted.
    let plain = Apiserver::start(&["--disable-admission-plugins=ServiceAccount"]);
    let c = admin(&plain).await;
    let p = create(&c, "default", pod("bare", json!({"containers": [busybox("c")]}))).await.unwrap();
    assert!(!has_access(&p) && p["spec"].get("serviceAccountName").is_none(), "{p}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_in_a_terminating_namespace_is_refused_with_upstreams_status() {
    let s = Apiserver::start(&[]);
    let c = admin(&s).await;
    namespace(&c, "leaving").await;
    // No namespace controller here: the namespace stays Terminating (its `kubernetes` finalizer).
    let namespaces: Api<Namespace> = Api::all(c.clone());
    namespaces.delete("leaving", &Default::default()).await.unwrap();
    let body = serde_json::to_vec(&json!({"metadata": {"name": "late"}, "data": {"k": "v"}})).unwrap();
    let req = http::Request::builder()
        .method("POST")
        .uri("/api/v1/namespaces/leaving/configmaps")
        .header("content-type", "application/json")
        .body(kube::client::Body::from(body))
        .unwrap();
    let resp = c.send(req).await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let status: Value = serde_json::from_slice(&resp.into_body().collect_bytes().await.unwrap()).unwrap();
    assert_eq!(
        status["message"],
        "configmaps \"late\" is forbidden: unable to create new content in namespace leaving because it is being terminated"
    );
    assert_eq!(status["reason"], "Forbidden");
    assert_eq!(
        status["details"],
        json!({"name": "late", "kind": "configmaps", "causes": [{
            "reason": "NamespaceTerminating", "message": "namespace leaving is being terminated", "field": "metadata.namespace",
        }]})
    );
}

#[test]
fn a_plugin_both_enabled_and_disabled_is_a_startup_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(rustkube_harness::binary("kube-apiserver"))
        .arg(format!("--data-dir={}", dir.path().display()))
        .args(["--secure-port=0", "--bind-address=127.0.0.1"])
        .args(["--enable-admission-plugins=ServiceAccount", "--disable-admission-plugins=ServiceAccount"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ServiceAccount is in both --enable-admission-plugins and --disable-admission-plugins"),
        "{stderr}"
    );
}
