//! A real single-member etcd on free loopback ports in a temp dir.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub use rustkube_local_cluster::etcd::{ETCD_INSTALL_HINT, free_port};

/// Finds the etcd binary: `$ETCD_BIN`, then `etcd` on PATH, then /usr/bin/etcd.
pub fn etcd_binary() -> anyhow::Result<PathBuf> {
    rustkube_local_cluster::etcd::binary()
}

/// A single-member etcd owned by the test; killed and removed on drop.
#[derive(Debug)]
pub struct EtcdServer {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    pub dir: tempfile::TempDir,
}

impl EtcdServer {
    /// Starts etcd and waits until it reports itself healthy (blocking).
    pub fn start() -> anyhow::Result<Self> {
        let bin = etcd_binary()?;
        let mut last_err = None;
        for _attempt in 0..3 {
            match Self::try_start(&bin) {
                Ok(server) => return Ok(server),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("etcd did not start")))
    }

    fn try_start(bin: &Path) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("rustkube-etcd-").tempdir()?;
        let (client, peer) = (free_port()?, free_port()?);
        let log = std::fs::File::create(dir.path().join("etcd.log"))?;
        let client_url = format!("http://127.0.0.1:{client}");
        let child = Command::new(bin)
            .args(rustkube_local_cluster::etcd::args(&dir.path().join("data"), client, peer))
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
            if rustkube_local_cluster::etcd::healthy(client) {
                return Ok(server);
            }
            if Instant::now() > deadline {
                bail!("etcd at {} did not become healthy within 20s", server.endpoint);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
