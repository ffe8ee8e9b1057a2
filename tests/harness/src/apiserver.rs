//! The real kube-apiserver binary on a free port with a temp data dir (on
//! the embedded store or a real etcd), and the real kubectl driving it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::etcd::EtcdServer;

/// Which store the apiserver under test uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Etcd,
}

pub const BACKENDS: &[Backend] = &[Backend::Sqlite, Backend::Etcd];

/// Starts a real etcd for a test (blocking); it stops when dropped.
pub fn start_etcd() -> EtcdServer {
    EtcdServer::start().unwrap_or_else(|e| panic!("cannot start etcd: {e:#}"))
}

/// A running kube-apiserver owned by the test; killed on drop, logs kept on failure.
#[derive(Debug)]
pub struct Apiserver {
    pub etcd: Option<EtcdServer>,
    child: Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
    log: Arc<Mutex<Vec<String>>>,
    args: Vec<String>,
}

/// Starts the binary and waits for its `listening on` line; returns the child and port.
fn spawn(dir: &Path, port: u16, args: &[String], log: &Arc<Mutex<Vec<String>>>) -> (Child, u16) {
    let mut child = Command::new(crate::binaries::binary("kube-apiserver"))
        .arg(format!("--data-dir={}", dir.display()))
        .arg("--bind-address=127.0.0.1")
        .arg(format!("--secure-port={port}"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting kube-apiserver");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let log2 = Arc::clone(log);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on ").nth(1) {
                let addr = rest.split_whitespace().next().unwrap_or("").to_owned();
                let _ = tx.send(addr);
            }
            log2.lock().unwrap().push(line);
        }
    });
    let addr = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(a) => a,
        Err(_) => {
            let _ = child.kill();
            panic!("kube-apiserver did not report its port within 30s:\n{}", log.lock().unwrap().join("\n"));
        }
    };
    let port = addr.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port in listening line");
    (child, port)
}

impl Apiserver {
    pub fn start(extra_args: &[&str]) -> Self {
        Self::start_on(Backend::Sqlite, extra_args)
    }

    pub fn start_on(backend: Backend, extra_args: &[&str]) -> Self {
        let etcd = (backend == Backend::Etcd).then(start_etcd);
        let mut args: Vec<String> = extra_args.iter().map(|s| s.to_string()).collect();
        // As upstream's integration-test apiserver: with no controller-manager,
        // nothing creates the `default` ServiceAccount that ServiceAccount
        // admission requires of every pod. Tests that want it say so.
        if !args.iter().any(|a| a.contains("-admission-plugins")) {
            args.push("--disable-admission-plugins=ServiceAccount".to_owned());
        }
        if let Some(e) = &etcd {
            args.push(format!("--etcd-servers={}", e.endpoint));
        }
        let dir = tempfile::Builder::new().prefix("rustkube-apiserver-").tempdir().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (child, port) = spawn(dir.path(), 0, &args, &log);
        let server = Apiserver { etcd, child, dir, port, log, args };
        server.wait_ready();
        server
    }

    /// Stops the server, runs `between` (given the etcd endpoint, if any), and
    /// starts it again on the same port and data dir.
    pub async fn restart_with<F, Fut>(&mut self, between: F)
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let _ = self.child.kill();
        let _ = self.child.wait();
        between(self.etcd.as_ref().map(|e| e.endpoint.clone()).unwrap_or_default()).await;
        let (child, port) = spawn(self.dir.path(), self.port, &self.args, &self.log);
        self.child = child;
        assert_eq!(port, self.port, "restarted on the same port");
        tokio::task::block_in_place(|| self.wait_ready());
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("admin.kubeconfig")
    }

    /// `https://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// A kube-rs client with the cluster-admin identity.
    pub async fn client(&self) -> kube::Client {
        admin_client(&self.kubeconfig()).await
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = self.kubectl("1.33", &["get", "--raw", "/readyz"]);
            if out.status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "apiserver not ready in 30s: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn logs(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Runs kubectl `version` against this server.
    pub fn kubectl(&self, version: &str, args: &[&str]) -> Output {
        crate::kubectl::run(version, &self.kubeconfig(), args, None)
    }

    /// Runs kubectl with stdin.
    pub fn kubectl_stdin(&self, version: &str, args: &[&str], stdin: &str) -> Output {
        crate::kubectl::run(version, &self.kubeconfig(), args, Some(stdin))
    }

    /// Runs kubectl and returns stdout, failing the test with both streams on error.
    pub fn ok(&self, version: &str, args: &[&str]) -> String {
        let out = self.kubectl(version, args);
        let context =
            if out.status.success() { String::new() } else { format!("\nserver log tail:\n{}", self.log_tail()) };
        crate::kubectl::stdout_of(args, &out, &context)
    }

    pub fn log_tail(&self) -> String {
        let log = self.log.lock().unwrap();
        log[log.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Apiserver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- kube-apiserver log ---\n{}", self.logs());
        }
    }
}

/// A kube-rs client from an admin kubeconfig.
pub async fn admin_client(kubeconfig: &Path) -> kube::Client {
    let file = kube::config::Kubeconfig::read_from(kubeconfig).expect("reading admin.kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
        .await
        .expect("admin.kubeconfig as a client configuration");
    kube::Client::try_from(config).expect("building a kube client")
}
