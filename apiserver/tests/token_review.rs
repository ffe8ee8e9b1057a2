//! TokenReview and SubjectAccessReview against the real kube-apiserver: tokens from
//! TokenRequest review as their service account (for the audiences asked), garbage
//! reviews as unauthenticated with an error, and the authorizer answers for a subject.

mod support;

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenReview};
use k8s_openapi::api::authorization::v1::SubjectAccessReview;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::Client;
use kube::api::{Api, PostParams};
use serde_json::json;
use support::{Apiserver, admin};

const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

async fn service_account(c: &Client, ns: &str, name: &str) -> ServiceAccount {
    let namespaces: Api<Namespace> = Api::all(c.clone());
    let namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
    namespaces.create(&PostParams::default(), &namespace).await.unwrap();
    let accounts: Api<ServiceAccount> = Api::namespaced(c.clone(), ns);
    let sa = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    accounts.create(&PostParams::default(), &sa).await.unwrap()
}

async fn token(c: &Client, ns: &str, name: &str, spec: serde_json::Value) -> String {
    let accounts: Api<ServiceAccount> = Api::namespaced(c.clone(), ns);
    let request: TokenRequest = serde_json::from_value(json!({"spec": spec})).unwrap();
    let made = accounts.create_token_request(name, &PostParams::default(), &request).await.expect("a TokenRequest");
    made.status.expect("a token").token
}

async fn review(c: &Client, spec: serde_json::Value) -> TokenReview {
    let reviews: Api<TokenReview> = Api::all(c.clone());
    let review: TokenReview = serde_json::from_value(json!({"spec": spec})).unwrap();
    reviews.create(&PostParams::default(), &review).await.expect("TokenReview is created (201), even for a bad token")
}

async fn access(c: &Client, spec: serde_json::Value) -> SubjectAccessReview {
    let reviews: Api<SubjectAccessReview> = Api::all(c.clone());
    let review: SubjectAccessReview = serde_json::from_value(json!({"spec": spec})).unwrap();
    reviews.create(&PostParams::default(), &review).await.expect("SubjectAccessReview is created")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_review_authenticates_service_account_tokens_and_reports_bad_ones() {
    let s = Apiserver::start(&[]);
    let c = admin(&s).await;
    let sa = service_account(&c, "tr", "robot").await;
    let valid = token(&c, "tr", "robot", json!({})).await;

    let good = review(&c, json!({"token": valid})).await.status.expect("status is filled");
    assert_eq!(good.authenticated, Some(true), "a TokenRequest token is authenticated: {good:?}");
    let user = good.user.expect("the token's user");
    assert_eq!(user.username.as_deref(), Some("system:serviceaccount:tr:robot"));
    assert_eq!(user.uid, sa.metadata.uid, "the user's UID is the service account's");
    let groups = user.groups.unwrap_or_default();
    for g in ["system:serviceaccounts", "system:serviceaccounts:tr", "system:authenticated"] {
        assert!(groups.iter().any(|x| x == g), "groups {groups:?} include {g}");
    }
    assert!(user.extra.unwrap_or_default().contains_key("authentication.kubernetes.io/credential-id"));
    assert_eq!(good.audiences.unwrap_or_default(), [ISSUER], "audiences default to the API audiences");
    assert!(good.error.is_none_or(|e| e.is_empty()), "no error for a good token");

    let garbage = review(&c, json!({"token": "not-a-token"})).await.status.expect("status is filled");
    assert_ne!(garbage.authenticated, Some(true), "garbage is not authenticated: {garbage:?}");
    assert!(garbage.error.is_some_and(|e| !e.is_empty()), "garbage gets status.error");

    // spec.audiences must intersect the token's audiences.
    let elsewhere = review(&c, json!({"token": valid, "audiences": ["https://elsewhere"]})).await.status.unwrap();
    assert_ne!(elsewhere.authenticated, Some(true), "a token for the API is not one for elsewhere: {elsewhere:?}");
    assert!(elsewhere.error.unwrap_or_default().contains("audience"), "the error names the audience");
    let for_vault = token(&c, "tr", "robot", json!({"audiences": ["vault", ISSUER]})).await;
    let vault = review(&c, json!({"token": for_vault, "audiences": ["vault"]})).await.status.unwrap();
    assert_eq!(vault.authenticated, Some(true), "a vault token reviewed for vault: {vault:?}");
    assert_eq!(vault.audiences.unwrap_or_default(), ["vault"], "status.audiences: the requested ones the token has");

    // An empty token is a bad request, as upstream.
    let reviews: Api<TokenReview> = Api::all(c.clone());
    let empty: TokenReview = serde_json::from_value(json!({"spec": {}})).unwrap();
    match reviews.create(&PostParams::default(), &empty).await {
        Err(kube::Error::Api(e)) => assert_eq!(e.code, 400, "empty token: {e:?}"),
        other => panic!("an empty token is refused with 400, got {other:?}"),
    }

    // The real kubectl creates one and shows the status.
    let manifest = serde_yaml::to_string(&json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "spec": {"token": valid},
    }))
    .unwrap();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut file, manifest.as_bytes()).unwrap();
    let path = file.path().to_str().unwrap();
    let out = support::run_kubectl("1.33", &s.kubeconfig(), &["create", "-f", path, "-o", "yaml"]);
    let shown: serde_yaml::Value = serde_yaml::from_str(&out).unwrap();
    assert_eq!(shown["status"]["authenticated"], serde_yaml::Value::Bool(true), "kubectl shows the status: {out}");
    assert_eq!(shown["status"]["user"]["username"].as_str(), Some("system:serviceaccount:tr:robot"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subject_access_review_allows_users_and_not_anonymous() {
    let s = Apiserver::start(&[]);
    let c = admin(&s).await;
    let attributes = json!({"verb": "get", "resource": "nodes", "subresource": "proxy", "name": "n1"});

    let alice = access(&c, json!({"user": "alice", "groups": ["devs"], "resourceAttributes": attributes})).await;
    let status = alice.status.expect("status is filled");
    assert!(status.allowed, "an authenticated user is allowed: {status:?}");
    assert!(status.reason.is_some_and(|r| !r.is_empty()), "the decision says why");

    let anonymous = access(
        &c,
        json!({"user": "system:anonymous", "groups": ["system:unauthenticated"], "resourceAttributes": attributes}),
    )
    .await;
    assert!(!anonymous.status.unwrap().allowed, "system:anonymous is not allowed");

    let path = access(&c, json!({"user": "bob", "nonResourceAttributes": {"verb": "get", "path": "/healthz"}})).await;
    assert!(path.status.unwrap().allowed, "non-resource attributes are reviewed too");

    let reviews: Api<SubjectAccessReview> = Api::all(c.clone());
    let nobody: SubjectAccessReview =
        serde_json::from_value(json!({"spec": {"resourceAttributes": attributes}})).unwrap();
    match reviews.create(&PostParams::default(), &nobody).await {
        Err(kube::Error::Api(e)) => assert_eq!(e.code, 422, "no user nor group: {e:?}"),
        other => panic!("a review without a subject is invalid, got {other:?}"),
    }
}
