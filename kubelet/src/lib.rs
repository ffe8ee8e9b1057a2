//! kubelet: the node agent. It registers its Node, keeps the node Lease and
//! status current, and runs the pods bound to it through CRI (containerd) or
//! an in-memory fake runtime.

pub mod auth;
pub mod backoff;
pub mod cgroups;
pub mod env;
pub mod events;
pub mod eviction;
pub mod fleet;
pub mod image_gc;
pub mod lease;
pub mod logs;
pub mod machine;
pub mod node;
pub mod options;
pub mod pod_worker;
pub mod pod_workers;
pub mod probes;
pub mod runtime;
pub mod runtime_pods;
pub mod server;
pub mod services;
pub mod spec;
pub mod static_pods;
pub mod stats;
pub mod status;
pub mod streaming;
pub mod token_manager;
pub mod volumes;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use kube::Api;
use rustkube_api::quantity::Quantity;
use rustkube_component_base::health::{Health, Metrics};
use tokio::net::TcpListener;

use crate::options::{Config, RuntimeEndpoint};

/// Errors that stop the kubelet.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("building the API client: {0}")]
    Client(#[from] rustkube_component_base::client::Error),
    #[error("connecting to the container runtime: {0}")]
    Runtime(#[from] runtime::Error),
    #[error("binding {what} on {addr}: {source}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("serving TLS: {0}")]
    Tls(String),
    #[error("creating root directory {path}: {source}")]
    RootDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The `User-Agent` kubelets send.
pub fn user_agent() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("kubelet/{} (linux/{arch}) kubernetes/rustkube", node::KUBELET_VERSION)
}

/// Runs a kubelet until `shutdown` resolves.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let kubelet = async move {
        let client = rustkube_component_base::client::client(config.kubeconfig.as_deref(), &user_agent()).await?;
        serve(config, client, None, stop_rx).await
    };
    until_shutdown(kubelet, shutdown, stop_tx).await
}

/// Runs a kubelet with an existing API client and, when given, an existing
/// service cache (several simulated kubelets can share both).
pub async fn run_with_client(
    config: Config,
    client: kube::Client,
    services: Option<services::Services>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    until_shutdown(serve(config, client, services, stop_rx), shutdown, stop_tx).await
}

/// Drives `kubelet`, telling it to stop when `shutdown` resolves. `shutdown`
/// is polled first, before any work, so a signal handler behind it is
/// installed at once and an early SIGTERM stops the kubelet cleanly.
async fn until_shutdown(
    kubelet: impl Future<Output = Result<(), Error>>,
    shutdown: impl Future<Output = ()>,
    stop: tokio::sync::watch::Sender<bool>,
) -> Result<(), Error> {
    tokio::pin!(kubelet, shutdown);
    tokio::select! {
        biased;
        _ = &mut shutdown => {
            let _ = stop.send(true);
            kubelet.await
        }
        result = &mut kubelet => result,
    }
}

