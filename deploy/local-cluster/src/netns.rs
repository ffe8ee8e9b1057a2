//! Named network namespaces (`ip netns add`, bind-mounted under /run/netns)
//! and work done inside one: a thread that enters it keeps it, and so do the
//! sockets that thread creates.

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

/// Where `ip netns` keeps the namespaces it names.
pub const NETNS_DIR: &str = "/run/netns";

/// The bind mount of namespace `name`.
pub fn path(name: &str) -> PathBuf {
    Path::new(NETNS_DIR).join(name)
}

pub fn exists(name: &str) -> bool {
    path(name).exists()
}

/// Runs `ip ARGS`, failing with its stderr.
pub fn ip(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("ip").args(args).output().context("running ip (apt-get install -y iproute2)")?;
    if !out.status.success() {
        bail!("ip {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// Runs several `ip` commands in namespace `netns` with one `ip -batch`.
pub fn ip_batch(netns: &str, commands: &[String]) -> anyhow::Result<()> {
    use std::io::Write as _;
    if commands.is_empty() {
        return Ok(());
    }
    let mut child = Command::new("ip")
        .args(["-n", netns, "-batch", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("running ip (apt-get install -y iproute2)")?;
    let mut script = commands.join("\n");
    script.push('\n');
    child.stdin.take().context("ip's stdin")?.write_all(script.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("ip -n {netns} -batch failed: {}\n{script}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// Makes namespace `name` with its loopback up; fails if it exists.
pub fn add(name: &str) -> anyhow::Result<()> {
    if exists(name) {
        bail!(
            "network namespace {name} already exists and is not recorded as this cluster's; \
             remove it with `ip netns del {name}` or choose another name"
        );
    }
    ip(&["netns", "add", name])?;
    ip(&["-n", name, "link", "set", "lo", "up"])
}

/// Removes namespace `name` (its interfaces go with it); a missing one is fine.
pub fn delete(name: &str) -> anyhow::Result<()> {
    if !exists(name) {
        return Ok(());
    }
    ip(&["netns", "del", name])
}

/// Moves the calling thread into namespace `name`.
pub fn enter(name: &str) -> io::Result<()> {
    let file = std::fs::File::open(path(name))?;
    rustix::thread::move_into_link_name_space(
        std::os::fd::AsFd::as_fd(&file),
        Some(rustix::thread::LinkNameSpaceType::Network),
    )
    .map_err(io::Error::from)
}

/// Runs `work` on a thread inside namespace `netns` (or here when `None`).
pub fn run_in<T: Send + 'static>(netns: Option<&str>, work: impl FnOnce() -> T + Send + 'static) -> io::Result<T> {
    let Some(name) = netns else { return Ok(work()) };
    let name = name.to_owned();
    std::thread::spawn(move || {
        enter(&name)?;
        Ok(work())
    })
    .join()
    .map_err(|_| io::Error::other("a thread working in a network namespace panicked"))?
}

/// Runs the future `make()` builds on a current-thread runtime inside
/// namespace `netns` (every socket it opens is that namespace's), awaiting it
/// from the caller's runtime.
pub async fn run_async_in<T, F, Fut>(netns: Option<&str>, make: F) -> anyhow::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let name = netns.map(str::to_owned);
    std::thread::spawn(move || {
        let result = (|| {
            if let Some(name) = &name {
                enter(name).with_context(|| format!("entering network namespace {name}"))?;
            }
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            rt.block_on(make())
        })();
        let _ = tx.send(result);
    });
    rx.await.context("a thread working in a network namespace panicked")?
}

/// A TCP connection to `addr` made inside namespace `netns`.
pub fn connect(netns: Option<&str>, addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    run_in(netns, move || TcpStream::connect_timeout(&addr, timeout))?
}
