//! Kubeconfig files: upstream's field names, round trips, and the real kubectl reading ours.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rustkube_pki::kubeconfig::{self, Kubeconfig};
use rustkube_pki::{CertRequest, CertificateAuthority, IssuedCert};

fn admin() -> (CertificateAuthority, IssuedCert, Kubeconfig) {
    let ca = CertificateAuthority::generate("kubernetes").unwrap();
    let cert = ca.issue(&CertRequest::client("kubernetes-admin", ["system:masters"])).unwrap();
    let config =
        kubeconfig::for_client_cert("kubernetes", "https://127.0.0.1:6443", ca.cert_pem(), "kubernetes-admin", &cert);
    (ca, cert, config)
}

fn get<'a>(value: &'a serde_yaml::Value, path: &[&str]) -> &'a serde_yaml::Value {
    path.iter().fold(value, |v, key| match key.parse::<usize>() {
        Ok(i) => &v[i],
        Err(_) => &v[*key],
    })
}

fn text(value: &serde_yaml::Value, path: &[&str]) -> String {
    get(value, path).as_str().unwrap_or_else(|| panic!("{} should be a string", path.join("."))).to_owned()
}

fn decoded(value: &serde_yaml::Value, path: &[&str]) -> String {
    String::from_utf8(STANDARD.decode(text(value, path)).expect("standard base64")).unwrap()
}

#[test]
fn yaml_uses_upstream_v1_config_field_names() {
    let (ca, cert, config) = admin();
    let yaml = config.to_yaml().unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&yaml).unwrap();
    assert_eq!(text(&doc, &["apiVersion"]), "v1");
    assert_eq!(text(&doc, &["kind"]), "Config");
    assert_eq!(text(&doc, &["clusters", "0", "name"]), "kubernetes");
    assert_eq!(text(&doc, &["clusters", "0", "cluster", "server"]), "https://127.0.0.1:6443");
    assert_eq!(decoded(&doc, &["clusters", "0", "cluster", "certificate-authority-data"]), ca.cert_pem());
    assert_eq!(text(&doc, &["users", "0", "name"]), "kubernetes-admin");
    assert_eq!(decoded(&doc, &["users", "0", "user", "client-certificate-data"]), cert.cert_pem);
    assert_eq!(decoded(&doc, &["users", "0", "user", "client-key-data"]), cert.key_pem);
    assert_eq!(text(&doc, &["contexts", "0", "name"]), "kubernetes-admin@kubernetes");
    assert_eq!(text(&doc, &["contexts", "0", "context", "cluster"]), "kubernetes");
    assert_eq!(text(&doc, &["contexts", "0", "context", "user"]), "kubernetes-admin");
    assert_eq!(text(&doc, &["current-context"]), "kubernetes-admin@kubernetes");
    assert_eq!(get(&doc, &["preferences"]), &serde_yaml::Value::Mapping(Default::default()), "preferences: {{}}");
    assert!(yaml.contains("preferences: {}\n"), "written as kubectl writes it:\n{yaml}");
    let user = get(&doc, &["users", "0", "user"]).as_mapping().unwrap();
    assert_eq!(user.len(), 2, "no empty optional fields are written: {user:?}");
}

#[test]
fn written_file_is_private_and_loads_back_equal() {
    let (_, _, config) = admin();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("admin.kubeconfig");
    config.write(&path).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(Kubeconfig::load(&path).unwrap(), config);
    assert_eq!(Kubeconfig::from_yaml(&config.to_yaml().unwrap()).unwrap(), config);
    let debug = format!("{config:?}");
    assert!(!debug.contains("PRIVATE KEY") && !debug.contains(&STANDARD.encode("-----BEGIN PRIVATE")));
}

#[test]
fn token_kubeconfig_carries_the_token_and_a_namespace_survives() {
    let ca = CertificateAuthority::generate("kubernetes").unwrap();
    let mut config = kubeconfig::for_token(
        "kubernetes",
        "https://10.0.0.1:6443",
        ca.cert_pem(),
        "tls-bootstrap",
        "abcdef.0123456789abcdef",
    );
    config.contexts[0].context.namespace = Some("kube-system".to_owned());
    let doc: serde_yaml::Value = serde_yaml::from_str(&config.to_yaml().unwrap()).unwrap();
    assert_eq!(text(&doc, &["users", "0", "user", "token"]), "abcdef.0123456789abcdef");
    assert_eq!(text(&doc, &["contexts", "0", "context", "namespace"]), "kube-system");
    assert_eq!(config.current().unwrap().namespace.as_deref(), Some("kube-system"));
}

