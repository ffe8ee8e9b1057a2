//! rustkube-local-up: starts a local cluster (see the library) and, unless
//! `--detach`, keeps it running until Ctrl-C or SIGTERM, then stops it.
//! `--down` stops a detached one (or cleans up after a crashed one).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use rustkube_local_cluster::{Network, Spec};

#[derive(Debug, Parser)]
#[command(name = "rustkube-local-up", about = "A local rustkube cluster as separate processes")]
struct Options {
    /// State, kubeconfigs, logs and pid files.
    #[arg(long)]
    dir: PathBuf,
    /// Where the daemon binaries are (not needed with --down).
    #[arg(long, default_value = ".")]
    bin_dir: PathBuf,
    /// The apiserver's port: on the host's 127.0.0.1 (relayed into the
    /// cluster namespace), or inside the namespace with --netns (0: a free one).
    #[arg(long, default_value_t = 6443)]
    port: u16,
    /// Use a real etcd instead of the embedded store.
    #[arg(long)]
    etcd: bool,
    /// Containerd-backed nodes, each in its own network namespace (needs root).
    #[arg(long, default_value_t = 1)]
    nodes: u32,
    /// Simulated nodes (kubelets with the fake runtime).
    #[arg(long, default_value_t = 0)]
    fake_nodes: u32,
    /// Put the whole cluster in network namespace NAME (made for it) with no
    /// way in from the host: use it with `nsenter --net=/run/netns/NAME kubectl …`.
    #[arg(long)]
    netns: Option<String>,
    /// Where built image archives are kept (default DIR/images).
    #[arg(long)]
    image_cache: Option<PathBuf>,
    /// Once ready, create the objects of FILE and wait for its Deployments' pods (repeatable).
    #[arg(long)]
    apply: Vec<PathBuf>,
    /// Return once the cluster is ready, leaving it running.
    #[arg(long)]
    detach: bool,
    /// Stop the cluster recorded under --dir instead of starting one.
    #[arg(long)]
    down: bool,
    /// Internal: run the apiserver relay into this namespace (started by local-up itself).
    #[arg(long, hide = true)]
    relay_netns: Option<String>,
}

fn main() -> ExitCode {
    let options = Options::parse();
    if let Some(netns) = &options.relay_netns {
        let port_file = options.dir.join("run").join("apiserver-relay.port");
        let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, options.port));
        // The apiserver listens on the namespace's loopback on the port the relay got.
        let target = |port| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        return match rustkube_local_cluster::relay::run(listen, netns, target, &port_file) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("rustkube-local-up relay: {err:#}");
                ExitCode::FAILURE
            }
        };
    }
    if options.down {
        for what in rustkube_local_cluster::down(&options.dir) {
            println!("stopped or removed {what}");
        }
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("rustkube-local-up: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let network = match (&options.netns, options.nodes) {
        (Some(name), _) => Network::Namespace { name: Some(name.clone()), relay: false },
        (None, 0) => Network::Host,
        (None, _) => Network::Namespace { name: None, relay: true },
    };
    let spec = Spec {
        dir: options.dir.clone(),
        bin_dir: options.bin_dir.clone(),
        port: options.port,
        etcd: options.etcd,
        nodes: options.nodes,
        fake_nodes: options.fake_nodes,
        control_loops: true,
        network,
        image_cache: options.image_cache.clone(),
    };
    let progress = |step: &str| println!("local-up: {step}");
    let cluster = match runtime.block_on(rustkube_local_cluster::up(&spec, &progress)) {
        Ok(c) => c,
        Err(err) => {
            eprintln!("local-up: {err:#}");
            eprintln!("local-up: logs are in {}/logs; stopping what was started", options.dir.display());
            rustkube_local_cluster::down(&options.dir);
            return ExitCode::FAILURE;
        }
    };
    let mut apply_failed = false;
    if !options.apply.is_empty() {
        let applied = runtime.block_on(rustkube_local_cluster::apply_files(&cluster, &options.apply, |step| {
            println!("local-up: {step}")
        }));
        if let Err(err) = applied {
            apply_failed = true;
            eprintln!("local-up: {err:#}");
            eprintln!("local-up: the cluster keeps running; logs are in {}/logs", options.dir.display());
        }
    }
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let examples = std::fs::canonicalize(&examples).unwrap_or(examples);
    let enter = match &options.netns {
        Some(name) => format!("nsenter --net=/run/netns/{name} "),
        None => String::new(),
    };
    println!(
        "\nCluster ready in {:.2}s: {} node(s) Ready, API at {}. Logs: {}/logs\n\n  export KUBECONFIG={}\n  {enter}kubectl get nodes\n  {enter}kubectl apply -f {}/web.yaml    # more in {}\n",
        cluster.ready_after.as_secs_f64(),
        cluster.node_names.len(),
        cluster.server_url,
        cluster.dir.display(),
        cluster.admin_kubeconfig.display(),
        examples.display(),
        examples.display(),
    );
    if options.detach {
        println!("Stop it with: deploy/local-down.sh --dir {}", cluster.dir.display());
        return if apply_failed { ExitCode::FAILURE } else { ExitCode::SUCCESS };
    }
    println!("Press Ctrl-C to stop it.");
    runtime.block_on(rustkube_component_base::shutdown::signal());
    for what in rustkube_local_cluster::down(&options.dir) {
        println!("stopped or removed {what}");
    }
    ExitCode::SUCCESS
}
