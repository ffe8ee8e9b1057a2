//! Shared informers, as client-go's `SharedInformerFactory`: one kube-rs
//! watcher per resource type, a local cache indexed by namespace, and change
//! handlers (added / updated / deleted, with the old object) for every
//! controller that asked for the type. Informers are created on demand by
//! the controllers that are enabled and started together; controllers wait
//! for their caches to sync before their workers run.

use std::any::{Any, type_name};
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex, RwLock};

use futures_util::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::watch;

/// A change an informer saw.
#[derive(Debug)]
pub enum Change<K> {
    Added(Arc<K>),
    Updated { old: Arc<K>, new: Arc<K> },
    Deleted(Arc<K>),
}

type Handler<K> = Box<dyn Fn(&Change<K>) + Send + Sync>;
type Items<K> = HashMap<String, HashMap<String, Arc<K>>>;

struct Shared<K> {
    /// The resource's plural name, for logs.
    resource: String,
    items: RwLock<Items<K>>,
    /// Held while dispatching, so a handler added late replays a consistent state.
    handlers: Mutex<Vec<Handler<K>>>,
    synced: watch::Sender<bool>,
    transform: fn(&mut K),
}

/// A cache of one resource type plus the handlers of every controller using it.
pub struct Informer<K: Resource> {
    api: Api<K>,
    /// What the list-watch asks for (a field selector, for a filtered informer).
    config: watcher::Config,
    shared: Arc<Shared<K>>,
}

impl<K: Resource + Clone> Clone for Informer<K> {
    fn clone(&self) -> Self {
        Self { api: self.api.clone(), config: self.config.clone(), shared: Arc::clone(&self.shared) }
    }
}

impl<K: Resource> Debug for Informer<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Informer").field("resource", &self.shared.resource).finish()
    }
}

/// Drops what no controller reads, as upstream strips managedFields (pods
/// are cached as [`crate::cached_pod::CachedPod`], which drops far more).
fn strip_managed_fields<K: Resource>(obj: &mut K) {
    obj.meta_mut().managed_fields = None;
}

fn namespace_of<K: Resource>(obj: &K) -> String {
    obj.meta().namespace.clone().unwrap_or_default()
}

fn name_of<K: Resource>(obj: &K) -> String {
    obj.meta().name.clone().unwrap_or_default()
}

