//! In-process watch fan-out for the memory and SQLite backends.
//!
//! Committed changes are appended, in revision order, to a bounded ring of
//! recent events and announced on a `tokio::sync::watch` channel. Each
//! watcher keeps its own cursor (the last revision it has seen) and copies
//! matching events out of the ring. A watcher that falls behind the ring
//! reads the missed range from the backend's own log ([`EventLog`]), which
//! fails with [`Error::Compacted`] once that history is gone. Watchers never
//! block writers, and a slow watcher costs nothing but its own catch-up reads.

use std::collections::VecDeque;
use std::sync::{Arc, RwLock};

use futures_util::stream;
use tokio::sync::watch;

use crate::keys::{dir_prefix, range_end};
use crate::{Error, Result, Revision, WatchEvent, WatchStream};

/// Reads history the ring no longer holds.
pub(crate) trait EventLog: Send + Sync + 'static {
    /// Events under `prefix` with `after < revision <= upto`, in revision
    /// order, at most `limit` of them; [`Error::Compacted`] if `after` is
    /// older than the compaction point.
    fn read_events(
        &self,
        prefix: &str,
        after: Revision,
        upto: Revision,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<WatchEvent>>> + Send;
}

struct Ring {
    events: VecDeque<Arc<WatchEvent>>,
    capacity: usize,
    /// Every event with a revision above this is in `events` (or not yet published).
    complete_after: Revision,
    /// Latest published revision.
    head: Revision,
}

/// The shared fan-out point of one store.
pub(crate) struct Hub {
    ring: RwLock<Ring>,
    head_tx: watch::Sender<Revision>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").field("head", &*self.head_tx.borrow()).finish_non_exhaustive()
    }
}

const CATCH_UP_BATCH: usize = 1000;

impl Hub {
    /// A hub whose history starts after `head` (the store's current revision).
    pub(crate) fn new(head: Revision, capacity: usize) -> Self {
        let ring = Ring { events: VecDeque::with_capacity(capacity.min(4096)), capacity, complete_after: head, head };
        Hub { ring: RwLock::new(ring), head_tx: watch::channel(head).0 }
    }

    /// Publishes committed events. Callers publish in revision order (the
    /// single writer of each backend does so under its write lock).
    pub(crate) fn publish(&self, events: Vec<WatchEvent>) {
        let Some(last) = events.last().map(WatchEvent::revision) else { return };
        {
            let mut ring = self.ring.write().unwrap_or_else(|e| e.into_inner());
            for ev in events {
                if ring.events.len() == ring.capacity
                    && let Some(old) = ring.events.pop_front()
                {
                    ring.complete_after = old.revision();
                }
                ring.events.push_back(Arc::new(ev));
            }
            ring.head = last;
        }
        self.head_tx.send_replace(last);
    }

    /// The latest published revision.
    pub(crate) fn head(&self) -> Revision {
        *self.head_tx.borrow()
    }

    /// Copies events after `cursor` under the prefix range into `out`.
    /// Returns the new cursor, or `None` if the ring no longer covers `cursor`.
    fn copy_from_ring(
        &self,
        start: &str,
        end: &str,
        cursor: Revision,
        out: &mut VecDeque<WatchEvent>,
    ) -> Option<Revision> {
        let ring = self.ring.read().unwrap_or_else(|e| e.into_inner());
        if cursor < ring.complete_after {
            return None;
        }
        let first = ring.events.partition_point(|e| e.revision() <= cursor);
        for ev in ring.events.range(first..) {
            let key = ev.kv.key.as_str();
            if key >= start && key < end {
                out.push_back(WatchEvent::clone(ev));
            }
        }
        Some(ring.head.max(cursor))
    }

    /// A stream of every event under `prefix` after revision `after`.
    pub(crate) fn watch<L: EventLog>(self: &Arc<Self>, log: Arc<L>, prefix: &str, after: Revision) -> WatchStream {
        let start = dir_prefix(prefix);
        let end = range_end(&start);
        let state = WatcherState {
            hub: Arc::clone(self),
            log,
            head_rx: self.head_tx.subscribe(),
            start,
            end,
            cursor: after,
            buf: VecDeque::new(),
            done: false,
        };
        Box::pin(stream::unfold(state, |mut st| async move {
            let item = st.next().await?;
            Some((item, st))
        }))
    }
}

struct WatcherState<L> {
    hub: Arc<Hub>,
    log: Arc<L>,
    head_rx: watch::Receiver<Revision>,
    start: String,
    end: String,
    cursor: Revision,
    buf: VecDeque<WatchEvent>,
    done: bool,
}

impl<L: EventLog> WatcherState<L> {
    async fn next(&mut self) -> Option<Result<WatchEvent>> {
        loop {
            if let Some(ev) = self.buf.pop_front() {
                return Some(Ok(ev));
            }
            if self.done {
                return None;
            }
            // Mark the current head as seen before looking, so a publish that
            // lands after the look still wakes us.
            self.head_rx.borrow_and_update();
            match self.hub.copy_from_ring(&self.start, &self.end, self.cursor, &mut self.buf) {
                Some(cursor) => self.cursor = cursor,
                None => {
                    let upto = self.hub.head();
                    match self.log.read_events(&self.start, self.cursor, upto, CATCH_UP_BATCH).await {
                        Ok(events) => {
                            // A full batch may stop short of `upto`; resume after its last event.
                            self.cursor = match events.last() {
                                Some(last) if events.len() == CATCH_UP_BATCH => last.revision(),
                                _ => upto,
                            };
                            self.buf.extend(events);
                        }
                        Err(err) => {
                            self.done = true;
                            return Some(Err(err));
                        }
                    }
                    continue;
                }
            }
            if self.buf.is_empty() && self.head_rx.changed().await.is_err() {
                self.done = true;
                return Some(Err(Error::unavailable_msg("watch hub closed")));
            }
        }
    }
}
