//! A real containerd (CRI v1) started by a test in a network namespace of its
//! own, with the bridge + host-local CNI plugins and the local images built by
//! deploy/images/images.sh; everything it made is removed on drop.
//!
//! Needs root and: apt-get install -y containerd runc containernetworking-plugins busybox-static gcc libc6-dev curl util-linux

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const INSTALL: &str =
    "apt-get install -y containerd runc containernetworking-plugins busybox-static gcc libc6-dev curl util-linux";

pub fn require() {
    let missing: Vec<&str> = [
        ("containerd", "/usr/bin/containerd"),
        ("runc", "/usr/sbin/runc"),
        ("ctr", "/usr/bin/ctr"),
        ("bridge CNI plugin", "/usr/lib/cni/bridge"),
        ("host-local CNI plugin", "/usr/lib/cni/host-local"),
        ("loopback CNI plugin", "/usr/lib/cni/loopback"),
        ("busybox", "/bin/busybox"),
        ("curl", "/usr/bin/curl"),
        ("nsenter", "/usr/bin/nsenter"),
    ]
    .iter()
    .filter(|(_, p)| !Path::new(p).exists())
    .map(|(n, _)| *n)
    .collect();
    assert!(missing.is_empty(), "missing {missing:?}; install them with: {INSTALL}");
    assert!(
        Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false),
        "these tests need root (network namespaces, containerd)"
    );
}

pub fn images_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/images/images.sh")
}

pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A containerd in a network namespace of its own, torn down on drop.
pub struct RuntimeNode {
    pub netns: String,
    pub dir: PathBuf,
    pub socket: PathBuf,
    containerd: Option<Child>,
    pub subnet: String,
}

impl RuntimeNode {
    pub fn start(index: u8) -> Self {
        Self::start_with_metrics(index, None)
    }

