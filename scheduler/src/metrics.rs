//! The scheduler's Prometheus metrics, named as upstream's
//! (`scheduler_schedule_attempts_total`, `scheduler_pending_pods`, …).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use rustkube_component_base::health::Metrics;

use crate::queue::Depths;

type Labels = Vec<(String, String)>;

/// Every metric the scheduler exports.
#[derive(Debug, Clone)]
pub struct SchedulerMetrics {
    pub schedule_attempts: Family<Labels, Counter>,
    pub attempt_duration: Family<Labels, Histogram>,
    pub e2e_duration: Family<Labels, Histogram>,
    pub pending_pods: Family<Labels, Gauge>,
    pub preemption_attempts: Counter,
    pub preemption_victims: Counter,
}

fn histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 20))
}

impl SchedulerMetrics {
    /// Creates the metrics and registers them with `registry`.
    pub fn new(registry: &Metrics) -> Self {
        let m = SchedulerMetrics {
            schedule_attempts: Family::default(),
            attempt_duration: Family::new_with_constructor(histogram as fn() -> Histogram),
            e2e_duration: Family::new_with_constructor(histogram as fn() -> Histogram),
            pending_pods: Family::default(),
            preemption_attempts: Counter::default(),
            preemption_victims: Counter::default(),
        };
        registry.register(
            "scheduler_schedule_attempts",
            "Number of attempts to schedule pods, by the result and profile",
            m.schedule_attempts.clone(),
        );
        registry.register(
            "scheduler_scheduling_attempt_duration_seconds",
            "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
            m.attempt_duration.clone(),
        );
        registry.register(
            "scheduler_pod_scheduling_duration_seconds",
            "E2e latency for a pod being scheduled, from when it was first seen to its binding",
            m.e2e_duration.clone(),
        );
        registry.register(
            "scheduler_pending_pods",
            "Number of pending pods, by the queue type",
            m.pending_pods.clone(),
        );
        registry.register(
            "scheduler_preemption_attempts",
            "Total preemption attempts in the cluster till now",
            m.preemption_attempts.clone(),
        );
        registry.register(
            "scheduler_preemption_victims",
            "Number of selected preemption victims",
            m.preemption_victims.clone(),
        );
        m
    }

    pub fn attempt(&self, result: &str, profile: &str, seconds: f64) {
        let labels = vec![("result".to_owned(), result.to_owned()), ("profile".to_owned(), profile.to_owned())];
        self.schedule_attempts.get_or_create(&labels).inc();
        self.attempt_duration.get_or_create(&labels).observe(seconds);
    }

    pub fn scheduled(&self, attempts: u32, seconds: f64) {
        let labels = vec![("attempts".to_owned(), attempts.min(15).to_string())];
        self.e2e_duration.get_or_create(&labels).observe(seconds);
    }

    pub fn set_depths(&self, d: Depths) {
        for (q, v) in
            [("active", d.active), ("backoff", d.backoff), ("unschedulable", d.unschedulable), ("gated", d.gated)]
        {
            self.pending_pods.get_or_create(&vec![("queue".to_owned(), q.to_owned())]).set(v as i64);
        }
    }
}
