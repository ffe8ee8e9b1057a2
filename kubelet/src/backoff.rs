//! Per-key exponential backoff for container restarts (CrashLoopBackOff) and
//! image pulls (ImagePullBackOff): 10 s doubling to 5 min, forgotten after
//! twice the maximum without a failure, as upstream's `flowcontrol.Backoff`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Initial backoff.
pub const INITIAL: Duration = Duration::from_secs(10);
/// Maximum backoff.
pub const MAX: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy)]
struct Entry {
    backoff: Duration,
    last_update: Instant,
}

/// Backoff entries by key.
#[derive(Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    entries: HashMap<String, Entry>,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(INITIAL, MAX)
    }
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff { initial, max, entries: HashMap::new() }
    }

    fn expired(&self, e: &Entry, now: Instant) -> bool {
        now.saturating_duration_since(e.last_update) > self.max * 2
    }

    /// Records a failure at `now`: starts at the initial backoff, else doubles up to the maximum.
    pub fn next(&mut self, key: &str, now: Instant) {
        let (initial, max) = (self.initial, self.max);
        let fresh = self.entries.get(key).is_none_or(|e| self.expired(e, now));
        let entry = self.entries.entry(key.to_owned()).or_insert(Entry { backoff: initial, last_update: now });
        if fresh {
            entry.backoff = initial;
        } else {
            entry.backoff = (entry.backoff * 2).min(max);
        }
        entry.last_update = now;
    }

    /// The current backoff of `key`.
    pub fn get(&self, key: &str) -> Duration {
        self.entries.get(key).map(|e| e.backoff).unwrap_or_default()
    }

    /// How much longer `key` is backing off, counted from `since` (e.g. when
    /// the container finished); `None` when it is not.
    pub fn remaining_since(&self, key: &str, since: Instant, now: Instant) -> Option<Duration> {
        let e = self.entries.get(key)?;
        if self.expired(e, now) {
            return None;
        }
        let elapsed = now.saturating_duration_since(since);
        (elapsed < e.backoff).then(|| e.backoff - elapsed)
    }

    /// How much longer `key` is backing off counted from its last failure.
    pub fn remaining_since_update(&self, key: &str, now: Instant) -> Option<Duration> {
        let e = self.entries.get(key)?;
        self.remaining_since(key, e.last_update, now)
    }

    /// Drops entries unused for twice the maximum.
    pub fn gc(&mut self, now: Instant) {
        let max2 = self.max * 2;
        self.entries.retain(|_, e| now.saturating_duration_since(e.last_update) <= max2);
    }

    /// Forgets `key` (its pod is gone).
    pub fn reset(&mut self, key: &str) {
        self.entries.remove(key);
    }
}

/// Upstream's rendering of a backoff in messages: `10s`, `20s`, `1m20s`, `5m0s`.
pub fn go_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 { format!("{}m{}s", secs / 60, secs % 60) } else { format!("{secs}s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_maximum_and_expires() {
        let mut b = Backoff::default();
        let t0 = Instant::now();
        assert_eq!(b.remaining_since("k", t0, t0), None, "no failure yet, no backoff");
        b.next("k", t0);
        assert_eq!(b.get("k"), Duration::from_secs(10));
        assert_eq!(b.remaining_since("k", t0, t0 + Duration::from_secs(4)), Some(Duration::from_secs(6)));
        assert_eq!(b.remaining_since("k", t0, t0 + Duration::from_secs(10)), None);
        for _ in 0..10 {
            b.next("k", t0);
        }
        assert_eq!(b.get("k"), MAX, "capped at 5 minutes");
        b.next("k", t0 + MAX * 3);
        assert_eq!(b.get("k"), INITIAL, "reset after twice the maximum without failures");
        assert_eq!(go_duration(Duration::from_secs(80)), "1m20s");
        assert_eq!(go_duration(Duration::from_secs(300)), "5m0s");
    }
}