    /// As [`RuntimeNode::start`], with containerd's Prometheus metrics served
    /// at `metrics` (an address inside the node's namespace) when given.
    pub fn start_with_metrics(index: u8, metrics: Option<&str>) -> Self {
        require();
        let netns = format!("rkk-{}-{index}", std::process::id());
        let dir = PathBuf::from(format!("/var/tmp/rkk-{}-{index}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for d in ["root", "state", "cni", "ipam", "images"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        let subnet = format!("10.244.{index}.0/24");
        let mut node = RuntimeNode { netns, socket: dir.join("c.sock"), dir, containerd: None, subnet };
        let script = images_script();
        let config = run(Command::new(&script)
            .arg("containerd-config")
            .arg(node.dir.join("root"))
            .arg(node.dir.join("state"))
            .arg(&node.socket)
            .arg(node.dir.join("cni"))
            // (An empty sandbox image is the default one.)
            .args(metrics.map(|m| ["", m]).into_iter().flatten()));
        std::fs::write(node.dir.join("config.toml"), config).unwrap();
        let cni = run(Command::new(&script)
            .args(["cni-config", "rustkube", "rkbr0", &node.subnet])
            .arg(node.dir.join("ipam")));
        std::fs::write(node.dir.join("cni/10-rustkube.conflist"), cni).unwrap();
        run(Command::new("ip").args(["netns", "add", &node.netns]));
        run(Command::new("ip").args(["-n", &node.netns, "link", "set", "lo", "up"]));
        let log = std::fs::File::create(node.dir.join("containerd.log")).unwrap();
        let child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", node.netns))
            .arg("containerd")
            .arg("--config")
            .arg(node.dir.join("config.toml"))
            // RK_CONTAINERD_DEBUG=1: every CRI call, timestamped, in containerd.log.
            .args(std::env::var_os("RK_CONTAINERD_DEBUG").map(|_| ["--log-level", "debug"]).into_iter().flatten())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting containerd");
        node.containerd = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !node.socket.exists() {
            assert!(
                Instant::now() < deadline,
                "containerd did not create {} in 20s:\n{}",
                node.socket.display(),
                node.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let pause = node.dir.join("images/pause.tar");
        let busybox = node.dir.join("images/busybox.tar");
        run(Command::new(&script).args(["build", "pause"]).arg(&pause));
        run(Command::new(&script).args(["build", "busybox"]).arg(&busybox));
        run(Command::new(&script).arg("import").arg(&node.socket).arg(&pause).arg(&busybox));
        node
    }

    /// containerd's pid (nsenter execs it), while it runs.
    pub fn containerd_pid(&self) -> Option<u32> {
        self.containerd.as_ref().map(Child::id)
    }

    pub fn endpoint(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    pub fn log(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("containerd.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Runs a command in the namespace (network only, as containerd).
    pub fn in_netns(&self, args: &[&str]) -> std::process::Output {
        Command::new("nsenter").arg(format!("--net=/run/netns/{}", self.netns)).args(args).output().expect("nsenter")
    }

    pub fn cleanup(&mut self) {
        // Stop and remove every pod sandbox through CRI, so CNI and the shims let go.
        let socket = self.socket.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                use rustkube_kubelet::runtime::Runtime;
                let Ok(cri) = rustkube_kubelet::runtime::cri::CriRuntime::connect(&socket).await else { return };
                let _ = tokio::time::timeout(Duration::from_secs(30), async {
                    for s in cri.list_pod_sandboxes().await.unwrap_or_default() {
                        let _ = cri.stop_pod_sandbox(&s.id).await;
                        let _ = cri.remove_pod_sandbox(&s.id).await;
                        // The pod's QoS cgroup the kubelet would have removed (the shared
                        // kubepods parents stay, as on a node).
                        rustkube_kubelet::cgroups::remove_pod_eventually("/", &s.uid).await;
                    }
                })
                .await;
            });
        })
        .join();
        if let Some(mut c) = self.containerd.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Shims that outlived containerd: find them by the socket they serve.
        let needle = self.socket.display().to_string();
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for e in entries.flatten() {
                let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                if String::from_utf8_lossy(&cmdline).contains(&needle) {
                    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                }
            }
        }
        // Mounts left under our directory, deepest first.
        let prefix = self.dir.display().to_string();
        let mut mounts: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(' ').nth(4).map(str::to_owned))
            .filter(|m| m.starts_with(&prefix))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = Command::new("umount").arg("-l").arg(&m).status();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.netns]).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for RuntimeNode {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- containerd log ({}) ---\n{}", self.netns, self.log());
        }
        self.cleanup();
    }
}

/// A containerd node and the kubelet root dir inside its directory, so the
/// node's cleanup also takes the kubelet's mounts (tmpfs emptyDirs) away.
pub fn start(index: u8) -> (RuntimeNode, PathBuf) {
    let node = tokio::task::block_in_place(|| RuntimeNode::start(index));
    let root = node.dir.join("kubelet");
    std::fs::create_dir_all(&root).unwrap();
    (node, root)
}

/// A workspace daemon running inside a node's network namespace (`nsenter
/// --net`, which execs it, so the pid is the daemon's); killed on drop, its
/// log printed when the test fails.
#[derive(Debug)]
pub struct NetnsDaemon {
    name: String,
    child: Child,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// The address from its `listening on ADDR` line.
    pub addr: String,
}

impl NetnsDaemon {
    pub fn port(&self) -> u16 {
        self.addr.rsplit(':').next().and_then(|p| p.parse().ok()).expect("a port in the listening line")
    }

    pub fn logs(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).join("\n")
    }
}

impl Drop for NetnsDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- {} log ---\n{}", self.name, self.logs());
        }
    }
}

/// A kube-apiserver inside a node's network namespace, with its data dir.
#[derive(Debug)]
pub struct NetnsApiserver {
    pub daemon: NetnsDaemon,
    pub dir: tempfile::TempDir,
    netns: String,
}

