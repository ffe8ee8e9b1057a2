//! A containerd-backed node: its own containerd (config, root, state and
//! socket under `DIR/nodes/NAME/`), its CNI configuration for the node's pod
//! CIDR, and the kubelet's flags; plus the clean-up of what containerd leaves
//! behind (shims, container processes, mounts) when it is stopped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::network::NodeNet;
use crate::process::{self, Process};

/// The Debian packages a containerd node needs.
pub const PACKAGES: &str =
    "containerd runc containernetworking-plugins iptables conntrack busybox-static iproute2 util-linux gcc libc6-dev";

/// How to get them.
pub fn install_hint() -> String {
    format!("apt-get update && apt-get install -y {PACKAGES} (deploy/local-up.sh and deploy/test.sh install them)")
}

/// Fails, naming what is missing, unless this machine can make network
/// namespaces and run daemons in them (iproute2, nsenter, root).
pub fn require_namespaces() -> anyhow::Result<()> {
    let missing: Vec<&str> = [("ip", "/usr/sbin/ip"), ("nsenter", "/usr/bin/nsenter")]
        .iter()
        .filter(|(_, path)| !Path::new(path).exists() && which(path).is_none())
        .map(|(name, _)| *name)
        .collect();
    if !missing.is_empty() {
        bail!("network namespaces need {missing:?}: apt-get install -y iproute2 util-linux");
    }
    if !rustix::process::geteuid().is_root() {
        bail!(
            "the cluster's network namespaces need root; run as root or with sudo \
             (or, for fake nodes only, on the host's loopback: local-up --nodes 0)"
        );
    }
    Ok(())
}

/// Fails, naming what is missing and how to install it, unless this machine
/// can run containerd nodes (the tools and root).
pub fn require() -> anyhow::Result<()> {
    let tools = [
        ("containerd", "/usr/bin/containerd"),
        ("ctr", "/usr/bin/ctr"),
        ("runc", "/usr/sbin/runc"),
        ("containerd-shim-runc-v2", "/usr/bin/containerd-shim-runc-v2"),
        ("bridge CNI plugin", "/usr/lib/cni/bridge"),
        ("host-local CNI plugin", "/usr/lib/cni/host-local"),
        ("loopback CNI plugin", "/usr/lib/cni/loopback"),
        ("portmap CNI plugin", "/usr/lib/cni/portmap"),
        ("busybox", "/bin/busybox"),
        ("ip", "/usr/sbin/ip"),
        ("nsenter", "/usr/bin/nsenter"),
        ("iptables", "/usr/sbin/iptables"),
        ("conntrack", "/usr/sbin/conntrack"),
        ("cc", "/usr/bin/cc"),
    ];
    let missing: Vec<&str> = tools
        .iter()
        .filter(|(_, path)| !Path::new(path).exists() && which(path).is_none())
        .map(|(name, _)| *name)
        .collect();
    if !missing.is_empty() {
        bail!("containerd nodes need {missing:?}, which this machine lacks; install them with: {}", install_hint());
    }
    if !rustix::process::geteuid().is_root() {
        bail!("containerd nodes need root (network namespaces, containerd, mounts); run as root or with sudo");
    }
    Ok(())
}

/// The file name of `path` looked up on PATH (Debian and Ubuntu differ on /sbin vs /usr/sbin).
fn which(path: &str) -> Option<PathBuf> {
    let name = Path::new(path).file_name()?;
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&dirs).chain(["/sbin".into(), "/usr/sbin".into(), "/bin".into()]).find_map(|d| {
        let candidate = d.join(name);
        candidate.is_file().then_some(candidate)
    })
}

/// Where one node keeps its files.
#[derive(Debug, Clone)]
pub struct NodeDirs {
    pub root: PathBuf,
}

impl NodeDirs {
    pub fn new(cluster_dir: &Path, node: &str) -> Self {
        NodeDirs { root: cluster_dir.join("nodes").join(node) }
    }
    pub fn socket(&self) -> PathBuf {
        self.root.join("containerd.sock")
    }
    pub fn containerd(&self) -> PathBuf {
        self.root.join("containerd")
    }
    pub fn cni_conf(&self) -> PathBuf {
        self.root.join("cni")
    }
    pub fn ipam(&self) -> PathBuf {
        self.root.join("ipam")
    }
    pub fn kubelet(&self) -> PathBuf {
        self.root.join("kubelet")
    }
}

