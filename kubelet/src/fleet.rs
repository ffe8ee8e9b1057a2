//! Many simulated kubelets in one process (upstream's kubemark "hollow
//! nodes"): each a full kubelet on the fake runtime — Node, Lease, status,
//! pod workers — sharing one API client, one service watch and one async runtime, so one machine
//! can host hundreds of nodes for scale tests.

use std::path::PathBuf;

use crate::options::{Config, RuntimeEndpoint};

/// `kubemark` flags.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "kubemark", about = "Simulated kubelets on the fake runtime, many in one process")]
pub struct FleetOptions {
    /// Kubeconfig of the API server.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,

    /// What to simulate; only `kubelet` is supported.
    #[arg(long, default_value = "kubelet", value_parser = ["kubelet"])]
    pub morph: String,

    /// Node name prefix: nodes are `<name>-0` … `<name>-<N-1>`.
    #[arg(long, default_value = "hollow-node")]
    pub name: String,

    /// How many nodes to run.
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,

    /// The fake runtime endpoint (with knobs), e.g. `fake://?start-latency=50ms`.
    #[arg(long, default_value = "fake://")]
    pub container_runtime_endpoint: String,

    /// Base directory; each node gets `<root-dir>/<node>`.
    #[arg(long, default_value = "/var/lib/kubemark")]
    pub root_dir: PathBuf,

    /// The most pods each node runs.
    #[arg(long, default_value_t = 110)]
    pub max_pods: u32,

    #[command(flatten)]
    pub logging: rustkube_component_base::options::LoggingOptions,
}

impl FleetOptions {
    /// One kubelet configuration per node.
    pub fn configs(&self) -> Result<Vec<Config>, crate::options::Error> {
        let endpoint = crate::options::parse_endpoint(&self.container_runtime_endpoint)?;
        if !matches!(endpoint, RuntimeEndpoint::Fake(_)) {
            return Err(crate::options::Error::RuntimeEndpoint {
                endpoint: self.container_runtime_endpoint.clone(),
                reason: "kubemark runs only fake:// runtimes".into(),
            });
        }
        Ok((0..self.nodes)
            .map(|i| {
                let name = format!("{}-{i}", self.name);
                let mut c = Config::fake(&name, self.kubeconfig.clone(), self.root_dir.join(&name));
                c.runtime = endpoint.clone();
                c.max_pods = self.max_pods;
                c
            })
            .collect())
    }
}

/// Runs every kubelet of `configs` on `client` until `shutdown`.
pub async fn run(
    configs: Vec<Config>,
    client: kube::Client,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), crate::Error> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // One service watch for the whole fleet.
    let services = crate::services::Services::watch(client.clone(), stop_rx.clone());
    let mut set = tokio::task::JoinSet::new();
    for config in configs {
        let client = client.clone();
        let services = services.clone();
        let mut stop = stop_rx.clone();
        set.spawn(async move {
            let name = config.node_name.clone();
            let result = crate::run_with_client(config, client, Some(services), async move {
                let _ = stop.changed().await;
            })
            .await;
            if let Err(e) = &result {
                tracing::error!(node = %name, error = %e, "simulated kubelet failed");
            }
            result
        });
    }
    tokio::pin!(shutdown);
    let mut first_error = None;
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            done = set.join_next() => match done {
                None => break,
                Some(Ok(Err(e))) => {
                    first_error.get_or_insert(e);
                }
                Some(_) => {}
            },
        }
    }
    let _ = stop_tx.send(true);
    while set.join_next().await.is_some() {}
    first_error.map_or(Ok(()), Err)
}
