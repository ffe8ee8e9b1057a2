//! In-memory backend: full MVCC semantics without persistence, for unit tests.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;

use crate::hub::{EventLog, Hub};
use crate::keys::{check_key, check_size, dir_prefix, range_end};
use crate::{Error, EventType, KeyValue, ListOptions, ListResult, Result, Revision, Store, WatchEvent, WatchStream};

/// One version of a key in its history.
#[derive(Clone, Debug)]
struct Version {
    revision: Revision,
    create_revision: Revision,
    /// `None` marks a deletion.
    value: Option<Bytes>,
}

#[derive(Debug, Default)]
struct State {
    revision: Revision,
    compacted: Revision,
    /// Every key's versions, oldest first.
    keys: BTreeMap<String, Vec<Version>>,
    /// Which key changed at each revision (the event log).
    log: BTreeMap<Revision, String>,
}

impl State {
    fn latest(&self, key: &str) -> Option<&Version> {
        self.keys.get(key).and_then(|v| v.last())
    }

    fn live(&self, key: &str) -> Option<KeyValue> {
        let v = self.latest(key)?;
        Some(kv(key, v.value.clone()?, v))
    }

    fn version_at(versions: &[Version], revision: Revision) -> Option<&Version> {
        let idx = versions.partition_point(|v| v.revision <= revision);
        idx.checked_sub(1).map(|i| &versions[i])
    }

    fn event_at(&self, revision: Revision) -> Option<WatchEvent> {
        let key = self.log.get(&revision)?;
        let versions = self.keys.get(key)?;
        let idx = versions.iter().position(|v| v.revision == revision)?;
        let this = &versions[idx];
        let prev = idx.checked_sub(1).map(|i| &versions[i]).and_then(|p| Some(kv(key, p.value.clone()?, p)));
        Some(match &this.value {
            Some(value) => WatchEvent {
                event_type: if prev.is_some() { EventType::Updated } else { EventType::Created },
                kv: kv(key, value.clone(), this),
                prev,
            },
            None => {
                let last = prev.clone()?;
                WatchEvent { event_type: EventType::Deleted, kv: KeyValue { mod_revision: revision, ..last }, prev }
            }
        })
    }

    fn apply(&mut self, key: &str, value: Option<Bytes>, create_revision: Revision) -> WatchEvent {
        self.revision += 1;
        let revision = self.revision;
        self.keys.entry(key.to_owned()).or_default().push(Version { revision, create_revision, value });
        self.log.insert(revision, key.to_owned());
        self.event_at(revision).expect("event just written")
    }

    fn compact(&mut self, revision: Revision) {
        let revision = revision.min(self.revision);
        if revision <= self.compacted {
            return;
        }
        self.keys.retain(|_, versions| {
            // Keep the version visible at `revision` (unless it is a deletion) and everything after.
            let visible = versions.partition_point(|v| v.revision <= revision);
            let mut keep_from = visible.saturating_sub(1);
            if versions.get(keep_from).is_some_and(|v| v.revision <= revision && v.value.is_none()) {
                keep_from += 1;
            }
            versions.drain(..keep_from);
            !versions.is_empty()
        });
        self.log = self.log.split_off(&(revision + 1));
        self.compacted = revision;
    }
}

fn kv(key: &str, value: Bytes, v: &Version) -> KeyValue {
    KeyValue { key: key.to_owned(), value, create_revision: v.create_revision, mod_revision: v.revision }
}

/// Shared by the store and its watchers' catch-up reads.
#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl EventLog for Shared {
    async fn read_events(
        &self,
        prefix: &str,
        after: Revision,
        upto: Revision,
        limit: usize,
    ) -> Result<Vec<WatchEvent>> {
        let state = self.lock();
        if after < state.compacted {
            return Err(Error::Compacted { requested: after, compacted: state.compacted });
        }
        let end = range_end(prefix);
        let mut out = Vec::new();
        for (rev, key) in state.log.range((Bound::Excluded(after), Bound::Included(upto))) {
            if key.as_str() >= prefix && key.as_str() < end.as_str() {
                if let Some(ev) = state.event_at(*rev) {
                    out.push(ev);
                }
                if out.len() == limit {
                    break;
                }
            }
        }
        Ok(out)
    }
}

