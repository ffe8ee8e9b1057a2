//! Test support: the shared harness (real kube-apiserver, etcd and kubectl).

#![allow(unused_imports, dead_code)]

pub use rustkube_harness::apiserver::{Apiserver, BACKENDS, Backend, start_etcd};
pub use rustkube_harness::etcd;
pub use rustkube_harness::kubectl::{KUBECTL_DIR, kubectl_binary};

/// Runs kubectl `version` with `kubeconfig`; its stdout, failing the test when it fails.
pub fn run_kubectl(version: &str, kubeconfig: &std::path::Path, args: &[&str]) -> String {
    let out = rustkube_harness::kubectl::run(version, kubeconfig, args, None);
    rustkube_harness::kubectl::stdout_of(args, &out, "")
}

/// Runs kubectl `version` with `kubeconfig`, whatever its outcome.
pub fn kubectl_output(version: &str, kubeconfig: &std::path::Path, args: &[&str]) -> std::process::Output {
    rustkube_harness::kubectl::run(version, kubeconfig, args, None)
}

/// An admin kube-rs client that does not retry, so tests see every status code as sent.
pub async fn admin(s: &Apiserver) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(s.kubeconfig()).unwrap();
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
    config.default_retry = false;
    kube::Client::try_from(config).unwrap()
}
