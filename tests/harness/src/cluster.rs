//! A whole local cluster for end-to-end tests, started by the same code as
//! `deploy/local-up.sh` (the `rustkube-local-cluster` library): in network
//! namespaces the cluster makes (one for the control plane, one per
//! containerd node), reached from the test through the same loopback relay
//! local-up gives host users, on a free port, in a temp dir. Stopped and
//! removed on drop, even when the test panics; then every daemon's log tail is
//! printed and the logs are kept under /var/tmp/rustkube-e2e-logs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use rustkube_local_cluster::{Cluster as Started, Network, Spec};

/// Image archives shared by every test cluster (built once).
pub const IMAGE_CACHE: &str = "/var/tmp/rustkube-image-cache";
/// Where the logs of failed tests' clusters are kept.
pub const KEPT_LOGS: &str = "/var/tmp/rustkube-e2e-logs";

/// What a test cluster has.
#[derive(Debug, Clone, Default)]
pub struct ClusterBuilder {
    nodes: u32,
    fake_nodes: u32,
    etcd: bool,
}

impl ClusterBuilder {
    /// Containerd-backed nodes `node-0…` (real containers; needs root and the node packages).
    pub fn nodes(mut self, n: u32) -> Self {
        self.nodes = n;
        self
    }
    /// Fake-runtime nodes `fake-node-0…`.
    pub fn fake_nodes(mut self, n: u32) -> Self {
        self.fake_nodes = n;
        self
    }
    /// A real etcd instead of the embedded store.
    pub fn etcd(mut self) -> Self {
        self.etcd = true;
        self
    }

    /// Starts it and waits until every node is Ready (blocking).
    pub fn start(self) -> Cluster {
        let binaries: Vec<PathBuf> =
            ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "rustkube-local-up"]
                .iter()
                .map(|name| crate::binaries::binary(name))
                .collect();
        let bin_dir = binaries[0].parent().map(PathBuf::from).expect("binary directory");
        // /var/tmp: containerd's socket path must stay short, and overlayfs wants a real filesystem.
        let dir = tempfile::Builder::new().prefix("rk-e2e-").tempdir_in("/var/tmp").expect("temp dir");
        let spec = Spec {
            dir: dir.path().to_owned(),
            bin_dir,
            port: 0,
            etcd: self.etcd,
            nodes: self.nodes,
            fake_nodes: self.fake_nodes,
            control_loops: true,
            network: Network::Namespace { name: None, relay: true },
            image_cache: Some(PathBuf::from(IMAGE_CACHE)),
        };
        let mut cluster = Cluster { cluster: None, spec, dir };
        cluster.up();
        cluster
    }
}

/// A running cluster owned by the test.
#[derive(Debug)]
pub struct Cluster {
    cluster: Option<Started>,
    spec: Spec,
    dir: tempfile::TempDir,
}

/// Runs `future` to completion on a runtime of its own (callable from sync
/// tests and from inside tokio tests alike).
fn block_on<T: Send + 'static>(future: impl std::future::Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(future)
    })
    .join()
    .expect("cluster thread")
}

