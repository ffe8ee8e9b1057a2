//! The PKI a single-node kube-apiserver generates under its data directory, kubeadm-style.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::authority::{CertRequest, CertificateAuthority, Usage};
use crate::certificate::{CertificateInfo, key_matches};
use crate::error::{Error, Result};
use crate::files::{PRIVATE_MODE, PUBLIC_MODE, write_file, write_pem_files};
use crate::kubeconfig::{self, Kubeconfig};
use crate::service_account::ServiceAccountKey;

/// Cluster name in generated kubeconfigs, and CN of a generated CA (as kubeadm).
pub const CLUSTER_NAME: &str = "kubernetes";
/// CN of the apiserver serving certificate.
pub const APISERVER_COMMON_NAME: &str = "kube-apiserver";
/// CN of the certificate the apiserver presents to kubelets.
pub const KUBELET_CLIENT_COMMON_NAME: &str = "kube-apiserver-kubelet-client";
/// User of `admin.kubeconfig`.
pub const ADMIN_USER: &str = "kubernetes-admin";
/// The group every request from which is authorized, as upstream.
pub const MASTERS_GROUP: &str = "system:masters";
/// First address of the default service CIDR 10.96.0.0/12: the `kubernetes` Service's ClusterIP.
pub const DEFAULT_SERVICE_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 96, 0, 1));
/// Certificates closer than this to expiry are renewed.
pub const RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// DNS names every serving certificate carries: how clients inside and outside the cluster
/// address the apiserver.
const SERVING_DNS_NAMES: [&str; 5] =
    ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"];

/// Where to keep the PKI and what the serving certificate must cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiserverPkiRequest {
    /// The apiserver's data directory; files go under `DIR/pki` and `DIR/admin.kubeconfig`.
    pub dir: PathBuf,
    /// Extra DNS names for the serving certificate (an IP literal here is treated as an IP).
    pub hostnames: Vec<String>,
    /// Extra IP addresses for the serving certificate.
    pub ips: Vec<IpAddr>,
    /// The URL `admin.kubeconfig` points at, e.g. `https://127.0.0.1:6443`.
    pub server_url: String,
}

/// Paths of the files [`ensure_apiserver_pki`] maintains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiserverPki {
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    pub serving_cert: PathBuf,
    pub serving_key: PathBuf,
    pub kubelet_client_cert: PathBuf,
    pub kubelet_client_key: PathBuf,
    pub sa_private_key: PathBuf,
    pub sa_public_key: PathBuf,
    pub admin_kubeconfig: PathBuf,
}

impl ApiserverPki {
    /// The layout under data directory `dir`, whether or not the files exist yet.
    pub fn in_dir(dir: &Path) -> Self {
        let pki = dir.join("pki");
        ApiserverPki {
            ca_cert: pki.join("ca.crt"),
            ca_key: pki.join("ca.key"),
            serving_cert: pki.join("apiserver.crt"),
            serving_key: pki.join("apiserver.key"),
            kubelet_client_cert: pki.join("apiserver-kubelet-client.crt"),
            kubelet_client_key: pki.join("apiserver-kubelet-client.key"),
            sa_private_key: pki.join("sa.key"),
            sa_public_key: pki.join("sa.pub"),
            admin_kubeconfig: dir.join("admin.kubeconfig"),
        }
    }
}

/// Makes sure the data directory holds a CA, a serving certificate covering the requested names,
/// a kubelet client certificate, a service-account key pair and an admin kubeconfig.
///
/// Existing files are reused. A leaf certificate is replaced when it is missing, unreadable, not
/// signed by the CA, not matched by its key, within [`RENEW_BEFORE`] of expiry, or no longer
/// what is asked for (the serving certificate's SANs must cover every requested name). The CA and
/// the service-account key are never replaced: half of either pair present is an error.
pub fn ensure_apiserver_pki(req: &ApiserverPkiRequest) -> Result<ApiserverPki> {
    let paths = ApiserverPki::in_dir(&req.dir);
    let pki_dir = req.dir.join("pki");
    std::fs::create_dir_all(&pki_dir).map_err(|source| Error::WriteFailed { path: pki_dir.clone(), source })?;

    let ca = ensure_ca(&paths.ca_cert, &paths.ca_key)?;
    let (dns_names, ips) = serving_sans(req);
    ensure_leaf(&ca, &pki_dir, "apiserver", &CertRequest::server(APISERVER_COMMON_NAME, dns_names, ips))?;
    ensure_leaf(
        &ca,
        &pki_dir,
        "apiserver-kubelet-client",
        &CertRequest::client(KUBELET_CLIENT_COMMON_NAME, [MASTERS_GROUP]),
    )?;
    ensure_service_account_key(&paths.sa_private_key, &paths.sa_public_key)?;
    ensure_admin_kubeconfig(&ca, &paths.admin_kubeconfig, &req.server_url)?;
    Ok(paths)
}

