//! HTTPS serving for every daemon: rustls with optional client certificates,
//! HTTP/1.1 and HTTP/2 on one port, the identity of each connection attached
//! to its requests, upgrades (exec, port-forward) passed through.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// Builds the TLS configuration: serving cert and key, and (when given) the
/// CA whose client certificates authenticate users. Clients without a
/// certificate are still accepted (they are anonymous).
pub fn tls_config(cert: &Path, key: &Path, client_ca: Option<&Path>) -> anyhow::Result<rustls::ServerConfig> {
    let (certs, key) = load_identity(cert, key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?;
    let builder = match client_ca {
        Some(ca) => {
            let roots = load_roots(ca)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .context("client certificate verifier")?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(certs, key).context("serving certificate and key")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// A certificate chain and its private key from PEM files (serving or client identity).
pub fn load_identity(
    cert: &Path,
    key: &Path,
) -> anyhow::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("parsing {}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key).with_context(|| format!("reading key {}", key.display()))?;
    Ok((certs, key))
}

/// The CA certificates of a PEM bundle, as a root store.
pub fn load_roots(bundle: &Path) -> anyhow::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(bundle).with_context(|| format!("reading {}", bundle.display()))? {
        roots.add(c.with_context(|| format!("parsing {}", bundle.display()))?)?;
    }
    Ok(roots)
}

/// A self-signed serving certificate for `hosts` (DNS names or IP addresses),
/// as upstream daemons generate when no `--tls-cert-file` is given.
pub fn self_signed_tls_config(hosts: &[String]) -> anyhow::Result<rustls::ServerConfig> {
    let certified =
        rcgen::generate_simple_self_signed(hosts.to_vec()).context("generating a self-signed certificate")?;
    let cert = certified.cert.der().clone();
    let key = PrivateKeyDer::try_from(certified.signing_key.serialize_der())
        .map_err(|e| anyhow::anyhow!("self-signed key: {e}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .context("self-signed certificate and key")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Accepts connections until `shutdown` resolves. `identify` turns the
/// client's leaf certificate (if it sent one that verified) into the value
/// attached to each of its requests' extensions.
pub async fn serve<I, T>(
    listener: TcpListener,
    tls: rustls::ServerConfig,
    app: Router,
    identify: I,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()>
where
    I: Fn(Option<&CertificateDer<'static>>) -> T + Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
{
    let identify = Arc::new(identify);
    let acceptor = TlsAcceptor::from(Arc::new(tls));
    tokio::pin!(shutdown);
    let (drain_tx, drain_rx) = tokio::sync::watch::channel(false);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(err) => {
                    tracing::warn!(error = %err, "accept failed");
                    continue;
                }
            },
        };
        // As Go servers do: no Nagle delay on small writes (watch events, streamed
        // chunks), which would otherwise wait for the peer's delayed ACK.
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(%peer, error = %err, "setting TCP_NODELAY failed");
        }
        let acceptor = acceptor.clone();
        let app = app.clone();
        let mut drain = drain_rx.clone();
        let identify = Arc::clone(&identify);
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(err)) => {
                    tracing::debug!(%peer, error = %err, "TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            let user = identify(tls.get_ref().1.peer_certificates().and_then(|certs| certs.first()));
            serve_connection(tls, peer, user, app, &mut drain).await;
        });
    }
    let _ = drain_tx.send(true);
    Ok(())
}

async fn serve_connection<T: Clone + Send + Sync + 'static>(
    tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    peer: SocketAddr,
    user: T,
    app: Router,
    drain: &mut tokio::sync::watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(user.clone());
        req.extensions_mut().insert(peer);
        app.clone().oneshot(req.map(axum::body::Body::new))
    });
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
    tokio::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(err) = res {
                tracing::debug!(%peer, error = %err, "connection ended with an error");
            }
        }
        _ = drain.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), conn).await;
        }
    }
}
