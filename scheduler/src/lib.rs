//! kube-scheduler: places pods on nodes with upstream's scheduling framework.
//!
//! The watches ([`informers`]) keep a [`cache::Cache`] of nodes and placed
//! pods and feed pending pods to the [`queue::SchedulingQueue`]; the loop
//! ([`scheduler`]) pops a pod, runs a profile's [`framework`] plugins
//! ([`plugins`]) through [`algorithm`], assumes the pod onto the chosen node
//! and binds it asynchronously.

pub mod affinity_term;
pub mod algorithm;
pub mod cache;
pub mod config;
pub mod diagnosis;
pub mod framework;
pub mod informers;
pub mod metrics;
pub mod node_info;
pub mod node_selector;
pub mod options;
pub mod plugins;
pub mod pod_index;
pub mod pod_info;
pub mod queue;
pub mod resource;
pub mod scheduler;
pub mod spread_counts;
pub mod testing;
pub mod writer;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rustkube_component_base::health::{Health, Metrics, router};
use rustkube_component_base::leader_election::LeaderElector;
use tokio::net::TcpListener;

pub use options::{Config, Options};

use crate::config::KubeSchedulerConfiguration;
use crate::framework::Framework;
use crate::framework::registry::{Handle, build};
use crate::metrics::SchedulerMetrics;
use crate::queue::SchedulingQueue;
use crate::scheduler::Scheduler;
use crate::writer::{ClusterWriter, KubeWriter};

/// Builds every profile's framework.
pub fn build_profiles(
    cfg: &KubeSchedulerConfiguration,
    handle: &Handle,
) -> anyhow::Result<HashMap<String, Arc<Framework>>> {
    let mut out = HashMap::new();
    for p in &cfg.profiles {
        let fwk = build(p, cfg.percentage_of_nodes_to_score, handle)?;
        out.insert(fwk.profile_name.clone(), Arc::new(fwk));
    }
    Ok(out)
}

/// Builds a scheduler for `cfg` writing through `client`.
pub fn new_scheduler(
    cfg: &KubeSchedulerConfiguration,
    client: kube::Client,
    metrics: SchedulerMetrics,
    identity: &str,
) -> anyhow::Result<Arc<Scheduler>> {
    let profiles = build_profiles(cfg, &Handle { client: Some(client.clone()) })?;
    let writers: HashMap<String, Arc<dyn ClusterWriter>> = profiles
        .keys()
        .map(|name| (name.clone(), KubeWriter::new(client.clone(), name, identity) as Arc<dyn ClusterWriter>))
        .collect();
    let queue = Arc::new(SchedulingQueue::new(
        Duration::from_secs(cfg.pod_initial_backoff_seconds.unwrap_or(1).max(1) as u64),
        Duration::from_secs(cfg.pod_max_backoff_seconds.unwrap_or(10).max(1) as u64),
    ));
    Ok(Arc::new(Scheduler::new(profiles, writers, queue, metrics)))
}

/// Builds a scheduler with no API client: binding is a no-op and nothing is
/// written (in-process benchmarks and tests feed its cache and queue directly).
pub fn in_process_scheduler(cfg: &KubeSchedulerConfiguration) -> anyhow::Result<Arc<Scheduler>> {
    let profiles = build_profiles(cfg, &Handle::default())?;
    let writers: HashMap<String, Arc<dyn ClusterWriter>> =
        profiles.keys().map(|name| (name.clone(), Arc::new(writer::NullWriter) as Arc<dyn ClusterWriter>)).collect();
    let queue = Arc::new(SchedulingQueue::new(
        Duration::from_secs(cfg.pod_initial_backoff_seconds.unwrap_or(1).max(1) as u64),
        Duration::from_secs(cfg.pod_max_backoff_seconds.unwrap_or(10).max(1) as u64),
    ));
    let metrics = SchedulerMetrics::new(&Metrics::new());
    Ok(Arc::new(Scheduler::new(profiles, writers, queue, metrics)))
}

/// Aborts the tasks it holds when dropped (work stops when leadership or the process ends).
#[derive(Debug, Default)]
struct Tasks(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// Watches, waits for the caches, then schedules until dropped.
async fn schedule(
    cfg: KubeSchedulerConfiguration,
    client: kube::Client,
    metrics: SchedulerMetrics,
    identity: String,
) -> anyhow::Result<()> {
    let sched = new_scheduler(&cfg, client.clone(), metrics, &identity)?;
    let (synced_tx, mut synced_rx) = tokio::sync::watch::channel(0usize);
    let mut tasks = Tasks(sched.start_watches(client, synced_tx));
    synced_rx.wait_for(|n| *n >= informers::WATCHES).await.context("watches stopped before listing")?;
    tracing::info!(profiles = ?sched.profiles.keys().collect::<Vec<_>>(), "caches synced; scheduling");
    tasks.0.push(tokio::spawn(Arc::clone(&sched.queue).run_flusher()));
    let depth = Arc::clone(&sched);
    tasks.0.push(tokio::spawn(async move {
        loop {
            depth.metrics.set_depths(depth.queue.depths());
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }));
    struct CloseOnDrop(Arc<SchedulingQueue>);
    impl Drop for CloseOnDrop {
        fn drop(&mut self) {
            self.0.close();
        }
    }
    let _close = CloseOnDrop(Arc::clone(&sched.queue));
    // The loop holds the cache lock for a whole cycle; on its own thread it never
    // stalls the runtime's workers (watch handlers, bindings, events).
    let handle = tokio::runtime::Handle::current();
    let looping = Arc::clone(&sched);
    tokio::task::spawn_blocking(move || {
        let _runtime = handle.enter();
        while let Some(qp) = handle.block_on(looping.queue.pop()) {
            looping.schedule_one(qp);
        }
    })
    .await
    .context("the scheduling loop panicked")?;
    drop(tasks);
    Ok(())
}

/// Runs the scheduler until `shutdown` resolves (or leadership is lost: an error).
pub async fn run(config: Config, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
    let client = rustkube_component_base::client::client(config.kubeconfig.as_deref(), "kube-scheduler")
        .await
        .context("building the API client")?;
    let registry = Metrics::new();
    let health = Health::new();
    let metrics = SchedulerMetrics::new(&registry);
    let tls = config.serving.tls_config().context("serving certificate")?;
    let listener = TcpListener::bind((config.serving.bind_address, config.secure_port))
        .await
        .with_context(|| format!("binding {}:{}", config.serving.bind_address, config.secure_port))?;
    tracing::info!("serving health and metrics; listening on {}", listener.local_addr()?);
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(rustkube_component_base::serving::serve(
        listener,
        tls,
        router(health.clone(), registry),
        |_| (),
        async move {
            let _ = stop_rx.wait_for(|s| *s).await;
        },
    ));
    let identity = config
        .leader_election
        .as_ref()
        .map(|l| l.identity.clone())
        .unwrap_or_else(rustkube_component_base::leader_election::default_identity);
    let work = schedule(config.component.clone(), client.clone(), metrics, identity);
    let result = match config.leader_election.clone() {
        Some(le) => {
            let elector = LeaderElector::new(client, le)?;
            health.add("leaderElection", elector.health_check());
            elector.run(work, shutdown).await.map_err(anyhow::Error::from)
        }
        None => {
            tokio::select! {
                r = work => r,
                _ = shutdown => Ok(()),
            }
        }
    };
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    result
}
