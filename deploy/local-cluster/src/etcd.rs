//! A single-member etcd on free loopback ports, and its health check.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::process::{self, Process};

/// How to get etcd when it is missing.
pub const ETCD_INSTALL_HINT: &str = "install it with `apt-get update && apt-get install -y etcd-server` \
     (or run deploy/test.sh, which does), or point ETCD_BIN at an etcd binary";

/// Finds the etcd binary: `$ETCD_BIN`, then `etcd` on PATH, then /usr/bin/etcd.
pub fn binary() -> anyhow::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("ETCD_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/local/bin")]) {
        let candidate = dir.join("etcd");
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!("etcd binary not found: {ETCD_INSTALL_HINT}")
}

/// A free loopback port (bound, then released).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The arguments of a single-member etcd with its data under `data_dir`.
pub fn args(data_dir: &Path, client_port: u16, peer_port: u16) -> Vec<String> {
    let client_url = format!("http://127.0.0.1:{client_port}");
    let peer_url = format!("http://127.0.0.1:{peer_port}");
    vec![
        "--name=rustkube".to_owned(),
        format!("--data-dir={}", data_dir.display()),
        format!("--listen-client-urls={client_url}"),
        format!("--advertise-client-urls={client_url}"),
        format!("--listen-peer-urls={peer_url}"),
        format!("--initial-advertise-peer-urls={peer_url}"),
        format!("--initial-cluster=rustkube={peer_url}"),
        // Room for a 1.5 MiB value plus key and framing.
        "--max-request-bytes=2097152".to_owned(),
        "--logger=zap".to_owned(),
        "--log-level=warn".to_owned(),
    ]
}

/// etcd's `/health` answers `{"health":"true"}` once it serves requests.
pub fn healthy(port: u16) -> bool {
    healthy_in(None, port)
}

/// [`healthy`] for an etcd on the loopback of network namespace `netns`.
pub fn healthy_in(netns: Option<&str>, port: u16) -> bool {
    let Ok(mut stream) = crate::netns::connect(netns, ([127, 0, 0, 1], port).into(), Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").is_err() {
        return false;
    }
    let mut body = String::new();
    let _ = stream.read_to_string(&mut body);
    body.contains("\"health\":\"true\"")
}

/// Starts etcd for the cluster under `dir` (inside network namespace
/// `netns` when given, on its loopback) and waits until it is healthy;
/// returns the process and its client endpoint.
pub fn start(dir: &Path, netns: Option<&str>) -> anyhow::Result<(Process, String)> {
    let bin = binary()?;
    // A namespace of the cluster's own has every port free.
    let (client, peer) = if netns.is_some() { (2379, 2380) } else { (free_port()?, free_port()?) };
    let etcd = Process::spawn_in(dir, "etcd", &bin, &args(&dir.join("etcd"), client, peer), netns)?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !healthy_in(netns, client) {
        process::check_alive(std::slice::from_ref(&etcd))?;
        if Instant::now() > deadline {
            bail!("etcd did not become healthy within 20s; see {}", etcd.log.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((etcd, format!("http://127.0.0.1:{client}")))
}
