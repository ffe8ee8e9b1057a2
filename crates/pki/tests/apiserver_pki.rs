//! `ensure_apiserver_pki`: the files kube-apiserver --data-dir keeps, and when they change.

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use rustkube_pki::kubeconfig::Kubeconfig;
use rustkube_pki::{
    ApiserverPki, ApiserverPkiRequest, CertRequest, CertificateAuthority, CertificateInfo, Error, ensure_apiserver_pki,
    write_pem_files,
};

fn request(dir: &Path) -> ApiserverPkiRequest {
    ApiserverPkiRequest {
        dir: dir.to_owned(),
        hostnames: vec!["apiserver.example.test".to_owned()],
        ips: vec!["192.0.2.10".parse().unwrap()],
        server_url: "https://127.0.0.1:6443".to_owned(),
    }
}

fn all_files(pki: &ApiserverPki) -> [&PathBuf; 9] {
    [
        &pki.ca_cert,
        &pki.ca_key,
        &pki.serving_cert,
        &pki.serving_key,
        &pki.kubelet_client_cert,
        &pki.kubelet_client_key,
        &pki.sa_private_key,
        &pki.sa_public_key,
        &pki.admin_kubeconfig,
    ]
}

fn snapshot(pki: &ApiserverPki) -> BTreeMap<PathBuf, Vec<u8>> {
    all_files(pki).into_iter().map(|p| (p.clone(), std::fs::read(p).unwrap())).collect()
}

/// The files whose bytes differ between two snapshots.
fn changed(before: &BTreeMap<PathBuf, Vec<u8>>, after: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<String> {
    before
        .iter()
        .filter(|(path, bytes)| after.get(*path) != Some(*bytes))
        .map(|(path, _)| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn first_run_lays_out_kubeadm_style_files_with_private_modes_for_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let pki = ensure_apiserver_pki(&request(dir.path())).unwrap();
    assert_eq!(pki, ApiserverPki::in_dir(dir.path()));
    assert_eq!(pki.ca_cert, dir.path().join("pki/ca.crt"));
    assert_eq!(pki.serving_key, dir.path().join("pki/apiserver.key"));
    assert_eq!(pki.kubelet_client_cert, dir.path().join("pki/apiserver-kubelet-client.crt"));
    assert_eq!(pki.sa_public_key, dir.path().join("pki/sa.pub"));
    assert_eq!(pki.admin_kubeconfig, dir.path().join("admin.kubeconfig"));
    for secret in [&pki.ca_key, &pki.serving_key, &pki.kubelet_client_key, &pki.sa_private_key, &pki.admin_kubeconfig] {
        assert_eq!(mode(secret), 0o600, "{} must be owner-only", secret.display());
    }
    for public in [&pki.ca_cert, &pki.serving_cert, &pki.kubelet_client_cert, &pki.sa_public_key] {
        assert_eq!(mode(public), 0o644, "{} should be 0644", public.display());
    }
}

#[test]
fn serving_certificate_covers_in_cluster_names_loopback_service_ip_hostname_and_extras() {
    let dir = tempfile::tempdir().unwrap();
    let mut req = request(dir.path());
    req.hostnames.push("10.0.0.7".to_owned()); // an IP given as a hostname is an IP SAN
    let pki = ensure_apiserver_pki(&req).unwrap();
    let info = CertificateInfo::from_pem(&std::fs::read_to_string(&pki.serving_cert).unwrap()).unwrap();
    for name in [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "apiserver.example.test",
    ] {
        assert!(info.dns_names.iter().any(|n| n == name), "serving cert should list {name}: {:?}", info.dns_names);
    }
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_ascii_lowercase();
    assert!(info.dns_names.contains(&hostname), "serving cert should list the machine hostname {hostname}");
    for ip in ["127.0.0.1", "::1", "10.96.0.1", "192.0.2.10", "10.0.0.7"] {
        let ip: IpAddr = ip.parse().unwrap();
        assert!(info.ip_addresses.contains(&ip), "serving cert should list {ip}: {:?}", info.ip_addresses);
    }
    assert_eq!(info.common_name.as_deref(), Some("kube-apiserver"));
    assert!(info.server_auth);

    let kubelet = CertificateInfo::from_pem(&std::fs::read_to_string(&pki.kubelet_client_cert).unwrap()).unwrap();
    assert_eq!(kubelet.common_name.as_deref(), Some("kube-apiserver-kubelet-client"));
    assert_eq!(kubelet.organizations, ["system:masters"]);
    assert!(kubelet.client_auth);
}

#[test]
fn second_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pki = ensure_apiserver_pki(&request(dir.path())).unwrap();
    let before = snapshot(&pki);
    let again = ensure_apiserver_pki(&request(dir.path())).unwrap();
    assert_eq!(again, pki);
    assert_eq!(changed(&before, &snapshot(&pki)), Vec::<String>::new(), "an idempotent run must not rewrite files");
}

#[test]
fn a_new_ip_or_hostname_regenerates_only_the_serving_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let mut req = request(dir.path());
    let pki = ensure_apiserver_pki(&req).unwrap();
    let before = snapshot(&pki);

    req.ips.push("192.0.2.11".parse().unwrap());
    ensure_apiserver_pki(&req).unwrap();
    let after_ip = snapshot(&pki);
    assert_eq!(changed(&before, &after_ip), ["apiserver.crt", "apiserver.key"]);
    let info = CertificateInfo::from_pem(&String::from_utf8(after_ip[&pki.serving_cert].clone()).unwrap()).unwrap();
    assert!(info.ip_addresses.contains(&"192.0.2.11".parse().unwrap()));

    req.hostnames.push("other.example.test".to_owned());
    ensure_apiserver_pki(&req).unwrap();
    assert_eq!(changed(&after_ip, &snapshot(&pki)), ["apiserver.crt", "apiserver.key"]);

    // Dropping a name still covered is not a reason to regenerate.
    let covered = snapshot(&pki);
    req.ips.pop();
    ensure_apiserver_pki(&req).unwrap();
    assert_eq!(changed(&covered, &snapshot(&pki)), Vec::<String>::new());
}

