//! `KubeSchedulerConfiguration` (`kubescheduler.config.k8s.io/v1`) as read
//! from `--config`: profiles with their plugin sets and plugin arguments,
//! `percentageOfNodesToScore`, backoff and leader election settings.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";
pub const API_VERSION: &str = "kubescheduler.config.k8s.io/v1";

/// Errors reading `--config`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("decoding {path}: {source}")]
    Decode {
        path: String,
        #[source]
        source: serde_yaml::Error,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// A plugin reference in a plugin set.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PluginRef {
    pub name: String,
    #[serde(default)]
    pub weight: Option<i32>,
}

/// Plugins enabled and disabled at one extension point.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginSet {
    #[serde(default)]
    pub enabled: Vec<PluginRef>,
    #[serde(default)]
    pub disabled: Vec<PluginRef>,
}

/// `profiles[].plugins`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plugins {
    #[serde(default)]
    pub multi_point: PluginSet,
    #[serde(default)]
    pub queue_sort: PluginSet,
    #[serde(default)]
    pub pre_enqueue: PluginSet,
    #[serde(default)]
    pub pre_filter: PluginSet,
    #[serde(default)]
    pub filter: PluginSet,
    #[serde(default)]
    pub post_filter: PluginSet,
    #[serde(default)]
    pub pre_score: PluginSet,
    #[serde(default)]
    pub score: PluginSet,
    #[serde(default)]
    pub reserve: PluginSet,
    #[serde(default)]
    pub permit: PluginSet,
    #[serde(default)]
    pub pre_bind: PluginSet,
    #[serde(default)]
    pub bind: PluginSet,
    #[serde(default)]
    pub post_bind: PluginSet,
}

/// `profiles[].pluginConfig[]`.
#[derive(Debug, Clone, Deserialize)]
pub struct PluginConfig {
    pub name: String,
    #[serde(default)]
    pub args: serde_json::Value,
}

/// One scheduling profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    #[serde(default)]
    pub scheduler_name: Option<String>,
    #[serde(default)]
    pub percentage_of_nodes_to_score: Option<i32>,
    #[serde(default)]
    pub plugins: Option<Plugins>,
    #[serde(default)]
    pub plugin_config: Vec<PluginConfig>,
}

/// `leaderElection` of the file; flags given on the command line win.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaderElection {
    pub leader_elect: Option<bool>,
    pub lease_duration: Option<String>,
    pub renew_deadline: Option<String>,
    pub retry_period: Option<String>,
    pub resource_name: Option<String>,
    pub resource_namespace: Option<String>,
}

/// `clientConnection`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientConnection {
    pub kubeconfig: Option<String>,
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KubeSchedulerConfiguration {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub client_connection: ClientConnection,
    #[serde(default)]
    pub leader_election: LeaderElection,
    #[serde(default)]
    pub percentage_of_nodes_to_score: Option<i32>,
    #[serde(default)]
    pub pod_initial_backoff_seconds: Option<i64>,
    #[serde(default)]
    pub pod_max_backoff_seconds: Option<i64>,
    #[serde(default)]
    pub profiles: Vec<Profile>,
}

impl Default for KubeSchedulerConfiguration {
    fn default() -> Self {
        KubeSchedulerConfiguration {
            api_version: API_VERSION.into(),
            kind: "KubeSchedulerConfiguration".into(),
            client_connection: ClientConnection::default(),
            leader_election: LeaderElection::default(),
            percentage_of_nodes_to_score: None,
            pod_initial_backoff_seconds: None,
            pod_max_backoff_seconds: None,
            profiles: Vec::new(),
        }
    }
}

