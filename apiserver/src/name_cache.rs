//! Small informers for admission: what admission needs to know of every
//! object of one cluster-scoped resource (a namespace's phase, a
//! PriorityClass's value), kept from a list+watch of storage so that a
//! create need not read storage first (upstream's admission plugins use
//! informers the same way). A name the cache does not know is looked up live
//! by the caller, so an object created a moment ago is never refused.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::StreamExt;
use rustkube_storage::{EventType, ListOptions, Revision, Store};
use serde::Deserialize as _;

#[derive(Debug)]
struct Known<T> {
    synced: bool,
    objects: HashMap<String, T>,
}

/// The cache of one resource, each object reduced to a `T`; cheap to clone.
#[derive(Debug)]
pub struct NameCache<T> {
    prefix: &'static str,
    project: fn(&[u8]) -> Option<T>,
    known: Arc<RwLock<Known<T>>>,
}

impl<T> Clone for NameCache<T> {
    fn clone(&self) -> Self {
        NameCache { prefix: self.prefix, project: self.project, known: Arc::clone(&self.known) }
    }
}

impl<T: Clone + Send + Sync + 'static> NameCache<T> {
    /// Starts keeping the objects under storage `prefix` (`/registry/namespaces/`),
    /// reduced by `project`, in the background.
    pub fn spawn(storage: Arc<dyn Store>, prefix: &'static str, project: fn(&[u8]) -> Option<T>) -> Self {
        let cache = NameCache {
            prefix,
            project,
            known: Arc::new(RwLock::new(Known { synced: false, objects: HashMap::new() })),
        };
        tokio::spawn(cache.clone().run(storage));
        cache
    }

    /// What is known of `name`; `None` when not synced or not seen (ask storage).
    pub fn get(&self, name: &str) -> Option<T> {
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        if !known.synced {
            return None;
        }
        known.objects.get(name).cloned()
    }

    /// The first object matching `pred`; `Err(())` when not synced yet.
    #[allow(clippy::result_unit_err)]
    pub fn find(&self, pred: impl Fn(&T) -> bool) -> Result<Option<(String, T)>, ()> {
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        if !known.synced {
            return Err(());
        }
        Ok(known.objects.iter().find(|(_, v)| pred(v)).map(|(k, v)| (k.clone(), v.clone())))
    }

    async fn run(self, storage: Arc<dyn Store>) {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.list_then_watch(storage.as_ref()).await {
                Ok(()) => backoff = Duration::from_millis(100),
                Err(err) => tracing::warn!(error = %err, "namespace cache interrupted; relisting"),
            }
            self.known.write().unwrap_or_else(|e| e.into_inner()).synced = false;
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    async fn list_then_watch(&self, storage: &dyn Store) -> rustkube_storage::Result<()> {
        let list = storage.list(&ListOptions { prefix: self.prefix.to_owned(), ..Default::default() }).await?;
        let revision: Revision = list.revision;
        {
            let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
            known.objects = list
                .items
                .iter()
                .filter_map(|kv| Some((name_of(self.prefix, &kv.key)?, (self.project)(&kv.value)?)))
                .collect();
            known.synced = true;
        }
        let mut watch = storage.watch(self.prefix, revision).await?;
        while let Some(event) = watch.next().await {
            let event = event?;
            let Some(name) = name_of(self.prefix, &event.kv.key) else { continue };
            let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
            match (event.event_type, (self.project)(&event.kv.value)) {
                (EventType::Deleted, _) | (_, None) => {
                    known.objects.remove(&name);
                }
                (_, Some(v)) => {
                    known.objects.insert(name, v);
                }
            }
        }
        Ok(())
    }
}

fn name_of(prefix: &str, key: &str) -> Option<String> {
    key.strip_prefix(prefix).filter(|n| !n.is_empty() && !n.contains('/')).map(str::to_owned)
}

/// A namespace reduced to whether it is terminating (has a deletionTimestamp).
pub fn namespace_terminating(value: &[u8]) -> Option<bool> {
    Some(terminating(value))
}

/// What Priority admission needs of a PriorityClass.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriorityClassInfo {
    #[serde(default)]
    pub value: i64,
    #[serde(default = "default_preemption_policy")]
    pub preemption_policy: String,
    #[serde(default)]
    pub global_default: bool,
}

fn default_preemption_policy() -> String {
    "PreemptLowerPriority".to_owned()
}

impl PriorityClassInfo {
    /// From a decoded PriorityClass object.
    pub fn of(class: &serde_json::Value) -> Option<Self> {
        Self::deserialize(class).ok()
    }
}

/// A stored PriorityClass reduced to [`PriorityClassInfo`].
pub fn priority_class(value: &[u8]) -> Option<PriorityClassInfo> {
    serde_json::from_slice(value).ok()
}

fn terminating(value: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Meta {
        #[serde(rename = "deletionTimestamp")]
        deletion_timestamp: Option<serde::de::IgnoredAny>,
    }
    #[derive(serde::Deserialize)]
    struct Object {
        metadata: Option<Meta>,
    }
    serde_json::from_slice::<Object>(value)
        .ok()
        .and_then(|o| o.metadata)
        .is_some_and(|m| m.deletion_timestamp.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[tokio::test]
    async fn follows_creates_terminations_and_deletes() {
        let storage: Arc<dyn Store> = Arc::new(rustkube_storage::memory::MemoryStore::new());
        storage.create("/registry/namespaces/a", Bytes::from_static(br#"{"metadata":{"name":"a"}}"#)).await.unwrap();
        let cache = NameCache::spawn(Arc::clone(&storage), "/registry/namespaces/", namespace_terminating);
        let settle = |want: Option<bool>, name: &'static str| {
            let cache = cache.clone();
            async move {
                for _ in 0..200 {
                    if cache.get(name) == want {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                panic!("namespace {name} never became {want:?}; it is {:?}", cache.get(name));
            }
        };
        settle(Some(false), "a").await;
        assert_eq!(cache.get("missing"), None);
        storage.create("/registry/namespaces/b", Bytes::from_static(br#"{"metadata":{"name":"b"}}"#)).await.unwrap();
        settle(Some(false), "b").await;
        storage
            .update(
                "/registry/namespaces/b",
                Bytes::from_static(br#"{"metadata":{"name":"b","deletionTimestamp":"2026-01-01T00:00:00Z"}}"#),
                None,
            )
            .await
            .unwrap();
        settle(Some(true), "b").await;
        storage.delete("/registry/namespaces/b", None).await.unwrap();
        settle(None, "b").await;
    }
}
