//! `kube-scheduler` flags with upstream's names, and the [`Config`] they give.

use std::path::PathBuf;

use clap::Parser;
use rustkube_component_base::options::{LeaderElectionOptions, LoggingOptions, ServingOptions};

use crate::config::KubeSchedulerConfiguration;

/// The scheduler's default secure port.
pub const DEFAULT_SECURE_PORT: u16 = 10259;

/// Command-line flags.
#[derive(Debug, Clone, Parser)]
#[command(name = "kube-scheduler", about = "The Kubernetes scheduler: assigns pods to nodes")]
pub struct Options {
    /// Path to a kubeconfig with the API server's location and credentials.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,

    /// Path to a KubeSchedulerConfiguration file (kubescheduler.config.k8s.io/v1).
    #[arg(long)]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub leader_election: LeaderElectionOptions,

    #[command(flatten)]
    pub serving: ServingOptions,

    #[command(flatten)]
    pub logging: LoggingOptions,
}

/// Everything `run` needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub kubeconfig: Option<PathBuf>,
    pub component: KubeSchedulerConfiguration,
    /// `None` when `--leader-elect=false`.
    pub leader_election: Option<rustkube_component_base::leader_election::Config>,
    pub serving: ServingOptions,
    pub secure_port: u16,
}

impl Options {
    /// Reads `--config` and merges it with the flags: the file's
    /// `clientConnection.kubeconfig` and `leaderElection` apply where the
    /// flags were left at their defaults.
    pub fn into_config(self) -> anyhow::Result<Config> {
        let component = match &self.config {
            Some(path) => KubeSchedulerConfiguration::load(path)?,
            None => {
                let mut c = KubeSchedulerConfiguration::default();
                c.default_and_validate()?;
                c
            }
        };
        let kubeconfig = self
            .kubeconfig
            .clone()
            .or_else(|| component.client_connection.kubeconfig.clone().filter(|k| !k.is_empty()).map(PathBuf::from));
        let mut le = self.leader_election.clone();
        let file = &component.leader_election;
        if let Some(v) = file.leader_elect
            && le.leader_elect
        {
            le.leader_elect = v;
        }
        let parse = |s: &Option<String>| s.as_deref().map(rustkube_component_base::duration::parse).transpose();
        let defaults = LeaderElectionOptions::parse_defaults();
        if le.leader_elect_lease_duration == defaults.leader_elect_lease_duration
            && let Some(d) = parse(&file.lease_duration).map_err(anyhow::Error::msg)?
        {
            le.leader_elect_lease_duration = d;
        }
        if le.leader_elect_renew_deadline == defaults.leader_elect_renew_deadline
            && let Some(d) = parse(&file.renew_deadline).map_err(anyhow::Error::msg)?
        {
            le.leader_elect_renew_deadline = d;
        }
        if le.leader_elect_retry_period == defaults.leader_elect_retry_period
            && let Some(d) = parse(&file.retry_period).map_err(anyhow::Error::msg)?
        {
            le.leader_elect_retry_period = d;
        }
        if le.leader_elect_resource_name.is_none() {
            le.leader_elect_resource_name = file.resource_name.clone();
        }
        if le.leader_elect_resource_namespace == "kube-system"
            && let Some(ns) = &file.resource_namespace
        {
            le.leader_elect_resource_namespace = ns.clone();
        }
        // Unknown plugins and bad plugin args are flag errors, reported before connecting.
        crate::build_profiles(&component, &crate::framework::registry::Handle::default())?;
        Ok(Config {
            kubeconfig,
            leader_election: le.leader_elect.then(|| le.config("kube-scheduler")),
            secure_port: self.serving.secure_port.unwrap_or(DEFAULT_SECURE_PORT),
            serving: self.serving,
            component,
        })
    }
}

trait Defaults {
    fn parse_defaults() -> Self;
}

impl Defaults for LeaderElectionOptions {
    fn parse_defaults() -> Self {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            le: LeaderElectionOptions,
        }
        Only::parse_from(["x"]).le
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_have_upstream_names_and_defaults() {
        let o =
            Options::try_parse_from(["kube-scheduler", "--kubeconfig=/k", "--leader-elect=false", "--secure-port=0"])
                .unwrap();
        let c = o.into_config().unwrap();
        assert_eq!(c.kubeconfig, Some(PathBuf::from("/k")));
        assert!(c.leader_election.is_none());
        assert_eq!(c.secure_port, 0);
        assert_eq!(c.component.profiles.len(), 1);
        let d = Options::try_parse_from(["kube-scheduler"]).unwrap().into_config().unwrap();
        assert_eq!(d.secure_port, DEFAULT_SECURE_PORT);
        assert_eq!(d.leader_election.unwrap().name, "kube-scheduler");
    }

    #[test]
    fn config_file_supplies_kubeconfig_and_lease_settings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        std::fs::write(
            &path,
            "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nclientConnection:\n  kubeconfig: /from/file\nleaderElection:\n  leaseDuration: 30s\n  resourceName: my-sched\n",
        )
        .unwrap();
        let o = Options::try_parse_from(["kube-scheduler", &format!("--config={}", path.display())]).unwrap();
        let c = o.into_config().unwrap();
        assert_eq!(c.kubeconfig, Some(PathBuf::from("/from/file")));
        let le = c.leader_election.unwrap();
        assert_eq!(le.lease_duration, std::time::Duration::from_secs(30));
        assert_eq!(le.name, "my-sched");
    }

    #[test]
    fn bad_flags_and_bad_files_are_errors() {
        assert!(Options::try_parse_from(["kube-scheduler", "--leader-elect-lease-duration=soon"]).is_err());
        let o = Options::try_parse_from(["kube-scheduler", "--config=/does/not/exist"]).unwrap();
        assert!(o.into_config().is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        std::fs::write(
            &path,
            "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- plugins:\n    filter:\n      enabled: [{name: Nope}]\n",
        )
        .unwrap();
        let o = Options::try_parse_from(["kube-scheduler", &format!("--config={}", path.display())]).unwrap();
        let err = o.into_config().unwrap_err().to_string();
        assert!(err.contains("plugin \"Nope\" does not exist"), "{err}");
    }
}
