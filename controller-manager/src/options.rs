//! Command-line flags of kube-controller-manager, with upstream's names and defaults.

use std::path::PathBuf;

use rustkube_component_base::options::{LeaderElectionOptions, LoggingOptions, ServingOptions};

/// The port upstream's kube-controller-manager serves health and metrics on.
pub const DEFAULT_SECURE_PORT: u16 = 10257;

/// kube-controller-manager's flags.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "kube-controller-manager",
    about = "The Kubernetes controller manager: workload controllers, garbage collection and namespaces"
)]
pub struct Options {
    /// Path to a kubeconfig file with authorization and master location information.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,

    /// A list of controllers to enable. '*' enables all on-by-default controllers,
    /// 'foo' enables the controller named 'foo', '-foo' disables the controller named 'foo'.
    #[arg(long, value_delimiter = ',', default_value = "*")]
    pub controllers: Vec<String>,

    /// The number of replica set objects that are allowed to sync concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_replicaset_syncs: usize,

    /// The number of replication controllers that are allowed to sync concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_rc_syncs: usize,

    /// The number of deployment objects that are allowed to sync concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_deployment_syncs: usize,

    /// The number of garbage collector workers that are allowed to sync concurrently.
    #[arg(long, default_value_t = 20)]
    pub concurrent_gc_syncs: usize,

    /// The number of namespace objects that are allowed to sync concurrently.
    #[arg(long, default_value_t = 10)]
    pub concurrent_namespace_syncs: usize,

    /// The number of job objects that are allowed to sync concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_job_syncs: usize,

    /// If set, this root certificate authority will be included in service account's token secret.
    /// This must be a valid PEM-encoded CA bundle.
    #[arg(long)]
    pub root_ca_file: Option<PathBuf>,

    /// Whether the garbage collector is enabled.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub enable_garbage_collector: bool,

    /// QPS to use while talking with kubernetes apiserver (accepted for compatibility).
    #[arg(long, default_value_t = 20.0)]
    pub kube_api_qps: f32,

    /// Burst to use while talking with kubernetes apiserver (accepted for compatibility).
    #[arg(long, default_value_t = 30)]
    pub kube_api_burst: u32,

    #[command(flatten)]
    pub serving: ServingOptions,

    #[command(flatten)]
    pub leader_election: LeaderElectionOptions,

    #[command(flatten)]
    pub logging: LoggingOptions,
}

impl Options {
    /// The port to serve on: `--secure-port` or 10257.
    pub fn secure_port(&self) -> u16 {
        self.serving.secure_port.unwrap_or(DEFAULT_SECURE_PORT)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn defaults_match_upstream() {
        let o = Options::try_parse_from(["kube-controller-manager"]).unwrap();
        assert_eq!(o.controllers, vec!["*"]);
        assert_eq!(o.concurrent_replicaset_syncs, 5);
        assert_eq!(o.concurrent_gc_syncs, 20);
        assert_eq!(o.secure_port(), 10257);
        assert!(o.leader_election.leader_elect);
    }

    #[test]
    fn controllers_list_is_comma_separated() {
        let o = Options::try_parse_from(["kube-controller-manager", "--controllers=*,-garbagecollector,deployment"])
            .unwrap();
        assert_eq!(o.controllers, vec!["*", "-garbagecollector", "deployment"]);
    }
}