impl<K> Informer<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    fn new(api: Api<K>, config: watcher::Config, resource: String, transform: fn(&mut K)) -> Self {
        let (synced, _) = watch::channel(false);
        Self {
            api,
            config,
            shared: Arc::new(Shared {
                resource,
                items: RwLock::default(),
                handlers: Mutex::default(),
                synced,
                transform,
            }),
        }
    }

    /// Adds a change handler; objects already cached are replayed to it as `Added`.
    /// Handlers must be quick (they enqueue keys) and must not read this informer.
    pub fn add_handler(&self, handler: impl Fn(&Change<K>) + Send + Sync + 'static) {
        let mut handlers = self.shared.handlers.lock().unwrap_or_else(|p| p.into_inner());
        for obj in self.list() {
            handler(&Change::Added(obj));
        }
        handlers.push(Box::new(handler));
    }

    /// The cached object `namespace/name` (`namespace` empty for cluster-scoped).
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        let items = self.shared.items.read().unwrap_or_else(|p| p.into_inner());
        items.get(namespace).and_then(|m| m.get(name)).cloned()
    }

    /// Every cached object in `namespace`.
    pub fn list_namespace(&self, namespace: &str) -> Vec<Arc<K>> {
        let items = self.shared.items.read().unwrap_or_else(|p| p.into_inner());
        items.get(namespace).map(|m| m.values().cloned().collect()).unwrap_or_default()
    }

    /// Every cached object.
    pub fn list(&self) -> Vec<Arc<K>> {
        let items = self.shared.items.read().unwrap_or_else(|p| p.into_inner());
        items.values().flat_map(|m| m.values().cloned()).collect()
    }

    pub fn len(&self) -> usize {
        let items = self.shared.items.read().unwrap_or_else(|p| p.into_inner());
        items.values().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn has_synced(&self) -> bool {
        *self.shared.synced.borrow()
    }

    /// Waits for the first complete list.
    pub async fn wait_synced(&self) {
        let mut rx = self.shared.synced.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    fn dispatch(&self, change: Change<K>) {
        let handlers = self.shared.handlers.lock().unwrap_or_else(|p| p.into_inner());
        {
            let mut items = self.shared.items.write().unwrap_or_else(|p| p.into_inner());
            match &change {
                Change::Added(obj) | Change::Updated { new: obj, .. } => {
                    items.entry(namespace_of(&**obj)).or_default().insert(name_of(&**obj), Arc::clone(obj));
                }
                Change::Deleted(obj) => {
                    let ns = namespace_of(&**obj);
                    if let Some(m) = items.get_mut(&ns) {
                        m.remove(&name_of(&**obj));
                        if m.is_empty() {
                            items.remove(&ns);
                        }
                    }
                }
            }
        }
        for handler in handlers.iter() {
            handler(&change);
        }
    }

    fn apply(&self, obj: K) {
        let obj = Arc::new(obj);
        let old = self.get(&namespace_of(&*obj), &name_of(&*obj));
        match old {
            Some(old) => self.dispatch(Change::Updated { old, new: obj }),
            None => self.dispatch(Change::Added(obj)),
        }
    }

    /// Replaces the cache with a fresh list, dispatching the differences.
    fn replace(&self, fresh: Items<K>) {
        let current: Vec<Arc<K>> = self.list();
        for old in current {
            let ns = namespace_of(&*old);
            let name = name_of(&*old);
            if !fresh.get(&ns).is_some_and(|m| m.contains_key(&name)) {
                self.dispatch(Change::Deleted(old));
            }
        }
        for obj in fresh.into_values().flat_map(HashMap::into_values) {
            let old = self.get(&namespace_of(&*obj), &name_of(&*obj));
            match old {
                Some(old) if old.meta().resource_version == obj.meta().resource_version => {}
                Some(old) => self.dispatch(Change::Updated { old, new: obj }),
                None => self.dispatch(Change::Added(obj)),
            }
        }
        self.shared.synced.send_replace(true);
    }

    /// Lists and watches until the task is aborted.
    async fn run(self) {
        let stream = watcher::watcher(self.api.clone(), self.config.clone()).default_backoff();
        futures_util::pin_mut!(stream);
        let mut buffer: Items<K> = HashMap::new();
        while let Some(event) = stream.next().await {
            match event {
                Ok(Event::Init) => buffer = HashMap::new(),
                Ok(Event::InitApply(mut obj)) => {
                    (self.shared.transform)(&mut obj);
                    buffer.entry(namespace_of(&obj)).or_default().insert(name_of(&obj), Arc::new(obj));
                }
                Ok(Event::InitDone) => self.replace(std::mem::take(&mut buffer)),
                Ok(Event::Apply(mut obj)) => {
                    (self.shared.transform)(&mut obj);
                    self.apply(obj);
                }
                Ok(Event::Delete(mut obj)) => {
                    (self.shared.transform)(&mut obj);
                    let cached = self.get(&namespace_of(&obj), &name_of(&obj));
                    self.dispatch(Change::Deleted(cached.unwrap_or_else(|| Arc::new(obj))));
                }
                Err(err) => tracing::warn!(resource = %self.shared.resource, error = %err, "watch failed"),
            }
        }
    }
}

/// What the garbage collector sees of any object: its identity and owners.
#[derive(Debug, Clone)]
pub struct MetaChange {
    pub meta: ObjectMeta,
    pub deleted: bool,
}

/// A metadata-only view of an informer of any type, for the garbage collector.
pub trait MetaSource: Send + Sync + Debug {
    /// Adds a handler receiving every change's metadata (cached objects replayed).
    fn add_meta_handler(&self, handler: Box<dyn Fn(MetaChange) + Send + Sync>);
    fn has_synced(&self) -> bool;
}

impl<K> MetaSource for Informer<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    fn add_meta_handler(&self, handler: Box<dyn Fn(MetaChange) + Send + Sync>) {
        self.add_handler(move |change| match change {
            Change::Added(o) | Change::Updated { new: o, .. } => {
                handler(MetaChange { meta: o.meta().clone(), deleted: false })
            }
            Change::Deleted(o) => handler(MetaChange { meta: o.meta().clone(), deleted: true }),
        });
    }

    fn has_synced(&self) -> bool {
        Informer::has_synced(self)
    }
}

/// `group/version/plural` naming a resource.
pub fn resource_key(api_version: &str, plural: &str) -> String {
    format!("{api_version}/{plural}")
}

type Starter = Box<dyn FnOnce() -> tokio::task::JoinHandle<()> + Send>;

