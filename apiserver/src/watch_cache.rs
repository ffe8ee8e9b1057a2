//! The watch cache: one storage watch per resource, fanned out to every
//! client watch of that resource.
//!
//! For each resource prefix a feeder task keeps one storage watch open and
//! appends its events, in revision order, to a bounded ring announced on a
//! `tokio::sync::watch` head revision. A client watch from revision R is
//! served from the ring when the ring covers R (the usual case: clients watch
//! from the revision of a list they just made) and otherwise from a direct
//! storage watch, which fails with 410 Gone once R is compacted. Thousands of
//! watchers therefore cost one storage watch, and a slow watcher never slows
//! the feeder or its peers.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use rustkube_storage::{Revision, Store, WatchEvent, dir_prefix};
use serde_json::Value;
use tokio::sync::watch;

/// One change plus what its watchers derive from it, computed once and shared:
/// the decoded object and previous object, and the encoded event lines.
#[derive(Debug)]
pub struct CachedEvent {
    pub event: WatchEvent,
    obj: OnceLock<Option<Value>>,
    prev: OnceLock<Option<Value>>,
    lines: [OnceLock<Bytes>; 3],
    /// Labels and selectable fields of the object and of the previous object.
    obj_labels: OnceLock<BTreeMap<String, String>>,
    obj_fields: OnceLock<BTreeMap<String, String>>,
    prev_labels: OnceLock<BTreeMap<String, String>>,
    prev_fields: OnceLock<BTreeMap<String, String>>,
}

/// What selectors look at, for one side of an event.
#[derive(Debug, Clone, Copy)]
pub enum Side {
    Now,
    Before,
}

/// The watch event types a client sees for an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Added,
    Modified,
    Deleted,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Added => "ADDED",
            EventKind::Modified => "MODIFIED",
            EventKind::Deleted => "DELETED",
        }
    }
}

impl CachedEvent {
    pub fn new(event: WatchEvent) -> Self {
        CachedEvent {
            event,
            obj: OnceLock::new(),
            prev: OnceLock::new(),
            lines: Default::default(),
            obj_labels: OnceLock::new(),
            obj_fields: OnceLock::new(),
            prev_labels: OnceLock::new(),
            prev_fields: OnceLock::new(),
        }
    }

    /// The object after the change (for a deletion: its last state), with resourceVersion.
    pub fn obj(&self) -> Option<&Value> {
        self.obj.get_or_init(|| crate::resource_store::decode(&self.event.kv).ok()).as_ref()
    }

    /// The object before the change, when known.
    pub fn prev(&self) -> Option<&Value> {
        self.prev.get_or_init(|| self.event.prev.as_ref().and_then(|p| crate::resource_store::decode(p).ok())).as_ref()
    }

    /// The labels of one side of the event, computed once for all watchers.
    pub fn labels(&self, side: Side) -> Option<&BTreeMap<String, String>> {
        let (obj, slot) = match side {
            Side::Now => (self.obj()?, &self.obj_labels),
            Side::Before => (self.prev()?, &self.prev_labels),
        };
        Some(slot.get_or_init(|| crate::meta::labels(obj)))
    }

    /// The selectable fields of one side of the event, computed once for all watchers.
    pub fn fields(&self, side: Side, group: &str, kind: &str) -> Option<&BTreeMap<String, String>> {
        let (obj, slot) = match side {
            Side::Now => (self.obj()?, &self.obj_fields),
            Side::Before => (self.prev()?, &self.prev_fields),
        };
        Some(slot.get_or_init(|| rustkube_api::field_selector::object_fields(group, kind, obj)))
    }

    /// `{"type":…,"object":…}\n` for this event's object, encoded once.
    pub fn line(&self, kind: EventKind) -> Bytes {
        self.lines[kind as usize].get_or_init(|| watch_line(kind.as_str(), self.obj().unwrap_or(&Value::Null))).clone()
    }
}

/// One watch event as the wire carries it: `{"type":…,"object":…}` and a newline.
pub fn watch_line(kind: &str, object: &Value) -> Bytes {
    let mut line = serde_json::to_vec(&serde_json::json!({ "type": kind, "object": object })).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

/// A stream of shared events.
pub type CachedStream = Pin<Box<dyn Stream<Item = rustkube_storage::Result<Arc<CachedEvent>>> + Send>>;

/// How many recent events each resource keeps.
const RING_CAPACITY: usize = 16 * 1024;

struct Ring {
    events: VecDeque<Arc<CachedEvent>>,
    /// Every event after this revision is in `events` (or not yet received).
    complete_after: Revision,
}

struct Feed {
    ring: RwLock<Ring>,
    head: watch::Sender<Revision>,
}

impl Feed {
    fn push(&self, ev: WatchEvent) {
        let rev = ev.revision();
        {
            let mut ring = self.ring.write().unwrap_or_else(|e| e.into_inner());
            if ring.events.len() == RING_CAPACITY
                && let Some(old) = ring.events.pop_front()
            {
                ring.complete_after = old.event.revision();
            }
            ring.events.push_back(Arc::new(CachedEvent::new(ev)));
        }
        self.head.send_replace(rev);
    }

    /// The feed restarted at `rev` after a gap: nothing before it is served from here.
    fn reset(&self, rev: Revision) {
        let mut ring = self.ring.write().unwrap_or_else(|e| e.into_inner());
        ring.events.clear();
        ring.complete_after = rev;
        drop(ring);
        self.head.send_replace(rev);
    }
}

/// Watch caches of every resource prefix, created on first use.
pub struct WatchCache {
    storage: Arc<dyn Store>,
    feeds: Mutex<HashMap<String, Arc<Feed>>>,
}

impl std::fmt::Debug for WatchCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchCache").finish_non_exhaustive()
    }
}

