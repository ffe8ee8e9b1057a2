//! QoS cgroup parents, as upstream's `--cgroups-per-qos` with the cgroupfs
//! driver: a pod's sandbox and containers go under
//! `<cgroup-root>/kubepods/pod<uid>` (Guaranteed),
//! `<cgroup-root>/kubepods/burstable/pod<uid>` or
//! `<cgroup-root>/kubepods/besteffort/pod<uid>`; runc creates the directories,
//! the kubelet removes the pod's once the pod is gone.

use std::path::{Path, PathBuf};

/// Where cgroup hierarchies are mounted.
const CGROUP_MOUNT: &str = "/sys/fs/cgroup";

/// The cgroup parent of pod `uid` of QoS class `qos` under `root` (`/` by default).
pub fn pod_parent(root: &str, qos: &str, uid: &str) -> String {
    let root = root.trim_end_matches('/');
    match qos {
        "Guaranteed" => format!("{root}/kubepods/pod{uid}"),
        "Burstable" => format!("{root}/kubepods/burstable/pod{uid}"),
        _ => format!("{root}/kubepods/besteffort/pod{uid}"),
    }
}

/// The hierarchies to look in: the unified one (cgroup v2), or each v1 controller's.
fn hierarchies() -> Vec<PathBuf> {
    let mount = Path::new(CGROUP_MOUNT);
    if mount.join("cgroup.controllers").exists() {
        return vec![mount.to_path_buf()];
    }
    std::fs::read_dir(mount).map(|d| d.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect()).unwrap_or_default()
}

/// Removes the cgroups of pod `uid` in every hierarchy, retrying for a few
/// seconds while the runtime is still letting go of them (a just-stopped
/// task's cgroup can be busy for a moment).
pub async fn remove_pod_eventually(root: &str, uid: &str) {
    for _ in 0..20 {
        if remove_pod(root, uid) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    tracing::info!(uid, "pod cgroups still busy; left in place");
}

/// Removes the (empty) cgroups of pod `uid` in every hierarchy, deepest
/// first; true when none is left.
pub fn remove_pod(root: &str, uid: &str) -> bool {
    let mut all_gone = true;
    for qos in ["Guaranteed", "Burstable", "BestEffort"] {
        let rel = pod_parent(root, qos, uid);
        for h in hierarchies() {
            let dir = h.join(rel.trim_start_matches('/'));
            if !dir.is_dir() {
                continue;
            }
            // Leftover empty children (a container's cgroup runc did not remove) first.
            if let Ok(children) = std::fs::read_dir(&dir) {
                for c in children.flatten().filter(|c| c.path().is_dir()) {
                    let _ = std::fs::remove_dir(c.path());
                }
            }
            if let Err(e) = std::fs::remove_dir(&dir) {
                tracing::debug!(dir = %dir.display(), error = %e, "pod cgroup not removed");
                all_gone = false;
            }
        }
    }
    all_gone
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_follow_the_qos_class_as_upstreams_cgroupfs_names() {
        assert_eq!(pod_parent("/", "Guaranteed", "u1"), "/kubepods/podu1");
        assert_eq!(pod_parent("/", "Burstable", "u1"), "/kubepods/burstable/podu1");
        assert_eq!(pod_parent("/", "BestEffort", "u1"), "/kubepods/besteffort/podu1");
        assert_eq!(pod_parent("/custom/", "BestEffort", "u1"), "/custom/kubepods/besteffort/podu1");
    }
}
