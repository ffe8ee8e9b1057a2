//! The kubelet API with authentication and authorization delegated to the real
//! kube-apiserver (`--authentication-token-webhook`, `--authorization-mode=Webhook`):
//! a service-account token reaches `/pods`, a garbage token gets 401, and a request the
//! apiserver does not authorize gets upstream's 403.

mod common;

use common::*;
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::Api;
use kube::api::PostParams;
use serde_json::json;

/// A token for a fresh service account, from TokenRequest.
async fn service_account_token(client: &kube::Client) -> String {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = serde_json::from_value(json!({"metadata": {"name": "kubelet-auth"}})).unwrap();
    namespaces.create(&PostParams::default(), &ns).await.unwrap();
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "kubelet-auth");
    let sa = serde_json::from_value(json!({"metadata": {"name": "prober"}})).unwrap();
    accounts.create(&PostParams::default(), &sa).await.unwrap();
    let request: TokenRequest = serde_json::from_value(json!({"spec": {}})).unwrap();
    let made = accounts.create_token_request("prober", &PostParams::default(), &request).await.unwrap();
    made.status.expect("a token").token
}

/// `curl` of `url` with `args`: the HTTP status code and body.
fn curl(url: &str, args: &[String]) -> (String, String) {
    let out = std::process::Command::new("curl")
        .args(["-sk", "-m", "10", "-w", "\n%{http_code}"])
        .args(args)
        .arg(url)
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or_default();
    (code.to_owned(), body.to_owned())
}

fn bearer(token: &str) -> Vec<String> {
    vec!["-H".into(), format!("Authorization: Bearer {token}")]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubelet_api_authenticates_tokens_and_authorizes_by_subject_access_review() {
    let api = apiserver();
    let client = api.client().await;
    let token = service_account_token(&client).await;
    let root = tempfile::tempdir().unwrap();
    let pki = api.dir.path().join("pki");
    let ca = format!("--client-ca-file={}", pki.join("ca.crt").display());
    let flags = ["--authentication-token-webhook", "--authorization-mode=Webhook", "--anonymous-auth=false"];
    let kubelet = kubelet(&api, "auth-node-1", "fake://", root.path(), &[&flags[..], &[ca.as_str()]].concat());
    let pods = format!("https://127.0.0.1:{}/pods", kubelet.port());

    let (code, body) = curl(&pods, &bearer(&token));
    assert_eq!(code, "200", "a service-account token reaches /pods: {body}\n{}", kubelet.logs());
    let list: serde_json::Value = serde_json::from_str(&body).expect("a PodList");
    assert!(list["items"].is_array(), "a PodList: {body}");
    let (code, _) = curl(&pods, &bearer(&token));
    assert_eq!(code, "200", "a cached token review still authenticates");

    let (code, body) = curl(&pods, &bearer("garbage"));
    assert_eq!(code, "401", "a garbage token is refused: {body}");
    assert_eq!(body, "Unauthorized");
    let (code, _) = curl(&pods, &[]);
    assert_eq!(code, "401", "no credentials and no anonymous auth: 401");

    // The apiserver's client certificate is authorized for its CN and groups.
    let cert = pki.join("apiserver-kubelet-client.crt").display().to_string();
    let key = pki.join("apiserver-kubelet-client.key").display().to_string();
    let (code, body) = curl(&pods, &["--cert".into(), cert, "--key".into(), key]);
    assert_eq!(code, "200", "the apiserver's kubelet-client certificate passes a SubjectAccessReview: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubelet_api_forbids_what_the_apiserver_does_not_authorize() {
    let api = apiserver();
    let root = tempfile::tempdir().unwrap();
    let kubelet = kubelet(&api, "auth-node-2", "fake://", root.path(), &["--authorization-mode=Webhook"]);
    let base = format!("https://127.0.0.1:{}", kubelet.port());
    // Anonymous (allowed to authenticate) is not authorized by the apiserver.
    let (code, body) = curl(&format!("{base}/pods"), &[]);
    assert_eq!(code, "403", "anonymous is not authorized: {body}");
    assert_eq!(body, "Forbidden (user=system:anonymous, verb=get, resource=nodes, subresource=proxy)");
    let (code, body) = curl(&format!("{base}/stats/summary"), &[]);
    assert_eq!(code, "403");
    assert_eq!(body, "Forbidden (user=system:anonymous, verb=get, resource=nodes, subresource=stats)");
}
