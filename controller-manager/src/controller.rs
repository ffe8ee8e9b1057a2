//! What every controller is made of: the context it is built from, the
//! reconcile contract, and the workers that drain its queue.

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::events::Broadcaster;
use crate::informer::InformerFactory;
use crate::options::Options;
use crate::queue::{QueueMetrics, WorkQueue};

/// A running controller: resolves when the controller has stopped.
pub type ControllerRun = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Resolves when the controller manager is stopping.
#[derive(Debug, Clone)]
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    /// A stop signal and the switch that fires it.
    pub fn new() -> (watch::Sender<bool>, Self) {
        let (tx, rx) = watch::channel(false);
        (tx, Self(rx))
    }

    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|s| *s).await;
    }

    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }
}

/// Everything a controller constructor may use.
#[derive(Clone)]
pub struct ControllerContext {
    pub client: kube::Client,
    /// The certificate authorities (DER) the client trusts.
    pub client_ca: Vec<Vec<u8>>,
    pub informers: InformerFactory,
    pub events: Broadcaster,
    pub queue_metrics: QueueMetrics,
    pub options: Arc<Options>,
    pub stop: Stop,
}

impl std::fmt::Debug for ControllerContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControllerContext").finish_non_exhaustive()
    }
}

/// What a reconcile asks for afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Done until something changes.
    Done,
    /// Look again after this long (and forget the key's failures).
    RequeueAfter(Duration),
}

/// A level-triggered reconcile of one key.
pub trait Reconciler: Send + Sync + 'static {
    type Error: Display + Send;

    fn reconcile(&self, key: &str) -> impl Future<Output = Result<Action, Self::Error>> + Send;

    /// Whether `err` is an expected optimistic-concurrency conflict (logged quietly, then retried).
    fn is_conflict(_err: &Self::Error) -> bool {
        false
    }
}

/// Runs `workers` workers over `queue` until `stop`, then shuts the queue down
/// and lets the workers finish their current key.
pub async fn run_workers<R: Reconciler>(reconciler: Arc<R>, queue: WorkQueue, workers: usize, mut stop: Stop) {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers.max(1) {
        let reconciler = Arc::clone(&reconciler);
        let queue = queue.clone();
        tasks.spawn(async move {
            while let Some(key) = queue.get().await {
                let started = Instant::now();
                let result = reconciler.reconcile(&key).await;
                queue.observe_work(started.elapsed());
                match result {
                    Ok(Action::Done) => queue.forget(&key),
                    Ok(Action::RequeueAfter(after)) => {
                        queue.forget(&key);
                        queue.add_after(key.clone(), after);
                    }
                    Err(err) if R::is_conflict(&err) => {
                        tracing::debug!(controller = %queue.name(), key = %key, error = %err, "conflict, requeuing");
                        queue.add_rate_limited(&key);
                    }
                    Err(err) => {
                        tracing::info!(controller = %queue.name(), key = %key, error = %err, retries = queue.retries(&key), "error syncing, requeuing");
                        queue.add_rate_limited(&key);
                    }
                }
                queue.done(&key);
            }
        });
    }
    stop.wait().await;
    queue.shutdown();
    while tasks.join_next().await.is_some() {}
}
