//! What the CA generates and issues, read back from the certificates themselves.

use std::os::unix::fs::PermissionsExt as _;
use std::time::{Duration, SystemTime};

use rustkube_pki::{CertRequest, CertificateAuthority, CertificateInfo, Error, Usage, write_pem_files};

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

fn days_from_now(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::now()).unwrap_or_default().as_secs() / DAY.as_secs()
}

#[test]
fn generated_ca_is_a_ten_year_self_signed_ca() {
    let ca = CertificateAuthority::generate("kubernetes").unwrap();
    let info = CertificateInfo::from_pem(ca.cert_pem()).unwrap();
    assert!(info.is_ca, "basicConstraints CA:TRUE expected");
    assert_eq!(info.common_name.as_deref(), Some("kubernetes"));
    assert_eq!(ca.subject(), "CN=kubernetes");
    let days = days_from_now(info.not_after);
    assert!((3648..=3650).contains(&days), "CA should be valid ~10 years, is {days} days");
    assert!(info.not_before <= SystemTime::now(), "CA must already be valid");
    assert!(ca.key_pem().starts_with("-----BEGIN PRIVATE KEY-----\n"), "PKCS#8 key expected");
    assert!(ca.is_issuer_of(ca.cert_pem()), "a self-signed CA is its own issuer");
}

#[test]
fn client_certificate_carries_cn_every_o_and_client_auth_for_one_year() {
    let ca = CertificateAuthority::generate("kubernetes").unwrap();
    let cert = ca.issue(&CertRequest::client("system:node:n1", ["system:nodes", "extra"])).unwrap();
    let info = CertificateInfo::from_pem(&cert.cert_pem).unwrap();
    assert_eq!(info.common_name.as_deref(), Some("system:node:n1"));
    assert_eq!(info.organizations, ["system:nodes", "extra"]);
    assert_eq!(info.subject, "O=system:nodes, O=extra, CN=system:node:n1");
    assert!(info.client_auth && !info.server_auth, "client-only usage expected");
    assert!(!info.is_ca);
    assert!(info.dns_names.is_empty() && info.ip_addresses.is_empty());
    assert!((363..=365).contains(&days_from_now(info.not_after)), "one year default");
    assert!(ca.is_issuer_of(&cert.cert_pem));
    assert!(cert.key_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
}

#[test]
fn server_certificate_carries_the_requested_sans() {
    let ca = CertificateAuthority::generate("kubernetes").unwrap();
    let ips = ["127.0.0.1".parse().unwrap(), "::1".parse().unwrap(), "10.96.0.1".parse().unwrap()];
    let cert = ca.issue(&CertRequest::server("kube-apiserver", ["localhost", "*.example.test"], ips)).unwrap();
    let info = CertificateInfo::from_pem(&cert.cert_pem).unwrap();
    assert_eq!(info.dns_names, ["localhost", "*.example.test"]);
    assert_eq!(info.ip_addresses, ips);
    assert!(info.server_auth && !info.client_auth);
    assert!(info.covers(&["LOCALHOST".to_owned()], &ips[..1]), "DNS names compare case-insensitively");
    assert!(!info.covers(&[], &["10.0.0.1".parse().unwrap()]));
}

#[test]
fn validity_is_capped_at_the_ca_expiry_and_short_lifetimes_are_honoured() {
    let ca = CertificateAuthority::generate("kubernetes").unwrap();
    let long = ca.issue(&CertRequest::client("a", ["b"]).with_validity_days(u32::MAX)).unwrap();
    let info = CertificateInfo::from_pem(&long.cert_pem).unwrap();
    assert!(info.not_after <= ca.not_after(), "an issued certificate must not outlive its CA");
    let short = ca.issue(&CertRequest::client("a", ["b"]).with_validity_days(10)).unwrap();
    let info = CertificateInfo::from_pem(&short.cert_pem).unwrap();
    assert!(info.expires_within(11 * DAY) && !info.expires_within(9 * DAY));
}

#[test]
fn invalid_requests_are_refused_with_the_reason() {
    let ca = CertificateAuthority::generate("kubernetes").unwrap();
    let cases = [
        CertRequest::client("", ["g"]),
        CertRequest::client("a", ["g"]).with_validity_days(0),
        CertRequest::server("s", ["bad name"], []),
        CertRequest::server("s", ["héllo"], []),
        CertRequest::server("s", [""], []),
    ];
    for req in cases {
        let err = ca.issue(&req).unwrap_err();
        assert!(matches!(err, Error::InvalidCertRequest { .. }), "{req:?} should be refused, got {err:?}");
    }
}

#[test]
fn ca_round_trips_through_pem_and_files_and_is_not_the_issuer_of_strangers() {
    let ca = CertificateAuthority::generate("kubernetes").unwrap();
    let again = CertificateAuthority::from_pem(ca.cert_pem(), ca.key_pem()).unwrap();
    assert_eq!(again.cert_der(), ca.cert_der());
    let cert = again.issue(&CertRequest::server("s", ["localhost"], [])).unwrap();
    assert!(ca.is_issuer_of(&cert.cert_pem), "a reloaded CA signs as the original");

    let stranger = CertificateAuthority::generate("kubernetes").unwrap();
    assert!(!stranger.is_issuer_of(&cert.cert_pem), "same DN, different key: not the issuer");
    assert!(!stranger.is_issuer_of("garbage"));

    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = write_pem_files(&dir.path().join("pki"), "front", &cert).unwrap();
    assert_eq!(cert_path, dir.path().join("pki/front.crt"));
    assert_eq!(std::fs::read_to_string(&cert_path).unwrap(), cert.cert_pem);
    assert_eq!(std::fs::read_to_string(&key_path).unwrap(), cert.key_pem);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&cert_path), 0o644, "certificates are world-readable");
    assert_eq!(mode(&key_path), 0o600, "keys are owner-only");

    let ca_dir = tempfile::tempdir().unwrap();
    let (ca_crt, ca_key) = (ca_dir.path().join("ca.crt"), ca_dir.path().join("ca.key"));
    std::fs::write(&ca_crt, ca.cert_pem()).unwrap();
    std::fs::write(&ca_key, ca.key_pem()).unwrap();
    let loaded = CertificateAuthority::load(&ca_crt, &ca_key).unwrap();
    assert_eq!(loaded.key_pem(), ca.key_pem());
    let err = CertificateAuthority::load(&ca_crt, &ca_dir.path().join("missing.key")).unwrap_err();
    assert!(matches!(err, Error::ReadFailed { .. }), "got {err:?}");
    let err = CertificateAuthority::load(&ca_key, &ca_key).unwrap_err();
    assert!(err.to_string().contains("ca.key"), "load errors name the file: {err}");
}

#[test]
fn debug_output_never_contains_private_keys() {
    let ca = CertificateAuthority::generate("kubernetes").unwrap();
    let cert = ca.issue(&CertRequest::client("a", ["b"]).with_usage(Usage::ServerAndClient)).unwrap();
    for text in [format!("{ca:?}"), format!("{cert:?}")] {
        assert!(!text.contains("PRIVATE KEY"), "Debug leaked a key: {text}");
    }
}