#[test]
fn expiring_foreign_or_mismatched_leaves_are_replaced_and_the_ca_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let req = request(dir.path());
    let pki = ensure_apiserver_pki(&req).unwrap();
    let pki_dir = dir.path().join("pki");
    let ca = CertificateAuthority::load(&pki.ca_cert, &pki.ca_key).unwrap();

    // A serving certificate with 10 days left.
    let serving = CertificateInfo::from_pem(&std::fs::read_to_string(&pki.serving_cert).unwrap()).unwrap();
    let short = CertRequest::server("kube-apiserver", serving.dns_names, serving.ip_addresses).with_validity_days(10);
    write_pem_files(&pki_dir, "apiserver", &ca.issue(&short).unwrap()).unwrap();
    // A kubelet client certificate from some other CA.
    let other = CertificateAuthority::generate("kubernetes").unwrap();
    let foreign = other.issue(&CertRequest::client("kube-apiserver-kubelet-client", ["system:masters"])).unwrap();
    write_pem_files(&pki_dir, "apiserver-kubelet-client", &foreign).unwrap();
    let before = snapshot(&pki);

    ensure_apiserver_pki(&req).unwrap();
    let after = snapshot(&pki);
    assert_eq!(
        changed(&before, &after),
        ["apiserver-kubelet-client.crt", "apiserver-kubelet-client.key", "apiserver.crt", "apiserver.key"]
    );
    for cert in [&pki.serving_cert, &pki.kubelet_client_cert] {
        let pem = std::fs::read_to_string(cert).unwrap();
        assert!(ca.is_issuer_of(&pem), "{} should be reissued by the data dir's CA", cert.display());
        assert!(!CertificateInfo::from_pem(&pem).unwrap().expires_within(rustkube_pki::RENEW_BEFORE));
    }

    // A key that does not belong to the certificate.
    std::fs::copy(&pki.kubelet_client_key, &pki.serving_key).unwrap();
    ensure_apiserver_pki(&req).unwrap();
    assert_eq!(changed(&after, &snapshot(&pki)), ["apiserver.crt", "apiserver.key"]);
}

