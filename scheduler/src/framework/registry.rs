//! The registry of every in-tree plugin (name → constructor) and the
//! default plugin set, turning a configured profile into a [`Framework`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::{Framework, Plugin};
use crate::config::{PluginSet, Profile};
use crate::plugins;

/// What a plugin may need from the scheduler when it is built.
#[derive(Clone, Default)]
pub struct Handle {
    /// The API client (binding); `None` in pure in-process use.
    pub client: Option<kube::Client>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle").field("client", &self.client.is_some()).finish()
    }
}

/// Errors building a profile.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("profile {profile:?}: plugin {name:?} does not exist")]
    UnknownPlugin { profile: String, name: String },
    #[error("profile {profile:?}: plugin {name:?} does not extend {point} plugin")]
    WrongExtensionPoint { profile: String, name: String, point: &'static str },
    #[error("profile {profile:?}: plugin {name:?}: invalid args: {reason}")]
    InvalidArgs { profile: String, name: String, reason: String },
}

type Factory = fn(Option<&serde_json::Value>, &Handle) -> Result<Arc<dyn Plugin>, String>;

/// Every in-tree plugin by name.
pub fn registry() -> BTreeMap<&'static str, Factory> {
    let mut r: BTreeMap<&'static str, Factory> = BTreeMap::new();
    r.insert(plugins::node_unschedulable::NAME, |_, _| Ok(Arc::new(plugins::node_unschedulable::NodeUnschedulable)));
    r.insert(plugins::node_name::NAME, |_, _| Ok(Arc::new(plugins::node_name::NodeName)));
    r.insert(plugins::taint_toleration::NAME, |_, _| Ok(Arc::new(plugins::taint_toleration::TaintToleration)));
    r.insert(plugins::node_affinity::NAME, |_, _| Ok(Arc::new(plugins::node_affinity::NodeAffinity)));
    r.insert(plugins::node_ports::NAME, |_, _| Ok(Arc::new(plugins::node_ports::NodePorts)));
    r.insert(plugins::node_resources_fit::NAME, |args, _| {
        Ok(Arc::new(plugins::node_resources_fit::NodeResourcesFit::from_args(args)?))
    });
    r.insert(plugins::balanced_allocation::NAME, |args, _| {
        Ok(Arc::new(plugins::balanced_allocation::BalancedAllocation::from_args(args)?))
    });
    r.insert(plugins::image_locality::NAME, |_, _| Ok(Arc::new(plugins::image_locality::ImageLocality)));
    r.insert(plugins::pod_topology_spread::NAME, |_, _| Ok(Arc::new(plugins::pod_topology_spread::PodTopologySpread)));
    r.insert(plugins::inter_pod_affinity::NAME, |args, _| {
        Ok(Arc::new(plugins::inter_pod_affinity::InterPodAffinity::from_args(args)?))
    });
    r.insert(plugins::volume_binding::NAME, |_, _| Ok(Arc::new(plugins::volume_binding::VolumeBinding)));
    r.insert(plugins::volume_restrictions::NAME, |_, _| Ok(Arc::new(plugins::volume_restrictions::VolumeRestrictions)));
    r.insert(plugins::default_preemption::NAME, |args, _| {
        Ok(Arc::new(plugins::default_preemption::DefaultPreemption::from_args(args)?))
    });
    r.insert(plugins::default_binder::NAME, |_, h| {
        Ok(Arc::new(plugins::default_binder::DefaultBinder::new(h.client.clone())))
    });
    // Served by the queue itself (priority sort, scheduling gates).
    r.insert(plugins::queue_sort::PRIORITY_SORT, |_, _| {
        Ok(Arc::new(plugins::queue_sort::QueuePlugin(plugins::queue_sort::PRIORITY_SORT)))
    });
    r.insert(plugins::queue_sort::SCHEDULING_GATES, |_, _| {
        Ok(Arc::new(plugins::queue_sort::QueuePlugin(plugins::queue_sort::SCHEDULING_GATES)))
    });
    r
}

