//! The body of one watch response: initial ADDED events, then changes from
//! the watch cache, bookmarks and the deadline, as one stream that the
//! connection itself polls.
//!
//! No task and no channel sit between the cache and the connection: a change
//! wakes the connection, which renders it (selectors, event kind, the shared
//! cached line) and writes it, coalescing whatever else is already waiting
//! into one write. A slow client simply polls less often; its position is a
//! revision cursor into the cache's ring, so nothing queues up per watcher.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{FutureExt, Stream, StreamExt};
use rustkube_api::field_selector::FieldSelector;
use rustkube_api::label_selector::LabelSelector;
use rustkube_storage::{EventType, Revision};
use serde_json::{Value, json};

use crate::handlers::matches;
use crate::meta;
use crate::request::RequestInfo;
use crate::status::ApiError;
use crate::watch_cache::{CachedEvent, CachedStream, EventKind, Side, watch_line};

/// How often a watch that allows bookmarks gets one, as upstream's cacher.
pub const BOOKMARK_FREQUENCY: Duration = Duration::from_secs(60);

/// Most events coalesced into one write.
const MAX_BATCH: usize = 256;

/// What one watch request asked for.
#[derive(Debug)]
pub struct WatchRequest {
    pub info: RequestInfo,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    /// Table rendering, and its `includeObject`.
    pub table: Option<String>,
    pub bookmarks: bool,
    pub send_initial: bool,
    /// The revision the watch starts after.
    pub from: Revision,
    pub timeout: Duration,
}

struct State {
    req: WatchRequest,
    /// Column definitions go with the first table row only.
    first_table: bool,
    initial: std::vec::IntoIter<Value>,
    pending: VecDeque<Bytes>,
    /// `None` once the watch has ended (deadline, error, closed cache).
    changes: Option<CachedStream>,
    deadline: Pin<Box<tokio::time::Sleep>>,
    bookmark: Pin<Box<tokio::time::Sleep>>,
    ends_at: tokio::time::Instant,
    /// The last revision this watch has passed, for bookmarks.
    progress: Revision,
}

/// The response body: `initial` objects as ADDED, then `changes`.
pub fn stream(
    req: WatchRequest,
    initial: Vec<Value>,
    changes: Result<CachedStream, rustkube_storage::Error>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let now = tokio::time::Instant::now();
    let ends_at = now + req.timeout;
    let mut pending = VecDeque::new();
    if req.send_initial && req.bookmarks {
        let r = req.info.resource;
        pending.push_back(watch_line(
            "BOOKMARK",
            &json!({
                "kind": r.kind, "apiVersion": r.api_version(),
                "metadata": { "resourceVersion": req.from.to_string(), "annotations": { "k8s.io/initial-events-end": "true" } }
            }),
        ));
    }
    let changes = match changes {
        Ok(s) => Some(s),
        Err(e) => {
            let r = req.info.resource;
            let err = if e.is_compacted() {
                ApiError::gone(format!("too old resource version: {}", req.from))
            } else {
                crate::status::from_storage(e, crate::status::Qualified { group: r.group, resource: r.plural }, "")
            };
            pending.push_back(watch_line("ERROR", &err.to_status()));
            None
        }
    };
    let state = State {
        first_table: true,
        initial: initial.into_iter(),
        pending,
        changes,
        deadline: Box::pin(tokio::time::sleep_until(ends_at)),
        bookmark: Box::pin(tokio::time::sleep_until(next_bookmark(now, ends_at))),
        ends_at,
        progress: req.from,
        req,
    };
    futures_util::stream::unfold(state, |mut s| async move {
        let item = s.next().await?;
        Some((Ok(item), s))
    })
}

/// Every minute, and 2 s before the watch's own deadline when that comes sooner.
fn next_bookmark(now: tokio::time::Instant, ends_at: tokio::time::Instant) -> tokio::time::Instant {
    let periodic = now + BOOKMARK_FREQUENCY;
    match ends_at.checked_sub(Duration::from_secs(2)).filter(|t| *t > now) {
        Some(t) if t < periodic => t,
        _ => periodic,
    }
}

/// Selector matching on a shared watch event (labels and fields computed once per event).
fn matches_event(
    info: &RequestInfo,
    labels: &LabelSelector,
    fields: &FieldSelector,
    ev: &CachedEvent,
    side: Side,
) -> bool {
    if !labels.is_everything() && !ev.labels(side).is_some_and(|l| labels.matches(l)) {
        return false;
    }
    fields.is_everything()
        || ev.fields(side, info.resource.group, info.resource.kind).is_some_and(|f| fields.matches(f))
}

