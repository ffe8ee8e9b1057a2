//! The table of every controller kube-controller-manager can run (name →
//! constructor), as upstream's `ControllerDescriptor`s, and the
//! `--controllers` selection rules.

use crate::controller::{ControllerContext, ControllerRun};

/// Errors selecting or building controllers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0:?} is not in the list of known controllers")]
    UnknownController(String),
    #[error("starting controller {name}: {message}")]
    InitFailed { name: &'static str, message: String },
}

/// Builds a controller: registers its informers and handlers, returns its run loop.
pub type Constructor = fn(&ControllerContext) -> Result<ControllerRun, String>;

/// One controller kube-controller-manager knows.
#[derive(Debug, Clone, Copy)]
pub struct ControllerDescriptor {
    /// The canonical name (`replicaset-controller`).
    pub name: &'static str,
    /// Older names `--controllers` also accepts (`replicaset`).
    pub aliases: &'static [&'static str],
    pub disabled_by_default: bool,
    pub constructor: Constructor,
}

/// Every controller, in start order.
pub fn descriptors() -> Vec<ControllerDescriptor> {
    vec![
        ControllerDescriptor {
            name: "replicaset-controller",
            aliases: &["replicaset"],
            disabled_by_default: false,
            constructor: crate::replicaset::new_replicaset_controller,
        },
        ControllerDescriptor {
            name: "replicationcontroller-controller",
            aliases: &["replicationcontroller"],
            disabled_by_default: false,
            constructor: crate::replicaset::new_replication_controller,
        },
        ControllerDescriptor {
            name: "deployment-controller",
            aliases: &["deployment"],
            disabled_by_default: false,
            constructor: crate::deployment::new_controller,
        },
        ControllerDescriptor {
            name: "statefulset-controller",
            aliases: &["statefulset"],
            disabled_by_default: false,
            constructor: crate::statefulset::new_controller,
        },
        ControllerDescriptor {
            name: "daemonset-controller",
            aliases: &["daemonset"],
            disabled_by_default: false,
            constructor: crate::daemonset::new_controller,
        },
        ControllerDescriptor {
            name: "job-controller",
            aliases: &["job"],
            disabled_by_default: false,
            constructor: crate::job::new_controller,
        },
        ControllerDescriptor {
            name: "cronjob-controller",
            aliases: &["cronjob"],
            disabled_by_default: false,
            constructor: crate::cronjob::new_controller,
        },
        ControllerDescriptor {
            name: "ttl-after-finished-controller",
            aliases: &["ttl-after-finished"],
            disabled_by_default: false,
            constructor: crate::ttl_after_finished::new_controller,
        },
        ControllerDescriptor {
            name: "namespace-controller",
            aliases: &["namespace"],
            disabled_by_default: false,
            constructor: crate::namespace::new_controller,
        },
        ControllerDescriptor {
            name: "serviceaccount-controller",
            aliases: &["serviceaccount"],
            disabled_by_default: false,
            constructor: crate::serviceaccount::new_controller,
        },
        ControllerDescriptor {
            name: "root-ca-certificate-publisher-controller",
            aliases: &["root-ca-cert-publisher"],
            disabled_by_default: false,
            constructor: crate::root_ca_publisher::new_controller,
        },
        // Last, so it reuses the typed informers the others created.
        ControllerDescriptor {
            name: "garbage-collector-controller",
            aliases: &["garbagecollector"],
            disabled_by_default: false,
            constructor: crate::garbagecollector::new_controller,
        },
    ]
}

/// Whether `descriptor` is enabled by the `--controllers` list, as upstream's
/// `IsControllerEnabled`: an explicit `name` or `-name` wins, else `*` enables
/// everything not disabled by default.
pub fn is_enabled(descriptor: &ControllerDescriptor, controllers: &[String]) -> bool {
    let names: Vec<&str> = std::iter::once(descriptor.name).chain(descriptor.aliases.iter().copied()).collect();
    let mut star = false;
    for entry in controllers {
        let entry = entry.trim();
        if names.contains(&entry) {
            return true;
        }
        if entry.strip_prefix('-').is_some_and(|n| names.contains(&n)) {
            return false;
        }
        if entry == "*" {
            star = true;
        }
    }
    star && !descriptor.disabled_by_default
}

/// Checks every `--controllers` entry names a known controller.
pub fn validate(controllers: &[String]) -> Result<(), Error> {
    let all = descriptors();
    for entry in controllers {
        let name = entry.trim().trim_start_matches('-');
        if name == "*" || name.is_empty() {
            continue;
        }
        if !all.iter().any(|d| d.name == name || d.aliases.contains(&name)) {
            return Err(Error::UnknownController(name.to_owned()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(name: &'static str) -> ControllerDescriptor {
        descriptors().into_iter().find(|d| d.name == name).unwrap()
    }

    fn list(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn star_enables_all_but_explicit_disables_win() {
        let rs = d("replicaset-controller");
        assert!(is_enabled(&rs, &list(&["*"])));
        assert!(!is_enabled(&rs, &list(&["*", "-replicaset"])));
        assert!(!is_enabled(&rs, &list(&["*", "-replicaset-controller"])));
        assert!(!is_enabled(&rs, &list(&["deployment"])), "without * only named controllers run");
        assert!(is_enabled(&rs, &list(&["replicaset"])));
    }

    #[test]
    fn unknown_names_are_rejected() {
        assert!(validate(&list(&["*", "-garbagecollector", "deployment-controller"])).is_ok());
        let err = validate(&list(&["bogus"])).unwrap_err();
        assert_eq!(err.to_string(), "\"bogus\" is not in the list of known controllers");
    }
}