#[derive(Default)]
struct FactoryState {
    typed: HashMap<String, Box<dyn Any + Send + Sync>>,
    meta: HashMap<String, Arc<dyn MetaSource>>,
    starters: Vec<(String, Starter)>,
    started: bool,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Hands out one informer per resource type and starts them.
#[derive(Clone)]
pub struct InformerFactory {
    client: kube::Client,
    state: Arc<Mutex<FactoryState>>,
}

impl Debug for InformerFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InformerFactory").finish_non_exhaustive()
    }
}

impl InformerFactory {
    pub fn new(client: kube::Client) -> Self {
        Self { client, state: Arc::default() }
    }

    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FactoryState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn register<K>(&self, state: &mut FactoryState, key: String, informer: &Informer<K>)
    where
        K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    {
        let runner = informer.clone();
        let start: Starter = Box::new(move || tokio::spawn(runner.run()));
        if state.started {
            state.tasks.push(start());
        } else {
            state.starters.push((key, start));
        }
    }

    /// The shared informer of typed resource `K` across all namespaces.
    pub fn informer<K>(&self) -> Informer<K>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    {
        self.typed_informer(None)
    }

    /// A shared informer of typed resource `K` holding only the objects that
    /// match `field_selector` (`metadata.name=kube-root-ca.crt`), as
    /// client-go's filtered informer factories: for a controller that cares
    /// about a few well-known objects of a type that is large to cache whole.
    /// It never serves as the garbage collector's metadata source, which must
    /// see every object.
    pub fn filtered_informer<K>(&self, field_selector: &str) -> Informer<K>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    {
        self.typed_informer(Some(field_selector))
    }

    fn typed_informer<K>(&self, field_selector: Option<&str>) -> Informer<K>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    {
        let mut key = resource_key(&K::api_version(&()), &K::plural(&()));
        let mut config = watcher::Config::default();
        let mut resource = K::plural(&()).into_owned();
        if let Some(selector) = field_selector {
            key = format!("{key}?fieldSelector={selector}");
            config = config.fields(selector);
            resource = format!("{resource} ({selector})");
        }
        // Keyed by Rust type too: two types decoding one resource (say `Pod`
        // and `CachedPod`) are two informers, never a failed downcast.
        let typed_key = format!("{key} {}", type_name::<K>());
        let mut state = self.lock();
        if let Some(existing) = state.typed.get(&typed_key).and_then(|b| b.downcast_ref::<Informer<K>>()) {
            return existing.clone();
        }
        let informer = Informer::new(Api::<K>::all(self.client.clone()), config, resource, strip_managed_fields);
        state.typed.insert(typed_key, Box::new(informer.clone()));
        if field_selector.is_none() {
            state.meta.entry(key.clone()).or_insert_with(|| Arc::new(informer.clone()));
        }
        self.register(&mut state, key, &informer);
        informer
    }

    /// A metadata source for any resource: the typed informer when one
    /// exists, else a dynamic one that keeps only metadata.
    pub fn meta_source(&self, resource: &ApiResource) -> Arc<dyn MetaSource> {
        let key = resource_key(&resource.api_version, &resource.plural);
        let mut state = self.lock();
        if let Some(existing) = state.meta.get(&key) {
            return Arc::clone(existing);
        }
        let api = Api::<DynamicObject>::all_with(self.client.clone(), resource);
        let informer: Informer<DynamicObject> =
            Informer::new(api, watcher::Config::default(), resource.plural.clone(), |o: &mut DynamicObject| {
                o.metadata.managed_fields = None;
                o.data = serde_json::Value::Null;
            });
        let source: Arc<dyn MetaSource> = Arc::new(informer.clone());
        state.meta.insert(key.clone(), Arc::clone(&source));
        self.register(&mut state, key, &informer);
        source
    }

    /// Starts every informer created so far; later ones start at once.
    pub fn start(&self) {
        let mut state = self.lock();
        state.started = true;
        let starters = std::mem::take(&mut state.starters);
        for (key, start) in starters {
            tracing::debug!(resource = %key, "starting informer");
            state.tasks.push(start());
        }
    }

    /// Stops every informer.
    pub fn shutdown(&self) {
        for task in self.lock().tasks.drain(..) {
            task.abort();
        }
    }
}

/// `namespace/name`, or `name` for cluster-scoped objects, as client-go's
/// `MetaNamespaceKeyFunc`.
pub fn key_of<K: Resource>(obj: &K) -> String {
    match obj.meta().namespace.as_deref() {
        Some(ns) if !ns.is_empty() => format!("{ns}/{}", obj.name_any()),
        _ => obj.name_any(),
    }
}

/// Splits a key made by [`key_of`].
pub fn split_key(key: &str) -> (&str, &str) {
    key.split_once('/').unwrap_or(("", key))
}
