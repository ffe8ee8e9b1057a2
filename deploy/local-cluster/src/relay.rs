//! Host access to an apiserver inside the cluster namespace without touching
//! the host's routing: a relay process listens on the host's 127.0.0.1:PORT
//! and carries each TCP connection (bytes only; TLS stays end to end) to the
//! apiserver inside the namespace. It binds its listener first, then moves
//! its only thread into the namespace, so the listener stays on the host and
//! every connection it makes is the namespace's.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;

/// Runs the relay until the process is killed: listens on `listen` (port 0:
/// a free one; the port is written to `port_file`), connects to
/// `target(port)` inside `netns`.
pub fn run(
    listen: SocketAddr,
    netns: &str,
    target: impl FnOnce(u16) -> SocketAddr,
    port_file: &Path,
) -> anyhow::Result<()> {
    let listener = std::net::TcpListener::bind(listen).with_context(|| {
        format!("binding {listen} for the apiserver relay (is another cluster or apiserver using it? try --port)")
    })?;
    listener.set_nonblocking(true)?;
    let port = listener.local_addr()?.port();
    let target = target(port);
    crate::netns::enter(netns).with_context(|| format!("entering network namespace {netns}"))?;
    // The runtime's thread is this one, now inside the namespace.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let tmp = port_file.with_extension("tmp");
        std::fs::write(&tmp, port.to_string())?;
        std::fs::rename(&tmp, port_file)?;
        eprintln!("relaying 127.0.0.1:{port} to {target} in network namespace {netns}");
        loop {
            let (mut inbound, _) = match listener.accept().await {
                Ok(c) => c,
                Err(err) => {
                    eprintln!("accept failed: {err}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            tokio::spawn(async move {
                let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else { return };
                let _ = inbound.set_nodelay(true);
                let _ = outbound.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            });
        }
    })
}