fn ensure_ca(cert_path: &Path, key_path: &Path) -> Result<CertificateAuthority> {
    match (read_optional(cert_path)?, read_optional(key_path)?) {
        (Some(cert_pem), Some(key_pem)) => {
            let ca =
                CertificateAuthority::from_pem(&cert_pem, &key_pem).map_err(|e| Error::load_failed(cert_path, e))?;
            if let Ok(info) = CertificateInfo::from_pem(&cert_pem)
                && info.expires_within(RENEW_BEFORE)
            {
                tracing::warn!(path = %cert_path.display(), "cluster CA expires within 30 days; it is not renewed automatically");
            }
            Ok(ca)
        }
        (None, None) => {
            let ca = CertificateAuthority::generate(CLUSTER_NAME)?;
            write_file(key_path, ca.key_pem().as_bytes(), PRIVATE_MODE)?;
            write_file(cert_path, ca.cert_pem().as_bytes(), PUBLIC_MODE)?;
            tracing::info!(path = %cert_path.display(), "generated cluster CA");
            Ok(ca)
        }
        (Some(_), None) => Err(Error::PairIncomplete { present: cert_path.to_owned(), missing: key_path.to_owned() }),
        (None, Some(_)) => Err(Error::PairIncomplete { present: key_path.to_owned(), missing: cert_path.to_owned() }),
    }
}

/// Reuses `DIR/NAME.crt` + `.key` when they still satisfy `req`, else issues and writes new ones.
fn ensure_leaf(ca: &CertificateAuthority, dir: &Path, name: &str, req: &CertRequest) -> Result<()> {
    let cert_path = dir.join(format!("{name}.crt"));
    let key_path = dir.join(format!("{name}.key"));
    let problem = match (read_optional(&cert_path)?, read_optional(&key_path)?) {
        (Some(cert_pem), Some(key_pem)) => leaf_problem(ca, &cert_pem, &key_pem, req),
        _ => Some("missing".to_owned()),
    };
    match problem {
        None => tracing::debug!(path = %cert_path.display(), "reusing certificate"),
        Some(reason) => {
            write_pem_files(dir, name, &ca.issue(req)?)?;
            tracing::info!(path = %cert_path.display(), %reason, "generated certificate");
        }
    }
    Ok(())
}

/// Why an existing certificate and key no longer do for `req`, or `None` when they do.
fn leaf_problem(ca: &CertificateAuthority, cert_pem: &str, key_pem: &str, req: &CertRequest) -> Option<String> {
    let info = match CertificateInfo::from_pem(cert_pem) {
        Ok(info) => info,
        Err(e) => return Some(format!("unreadable: {e}")),
    };
    let (want_server, want_client) = match req.usage {
        Usage::Server => (true, false),
        Usage::Client => (false, true),
        Usage::ServerAndClient => (true, true),
    };
    let mut want_orgs = req.organizations.clone();
    let mut have_orgs = info.organizations.clone();
    want_orgs.sort();
    have_orgs.sort();
    if !ca.is_issuer_of(cert_pem) {
        Some("not signed by the current CA".to_owned())
    } else if !key_matches(cert_pem, key_pem) {
        Some("private key does not match".to_owned())
    } else if info.expires_within(RENEW_BEFORE) {
        Some("expires within 30 days".to_owned())
    } else if !info.covers(&req.dns_names, &req.ip_addresses) {
        Some("subject alternative names do not cover the requested ones".to_owned())
    } else if info.common_name.as_deref() != Some(req.common_name.as_str()) || want_orgs != have_orgs {
        Some(format!("subject {:?} is not the requested one", info.subject))
    } else if (want_server && !info.server_auth) || (want_client && !info.client_auth) {
        Some("extended key usage is not the requested one".to_owned())
    } else {
        None
    }
}

/// Makes sure `private_path` holds a service-account signing key (generated when neither file
/// exists) and `public_path` its public key; returns the key.
pub fn ensure_service_account_key(private_path: &Path, public_path: &Path) -> Result<ServiceAccountKey> {
    let key = match (read_optional(private_path)?, read_optional(public_path)?) {
        (Some(private_pem), public_pem) => {
            let key = ServiceAccountKey::from_private_key_pem(&private_pem)
                .map_err(|e| Error::load_failed(private_path, e))?;
            if public_pem.as_deref() == Some(key.public_key_pem.as_str()) {
                tracing::debug!(path = %private_path.display(), "reusing service-account key");
                return Ok(key);
            }
            key
        }
        (None, None) => {
            let key = ServiceAccountKey::generate()?;
            write_file(private_path, key.private_key_pem.as_bytes(), PRIVATE_MODE)?;
            tracing::info!(path = %private_path.display(), "generated service-account signing key");
            key
        }
        (None, Some(_)) => {
            return Err(Error::PairIncomplete { present: public_path.to_owned(), missing: private_path.to_owned() });
        }
    };
    write_file(public_path, key.public_key_pem.as_bytes(), PUBLIC_MODE)?;
    tracing::info!(path = %public_path.display(), "wrote service-account public key");
    Ok(key)
}

