//! The garbage collector, as upstream's `pkg/controller/garbagecollector`:
//! watches every resource discovery lists (custom resources included),
//! keeps the ownership graph, deletes dependents whose owners are gone
//! (checked by uid against the live API), runs foreground deletion (the
//! `foregroundDeletion` finalizer: blocking dependents first) and orphaning
//! (the `orphan` finalizer: ownerReferences stripped from dependents).

mod delete;
pub mod graph;
mod orphan;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use crate::controller::{Action, ControllerContext, ControllerRun, Reconciler, Stop};
use crate::discovery::{self, Resources};
use crate::informer::{InformerFactory, MetaChange};
use crate::queue::WorkQueue;
use graph::{Graph, Node, Work};

/// How often discovery is re-run to pick up new resources (upstream: 30 s).
const DISCOVERY_RESYNC: Duration = Duration::from_secs(30);
/// How many absent owner uids are remembered.
const ABSENT_CACHE: usize = 10_000;

/// Resources the collector never watches (upstream ignores events).
fn ignored(group: &str, plural: &str) -> bool {
    plural == "events" && (group.is_empty() || group == "events.k8s.io")
}

/// Errors of one attempt.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no resource for apiVersion {api_version} kind {kind} in discovery")]
    UnknownKind { api_version: String, kind: String },
    #[error("getting {kind} {namespace}/{name}: {source}")]
    GetFailed {
        kind: String,
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("patching {kind} {namespace}/{name}: {source}")]
    PatchFailed {
        kind: String,
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("deleting {kind} {namespace}/{name}: {source}")]
    DeleteFailed {
        kind: String,
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
}

/// The collector.
pub struct GarbageCollector {
    client: kube::Client,
    informers: InformerFactory,
    graph: Mutex<Graph>,
    resources: RwLock<Resources>,
    watched: Mutex<HashSet<String>>,
    absent: Mutex<HashSet<String>>,
    delete_queue: WorkQueue,
    orphan_queue: WorkQueue,
}

impl std::fmt::Debug for GarbageCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GarbageCollector").finish_non_exhaustive()
    }
}

/// Constructs the `garbage-collector-controller`.
pub fn new_controller(ctx: &ControllerContext) -> Result<ControllerRun, String> {
    let gc = Arc::new(GarbageCollector {
        client: ctx.client.clone(),
        informers: ctx.informers.clone(),
        graph: Mutex::default(),
        resources: RwLock::default(),
        watched: Mutex::default(),
        absent: Mutex::default(),
        delete_queue: WorkQueue::new("garbage_collector_attempt_to_delete", ctx.queue_metrics.clone()),
        orphan_queue: WorkQueue::new("garbage_collector_attempt_to_orphan", ctx.queue_metrics.clone()),
    });
    let workers = ctx.options.concurrent_gc_syncs;
    let stop = ctx.stop.clone();
    Ok(Box::pin(async move { gc.run(workers, stop).await }))
}

struct DeleteWorker(Arc<GarbageCollector>);
struct OrphanWorker(Arc<GarbageCollector>);

impl Reconciler for DeleteWorker {
    type Error = Error;
    async fn reconcile(&self, uid: &str) -> Result<Action, Error> {
        self.0.attempt_to_delete(uid).await
    }
}

impl Reconciler for OrphanWorker {
    type Error = Error;
    async fn reconcile(&self, uid: &str) -> Result<Action, Error> {
        self.0.attempt_to_orphan(uid).await
    }
}

