//! Which pods the runtime may hold anything of, so that a pod new to this
//! kubelet is started without first listing every sandbox and container on
//! the node (two runtime round trips on the way to its sandbox, and work for
//! the runtime that grows with the node's pods).
//!
//! The set is what the runtime held when the kubelet started plus every pod
//! a worker has made a sandbox for since: the kubelet is the only client that
//! makes pod sandboxes on its runtime, so a pod outside the set has none, and
//! no containers. Until the start-up listing is in, every pod is listed.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::runtime::Runtime;

#[derive(Debug, Default)]
pub struct RuntimePods(Mutex<Known>);

#[derive(Debug, Default)]
struct Known {
    /// Whether the start-up listing is in.
    seeded: bool,
    uids: HashSet<String>,
}

impl RuntimePods {
    fn lock(&self) -> std::sync::MutexGuard<'_, Known> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lists the runtime's sandboxes and containers once; on failure the set
    /// stays unseeded (every pod is listed, as if there were no set).
    pub async fn seed(&self, runtime: &dyn Runtime) {
        let (sandboxes, containers) = tokio::join!(runtime.list_pod_sandboxes(), runtime.list_containers());
        match (sandboxes, containers) {
            (Ok(sandboxes), Ok(containers)) => {
                let held = sandboxes
                    .into_iter()
                    .map(|s| s.uid)
                    .chain(containers.iter().filter_map(|c| c.pod_uid().map(str::to_owned)));
                self.seed_with(held);
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "could not list the runtime's pods; every new pod is listed first");
            }
        }
    }

    /// Records that the runtime held (at most) the pods `held` when the kubelet started.
    pub fn seed_with(&self, held: impl IntoIterator<Item = String>) {
        let mut known = self.lock();
        known.uids.extend(held);
        known.seeded = true;
    }

    /// Records, before its sandbox is asked for, that pod `uid` may have one.
    pub fn add(&self, uid: &str) {
        self.lock().uids.insert(uid.to_owned());
    }

    /// Records that every sandbox of pod `uid` has been removed.
    pub fn forget(&self, uid: &str) {
        self.lock().uids.remove(uid);
    }

    /// Whether the runtime surely holds no sandbox or container of pod `uid`.
    pub fn surely_empty(&self, uid: &str) -> bool {
        let known = self.lock();
        known.seeded && !known.uids.contains(uid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pods_outside_a_seeded_set_are_surely_empty() {
        let pods = RuntimePods::default();
        pods.add("made-early");
        assert!(!pods.surely_empty("new"), "before the start-up listing nothing is sure");
        pods.seed_with(["held".to_owned()]);
        assert!(pods.surely_empty("new"));
        assert!(!pods.surely_empty("held"));
        assert!(!pods.surely_empty("made-early"), "a sandbox asked for during the listing counts");
        pods.add("new");
        assert!(!pods.surely_empty("new"));
        pods.forget("new");
        assert!(pods.surely_empty("new"));
    }
}
