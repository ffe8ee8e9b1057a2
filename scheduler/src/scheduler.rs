//! The scheduling loop (upstream `schedule_one.go`): pop a pod, decide under
//! the cache lock, assume it onto the node, and bind asynchronously; on
//! failure run PostFilter (preemption), report, and park the pod.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::algorithm::{Algorithm, Nominated, ScheduleError};
use crate::cache::Cache;
use crate::framework::{CycleState, Framework, PostFilterResult};
use crate::metrics::SchedulerMetrics;
use crate::pod_info::PodInfo;
use crate::queue::{QueuedPod, SchedulingQueue};
use crate::writer::ClusterWriter;

/// Everything the loop and the watch handlers share.
pub struct Scheduler {
    pub cache: Arc<Mutex<Cache>>,
    pub queue: Arc<SchedulingQueue>,
    pub nominated: Arc<Mutex<Nominated>>,
    pub profiles: HashMap<String, Arc<Framework>>,
    pub writers: HashMap<String, Arc<dyn ClusterWriter>>,
    pub metrics: SchedulerMetrics,
    algorithm: Mutex<Algorithm>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler").field("profiles", &self.profiles.keys().collect::<Vec<_>>()).finish()
    }
}

/// What one attempt did (for tests and benchmarks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Assumed(String),
    Unschedulable(String),
    Error(String),
    Skipped,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Scheduler {
    pub fn new(
        profiles: HashMap<String, Arc<Framework>>,
        writers: HashMap<String, Arc<dyn ClusterWriter>>,
        queue: Arc<SchedulingQueue>,
        metrics: SchedulerMetrics,
    ) -> Self {
        Scheduler {
            cache: Arc::new(Mutex::new(Cache::new())),
            queue,
            nominated: Arc::default(),
            profiles,
            writers,
            metrics,
            algorithm: Mutex::default(),
        }
    }

    /// Whether a pending pod is this scheduler's to place.
    pub fn responsible_for(&self, pod: &PodInfo) -> bool {
        self.profiles.contains_key(pod.scheduler_name())
    }

    /// Records (or clears) where a pod is nominated.
    pub fn set_nominated(&self, pod: &Arc<PodInfo>, node: Option<&str>) {
        let mut nominated = lock(&self.nominated);
        for pods in nominated.values_mut() {
            pods.retain(|p| p.key != pod.key);
        }
        nominated.retain(|_, v| !v.is_empty());
        if let Some(n) = node {
            nominated.entry(n.to_owned()).or_default().push(Arc::clone(pod));
        }
    }

    /// Pops and schedules pods until the queue closes.
    pub async fn run(self: Arc<Self>) {
        while let Some(qp) = self.queue.pop().await {
            self.schedule_one(qp);
        }
    }

    /// One attempt for one popped pod.
    pub fn schedule_one(self: &Arc<Self>, qp: QueuedPod) -> Outcome {
        let start = Instant::now();
        let info = Arc::clone(&qp.info);
        let Some(fwk) = self.profiles.get(info.scheduler_name()).cloned() else {
            self.queue.done(&info.key);
            return Outcome::Skipped;
        };
        let writer = Arc::clone(&self.writers[&fwk.profile_name]);
        let mut state = CycleState::default();
        let decided = {
            let mut cache = lock(&self.cache);
            if cache.pod_node(&info.key).is_some() {
                drop(cache);
                self.queue.done(&info.key);
                return Outcome::Skipped;
            }
            cache.prepare_for(&info);
            let nominated = lock(&self.nominated);
            let result = lock(&self.algorithm).schedule(&fwk, &mut state, &info, &cache, &nominated);
            drop(nominated);
            match result {
                Ok(d) => {
                    let reserve = fwk.run_reserve(&state, &info, &d.node);
                    if reserve.is_success() {
                        cache.assume(Arc::clone(&info), &d.node);
                        Decided::Node(d.node)
                    } else {
                        Decided::Internal(format!("running Reserve plugin {:?}: {}", reserve.plugin, reserve.message()))
                    }
                }
                Err(ScheduleError::Unfit(mut fit)) => {
                    let mut post = PostFilterResult::default();
                    for pf in &fwk.post_filter {
                        let (res, s) = pf.post_filter(&state, &info, &cache, &fwk, &fit.statuses);
                        if s.is_success() {
                            post = res;
                            fit.post_filter_msg = None;
                            break;
                        }
                        fit.post_filter_msg = Some(s.message());
                    }
                    Decided::Unfit(*fit, post)
                }
                Err(ScheduleError::Internal(msg)) => Decided::Internal(msg),
            }
        };
        match decided {
            Decided::Node(node) => {
                self.queue.done(&info.key);
                self.set_nominated(&info, None);
                self.metrics.attempt("scheduled", &fwk.profile_name, start.elapsed().as_secs_f64());
                let me = Arc::clone(self);
                let node2 = node.clone();
                tokio::spawn(async move { me.bind(fwk, writer, qp, node2, state).await });
                Outcome::Assumed(node)
            }
            Decided::Internal(msg) => {
                tracing::error!(namespace = %info.namespace, name = %info.name, error = %msg, "error scheduling pod; retrying");
                self.metrics.attempt("error", &fwk.profile_name, start.elapsed().as_secs_f64());
                self.queue.requeue_backoff(&qp);
                let note = format!("running scheduling cycle: {msg}");
                tokio::spawn(async move { writer.event(&info, true, "FailedScheduling", "Scheduling", note).await });
                Outcome::Error(msg)
            }
            Decided::Unfit(fit, post) => self.unfit(qp, &fwk, fit, post, start),
        }
    }

    async fn bind(
        self: Arc<Self>,
        fwk: Arc<Framework>,
        writer: Arc<dyn ClusterWriter>,
        qp: QueuedPod,
        node: String,
        state: CycleState,
    ) {
        let info = &qp.info;
        let s = fwk.run_bind(info, &node).await;
        if s.is_success() {
            self.metrics.scheduled(qp.attempts, qp.first_seen.elapsed().as_secs_f64());
            tracing::debug!(namespace = %info.namespace, name = %info.name, %node, "bound pod");
            writer
                .event(info, false, "Scheduled", "Binding", format!("Successfully assigned {} to {node}", info.key))
                .await;
        } else {
            tracing::warn!(namespace = %info.namespace, name = %info.name, %node, error = %s.message(), "binding failed; retrying");
            lock(&self.cache).forget(&info.key);
            fwk.run_unreserve(&state, info, &node);
            self.metrics.attempt("error", &fwk.profile_name, 0.0);
            self.queue.requeue_backoff(&qp);
            writer.event(info, true, "FailedScheduling", "Binding", format!("Binding rejected: {}", s.message())).await;
        }
    }
}