impl NetnsApiserver {
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("admin.kubeconfig")
    }

    /// The real kubectl of `version` run inside the namespace against this apiserver.
    pub fn kubectl(&self, version: &str) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net=/run/netns/{}", self.netns))
            .arg(rustkube_harness::kubectl_binary(version))
            .arg(format!("--kubeconfig={}", self.kubeconfig().display()))
            .env_remove("KUBECONFIG");
        cmd
    }

    /// Runs kubectl 1.33 and returns stdout, failing with both streams on error.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.kubectl("1.33").args(args).output().expect("running kubectl");
        rustkube_harness::kubectl::stdout_of(args, &out, "")
    }

    /// Creates an object from JSON with `kubectl create -f -`.
    pub fn create(&self, object: &serde_json::Value) {
        use std::io::Write;
        let mut child = self
            .kubectl("1.33")
            .args(["create", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running kubectl");
        child.stdin.take().unwrap().write_all(object.to_string().as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "kubectl create: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Waits until pod `name` is Running (and Ready when `ready`).
    pub fn wait_running(&self, name: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let out = self
                .kubectl("1.33")
                .args(["get", "pod", name, "-o", "jsonpath={.status.phase} {.status.containerStatuses[*].ready}"])
                .output()
                .expect("running kubectl");
            let seen = String::from_utf8_lossy(&out.stdout).into_owned();
            if seen.starts_with("Running true") {
                return;
            }
            if Instant::now() >= deadline {
                let describe = self.kubectl("1.33").args(["get", "pod", name, "-o", "yaml"]).output().unwrap();
                panic!(
                    "pod {name} not Running and ready in {limit:?}: {seen} {}\n{}",
                    String::from_utf8_lossy(&out.stderr),
                    String::from_utf8_lossy(&describe.stdout)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl RuntimeNode {
    /// Starts workspace binary `name` inside the namespace and waits (30 s) for its `listening on` line.
    pub fn spawn_daemon(&self, name: &str, args: &[String]) -> NetnsDaemon {
        use std::io::{BufRead, BufReader};
        let mut child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.netns))
            .arg(rustkube_harness::binary(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name} in {}: {e}", self.netns));
        let stderr = child.stderr.take().expect("piped stderr");
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let log2 = std::sync::Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
                }
                log2.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        });
        let mut daemon = NetnsDaemon { name: name.to_owned(), child, log, addr: String::new() };
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => daemon.addr = addr,
            Err(_) => panic!("{name} did not report `listening on` within 30s:\n{}", daemon.logs()),
        }
        daemon
    }

    /// A kube-apiserver in the namespace on a free loopback port, ready.
    pub fn apiserver(&self) -> NetnsApiserver {
        let dir = tempfile::Builder::new().prefix("rkk-apiserver-").tempdir().unwrap();
        let daemon = self.spawn_daemon(
            "kube-apiserver",
            &[
                format!("--data-dir={}", dir.path().display()),
                "--bind-address=127.0.0.1".to_owned(),
                "--secure-port=0".to_owned(),
                // No controller-manager makes the `default` ServiceAccount (as the harness's apiserver).
                "--disable-admission-plugins=ServiceAccount".to_owned(),
            ],
        );
        let api = NetnsApiserver { daemon, dir, netns: self.netns.clone() };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = api.kubectl("1.33").args(["get", "--raw", "/readyz"]).output().expect("running kubectl");
            if out.status.success() {
                return api;
            }
            assert!(
                Instant::now() < deadline,
                "apiserver in {} not ready in 30s: {}",
                self.netns,
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A kubelet in the namespace (so it reaches containerd's streaming
    /// server on the namespace's loopback), registered as `node_name`.
    pub fn kubelet(&self, api: &NetnsApiserver, node_name: &str, root: &Path, extra: &[&str]) -> NetnsDaemon {
        let args = super::kubelet_args(&api.kubeconfig(), node_name, &self.endpoint(), root, extra);
        self.spawn_daemon("kubelet", &args)
    }
}