/// Upstream's default `multiPoint` set, in order, with score weights.
pub const DEFAULT_PLUGINS: &[(&str, i64)] = &[
    (plugins::queue_sort::SCHEDULING_GATES, 0),
    (plugins::queue_sort::PRIORITY_SORT, 0),
    (plugins::node_unschedulable::NAME, 0),
    (plugins::node_name::NAME, 0),
    (plugins::taint_toleration::NAME, 3),
    (plugins::node_affinity::NAME, 2),
    (plugins::node_ports::NAME, 0),
    (plugins::node_resources_fit::NAME, 1),
    (plugins::volume_restrictions::NAME, 0),
    (plugins::volume_binding::NAME, 0),
    (plugins::pod_topology_spread::NAME, 2),
    (plugins::inter_pod_affinity::NAME, 2),
    (plugins::default_preemption::NAME, 0),
    (plugins::balanced_allocation::NAME, 1),
    (plugins::image_locality::NAME, 1),
    (plugins::default_binder::NAME, 0),
];

fn apply_set(list: &mut Vec<(String, i64)>, set: &PluginSet) {
    if set.disabled.iter().any(|d| d.name == "*") {
        list.clear();
    } else {
        list.retain(|(n, _)| !set.disabled.iter().any(|d| &d.name == n));
    }
    for e in &set.enabled {
        let w = e.weight.map(i64::from);
        match list.iter_mut().find(|(n, _)| n == &e.name) {
            Some(entry) => {
                if let Some(w) = w {
                    entry.1 = w;
                }
            }
            None => list.push((e.name.clone(), w.unwrap_or(1))),
        }
    }
}

