//! The watches that feed the cache and the queue (upstream `eventhandlers.go`):
//! nodes, pods, claims, volumes, storage classes, namespaces and budgets,
//! each a kube-rs watcher whose relists (`Init` … `InitDone`) replace the
//! cached set, so missed events and 410s heal themselves.

use std::collections::HashSet;
use std::fmt::Debug;
use std::sync::Arc;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use crate::cache::{Objects, node_change_relevant};
use crate::pod_info::{PodInfo, pod_key};
use crate::queue::ClusterEvent;
use crate::scheduler::Scheduler;

/// A change delivered by a watch, with relists as a whole set.
#[derive(Debug)]
pub enum Change<K> {
    Apply(K),
    Delete(K),
    Relisted(Vec<K>),
}

/// How many watches exist (the scheduler waits until all have listed).
pub const WATCHES: usize = 7;

/// Runs one watch forever, handing changes to `handle` and counting the first complete list in `synced`.
pub async fn run_watch<K, F>(api: Api<K>, what: &'static str, synced: watch::Sender<usize>, mut handle: F)
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
    F: FnMut(Change<K>) + Send,
{
    let mut stream = watcher(api, watcher::Config::default()).default_backoff().boxed();
    let mut buffer: Vec<K> = Vec::new();
    let mut first = true;
    while let Some(ev) = stream.next().await {
        match ev {
            Ok(watcher::Event::Init) => buffer.clear(),
            Ok(watcher::Event::InitApply(o)) => buffer.push(o),
            Ok(watcher::Event::InitDone) => {
                handle(Change::Relisted(std::mem::take(&mut buffer)));
                if first {
                    first = false;
                    synced.send_modify(|n| *n += 1);
                    tracing::info!(resource = what, "caches populated");
                }
            }
            Ok(watcher::Event::Apply(o)) => handle(Change::Apply(o)),
            Ok(watcher::Event::Delete(o)) => handle(Change::Delete(o)),
            Err(e) => tracing::warn!(resource = what, error = %e, "watch failed; retrying"),
        }
    }
}

type ObjectMap<K> = std::collections::HashMap<String, Arc<K>>;

fn pvcs(o: &mut Objects) -> &mut ObjectMap<PersistentVolumeClaim> {
    &mut o.pvcs
}
fn pvs(o: &mut Objects) -> &mut ObjectMap<PersistentVolume> {
    &mut o.pvs
}
fn storage_classes(o: &mut Objects) -> &mut ObjectMap<StorageClass> {
    &mut o.storage_classes
}
fn pdbs(o: &mut Objects) -> &mut ObjectMap<PodDisruptionBudget> {
    &mut o.pdbs
}

fn is_terminal(pod: &Pod) -> bool {
    matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed"))
}

fn name_of<K: Resource>(o: &K) -> String {
    o.meta().name.clone().unwrap_or_default()
}

fn ns_key<K: Resource>(o: &K) -> String {
    format!("{}/{}", o.meta().namespace.as_deref().unwrap_or(""), o.meta().name.as_deref().unwrap_or(""))
}

impl Scheduler {
    fn lock_cache(&self) -> std::sync::MutexGuard<'_, crate::cache::Cache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies a node change.
    pub fn on_node(&self, change: Change<Node>) {
        match change {
            Change::Apply(node) => {
                let name = name_of(&node);
                let event = {
                    let mut cache = self.lock_cache();
                    let old = cache.node(&name).and_then(|n| n.node.clone());
                    let event = match &old {
                        None => Some(ClusterEvent::NodeAdd),
                        Some(o) if node_change_relevant(o, &node) => Some(ClusterEvent::NodeUpdate),
                        Some(_) => None,
                    };
                    cache.upsert_node(Arc::new(node));
                    event
                };
                if let Some(e) = event {
                    self.queue.move_on_event(e);
                }
            }
            Change::Delete(node) => self.lock_cache().remove_node(&name_of(&node)),
            Change::Relisted(nodes) => {
                self.lock_cache().sync_nodes(nodes.into_iter().map(Arc::new).collect());
                self.queue.move_on_event(ClusterEvent::NodeAdd);
            }
        }
    }

    /// Applies a pod change: bound pods go to the cache, pending ones of our profiles to the queue.
    pub fn on_pod(&self, change: Change<Pod>) {
        match change {
            Change::Apply(pod) => self.apply_pod(pod),
            Change::Delete(pod) => self.delete_pod(&pod_key(&pod)),
            Change::Relisted(pods) => {
                let mut bound = Vec::new();
                let mut keys = HashSet::new();
                for pod in pods {
                    if is_terminal(&pod) {
                        continue;
                    }
                    let info = Arc::new(PodInfo::new(Arc::new(pod)));
                    keys.insert(info.key.clone());
                    if info.node_name().is_some() {
                        bound.push(info);
                    } else if self.responsible_for(&info) && !info.is_terminating() {
                        self.set_nominated(&info, info.nominated_node_name());
                        if !self.lock_cache().is_assumed(&info.key) {
                            self.queue.add_or_update(info);
                        }
                    }
                }
                for b in &bound {
                    self.queue.delete(&b.key);
                }
                self.lock_cache().sync_pods(bound);
                self.queue.retain(|k| keys.contains(k));
                self.queue.move_on_event(ClusterEvent::AssignedPodDelete);
            }
        }
    }

    fn apply_pod(&self, pod: Pod) {
        let key = pod_key(&pod);
        if is_terminal(&pod) {
            self.delete_pod(&key);
            return;
        }
        let info = Arc::new(PodInfo::new(Arc::new(pod)));
        if info.node_name().is_some() {
            self.queue.delete(&key);
            self.set_nominated(&info, None);
            let affinity_related = !info.labels.is_empty();
            self.lock_cache().add_or_update_pod(info);
            if affinity_related {
                self.queue.move_on_event(ClusterEvent::AssignedPodAdd);
            }
        } else if self.responsible_for(&info) {
            if info.is_terminating() {
                self.queue.delete(&key);
                return;
            }
            if self.lock_cache().is_assumed(&key) {
                return;
            }
            self.set_nominated(&info, info.nominated_node_name());
            self.queue.add_or_update(info);
        }
    }

    fn delete_pod(&self, key: &str) {
        self.queue.delete(key);
        let was_placed = {
            let mut cache = self.lock_cache();
            let placed = cache.pod_node(key).is_some();
            cache.remove_pod(key);
            placed
        };
        let mut nominated = self.nominated.lock().unwrap_or_else(|p| p.into_inner());
        for pods in nominated.values_mut() {
            pods.retain(|p| p.key != key);
        }
        drop(nominated);
        if was_placed {
            self.queue.move_on_event(ClusterEvent::AssignedPodDelete);
        }
    }

    /// Starts every watch; `synced` counts those that have listed.
    pub fn start_watches(
        self: &Arc<Self>,
        client: kube::Client,
        synced: watch::Sender<usize>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::new();
        let me = Arc::clone(self);
        tasks.push(tokio::spawn(run_watch(Api::<Node>::all(client.clone()), "nodes", synced.clone(), move |c| {
            me.on_node(c)
        })));
        let me = Arc::clone(self);
        tasks.push(tokio::spawn(run_watch(Api::<Pod>::all(client.clone()), "pods", synced.clone(), move |c| {
            me.on_pod(c)
        })));
        let me = Arc::clone(self);
        tasks.push(tokio::spawn(run_watch(
            Api::<PersistentVolumeClaim>::all(client.clone()),
            "persistentvolumeclaims",
            synced.clone(),
            move |c| {
                me.objects(c, pvcs, ns_key, ClusterEvent::VolumeChange);
            },
        )));
        let me = Arc::clone(self);
        tasks.push(tokio::spawn(run_watch(
            Api::<PersistentVolume>::all(client.clone()),
            "persistentvolumes",
            synced.clone(),
            move |c| me.objects(c, pvs, name_of, ClusterEvent::VolumeChange),
        )));
        let me = Arc::clone(self);
        tasks.push(tokio::spawn(run_watch(
            Api::<StorageClass>::all(client.clone()),
            "storageclasses",
            synced.clone(),
            move |c| me.objects(c, storage_classes, name_of, ClusterEvent::VolumeChange),
        )));
        let me = Arc::clone(self);
        tasks.push(tokio::spawn(run_watch(
            Api::<PodDisruptionBudget>::all(client.clone()),
            "poddisruptionbudgets",
            synced.clone(),
            move |c| me.objects(c, pdbs, ns_key, ClusterEvent::PdbChange),
        )));
        let me = Arc::clone(self);
        tasks.push(tokio::spawn(run_watch(Api::<Namespace>::all(client), "namespaces", synced, move |c| {
            me.on_namespace(c)
        })));
        tasks
    }

    fn objects<K: Resource + Clone>(
        &self,
        change: Change<K>,
        map: fn(&mut Objects) -> &mut ObjectMap<K>,
        key: fn(&K) -> String,
        event: ClusterEvent,
    ) {
        {
            let mut cache = self.lock_cache();
            let m = map(&mut cache.objects);
            match change {
                Change::Apply(o) => {
                    m.insert(key(&o), Arc::new(o));
                }
                Change::Delete(o) => {
                    m.remove(&key(&o));
                }
                Change::Relisted(list) => {
                    m.clear();
                    for o in list {
                        m.insert(key(&o), Arc::new(o));
                    }
                }
            }
        }
        self.queue.move_on_event(event);
    }

    fn on_namespace(&self, change: Change<Namespace>) {
        {
            let mut cache = self.lock_cache();
            let m = &mut cache.objects.namespaces;
            match change {
                Change::Apply(ns) => {
                    m.insert(name_of(&ns), ns.metadata.labels.clone().unwrap_or_default());
                }
                Change::Delete(ns) => {
                    m.remove(&name_of(&ns));
                }
                Change::Relisted(list) => {
                    m.clear();
                    for ns in list {
                        m.insert(name_of(&ns), ns.metadata.labels.clone().unwrap_or_default());
                    }
                }
            }
        }
        self.queue.move_on_event(ClusterEvent::NamespaceChange);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KubeSchedulerConfiguration;
    use crate::testing::{node, pod};

    fn sched() -> Arc<Scheduler> {
        let mut cfg = KubeSchedulerConfiguration::default();
        cfg.default_and_validate().unwrap();
        crate::in_process_scheduler(&cfg).unwrap()
    }

    #[tokio::test]
    async fn only_our_pending_pods_are_queued_and_bound_ones_move_to_the_cache() {
        let s = sched();
        s.on_node(Change::Apply(node("n1").alloc("cpu", "1").build()));
        s.on_pod(Change::Apply(pod("mine").build()));
        s.on_pod(Change::Apply(pod("theirs").scheduler("other-scheduler").build()));
        assert!(s.queue.contains("default/mine"));
        assert!(!s.queue.contains("default/theirs"));
        s.on_pod(Change::Apply(pod("mine").req("cpu", "500m").on_node("n1").build()));
        assert!(!s.queue.contains("default/mine"));
        assert_eq!(s.lock_cache().node("n1").unwrap().requested.milli_cpu, 500);
        let mut done = pod("mine").req("cpu", "500m").on_node("n1").build();
        done.status =
            Some(k8s_openapi::api::core::v1::PodStatus { phase: Some("Succeeded".into()), ..Default::default() });
        s.on_pod(Change::Apply(done));
        assert_eq!(s.lock_cache().node("n1").unwrap().requested.milli_cpu, 0, "a finished pod frees its node");
    }

    #[tokio::test]
    async fn a_relist_replaces_what_was_missed() {
        let s = sched();
        s.on_node(Change::Relisted(vec![node("n1").build(), node("n2").build()]));
        s.on_pod(Change::Relisted(vec![pod("a").build(), pod("b").on_node("n1").build()]));
        assert!(s.queue.contains("default/a"));
        assert_eq!(s.lock_cache().node("n1").unwrap().pods.len(), 1);
        // Both pods were deleted while the watch was down; n2 went too.
        s.on_pod(Change::Relisted(vec![]));
        s.on_node(Change::Relisted(vec![node("n1").build()]));
        assert!(!s.queue.contains("default/a"));
        assert!(s.lock_cache().node("n1").unwrap().pods.is_empty());
        assert_eq!(s.lock_cache().num_nodes(), 1);
    }

    #[tokio::test]
    async fn deleting_a_bound_pod_retries_pods_waiting_for_room() {
        let s = sched();
        s.on_node(Change::Apply(node("n1").alloc("cpu", "1").build()));
        s.on_pod(Change::Apply(pod("big").req("cpu", "1").on_node("n1").build()));
        s.on_pod(Change::Apply(pod("waiting").req("cpu", "1").build()));
        let qp = s.queue.pop().await.unwrap();
        assert!(matches!(s.schedule_one(qp), crate::scheduler::Outcome::Unschedulable(_)));
        assert_eq!(s.queue.depths().unschedulable, 1);
        s.on_pod(Change::Delete(pod("big").req("cpu", "1").on_node("n1").build()));
        assert_eq!(s.queue.depths().unschedulable, 0, "moved back by the delete");
    }
}
