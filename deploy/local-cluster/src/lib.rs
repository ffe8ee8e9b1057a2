//! A local rustkube cluster as separate processes, the way `deploy/local-up.sh`
//! runs it and the end-to-end harness reuses it: optional etcd, then
//! kube-apiserver (which generates the CA), a kubeconfig per component
//! identity signed by that CA, kube-controller-manager, kube-scheduler,
//! kubelets with the fake runtime and containerd-backed nodes, each in its
//! own network namespace with its own containerd (see [`network`]). Every
//! process writes `DIR/logs/NAME.log` and `DIR/run/NAME.pid`, every namespace
//! made is listed in `DIR/run/netns`, so [`down`] can stop and remove
//! exactly what [`up`] made, even after the launcher was killed.

pub mod apply;
pub mod etcd;
pub mod images;
pub mod netns;
pub mod network;
pub mod node;
pub mod process;
pub mod relay;

use std::hash::{Hash as _, Hasher as _};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use k8s_openapi::api::core::v1::{ConfigMap, Endpoints, Node, Service, ServiceAccount};
use kube::api::{Api, ListParams};

pub use network::Topology;
pub use process::Process;

/// Where the cluster's network lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Network {
    /// Everything on the host's loopback: fake nodes only, no root needed.
    Host,
    /// A cluster namespace (named `name`, or `rk-<hash of DIR>`) holding the
    /// control plane, plus one namespace per containerd node. With `relay`,
    /// host users reach the apiserver at 127.0.0.1:PORT through a relay
    /// process; without, only from inside the namespace.
    Namespace { name: Option<String>, relay: bool },
}

/// What to start.
#[derive(Debug, Clone)]
pub struct Spec {
    /// State, kubeconfigs, logs and pid files.
    pub dir: PathBuf,
    /// Where the daemon binaries are (`kube-apiserver`, `kubelet`, `rustkube-local-up`, …).
    pub bin_dir: PathBuf,
    /// The apiserver's port (0: a free one on the host, 6443 inside a namespace without relay).
    pub port: u16,
    /// Use a real etcd instead of the embedded store.
    pub etcd: bool,
    /// Containerd-backed nodes (`node-0`, …); needs [`Network::Namespace`] and root.
    pub nodes: u32,
    /// Simulated nodes: kubelets with the fake runtime (`fake-node-0`, …).
    pub fake_nodes: u32,
    /// Start kube-controller-manager and kube-scheduler.
    pub control_loops: bool,
    pub network: Network,
    /// Where built image archives are kept between runs (default `DIR/images`).
    pub image_cache: Option<PathBuf>,
}

impl Spec {
    /// A spec with the defaults of `deploy/local-up.sh`: one containerd node
    /// in namespaces of its own, relayed to the host's 127.0.0.1:6443.
    pub fn new(dir: impl Into<PathBuf>, bin_dir: impl Into<PathBuf>) -> Self {
        Spec {
            dir: dir.into(),
            bin_dir: bin_dir.into(),
            port: 6443,
            etcd: false,
            nodes: 1,
            fake_nodes: 0,
            control_loops: true,
            network: Network::Namespace { name: None, relay: true },
            image_cache: None,
        }
    }
}

/// A started cluster.
#[derive(Debug)]
pub struct Cluster {
    pub dir: PathBuf,
    /// The URL of `admin_kubeconfig` (host 127.0.0.1, or the namespace's own loopback without relay).
    pub server_url: String,
    pub admin_kubeconfig: PathBuf,
    /// The cluster namespace, when there is one.
    pub netns: Option<String>,
    pub topology: Option<Topology>,
    /// Every node's name, containerd nodes first.
    pub node_names: Vec<String>,
    pub processes: Vec<Process>,
    /// From the first process start to every node Ready.
    pub ready_after: Duration,
}

/// Component identities, as kubeadm names them: (kubeconfig file, user, groups).
const CONTROLLER_MANAGER: (&str, &str, &[&str]) =
    ("controller-manager.kubeconfig", "system:kube-controller-manager", &[]);
const SCHEDULER: (&str, &str, &[&str]) = ("scheduler.kubeconfig", "system:kube-scheduler", &[]);
const ADMIN: (&str, &str, &[&str]) = ("admin.kubeconfig", "kubernetes-admin", &["system:masters"]);