/// The kubelet until `stop` turns true.
async fn serve(
    config: Config,
    client: kube::Client,
    services: Option<services::Services>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(), Error> {
    tokio::fs::create_dir_all(&config.root_dir)
        .await
        .map_err(|source| Error::RootDir { path: config.root_dir.display().to_string(), source })?;
    let runtime = runtime::connect(&config.runtime).await?;
    let (runtime_name, runtime_version) = match runtime.version().await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "container runtime not answering yet; the node stays NotReady until it does");
            let name = match &config.runtime {
                RuntimeEndpoint::Fake(_) => "fake",
                RuntimeEndpoint::Unix(_) => "containerd",
            };
            (name.to_owned(), "unknown".to_owned())
        }
    };
    tracing::info!(runtime = %runtime_name, version = %runtime_version, node = %config.node_name, "starting kubelet");

    let health = Health::new();
    let metrics = Metrics::new();
    let workers = pod_workers::Workers::default();

    // The kubelet API.
    let api_addr = SocketAddr::new(config.address, config.port);
    let listener = TcpListener::bind(api_addr).await.map_err(|source| Error::Bind {
        what: "kubelet API",
        addr: api_addr,
        source,
    })?;
    let bound = listener.local_addr().map_err(|source| Error::Bind { what: "kubelet API", addr: api_addr, source })?;
    let tls = server::tls_config(&config).map_err(|e| Error::Tls(format!("{e:#}")))?;
    tracing::info!("kubelet API listening on {bound}");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // Listed early, so pods that arrive once the node is registered find it synced.
    let services = services.unwrap_or_else(|| services::Services::watch(client.clone(), stop_rx.clone()));
    let mut tasks = tokio::task::JoinSet::new();
    {
        let app = server::api_router(
            health.clone(),
            metrics.clone(),
            workers.clone(),
            Arc::clone(&runtime),
            config.root_dir.clone(),
            config.node_name.clone(),
        )
        .layer(axum::middleware::from_fn_with_state(auth::Auth::new(&config, client.clone()), auth::auth_filter));
        let mut stop = stop_rx.clone();
        tasks.spawn(async move {
            let identify = auth::ClientCertificate::of;
            let _ = rustkube_component_base::serving::serve(listener, tls, app, identify, async move {
                let _ = stop.changed().await;
            })
            .await;
        });
    }
    if let Some((ip, port)) = config.healthz_address {
        let addr = SocketAddr::new(ip, port);
        let l = TcpListener::bind(addr).await.map_err(|source| Error::Bind { what: "healthz", addr, source })?;
        if let Ok(a) = l.local_addr() {
            tracing::info!(addr = %a, "healthz serving");
        }
        let app = server::healthz_router(health.clone());
        let mut stop = stop_rx.clone();
        tasks.spawn(async move {
            let _ = axum::serve(l, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.changed().await;
                })
                .await;
        });
    }

    let machine = machine::read(&config.root_dir);
    let ip = config.node_ip.unwrap_or_else(machine::default_node_ip);
    let facts = node::NodeFacts {
        name: config.node_name.clone(),
        ip,
        hostname: config.node_name.clone(),
        runtime_version: format!("{runtime_name}://{runtime_version}"),
        kubelet_port: bound.port(),
        runtime_ready: Ok(()),
        pressure: eviction::pressure(&eviction::met(&config.eviction_hard, &eviction::observe(&config.root_dir))),
        machine,
    };
    let (_, allocatable) = node::resources(&config, &facts.machine);
    let allocatable = allocatable.into_iter().filter_map(|(k, v)| Quantity::parse(&v.0).ok().map(|q| (k, q))).collect();

    let nodes: Api<Node> = Api::all(client.clone());
    let mut delay = Duration::from_millis(200);
    loop {
        match node::register(&nodes, &config, &facts).await {
            Ok(_) => break,
            Err(e) => tracing::warn!(error = %e, "unable to register node with API server, will retry"),
        }
        tokio::select! {
            _ = stop.wait_for(|s| *s) => {
                let _ = stop_tx.send(true);
                return Ok(());
            }
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(7));
    }

    tasks.spawn(node::status_loop(nodes, config.clone(), facts, Arc::clone(&runtime), stop_rx.clone()));
    tasks.spawn(
        lease::Heartbeat::new(client.clone(), &config.node_name, config.node_lease_duration_seconds)
            .run(stop_rx.clone()),
    );
    if let Some(dir) = config.pod_manifest_path.clone() {
        tasks.spawn(static_pods::run(client.clone(), dir, config.node_name.clone(), stop_rx.clone()));
    }
    let ctx = Arc::new(pod_worker::Context {
        client: client.clone(),
        runtime: Arc::clone(&runtime),
        recorder: events::Recorder::new(client.clone(), &config.node_name),
        id_scheme: format!("{runtime_name}://"),
        host_ip: ip.to_string(),
        backoff: Mutex::default(),
        evictions: Mutex::default(),
        allocatable,
        config,
        tokens: token_manager::TokenManager::new(),
        services,
        runtime_pods: runtime_pods::RuntimePods::default(),
    });
    tasks.spawn(eviction::run(Arc::clone(&ctx), workers.clone(), stop_rx.clone()));
    tasks.spawn(image_gc::run(
        Arc::clone(&ctx.runtime),
        ctx.config.image_gc,
        ctx.config.image_gc_period,
        ctx.recorder.clone(),
        stop_rx.clone(),
    ));
    tasks.spawn(pod_workers::run(ctx, workers, stop_rx.clone()));

    let _ = stop.wait_for(|s| *s).await;
    tracing::info!("shutting down kubelet");
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), async { while tasks.join_next().await.is_some() {} }).await;
    tasks.abort_all();
    Ok(())
}
