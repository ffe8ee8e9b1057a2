//! Scheduler benchmark in the spirit of upstream's scheduler_perf.
//!
//! * `algorithm`: the scheduling loop in-process (cache, queue, every default
//!   plugin; binding is a no-op), pods/s and p99 per-pod attempt latency.
//! * `e2e`: the real kube-apiserver and the scheduler in-process; pods are
//!   created concurrently while it runs; pods/s from the first create to the
//!   last binding and p99 from a pod's create to its binding seen on a watch.
//!
//! Shapes: SchedulingBasic (100m CPU / 128Mi), required pod anti-affinity per
//! hostname within groups of 10, and a zone topology spread (maxSkew 1).
//! Sizes: `RK_BENCH_NODES` (default `1000,5000`), `RK_BENCH_PODS` (10000),
//! `RK_BENCH_E2E` (`1` to run the end-to-end part, default on), `RK_BENCH_SHAPES`
//! (comma-separated shape names to run, default all; for profiling one shape).
//!
//! `cargo bench -p rustkube-scheduler --bench scheduler`

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use rustkube_scheduler::pod_info::PodInfo;
use rustkube_scheduler::scheduler::Outcome;
use rustkube_scheduler::testing::{NodeBuilder, PodBuilder, node, pod};

#[derive(Debug, Clone, Copy)]
enum Shape {
    Basic,
    AntiAffinity,
    Spread,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Basic => "SchedulingBasic",
            Shape::AntiAffinity => "PodAntiAffinity",
            Shape::Spread => "TopologySpread",
        }
    }
    fn pod(self, i: usize) -> PodBuilder {
        let p = pod(&format!("p{i:05}")).req("cpu", "100m").req("memory", "128Mi");
        match self {
            Shape::Basic => p,
            Shape::AntiAffinity => {
                let g = format!("g{}", i % 1000);
                p.label("group", &g).pod_anti_affinity(("group", &g), "kubernetes.io/hostname")
            }
            Shape::Spread => p.label("app", "spread").spread(1, "zone", "DoNotSchedule", ("app", "spread")),
        }
    }
}

fn node_for(i: usize) -> NodeBuilder {
    node(&format!("n{i:05}"))
        .alloc("cpu", "32")
        .alloc("memory", "128Gi")
        .alloc("pods", "110")
        .label("zone", &format!("zone-{}", i % 10))
}

fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get((v.len() * 99 / 100).min(v.len().saturating_sub(1))).copied().unwrap_or_default()
}