impl State {
    fn render(&mut self, kind: &str, obj: Value) -> Bytes {
        match &self.req.table {
            Some(include) => {
                let with_columns = std::mem::replace(&mut self.first_table, false);
                let rv = meta::meta_str(&obj, "resourceVersion").unwrap_or("").to_owned();
                let t = crate::table::table(
                    self.req.info.resource,
                    self.req.info.custom.as_deref(),
                    std::slice::from_ref(&obj),
                    json!({ "resourceVersion": rv }),
                    include,
                    with_columns,
                );
                watch_line(kind, &t)
            }
            None => watch_line(kind, &obj),
        }
    }

    /// One change for this watcher: `Ok(None)` when its selectors skip it,
    /// `Err(line)` for a terminal ERROR event.
    fn process(&mut self, ev: rustkube_storage::Result<Arc<CachedEvent>>) -> Result<Option<Bytes>, Bytes> {
        let ev = match ev {
            Ok(ev) => {
                self.progress = self.progress.max(ev.event.revision());
                ev
            }
            Err(e) => {
                let err = if e.is_compacted() {
                    ApiError::gone(format!("too old resource version: {}", self.req.from))
                } else {
                    ApiError::internal(e.to_string())
                };
                return Err(watch_line("ERROR", &err.to_status()));
            }
        };
        let Some(obj) = ev.obj() else { return Ok(None) };
        let req = &self.req;
        let resource = req.info.resource;
        let (now, before, converted) = if crate::conversion::needed(resource) {
            // Another version's shape: convert this watcher's copy and match on it.
            let conv = crate::conversion::from_storage(resource, obj.clone());
            let prev = ev.prev().map(|p| crate::conversion::from_storage(resource, p.clone()));
            let now = matches(&req.info, &req.labels, &req.fields, &conv);
            let before = prev.as_ref().is_some_and(|p| matches(&req.info, &req.labels, &req.fields, p));
            (now, before, Some(conv))
        } else {
            let now = matches_event(&req.info, &req.labels, &req.fields, &ev, Side::Now);
            let before = ev.prev().is_some() && matches_event(&req.info, &req.labels, &req.fields, &ev, Side::Before);
            (now, before, None)
        };
        let kind = match (ev.event.event_type, before, now) {
            (EventType::Created, _, true) => EventKind::Added,
            (EventType::Updated, true, true) => EventKind::Modified,
            (EventType::Updated, false, true) => EventKind::Added,
            (EventType::Updated, true, false) => EventKind::Deleted,
            (EventType::Deleted, _, true) => EventKind::Deleted,
            _ => return Ok(None),
        };
        Ok(Some(match converted {
            Some(conv) => self.render(kind.as_str(), conv),
            None if self.req.table.is_some() => self.render(kind.as_str(), obj.clone()),
            None => ev.line(kind),
        }))
    }

    /// The next chunk of the body, or `None` when the watch is over.
    async fn next(&mut self) -> Option<Bytes> {
        if let Some(obj) = self.initial.next() {
            return Some(self.render("ADDED", obj));
        }
        if let Some(line) = self.pending.pop_front() {
            return Some(line);
        }
        loop {
            let changes = self.changes.as_mut()?;
            let ev = tokio::select! {
                _ = &mut self.deadline => {
                    self.changes = None;
                    return None;
                }
                _ = &mut self.bookmark, if self.req.bookmarks => {
                    let r = self.req.info.resource;
                    let line = watch_line("BOOKMARK", &json!({
                        "kind": r.kind, "apiVersion": r.api_version(),
                        "metadata": { "resourceVersion": self.progress.to_string() }
                    }));
                    let now = tokio::time::Instant::now();
                    let at = next_bookmark(now, self.ends_at);
                    self.bookmark.as_mut().reset(at);
                    return Some(line);
                }
                ev = changes.next() => ev,
            };
            let Some(ev) = ev else {
                self.changes = None;
                return None;
            };
            // Coalesce whatever else is already waiting into one write: under load
            // this turns many small TLS records and wake-ups into one.
            let mut batch = BytesMut::new();
            let mut next = Some(ev);
            let mut taken = 0;
            while let Some(ev) = next.take() {
                match self.process(ev) {
                    Ok(Some(line)) => batch.extend_from_slice(&line),
                    Ok(None) => {}
                    Err(line) => {
                        self.changes = None;
                        if batch.is_empty() {
                            return Some(line);
                        }
                        self.pending.push_back(line);
                        return Some(batch.freeze());
                    }
                }
                taken += 1;
                if taken < MAX_BATCH {
                    next = self.changes.as_mut().and_then(|c| c.next().now_or_never().flatten());
                }
            }
            if !batch.is_empty() {
                return Some(batch.freeze());
            }
        }
    }
}
