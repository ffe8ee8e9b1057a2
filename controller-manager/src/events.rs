//! Event recording, as client-go's `tools/record`: controllers emit core/v1
//! Events (reason, message, type) about the objects they act on without
//! waiting; a background sink writes them, bumping `count` and
//! `lastTimestamp` of the previous Event instead of creating a new one when
//! the same event repeats, and drops events when it falls too far behind.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use tokio::sync::mpsc;

/// Normal events.
pub const NORMAL: &str = "Normal";
/// Warning events.
pub const WARNING: &str = "Warning";

/// How many events may wait for the sink before new ones are dropped (upstream: 1000).
const QUEUE_LEN: usize = 1000;
/// How many distinct events are remembered for coalescing.
const CACHE_LEN: usize = 4096;

#[derive(Debug)]
struct Pending {
    component: String,
    object: ObjectReference,
    type_: String,
    reason: String,
    message: String,
}

type CacheKey = (String, String, String, String, String, String, String);

#[derive(Debug)]
struct Seen {
    name: String,
    namespace: String,
    count: i32,
}

/// Writes recorded events to the API.
#[derive(Debug, Clone)]
pub struct Broadcaster {
    tx: mpsc::Sender<Pending>,
    host: Arc<str>,
}

impl Broadcaster {
    /// Starts the sink task writing through `client`.
    pub fn start(client: kube::Client) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE_LEN);
        tokio::spawn(sink(client, rx));
        let host =
            std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_owned()).unwrap_or_default();
        Self { tx, host: host.into() }
    }

    /// A recorder reporting as `component` (e.g. `deployment-controller`).
    pub fn recorder(&self, component: &str) -> Recorder {
        Recorder { component: component.to_owned(), tx: Some(self.tx.clone()), _host: Arc::clone(&self.host) }
    }
}

/// Records events for one controller.
#[derive(Debug, Clone)]
pub struct Recorder {
    component: String,
    tx: Option<mpsc::Sender<Pending>>,
    _host: Arc<str>,
}

impl Recorder {
    /// A recorder that discards everything (unit tests).
    pub fn discard() -> Self {
        Self { component: String::new(), tx: None, _host: Arc::from("") }
    }

    /// Records an event about `obj`; never blocks.
    pub fn event<K>(&self, obj: &K, type_: &str, reason: &str, message: impl Into<String>)
    where
        K: Resource<DynamicType = ()>,
    {
        let Some(tx) = &self.tx else { return };
        let meta = obj.meta();
        let object = ObjectReference {
            api_version: Some(K::api_version(&()).into_owned()),
            kind: Some(K::kind(&()).into_owned()),
            name: meta.name.clone(),
            namespace: meta.namespace.clone(),
            uid: meta.uid.clone(),
            resource_version: meta.resource_version.clone(),
            ..Default::default()
        };
        let pending = Pending {
            component: self.component.clone(),
            object,
            type_: type_.to_owned(),
            reason: reason.to_owned(),
            message: message.into(),
        };
        if tx.try_send(pending).is_err() {
            tracing::debug!(component = %self.component, reason, "event queue full, dropping event");
        }
    }
}

fn cache_key(p: &Pending) -> CacheKey {
    (
        p.component.clone(),
        p.object.kind.clone().unwrap_or_default(),
        p.object.namespace.clone().unwrap_or_default(),
        p.object.name.clone().unwrap_or_default(),
        p.object.uid.clone().unwrap_or_default(),
        p.reason.clone(),
        p.message.clone(),
    )
}

async fn sink(client: kube::Client, mut rx: mpsc::Receiver<Pending>) {
    let cache: Mutex<HashMap<CacheKey, Seen>> = Mutex::default();
    while let Some(pending) = rx.recv().await {
        let key = cache_key(&pending);
        let now = Time(jiff::Timestamp::now());
        let seen = cache.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
        if let Some(seen) = seen {
            let api: Api<Event> = Api::namespaced(client.clone(), &seen.namespace);
            let patch = serde_json::json!({"count": seen.count + 1, "lastTimestamp": now});
            match api.patch(&seen.name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(_) => {
                    let mut c = cache.lock().unwrap_or_else(|p| p.into_inner());
                    c.insert(key, Seen { count: seen.count + 1, ..seen });
                    continue;
                }
                Err(err) => tracing::debug!(error = %err, "updating event failed, creating a new one"),
            }
        }
        let namespace = pending.object.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "default".into());
        let nanos = jiff::Timestamp::now().as_nanosecond();
        let name = format!("{}.{:x}", pending.object.name.clone().unwrap_or_default(), nanos);
        let event = Event {
            metadata: ObjectMeta { name: Some(name.clone()), namespace: Some(namespace.clone()), ..Default::default() },
            involved_object: pending.object,
            reason: Some(pending.reason),
            message: Some(pending.message),
            type_: Some(pending.type_),
            source: Some(EventSource { component: Some(pending.component.clone()), host: None }),
            first_timestamp: Some(now.clone()),
            last_timestamp: Some(now),
            count: Some(1),
            reporting_component: Some(pending.component),
            reporting_instance: Some(String::new()),
            ..Default::default()
        };
        let api: Api<Event> = Api::namespaced(client.clone(), &namespace);
        match api.create(&PostParams::default(), &event).await {
            Ok(created) => {
                let mut c = cache.lock().unwrap_or_else(|p| p.into_inner());
                if c.len() >= CACHE_LEN {
                    c.clear();
                }
                c.insert(key, Seen { name: created.name_any(), namespace, count: 1 });
            }
            Err(err) => tracing::debug!(error = %err, "writing event failed"),
        }
    }
}
