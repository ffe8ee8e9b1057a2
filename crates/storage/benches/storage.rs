//! Storage benchmark: every backend against a raw `etcd-client` floor measured
//! in the same run on the same etcd.
//!
//! Run with `cargo bench -p rustkube-storage --bench storage` (needs the `etcd`
//! binary; see deploy/test.sh). Prints a Markdown report and writes it to
//! `$CARGO_TARGET_DIR/storage-bench.md` (or `target/`). `BENCH_SCALE=0.2`
//! shrinks every count for a quick run.

#[path = "../tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use etcd_client::{Compare, CompareOp, GetOptions, Txn, TxnOp, WatchOptions};
use futures_util::StreamExt;
use rustkube_storage::etcd::EtcdStore;
use rustkube_storage::memory::MemoryStore;
use rustkube_storage::sqlite::SqliteStore;
use rustkube_storage::{ListOptions, Store};

fn scaled(n: usize) -> usize {
    let scale: f64 = std::env::var("BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    ((n as f64 * scale).round() as usize).max(1)
}

fn value_1k(tag: &str) -> Bytes {
    let mut v = format!("{{\"tag\":\"{tag}\",\"pad\":\"");
    v.push_str(&"x".repeat(1024 - v.len() - 2));
    v.push_str("\"}");
    Bytes::from(v)
}

/// Latency samples in microseconds.
#[derive(Default, Clone)]
struct Samples(Vec<f64>);

impl Samples {
    fn push(&mut self, d: Duration) {
        self.0.push(d.as_secs_f64() * 1e6);
    }
    fn mean(&self) -> f64 {
        self.0.iter().sum::<f64>() / self.0.len().max(1) as f64
    }
    fn pct(&self, p: f64) -> f64 {
        let mut v = self.0.clone();
        v.sort_by(|a, b| a.total_cmp(b));
        v.get(((v.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0.0)
    }
}

/// The raw etcd-client floor.
struct Raw {
    client: etcd_client::Client,
}

impl Raw {
    async fn put(&self, key: &str, value: Bytes) {
        self.client.kv_client().put(key, value.to_vec(), None).await.unwrap();
    }
    async fn get(&self, key: &str) -> i64 {
        let r = self.client.kv_client().get(key, None).await.unwrap();
        assert_eq!(r.kvs().len(), 1);
        r.kvs()[0].mod_revision()
    }
    /// The same operation as a store create: put only if absent, else read.
    async fn create_txn(&self, key: &str, value: Bytes) {
        let txn = Txn::new()
            .when([Compare::create_revision(key, CompareOp::Equal, 0)])
            .and_then([TxnOp::put(key, value.to_vec(), None)])
            .or_else([TxnOp::get(key, None)]);
        assert!(self.client.kv_client().txn(txn).await.unwrap().succeeded());
    }
    /// The same operation as a store update with an expected revision.
    async fn cas_txn(&self, key: &str, value: Bytes, rev: i64) {
        let txn = Txn::new()
            .when([Compare::mod_revision(key, CompareOp::Equal, rev)])
            .and_then([TxnOp::put(key, value.to_vec(), None)])
            .or_else([TxnOp::get(key, None)]);
        assert!(self.client.kv_client().txn(txn).await.unwrap().succeeded());
    }
    async fn list(&self, prefix: &str) -> usize {
        // Lifted from gRPC's 4 MiB default, as the store does.
        let mut kv = self.client.kv_client().max_decoding_message_size(i32::MAX as usize);
        let r = kv.get(prefix, Some(GetOptions::new().with_prefix())).await.unwrap();
        r.kvs().len()
    }
}

struct Row {
    op: String,
    backend: String,
    mean_us: f64,
    p50_us: f64,
    p99_us: f64,
    floor_us: Option<f64>,
    floor_p50_us: Option<f64>,
}

struct Report {
    rows: Vec<Row>,
    notes: Vec<String>,
}

/// Sequential create, update and get latency, interleaved with the same raw
/// operation in rounds so that drift hits both equally.
async fn latency(store: &dyn Store, raw: Option<&Raw>, name: &str, report: &mut Report) {
    let rounds = 10;
    let per_round = scaled(50);
    let (mut create, mut update, mut get) = (Samples::default(), Samples::default(), Samples::default());
    let (mut raw_create, mut raw_cas, mut raw_get) = (Samples::default(), Samples::default(), Samples::default());
    let mut raw_put = Samples::default();
    for r in 0..rounds {
        for i in 0..per_round {
            let key = format!("/registry/configmaps/lat-{name}/c{r}-{i}");
            let t = Instant::now();
            store.create(&key, value_1k("c")).await.unwrap();
            create.push(t.elapsed());
            if let Some(raw) = raw {
                let t = Instant::now();
                raw.create_txn(&format!("/raw/lat/c{r}-{i}"), value_1k("c")).await;
                raw_create.push(t.elapsed());
                let t = Instant::now();
                raw.put(&format!("/raw/lat/p{r}-{i}"), value_1k("c")).await;
                raw_put.push(t.elapsed());
            }
        }
        for i in 0..per_round {
            let key = format!("/registry/configmaps/lat-{name}/c{r}-{i}");
            let cur = store.get(&key).await.unwrap();
            let t = Instant::now();
            store.update(&key, value_1k("u"), Some(cur.mod_revision)).await.unwrap();
            update.push(t.elapsed());
            if let Some(raw) = raw {
                let raw_key = format!("/raw/lat/c{r}-{i}");
                let rev = raw.get(&raw_key).await;
                let t = Instant::now();
                raw.cas_txn(&raw_key, value_1k("u"), rev).await;
                raw_cas.push(t.elapsed());
            }
        }
        for i in 0..per_round {
            let key = format!("/registry/configmaps/lat-{name}/c{r}-{i}");
            let t = Instant::now();
            store.get(&key).await.unwrap();
            get.push(t.elapsed());
            if let Some(raw) = raw {
                let t = Instant::now();
                raw.get(&format!("/raw/lat/c{r}-{i}")).await;
                raw_get.push(t.elapsed());
            }
        }
    }
    if raw.is_some() {
        report.notes.push(format!(
            "Plain raw `put` of 1 KiB (no compare), same run: mean {:.0} µs, p50 {:.0} µs.",
            raw_put.mean(),
            raw_put.pct(0.5)
        ));
    }
    for (op, s, floor) in
        [("create 1 KiB", create, raw_create), ("update 1 KiB (CAS)", update, raw_cas), ("get", get, raw_get)]
    {
        report.rows.push(Row {
            op: op.into(),
            backend: name.into(),
            mean_us: s.mean(),
            p50_us: s.pct(0.5),
            p99_us: s.pct(0.99),
            floor_us: raw.map(|_| floor.mean()),
            floor_p50_us: raw.map(|_| floor.pct(0.5)),
        });
    }
}

/// Creates `n` 1 KiB objects with 32 concurrent writers; returns creates/s.
async fn concurrent_creates(store: Arc<dyn Store>, prefix: &str, range: std::ops::Range<usize>) -> Duration {
    let writers = 32;
    let t = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = Arc::clone(&store);
        let prefix = prefix.to_owned();
        let range = range.clone();
        tasks.push(tokio::spawn(async move {
            let (start, n) = (range.start, range.end);
            let mut i = start + w;
            while i < n {
                store.create(&format!("{prefix}o{i:06}"), value_1k("t")).await.unwrap();
                i += writers;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    t.elapsed()
}

async fn raw_concurrent_puts(raw: &Raw, prefix: &str, range: std::ops::Range<usize>) -> Duration {
    let writers = 32;
    let t = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let client = raw.client.clone();
        let prefix = prefix.to_owned();
        let range = range.clone();
        tasks.push(tokio::spawn(async move {
            let (start, n) = (range.start, range.end);
            let mut i = start + w;
            while i < n {
                let key = format!("{prefix}o{i:06}");
                let txn = Txn::new()
                    .when([Compare::create_revision(key.as_str(), CompareOp::Equal, 0)])
                    .and_then([TxnOp::put(key.as_str(), value_1k("t").to_vec(), None)]);
                assert!(client.kv_client().txn(txn).await.unwrap().succeeded());
                i += writers;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    t.elapsed()
}

/// 1,000 watchers on one prefix; `writes` updates; time until every watcher has every event.
async fn fan_out(store: Arc<dyn Store>, watchers: usize, writes: usize) -> (Duration, f64) {
    let prefix = "/registry/pods/fan/";
    let key = format!("{prefix}p");
    let from = store.create(&key, value_1k("0")).await.unwrap().mod_revision;
    let mut streams = Vec::new();
    for _ in 0..watchers {
        streams.push(store.watch(prefix, from).await.unwrap());
    }
    let done = Arc::new(tokio::sync::Barrier::new(watchers + 1));
    let mut tasks = Vec::new();
    for mut s in streams {
        let done = Arc::clone(&done);
        tasks.push(tokio::spawn(async move {
            for _ in 0..writes {
                s.next().await.unwrap().unwrap();
            }
            done.wait().await;
        }));
    }
    let t = Instant::now();
    for i in 0..writes {
        store.update(&key, value_1k(&i.to_string()), None).await.unwrap();
    }
    done.wait().await;
    let elapsed = t.elapsed();
    (elapsed, (watchers * writes) as f64 / elapsed.as_secs_f64())
}

async fn raw_fan_out(client: &etcd_client::Client, watchers: usize, writes: usize) -> (Duration, f64) {
    let key = "/raw/fan/p";
    let start = client.kv_client().put(key, value_1k("0").to_vec(), None).await.unwrap();
    let from = start.header().unwrap().revision();
    let done = Arc::new(tokio::sync::Barrier::new(watchers + 1));
    let mut tasks = Vec::new();
    for _ in 0..watchers {
        let opts = WatchOptions::new().with_prefix().with_start_revision(from + 1).with_prev_key();
        let mut s = client.watch_client().watch("/raw/fan/", Some(opts)).await.unwrap();
        let done = Arc::clone(&done);
        tasks.push(tokio::spawn(async move {
            let mut seen = 0;
            while seen < writes {
                let resp = s.message().await.unwrap().unwrap();
                seen += resp.events().len();
            }
            done.wait().await;
        }));
    }
    let t = Instant::now();
    for i in 0..writes {
        client.kv_client().put(key, value_1k(&i.to_string()).to_vec(), None).await.unwrap();
    }
    done.wait().await;
    let elapsed = t.elapsed();
    (elapsed, (watchers * writes) as f64 / elapsed.as_secs_f64())
}

fn ratio(ours: f64, floor: Option<f64>) -> String {
    floor.map_or("—".into(), |f| format!("{:.2}×", ours / f))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let etcd = support::start_etcd().await.unwrap_or_else(|e| panic!("benchmark needs etcd: {e:#}"));
    let raw = Raw { client: etcd_client::Client::connect([etcd.endpoint.clone()], None).await.unwrap() };
    let dir = tempfile::tempdir().unwrap();
    let backends: Vec<(&str, Arc<dyn Store>)> = vec![
        ("etcd", Arc::new(EtcdStore::connect(std::slice::from_ref(&etcd.endpoint)).await.unwrap())),
        ("sqlite", Arc::new(SqliteStore::open(dir.path().join("bench.db")).await.unwrap())),
        ("memory", Arc::new(MemoryStore::new())),
    ];
    let mut report = Report { rows: Vec::new(), notes: Vec::new() };

    eprintln!("bench: sequential latency");
    for (name, store) in &backends {
        let floor = (*name == "etcd").then_some(&raw);
        latency(store.as_ref(), floor, name, &mut report).await;
    }

    let n_objects = scaled(10_000);
    eprintln!("bench: {n_objects} concurrent creates and list");
    // Two rounds, alternating raw etcd and each backend, so drift hits all equally.
    let half = n_objects / 2;
    let mut raw_time = Duration::ZERO;
    let mut times = vec![Duration::ZERO; backends.len()];
    for round in [0..half, half..n_objects] {
        raw_time += raw_concurrent_puts(&raw, "/raw/list/", round.clone()).await;
        for (i, (_, store)) in backends.iter().enumerate() {
            times[i] += concurrent_creates(Arc::clone(store), "/registry/configmaps/list/", round.clone()).await;
        }
    }
    let raw_tput = n_objects as f64 / raw_time.as_secs_f64();
    let tput: Vec<(String, f64)> = backends
        .iter()
        .zip(&times)
        .map(|((name, _), t)| (name.to_string(), n_objects as f64 / t.as_secs_f64()))
        .collect();
    // Lists, interleaved with the raw range read of the same size.
    let mut raw_list = Samples::default();
    let mut lists: Vec<Samples> = backends.iter().map(|_| Samples::default()).collect();
    for _ in 0..15 {
        let t = Instant::now();
        assert_eq!(raw.list("/raw/list/").await, n_objects);
        raw_list.push(t.elapsed());
        for (i, (_, store)) in backends.iter().enumerate() {
            let t = Instant::now();
            let res = store
                .list(&ListOptions { prefix: "/registry/configmaps/list/".into(), ..Default::default() })
                .await
                .unwrap();
            lists[i].push(t.elapsed());
            assert_eq!(res.items.len(), n_objects);
        }
    }
    for ((name, _), s) in backends.iter().zip(lists) {
        report.rows.push(Row {
            op: format!("list {n_objects} × 1 KiB"),
            backend: name.to_string(),
            mean_us: s.mean(),
            p50_us: s.pct(0.5),
            p99_us: s.pct(0.99),
            floor_us: (*name == "etcd").then(|| raw_list.mean()),
            floor_p50_us: (*name == "etcd").then(|| raw_list.pct(0.5)),
        });
    }

    let (watchers, writes) = (1000, scaled(100));
    eprintln!("bench: watch fan-out to {watchers} watchers");
    let raw_fan = raw_fan_out(&raw.client, watchers, writes).await;
    let mut fans = Vec::new();
    for (name, store) in &backends {
        fans.push((name.to_string(), fan_out(Arc::clone(store), watchers, writes).await));
    }

    let mut md = String::new();
    let _ = writeln!(md, "### Latency (sequential, one client; µs)\n");
    let _ = writeln!(
        md,
        "Floor: the same operation done with raw `etcd-client` on the same etcd, interleaved \
         (create = txn put-if-absent, update = txn compare-mod-revision-and-put, get = range of one key, \
         list = one prefix range).\n"
    );
    let _ =
        writeln!(md, "| operation | backend | mean | p50 | p99 | raw mean | raw p50 | ratio (mean) | ratio (p50) |");
    let _ = writeln!(md, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in &report.rows {
        let _ = writeln!(
            md,
            "| {} | {} | {:.0} | {:.0} | {:.0} | {} | {} | {} | {} |",
            r.op,
            r.backend,
            r.mean_us,
            r.p50_us,
            r.p99_us,
            r.floor_us.map_or("—".into(), |f| format!("{f:.0}")),
            r.floor_p50_us.map_or("—".into(), |f| format!("{f:.0}")),
            ratio(r.mean_us, r.floor_us),
            ratio(r.p50_us, r.floor_p50_us)
        );
    }
    let _ = writeln!(md, "\n### Throughput: {n_objects} creates of 1 KiB, 32 concurrent writers\n");
    let _ = writeln!(md, "| backend | creates/s | vs raw etcd |");
    let _ = writeln!(md, "|---|---:|---:|");
    let _ = writeln!(md, "| raw etcd-client txn put-if-absent | {raw_tput:.0} | 1.00× |");
    for (name, t) in &tput {
        let _ = writeln!(md, "| {name} | {t:.0} | {:.2}× |", t / raw_tput);
    }
    let _ = writeln!(md, "\n### Watch fan-out: {watchers} watchers × {writes} updates\n");
    let _ = writeln!(md, "| backend | time to deliver all | events delivered/s |");
    let _ = writeln!(md, "|---|---:|---:|");
    let _ = writeln!(md, "| raw etcd-client watch | {:.0} ms | {:.0} |", raw_fan.0.as_secs_f64() * 1e3, raw_fan.1);
    for (name, (d, rate)) in &fans {
        let _ = writeln!(md, "| {name} | {:.0} ms | {rate:.0} |", d.as_secs_f64() * 1e3);
    }
    for note in &report.notes {
        let _ = writeln!(md, "\n{note}");
    }
    println!("{md}");
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let out = std::path::Path::new(&target).join("storage-bench.md");
    if std::fs::write(&out, &md).is_ok() {
        eprintln!("bench: report written to {}", out.display());
    }
}
