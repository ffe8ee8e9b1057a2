//! Command-line flags, named as upstream kube-apiserver's.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;

/// kube-apiserver flags. Only what upstream lacks is new (`--data-dir`).
#[derive(Debug, Clone, Parser)]
#[command(name = "kube-apiserver", version, about = "The Kubernetes API server (rustkube)")]
pub struct Options {
    /// Directory for the embedded store and the generated PKI when no TLS files are given.
    #[arg(long, default_value = "/var/lib/rustkube/apiserver")]
    pub data_dir: PathBuf,

    /// etcd endpoints (comma separated); without them the embedded SQLite store is used.
    #[arg(long, value_delimiter = ',')]
    pub etcd_servers: Vec<String>,

    /// Address to listen on for HTTPS.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind_address: IpAddr,

    /// HTTPS port; 0 picks a free port (logged as `listening on`).
    #[arg(long, default_value_t = 6443)]
    pub secure_port: u16,

    /// Address advertised to members of the cluster (added to the serving certificate).
    #[arg(long)]
    pub advertise_address: Option<IpAddr>,

    /// Serving certificate (PEM); with --tls-private-key-file.
    #[arg(long)]
    pub tls_cert_file: Option<PathBuf>,

    /// Serving key (PEM).
    #[arg(long)]
    pub tls_private_key_file: Option<PathBuf>,

    /// CA bundle that signs client certificates.
    #[arg(long)]
    pub client_ca_file: Option<PathBuf>,

    /// Identifier of the service-account token issuer (the `iss` claim); repeatable: the
    /// first is put in new tokens, every one is accepted.
    #[arg(long, default_value = "https://kubernetes.default.svc.cluster.local", value_delimiter = ',')]
    pub service_account_issuer: Vec<String>,

    /// Audiences of this API; tokens must name at least one (default: the issuers).
    #[arg(long, value_delimiter = ',')]
    pub api_audiences: Vec<String>,

    /// PEM files of keys that verify service-account tokens (public keys, certificates or
    /// private keys); repeatable (default: the signing key's public key).
    #[arg(long)]
    pub service_account_key_file: Vec<PathBuf>,

    /// Private key that signs service-account tokens (default: DATA_DIR/pki/sa.key, generated).
    #[arg(long)]
    pub service_account_signing_key_file: Option<PathBuf>,

    /// Issue pod-bound tokens requested for 3607 s (the admission default) valid for a year,
    /// with `warnafter` at the requested expiry, as upstream.
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub service_account_extend_token_expiration: bool,

    /// Service IP range; the first address is the `kubernetes` Service.
    #[arg(long, default_value = "10.96.0.0/12")]
    pub service_cluster_ip_range: String,

    /// NodePort range.
    #[arg(long, default_value = "30000-32767")]
    pub service_node_port_range: String,

    /// Authorization modes (accepted for compatibility; RBAC arrives with the security work).
    #[arg(long, value_delimiter = ',', default_value = "Node,RBAC")]
    pub authorization_mode: Vec<String>,

    /// Admission plugins to enable in addition to the defaults (NamespaceLifecycle,
    /// ServiceAccount, Priority); other upstream plugin names are accepted and have no effect.
    #[arg(long, value_delimiter = ',')]
    pub enable_admission_plugins: Vec<String>,

    /// Admission plugins to turn off, though they are on by default.
    #[arg(long, value_delimiter = ',')]
    pub disable_admission_plugins: Vec<String>,

    /// How often to compact storage history (upstream default 5m).
    #[arg(long, default_value = "5m", value_parser = rustkube_component_base::duration::parse)]
    pub etcd_compaction_interval: std::time::Duration,

    /// Client certificate the apiserver presents to kubelets (default: the generated one under DATA_DIR/pki).
    #[arg(long)]
    pub kubelet_client_certificate: Option<PathBuf>,

    /// Key of --kubelet-client-certificate.
    #[arg(long)]
    pub kubelet_client_key: Option<PathBuf>,

    /// CA that signs kubelet serving certificates; without it they are not verified, as upstream.
    #[arg(long)]
    pub kubelet_certificate_authority: Option<PathBuf>,

    /// Which node address to reach a kubelet at, in order (kubeadm's order by default).
    #[arg(long, value_delimiter = ',', default_value = "InternalIP,ExternalIP,Hostname")]
    pub kubelet_preferred_address_types: Vec<String>,

    /// Log format: text or json.
    #[arg(long, default_value = "text")]
    pub log_format: String,

    /// Log verbosity (0-10, as klog's -v).
    #[arg(short = 'v', long = "v", default_value_t = 0)]
    pub verbosity: u8,
}
