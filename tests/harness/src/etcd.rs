//! A real single-member etcd on free loopback ports in a temp dir.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

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

/// A free loopback port (bound, then released).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
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
            if healthy(client) {
                return Ok(server);
            }
            if Instant::now() > deadline {
                bail!("etcd at {} did not become healthy within 20s", server.endpoint);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// etcd's `/health` answers `{"health":"true"}` once it serves requests.
fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)) else {
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

impl Drop for EtcdServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
