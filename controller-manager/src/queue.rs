//! The rate-limited work queue every controller drains, as client-go's
//! `workqueue`: keys are deduplicated while waiting, a key is never handed
//! to two workers at once (a key added while processing is re-queued when
//! the worker is done), and failed keys come back after a per-key
//! exponential backoff (5 ms doubling to 1000 s) combined with an overall
//! token bucket (10 qps, burst 100), whichever is longer.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use tokio::sync::Notify;

type Labels = Vec<(String, String)>;

fn new_histogram() -> Histogram {
    Histogram::new(exponential_buckets(1e-8, 10.0, 10))
}

/// The workqueue metrics of every controller, labelled by queue name as upstream's
/// `workqueue_*` series.
#[derive(Debug, Clone)]
pub struct QueueMetrics {
    depth: Family<Labels, Gauge>,
    adds: Family<Labels, Counter>,
    retries: Family<Labels, Counter>,
    work_duration: Family<Labels, Histogram, fn() -> Histogram>,
}

impl QueueMetrics {
    /// Creates the families and registers them on `metrics`.
    pub fn register(metrics: &rustkube_component_base::health::Metrics) -> Self {
        let this = Self {
            depth: Family::default(),
            adds: Family::default(),
            retries: Family::default(),
            work_duration: Family::new_with_constructor(new_histogram as fn() -> Histogram),
        };
        metrics.register("workqueue_depth", "Current depth of workqueue", this.depth.clone());
        metrics.register("workqueue_adds", "Total number of adds handled by workqueue", this.adds.clone());
        metrics.register("workqueue_retries", "Total number of retries handled by workqueue", this.retries.clone());
        metrics.register(
            "workqueue_work_duration_seconds",
            "How long in seconds processing an item from workqueue takes",
            this.work_duration.clone(),
        );
        this
    }

    fn labels(name: &str) -> Labels {
        vec![("name".to_owned(), name.to_owned())]
    }
}

impl Default for QueueMetrics {
    fn default() -> Self {
        Self {
            depth: Family::default(),
            adds: Family::default(),
            retries: Family::default(),
            work_duration: Family::new_with_constructor(new_histogram as fn() -> Histogram),
        }
    }
}

/// Per-key exponential backoff plus an overall token bucket, as client-go's
/// `DefaultTypedControllerRateLimiter`.
#[derive(Debug)]
pub struct RateLimiter {
    base: Duration,
    max: Duration,
    failures: HashMap<String, u32>,
    qps: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new(Duration::from_millis(5), Duration::from_secs(1000), 10.0, 100)
    }
}

impl RateLimiter {
    pub fn new(base: Duration, max: Duration, qps: f64, burst: u32) -> Self {
        Self {
            base,
            max,
            failures: HashMap::new(),
            qps,
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: Instant::now(),
        }
    }

    /// How long `key` must wait before its next retry; counts a failure.
    pub fn when(&mut self, key: &str) -> Duration {
        let failures = self.failures.entry(key.to_owned()).or_insert(0);
        let exp = *failures;
        *failures = failures.saturating_add(1);
        let backoff = if exp >= 32 { self.max } else { self.base.saturating_mul(1u32 << exp.min(31)).min(self.max) };
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.qps).min(self.burst) - 1.0;
        let bucket = if self.tokens >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-self.tokens / self.qps) };
        backoff.max(bucket)
    }

    /// How many times `key` has failed since it was last forgotten.
    pub fn retries(&self, key: &str) -> u32 {
        self.failures.get(key).copied().unwrap_or(0)
    }

    pub fn forget(&mut self, key: &str) {
        self.failures.remove(key);
    }
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<String>,
    dirty: HashSet<String>,
    processing: HashSet<String>,
    shutting_down: bool,
}

#[derive(Debug)]
struct Inner {
    name: String,
    state: Mutex<State>,
    notify: Notify,
    limiter: Mutex<RateLimiter>,
    metrics: QueueMetrics,
}

/// A named, deduplicating, rate-limited queue of `namespace/name` keys.
#[derive(Debug, Clone)]
pub struct WorkQueue {
    inner: Arc<Inner>,
}

impl WorkQueue {
    pub fn new(name: &str, metrics: QueueMetrics) -> Self {
        Self::with_limiter(name, metrics, RateLimiter::default())
    }

    pub fn with_limiter(name: &str, metrics: QueueMetrics, limiter: RateLimiter) -> Self {
        Self {
            inner: Arc::new(Inner {
                name: name.to_owned(),
                state: Mutex::default(),
                notify: Notify::new(),
                limiter: Mutex::new(limiter),
                metrics,
            }),
        }
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_depth(&self, depth: usize) {
        self.inner.metrics.depth.get_or_create(&QueueMetrics::labels(&self.inner.name)).set(depth as i64);
    }

    /// Queues `key` unless it is already waiting; a key being processed is
    /// queued again once its worker calls [`WorkQueue::done`].
    pub fn add(&self, key: impl Into<String>) {
        let key = key.into();
        let depth = {
            let mut state = self.state();
            if state.shutting_down || state.dirty.contains(&key) {
                return;
            }
            state.dirty.insert(key.clone());
            self.inner.metrics.adds.get_or_create(&QueueMetrics::labels(&self.inner.name)).inc();
            if state.processing.contains(&key) {
                return;
            }
            state.queue.push_back(key);
            state.queue.len()
        };
        self.set_depth(depth);
        self.inner.notify.notify_one();
    }

    /// Queues `key` after `delay`.
    pub fn add_after(&self, key: impl Into<String>, delay: Duration) {
        let key = key.into();
        if delay.is_zero() {
            self.add(key);
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            this.add(key);
        });
    }

