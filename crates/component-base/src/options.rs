//! Flag groups every daemon shares, with upstream's names; each daemon
//! flattens them into its own `Options`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::ArgAction;

/// `--log-format`, `-v`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoggingOptions {
    /// Log format: text or json.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,

    /// Log verbosity (0-10, as klog's -v).
    #[arg(short = 'v', long = "v", default_value_t = 0)]
    pub verbosity: u8,
}

impl LoggingOptions {
    /// Starts logging as these flags say.
    pub fn init(&self) {
        crate::telemetry::init(&self.log_format, self.verbosity);
    }
}

/// `--bind-address`, `--secure-port` and the serving certificate. Without a
/// certificate a self-signed one is generated, as upstream does.
#[derive(Debug, Clone, clap::Args)]
pub struct ServingOptions {
    /// The address to serve health and metrics on.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind_address: IpAddr,

    /// The HTTPS port (0 picks a free one, logged at start).
    #[arg(long)]
    pub secure_port: Option<u16>,

    /// Serving certificate (PEM); a self-signed one is made when absent.
    #[arg(long)]
    pub tls_cert_file: Option<PathBuf>,

    /// Key of `--tls-cert-file`.
    #[arg(long)]
    pub tls_private_key_file: Option<PathBuf>,
}

impl ServingOptions {
    /// The rustls configuration these flags give.
    pub fn tls_config(&self) -> anyhow::Result<rustls::ServerConfig> {
        match (&self.tls_cert_file, &self.tls_private_key_file) {
            (Some(cert), Some(key)) => crate::serving::tls_config(cert, key, None),
            (None, None) => {
                let mut hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
                if !self.bind_address.is_unspecified() {
                    hosts.push(self.bind_address.to_string());
                }
                crate::serving::self_signed_tls_config(&hosts)
            }
            _ => anyhow::bail!("--tls-cert-file and --tls-private-key-file must be given together"),
        }
    }
}

/// Leader election flags, as upstream's `componentbaseconfig.LeaderElectionConfiguration`.
#[derive(Debug, Clone, clap::Args)]
pub struct LeaderElectionOptions {
    /// Acquire a Lease before doing any work, so only one replica is active.
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub leader_elect: bool,

    /// How long a standby waits after the last renewal before taking over.
    #[arg(long, default_value = "15s", value_parser = crate::duration::parse)]
    pub leader_elect_lease_duration: Duration,

    /// How long the leader keeps retrying a renewal before it gives up leading.
    #[arg(long, default_value = "10s", value_parser = crate::duration::parse)]
    pub leader_elect_renew_deadline: Duration,

    /// How often to try to acquire or renew.
    #[arg(long, default_value = "2s", value_parser = crate::duration::parse)]
    pub leader_elect_retry_period: Duration,

    /// The lock type; only `leases` is supported, as upstream since 1.24.
    #[arg(long, default_value = "leases", value_parser = ["leases"])]
    pub leader_elect_resource_lock: String,

    /// The Lease's name (default: the daemon's name).
    #[arg(long)]
    pub leader_elect_resource_name: Option<String>,

    /// The Lease's namespace.
    #[arg(long, default_value = "kube-system")]
    pub leader_elect_resource_namespace: String,
}

impl LeaderElectionOptions {
    /// The election configuration, naming the Lease after `component` unless a name was given.
    pub fn config(&self, component: &str) -> crate::leader_election::Config {
        crate::leader_election::Config {
            namespace: self.leader_elect_resource_namespace.clone(),
            name: self.leader_elect_resource_name.clone().unwrap_or_else(|| component.to_owned()),
            identity: crate::leader_election::default_identity(),
            lease_duration: self.leader_elect_lease_duration,
            renew_deadline: self.leader_elect_renew_deadline,
            retry_period: self.leader_elect_retry_period,
        }
    }
}