/// A kubeconfig the way kubectl and cloud tooling write them, with fields this crate does not model.
const UPSTREAM_STYLE: &str = r#"
apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: aGVsbG8K
    server: https://example.test:443
    proxy-url: http://proxy.example.test:3128
    extensions:
    - name: client.authentication.k8s.io/exec
      extension: {audience: x}
  name: prod
contexts:
- context: {cluster: prod, namespace: apps, user: ops}
  name: prod
current-context: prod
preferences: {colors: true}
users:
- name: ops
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: get-token
      args: ["--cluster", "prod"]
      interactiveMode: Never
- name: basic
  user: {username: admin, password: secret, tokenFile: /var/run/token}
"#;

#[test]
fn upstream_kubeconfig_loads_and_keeps_unmodelled_fields_on_round_trip() {
    let config = Kubeconfig::from_yaml(UPSTREAM_STYLE).unwrap();
    let cluster = config.cluster("prod").unwrap();
    assert_eq!(cluster.certificate_authority_data.as_deref(), Some(&b"hello\n"[..]));
    assert_eq!(config.current().unwrap().namespace.as_deref(), Some("apps"));
    assert_eq!(config.user("basic").unwrap().token_file.as_deref(), Some("/var/run/token"));

    let rewritten: serde_yaml::Value = serde_yaml::from_str(&config.to_yaml().unwrap()).unwrap();
    let original: serde_yaml::Value = serde_yaml::from_str(UPSTREAM_STYLE).unwrap();
    assert_eq!(rewritten, original, "load then write must lose nothing");
}

#[test]
fn malformed_kubeconfigs_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad");
    std::fs::write(&path, "clusters: [{cluster: {server: x, certificate-authority-data: '!!notbase64'}, name: a}]")
        .unwrap();
    let err = Kubeconfig::load(&path).unwrap_err();
    assert!(matches!(err, kubeconfig::Error::ParseFailed { .. }), "got {err:?}");
    assert!(err.to_string().contains("bad"), "{err}");
    let err = Kubeconfig::load(&dir.path().join("missing")).unwrap_err();
    assert!(matches!(err, kubeconfig::Error::ReadFailed { .. }), "got {err:?}");
}

const KUBECTL: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";

fn kubectl(config: &Path, args: &[&str]) -> String {
    let output = Command::new(KUBECTL).arg("--kubeconfig").arg(config).args(args).output().expect("run kubectl");
    assert!(output.status.success(), "kubectl {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn real_kubectl_reads_the_generated_kubeconfig() {
    if !Path::new(KUBECTL).exists() {
        eprintln!("skipping: {KUBECTL} is not installed (it comes with the google-cloud-sdk kubectl component)");
        return;
    }
    let (ca, cert, config) = admin();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("admin.kubeconfig");
    config.write(&path).unwrap();

    assert_eq!(kubectl(&path, &["config", "view", "--raw", "-o", "jsonpath={.users[0].name}"]), "kubernetes-admin");
    assert_eq!(kubectl(&path, &["config", "current-context"]).trim(), "kubernetes-admin@kubernetes");
    assert_eq!(
        kubectl(&path, &["config", "view", "--raw", "-o", "jsonpath={.clusters[0].cluster.server}"]),
        "https://127.0.0.1:6443"
    );
    let ca_data = kubectl(
        &path,
        &["config", "view", "--raw", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}"],
    );
    assert_eq!(STANDARD.decode(ca_data).unwrap(), ca.cert_pem().as_bytes(), "kubectl decodes the same CA");
    let key_data = kubectl(&path, &["config", "view", "--raw", "-o", "jsonpath={.users[0].user.client-key-data}"]);
    assert_eq!(STANDARD.decode(key_data).unwrap(), cert.key_pem.as_bytes());
    // Without --raw kubectl redacts the secrets, which proves it knows which fields they are.
    let redacted = kubectl(&path, &["config", "view", "-o", "jsonpath={.users[0].user.client-key-data}"]);
    assert_eq!(redacted, "DATA+OMITTED");

    // kubectl's own rewrite of our file is still ours to read.
    kubectl(&path, &["config", "set-context", "--current", "--namespace=kube-system"]);
    let rewritten = Kubeconfig::load(&path).unwrap();
    assert_eq!(rewritten.current().unwrap().namespace.as_deref(), Some("kube-system"));
    assert_eq!(rewritten.users, config.users, "kubectl keeps the credentials we wrote");
}
