//! Service-account tokens against the real kube-apiserver: TokenRequest
//! (defaults, validation, object binding) and those tokens as bearer
//! credentials for kube-rs and the real kubectl, refused with 401 once
//! expired, forged, for another audience, or their account or pod is gone.

mod support;

use std::path::PathBuf;

use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret, ServiceAccount};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::{Client, Config};
use rustkube_apiserver::service_account_token::{Binding, IssuerConfig, ObjectRef, TokenIssuer, TokenSpec};
use serde_json::json;
use support::{Apiserver, admin};

const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// A kubeconfig for the server's cluster that authenticates with `token` only.
fn token_kubeconfig(s: &Apiserver, token: &str) -> (tempfile::NamedTempFile, PathBuf) {
    let admin: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(s.kubeconfig()).unwrap()).unwrap();
    let cluster = &admin["clusters"][0]["cluster"];
    let ca = cluster["certificate-authority-data"].as_str().expect("the admin kubeconfig embeds the CA");
    let text = serde_yaml::to_string(&json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": s.url(), "certificate-authority-data": ca}}],
        "users": [{"name": "sa", "user": {"token": token}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "sa"}}],
        "current-context": "c",
    }))
    .unwrap();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
    let path = file.path().to_owned();
    (file, path)
}

async fn token_client(s: &Apiserver, token: &str) -> Client {
    let (_file, path) = token_kubeconfig(s, token);
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).unwrap();
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
    config.default_retry = false;
    Client::try_from(config).unwrap()
}

/// Lists pods in `ns` with `token`: Ok, or the HTTP status code of the refusal.
async fn list_pods_with(s: &Apiserver, token: &str, ns: &str) -> Result<(), (u16, String)> {
    let pods: Api<Pod> = Api::namespaced(token_client(s, token).await, ns);
    match pods.list(&ListParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) => Err((status.code, status.reason)),
        Err(other) => panic!("listing pods with a bearer token failed outside the API: {other:?}"),
    }
}

async fn setup(c: &Client, ns: &str, account: &str) -> ServiceAccount {
    let namespaces: Api<Namespace> = Api::all(c.clone());
    let namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
    namespaces.create(&PostParams::default(), &namespace).await.unwrap();
    let accounts: Api<ServiceAccount> = Api::namespaced(c.clone(), ns);
    let sa = serde_json::from_value(json!({"metadata": {"name": account}})).unwrap();
    accounts.create(&PostParams::default(), &sa).await.unwrap()
}

fn request(spec: serde_json::Value) -> TokenRequest {
    serde_json::from_value(json!({"spec": spec})).unwrap()
}

async fn token_for(c: &Client, ns: &str, account: &str, spec: serde_json::Value) -> Result<TokenRequest, kube::Error> {
    let accounts: Api<ServiceAccount> = Api::namespaced(c.clone(), ns);
    accounts.create_token_request(account, &PostParams::default(), &request(spec)).await
}

