//! A real rustls handshake over an in-memory duplex pipe, for judging issued certificates.
#![allow(dead_code)]

use std::sync::Arc;

use rustkube_pki::CertificateInfo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// A certificate chain and key, PEM.
pub struct Identity<'a> {
    pub cert_pem: &'a str,
    pub key_pem: &'a str,
}

/// What each side saw.
pub struct Outcome {
    /// On success, the client certificate the server verified.
    pub server: Result<CertificateInfo, String>,
    /// On success, the server certificate the client verified.
    pub client: Result<CertificateInfo, String>,
}

impl Outcome {
    pub fn both_ok(&self) -> bool {
        self.server.is_ok() && self.client.is_ok()
    }
}

fn certs(pem: &str) -> Vec<CertificateDer<'static>> {
    rustls_pemfile::certs(&mut pem.as_bytes()).collect::<Result<_, _>>().expect("certificate PEM")
}

fn key(pem: &str) -> PrivateKeyDer<'static> {
    rustls_pemfile::private_key(&mut pem.as_bytes()).expect("key PEM").expect("a private key")
}

fn roots(ca_pem: &str) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for cert in certs(ca_pem) {
        roots.add(cert).expect("CA certificate accepted as a trust anchor");
    }
    Arc::new(roots)
}

/// Runs a TLS handshake with mutual authentication: the server presents `server` and requires
/// a client certificate issued by `server_trusts`; the client presents `client`, trusts
/// `client_trusts` and dials `server_name` (a DNS name or an IP literal). Then one round trip of
/// application data, so a rejection of the client's certificate reaches both sides.
pub async fn mutual_tls(
    server: Identity<'_>,
    server_trusts: &str,
    client: Identity<'_>,
    client_trusts: &str,
    server_name: &str,
) -> Outcome {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(server_trusts), provider.clone())
        .build()
        .expect("client verifier");
    let server_config = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs(server.cert_pem), key(server.key_pem))
        .expect("server identity");
    let client_config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots(client_trusts))
        .with_client_auth_cert(certs(client.cert_pem), key(client.key_pem))
        .expect("client identity");
    let name = ServerName::try_from(server_name.to_owned()).expect("server name");

    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    let acceptor = TlsAcceptor::from(Arc::new(server_config));
    let connector = TlsConnector::from(Arc::new(client_config));

    let server_side = async move {
        let mut tls = acceptor.accept(server_io).await.map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        tls.write_all(b"pong").await.map_err(|e| e.to_string())?;
        tls.flush().await.map_err(|e| e.to_string())?;
        let peer =
            tls.get_ref().1.peer_certificates().and_then(|c| c.first().cloned()).ok_or("no client certificate")?;
        CertificateInfo::from_der(&peer).map_err(|e| e.to_string())
    };
    let client_side = async move {
        let mut tls = connector.connect(name, client_io).await.map_err(|e| e.to_string())?;
        tls.write_all(b"ping").await.map_err(|e| e.to_string())?;
        tls.flush().await.map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        if &buf != b"pong" {
            return Err("unexpected reply".to_owned());
        }
        let peer =
            tls.get_ref().1.peer_certificates().and_then(|c| c.first().cloned()).ok_or("no server certificate")?;
        CertificateInfo::from_der(&peer).map_err(|e| e.to_string())
    };
    let (server, client) = tokio::join!(server_side, client_side);
    Outcome { server, client }
}
