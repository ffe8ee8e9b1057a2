//! The scheduling queue (upstream `internal/queue`): an active heap ordered
//! by priority then age, a backoff queue (initial backoff doubling per
//! attempt up to the maximum), and an unschedulable set that cluster events
//! move back (or a 5-minute flush), so an unschedulable pod never spins.

use std::cmp::Ordering;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::plugins;
use crate::pod_info::PodInfo;

/// How long a pod may stay unschedulable before it is retried anyway.
pub const POD_MAX_IN_UNSCHEDULABLE: Duration = Duration::from_secs(5 * 60);
/// Pseudo-plugin for pods rejected for their own spec: only an update of the pod helps.
pub const POD_SPEC: &str = "PodSpec";

/// A change in the cluster that may make unschedulable pods fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterEvent {
    NodeAdd,
    NodeUpdate,
    AssignedPodAdd,
    AssignedPodDelete,
    VolumeChange,
    NamespaceChange,
    PdbChange,
}

/// Whether a pod rejected by `plugin` may fit after `event` (upstream `EventsToRegister`, coarsely).
pub fn interested(plugin: &str, event: ClusterEvent) -> bool {
    use ClusterEvent::*;
    match event {
        NodeAdd | NodeUpdate => plugin != POD_SPEC,
        AssignedPodDelete => !matches!(
            plugin,
            plugins::node_affinity::NAME
                | plugins::node_name::NAME
                | plugins::taint_toleration::NAME
                | plugins::node_unschedulable::NAME
                | plugins::volume_binding::NAME
                | POD_SPEC
        ),
        AssignedPodAdd => matches!(plugin, plugins::inter_pod_affinity::NAME | plugins::pod_topology_spread::NAME),
        VolumeChange => matches!(plugin, plugins::volume_binding::NAME | plugins::volume_restrictions::NAME),
        NamespaceChange => plugin == plugins::inter_pod_affinity::NAME,
        PdbChange => plugin == plugins::default_preemption::NAME,
    }
}

/// A pod in the queue with its attempt history.
#[derive(Debug, Clone)]
pub struct QueuedPod {
    pub info: Arc<PodInfo>,
    pub attempts: u32,
    /// When the pod was first seen (for the end-to-end latency metric).
    pub first_seen: Instant,
    /// When the last attempt started.
    pub last_attempt: Option<Instant>,
    /// The scheduling cycle of the last pop.
    pub cycle: u64,
    /// Plugins that rejected it last time.
    pub plugins: HashSet<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Active,
    Backoff,
    Unschedulable,
    Gated,
    InFlight,
}

#[derive(Debug)]
struct Entry {
    pod: QueuedPod,
    place: Place,
    seq: u64,
    since: Instant,
}

#[derive(Debug, PartialEq, Eq)]
struct ActiveItem {
    priority: i32,
    created: Option<jiff::Timestamp>,
    seq: u64,
    key: String,
}

impl Ord for ActiveItem {
    fn cmp(&self, o: &Self) -> Ordering {
        // Max-heap: higher priority first, then older, then first queued.
        self.priority.cmp(&o.priority).then_with(|| o.created.cmp(&self.created)).then_with(|| o.seq.cmp(&self.seq))
    }
}
impl PartialOrd for ActiveItem {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    active: BinaryHeap<ActiveItem>,
    backoff: BTreeSet<(Instant, u64, String)>,
    /// Keys parked as unschedulable (so an event costs O(parked), not O(queued)).
    unschedulable: HashSet<String>,
    seq: u64,
    scheduling_cycle: u64,
    /// Cluster events since the last pop (only one pod is in its scheduling cycle at a time).
    events_since_pop: Vec<ClusterEvent>,
    closed: bool,
}

/// Queue depths for `scheduler_pending_pods`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Depths {
    pub active: usize,
    pub backoff: usize,
    pub unschedulable: usize,
    pub gated: usize,
}

