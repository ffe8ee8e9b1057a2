//! Convergence benchmark: N deployments × R replicas created at once against
//! the real apiserver; reports pods created per second, controller-manager
//! CPU seconds per 1,000 pods and RSS, and the raw pod-create rate of the
//! same apiserver from one client as the floor.
//!
//! Then deletes every deployment and reports how fast the garbage collector
//! removes their replica sets and pods.
//!
//! `cargo bench -p rustkube-controller-manager --bench converge`
//! (`BENCH_DEPLOYMENTS`, `BENCH_REPLICAS` override 1000 × 5; `BENCH_CM_ARGS`
//! adds controller-manager flags, e.g. `--concurrent-replicaset-syncs=20`).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{Container, Namespace, Pod, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::watcher;
use rustkube_harness::{Apiserver, Daemon};

const CONCURRENCY: usize = 32;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn template(app: &str) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta { labels: Some([("app".to_owned(), app.to_owned())].into()), ..Default::default() }),
        spec: Some(PodSpec {
            containers: vec![Container { name: "c".into(), image: Some("busybox".into()), ..Default::default() }],
            ..Default::default()
        }),
    }
}

/// (RSS kB, peak RSS kB, CPU seconds) of a process.
fn usage(pid: u32) -> (u64, u64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
    let ticks: f64 = fields.get(11..13).map(|f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum()).unwrap_or(0.0);
    (kb("VmRSS:"), kb("VmHWM:"), ticks / 100.0)
}

async fn create_namespace(client: &kube::Client, name: &str) {
    let ns = Namespace { metadata: ObjectMeta { name: Some(name.into()), ..Default::default() }, ..Default::default() };
    Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &ns).await.expect("namespace");
}

/// Raw pod creates from this client: the floor the controllers are measured against.
async fn floor(client: &kube::Client, count: usize) -> f64 {
    create_namespace(client, "floor").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "floor");
    let started = Instant::now();
    stream::iter(0..count)
        .map(|i| {
            let pods = pods.clone();
            async move {
                let p = Pod {
                    metadata: ObjectMeta { name: Some(format!("p{i}")), ..Default::default() },
                    spec: template("floor").spec,
                    status: None,
                };
                pods.create(&PostParams::default(), &p).await.expect("floor pod");
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    let rate = count as f64 / started.elapsed().as_secs_f64();
    let _ = pods.delete_collection(&DeleteParams::default(), &ListParams::default()).await;
    rate
}

fn main() {
    let deployments = env("BENCH_DEPLOYMENTS", 1000);
    let replicas = env("BENCH_REPLICAS", 5);
    let total = deployments * replicas;
    let apiserver = Apiserver::start(&[]);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let client = apiserver.client().await;
        let floor_rate = floor(&client, 1000).await;
        create_namespace(&client, "bench").await;
        let args = vec![
            format!("--kubeconfig={}", apiserver.kubeconfig().display()),
            "--bind-address=127.0.0.1".to_owned(),
            "--secure-port=0".to_owned(),
            "--leader-elect=false".to_owned(),
            "--controllers=replicaset,deployment,garbagecollector".to_owned(),
        ];
        let mut args = args;
        args.extend(std::env::var("BENCH_CM_ARGS").unwrap_or_default().split_whitespace().map(str::to_owned));
        let cm = tokio::task::block_in_place(|| Daemon::start("kube-controller-manager", &args));
        let (_, _, cpu_before) = usage(cm.pid());

        let pods: Api<Pod> = Api::namespaced(client.clone(), "bench");
        let counter = tokio::spawn(async move {
            let mut seen = HashSet::new();
            let stream = watcher(pods, watcher::Config::default());
            futures_util::pin_mut!(stream);
            while let Ok(Some(event)) = stream.try_next().await {
                if let watcher::Event::Apply(p) | watcher::Event::InitApply(p) = event {
                    seen.insert(p.metadata.name.unwrap_or_default());
                    if seen.len() >= total {
                        return Instant::now();
                    }
                }
            }
            Instant::now()
        });

        let api: Api<Deployment> = Api::namespaced(client.clone(), "bench");
        let started = Instant::now();
        stream::iter(0..deployments)
            .map(|i| {
                let api = api.clone();
                async move {
                    let app = format!("d{i}");
                    let d = Deployment {
                        metadata: ObjectMeta { name: Some(app.clone()), ..Default::default() },
                        spec: Some(DeploymentSpec {
                            replicas: Some(i32::try_from(replicas).unwrap_or(1)),
                            selector: LabelSelector {
                                match_labels: Some([("app".to_owned(), app.clone())].into()),
                                ..Default::default()
                            },
                            template: template(&app),
                            ..Default::default()
                        }),
                        status: None,
                    };
                    api.create(&PostParams::default(), &d).await.expect("deployment");
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        let created_all = started.elapsed();
        let done = tokio::time::timeout(Duration::from_secs(600), counter)
            .await
            .expect("converged within 10 min")
            .expect("counter");
        let took = done.duration_since(started);
        let (rss, peak, cpu_after) = usage(cm.pid());
        let rate = total as f64 / took.as_secs_f64();
        let cpu = cpu_after - cpu_before;
        println!("deployments created:          {deployments} x {replicas} replicas in {created_all:.2?}");
        println!("pods created by controllers:  {total} in {took:.2?} = {rate:.0} pods/s");
        println!("floor (raw pod creates):      {floor_rate:.0} pods/s from one client, {CONCURRENCY} in flight");
        println!("ratio to floor:               {:.2}", rate / floor_rate);
        println!(
            "controller-manager CPU:       {cpu:.2} s total, {:.2} s per 1,000 pods",
            cpu / (total as f64 / 1000.0)
        );
        println!("controller-manager RSS:       {} MB now, {} MB peak", rss / 1024, peak / 1024);

        // Garbage collection of everything the deployments own.
        let pods: Api<Pod> = Api::namespaced(client.clone(), "bench");
        let gc_started = Instant::now();
        api.delete_collection(&DeleteParams::background(), &ListParams::default()).await.expect("deleting deployments");
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let left = pods.list(&ListParams::default().limit(1)).await.map(|l| l.items.len()).unwrap_or(1);
            if left == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "pods not collected within 10 min");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let gc_took = gc_started.elapsed();
        let (rss_after, peak, cpu_end) = usage(cm.pid());
        println!(
            "garbage collected:            {deployments} replica sets and {total} pods in {gc_took:.2?} = {:.0} pods/s",
            total as f64 / gc_took.as_secs_f64()
        );
        println!(
            "controller-manager totals:    {:.2} s CPU, {} MB peak RSS, {} MB once everything is collected",
            cpu_end - cpu_before,
            peak / 1024,
            rss_after / 1024
        );
        drop(cm);
    });
}