/// Builds a profile's framework.
pub fn build(profile: &Profile, global_percentage: Option<i32>, handle: &Handle) -> Result<Framework, Error> {
    let name = profile.scheduler_name.clone().unwrap_or_else(|| crate::config::DEFAULT_SCHEDULER_NAME.into());
    let plugins = profile.plugins.clone().unwrap_or_default();
    let mut multi: Vec<(String, i64)> = DEFAULT_PLUGINS.iter().map(|(n, w)| ((*n).to_owned(), (*w).max(1))).collect();
    apply_set(&mut multi, &plugins.multi_point);
    let args: HashMap<String, serde_json::Value> =
        profile.plugin_config.iter().map(|c| (c.name.clone(), c.args.clone())).collect();
    let reg = registry();
    let mut instances: HashMap<String, Arc<dyn Plugin>> = HashMap::new();
    let mut instance = |plugin: &str| -> Result<Arc<dyn Plugin>, Error> {
        if let Some(p) = instances.get(plugin) {
            return Ok(Arc::clone(p));
        }
        let factory =
            reg.get(plugin).ok_or_else(|| Error::UnknownPlugin { profile: name.clone(), name: plugin.to_owned() })?;
        let p = factory(args.get(plugin), handle).map_err(|reason| Error::InvalidArgs {
            profile: name.clone(),
            name: plugin.to_owned(),
            reason,
        })?;
        instances.insert(plugin.to_owned(), Arc::clone(&p));
        Ok(p)
    };
    let mut fwk = Framework {
        profile_name: name.clone(),
        percentage_of_nodes_to_score: profile.percentage_of_nodes_to_score.or(global_percentage),
        ..Default::default()
    };
    // Each extension point: the multiPoint plugins that implement it, then the point's own set.
    macro_rules! point {
        ($set:expr, $as:ident, $field:ident, $label:literal) => {{
            let mut list: Vec<(String, i64)> = Vec::new();
            for (n, w) in &multi {
                if instance(n.as_str())?.$as().is_some() {
                    list.push((n.clone(), *w));
                }
            }
            apply_set(&mut list, &$set);
            let mut out = Vec::new();
            for (n, w) in list {
                let p = instance(n.as_str())?.$as().ok_or_else(|| Error::WrongExtensionPoint {
                    profile: name.clone(),
                    name: n.clone(),
                    point: $label,
                })?;
                out.push((p, w));
            }
            out
        }};
    }
    fwk.pre_filter =
        point!(plugins.pre_filter, as_pre_filter, pre_filter, "PreFilter").into_iter().map(|p| p.0).collect();
    fwk.filter = point!(plugins.filter, as_filter, filter, "Filter").into_iter().map(|p| p.0).collect();
    fwk.post_filter =
        point!(plugins.post_filter, as_post_filter, post_filter, "PostFilter").into_iter().map(|p| p.0).collect();
    fwk.pre_score = point!(plugins.pre_score, as_pre_score, pre_score, "PreScore").into_iter().map(|p| p.0).collect();
    fwk.score = point!(plugins.score, as_score, score, "Score");
    fwk.reserve = point!(plugins.reserve, as_reserve, reserve, "Reserve").into_iter().map(|p| p.0).collect();
    fwk.bind = point!(plugins.bind, as_bind, bind, "Bind").into_iter().map(|p| p.0).collect();
    Ok(fwk)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KubeSchedulerConfiguration;

    fn names<T: ?Sized + Plugin>(v: &[Arc<T>]) -> Vec<&'static str> {
        v.iter().map(|p| p.name()).collect()
    }

    #[test]
    fn default_profile_has_upstream_plugins_and_weights() {
        let cfg = KubeSchedulerConfiguration::parse(
            "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n",
        )
        .unwrap();
        let fwk = build(&cfg.profiles[0], None, &Handle::default()).unwrap();
        assert_eq!(
            names(&fwk.filter),
            vec![
                "NodeUnschedulable",
                "NodeName",
                "TaintToleration",
                "NodeAffinity",
                "NodePorts",
                "NodeResourcesFit",
                "VolumeBinding",
                "PodTopologySpread",
                "InterPodAffinity"
            ]
        );
        let weights: Vec<(&str, i64)> = fwk.score.iter().map(|(p, w)| (p.name(), *w)).collect();
        assert_eq!(
            weights,
            vec![
                ("TaintToleration", 3),
                ("NodeAffinity", 2),
                ("NodeResourcesFit", 1),
                ("PodTopologySpread", 2),
                ("InterPodAffinity", 2),
                ("NodeResourcesBalancedAllocation", 1),
                ("ImageLocality", 1)
            ]
        );
        assert_eq!(names(&fwk.post_filter), vec!["DefaultPreemption"]);
        assert_eq!(names(&fwk.bind), vec!["DefaultBinder"]);
    }

    #[test]
    fn disabled_and_reweighted_plugins_follow_the_profile() {
        let cfg = KubeSchedulerConfiguration::parse(
            "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- plugins:\n    score:\n      disabled: [{name: '*'}]\n      enabled: [{name: ImageLocality, weight: 7}]\n    filter:\n      disabled: [{name: TaintToleration}]\n",
        )
        .unwrap();
        let fwk = build(&cfg.profiles[0], None, &Handle::default()).unwrap();
        assert!(!names(&fwk.filter).contains(&"TaintToleration"));
        assert_eq!(fwk.score.iter().map(|(p, w)| (p.name(), *w)).collect::<Vec<_>>(), vec![("ImageLocality", 7)]);
    }

    #[test]
    fn unknown_plugins_and_bad_args_are_errors() {
        let cfg = KubeSchedulerConfiguration::parse(
            "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- plugins:\n    filter:\n      enabled: [{name: Nope}]\n",
        )
        .unwrap();
        assert!(matches!(build(&cfg.profiles[0], None, &Handle::default()), Err(Error::UnknownPlugin { .. })));
        let cfg = KubeSchedulerConfiguration::parse(
            "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n    args: {scoringStrategy: {type: Fastest}}\n",
        )
        .unwrap();
        assert!(matches!(build(&cfg.profiles[0], None, &Handle::default()), Err(Error::InvalidArgs { .. })));
    }
}
