//! Test support: a real etcd started on free loopback ports in a temp dir.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rustkube_storage::Store;
use rustkube_storage::etcd::EtcdStore;

/// How to get etcd when it is missing.
pub const ETCD_INSTALL_HINT: &str = "install it with `apt-get update && apt-get install -y etcd-server` \
     (or run deploy/test.sh, which does), or point ETCD_BIN at an etcd binary";

/// Finds the etcd binary: `$ETCD_BIN`, then `etcd` on PATH, then /usr/bin/etcd.
pub fn etcd_binary() -> anyhow::Result<PathBuf> {
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

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A single-member etcd owned by the test; killed and removed on drop.
#[derive(Debug)]
pub struct EtcdServer {
    child: Child,
    pub endpoint: String,
    pub dir: tempfile::TempDir,
}

impl EtcdServer {
    /// Starts etcd and waits until it serves requests.
    pub async fn start() -> anyhow::Result<Self> {
        let bin = etcd_binary()?;
        let mut last_err = None;
        for _attempt in 0..3 {
            match Self::try_start(&bin).await {
                Ok(server) => return Ok(server),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("etcd did not start")))
    }

    async fn try_start(bin: &PathBuf) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("rustkube-etcd-").tempdir()?;
        let (client, peer) = (free_port()?, free_port()?);
        let log = std::fs::File::create(dir.path().join("etcd.log"))?;
        let client_url = format!("http://127.0.0.1:{client}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let child = Command::new(bin)
            .arg("--name=rustkube-test")
            .arg(format!("--data-dir={}", dir.path().join("data").display()))
            .arg(format!("--listen-client-urls={client_url}"))
            .arg(format!("--advertise-client-urls={client_url}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=rustkube-test={peer_url}"))
            // Room for a 1.5 MiB value plus key and framing.
            .arg("--max-request-bytes=2097152")
            .arg("--logger=zap")
            .arg("--log-level=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut server = EtcdServer { child, endpoint: client_url, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = server.child.try_wait()? {
                let log = std::fs::read_to_string(server.dir.path().join("etcd.log")).unwrap_or_default();
                bail!("etcd exited with {status} during start-up:\n{log}");
            }
            let connect = EtcdStore::connect(std::slice::from_ref(&server.endpoint));
            if let Ok(Ok(store)) = tokio::time::timeout(Duration::from_secs(2), connect).await
                && store.current_revision().await.is_ok()
            {
                return Ok(server);
            }
            if Instant::now() > deadline {
                bail!("etcd at {} did not become ready within 20s", server.endpoint);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn store(&self) -> anyhow::Result<EtcdStore> {
        Ok(EtcdStore::connect(std::slice::from_ref(&self.endpoint)).await?)
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