impl Scheduler {
    /// Reports an unfit pod: preemption side effects, event, condition, requeue.
    fn unfit(
        self: &Arc<Self>,
        qp: QueuedPod,
        fwk: &Framework,
        fit: crate::algorithm::FitError,
        post: PostFilterResult,
        start: Instant,
    ) -> Outcome {
        let info = Arc::clone(&qp.info);
        let writer = Arc::clone(&self.writers[&fwk.profile_name]);
        let message = fit.message();
        self.metrics.attempt("unschedulable", &fwk.profile_name, start.elapsed().as_secs_f64());
        let nominated = post.nominated_node.clone();
        if let Some(node) = &nominated {
            self.metrics.preemption_attempts.inc();
            self.metrics.preemption_victims.inc_by(post.victims.len() as u64);
            self.set_nominated(&info, Some(node));
            tracing::info!(namespace = %info.namespace, name = %info.name, %node, victims = post.victims.len(), "preempting");
        }
        tracing::debug!(namespace = %info.namespace, name = %info.name, %message, "unable to schedule pod");
        self.queue.requeue_unschedulable(&qp, fit.plugins);
        let victims = post.victims;
        let message_out = message.clone();
        tokio::spawn(async move {
            if let Some(node) = &nominated {
                for v in &victims {
                    writer.delete_victim(v, &info, node).await;
                }
            }
            writer.event(&info, true, "FailedScheduling", "Scheduling", message.clone()).await;
            writer.mark_unschedulable(&info, &message, nominated.as_deref()).await;
        });
        Outcome::Unschedulable(message_out)
    }
}

enum Decided {
    Node(String),
    Unfit(crate::algorithm::FitError, PostFilterResult),
    Internal(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::registry::{Handle, build};
    use crate::framework::{BindPlugin, Plugin, Status};
    use crate::testing::{node, pod};
    use crate::writer::NullWriter;
    use std::time::Duration;

    struct Binder(Option<&'static str>);
    impl Plugin for Binder {
        fn name(&self) -> &'static str {
            "TestBinder"
        }
    }
    #[async_trait::async_trait]
    impl BindPlugin for Binder {
        async fn bind(&self, _: &PodInfo, _: &str) -> Status {
            match self.0 {
                Some(err) => Status::error(err),
                None => std::future::pending().await,
            }
        }
    }

    fn scheduler(binder: Binder) -> Arc<Scheduler> {
        let cfg = crate::config::KubeSchedulerConfiguration::parse(
            "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n",
        )
        .unwrap();
        let mut fwk = build(&cfg.profiles[0], None, &Handle::default()).unwrap();
        fwk.bind = vec![Arc::new(binder)];
        let name = fwk.profile_name.clone();
        let profiles = [(name.clone(), Arc::new(fwk))].into();
        let writers: HashMap<String, Arc<dyn ClusterWriter>> =
            [(name, Arc::new(NullWriter) as Arc<dyn ClusterWriter>)].into();
        let queue = Arc::new(SchedulingQueue::new(Duration::from_millis(50), Duration::from_millis(500)));
        let metrics = SchedulerMetrics::new(&rustkube_component_base::health::Metrics::new());
        let s = Arc::new(Scheduler::new(profiles, writers, queue, metrics));
        lock(&s.cache).upsert_node(Arc::new(node("n1").alloc("cpu", "1").build()));
        s
    }

    fn add(s: &Scheduler, name: &str) {
        s.queue.add_or_update(Arc::new(PodInfo::new(Arc::new(pod(name).req("cpu", "600m").build()))));
    }

    #[tokio::test]
    async fn an_assumed_pod_holds_its_room_while_binding_is_in_flight() {
        let s = scheduler(Binder(None));
        add(&s, "a");
        add(&s, "b");
        let first = s.queue.pop().await.unwrap();
        assert_eq!(s.schedule_one(first), Outcome::Assumed("n1".into()));
        let second = s.queue.pop().await.unwrap();
        match s.schedule_one(second) {
            Outcome::Unschedulable(msg) => assert!(msg.contains("1 Insufficient cpu"), "{msg}"),
            other => panic!("the second pod must not fit while the first is assumed: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_failed_bind_forgets_the_assumption_and_backs_off() {
        let s = scheduler(Binder(Some("conflict")));
        add(&s, "a");
        let qp = s.queue.pop().await.unwrap();
        assert_eq!(s.schedule_one(qp), Outcome::Assumed("n1".into()));
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while lock(&s.cache).is_assumed("default/a") || s.queue.depths().backoff != 1 {
            assert!(std::time::Instant::now() < deadline, "bind failure not handled");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(lock(&s.cache).node("n1").unwrap().requested.milli_cpu, 0);
    }
}
