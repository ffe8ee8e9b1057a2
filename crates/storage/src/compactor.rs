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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;
    use bytes::Bytes;

    #[tokio::test]
    async fn compacts_to_the_revision_seen_one_interval_earlier() {
        let store = Arc::new(MemoryStore::new());
        let first = store.create("/registry/c/ns/a", Bytes::from_static(b"1")).await.unwrap();
        let compactor = Compactor::spawn(store.clone(), Duration::from_millis(30));
        // Keep writing so the observed revision moves on every tick.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            store.update("/registry/c/ns/a", Bytes::from_static(b"x"), None).await.unwrap();
            let opts = crate::ListOptions {
                prefix: "/registry/c/".into(),
                revision: Some(first.mod_revision),
                ..Default::default()
            };
            if store.list(&opts).await.is_err_and(|e| e.is_compacted()) {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "no compaction within 10s");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // The newest history is kept: a watch from the current revision works.
        let head = store.current_revision().await.unwrap();
        assert!(store.watch("/registry/c/", head).await.is_ok(), "recent history survives compaction");
        compactor.stop().await;
    }
}