impl GarbageCollector {
    async fn run(self: Arc<Self>, workers: usize, mut stop: Stop) {
        // Discovery until it works.
        loop {
            match self.resync_discovery().await {
                Ok(()) => break,
                Err(err) => tracing::warn!(error = %err, "garbage collector discovery failed, retrying"),
            }
            tokio::select! {
                _ = stop.wait() => return,
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
        }
        self.wait_sources_synced(&mut stop).await;
        if stop.is_stopped() {
            return;
        }
        tracing::info!(
            objects = self.graph.lock().map(|g| g.len()).unwrap_or(0),
            "garbage collector: all resource monitors have synced"
        );
        let refresher = {
            let gc = Arc::clone(&self);
            let mut stop = stop.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = stop.wait() => return,
                        _ = tokio::time::sleep(DISCOVERY_RESYNC) => {}
                    }
                    if let Err(err) = gc.resync_discovery().await {
                        tracing::warn!(error = %err, "garbage collector discovery resync failed");
                    }
                }
            })
        };
        let deleter = crate::controller::run_workers(
            Arc::new(DeleteWorker(Arc::clone(&self))),
            self.delete_queue.clone(),
            workers,
            stop.clone(),
        );
        let orphaner = crate::controller::run_workers(
            Arc::new(OrphanWorker(Arc::clone(&self))),
            self.orphan_queue.clone(),
            workers,
            stop.clone(),
        );
        tokio::join!(deleter, orphaner);
        refresher.abort();
    }

    async fn wait_sources_synced(&self, stop: &mut Stop) {
        loop {
            let sources: Vec<_> = {
                let watched = self.watched.lock().unwrap_or_else(|p| p.into_inner());
                let resources = self.resources.read().unwrap_or_else(|p| p.into_inner());
                resources
                    .all
                    .iter()
                    .filter(|r| watched.contains(&r.key()))
                    .map(|r| self.informers.meta_source(&r.api))
                    .collect()
            };
            if sources.iter().all(|s| s.has_synced()) {
                return;
            }
            tokio::select! {
                _ = stop.wait() => return,
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
        }
    }

    /// Runs discovery and starts monitoring resources not yet watched.
    async fn resync_discovery(self: &Arc<Self>) -> Result<(), discovery::Error> {
        let resources = discovery::discover(&self.client).await?;
        let to_watch: Vec<discovery::Resource> = resources
            .preferred()
            .filter(|r| r.supports("list") && r.supports("watch") && r.supports("delete"))
            .filter(|r| !ignored(&r.api.group, &r.api.plural))
            .cloned()
            .collect();
        *self.resources.write().unwrap_or_else(|p| p.into_inner()) = resources;
        for resource in to_watch {
            let key = resource.key();
            if !self.watched.lock().unwrap_or_else(|p| p.into_inner()).insert(key.clone()) {
                continue;
            }
            tracing::debug!(resource = %key, "garbage collector monitoring resource");
            let source = self.informers.meta_source(&resource.api);
            let weak: Weak<Self> = Arc::downgrade(self);
            let api_version = resource.api.api_version.clone();
            let kind = resource.api.kind.clone();
            source.add_meta_handler(Box::new(move |change: MetaChange| {
                if let Some(gc) = weak.upgrade() {
                    gc.observe(&api_version, &kind, &change);
                }
            }));
        }
        Ok(())
    }

    fn observe(&self, api_version: &str, kind: &str, change: &MetaChange) {
        let uid = change.meta.uid.clone().unwrap_or_default();
        let work = {
            let mut graph = self.graph.lock().unwrap_or_else(|p| p.into_inner());
            if change.deleted {
                graph.remove(&uid)
            } else {
                graph.upsert(Node::from_meta(api_version, kind, &change.meta))
            }
        };
        self.enqueue(work);
    }

    fn enqueue(&self, work: Work) {
        for uid in work.attempt_to_delete {
            self.delete_queue.add(uid);
        }
        for uid in work.attempt_to_orphan {
            self.orphan_queue.add(uid);
        }
    }

    fn node(&self, uid: &str) -> Option<Node> {
        self.graph.lock().unwrap_or_else(|p| p.into_inner()).get(uid).cloned()
    }

    fn resource_for(&self, api_version: &str, kind: &str) -> Result<discovery::Resource, Error> {
        self.resources
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .for_kind(api_version, kind)
            .cloned()
            .ok_or_else(|| Error::UnknownKind { api_version: api_version.to_owned(), kind: kind.to_owned() })
    }

    fn remember_absent(&self, uid: &str) {
        let mut absent = self.absent.lock().unwrap_or_else(|p| p.into_inner());
        if absent.len() >= ABSENT_CACHE {
            absent.clear();
        }
        absent.insert(uid.to_owned());
    }

    fn known_absent(&self, uid: &str) -> bool {
        self.absent.lock().unwrap_or_else(|p| p.into_inner()).contains(uid)
    }
}