impl Cluster {
    /// Apiserver (embedded store), controller-manager, scheduler and
    /// `fake_nodes` kubelets with the fake runtime; waits for every node Ready.
    pub fn start(fake_nodes: u32) -> Self {
        Self::builder().fake_nodes(fake_nodes).start()
    }

    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::default()
    }

    /// Starts (again) what the spec says, panicking with the logs on failure.
    pub fn up(&mut self) {
        let spec = self.spec.clone();
        let started = block_on(async move {
            rustkube_local_cluster::up(&spec, &|step| eprintln!("cluster: {step}")).await.map_err(|e| format!("{e:#}"))
        });
        match started {
            Ok(cluster) => {
                eprintln!("cluster: ready in {:.2}s", cluster.ready_after.as_secs_f64());
                self.cluster = Some(cluster);
            }
            Err(err) => {
                let logs = self.logs();
                keep_logs(self.dir.path());
                rustkube_local_cluster::down(self.dir.path());
                panic!("cluster did not start: {err}\n{logs}");
            }
        }
    }

    /// Stops and removes everything, as `deploy/local-down.sh` does; returns what it did.
    pub fn down(&mut self) -> Vec<String> {
        self.cluster = None;
        rustkube_local_cluster::down(self.dir.path())
    }

    /// The started cluster (panics after [`Cluster::down`]).
    pub fn started(&self) -> &Started {
        self.cluster.as_ref().expect("the cluster is up")
    }

    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.started().admin_kubeconfig.clone()
    }

    /// A kube-rs client with the cluster-admin identity (through the loopback relay).
    pub async fn client(&self) -> kube::Client {
        crate::apiserver::admin_client(&self.kubeconfig()).await
    }

    /// Runs the real kubectl of `version` against the cluster.
    pub fn kubectl(&self, version: &str, args: &[&str]) -> Output {
        crate::kubectl::run(version, &self.kubeconfig(), args, None)
    }

    /// Runs kubectl 1.33 and returns stdout, failing the test with both streams on error.
    pub fn ok(&self, args: &[&str]) -> String {
        crate::kubectl::stdout_of(args, &self.kubectl("1.33", args), "")
    }

    /// Runs kubectl 1.33 with `stdin` (e.g. `apply -f -`), failing the test on error.
    pub fn ok_stdin(&self, args: &[&str], stdin: &str) -> String {
        let out = crate::kubectl::run("1.33", &self.kubeconfig(), args, Some(stdin));
        crate::kubectl::stdout_of(args, &out, "")
    }

    /// SIGKILLs daemon `name` (`kube-apiserver`, `kube-scheduler`, `kubelet-node-0`, …).
    pub fn kill9(&self, name: &str) {
        self.started().kill9(name).unwrap_or_else(|e| panic!("kill -9 {name}: {e:#}"));
    }

    /// SIGTERMs daemon `name` and waits (up to 30 s) for it to exit.
    pub fn terminate(&self, name: &str) {
        let p = self.started().process(name).unwrap_or_else(|| panic!("no process {name}"));
        rustkube_local_cluster::process::signal(p.pid, rustix::process::Signal::TERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        while p.is_alive() {
            assert!(Instant::now() < deadline, "{name} did not exit within 30s of SIGTERM");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Starts daemon `name` again with its original flags (the apiserver: until ready).
    pub fn restart(&mut self, name: &str) {
        let mut cluster = self.cluster.take().expect("the cluster is up");
        let name2 = name.to_owned();
        let (cluster, result) = block_on(async move {
            let r = cluster.restart(&name2).await.map_err(|e| format!("{e:#}"));
            (cluster, r)
        });
        self.cluster = Some(cluster);
        if let Err(err) = result {
            panic!("restarting {name}: {err}");
        }
    }

    /// Creates the objects of `files` as `local-up --apply` does and waits for their Deployments' pods.
    pub fn apply_files(&mut self, files: &[PathBuf]) {
        let cluster = self.cluster.take().expect("the cluster is up");
        let files = files.to_vec();
        let (cluster, result) = block_on(async move {
            let r = rustkube_local_cluster::apply_files(&cluster, &files, |step| eprintln!("cluster: {step}"))
                .await
                .map_err(|e| format!("{e:#}"));
            (cluster, r)
        });
        self.cluster = Some(cluster);
        if let Err(err) = result {
            panic!("local-up --apply: {err}");
        }
    }

    /// Runs `args` inside the cluster's control-plane network namespace.
    pub fn in_cluster_netns(&self, args: &[&str]) -> Output {
        let netns = self.started().netns.clone().expect("a cluster namespace");
        Command::new("nsenter").arg(format!("--net=/run/netns/{netns}")).args(args).output().expect("running nsenter")
    }

    /// Every daemon's log (the last 40 lines of each).
    pub fn logs(&self) -> String {
        logs_of(self.dir.path())
    }
}

fn logs_of(dir: &Path) -> String {
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

/// Copies `DIR/logs` to [`KEPT_LOGS`]/<dir name> and says where.
fn keep_logs(dir: &Path) {
    let Some(name) = dir.file_name() else { return };
    let target = Path::new(KEPT_LOGS).join(name);
    if std::fs::create_dir_all(&target).is_err() {
        return;
    }
    if let Ok(entries) = std::fs::read_dir(dir.join("logs")) {
        for e in entries.flatten() {
            let _ = std::fs::copy(e.path(), target.join(e.file_name()));
        }
    }
    eprintln!("cluster logs kept in {}", target.display());
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
            keep_logs(self.dir.path());
        }
        let done = rustkube_local_cluster::down(self.dir.path());
        if let Some(failed) = done.iter().find(|d| d.starts_with("FAILED")) {
            eprintln!("cluster clean-up: {failed}");
        }
    }
}

/// Polls `check` (every 200 ms) until it returns true, failing after `limit`
/// with `what` and the last error it gave.
pub fn eventually(what: &str, limit: Duration, mut check: impl FnMut() -> Result<(), String>) {
    let deadline = Instant::now() + limit;
    loop {
        match check() {
            Ok(()) => return,
            Err(last) => {
                assert!(Instant::now() < deadline, "timed out after {limit:?} waiting for {what}; last: {last}")
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
