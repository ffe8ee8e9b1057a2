//! A local rustkube cluster as separate processes, the way `deploy/local-up.sh`
//! runs it and the end-to-end harness reuses it: optional etcd, then
//! kube-apiserver (which generates the CA), a kubeconfig per component
//! identity signed by that CA, kube-controller-manager, kube-scheduler and
//! kubelets. Every process writes `DIR/logs/NAME.log` and `DIR/run/NAME.pid`,
//! so [`down`] can stop exactly what [`up`] started.

pub mod etcd;
pub mod process;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};

pub use process::Process;

/// What to start.
#[derive(Debug, Clone)]
pub struct Spec {
    /// State, kubeconfigs, logs and pid files.
    pub dir: PathBuf,
    /// Where the daemon binaries are (`kube-apiserver`, `kubelet`, …).
    pub bin_dir: PathBuf,
    /// The apiserver's port on 127.0.0.1 (0: a free one).
    pub port: u16,
    /// Use a real etcd instead of the embedded store.
    pub etcd: bool,
    /// Simulated nodes: kubelets with the fake runtime.
    pub fake_nodes: u32,
    /// Start kube-controller-manager and kube-scheduler.
    pub control_loops: bool,
}

/// A started cluster.
#[derive(Debug)]
pub struct Cluster {
    pub dir: PathBuf,
    pub server_url: String,
    pub admin_kubeconfig: PathBuf,
    pub processes: Vec<Process>,
    /// From the first process start to every node Ready.
    pub ready_after: Duration,
}

/// Component identities, as kubeadm names them: (kubeconfig file, user, groups).
const CONTROLLER_MANAGER: (&str, &str, &[&str]) =
    ("controller-manager.kubeconfig", "system:kube-controller-manager", &[]);
const SCHEDULER: (&str, &str, &[&str]) = ("scheduler.kubeconfig", "system:kube-scheduler", &[]);

/// Starts the cluster described by `spec` and waits until the apiserver is
/// ready and every node reports Ready. `progress` hears each step.
pub async fn up(spec: &Spec, progress: &dyn Fn(&str)) -> anyhow::Result<Cluster> {
    let dir = &spec.dir;
    for sub in ["logs", "run"] {
        std::fs::create_dir_all(dir.join(sub)).with_context(|| format!("creating {}", dir.join(sub).display()))?;
    }
    if let Some(running) = process::running(dir).into_iter().next() {
        bail!(
            "a cluster is already running from {} ({} pid {}); stop it with local-down",
            dir.display(),
            running.0,
            running.1
        );
    }
    let started = Instant::now();
    let mut processes = Vec::new();
    let port = if spec.port == 0 { etcd::free_port()? } else { spec.port };
    let server_url = format!("https://127.0.0.1:{port}");

    let mut apiserver_args = vec![
        format!("--data-dir={}", dir.join("apiserver").display()),
        "--bind-address=127.0.0.1".to_owned(),
        format!("--secure-port={port}"),
    ];
    if spec.etcd {
        progress("starting etcd");
        let (etcd, endpoint) = etcd::start(dir)?;
        processes.push(etcd);
        apiserver_args.push(format!("--etcd-servers={endpoint}"));
    }
    progress("starting kube-apiserver");
    processes.push(Process::spawn(dir, "kube-apiserver", &spec.bin_dir.join("kube-apiserver"), &apiserver_args)?);
    let generated = dir.join("apiserver").join("admin.kubeconfig");
    let client = wait_for_apiserver(&generated, &processes, Duration::from_secs(60)).await?;
    let admin_kubeconfig = dir.join("admin.kubeconfig");
    std::fs::copy(&generated, &admin_kubeconfig).with_context(|| format!("writing {}", admin_kubeconfig.display()))?;
    progress(&format!("kube-apiserver ready on {server_url}"));

    let pki = rustkube_pki::ApiserverPki::in_dir(&dir.join("apiserver"));
    let kubeconfig = |(file, user, groups): (&str, &str, &[&str])| -> anyhow::Result<PathBuf> {
        let path = dir.join(file);
        rustkube_pki::ensure_client_kubeconfig(&pki, &path, &server_url, user, groups)
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    };
    if spec.control_loops {
        for (name, identity) in [("kube-controller-manager", CONTROLLER_MANAGER), ("kube-scheduler", SCHEDULER)] {
            progress(&format!("starting {name}"));
            let path = kubeconfig(identity)?;
            let args = vec![
                format!("--kubeconfig={}", path.display()),
                "--bind-address=127.0.0.1".to_owned(),
                "--secure-port=0".to_owned(),
            ];
            processes.push(Process::spawn(dir, name, &spec.bin_dir.join(name), &args)?);
        }
    }
    let mut node_names = Vec::new();
    for i in 0..spec.fake_nodes {
        let node = format!("fake-node-{i}");
        let user = format!("system:node:{node}");
        let path = kubeconfig((&format!("{node}.kubeconfig"), &user, &["system:nodes"]))?;
        let root = dir.join("nodes").join(&node);
        std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
        let args = vec![
            format!("--kubeconfig={}", path.display()),
            format!("--hostname-override={node}"),
            "--container-runtime-endpoint=fake://".to_owned(),
            format!("--root-dir={}", root.display()),
            "--node-ip=127.0.0.1".to_owned(),
            "--address=127.0.0.1".to_owned(),
            "--port=0".to_owned(),
            "--healthz-port=0".to_owned(),
        ];
        processes.push(Process::spawn(dir, &format!("kubelet-{node}"), &spec.bin_dir.join("kubelet"), &args)?);
        node_names.push(node);
    }
    if !node_names.is_empty() {
        progress(&format!("waiting for {} node(s) to be Ready", node_names.len()));
        wait_for_nodes(&client, &node_names, &processes, Duration::from_secs(60)).await?;
    }
    let ready_after = started.elapsed();
    progress(&format!("cluster ready in {:.2}s", ready_after.as_secs_f64()));
    Ok(Cluster { dir: dir.clone(), server_url, admin_kubeconfig, processes, ready_after })
}