async fn algorithm(nodes: usize, pods: usize, shape: Shape) -> (f64, Duration) {
    let mut cfg = rustkube_scheduler::config::KubeSchedulerConfiguration::default();
    cfg.default_and_validate().unwrap();
    let s = rustkube_scheduler::in_process_scheduler(&cfg).unwrap();
    {
        let mut cache = s.cache.lock().unwrap();
        for i in 0..nodes {
            cache.upsert_node(Arc::new(node_for(i).build()));
        }
    }
    for i in 0..pods {
        s.queue.add_or_update(Arc::new(PodInfo::new(Arc::new(shape.pod(i).build()))));
    }
    let mut lat = Vec::with_capacity(pods);
    let start = Instant::now();
    let mut scheduled = 0;
    for _ in 0..pods {
        let qp = s.queue.pop().await.expect("a queued pod");
        let t = Instant::now();
        if let Outcome::Assumed(_) = s.schedule_one(qp) {
            scheduled += 1;
        }
        lat.push(t.elapsed());
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(scheduled, pods, "{}: every pod fits", shape.name());
    (pods as f64 / secs, p99(lat))
}

async fn e2e(
    api: &rustkube_harness::Apiserver,
    client: &kube::Client,
    pods: usize,
    shape: Shape,
    ns: &str,
) -> (f64, Duration) {
    let nsapi: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let nsobj: k8s_openapi::api::core::v1::Namespace =
        serde_json::from_value(serde_json::json!({"metadata": {"name": ns}})).unwrap();
    nsapi.create(&PostParams::default(), &nsobj).await.unwrap();
    let _ = api;
    let podapi: Api<Pod> = Api::namespaced(client.clone(), ns);
    let created: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let bound: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let watch_bound = Arc::clone(&bound);
    let watch_api = podapi.clone();
    let watch = tokio::spawn(async move {
        let mut s = watcher(watch_api, watcher::Config::default()).boxed();
        while let Ok(Some(ev)) = s.try_next().await {
            let (watcher::Event::Apply(p) | watcher::Event::InitApply(p)) = ev else { continue };
            if p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some() {
                let name = p.metadata.name.clone().unwrap_or_default();
                watch_bound.lock().unwrap().entry(name).or_insert_with(Instant::now);
            }
        }
    });
    let start = Instant::now();
    stream::iter(0..pods)
        .map(|i| {
            let api = podapi.clone();
            let created = Arc::clone(&created);
            async move {
                let mut p = shape.pod(i).namespace(ns).build();
                p.metadata.uid = None;
                let name = p.metadata.name.clone().unwrap();
                created.lock().unwrap().insert(name.clone(), Instant::now());
                api.create(&PostParams::default(), &p).await.expect("creating pod");
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
    let created_in = start.elapsed();
    let deadline = Instant::now() + Duration::from_secs(600);
    while bound.lock().unwrap().len() < pods {
        assert!(
            Instant::now() < deadline,
            "{}: only {} of {pods} bound in 600s",
            shape.name(),
            bound.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    watch.abort();
    let (last, lat) = {
        let bound = bound.lock().unwrap();
        let created = created.lock().unwrap();
        let last = bound.values().max().copied().unwrap();
        let lat: Vec<Duration> = bound.iter().map(|(k, t)| t.saturating_duration_since(created[k])).collect();
        (last, lat)
    };
    // Events are best effort (queued, dropped beyond 1,000 as upstream): say how many made it.
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), ns);
    let recorded = events.list(&Default::default()).await.map(|l| l.items.len()).unwrap_or(0);
    eprintln!("    ({pods} pods created in {created_in:.1?}; {recorded} events recorded by the end)");
    (pods as f64 / last.duration_since(start).as_secs_f64(), p99(lat))
}

fn main() {
    let nodes: Vec<usize> = std::env::var("RK_BENCH_NODES")
        .unwrap_or_else(|_| "1000,5000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let pods: usize = std::env::var("RK_BENCH_PODS").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let run_e2e = std::env::var("RK_BENCH_E2E").map(|v| v != "0").unwrap_or(true);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let wanted = std::env::var("RK_BENCH_SHAPES").unwrap_or_default();
    let shapes: Vec<Shape> = [Shape::Basic, Shape::AntiAffinity, Shape::Spread]
        .into_iter()
        .filter(|s| wanted.is_empty() || wanted.split(',').any(|w| w.trim() == s.name()))
        .collect();
    println!("algorithm in-process ({pods} pods):");
    for &n in &nodes {
        for &shape in &shapes {
            let (rate, p) = rt.block_on(algorithm(n, pods, shape));
            println!("  {:<16} {n:>5} nodes: {rate:>9.0} pods/s  p99 {p:.2?}", shape.name());
        }
    }
    if !run_e2e {
        return;
    }
    println!("end to end through kube-apiserver ({pods} pods per shape):");
    for &n in &nodes {
        let api = rustkube_harness::Apiserver::start(&[]);
        rt.block_on(async {
            let client = api.client().await;
            let nodeapi: Api<Node> = Api::all(client.clone());
            let t = Instant::now();
            stream::iter(0..n)
                .map(|i| {
                    let nodeapi = nodeapi.clone();
                    async move {
                        let nd = node_for(i).build();
                        let name = nd.metadata.name.clone().unwrap();
                        nodeapi.create(&PostParams::default(), &nd).await.expect("creating node");
                        let st = serde_json::json!({"status": nd.status});
                        nodeapi
                            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&st))
                            .await
                            .expect("node status");
                    }
                })
                .buffer_unordered(32)
                .collect::<Vec<()>>()
                .await;
            eprintln!("  ({n} nodes created in {:.1?})", t.elapsed());
            let args = [
                "kube-scheduler".to_string(),
                format!("--kubeconfig={}", api.kubeconfig().display()),
                "--leader-elect=false".into(),
                "--secure-port=0".into(),
                "--bind-address=127.0.0.1".into(),
            ];
            let cfg = <rustkube_scheduler::Options as clap::Parser>::parse_from(args).into_config().unwrap();
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let sched = tokio::spawn(rustkube_scheduler::run(cfg, async move {
                let _ = rx.await;
            }));
            for (i, shape) in shapes.iter().enumerate() {
                let (rate, p) = e2e(&api, &client, pods, *shape, &format!("bench-{i}")).await;
                println!("  {:<16} {n:>5} nodes: {rate:>9.0} pods/s  p99 {p:.2?}", shape.name());
            }
            let _ = tx.send(());
            let _ = sched.await;
        });
    }
}