/// The queue, shared by the watch handlers and the scheduling loop.
#[derive(Debug)]
pub struct SchedulingQueue {
    inner: Mutex<Inner>,
    notify: Notify,
    /// Wakes the flusher when a pod enters backoff (its deadline may be the earliest).
    backoff_added: Notify,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// How long a pod stays parked before it is retried anyway ([`POD_MAX_IN_UNSCHEDULABLE`]).
    pub max_in_unschedulable: Duration,
}

fn gated(info: &PodInfo) -> bool {
    info.pod.spec.as_ref().and_then(|s| s.scheduling_gates.as_ref()).is_some_and(|g| !g.is_empty())
}

impl SchedulingQueue {
    pub fn new(initial_backoff: Duration, max_backoff: Duration) -> Self {
        SchedulingQueue {
            inner: Mutex::default(),
            notify: Notify::new(),
            backoff_added: Notify::new(),
            initial_backoff,
            max_backoff,
            max_in_unschedulable: POD_MAX_IN_UNSCHEDULABLE,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The backoff after `attempts` failed attempts: initial × 2^(attempts-1), capped.
    pub fn backoff_duration(&self, attempts: u32) -> Duration {
        let mut d = self.initial_backoff;
        for _ in 1..attempts {
            d = d.saturating_mul(2);
            if d >= self.max_backoff {
                return self.max_backoff;
            }
        }
        d.min(self.max_backoff)
    }

    fn backoff_expiry(&self, p: &QueuedPod) -> Option<Instant> {
        p.last_attempt.map(|t| t + self.backoff_duration(p.attempts))
    }

    fn place(&self, inner: &mut Inner, key: &str, place: Place, now: Instant) {
        inner.seq += 1;
        let seq = inner.seq;
        let Some(e) = inner.entries.get_mut(key) else { return };
        let was_parked = e.place == Place::Unschedulable;
        e.place = place;
        e.seq = seq;
        e.since = now;
        match place {
            Place::Active => {
                inner.active.push(ActiveItem {
                    priority: e.pod.info.priority,
                    created: e.pod.info.creation_time(),
                    seq,
                    key: key.to_owned(),
                });
                self.notify.notify_one();
            }
            Place::Backoff => {
                let at = self.backoff_expiry(&e.pod).unwrap_or(now);
                inner.backoff.insert((at, seq, key.to_owned()));
                self.backoff_added.notify_one();
            }
            Place::Unschedulable => {
                inner.unschedulable.insert(key.to_owned());
            }
            _ => {}
        }
        if was_parked && place != Place::Unschedulable {
            inner.unschedulable.remove(key);
        }
    }

    fn remove(inner: &mut Inner, key: &str) {
        inner.entries.remove(key);
        inner.unschedulable.remove(key);
    }

    /// Active if the backoff has passed, else backoff.
    fn place_after_wait(&self, inner: &mut Inner, key: &str, now: Instant) {
        let backing_off = inner.entries.get(key).and_then(|e| self.backoff_expiry(&e.pod)).is_some_and(|at| at > now);
        self.place(inner, key, if backing_off { Place::Backoff } else { Place::Active }, now);
    }

    /// Adds or updates a pending pod seen on the watch.
    pub fn add_or_update(&self, info: Arc<PodInfo>) {
        let now = Instant::now();
        let mut inner = self.lock();
        let key = info.key.clone();
        let existing = inner.entries.get_mut(&key).map(|e| {
            let spec_changed = e.pod.info.pod.spec != info.pod.spec || e.pod.info.labels != info.labels;
            e.pod.info = Arc::clone(&info);
            (e.place, spec_changed)
        });
        match existing {
            Some((place, spec_changed)) => match place {
                Place::Gated if !gated(&info) => self.place_after_wait(&mut inner, &key, now),
                Place::Unschedulable if spec_changed => self.place_after_wait(&mut inner, &key, now),
                _ => {}
            },
            None => {
                let place = if gated(&info) { Place::Gated } else { Place::Active };
                let pod = QueuedPod {
                    info,
                    attempts: 0,
                    first_seen: now,
                    last_attempt: None,
                    cycle: 0,
                    plugins: HashSet::new(),
                };
                inner.entries.insert(key.clone(), Entry { pod, place, seq: 0, since: now });
                self.place(&mut inner, &key, place, now);
            }
        }
    }

    /// Forgets a pod (deleted, or bound by someone else).
    pub fn delete(&self, key: &str) {
        Self::remove(&mut self.lock(), key);
    }

    /// Drops every pod whose key `keep` rejects (after a relist), except those in flight.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        let mut inner = self.lock();
        inner.entries.retain(|k, e| e.place == Place::InFlight || keep(k));
        let Inner { entries, unschedulable, .. } = &mut *inner;
        unschedulable.retain(|k| entries.contains_key(k));
    }

    /// Whether the queue holds the pod (in any sub-queue or in flight).
    pub fn contains(&self, key: &str) -> bool {
        self.lock().entries.contains_key(key)
    }

    /// Waits for the next pod to schedule; `None` once closed.
    pub async fn pop(&self) -> Option<QueuedPod> {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut inner = self.lock();
                if inner.closed {
                    return None;
                }
                while let Some(item) = inner.active.pop() {
                    let valid =
                        inner.entries.get(&item.key).is_some_and(|e| e.place == Place::Active && e.seq == item.seq);
                    if !valid {
                        continue;
                    }
                    inner.scheduling_cycle += 1;
                    inner.events_since_pop.clear();
                    let cycle = inner.scheduling_cycle;
                    let now = Instant::now();
                    let Some(e) = inner.entries.get_mut(&item.key) else { continue };
                    e.place = Place::InFlight;
                    e.since = now;
                    e.pod.attempts += 1;
                    e.pod.last_attempt = Some(now);
                    e.pod.cycle = cycle;
                    return Some(e.pod.clone());
                }
            }
            notified.await;
        }
    }

    /// The attempt succeeded (the pod is assumed): it leaves the queue.
    pub fn done(&self, key: &str) {
        let mut inner = self.lock();
        if inner.entries.get(key).is_some_and(|e| e.place == Place::InFlight) {
            Self::remove(&mut inner, key);
        }
    }

    /// The attempt found no node: park the pod until an event may help — or
    /// back it off if such an event already happened during the attempt.
    pub fn requeue_unschedulable(&self, qp: &QueuedPod, plugins: HashSet<&'static str>) {
        let now = Instant::now();
        let mut inner = self.lock();
        let missed = qp.cycle == inner.scheduling_cycle
            && inner.events_since_pop.iter().any(|ev| plugins.is_empty() || plugins.iter().any(|p| interested(p, *ev)));
        let Some(e) = inner.entries.get_mut(&qp.info.key) else { return };
        if e.place != Place::InFlight {
            return;
        }
        e.pod.plugins = plugins;
        let place = if missed { Place::Backoff } else { Place::Unschedulable };
        self.place(&mut inner, &qp.info.key, place, now);
    }

    /// The attempt failed for a transient reason (error, bind failure): back off.
    pub fn requeue_backoff(&self, qp: &QueuedPod) {
        let now = Instant::now();
        let mut inner = self.lock();
        let key = qp.info.key.clone();
        match inner.entries.get_mut(&key) {
            Some(e) => {
                e.pod.attempts = e.pod.attempts.max(qp.attempts);
                e.pod.last_attempt = qp.last_attempt;
            }
            None => {
                inner
                    .entries
                    .insert(key.clone(), Entry { pod: qp.clone(), place: Place::InFlight, seq: 0, since: now });
            }
        }
        self.place(&mut inner, &key, Place::Backoff, now);
    }

    /// Moves unschedulable pods an event may help to active (or backoff).
    pub fn move_on_event(&self, event: ClusterEvent) {
        let now = Instant::now();
        let mut inner = self.lock();
        if !inner.events_since_pop.contains(&event) {
            inner.events_since_pop.push(event);
        }
        let keys: Vec<String> = inner
            .unschedulable
            .iter()
            .filter(|k| {
                inner.entries.get(*k).is_some_and(|e| {
                    e.place == Place::Unschedulable
                        && (e.pod.plugins.is_empty() || e.pod.plugins.iter().any(|p| interested(p, event)))
                })
            })
            .cloned()
            .collect();
        for k in keys {
            self.place_after_wait(&mut inner, &k, now);
        }
    }

    /// Moves backed-off pods whose time has come, and pods unschedulable for too long.
    pub fn flush(&self) {
        let now = Instant::now();
        let mut inner = self.lock();
        while let Some(first) = inner.backoff.first().cloned() {
            if first.0 > now {
                break;
            }
            inner.backoff.pop_first();
            let valid = inner.entries.get(&first.2).is_some_and(|e| e.place == Place::Backoff && e.seq == first.1);
            if valid {
                self.place(&mut inner, &first.2, Place::Active, now);
            }
        }
        let stale: Vec<String> = inner
            .unschedulable
            .iter()
            .filter(|k| {
                inner.entries.get(*k).is_some_and(|e| {
                    e.place == Place::Unschedulable && now.duration_since(e.since) >= self.max_in_unschedulable
                })
            })
            .cloned()
            .collect();
        for k in stale {
            self.place_after_wait(&mut inner, &k, now);
        }
    }

    /// When the earliest backed-off pod is due.
    pub fn next_backoff_due(&self) -> Option<Instant> {
        self.lock().backoff.first().map(|b| b.0)
    }

    /// Stops `pop`.
    pub fn close(&self) {
        self.lock().closed = true;
        self.notify.notify_waiters();
        self.notify.notify_one();
        self.backoff_added.notify_one();
    }

    pub fn depths(&self) -> Depths {
        let inner = self.lock();
        let mut d = Depths::default();
        for e in inner.entries.values() {
            match e.place {
                Place::Active => d.active += 1,
                Place::Backoff => d.backoff += 1,
                Place::Unschedulable => d.unschedulable += 1,
                Place::Gated => d.gated += 1,
                Place::InFlight => {}
            }
        }
        d
    }

    /// Runs `flush` when backoffs fall due and every 30 s for the unschedulable set, until closed.
    pub async fn run_flusher(self: Arc<Self>) {
        let mut last_unsched = Instant::now();
        loop {
            if self.lock().closed {
                return;
            }
            let due = self.next_backoff_due();
            let next_unsched = last_unsched + Duration::from_secs(30).min(self.max_in_unschedulable);
            let wake =
                due.map_or(next_unsched, |d| d.min(next_unsched)).max(Instant::now() + Duration::from_millis(10));
            tokio::select! {
                _ = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {}
                _ = self.backoff_added.notified() => continue,
            }
            self.flush();
            if Instant::now() >= next_unsched {
                last_unsched = Instant::now();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::pod;

    fn info(b: crate::testing::PodBuilder) -> Arc<PodInfo> {
        Arc::new(PodInfo::new(Arc::new(b.build())))
    }

    fn q() -> SchedulingQueue {
        SchedulingQueue::new(Duration::from_millis(100), Duration::from_millis(1000))
    }

    #[tokio::test]
    async fn pops_by_priority_then_age() {
        let q = q();
        q.add_or_update(info(pod("low").priority(1)));
        q.add_or_update(info(pod("high").priority(10)));
        q.add_or_update(info(pod("low2").priority(1)));
        let order: Vec<String> =
            [q.pop().await, q.pop().await, q.pop().await].into_iter().map(|p| p.unwrap().info.name.clone()).collect();
        assert_eq!(order, vec!["high", "low", "low2"]);
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let q = SchedulingQueue::new(Duration::from_secs(1), Duration::from_secs(10));
        let d: Vec<u64> = (1..=6).map(|a| q.backoff_duration(a).as_secs()).collect();
        assert_eq!(d, vec![1, 2, 4, 8, 10, 10]);
    }

    #[tokio::test]
    async fn unschedulable_pods_wait_for_a_relevant_event() {
        let q = q();
        q.add_or_update(info(pod("a")));
        let p = q.pop().await.unwrap();
        q.requeue_unschedulable(&p, [plugins::node_resources_fit::NAME].into());
        assert_eq!(q.depths().unschedulable, 1);
        q.move_on_event(ClusterEvent::AssignedPodAdd);
        assert_eq!(q.depths().unschedulable, 1, "a pod add does not free resources");
        q.move_on_event(ClusterEvent::AssignedPodDelete);
        assert_eq!(q.depths().unschedulable, 0);
        assert_eq!(q.depths().backoff + q.depths().active, 1);
    }

    #[tokio::test]
    async fn an_event_during_the_attempt_sends_the_pod_to_backoff_not_unschedulable() {
        let q = q();
        q.add_or_update(info(pod("a")));
        let p = q.pop().await.unwrap();
        q.move_on_event(ClusterEvent::NodeAdd);
        q.requeue_unschedulable(&p, [plugins::node_resources_fit::NAME].into());
        assert_eq!(q.depths(), Depths { backoff: 1, ..Default::default() });
        tokio::time::sleep(Duration::from_millis(120)).await;
        q.flush();
        assert_eq!(q.depths(), Depths { active: 1, ..Default::default() });
    }

    #[tokio::test]
    async fn gated_pods_wait_for_their_gates_to_go() {
        let q = q();
        let mut p = pod("g").build();
        p.spec.as_mut().unwrap().scheduling_gates =
            Some(vec![k8s_openapi::api::core::v1::PodSchedulingGate { name: "x".into() }]);
        q.add_or_update(Arc::new(PodInfo::new(Arc::new(p.clone()))));
        assert_eq!(q.depths().gated, 1);
        p.spec.as_mut().unwrap().scheduling_gates = None;
        q.add_or_update(Arc::new(PodInfo::new(Arc::new(p))));
        assert_eq!(q.pop().await.unwrap().info.name, "g");
    }

    #[tokio::test]
    async fn deleted_pods_are_not_requeued() {
        let q = q();
        q.add_or_update(info(pod("a")));
        let p = q.pop().await.unwrap();
        q.delete("default/a");
        q.requeue_unschedulable(&p, HashSet::new());
        assert_eq!(q.depths(), Depths::default());
        assert!(!q.contains("default/a"));
    }
}

#[cfg(test)]
mod flusher_tests {
    use super::*;
    use crate::testing::pod;

    #[tokio::test]
    async fn the_flusher_wakes_for_a_newly_backed_off_pod() {
        let q = Arc::new(SchedulingQueue::new(Duration::from_millis(50), Duration::from_millis(500)));
        let flusher = tokio::spawn(Arc::clone(&q).run_flusher());
        tokio::time::sleep(Duration::from_millis(20)).await; // the flusher is asleep with nothing due
        q.add_or_update(Arc::new(PodInfo::new(Arc::new(pod("a").build()))));
        let p = q.pop().await.unwrap();
        q.requeue_backoff(&p);
        let popped = tokio::time::timeout(Duration::from_secs(2), q.pop()).await;
        assert!(popped.is_ok_and(|p| p.is_some()), "a 50 ms backoff must end well within 2 s");
        q.close();
        let _ = flusher.await;
    }
}

#[cfg(test)]
mod flush_tests {
    use super::*;
    use crate::testing::pod;

    #[tokio::test]
    async fn parked_pods_are_retried_after_the_maximum_stay() {
        let mut q = SchedulingQueue::new(Duration::from_millis(10), Duration::from_millis(20));
        q.max_in_unschedulable = Duration::from_millis(50);
        q.add_or_update(Arc::new(PodInfo::new(Arc::new(pod("a").build()))));
        let p = q.pop().await.unwrap();
        q.requeue_unschedulable(&p, [crate::plugins::node_affinity::NAME].into());
        q.flush();
        assert_eq!(q.depths().unschedulable, 1, "not yet");
        tokio::time::sleep(Duration::from_millis(60)).await;
        q.flush();
        assert_eq!(q.depths().unschedulable, 0, "flushed after the maximum stay");
        assert_eq!(q.depths().active + q.depths().backoff, 1);
    }
}
