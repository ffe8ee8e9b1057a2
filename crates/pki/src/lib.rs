//! Public-key infrastructure for rustkube: a cluster CA, the certificates it issues, the
//! service-account signing key and kubeconfigs, as kubeadm lays them out.
//!
//! kube-apiserver calls [`ensure_apiserver_pki`] for `--data-dir`; bootstrap tooling uses
//! [`CertificateAuthority`], [`write_pem_files`] and [`kubeconfig`] directly.
#![forbid(unsafe_code)]

mod apiserver;
mod authority;
mod certificate;
mod der;
mod error;
mod files;
mod key;
pub mod kubeconfig;
mod pem;
mod service_account;

pub use apiserver::{
    ADMIN_USER, APISERVER_COMMON_NAME, ApiserverPki, ApiserverPkiRequest, CLUSTER_NAME, DEFAULT_SERVICE_IP,
    KUBELET_CLIENT_COMMON_NAME, MASTERS_GROUP, RENEW_BEFORE, ensure_apiserver_pki, ensure_client_kubeconfig,
    ensure_service_account_key,
};
pub use authority::{CA_VALIDITY_DAYS, CertRequest, CertificateAuthority, DEFAULT_VALIDITY_DAYS, IssuedCert, Usage};
pub use certificate::CertificateInfo;
pub use error::{Error, Result};
pub use files::{PRIVATE_MODE, PUBLIC_MODE, write_pem_files};
pub use service_account::{ServiceAccountKey, ServiceAccountPublicKey, SigningAlgorithm};