impl WatchCache {
    pub fn new(storage: Arc<dyn Store>) -> Self {
        WatchCache { storage, feeds: Mutex::new(HashMap::new()) }
    }

    /// The feed of one resource prefix (`/registry/pods/`), started on first use.
    async fn feed(&self, resource_prefix: &str) -> Result<Arc<Feed>, rustkube_storage::Error> {
        if let Some(feed) = self.feeds.lock().unwrap_or_else(|e| e.into_inner()).get(resource_prefix) {
            return Ok(Arc::clone(feed));
        }
        let start = self.storage.current_revision().await?;
        let mut feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(feed) = feeds.get(resource_prefix) {
            return Ok(Arc::clone(feed));
        }
        let feed = Arc::new(Feed {
            ring: RwLock::new(Ring { events: VecDeque::new(), complete_after: start }),
            head: watch::channel(start).0,
        });
        feeds.insert(resource_prefix.to_owned(), Arc::clone(&feed));
        tokio::spawn(run_feed(Arc::clone(&self.storage), resource_prefix.to_owned(), Arc::clone(&feed), start));
        Ok(feed)
    }

    /// Every change under `prefix` (inside `resource_prefix`) after revision `after`.
    pub async fn watch(
        &self,
        resource_prefix: &str,
        prefix: &str,
        after: Revision,
    ) -> rustkube_storage::Result<CachedStream> {
        let feed = self.feed(resource_prefix).await?;
        let covered = feed.ring.read().unwrap_or_else(|e| e.into_inner()).complete_after <= after;
        if !covered {
            let direct = self.storage.watch(prefix, after).await?;
            return Ok(Box::pin(direct.map(|item| item.map(|ev| Arc::new(CachedEvent::new(ev))))));
        }
        let start = dir_prefix(prefix);
        let state = Watcher { head: feed.head.subscribe(), feed, start, cursor: after, buf: VecDeque::new() };
        Ok(Box::pin(futures_util::stream::unfold(state, |mut w| async move {
            let item = w.next().await?;
            Some((item, w))
        })))
    }
}

/// Keeps one storage watch open for a resource, restarting after errors.
async fn run_feed(storage: Arc<dyn Store>, prefix: String, feed: Arc<Feed>, mut from: Revision) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match storage.watch(&prefix, from).await {
            Ok(mut stream) => {
                while let Some(item) = stream.next().await {
                    match item {
                        Ok(ev) => {
                            from = ev.revision();
                            feed.push(ev);
                            backoff = Duration::from_millis(100);
                        }
                        Err(err) => {
                            tracing::warn!(%prefix, error = %err, "watch cache feed interrupted");
                            break;
                        }
                    }
                }
            }
            Err(err) => tracing::warn!(%prefix, error = %err, "watch cache feed failed to start"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
        // If history since `from` is gone, restart from now: watchers that were
        // behind fall back to storage and get 410 Gone, as upstream's cache does.
        if let Err(e) = storage.watch(&prefix, from).await
            && e.is_compacted()
            && let Ok(now) = storage.current_revision().await
        {
            feed.reset(now);
            from = now;
        }
    }
}

struct Watcher {
    feed: Arc<Feed>,
    head: watch::Receiver<Revision>,
    start: String,
    cursor: Revision,
    buf: VecDeque<Arc<CachedEvent>>,
}

impl Watcher {
    async fn next(&mut self) -> Option<rustkube_storage::Result<Arc<CachedEvent>>> {
        loop {
            if let Some(ev) = self.buf.pop_front() {
                return Some(Ok(ev));
            }
            self.head.borrow_and_update();
            {
                let ring = self.feed.ring.read().unwrap_or_else(|e| e.into_inner());
                if self.cursor < ring.complete_after {
                    return Some(Err(rustkube_storage::Error::Compacted {
                        requested: self.cursor,
                        compacted: ring.complete_after,
                    }));
                }
                let first = ring.events.partition_point(|e| e.event.revision() <= self.cursor);
                for ev in ring.events.range(first..) {
                    if ev.event.kv.key.starts_with(&self.start) {
                        self.buf.push_back(Arc::clone(ev));
                    }
                }
                if let Some(last) = ring.events.back() {
                    self.cursor = self.cursor.max(last.event.revision());
                }
            }
            if self.buf.is_empty() && self.head.changed().await.is_err() {
                return None;
            }
        }
    }
}
