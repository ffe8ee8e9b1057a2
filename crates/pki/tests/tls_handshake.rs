//! Issued certificates judged by a real rustls handshake with client-certificate authentication.

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::{Identity, mutual_tls};
use rustkube_pki::{CertRequest, CertificateAuthority, Error, IssuedCert, Usage};

fn id(cert: &IssuedCert) -> Identity<'_> {
    Identity { cert_pem: &cert.cert_pem, key_pem: &cert.key_pem }
}

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn server_cert(ca: &CertificateAuthority) -> IssuedCert {
    ca.issue(&CertRequest::server("kube-apiserver", ["localhost"], [LOCALHOST])).unwrap()
}

#[tokio::test]
async fn mutual_tls_succeeds_by_dns_name_and_by_ip_and_server_sees_client_subject() {
    let ca = CertificateAuthority::generate("kubernetes").unwrap();
    let server = server_cert(&ca);
    let client = ca.issue(&CertRequest::client("alice", ["devs", "system:masters"])).unwrap();

    for name in ["localhost", "127.0.0.1"] {
        let outcome = mutual_tls(id(&server), ca.cert_pem(), id(&client), ca.cert_pem(), name).await;
        let seen_client = outcome.server.as_ref().unwrap_or_else(|e| panic!("server side failed dialing {name}: {e}"));
        let seen_server = outcome.client.as_ref().unwrap_or_else(|e| panic!("client side failed dialing {name}: {e}"));
        assert_eq!(seen_client.common_name.as_deref(), Some("alice"), "server should see the client's CN");
        assert_eq!(seen_client.organizations, ["devs", "system:masters"], "server should see every O, in order");
        assert_eq!(seen_server.common_name.as_deref(), Some("kube-apiserver"));
    }
}

#[tokio::test]
async fn client_certificate_from_another_ca_is_rejected_by_the_server() {
    let ca = CertificateAuthority::generate("kubernetes").unwrap();
    let other = CertificateAuthority::generate("kubernetes").unwrap();
    let server = server_cert(&ca);
    let intruder = other.issue(&CertRequest::client("mallory", ["system:masters"])).unwrap();

    let outcome = mutual_tls(id(&server), ca.cert_pem(), id(&intruder), ca.cert_pem(), "localhost").await;
    let err = outcome.server.expect_err("a client certificate from a different CA (same CN) must be rejected");
    // Both CAs are CN=kubernetes, so the verifier finds a name match and then a bad signature.
    assert!(err.contains("UnknownIssuer") || err.contains("BadSignature"), "unexpected error: {err}");
    assert!(outcome.client.is_err(), "the client should see the server's alert");
}

#[tokio::test]
async fn server_certificate_from_another_ca_is_rejected_by_the_client() {
    let ca = CertificateAuthority::generate("kubernetes").unwrap();
    let other = CertificateAuthority::generate("kubernetes").unwrap();
    let impostor = server_cert(&other);
    let client = ca.issue(&CertRequest::client("alice", Vec::<String>::new())).unwrap();

    let outcome = mutual_tls(id(&impostor), other.cert_pem(), id(&client), ca.cert_pem(), "localhost").await;
    let err = outcome.client.expect_err("a server certificate from a different CA must be rejected");
    assert!(err.contains("UnknownIssuer") || err.contains("BadSignature"), "unexpected error: {err}");
    assert!(outcome.server.is_err());
}

#[tokio::test]
async fn names_outside_the_sans_are_rejected() {
    let ca = CertificateAuthority::generate("kubernetes").unwrap();
    let server = server_cert(&ca);
    let client = ca.issue(&CertRequest::client("alice", ["devs"])).unwrap();
    for name in ["example.com", "127.0.0.2"] {
        let outcome = mutual_tls(id(&server), ca.cert_pem(), id(&client), ca.cert_pem(), name).await;
        let err = outcome.client.expect_err("a name the certificate does not list must be rejected");
        assert!(err.contains("not valid for name"), "dialing {name}: unexpected error: {err}");
    }
}

#[tokio::test]
async fn key_usage_is_enforced_both_ways() {
    let ca = CertificateAuthority::generate("kubernetes").unwrap();
    let server = server_cert(&ca);
    let client = ca.issue(&CertRequest::client("alice", ["devs"])).unwrap();

    // A server presenting a client-only certificate.
    let mut bad = CertRequest::server("kube-apiserver", ["localhost"], [LOCALHOST]);
    bad.usage = Usage::Client;
    let bad_server = ca.issue(&bad).unwrap();
    let outcome = mutual_tls(id(&bad_server), ca.cert_pem(), id(&client), ca.cert_pem(), "localhost").await;
    assert!(outcome.client.is_err(), "a certificate without serverAuth must not serve");

    // A client presenting a server-only certificate.
    let outcome = mutual_tls(id(&server), ca.cert_pem(), id(&server), ca.cert_pem(), "localhost").await;
    assert!(outcome.server.is_err(), "a certificate without clientAuth must not authenticate a client");

    // Both usages in one certificate serve either role.
    let peer =
        ca.issue(&CertRequest::server("peer", ["localhost"], [LOCALHOST]).with_usage(Usage::ServerAndClient)).unwrap();
    let outcome = mutual_tls(id(&peer), ca.cert_pem(), id(&peer), ca.cert_pem(), "localhost").await;
    assert!(outcome.both_ok(), "server {:?} client {:?}", outcome.server.err(), outcome.client.err());
}

const RSA_CA_CRT: &str = include_str!("fixtures/rsa-ca.crt");
const RSA_CA_KEY: &str = include_str!("fixtures/rsa-ca.key");
const EC_CA_CRT: &str = include_str!("fixtures/ec-ca.crt");
const EC_CA_KEY: &str = include_str!("fixtures/ec-ca.key");
const EC_LEAF_CRT: &str = include_str!("fixtures/ec-leaf.crt");

#[tokio::test]
async fn operator_supplied_openssl_cas_issue_certificates_rustls_accepts() {
    for (what, cert_pem, key_pem) in
        [("PKCS#1 RSA, multi-RDN subject", RSA_CA_CRT, RSA_CA_KEY), ("SEC1 EC", EC_CA_CRT, EC_CA_KEY)]
    {
        let ca = CertificateAuthority::from_pem(cert_pem, key_pem).unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert_eq!(ca.cert_pem(), cert_pem, "the CA PEM is kept as supplied");
        assert!(ca.is_issuer_of(&server_cert(&ca).cert_pem));
        let server = server_cert(&ca);
        let client = ca.issue(&CertRequest::client("bob", ["ops"])).unwrap();
        let outcome = mutual_tls(id(&server), ca.cert_pem(), id(&client), ca.cert_pem(), "localhost").await;
        assert!(outcome.both_ok(), "{what}: server {:?} client {:?}", outcome.server.err(), outcome.client.err());
    }
}

#[test]
fn operator_ca_that_is_not_a_ca_or_has_the_wrong_key_is_refused() {
    let err = CertificateAuthority::from_pem(EC_LEAF_CRT, EC_CA_KEY).unwrap_err();
    assert!(matches!(err, Error::NotACertificateAuthority { .. }), "got {err:?}");
    let err = CertificateAuthority::from_pem(RSA_CA_CRT, EC_CA_KEY).unwrap_err();
    assert!(matches!(err, Error::KeyDoesNotMatchCertificate), "got {err:?}");
    let err = CertificateAuthority::from_pem(EC_CA_KEY, EC_CA_KEY).unwrap_err();
    assert!(matches!(err, Error::PemDecodeFailed { .. }), "got {err:?}");
}
