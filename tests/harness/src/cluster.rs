//! A whole local cluster for end-to-end tests, started by the same code as
//! `deploy/local-up.sh` (the `rustkube-local-cluster` library) in a temp
//! dir; stopped on drop, with every daemon's log printed when the test fails.

use std::path::PathBuf;
use std::process::{Command, Output};

use rustkube_local_cluster::{Cluster as Started, Spec};

/// A running cluster owned by the test.
#[derive(Debug)]
pub struct Cluster {
    pub cluster: Started,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// Apiserver (embedded store), controller-manager, scheduler and
    /// `fake_nodes` kubelets with the fake runtime; waits for every node Ready.
    pub fn start(fake_nodes: u32) -> Self {
        let binaries: Vec<PathBuf> = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet"]
            .iter()
            .map(|name| crate::binaries::binary(name))
            .collect();
        let bin_dir = binaries[0].parent().map(PathBuf::from).expect("binary directory");
        let dir = tempfile::Builder::new().prefix("rustkube-cluster-").tempdir().expect("temp dir");
        let spec = Spec { dir: dir.path().to_owned(), bin_dir, port: 0, etcd: false, fake_nodes, control_loops: true };
        let started = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(rustkube_local_cluster::up(&spec, &|step| eprintln!("cluster: {step}")))
        })
        .join()
        .expect("cluster start-up thread");
        match started {
            Ok(cluster) => Cluster { cluster, dir },
            Err(err) => {
                let logs = logs_of(dir.path());
                rustkube_local_cluster::down(dir.path());
                panic!("cluster did not start: {err:#}\n{logs}");
            }
        }
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.cluster.admin_kubeconfig.clone()
    }

    /// A kube-rs client with the cluster-admin identity.
    pub async fn client(&self) -> kube::Client {
        let file = kube::config::Kubeconfig::read_from(self.kubeconfig()).expect("reading admin.kubeconfig");
        let config = kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
            .await
            .expect("admin.kubeconfig as a client configuration");
        kube::Client::try_from(config).expect("building a kube client")
    }

    /// Runs the real kubectl of `version` against the cluster.
    pub fn kubectl(&self, version: &str, args: &[&str]) -> Output {
        Command::new(crate::kubectl::kubectl_binary(version))
            .arg(format!("--kubeconfig={}", self.kubeconfig().display()))
            .args(args)
            .env_remove("KUBECONFIG")
            .output()
            .expect("running kubectl")
    }

    /// Every daemon's log.
    pub fn logs(&self) -> String {
        logs_of(self.dir.path())
    }
}

fn logs_of(dir: &std::path::Path) -> String {
    let mut out = String::new();
    let Ok(entries) = std::fs::read_dir(dir.join("logs")) else { return out };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        out.push_str(&format!("--- {} (last 40 lines) ---\n", path.display()));
        out.push_str(&lines[lines.len().saturating_sub(40)..].join("\n"));
        out.push('\n');
    }
    out
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
        rustkube_local_cluster::down(self.dir.path());
    }
}
