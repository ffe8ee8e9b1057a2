//! rustkube-local-up: starts a local cluster (see the library) and, unless
//! `--detach`, keeps it running until Ctrl-C or SIGTERM, then stops it.
//! `--down` stops a detached one.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "rustkube-local-up", about = "A local rustkube cluster as separate processes")]
struct Options {
    /// State, kubeconfigs, logs and pid files.
    #[arg(long)]
    dir: PathBuf,
    /// Where the daemon binaries are (not needed with --down).
    #[arg(long, default_value = ".")]
    bin_dir: PathBuf,
    /// The apiserver's port on 127.0.0.1 (0: a free one).
    #[arg(long, default_value_t = 6443)]
    port: u16,
    /// Use a real etcd instead of the embedded store.
    #[arg(long)]
    etcd: bool,
    /// Simulated nodes (kubelets with the fake runtime).
    #[arg(long, default_value_t = 1)]
    fake_nodes: u32,
    /// Return once the cluster is ready, leaving it running.
    #[arg(long)]
    detach: bool,
    /// Stop the cluster recorded under --dir instead of starting one.
    #[arg(long)]
    down: bool,
}

fn main() -> ExitCode {
    let options = Options::parse();
    if options.down {
        for name in rustkube_local_cluster::down(&options.dir) {
            println!("stopped {name}");
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
    let spec = rustkube_local_cluster::Spec {
        dir: options.dir.clone(),
        bin_dir: options.bin_dir.clone(),
        port: options.port,
        etcd: options.etcd,
        fake_nodes: options.fake_nodes,
        control_loops: true,
    };
    let progress = |step: &str| println!("local-up: {step}");
    let cluster = match runtime.block_on(rustkube_local_cluster::up(&spec, &progress)) {
        Ok(c) => c,
        Err(err) => {
            eprintln!("local-up: {err:#}");
            rustkube_local_cluster::down(&options.dir);
            return ExitCode::FAILURE;
        }
    };
    println!(
        "\nCluster ready in {:.2}s at {}. Logs: {}/logs\n\n  export KUBECONFIG={}\n  kubectl get nodes\n  kubectl apply -f deploy/examples/\n",
        cluster.ready_after.as_secs_f64(),
        cluster.server_url,
        cluster.dir.display(),
        cluster.admin_kubeconfig.display()
    );
    if options.detach {
        println!("Stop it with: deploy/local-down.sh --dir {}", cluster.dir.display());
        return ExitCode::SUCCESS;
    }
    println!("Press Ctrl-C to stop it.");
    runtime.block_on(rustkube_component_base::shutdown::signal());
    for name in rustkube_local_cluster::down(&options.dir) {
        println!("stopped {name}");
    }
    ExitCode::SUCCESS
}