#[test]
fn a_new_ca_reissues_every_leaf_but_keeps_the_service_account_key() {
    let dir = tempfile::tempdir().unwrap();
    let req = request(dir.path());
    let pki = ensure_apiserver_pki(&req).unwrap();
    let before = snapshot(&pki);
    std::fs::remove_file(&pki.ca_cert).unwrap();
    std::fs::remove_file(&pki.ca_key).unwrap();
    ensure_apiserver_pki(&req).unwrap();
    let mut changed = changed(&before, &snapshot(&pki));
    changed.sort();
    assert_eq!(
        changed,
        [
            "admin.kubeconfig",
            "apiserver-kubelet-client.crt",
            "apiserver-kubelet-client.key",
            "apiserver.crt",
            "apiserver.key",
            "ca.crt",
            "ca.key"
        ]
    );
}

#[test]
fn half_a_ca_or_service_account_pair_is_an_error_not_a_silent_replacement() {
    let dir = tempfile::tempdir().unwrap();
    let req = request(dir.path());
    let pki = ensure_apiserver_pki(&req).unwrap();

    let key = std::fs::read(&pki.ca_key).unwrap();
    std::fs::remove_file(&pki.ca_key).unwrap();
    let err = ensure_apiserver_pki(&req).unwrap_err();
    assert!(matches!(&err, Error::PairIncomplete { missing, .. } if *missing == pki.ca_key), "got {err:?}");
    assert!(err.to_string().contains("ca.key"), "the message names the missing file: {err}");
    std::fs::write(&pki.ca_key, key).unwrap();

    let sa_key = std::fs::read(&pki.sa_private_key).unwrap();
    std::fs::remove_file(&pki.sa_private_key).unwrap();
    let err = ensure_apiserver_pki(&req).unwrap_err();
    assert!(matches!(&err, Error::PairIncomplete { missing, .. } if *missing == pki.sa_private_key), "got {err:?}");
    std::fs::write(&pki.sa_private_key, &sa_key).unwrap();

    // A missing public half is derived again, byte for byte.
    let sa_pub = std::fs::read(&pki.sa_public_key).unwrap();
    std::fs::remove_file(&pki.sa_public_key).unwrap();
    ensure_apiserver_pki(&req).unwrap();
    assert_eq!(std::fs::read(&pki.sa_public_key).unwrap(), sa_pub);

    std::fs::write(&pki.ca_key, "not a key").unwrap();
    let err = ensure_apiserver_pki(&req).unwrap_err();
    assert!(matches!(&err, Error::LoadFailed { .. }), "a corrupt CA key is reported, got {err:?}");
}

#[test]
fn service_account_key_is_pkcs8_ecdsa_with_an_spki_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let pki = ensure_apiserver_pki(&request(dir.path())).unwrap();
    let private = std::fs::read_to_string(&pki.sa_private_key).unwrap();
    let public = std::fs::read_to_string(&pki.sa_public_key).unwrap();
    assert!(private.starts_with("-----BEGIN PRIVATE KEY-----\n"), "PKCS#8 expected: {private}");
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"), "SPKI expected: {public}");
    let derived = rustkube_pki::ServiceAccountKey::from_private_key_pem(&private).unwrap();
    assert_eq!(derived.public_key_pem, public, "sa.pub is the public half of sa.key");
}