impl KubeSchedulerConfiguration {
    pub fn load(path: &Path) -> Result<Self, Error> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: shown.clone(), source })?;
        Self::parse(&text).map_err(|e| match e {
            Error::Decode { source, .. } => Error::Decode { path: shown, source },
            other => other,
        })
    }

    /// Decodes, defaults and validates.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let mut cfg: KubeSchedulerConfiguration =
            serde_yaml::from_str(text).map_err(|source| Error::Decode { path: String::new(), source })?;
        if cfg.api_version != API_VERSION {
            return Err(Error::Invalid(format!("apiVersion {:?} is not {API_VERSION}", cfg.api_version)));
        }
        if cfg.kind != "KubeSchedulerConfiguration" {
            return Err(Error::Invalid(format!("kind {:?} is not KubeSchedulerConfiguration", cfg.kind)));
        }
        cfg.default_and_validate()?;
        Ok(cfg)
    }

    /// Fills defaults (one `default-scheduler` profile) and validates.
    pub fn default_and_validate(&mut self) -> Result<(), Error> {
        if self.profiles.is_empty() {
            self.profiles.push(Profile {
                scheduler_name: None,
                percentage_of_nodes_to_score: None,
                plugins: None,
                plugin_config: Vec::new(),
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, p) in self.profiles.iter_mut().enumerate() {
            let name = p.scheduler_name.get_or_insert_with(|| DEFAULT_SCHEDULER_NAME.into()).clone();
            if name.is_empty() {
                return Err(Error::Invalid(format!("profiles[{i}].schedulerName: Required value")));
            }
            if !seen.insert(name.clone()) {
                return Err(Error::Invalid(format!("profiles[{i}].schedulerName: Duplicate value: {name:?}")));
            }
            if let Some(pct) = p.percentage_of_nodes_to_score
                && !(0..=100).contains(&pct)
            {
                return Err(Error::Invalid(format!(
                    "profiles[{i}].percentageOfNodesToScore: Invalid value: {pct}: not in valid range [0-100]"
                )));
            }
        }
        if let Some(pct) = self.percentage_of_nodes_to_score
            && !(0..=100).contains(&pct)
        {
            return Err(Error::Invalid(format!(
                "percentageOfNodesToScore: Invalid value: {pct}: not in valid range [0-100]"
            )));
        }
        let initial = self.pod_initial_backoff_seconds.unwrap_or(1);
        let max = self.pod_max_backoff_seconds.unwrap_or(10);
        if initial <= 0 || max < initial {
            return Err(Error::Invalid(format!(
                "podInitialBackoffSeconds ({initial}) must be positive and not above podMaxBackoffSeconds ({max})"
            )));
        }
        Ok(())
    }

    /// Plugin arguments by plugin name for profile `i`.
    pub fn plugin_args(profile: &Profile) -> BTreeMap<String, serde_json::Value> {
        profile.plugin_config.iter().map(|c| (c.name.clone(), c.args.clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_profiles_plugins_and_args() {
        let cfg = KubeSchedulerConfiguration::parse(
            r#"
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 30
profiles:
- schedulerName: default-scheduler
- schedulerName: packer
  plugins:
    score:
      disabled:
      - name: NodeResourcesBalancedAllocation
      enabled:
      - name: NodeResourcesFit
        weight: 5
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
"#,
        )
        .unwrap();
        assert_eq!(cfg.profiles.len(), 2);
        assert_eq!(cfg.percentage_of_nodes_to_score, Some(30));
        let packer = &cfg.profiles[1];
        let plugins = packer.plugins.as_ref().unwrap();
        assert_eq!(plugins.score.enabled[0], PluginRef { name: "NodeResourcesFit".into(), weight: Some(5) });
        let args = KubeSchedulerConfiguration::plugin_args(packer);
        assert_eq!(args["NodeResourcesFit"]["scoringStrategy"]["type"], "MostAllocated");
    }

    #[test]
    fn rejects_wrong_version_duplicates_and_bad_percentages() {
        assert!(KubeSchedulerConfiguration::parse("apiVersion: v1\nkind: KubeSchedulerConfiguration\n").is_err());
        let dup = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: a\n- schedulerName: a\n";
        assert!(matches!(KubeSchedulerConfiguration::parse(dup), Err(Error::Invalid(m)) if m.contains("Duplicate")));
        let pct = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\npercentageOfNodesToScore: 101\n";
        assert!(KubeSchedulerConfiguration::parse(pct).is_err());
    }

    #[test]
    fn an_empty_file_gets_the_default_profile() {
        let cfg = KubeSchedulerConfiguration::parse(
            "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n",
        )
        .unwrap();
        assert_eq!(cfg.profiles[0].scheduler_name.as_deref(), Some(DEFAULT_SCHEDULER_NAME));
    }
}
