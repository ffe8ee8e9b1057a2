//! Malformed bodies, selectors, patches and query strings: every answer is a
//! 4xx `Status` (or a success), never a 5xx, a hang or a crash.

mod support;

use std::time::Duration;

use kube::client::Body;
use kube::{Client, Config};
use support::Apiserver;

/// A small deterministic generator (xorshift) so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn junk(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| (self.next() & 0xff) as u8).collect()
    }
}

const BODIES: &[&str] = &[
    "",
    "{",
    "[]",
    "null",
    "42",
    "\"str\"",
    "{\"metadata\": 5}",
    "{\"metadata\": {\"name\": 7}}",
    "{\"metadata\": {\"name\": \"UPPER\"}}",
    "{\"metadata\": {\"name\": \"ok\", \"labels\": {\"bad key!\": \"v\"}}}",
    "{\"metadata\": {\"name\": \"ok\", \"resourceVersion\": \"abc\"}}",
    "{\"kind\": \"Pod\", \"metadata\": {\"name\": \"ok\"}}",
    "{\"metadata\": {\"name\": \"ok\"}, \"data\": {\"k\": 5}}",
    "{\"metadata\": {\"name\": \"ok\"}, \"spec\": {\"containers\": \"nope\"}}",
    "{\"metadata\": {\"generateName\": \"-\"}}",
    "{\"metadata\": {\"name\": \"../../etc\"}}",
    "{\"metadata\": {\"name\": \"ok\"}, \"spec\": 5, \"status\": []}",
    "{\"metadata\": {\"name\": \"ok\"}, \"spec\": {\"type\": \"NodePort\", \"ports\": [5, \"x\", {\"port\": 80}]}}",
];

const PATCHES: &[(&str, &str)] = &[
    ("application/merge-patch+json", "{"),
    ("application/merge-patch+json", "[1,2]"),
    ("application/json-patch+json", "{}"),
    ("application/json-patch+json", "[{\"op\":\"bogus\"}]"),
    ("application/json-patch+json", "[{\"op\":\"remove\",\"path\":\"/nope/x\"}]"),
    ("application/json-patch+json", "[{\"op\":\"test\",\"path\":\"/data/a\",\"value\":\"zzz\"}]"),
    ("application/strategic-merge-patch+json", "{\"$patch\":\"bogus\"}"),
    ("application/strategic-merge-patch+json", "{\"data\": {\"$patch\": \"delete\"}, \"metadata\": []}"),
    ("application/strategic-merge-patch+json", "\u{0}"),
    ("application/apply-patch+yaml", "a: b"),
    ("text/plain", "hello"),
    ("application/merge-patch+json", "{\"metadata\":{\"name\":\"renamed\"}}"),
    ("application/merge-patch+json", "{\"spec\": 7}"),
    ("application/merge-patch+json", "{\"metadata\": \"x\"}"),
];

const QUERIES: &[&str] = &[
    "labelSelector=a%20in%20(",
    "labelSelector=!!!",
    "labelSelector=a%3D%3D%3Db",
    "fieldSelector=spec.bogus%3Dx",
    "fieldSelector=%3D%3D",
    "limit=abc",
    "limit=-1",
    "continue=garbage",
    "continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MCwic3RhcnQiOiIuLi8ifQ%3D%3D",
    "resourceVersion=xyz",
    "resourceVersion=-5",
    "resourceVersionMatch=Exact&resourceVersion=1",
    "watch=true&resourceVersion=notanumber",
    "watch=true&timeoutSeconds=1&resourceVersion=1",
    "dryRun=Sometimes",
    "gracePeriodSeconds=abc",
    "propagationPolicy=Sideways",
    "%ZZ=%%",
];

async fn send(client: &Client, method: &str, uri: &str, content_type: &str, body: Vec<u8>) -> (u16, String) {
    let req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(20), client.send(req))
        .await
        .unwrap_or_else(|_| panic!("{method} {uri} hung"))
        .unwrap_or_else(|e| panic!("{method} {uri} failed at the transport level: {e}"));
    let code = resp.status().as_u16();
    let bytes = tokio::time::timeout(Duration::from_secs(20), resp.into_body().collect_bytes())
        .await
        .unwrap_or_else(|_| panic!("{method} {uri}: body hung"))
        .unwrap_or_default();
    (code, String::from_utf8_lossy(&bytes).into_owned())
}

