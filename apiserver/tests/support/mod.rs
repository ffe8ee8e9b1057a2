//! Test support: the shared harness (real kube-apiserver, etcd and kubectl).

#![allow(unused_imports)]

pub use rustkube_harness::apiserver::{Apiserver, BACKENDS, Backend, start_etcd};
pub use rustkube_harness::etcd;
pub use rustkube_harness::kubectl::{KUBECTL_DIR, kubectl_binary};