fn ensure_admin_kubeconfig(ca: &CertificateAuthority, path: &Path, server_url: &str) -> Result<()> {
    ensure_kubeconfig(ca, path, server_url, &CertRequest::client(ADMIN_USER, [MASTERS_GROUP]))
}

/// Makes sure `path` holds a kubeconfig for `server_url` that authenticates as
/// `user` in `groups` with a certificate of the cluster CA under `pki` — one
/// per component identity (`system:kube-scheduler`, `system:node:NAME` in
/// `system:nodes`, …), as kubeadm writes them. A still-valid file is kept.
pub fn ensure_client_kubeconfig(
    pki: &ApiserverPki,
    path: &Path,
    server_url: &str,
    user: &str,
    groups: &[&str],
) -> Result<()> {
    let cert_pem = read_optional(&pki.ca_cert)?
        .ok_or_else(|| Error::PairIncomplete { present: pki.ca_key.clone(), missing: pki.ca_cert.clone() })?;
    let key_pem = read_optional(&pki.ca_key)?
        .ok_or_else(|| Error::PairIncomplete { present: pki.ca_cert.clone(), missing: pki.ca_key.clone() })?;
    let ca = CertificateAuthority::from_pem(&cert_pem, &key_pem).map_err(|e| Error::load_failed(&pki.ca_cert, e))?;
    ensure_kubeconfig(&ca, path, server_url, &CertRequest::client(user, groups.iter().copied()))
}

fn ensure_kubeconfig(ca: &CertificateAuthority, path: &Path, server_url: &str, request: &CertRequest) -> Result<()> {
    let problem = match Kubeconfig::load(path) {
        Ok(config) => kubeconfig_problem(ca, &config, server_url, request),
        Err(kubeconfig::Error::ReadFailed { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            Some("missing".to_owned())
        }
        Err(e) => Some(format!("unreadable: {e}")),
    };
    match problem {
        None => tracing::debug!(path = %path.display(), "reusing kubeconfig"),
        Some(reason) => {
            let cert = ca.issue(request)?;
            kubeconfig::for_client_cert(CLUSTER_NAME, server_url, ca.cert_pem(), &request.common_name, &cert)
                .write(path)?;
            tracing::info!(path = %path.display(), user = %request.common_name, %reason, "generated kubeconfig");
        }
    }
    Ok(())
}

fn kubeconfig_problem(
    ca: &CertificateAuthority,
    config: &Kubeconfig,
    server_url: &str,
    request: &CertRequest,
) -> Option<String> {
    let Some(context) = config.current() else { return Some("no current context".to_owned()) };
    let (Some(cluster), Some(user)) = (config.cluster(&context.cluster), config.user(&context.user)) else {
        return Some("current context names a missing cluster or user".to_owned());
    };
    if cluster.server != server_url {
        return Some(format!("server is {:?}, not {server_url:?}", cluster.server));
    }
    if cluster.certificate_authority_data.as_deref() != Some(ca.cert_pem().as_bytes()) {
        return Some("CA data is not the current CA".to_owned());
    }
    let text = |data: &Option<Vec<u8>>| data.as_deref().and_then(|d| std::str::from_utf8(d).ok()).map(str::to_owned);
    let (Some(cert_pem), Some(key_pem)) = (text(&user.client_certificate_data), text(&user.client_key_data)) else {
        return Some("no embedded client certificate".to_owned());
    };
    leaf_problem(ca, &cert_pem, &key_pem, request)
}

/// The serving certificate's SANs: the fixed in-cluster names, this machine's hostname, loopback,
/// the `kubernetes` Service IP, and whatever was asked for, without duplicates.
fn serving_sans(req: &ApiserverPkiRequest) -> (Vec<String>, Vec<IpAddr>) {
    let mut dns_names: Vec<String> = Vec::new();
    let mut ips = vec![IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST), DEFAULT_SERVICE_IP];
    let hostname = machine_hostname();
    let names = SERVING_DNS_NAMES.iter().map(|s| (*s).to_owned()).chain(hostname).chain(req.hostnames.iter().cloned());
    for name in names {
        let name = name.trim().to_owned();
        if name.is_empty() {
            continue;
        }
        if let Ok(ip) = name.parse::<IpAddr>() {
            ips.push(ip);
        } else if !dns_names.iter().any(|have| have.eq_ignore_ascii_case(&name)) {
            dns_names.push(name);
        }
    }
    ips.extend(req.ips.iter().copied());
    let mut seen = Vec::with_capacity(ips.len());
    ips.retain(|ip| {
        let new = !seen.contains(ip);
        seen.push(*ip);
        new
    });
    (dns_names, ips)
}

/// This machine's hostname, lowercased, if it can be read and is a plausible DNS name.
fn machine_hostname() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .map(|name| name.trim().to_ascii_lowercase())
        .find(|name| {
            !name.is_empty()
                && name.len() <= 253
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        })
}

fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::ReadFailed { path: path.to_owned(), source }),
    }
}
