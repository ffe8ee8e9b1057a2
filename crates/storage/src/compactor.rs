//! Periodic compaction, as kube-apiserver drives it for etcd.
//!
//! Every interval the compactor compacts to the revision it observed one
//! interval earlier, so history always covers at least one full interval
//! (upstream's default is five minutes): watchers that fall further behind
//! than that must relist (410 Gone).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::{Revision, Store};

/// A running compaction loop; stops when dropped or [`Compactor::stop`]ped.
#[derive(Debug)]
pub struct Compactor {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Compactor {
    /// Starts compacting `store` every `interval`.
    pub fn spawn(store: Arc<dyn Store>, interval: Duration) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut observed: Option<Revision> = None;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = stopped.changed() => return,
                }
                if let Some(rev) = observed.filter(|r| *r > 0) {
                    if let Err(err) = store.compact(rev).await {
                        tracing::warn!(revision = rev, error = %err, "compaction failed");
                    } else {
                        tracing::debug!(revision = rev, "compacted");
                    }
                }
                match store.current_revision().await {
                    Ok(rev) => observed = Some(rev),
                    Err(err) => tracing::warn!(error = %err, "reading revision for compaction failed"),
                }
            }
        });
        Compactor { stop, task: Some(task) }
    }

    /// Stops the loop and waits for it to finish.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Compactor {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