#[tokio::test]
async fn admin_kubeconfig_authenticates_as_cluster_admin_against_the_serving_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let mut req = request(dir.path());
    let pki = ensure_apiserver_pki(&req).unwrap();
    let config = Kubeconfig::load(&pki.admin_kubeconfig).unwrap();
    assert_eq!(config.current_context, "kubernetes-admin@kubernetes");
    let context = config.current().expect("current context exists");
    let cluster = config.cluster(&context.cluster).expect("cluster exists");
    let user = config.user(&context.user).expect("user exists");
    assert_eq!(cluster.server, "https://127.0.0.1:6443");
    let ca_pem = std::fs::read_to_string(&pki.ca_cert).unwrap();
    assert_eq!(cluster.certificate_authority_data.as_deref(), Some(ca_pem.as_bytes()));
    let cert_pem = String::from_utf8(user.client_certificate_data.clone().unwrap()).unwrap();
    let key_pem = String::from_utf8(user.client_key_data.clone().unwrap()).unwrap();
    let info = CertificateInfo::from_pem(&cert_pem).unwrap();
    assert_eq!(info.common_name.as_deref(), Some("kubernetes-admin"));
    assert_eq!(info.organizations, ["system:masters"]);

    // The apiserver's serving identity and trust, against the kubeconfig's client and trust.
    let serving_pem = std::fs::read_to_string(&pki.serving_cert).unwrap();
    let serving_key = std::fs::read_to_string(&pki.serving_key).unwrap();
    let outcome = common::mutual_tls(
        common::Identity { cert_pem: &serving_pem, key_pem: &serving_key },
        &ca_pem,
        common::Identity { cert_pem: &cert_pem, key_pem: &key_pem },
        std::str::from_utf8(cluster.certificate_authority_data.as_deref().unwrap()).unwrap(),
        "127.0.0.1",
    )
    .await;
    let client = outcome.server.expect("the apiserver side accepts the admin certificate");
    assert_eq!(client.common_name.as_deref(), Some("kubernetes-admin"));
    outcome.client.expect("the kubeconfig side accepts the serving certificate");

    // A new server URL rewrites only the kubeconfig.
    let before = snapshot(&pki);
    req.server_url = "https://127.0.0.1:16443".to_owned();
    ensure_apiserver_pki(&req).unwrap();
    assert_eq!(changed(&before, &snapshot(&pki)), ["admin.kubeconfig"]);
    let config = Kubeconfig::load(&pki.admin_kubeconfig).unwrap();
    assert_eq!(config.clusters[0].cluster.server, "https://127.0.0.1:16443");
}

#[test]
fn component_kubeconfigs_carry_their_identity_and_are_kept_while_valid() {
    let dir = tempfile::tempdir().unwrap();
    let pki = ensure_apiserver_pki(&request(dir.path())).unwrap();
    let path = dir.path().join("node-1.kubeconfig");
    rustkube_pki::ensure_client_kubeconfig(
        &pki,
        &path,
        "https://127.0.0.1:6443",
        "system:node:node-1",
        &["system:nodes"],
    )
    .unwrap();
    let config = Kubeconfig::load(&path).unwrap();
    let context = config.current().unwrap();
    let user = config.user(&context.user).unwrap();
    let cert = String::from_utf8(user.client_certificate_data.clone().unwrap()).unwrap();
    let info = CertificateInfo::from_pem(&cert).unwrap();
    assert_eq!(info.common_name.as_deref(), Some("system:node:node-1"));
    assert_eq!(info.organizations, vec!["system:nodes".to_owned()]);
    assert!(CertificateAuthority::load(&pki.ca_cert, &pki.ca_key).unwrap().is_issuer_of(&cert));
    let before = std::fs::read(&path).unwrap();
    rustkube_pki::ensure_client_kubeconfig(
        &pki,
        &path,
        "https://127.0.0.1:6443",
        "system:node:node-1",
        &["system:nodes"],
    )
    .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), before, "a valid kubeconfig is kept");
    rustkube_pki::ensure_client_kubeconfig(
        &pki,
        &path,
        "https://127.0.0.1:7443",
        "system:node:node-1",
        &["system:nodes"],
    )
    .unwrap();
    assert_ne!(std::fs::read(&path).unwrap(), before, "a new server URL rewrites it");
}
