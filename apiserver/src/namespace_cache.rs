//! Which namespaces exist and which are terminating, kept from a list+watch
//! of storage so that creating an object need not read its namespace from
//! storage first (upstream's NamespaceLifecycle uses an informer the same
//! way). A name the cache does not know is looked up live by the caller, so
//! a namespace created a moment ago is never refused.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::StreamExt;
use rustkube_storage::{EventType, ListOptions, Revision, Store};

const PREFIX: &str = "/registry/namespaces/";

#[derive(Debug, Default)]
struct Known {
    synced: bool,
    /// name → terminating (has a deletionTimestamp)
    namespaces: HashMap<String, bool>,
}

/// The cache; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct NamespaceCache {
    known: Arc<RwLock<Known>>,
}

/// What the cache knows of one namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Active,
    Terminating,
    /// Not synced yet, or not seen: ask storage.
    Unknown,
}

impl NamespaceCache {
    /// Starts keeping the cache from `storage` in the background.
    pub fn spawn(storage: Arc<dyn Store>) -> Self {
        let cache = NamespaceCache::default();
        tokio::spawn(cache.clone().run(storage));
        cache
    }

    pub fn lookup(&self, name: &str) -> Lookup {
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        if !known.synced {
            return Lookup::Unknown;
        }
        match known.namespaces.get(name) {
            Some(true) => Lookup::Terminating,
            Some(false) => Lookup::Active,
            None => Lookup::Unknown,
        }
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
        let list = storage.list(&ListOptions { prefix: PREFIX.to_owned(), ..Default::default() }).await?;
        let revision: Revision = list.revision;
        {
            let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
            known.namespaces =
                list.items.iter().filter_map(|kv| Some((name_of(&kv.key)?, terminating(&kv.value)))).collect();
            known.synced = true;
        }
        let mut watch = storage.watch(PREFIX, revision).await?;
        while let Some(event) = watch.next().await {
            let event = event?;
            let Some(name) = name_of(&event.kv.key) else { continue };
            let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
            match event.event_type {
                EventType::Deleted => {
                    known.namespaces.remove(&name);
                }
                _ => {
                    known.namespaces.insert(name, terminating(&event.kv.value));
                }
            }
        }
        Ok(())
    }
}

fn name_of(key: &str) -> Option<String> {
    key.strip_prefix(PREFIX).filter(|n| !n.is_empty() && !n.contains('/')).map(str::to_owned)
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
        let cache = NamespaceCache::spawn(Arc::clone(&storage));
        let settle = |want: Lookup, name: &'static str| {
            let cache = cache.clone();
            async move {
                for _ in 0..200 {
                    if cache.lookup(name) == want {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                panic!("namespace {name} never became {want:?}; it is {:?}", cache.lookup(name));
            }
        };
        settle(Lookup::Active, "a").await;
        assert_eq!(cache.lookup("missing"), Lookup::Unknown);
        storage.create("/registry/namespaces/b", Bytes::from_static(br#"{"metadata":{"name":"b"}}"#)).await.unwrap();
        settle(Lookup::Active, "b").await;
        storage
            .update(
                "/registry/namespaces/b",
                Bytes::from_static(br#"{"metadata":{"name":"b","deletionTimestamp":"2026-01-01T00:00:00Z"}}"#),
                None,
            )
            .await
            .unwrap();
        settle(Lookup::Terminating, "b").await;
        storage.delete("/registry/namespaces/b", None).await.unwrap();
        settle(Lookup::Unknown, "b").await;
    }
}
