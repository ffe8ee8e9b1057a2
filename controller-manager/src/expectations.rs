//! Controller expectations, as upstream's `UIDTrackingControllerExpectations`:
//! after a controller fans out creates or deletes for a key, it waits until
//! the informer has shown all of them (or five minutes pass) before it acts
//! on that key's counts again, so a slow watch never double-creates.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long unmet expectations are trusted before a controller syncs anyway.
pub const EXPECTATIONS_TIMEOUT: Duration = Duration::from_secs(5 * 60);

#[derive(Debug)]
struct Expectation {
    adds: i64,
    deletes: HashSet<String>,
    at: Instant,
}

/// Outstanding creates and deletes per controller key.
#[derive(Debug, Default)]
pub struct Expectations {
    map: Mutex<HashMap<String, Expectation>>,
}

impl Expectations {
    pub fn new() -> Self {
        Self::default()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Expectation>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `key` may be synced: nothing outstanding, nothing recorded, or expired.
    pub fn satisfied(&self, key: &str) -> bool {
        match self.map().get(key) {
            None => true,
            Some(e) => (e.adds <= 0 && e.deletes.is_empty()) || e.at.elapsed() > EXPECTATIONS_TIMEOUT,
        }
    }

    /// Expects `count` pod creations for `key` (replacing what was recorded).
    pub fn expect_creations(&self, key: &str, count: usize) {
        self.map().insert(
            key.to_owned(),
            Expectation { adds: i64::try_from(count).unwrap_or(i64::MAX), deletes: HashSet::new(), at: Instant::now() },
        );
    }

    /// Expects the deletion of the pods named by `pod_keys`.
    pub fn expect_deletions(&self, key: &str, pod_keys: impl IntoIterator<Item = String>) {
        self.map().insert(
            key.to_owned(),
            Expectation { adds: 0, deletes: pod_keys.into_iter().collect(), at: Instant::now() },
        );
    }

    /// One expected creation was seen (or will never happen).
    pub fn creation_observed(&self, key: &str) {
        if let Some(e) = self.map().get_mut(key) {
            e.adds -= 1;
        }
    }

    /// The deletion of `pod_key` was seen (or will never happen).
    pub fn deletion_observed(&self, key: &str, pod_key: &str) {
        if let Some(e) = self.map().get_mut(key) {
            e.deletes.remove(pod_key);
        }
    }

    /// Forgets `key` (its owner is gone).
    pub fn delete(&self, key: &str) {
        self.map().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creations_must_all_be_observed() {
        let e = Expectations::new();
        assert!(e.satisfied("ns/rs"), "nothing recorded is satisfied");
        e.expect_creations("ns/rs", 2);
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        assert!(e.satisfied("ns/rs"));
    }

    #[test]
    fn deletions_are_tracked_by_pod_key_so_duplicates_do_not_count_twice() {
        let e = Expectations::new();
        e.expect_deletions("ns/rs", ["ns/a".to_owned(), "ns/b".to_owned()]);
        e.deletion_observed("ns/rs", "ns/a");
        e.deletion_observed("ns/rs", "ns/a");
        assert!(!e.satisfied("ns/rs"), "b is still outstanding");
        e.deletion_observed("ns/rs", "ns/b");
        assert!(e.satisfied("ns/rs"));
    }
}