/// Stops every process recorded under `dir` (SIGTERM, then SIGKILL after
/// 10 s); returns the names stopped.
pub fn down(dir: &Path) -> Vec<String> {
    let mut stopped = Vec::new();
    // Nodes and control loops first, the apiserver and its store last.
    let mut recorded = process::recorded(dir);
    recorded.sort_by_key(|(name, _)| match name.as_str() {
        "etcd" => 2,
        "kube-apiserver" => 1,
        _ => 0,
    });
    for (name, pid) in recorded {
        if process::stop(pid, Duration::from_secs(10)) {
            stopped.push(name.clone());
        }
        let _ = std::fs::remove_file(dir.join("run").join(format!("{name}.pid")));
    }
    stopped
}

async fn client_from(kubeconfig: &Path) -> anyhow::Result<kube::Client> {
    rustkube_component_base::client::client(Some(kubeconfig), "rustkube-local-up").await.map_err(Into::into)
}

/// Waits for `admin.kubeconfig` and `/readyz`, failing early if the apiserver exits.
async fn wait_for_apiserver(kubeconfig: &Path, processes: &[Process], limit: Duration) -> anyhow::Result<kube::Client> {
    let deadline = Instant::now() + limit;
    loop {
        process::check_alive(processes)?;
        if kubeconfig.is_file()
            && let Ok(client) = client_from(kubeconfig).await
        {
            let req = http_get("/readyz");
            if let Ok(body) = client.request_text(req).await
                && body.trim() == "ok"
            {
                return Ok(client);
            }
        }
        if Instant::now() > deadline {
            bail!("kube-apiserver not ready within {limit:?}; see its log");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn http_get(path: &str) -> http::Request<Vec<u8>> {
    let mut req = http::Request::new(Vec::new());
    *req.uri_mut() = path.parse().unwrap_or_default();
    req
}

async fn wait_for_nodes(
    client: &kube::Client,
    names: &[String],
    processes: &[Process],
    limit: Duration,
) -> anyhow::Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let deadline = Instant::now() + limit;
    loop {
        process::check_alive(processes)?;
        if let Ok(list) = nodes.list(&ListParams::default()).await {
            let ready = names
                .iter()
                .all(|name| list.items.iter().any(|n| n.metadata.name.as_deref() == Some(name) && is_ready(n)));
            if ready {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("nodes {names:?} not all Ready within {limit:?}; see the kubelet logs");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn is_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}