fn api_error(result: Result<TokenRequest, kube::Error>) -> (u16, String, String) {
    match result {
        Err(kube::Error::Api(s)) => (s.code, s.reason, s.message),
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn claims(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("a compact JWS");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// An issuer holding the server's own signing key (DATA_DIR/pki/sa.key), to mint tokens the
/// server would never issue (already expired, other audiences).
fn server_key_issuer(s: &Apiserver) -> TokenIssuer {
    let config = IssuerConfig { issuers: vec![ISSUER.into()], api_audiences: vec![], extend_expiration: true };
    TokenIssuer::from_files(config, &s.dir.path().join("pki/sa.key"), &[]).unwrap()
}

fn minted(issuer: &TokenIssuer, sa: &ServiceAccount, audiences: &[&str], issued_at: i64, valid_for: i64) -> String {
    let spec = TokenSpec {
        namespace: sa.metadata.namespace.as_deref().unwrap(),
        service_account: ObjectRef { name: sa.metadata.name.clone().unwrap(), uid: sa.metadata.uid.clone().unwrap() },
        audiences: audiences.iter().map(|a| a.to_string()).collect(),
        expiration_seconds: valid_for,
        warn_after_seconds: None,
        binding: Binding::default(),
    };
    issuer.sign(&issuer.claims(spec, issued_at)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_request_defaults_and_the_token_authenticates_as_the_service_account() {
    let s = Apiserver::start(&[]);
    let c = admin(&s).await;
    let sa = setup(&c, "tok", "robot").await;
    let before = jiff::Timestamp::now().as_second();
    let tr = token_for(&c, "tok", "robot", json!({})).await.expect("TokenRequest for an existing account");
    let spec = tr.spec.clone();
    assert_eq!(spec.audiences, [ISSUER], "audiences default to the API audiences (the issuer)");
    assert_eq!(spec.expiration_seconds, Some(3600), "expirationSeconds defaults to an hour");
    let status = tr.status.expect("status with the token");
    let expires = status.expiration_timestamp.0.as_second();
    assert!((before + 3600..=before + 3700).contains(&expires), "expires in an hour, got {expires} (now {before})");
    let c1 = claims(&status.token);
    assert_eq!(c1["iss"], ISSUER);
    assert_eq!(c1["sub"], "system:serviceaccount:tok:robot");
    assert_eq!(c1["aud"], json!([ISSUER]));
    assert_eq!(c1["exp"].as_i64(), Some(expires));
    assert_eq!(c1["kubernetes.io"]["namespace"], "tok");
    assert_eq!(c1["kubernetes.io"]["serviceaccount"]["uid"], sa.metadata.uid.clone().unwrap().as_str());

    list_pods_with(&s, &status.token, "tok").await.expect("the token lists pods");
    // Who the server takes the bearer for (SelfSubjectReview, as `kubectl auth whoami`).
    let (_file, path) = token_kubeconfig(&s, &status.token);
    let out = support::run_kubectl("1.33", &path, &["auth", "whoami", "-o", "json"]);
    let review: serde_json::Value = serde_json::from_str(&out).unwrap();
    let user = &review["status"]["userInfo"];
    assert_eq!(user["username"], "system:serviceaccount:tok:robot");
    assert_eq!(user["uid"], sa.metadata.uid.clone().unwrap().as_str());
    assert_eq!(
        user["groups"],
        json!(["system:serviceaccounts", "system:serviceaccounts:tok", "system:authenticated"]),
        "service-account groups as upstream"
    );

    // Explicit audiences and expiration are honoured; a token for another audience is no API credential.
    let vault = token_for(&c, "tok", "robot", json!({"audiences": ["vault"], "expirationSeconds": 600})).await.unwrap();
    assert_eq!(vault.spec.expiration_seconds, Some(600));
    assert_eq!(claims(&vault.status.unwrap().token)["aud"], json!(["vault"]));

    // Validation and lookups, with upstream's statuses and wording.
    let (code, reason, message) = api_error(token_for(&c, "tok", "robot", json!({"expirationSeconds": 599})).await);
    assert_eq!((code, reason.as_str()), (422, "Invalid"));
    assert_eq!(
        message,
        "TokenRequest.authentication.k8s.io \"\" is invalid: spec.expirationSeconds: Invalid value: 599: may not \
         specify a duration less than 10 minutes"
    );
    let (code, reason, message) = api_error(token_for(&c, "tok", "nobody", json!({})).await);
    assert_eq!((code, reason.as_str(), message.as_str()), (404, "NotFound", "serviceaccounts \"nobody\" not found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_forged_foreign_audience_and_orphaned_tokens_get_401() {
    let s = Apiserver::start(&[]);
    let c = admin(&s).await;
    let sa = setup(&c, "bad", "robot").await;
    let issuer = server_key_issuer(&s);
    let now = jiff::Timestamp::now().as_second();
    let good = minted(&issuer, &sa, &[ISSUER], now, 600);
    list_pods_with(&s, &good, "bad").await.expect("a token signed with the server's key for its audience works");

    let expired = minted(&issuer, &sa, &[ISSUER], now - 3 * 600, 600);
    assert_eq!(list_pods_with(&s, &expired, "bad").await, Err((401, "Unauthorized".into())), "expired");
    let wrong_audience = minted(&issuer, &sa, &["vault"], now, 600);
    assert_eq!(list_pods_with(&s, &wrong_audience, "bad").await, Err((401, "Unauthorized".into())), "audience");
    let other_key = TokenIssuer::new(
        IssuerConfig { issuers: vec![ISSUER.into()], api_audiences: vec![], extend_expiration: true },
        &rustkube_pki::ServiceAccountKey::generate().unwrap(),
        &[],
    )
    .unwrap();
    let forged = minted(&other_key, &sa, &[ISSUER], now, 600);
    assert_eq!(list_pods_with(&s, &forged, "bad").await, Err((401, "Unauthorized".into())), "forged signature");
    assert_eq!(list_pods_with(&s, "garbage", "bad").await, Err((401, "Unauthorized".into())), "not a JWT");

    // The account is deleted, then recreated under the same name (a new UID): the old token is dead.
    let issued = token_for(&c, "bad", "robot", json!({})).await.unwrap().status.unwrap().token;
    list_pods_with(&s, &issued, "bad").await.expect("fresh token works");
    let accounts: Api<ServiceAccount> = Api::namespaced(c.clone(), "bad");
    accounts.delete("robot", &DeleteParams::default()).await.unwrap();
    assert_eq!(list_pods_with(&s, &issued, "bad").await, Err((401, "Unauthorized".into())), "deleted account");
    setup_account(&accounts, "robot").await;
    assert_eq!(list_pods_with(&s, &issued, "bad").await, Err((401, "Unauthorized".into())), "recreated account");
}

async fn setup_account(accounts: &Api<ServiceAccount>, name: &str) -> ServiceAccount {
    let sa = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    accounts.create(&PostParams::default(), &sa).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bound_tokens_follow_their_pod_and_bad_references_are_refused() {
    let s = Apiserver::start(&[]);
    let c = admin(&s).await;
    setup(&c, "bind", "robot").await;
    let pods: Api<Pod> = Api::namespaced(c.clone(), "bind");
    let pod = |name: &str, account: &str| -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"serviceAccountName": account, "containers": [{"name": "c", "image": "busybox"}]},
        }))
        .unwrap()
    };
    let p = pods.create(&PostParams::default(), &pod("p", "robot")).await.unwrap();
    let uid = p.metadata.uid.clone().unwrap();
    let bound = token_for(
        &c,
        "bind",
        "robot",
        json!({"boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": uid}}),
    )
    .await
    .expect("a token bound to the account's pod");
    let token = bound.status.unwrap().token;
    assert_eq!(claims(&token)["kubernetes.io"]["pod"], json!({"name": "p", "uid": uid}));
    list_pods_with(&s, &token, "bind").await.expect("a pod-bound token works while its pod exists");

    // The ServiceAccount admission default (3607 s) bound to a pod: valid for a year, warnafter at the hour.
    let extended = token_for(
        &c,
        "bind",
        "robot",
        json!({"expirationSeconds": 3607, "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p"}}),
    )
    .await
    .unwrap();
    assert_eq!(extended.spec.expiration_seconds, Some(3607));
    let ext = claims(&extended.status.unwrap().token);
    let iat = ext["iat"].as_i64().unwrap();
    assert_eq!(ext["exp"].as_i64(), Some(iat + 365 * 24 * 3600));
    assert_eq!(ext["kubernetes.io"]["warnafter"].as_i64(), Some(iat + 3607));

    let (code, reason, message) = api_error(
        token_for(
            &c,
            "bind",
            "robot",
            json!({"boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "nope"}}),
        )
        .await,
    );
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    assert_eq!(
        message,
        "Operation cannot be fulfilled on Pod \"p\": the UID in the bound object reference (nope) does not match \
         the UID in record. The object might have been deleted and then recreated"
    );
    let (code, _, message) = api_error(
        token_for(&c, "bind", "robot", json!({"boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "ghost"}}))
            .await,
    );
    assert_eq!((code, message.as_str()), (404, "pods \"ghost\" not found"));
    setup_account(&Api::namespaced(c.clone(), "bind"), "default").await;
    pods.create(&PostParams::default(), &pod("other", "default")).await.unwrap();
    let (code, _, message) = api_error(
        token_for(&c, "bind", "robot", json!({"boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "other"}}))
            .await,
    );
    assert_eq!(
        (code, message.as_str()),
        (400, "cannot bind token for serviceaccount \"robot\" to pod running with different serviceaccount name.")
    );
    let (code, _, message) = api_error(
        token_for(
            &c,
            "bind",
            "robot",
            json!({"boundObjectRef": {"apiVersion": "v1", "kind": "ConfigMap", "name": "x"}}),
        )
        .await,
    );
    assert_eq!((code, message.as_str()), (400, "cannot bind token to object of type /v1, Kind=ConfigMap"));

    // Bound to a Secret: dies with it.
    let secrets: Api<Secret> = Api::namespaced(c.clone(), "bind");
    let secret = serde_json::from_value(json!({"metadata": {"name": "s"}})).unwrap();
    secrets.create(&PostParams::default(), &secret).await.unwrap();
    let typed = TokenRequest {
        spec: TokenRequestSpec {
            bound_object_ref: Some(BoundObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Secret".into()),
                name: Some("s".into()),
                uid: None,
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let accounts: Api<ServiceAccount> = Api::namespaced(c.clone(), "bind");
    let secret_token = accounts.create_token_request("robot", &PostParams::default(), &typed).await.unwrap();
    let secret_token = secret_token.status.unwrap().token;
    list_pods_with(&s, &secret_token, "bind").await.expect("a secret-bound token works while its secret exists");
    secrets.delete("s", &DeleteParams::default()).await.unwrap();
    assert_eq!(list_pods_with(&s, &secret_token, "bind").await, Err((401, "Unauthorized".into())));

    // The pod goes away (immediately, grace 0): its tokens stop working.
    pods.delete("p", &DeleteParams { grace_period_seconds: Some(0), ..Default::default() }).await.unwrap();
    assert_eq!(list_pods_with(&s, &token, "bind").await, Err((401, "Unauthorized".into())), "pod deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_create_token_and_discovery() {
    let s = Apiserver::start(&[]);
    s.ok("1.33", &["create", "namespace", "kc"]);
    s.ok("1.33", &["create", "serviceaccount", "default", "-n", "kc"]);
    let token = s.ok("1.33", &["create", "token", "default", "-n", "kc", "--duration=20m"]).trim().to_owned();
    let c = claims(&token);
    assert_eq!(c["sub"], "system:serviceaccount:kc:default");
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 1200, "--duration=20m");
    let (_file, path) = token_kubeconfig(&s, &token);
    let out = support::run_kubectl("1.33", &path, &["get", "pods", "-n", "kc"]);
    assert!(out.is_empty() || out.contains("No resources"), "kubectl with the token lists pods: {out:?}");
    let whoami = support::run_kubectl("1.33", &path, &["auth", "whoami"]);
    assert!(whoami.contains("system:serviceaccount:kc:default"), "whoami: {whoami}");

    let (_bad_file, bad_path) = token_kubeconfig(&s, &format!("{token}x"));
    let out = support::kubectl_output("1.33", &bad_path, &["get", "pods", "-n", "kc"]);
    assert!(!out.status.success(), "a corrupted token must not work");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Unauthorized"), "kubectl reports 401 as upstream: {stderr}");

    let too_short = s.kubectl("1.33", &["create", "token", "default", "-n", "kc", "--duration=5m"]);
    assert!(!too_short.status.success());
    let stderr = String::from_utf8_lossy(&too_short.stderr);
    assert!(stderr.contains("may not specify a duration less than 10 minutes"), "kubectl shows the 422: {stderr}");

    let resources: serde_json::Value =
        serde_json::from_str(&s.ok("1.33", &["get", "--raw", "/api/v1"])).expect("discovery is JSON");
    let token_sub = resources["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "serviceaccounts/token")
        .expect("discovery lists serviceaccounts/token");
    assert_eq!(token_sub["verbs"], json!(["create"]));
    assert_eq!(
        (token_sub["group"].as_str(), token_sub["version"].as_str()),
        (Some("authentication.k8s.io"), Some("v1"))
    );
    assert_eq!(token_sub["kind"], "TokenRequest");
}