fn assert_client_error(what: &str, code: u16, body: &str) {
    assert!(code < 500, "{what}: got {code} (server error), body {body}");
    if code >= 400 {
        let v: serde_json::Value =
            serde_json::from_str(body).unwrap_or_else(|_| panic!("{what}: {code} body is not JSON: {body}"));
        assert_eq!(v["kind"], "Status", "{what}: errors are Status objects: {body}");
        assert_eq!(v["code"], code, "{what}: Status.code matches the HTTP code");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_4xx_status_never_5xx() {
    let s = Apiserver::start(&[]);
    let kubeconfig = kube::config::Kubeconfig::read_from(s.kubeconfig()).unwrap();
    let client =
        Client::try_from(Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap()).unwrap();
    let base = "/api/v1/namespaces/default/configmaps";
    let (code, body) =
        send(&client, "POST", base, "application/json", br#"{"metadata":{"name":"target"},"data":{"a":"b"}}"#.to_vec())
            .await;
    assert_eq!(code, 201, "{body}");

    for body in BODIES {
        for (method, uri) in
            [("POST", base.to_owned()), ("PUT", format!("{base}/target")), ("POST", "/api/v1/namespaces".into())]
        {
            let (code, resp) = send(&client, method, &uri, "application/json", body.as_bytes().to_vec()).await;
            assert_client_error(&format!("{method} {uri} with {body:?}"), code, &resp);
        }
    }
    for (ct, patch) in PATCHES {
        let (code, resp) = send(&client, "PATCH", &format!("{base}/target"), ct, patch.as_bytes().to_vec()).await;
        assert_client_error(&format!("PATCH {ct} {patch:?}"), code, &resp);
        assert!(
            code >= 400 || *patch == "{\"metadata\":{\"name\":\"renamed\"}}",
            "bad patch {patch:?} accepted: {resp}"
        );
    }
    for q in QUERIES {
        for method in ["GET", "DELETE"] {
            let (code, resp) = send(&client, method, &format!("{base}?{q}"), "application/json", Vec::new()).await;
            assert_client_error(&format!("{method} ?{q}"), code, &resp);
        }
    }
    // Oversized bodies are 413.
    let huge =
        format!("{{\"metadata\":{{\"name\":\"huge\"}},\"data\":{{\"a\":\"{}\"}}}}", "x".repeat(3 * 1024 * 1024 + 10));
    let (code, resp) = send(&client, "POST", base, "application/json", huge.into_bytes()).await;
    assert_eq!(code, 413, "{resp}");
    // Random bytes, random paths.
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let segments = [
        "api",
        "apis",
        "v1",
        "apps",
        "namespaces",
        "default",
        "pods",
        "x",
        "status",
        "scale",
        "..",
        "%2F",
        "watch",
        "",
    ];
    for i in 0..300 {
        let depth = 1 + (rng.next() % 7) as usize;
        let path: Vec<&str> = (0..depth).map(|_| rng.pick(&segments)).collect();
        let uri = format!("/{}", path.join("/"));
        let method = rng.pick(&["GET", "POST", "PUT", "PATCH", "DELETE"]);
        let ct = rng.pick(&[
            "application/json",
            "application/merge-patch+json",
            "application/strategic-merge-patch+json",
            "application/vnd.kubernetes.protobuf",
            "application/yaml",
        ]);
        let len = (rng.next() % 200) as usize;
        let body = if i % 2 == 0 { rng.junk(len) } else { BODIES[i % BODIES.len()].as_bytes().to_vec() };
        let (code, resp) = send(&client, method, &uri, ct, body).await;
        assert_client_error(&format!("{method} {uri} ({ct})"), code, &resp);
    }
    // Still serving (the DELETEs above may legitimately have removed the collection).
    let (code, _) = send(&client, "GET", base, "application/json", Vec::new()).await;
    assert_eq!(code, 200, "the server still answers after the barrage");
}
