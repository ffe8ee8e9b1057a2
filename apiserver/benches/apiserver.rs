//! kube-apiserver benchmark: latency through the real binary (HTTPS, kube-rs
//! client) against the storage floor measured directly in the same run, watch
//! fan-out through the watch cache, a 10,000-pod list, and idle RSS.
//!
//! Run: `cargo bench -p rustkube-apiserver --bench apiserver`
//! (`BENCH_SCALE=0.1` for a quick run). Prints Markdown for BENCHMARKS.md.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, ListParams, PostParams};
use kube::{Client, Config};
use rustkube_storage::Store;
use rustkube_storage::sqlite::SqliteStore;

fn scaled(n: usize) -> usize {
    let scale: f64 = std::env::var("BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    ((n as f64 * scale).round() as usize).max(1)
}

#[derive(Default)]
struct Samples(Vec<f64>);

impl Samples {
    fn push(&mut self, d: Duration) {
        self.0.push(d.as_secs_f64() * 1e3);
    }
    fn pct(&self, p: f64) -> f64 {
        let mut v = self.0.clone();
        v.sort_by(|a, b| a.total_cmp(b));
        v.get(((v.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0.0)
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(serde_json::json!({
        "metadata": { "name": name, "labels": { "bench": "yes" } },
        "data": { "payload": "x".repeat(512) },
    }))
    .unwrap()
}

fn pod(name: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "metadata": { "name": name, "labels": { "app": "bench" } },
        "spec": { "containers": [{ "name": "c", "image": "busybox:1.36", "command": ["sleep", "3600"] }] },
    }))
    .unwrap()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let server = tokio::task::block_in_place(|| support::Apiserver::start(&[]));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss = rss_kib(server.pid());
    let kubeconfig = kube::config::Kubeconfig::read_from(server.kubeconfig()).unwrap();
    let config = Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
    let client = Client::try_from(config).unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");

    // Floor: the same store type, opened directly, in the same run.
    let floor_dir = tempfile::tempdir().unwrap();
    let floor = SqliteStore::open(floor_dir.path().join("floor.db")).await.unwrap();
    let value = Bytes::from(serde_json::to_vec(&cm("floor")).unwrap());

    let n = scaled(500);
    let (mut create, mut get, mut floor_create, mut floor_get) =
        (Samples::default(), Samples::default(), Samples::default(), Samples::default());
    for i in 0..n {
        let t = Instant::now();
        cms.create(&PostParams::default(), &cm(&format!("c{i}"))).await.unwrap();
        create.push(t.elapsed());
        let t = Instant::now();
        floor.create(&format!("/registry/configmaps/default/c{i}"), value.clone()).await.unwrap();
        floor_create.push(t.elapsed());
    }
    for i in 0..n {
        let t = Instant::now();
        cms.get(&format!("c{i}")).await.unwrap();
        get.push(t.elapsed());
        let t = Instant::now();
        floor.get(&format!("/registry/configmaps/default/c{i}")).await.unwrap();
        floor_get.push(t.elapsed());
    }

    // List of 10,000 pods.
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let n_pods = scaled(10_000);
    let writers = 16;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let pods = pods.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while i < n_pods {
                pods.create(&PostParams::default(), &pod(&format!("p{i:05}"))).await.unwrap();
                i += writers;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut list = Samples::default();
    let mut floor_list = Samples::default();
    for _ in 0..5 {
        let t = Instant::now();
        let got = pods.list(&ListParams::default()).await.unwrap();
        list.push(t.elapsed());
        assert_eq!(got.items.len(), n_pods);
    }
    for i in 0..n_pods {
        floor.create(&format!("/registry/pods/default/p{i:05}"), value.clone()).await.unwrap();
    }
    for _ in 0..5 {
        let t = Instant::now();
        floor
            .list(&rustkube_storage::ListOptions { prefix: "/registry/pods/default/".into(), ..Default::default() })
            .await
            .unwrap();
        floor_list.push(t.elapsed());
    }

    // 1,000 watchers × 1,000 updates, delivery latency measured per event.
    let watchers = 1000;
    let updates = scaled(1000);
    let target = cms.create(&PostParams::default(), &cm("watched")).await.unwrap();
    let start_rv = target.metadata.resource_version.clone().unwrap();
    let sent_at: Arc<std::sync::Mutex<std::collections::HashMap<String, Instant>>> = Arc::default();
    let (lat_tx, mut lat_rx) = tokio::sync::mpsc::unbounded_channel::<(usize, f64)>();
    let mut handles = Vec::new();
    for w in 0..watchers {
        let sent_at = Arc::clone(&sent_at);
        let lat_tx = lat_tx.clone();
        let rv = start_rv.clone();
        let client = client.clone();
        handles.push(tokio::spawn(async move {
            // A raw watch stream, split into lines: the watchers measure the server's
            // delivery, not the cost of decoding 1,000,000 typed objects on 2 shared cores.
            let uri = format!(
                "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}&fieldSelector=metadata.name%3Dwatched&timeoutSeconds=290"
            );
            let req = http::Request::get(uri).body(kube::client::Body::empty()).unwrap();
            let resp = client.send(req).await.unwrap();
            let mut body = resp.into_body();
            let mut buf: Vec<u8> = Vec::new();
            let mut seen = 0;
            while seen < updates {
                let Some(frame) = http_body_util::BodyExt::frame(&mut body).await else {
                    panic!("watch ended after {seen} events")
                };
                let Ok(chunk) = frame.unwrap().into_data() else { continue };
                buf.extend_from_slice(&chunk);
                while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=pos).collect();
                    let text = std::str::from_utf8(&line).unwrap_or("");
                    if !text.contains("\"MODIFIED\"") {
                        continue;
                    }
                    let seq = text
                        .split("\"seq\":\"")
                        .nth(1)
                        .and_then(|rest| rest.split('"').next())
                        .unwrap_or("")
                        .to_owned();
                    let at = sent_at.lock().unwrap().get(&seq).copied();
                    if let Some(at) = at {
                        let _ = lat_tx.send((w, at.elapsed().as_secs_f64() * 1e3));
                    }
                    seen += 1;
                }
            }
        }));
    }
    drop(lat_tx);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let t = Instant::now();
    for i in 0..updates {
        let seq = i.to_string();
        sent_at.lock().unwrap().insert(seq.clone(), Instant::now());
        let patch = serde_json::json!({ "data": { "seq": seq } });
        cms.patch("watched", &kube::api::PatchParams::default(), &kube::api::Patch::Merge(patch)).await.unwrap();
    }
    let mut delivery = Samples::default();
    let mut delivered = 0usize;
    while let Some((_, ms)) = lat_rx.recv().await {
        delivery.0.push(ms);
        delivered += 1;
    }
    for h in handles {
        h.await.unwrap();
    }
    let fanout_time = t.elapsed();
    let busy_rss = rss_kib(server.pid());

    println!(
        "### kube-apiserver (embedded SQLite; kube-rs client over HTTPS; floor = SqliteStore called directly, same run)\n"
    );
    println!("| operation | p50 ms | p99 ms | floor p50 ms | floor p99 ms | p99 ratio |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (op, s, f) in [
        ("create ConfigMap", &create, &floor_create),
        ("get ConfigMap", &get, &floor_get),
        (&*format!("list {n_pods} pods"), &list, &floor_list),
    ] {
        println!(
            "| {op} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2}× |",
            s.pct(0.5),
            s.pct(0.99),
            f.pct(0.5),
            f.pct(0.99),
            s.pct(0.99) / f.pct(0.99).max(1e-6)
        );
    }
    println!(
        "\nWatch fan-out: {watchers} watchers × {updates} updates: {delivered} of {} events delivered in {:.1} s; delivery p50 {:.1} ms, p99 {:.1} ms.",
        watchers * updates,
        fanout_time.as_secs_f64(),
        delivery.pct(0.5),
        delivery.pct(0.99)
    );
    println!(
        "\nRSS: idle {:.1} MiB at start; {:.1} MiB after the run ({n_pods} pods stored, {watchers} open watches).",
        idle_rss as f64 / 1024.0,
        busy_rss as f64 / 1024.0
    );
}