/// The list of namespaces made for the cluster under `dir`.
fn netns_record(dir: &Path) -> PathBuf {
    dir.join("run").join("netns")
}

/// The default cluster namespace name for `dir`: short, and distinct per directory.
pub fn default_netns(dir: &Path) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned()).hash(&mut hasher);
    format!("rk-{:08x}", hasher.finish() as u32)
}

/// Starts the cluster described by `spec` and waits until the apiserver is
/// ready, every node reports Ready and the `kubernetes` service answers.
/// `progress` hears each step. On failure what was started is left for
/// [`down`] (the caller's to run), so logs can be read first.
pub async fn up(spec: &Spec, progress: &(dyn Fn(&str) + Sync)) -> anyhow::Result<Cluster> {
    let dir = &spec.dir;
    for sub in ["logs", "run"] {
        std::fs::create_dir_all(dir.join(sub)).with_context(|| format!("creating {}", dir.join(sub).display()))?;
    }
    if let Some(running) = process::running(dir).into_iter().next() {
        bail!(
            "a cluster is already running from {} ({} pid {}); stop it with deploy/local-down.sh --dir {}",
            dir.display(),
            running.0,
            running.1,
            dir.display()
        );
    }
    // Leftovers of a run that crashed (namespaces, mounts, shims).
    let leftovers = down(dir);
    if !leftovers.is_empty() {
        progress(&format!("cleaned up after an earlier run: {}", leftovers.join(", ")));
    }
    let started = Instant::now();
    let mut processes = Vec::new();

    let (netns, relay) = match &spec.network {
        Network::Host => {
            if spec.nodes > 0 {
                bail!("containerd nodes run in network namespaces; use Network::Namespace (local-up does)");
            }
            (None, false)
        }
        Network::Namespace { name, relay } => (Some(name.clone().unwrap_or_else(|| default_netns(dir))), *relay),
    };
    if spec.nodes > 0 {
        node::require()?;
    } else if netns.is_some() {
        node::require_namespaces()?;
    }
    let topology = match &netns {
        Some(name) => {
            let topology = Topology::new(name, spec.nodes)?;
            progress(&format!(
                "making network namespaces {} (bridge {} {})",
                topology.namespaces().join(", "),
                network::BRIDGE,
                network::BRIDGE_IP
            ));
            let record = netns_record(dir);
            topology.build(&mut |ns| {
                use std::io::Write as _;
                let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&record)?;
                writeln!(f, "{ns}")?;
                Ok(())
            })?;
            Some(topology)
        }
        None => None,
    };
    let netns_ref = netns.as_deref();

    // Containerd starts early, and the local images are built and imported
    // into it while the control plane starts. Kubelets start after that: one
    // that finds a pod (say, from before a restart) and no image would try a
    // registry there is none of.
    let mut containerds = Vec::new();
    for node in topology.iter().flat_map(|t| &t.nodes) {
        progress(&format!("starting containerd for {} in {}", node.name, node.netns));
        let p = node::start_containerd(dir, node)?;
        containerds.push((node::NodeDirs::new(dir, &node.name).socket(), p.clone()));
        processes.push(p);
    }
    let image_cache = spec.image_cache.clone().unwrap_or_else(|| dir.join("images"));
    let images = (spec.nodes > 0).then(|| {
        progress("building and importing the local images (pause, busybox)");
        std::thread::spawn(move || -> anyhow::Result<()> {
            let archives = images::ensure_built(&image_cache)?;
            let imports: Vec<_> = containerds
                .into_iter()
                .map(|(socket, containerd)| {
                    let archives = archives.clone();
                    std::thread::spawn(move || -> anyhow::Result<()> {
                        node::wait_containerd(&socket, &containerd, Duration::from_secs(30))?;
                        images::import(&socket, &archives)
                            .with_context(|| format!("importing into the containerd at {}", socket.display()))
                    })
                })
                .collect();
            for import in imports {
                import.join().map_err(|_| anyhow::anyhow!("an image import panicked"))??;
            }
            Ok(())
        })
    });

    // Port 0 reuses the port of an earlier run on this directory when it is
    // free, so kubeconfigs handed out stay valid.
    let recorded_port = dir.join("apiserver.port");
    let wanted_port = match spec.port {
        0 => std::fs::read_to_string(&recorded_port)
            .ok()
            .and_then(|s| s.trim().parse::<u16>().ok())
            .filter(|p| !relay || std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
            .unwrap_or(0),
        p => p,
    };
    let port = if relay {
        let port_file = dir.join("run").join("apiserver-relay.port");
        let _ = std::fs::remove_file(&port_file);
        let args = vec![
            format!("--dir={}", dir.display()),
            format!("--port={wanted_port}"),
            format!("--relay-netns={}", netns.as_deref().unwrap_or_default()),
        ];
        let p = Process::spawn(dir, "apiserver-relay", &spec.bin_dir.join("rustkube-local-up"), &args)?;
        processes.push(p);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(port) = std::fs::read_to_string(&port_file).ok().and_then(|s| s.trim().parse().ok()) {
                break port;
            }
            process::check_alive(&processes)?;
            if Instant::now() > deadline {
                bail!("the apiserver relay did not report its port within 10s");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    } else if wanted_port != 0 {
        wanted_port
    } else if netns.is_some() {
        6443
    } else {
        etcd::free_port()?
    };
    std::fs::write(&recorded_port, port.to_string()).with_context(|| format!("writing {}", recorded_port.display()))?;
    let server_url = format!("https://127.0.0.1:{port}");
    // Nodes reach the apiserver on the bridge.
    let node_server_url = format!("https://{}:{port}", network::BRIDGE_IP);

    let mut apiserver_args =
        vec![format!("--data-dir={}", dir.join("apiserver").display()), format!("--secure-port={port}")];
    if netns.is_some() {
        // Inside the cluster namespace: its loopback (the relay's and the
        // control loops' way in) and the bridge (the nodes').
        apiserver_args.push("--bind-address=0.0.0.0".to_owned());
        apiserver_args.push(format!("--advertise-address={}", network::BRIDGE_IP));
    } else {
        apiserver_args.push("--bind-address=127.0.0.1".to_owned());
    }
    if !spec.control_loops {
        // Nothing would create the `default` ServiceAccount every pod needs.
        apiserver_args.push("--disable-admission-plugins=ServiceAccount".to_owned());
    }
    if spec.etcd {
        progress("starting etcd");
        let (etcd, endpoint) = etcd::start(dir, netns_ref)?;
        processes.push(etcd);
        apiserver_args.push(format!("--etcd-servers={endpoint}"));
    }
    progress("starting kube-apiserver");
    processes.push(Process::spawn_in(
        dir,
        "kube-apiserver",
        &spec.bin_dir.join("kube-apiserver"),
        &apiserver_args,
        netns_ref,
    )?);
    let generated = dir.join("apiserver").join("admin.kubeconfig");
    wait_for_apiserver(netns_ref, &generated, &processes, Duration::from_secs(60)).await?;
    let pki = rustkube_pki::ApiserverPki::in_dir(&dir.join("apiserver"));
    let kubeconfig = |(file, user, groups): (&str, &str, &[&str]), url: &str| -> anyhow::Result<PathBuf> {
        let path = dir.join(file);
        rustkube_pki::ensure_client_kubeconfig(&pki, &path, url, user, groups)
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    };
    let admin_kubeconfig = kubeconfig(ADMIN, &server_url)?;
    progress(&format!("kube-apiserver ready on {server_url}"));

    if spec.control_loops {
        for (name, identity) in [("kube-controller-manager", CONTROLLER_MANAGER), ("kube-scheduler", SCHEDULER)] {
            progress(&format!("starting {name}"));
            let path = kubeconfig(identity, &server_url)?;
            let args = vec![
                format!("--kubeconfig={}", path.display()),
                "--bind-address=127.0.0.1".to_owned(),
                "--secure-port=0".to_owned(),
            ];
            processes.push(Process::spawn_in(dir, name, &spec.bin_dir.join(name), &args, netns_ref)?);
        }
    }
    let node_kubeconfig = |node: &str, url: &str| {
        let user = format!("system:node:{node}");
        kubeconfig((&format!("{node}.kubeconfig"), &user, &["system:nodes"]), url)
    };
    let mut node_names = Vec::new();
    if let Some(topology) = topology.as_ref().filter(|t| !t.nodes.is_empty()) {
        let Some(images) = images else { bail!("the local images were not prepared") };
        images
            .join()
            .map_err(|_| anyhow::anyhow!("the image build or import panicked"))?
            .context("preparing the local images (pause, busybox)")?;
        progress("imported the local images (pause, busybox) into every node's containerd");
        for node in &topology.nodes {
            progress(&format!("starting kubelet for {} (node IP {}, pod CIDR {})", node.name, node.ip, node.pod_cidr));
            let path = node_kubeconfig(&node.name, &node_server_url)?;
            let args = node::kubelet_args(dir, node, &path);
            processes.push(Process::spawn_in(
                dir,
                &format!("kubelet-{}", node.name),
                &spec.bin_dir.join("kubelet"),
                &args,
                Some(&node.netns),
            )?);
            node_names.push(node.name.clone());
        }
    }
    for i in 0..spec.fake_nodes {
        let node = format!("fake-node-{i}");
        let path = node_kubeconfig(&node, &server_url)?;
        let root = dir.join("nodes").join(&node);
        std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
        let args = vec![
            format!("--kubeconfig={}", path.display()),
            format!("--hostname-override={node}"),
            // Pod IPs from a /24 of their own (10.244.128+i.0/24), so fake pods
            // never share an IP with a containerd node's pods (10.244.i.0/24).
            format!("--container-runtime-endpoint=fake://?pod-cidr=10.244.{}.0/24", 128 + i % 128),
            format!("--root-dir={}", root.display()),
            "--node-ip=127.0.0.1".to_owned(),
            "--address=127.0.0.1".to_owned(),
            "--port=0".to_owned(),
            "--healthz-port=0".to_owned(),
        ];
        processes.push(Process::spawn_in(
            dir,
            &format!("kubelet-{node}"),
            &spec.bin_dir.join("kubelet"),
            &args,
            netns_ref,
        )?);
        node_names.push(node);
    }
    if !node_names.is_empty() {
        progress(&format!("waiting for {} node(s) to be Ready", node_names.len()));
        wait_for_nodes(netns_ref, &admin_kubeconfig, &node_names, &processes, Duration::from_secs(60)).await?;
    }
    if spec.control_loops {
        // ServiceAccount admission refuses pods until the controller-manager has
        // made the namespace's `default` account, and their API-access volume
        // needs `kube-root-ca.crt`.
        progress("waiting for the default service account and kube-root-ca.crt");
        wait_for_api_access(netns_ref, &admin_kubeconfig, &processes, Duration::from_secs(30)).await?;
    }
    progress("waiting for the kubernetes service to answer");
    wait_for_kubernetes_service(netns_ref, &admin_kubeconfig, &processes, Duration::from_secs(30)).await?;
    if relay {
        // The way in host users take.
        wait_for_apiserver(None, &admin_kubeconfig, &processes, Duration::from_secs(10))
            .await
            .context("the apiserver through the relay on the host's loopback")?;
    }
    let ready_after = started.elapsed();
    progress(&format!("cluster ready in {:.2}s", ready_after.as_secs_f64()));
    Ok(Cluster { dir: dir.clone(), server_url, admin_kubeconfig, netns, topology, node_names, processes, ready_after })
}

impl Cluster {
    /// The started process called `name` (`kube-apiserver`, `kubelet-node-0`, …).
    pub fn process(&self, name: &str) -> Option<&Process> {
        self.processes.iter().find(|p| p.name == name)
    }

    /// SIGKILLs process `name` and waits until it is gone.
    pub fn kill9(&self, name: &str) -> anyhow::Result<()> {
        let p = self.process(name).with_context(|| format!("no process {name}"))?;
        process::signal(p.pid, rustix::process::Signal::KILL);
        let deadline = Instant::now() + Duration::from_secs(10);
        while p.is_alive() {
            if Instant::now() > deadline {
                bail!("{name} (pid {}) still alive 10s after SIGKILL", p.pid);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// Starts process `name` again with its original command line (after
    /// [`Cluster::kill9`] or a crash); for the apiserver, waits until ready.
    pub async fn restart(&mut self, name: &str) -> anyhow::Result<()> {
        let i = self.processes.iter().position(|p| p.name == name).with_context(|| format!("no process {name}"))?;
        anyhow::ensure!(!self.processes[i].is_alive(), "{name} is still running");
        self.processes[i] = self.processes[i].restart(&self.dir)?;
        if name == "kube-apiserver" {
            let generated = self.dir.join("apiserver").join("admin.kubeconfig");
            wait_for_apiserver(self.netns.as_deref(), &generated, &self.processes, Duration::from_secs(60)).await?;
        }
        Ok(())
    }
}

/// Creates the objects of `files` in `cluster` and waits until each
/// Deployment among them has all its pods Running and Ready (see [`apply`]).
pub async fn apply_files(cluster: &Cluster, files: &[PathBuf], progress: fn(&str)) -> anyhow::Result<()> {
    let (kubeconfig, files) = (cluster.admin_kubeconfig.clone(), files.to_vec());
    netns::run_async_in(cluster.netns.as_deref(), move || async move {
        let client = client_from(&kubeconfig).await?;
        let mut deployments = Vec::new();
        for file in &files {
            deployments.extend(apply::create_all(&client, file, &progress).await?);
        }
        for (namespace, name) in deployments {
            progress(&format!("waiting for deployment/{name}'s pods to run"));
            let summary = apply::wait_deployment(&client, &namespace, &name, Duration::from_secs(180)).await?;
            progress(&summary);
        }
        Ok(())
    })
    .await
}

/// Stops and removes everything recorded under `dir`: processes (SIGTERM,
/// then SIGKILL after 10 s; only pids still running a command line that
/// names `dir`), containerd shims and containers, mounts under `dir`, the
/// network namespaces made, and the nodes' runtime state. Returns what it
/// stopped or removed; safe to run twice or after a crash.
pub fn down(dir: &Path) -> Vec<String> {
    let mut done = Vec::new();
    // Nodes and control loops first, then the apiserver and its store, then the runtimes.
    let mut recorded = process::recorded(dir);
    recorded.sort_by_key(|(name, _)| match name.as_str() {
        n if n.starts_with("containerd-") => 3,
        "etcd" => 2,
        "kube-apiserver" => 1,
        _ => 0,
    });
    for (name, pid) in recorded {
        if process::is_ours(pid, dir) && process::stop(pid, Duration::from_secs(10)) {
            done.push(name.clone());
        }
        let _ = std::fs::remove_file(dir.join("run").join(format!("{name}.pid")));
    }
    let killed = node::kill_shims(dir);
    if !killed.is_empty() {
        done.push(format!("{} container and shim process(es)", killed.len()));
    }
    let unmounted = node::unmount_under(dir);
    if !unmounted.is_empty() {
        done.push(format!("{} mount(s)", unmounted.len()));
    }
    let record = netns_record(dir);
    let names: Vec<String> = std::fs::read_to_string(&record)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .filter(|l| !l.is_empty())
        .collect();
    for name in names.iter().rev() {
        if netns::exists(name) {
            match netns::delete(name) {
                Ok(()) => done.push(format!("network namespace {name}")),
                Err(err) => done.push(format!("FAILED to remove network namespace {name}: {err:#}")),
            }
        }
    }
    let _ = std::fs::remove_file(&record);
    let _ = std::fs::remove_file(dir.join("run").join("apiserver-relay.port"));
    // Runtime state does not outlive the cluster (images are re-imported from DIR/images).
    let nodes = dir.join("nodes");
    let still_mounted = node::mounts_under(&nodes);
    if !still_mounted.is_empty() {
        // Never delete through a mount point into whatever it shows.
        done.push(format!("FAILED to unmount {still_mounted:?}; left {} in place", nodes.display()));
    } else if nodes.exists() {
        match std::fs::remove_dir_all(&nodes) {
            Ok(()) => {}
            Err(err) => done.push(format!("FAILED to remove {}: {err}", nodes.display())),
        }
    }
    done
}

async fn client_from(kubeconfig: &Path) -> anyhow::Result<kube::Client> {
    rustkube_component_base::client::client(Some(kubeconfig), "rustkube-local-up").await.map_err(Into::into)
}

/// Waits for `kubeconfig` and `/readyz` (from inside `netns`), failing early if a process exits.
async fn wait_for_apiserver(
    netns: Option<&str>,
    kubeconfig: &Path,
    processes: &[Process],
    limit: Duration,
) -> anyhow::Result<()> {
    let (kubeconfig, processes) = (kubeconfig.to_owned(), processes.to_vec());
    netns::run_async_in(netns, move || async move {
        process::poll_while_alive(&processes, limit, || async {
            if kubeconfig.is_file()
                && let Ok(client) = client_from(&kubeconfig).await
                && let Ok(body) = client.request_text(http_get("/readyz")).await
                && body.trim() == "ok"
            {
                return Ok(());
            }
            Err(format!("kube-apiserver not ready within {limit:?} (using {}); see its log", kubeconfig.display()))
        })
        .await
    })
    .await
}

fn http_get(path: &str) -> http::Request<Vec<u8>> {
    let mut req = http::Request::new(Vec::new());
    *req.uri_mut() = path.parse().unwrap_or_default();
    req
}

async fn wait_for_nodes(
    netns: Option<&str>,
    kubeconfig: &Path,
    names: &[String],
    processes: &[Process],
    limit: Duration,
) -> anyhow::Result<()> {
    let (kubeconfig, names, processes) = (kubeconfig.to_owned(), names.to_vec(), processes.to_vec());
    netns::run_async_in(netns, move || async move {
        let nodes: Api<Node> = Api::all(client_from(&kubeconfig).await?);
        process::poll_while_alive(&processes, limit, || async {
            let mut not_ready = names.clone();
            if let Ok(list) = nodes.list(&ListParams::default()).await {
                not_ready
                    .retain(|name| !list.items.iter().any(|n| n.metadata.name.as_deref() == Some(name) && is_ready(n)));
                if not_ready.is_empty() {
                    return Ok(());
                }
            }
            Err(format!("nodes {not_ready:?} not Ready within {limit:?}; see their kubelet logs"))
        })
        .await
    })
    .await
}

/// The `kubernetes` Service exists and each address its Endpoints name
/// accepts TCP connections from inside the cluster namespace.
async fn wait_for_kubernetes_service(
    netns: Option<&str>,
    kubeconfig: &Path,
    processes: &[Process],
    limit: Duration,
) -> anyhow::Result<()> {
    let (kubeconfig, processes) = (kubeconfig.to_owned(), processes.to_vec());
    netns::run_async_in(netns, move || async move {
        let client = client_from(&kubeconfig).await?;
        let services: Api<Service> = Api::namespaced(client.clone(), "default");
        let endpoints: Api<Endpoints> = Api::namespaced(client, "default");
        process::poll_while_alive(&processes, limit, || async {
            let last = match (services.get_opt("kubernetes").await, endpoints.get_opt("kubernetes").await) {
                (Ok(Some(_)), Ok(Some(ep))) => {
                    let addrs: Vec<SocketAddr> = ep
                        .subsets
                        .unwrap_or_default()
                        .iter()
                        .flat_map(|s| {
                            let ports: Vec<u16> =
                                s.ports.iter().flatten().filter_map(|p| u16::try_from(p.port).ok()).collect();
                            s.addresses
                                .iter()
                                .flatten()
                                .filter_map(|a| a.ip.parse::<IpAddr>().ok())
                                .flat_map(move |ip| ports.clone().into_iter().map(move |p| SocketAddr::new(ip, p)))
                                .collect::<Vec<_>>()
                        })
                        .collect();
                    let answering = !addrs.is_empty()
                        && addrs
                            .iter()
                            .all(|a| std::net::TcpStream::connect_timeout(a, Duration::from_secs(1)).is_ok());
                    if answering {
                        return Ok(());
                    }
                    format!("endpoints {addrs:?} not all answering")
                }
                other => format!("service/endpoints: {other:?}"),
            };
            Err(format!("the kubernetes service did not answer within {limit:?}: {last}"))
        })
        .await
    })
    .await
}

/// Waits until the `default` namespace has its `default` ServiceAccount and its `kube-root-ca.crt` ConfigMap.
async fn wait_for_api_access(
    netns: Option<&str>,
    kubeconfig: &Path,
    processes: &[Process],
    limit: Duration,
) -> anyhow::Result<()> {
    let (kubeconfig, processes) = (kubeconfig.to_owned(), processes.to_vec());
    netns::run_async_in(netns, move || async move {
        let client = client_from(&kubeconfig).await?;
        let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
        let config_maps: Api<ConfigMap> = Api::namespaced(client, "default");
        process::poll_while_alive(&processes, limit, || async {
            match (accounts.get_opt("default").await, config_maps.get_opt("kube-root-ca.crt").await) {
                (Ok(Some(_)), Ok(Some(_))) => Ok(()),
                other => Err(format!(
                    "default/default ServiceAccount and default/kube-root-ca.crt not both there within {limit:?}: {other:?}"
                )),
            }
        })
        .await
    })
    .await
}

fn is_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}