/// The in-memory store.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    shared: Arc<Shared>,
    hub: Arc<Hub>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store at revision 0 whose watch ring holds 4096 events.
    pub fn new() -> Self {
        Self::with_watch_capacity(4096)
    }

    /// An empty store whose watch ring holds `capacity` events (older ones are
    /// served from the history until compacted).
    pub fn with_watch_capacity(capacity: usize) -> Self {
        MemoryStore { shared: Arc::default(), hub: Arc::new(Hub::new(0, capacity.max(1))) }
    }

    fn write<T>(&self, f: impl FnOnce(&mut State) -> Result<(T, WatchEvent)>) -> Result<T> {
        let mut state = self.shared.lock();
        let (out, event) = f(&mut state)?;
        // Publish under the lock so events reach the hub in revision order.
        self.hub.publish(vec![event]);
        Ok(out)
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue> {
        check_key(key)?;
        check_size(key, &value)?;
        self.write(|state| {
            if state.live(key).is_some() {
                return Err(Error::AlreadyExists { key: key.to_owned() });
            }
            let ev = state.apply(key, Some(value), state.revision + 1);
            Ok((ev.kv.clone(), ev))
        })
    }

    async fn get(&self, key: &str) -> Result<KeyValue> {
        check_key(key)?;
        self.shared.lock().live(key).ok_or_else(|| Error::NotFound { key: key.to_owned() })
    }

    async fn update(&self, key: &str, value: Bytes, expected: Option<Revision>) -> Result<KeyValue> {
        check_key(key)?;
        check_size(key, &value)?;
        self.write(|state| {
            let current = state.live(key).ok_or_else(|| Error::NotFound { key: key.to_owned() })?;
            if let Some(expected) = expected.filter(|e| *e != current.mod_revision) {
                return Err(Error::Conflict { key: key.to_owned(), expected, current: current.mod_revision });
            }
            let ev = state.apply(key, Some(value), current.create_revision);
            Ok((ev.kv.clone(), ev))
        })
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<KeyValue> {
        check_key(key)?;
        self.write(|state| {
            let current = state.live(key).ok_or_else(|| Error::NotFound { key: key.to_owned() })?;
            if let Some(expected) = expected.filter(|e| *e != current.mod_revision) {
                return Err(Error::Conflict { key: key.to_owned(), expected, current: current.mod_revision });
            }
            let ev = state.apply(key, None, current.create_revision);
            Ok((ev.kv.clone(), ev))
        })
    }

    async fn list(&self, opts: &ListOptions) -> Result<ListResult> {
        let prefix = dir_prefix(&opts.prefix);
        let end = range_end(&prefix);
        let state = self.shared.lock();
        let revision = match opts.revision {
            Some(r) if r < state.compacted => {
                return Err(Error::Compacted { requested: r, compacted: state.compacted });
            }
            Some(r) => r.min(state.revision),
            None => state.revision,
        };
        let start = match &opts.start_key {
            Some(k) if k.as_str() > prefix.as_str() => k.clone(),
            _ => prefix.clone(),
        };
        if start >= end {
            return Ok(ListResult { revision, ..ListResult::default() });
        }
        let limit = opts.limit.filter(|l| *l > 0).unwrap_or(usize::MAX);
        let mut items = Vec::new();
        let mut next_key = None;
        let mut remaining = 0u64;
        for (key, versions) in state.keys.range((Bound::Included(start), Bound::Excluded(end))) {
            let Some(v) = State::version_at(versions, revision) else { continue };
            let Some(value) = v.value.clone() else { continue };
            if items.len() == limit {
                if next_key.is_none() {
                    next_key =
                        Some(format!("{}\0", items.last().map(|i: &KeyValue| i.key.as_str()).unwrap_or_default()));
                }
                remaining += 1;
                continue;
            }
            items.push(kv(key, value, v));
        }
        Ok(ListResult { items, revision, remaining: next_key.as_ref().map(|_| remaining), next_key })
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        let compacted = self.shared.lock().compacted;
        if after < compacted {
            return Err(Error::Compacted { requested: after, compacted });
        }
        Ok(self.hub.watch(Arc::clone(&self.shared), prefix, after))
    }

    async fn current_revision(&self) -> Result<Revision> {
        Ok(self.shared.lock().revision)
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        self.shared.lock().compact(revision);
        Ok(())
    }
}