    /// Queues `key` after the rate limiter's delay for it (a retry).
    pub fn add_rate_limited(&self, key: &str) {
        let delay = self.inner.limiter.lock().unwrap_or_else(|p| p.into_inner()).when(key);
        self.inner.metrics.retries.get_or_create(&QueueMetrics::labels(&self.inner.name)).inc();
        self.add_after(key.to_owned(), delay);
    }

    /// Clears `key`'s failure count.
    pub fn forget(&self, key: &str) {
        self.inner.limiter.lock().unwrap_or_else(|p| p.into_inner()).forget(key);
    }

    /// How many times `key` has been retried since it was last forgotten.
    pub fn retries(&self, key: &str) -> u32 {
        self.inner.limiter.lock().unwrap_or_else(|p| p.into_inner()).retries(key)
    }

    /// Waits for the next key; `None` once the queue is shut down.
    pub async fn get(&self) -> Option<String> {
        loop {
            let notified = self.inner.notify.notified();
            {
                let mut state = self.state();
                if let Some(key) = state.queue.pop_front() {
                    state.dirty.remove(&key);
                    state.processing.insert(key.clone());
                    let depth = state.queue.len();
                    let more = depth > 0;
                    drop(state);
                    self.set_depth(depth);
                    if more {
                        // Let another idle worker pick up the rest.
                        self.inner.notify.notify_one();
                    }
                    return Some(key);
                }
                if state.shutting_down {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// Marks `key` as processed; re-queues it when it was added meanwhile.
    pub fn done(&self, key: &str) {
        let requeued = {
            let mut state = self.state();
            state.processing.remove(key);
            if state.dirty.contains(key) && !state.shutting_down {
                state.queue.push_back(key.to_owned());
                Some(state.queue.len())
            } else {
                None
            }
        };
        if let Some(depth) = requeued {
            self.set_depth(depth);
            self.inner.notify.notify_one();
        }
    }

    /// Keys waiting (not being processed).
    pub fn len(&self) -> usize {
        self.state().queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stops handing out keys; workers' `get` returns `None`.
    pub fn shutdown(&self) {
        self.state().shutting_down = true;
        self.inner.notify.notify_waiters();
    }

    pub(crate) fn observe_work(&self, took: Duration) {
        self.inner
            .metrics
            .work_duration
            .get_or_create(&QueueMetrics::labels(&self.inner.name))
            .observe(took.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn duplicate_keys_are_coalesced_while_waiting() {
        let q = WorkQueue::new("t", QueueMetrics::default());
        q.add("a");
        q.add("a");
        q.add("b");
        assert_eq!(q.len(), 2, "a queued once, b once");
        assert_eq!(q.get().await.as_deref(), Some("a"));
        assert_eq!(q.get().await.as_deref(), Some("b"));
    }

    #[tokio::test]
    async fn key_added_while_processing_is_requeued_only_after_done() {
        let q = WorkQueue::new("t", QueueMetrics::default());
        q.add("a");
        let k = q.get().await.unwrap();
        q.add("a");
        assert_eq!(q.len(), 0, "a is being processed, so it must not be handed out again yet");
        q.done(&k);
        assert_eq!(q.len(), 1, "a comes back once done");
        q.shutdown();
    }

    #[tokio::test]
    async fn shutdown_releases_waiting_workers() {
        let q = WorkQueue::new("t", QueueMetrics::default());
        let q2 = q.clone();
        let waiter = tokio::spawn(async move { q2.get().await });
        tokio::task::yield_now().await;
        q.shutdown();
        let got = tokio::time::timeout(Duration::from_secs(5), waiter).await.unwrap().unwrap();
        assert_eq!(got, None);
    }

    #[test]
    fn per_key_backoff_doubles_from_5ms_and_caps_at_1000s() {
        let mut rl = RateLimiter::new(Duration::from_millis(5), Duration::from_secs(1000), 1e9, 1_000_000);
        assert_eq!(rl.when("k"), Duration::from_millis(5));
        assert_eq!(rl.when("k"), Duration::from_millis(10));
        assert_eq!(rl.when("k"), Duration::from_millis(20));
        assert_eq!(rl.when("other"), Duration::from_millis(5), "backoff is per key");
        for _ in 0..40 {
            rl.when("k");
        }
        assert_eq!(rl.when("k"), Duration::from_secs(1000));
        rl.forget("k");
        assert_eq!(rl.when("k"), Duration::from_millis(5));
    }

    #[test]
    fn token_bucket_delays_after_burst() {
        let mut rl = RateLimiter::new(Duration::from_nanos(1), Duration::from_nanos(1), 10.0, 2);
        assert!(rl.when("a") < Duration::from_millis(1));
        assert!(rl.when("b") < Duration::from_millis(1));
        let third = rl.when("c");
        assert!(third > Duration::from_millis(50), "third within the same instant waits ~100ms, got {third:?}");
    }
}