/// Writes the node's containerd and CNI configuration and starts containerd
/// in the node's namespace (not waiting for it).
pub fn start_containerd(cluster_dir: &Path, node: &NodeNet) -> anyhow::Result<Process> {
    let dirs = NodeDirs::new(cluster_dir, &node.name);
    let state = dirs.containerd().join("state");
    let root = dirs.containerd().join("root");
    for d in [&root, &state, &dirs.cni_conf(), &dirs.ipam(), &dirs.kubelet()] {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let config = crate::images::run_script(&[
        "containerd-config".as_ref(),
        root.as_os_str(),
        state.as_os_str(),
        dirs.socket().as_os_str(),
        dirs.cni_conf().as_os_str(),
    ])?;
    let config_path = dirs.containerd().join("config.toml");
    std::fs::write(&config_path, config).with_context(|| format!("writing {}", config_path.display()))?;
    let cni = crate::images::run_script(&[
        "cni-config".as_ref(),
        "rustkube".as_ref(),
        "cni0".as_ref(),
        node.pod_cidr.as_ref(),
        dirs.ipam().as_os_str(),
    ])?;
    let cni_path = dirs.cni_conf().join("10-rustkube.conflist");
    std::fs::write(&cni_path, cni).with_context(|| format!("writing {}", cni_path.display()))?;
    let _ = std::fs::remove_file(dirs.socket());
    let binary = which("/usr/bin/containerd").unwrap_or_else(|| PathBuf::from("/usr/bin/containerd"));
    Process::spawn_in(
        cluster_dir,
        &format!("containerd-{}", node.name),
        &binary,
        &["--config".to_owned(), config_path.display().to_string()],
        Some(&node.netns),
    )
}

/// Waits until containerd answers on its socket.
pub fn wait_containerd(socket: &Path, containerd: &Process, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        process::check_alive(std::slice::from_ref(containerd))?;
        if socket.exists() && std::os::unix::net::UnixStream::connect(socket).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("containerd did not serve {} within {limit:?}; see {}", socket.display(), containerd.log.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The kubelet flags of a containerd node.
pub fn kubelet_args(cluster_dir: &Path, node: &NodeNet, kubeconfig: &Path) -> Vec<String> {
    let dirs = NodeDirs::new(cluster_dir, &node.name);
    vec![
        format!("--kubeconfig={}", kubeconfig.display()),
        format!("--hostname-override={}", node.name),
        format!("--container-runtime-endpoint=unix://{}", dirs.socket().display()),
        format!("--root-dir={}", dirs.kubelet().display()),
        format!("--node-ip={}", node.ip),
        format!("--address={}", node.ip),
        // A development cluster shares the host's disk: like kind, evict only
        // on memory pressure, so a nearly full disk does not taint the node
        // and evict every pod (upstream's default includes nodefs.available<10%).
        "--eviction-hard=memory.available<100Mi".to_owned(),
        // Also like kind: no image garbage collection. The node's images are
        // imported locally (there is no registry to pull them back from).
        "--image-gc-high-threshold=100".to_owned(),
    ]
}

/// Kills every containerd shim serving a socket under `dir`, and every
/// process below them (the pods' containers), deepest first. These are the
/// processes the nodes' containerds started; nothing else is touched.
pub fn kill_shims(dir: &Path) -> Vec<u32> {
    let needle = dir.display().to_string();
    let mut parent_of = HashMap::new();
    let mut shims = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        if let Some(ppid) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit(')').next().and_then(|r| r.split_whitespace().nth(1)).and_then(|p| p.parse().ok()))
        {
            parent_of.insert(pid, ppid);
        }
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let args: Vec<String> = cmdline.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        if args.first().is_some_and(|a| a.contains("containerd-shim")) && args.iter().any(|a| a.contains(&needle)) {
            shims.push(pid);
        }
    }
    // Everything below a shim, by walking each process's parents.
    let depth_below = |pid: u32| -> Option<usize> {
        let mut cur = pid;
        for depth in 0..64 {
            if shims.contains(&cur) {
                return Some(depth);
            }
            cur = *parent_of.get(&cur)?;
        }
        None
    };
    let mut victims: Vec<(usize, u32)> = parent_of.keys().filter_map(|&p| depth_below(p).map(|d| (d, p))).collect();
    victims.sort_by(|a, b| b.cmp(a));
    // A shim killed cannot remove its socket (under containerd's fixed /run/containerd/s).
    let sockets: Vec<String> = shims.iter().flat_map(|&pid| shim_sockets(pid)).collect();
    for (_, pid) in &victims {
        process::signal(*pid, rustix::process::Signal::KILL);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while victims.iter().any(|(_, p)| process::alive(*p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    for socket in sockets {
        let _ = std::fs::remove_file(socket);
    }
    victims.into_iter().map(|(_, p)| p).collect()
}

/// The unix sockets shim `pid` listens on under /run/containerd/s.
fn shim_sockets(pid: u32) -> Vec<String> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .filter_map(|l| l.to_str()?.strip_prefix("socket:[")?.strip_suffix(']').map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    std::fs::read_to_string(format!("/proc/{pid}/net/unix"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (inode, path) = (fields.get(6)?, fields.get(7)?);
            (inodes.iter().any(|i| i == inode) && path.starts_with("/run/containerd/s/")).then(|| (*path).to_owned())
        })
        .collect()
}

/// Unmounts (lazily, deepest first) every mount point under `dir`:
/// containerd's rootfs, shm and pod netns mounts, the kubelet's volumes.
pub fn unmount_under(dir: &Path) -> Vec<String> {
    let mounts = mounts_under(dir);
    for m in &mounts {
        let _ = std::process::Command::new("umount").arg("-l").arg(m).output();
    }
    mounts
}

/// The mount points below `dir` (this process's view), deepest first.
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let prefix = format!("{}/", dir.display());
    let mut mounts: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(unescape))
        .filter(|m| m.starts_with(&prefix))
        .collect();
    mounts.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    mounts.dedup();
    mounts
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(s: &str) -> String {
    s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
}
