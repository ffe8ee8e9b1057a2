//! kube-controller-manager: workload controllers, garbage collection and namespaces.
//!
//! Every controller is built from the table in [`controllers`] on shared
//! informers ([`informer`]), drains its own rate-limited queue ([`queue`])
//! with N workers, and writes only through the API.

pub mod cached_pod;
pub mod claim;
pub mod controller;
pub mod controllers;
pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod discovery;
pub mod events;
pub mod expectations;
pub mod garbagecollector;
pub mod informer;
pub mod job;
pub mod namespace;
pub mod options;
pub mod pods;
pub mod queue;
pub mod replicaset;
pub mod root_ca_publisher;
pub mod serviceaccount;
pub mod statefulset;
pub mod ttl_after_finished;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use rustkube_component_base::health::{Health, Metrics};
use rustkube_component_base::leader_election::LeaderElector;

use crate::controller::{ControllerContext, Stop};
use crate::informer::InformerFactory;
use crate::options::Options;
use crate::queue::QueueMetrics;

/// The component name: the Lease's name and the user agent.
pub const COMPONENT: &str = "kube-controller-manager";

/// Runs kube-controller-manager until `shutdown` resolves (or leadership is lost).
pub async fn run(options: Options, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
    controllers::validate(&options.controllers)?;
    let user_agent = format!("{COMPONENT}/v1.33.0 (linux/amd64) rustkube");
    let config = rustkube_component_base::client::config(options.kubeconfig.as_deref()).await?;
    // The certificate authorities the client trusts: the root CA publisher's fallback.
    let client_ca = config.root_cert.clone().unwrap_or_default();
    let client = rustkube_component_base::client::client_from(config, &user_agent)?;
    let health = Health::new();
    let metrics = Metrics::new();

    let tls = options.serving.tls_config()?;
    let addr = SocketAddr::new(options.serving.bind_address, options.secure_port());
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr()?;
    tracing::info!(address = %local, "listening on {local}");
    let (stop_serving, serving_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(rustkube_component_base::serving::serve(
        listener,
        tls,
        rustkube_component_base::health::router(health.clone(), metrics.clone()),
        |_| (),
        async move {
            let _ = serving_stopped.await;
        },
    ));

    let options = Arc::new(options);
    let result = if options.leader_election.leader_elect {
        let elector = LeaderElector::new(client.clone(), options.leader_election.config(COMPONENT))?;
        health.add("leaderElection", elector.health_check());
        let work = run_controllers(client, client_ca, Arc::clone(&options), metrics, std::future::pending());
        elector.run(work, shutdown).await.map_err(anyhow::Error::from)
    } else {
        run_controllers(client, client_ca, Arc::clone(&options), metrics, shutdown).await
    };
    let _ = stop_serving.send(());
    let _ = server.await;
    result
}

/// Builds every enabled controller, starts the informers they asked for and
/// runs them until `shutdown`.
pub async fn run_controllers(
    client: kube::Client,
    client_ca: Vec<Vec<u8>>,
    options: Arc<Options>,
    metrics: Metrics,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let (stop_tx, stop) = Stop::new();
    let informers = InformerFactory::new(client.clone());
    let ctx = ControllerContext {
        client: client.clone(),
        client_ca,
        informers: informers.clone(),
        events: events::Broadcaster::start(client),
        queue_metrics: QueueMetrics::register(&metrics),
        options: Arc::clone(&options),
        stop,
    };
    let mut running = tokio::task::JoinSet::new();
    for descriptor in controllers::descriptors() {
        if !controllers::is_enabled(&descriptor, &options.controllers) {
            tracing::info!(controller = descriptor.name, "controller is disabled");
            continue;
        }
        if descriptor.name == "garbage-collector-controller" && !options.enable_garbage_collector {
            continue;
        }
        let run = (descriptor.constructor)(&ctx)
            .map_err(|message| controllers::Error::InitFailed { name: descriptor.name, message })?;
        tracing::info!(controller = descriptor.name, "started controller");
        running.spawn(run);
    }
    informers.start();
    shutdown.await;
    tracing::info!("shutting down controllers");
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while running.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("controllers did not stop within 10s");
    }
    informers.shutdown();
    Ok(())
}
