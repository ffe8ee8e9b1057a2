//! Informer handlers of the replica set controller: owner changes enqueue
//! the owner; pod changes enqueue the pod's controller (resolved by uid) and
//! record observed creates and deletes, or, for orphans, every owner whose
//! selector matches.

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use super::{ReplicaSetController, ReplicatedKind};
use crate::cached_pod::CachedPod;
use crate::claim::controller_of;
use crate::expectations::Expectations;
use crate::informer::{Change, Informer, key_of};
use crate::queue::WorkQueue;

/// The key of the owner `r` names, when it is a `K` that exists with that uid.
fn resolve<K: ReplicatedKind>(owners: &Informer<K>, namespace: &str, r: &OwnerReference) -> Option<Arc<K>> {
    if r.kind != K::kind(&()) || r.api_version.split('/').next_back() != Some(&*K::version(&())) {
        return None;
    }
    owners.get(namespace, &r.name).filter(|o| o.meta().uid.as_deref() == Some(r.uid.as_str()))
}

fn ns(pod: &CachedPod) -> &str {
    pod.metadata.namespace.as_deref().unwrap_or("")
}

fn enqueue_matching<K: ReplicatedKind>(owners: &Informer<K>, queue: &WorkQueue, pod: &CachedPod) {
    for owner in owners.list_namespace(ns(pod)) {
        if owner.selector().is_ok_and(|s| s.matches_opt(pod.metadata.labels.as_ref())) {
            queue.add(key_of(&*owner));
        }
    }
}

fn pod_deleted<K: ReplicatedKind>(owners: &Informer<K>, queue: &WorkQueue, exp: &Expectations, pod: &CachedPod) {
    let Some(r) = controller_of(&pod.metadata) else { return };
    if let Some(owner) = resolve(owners, ns(pod), r) {
        let key = key_of(&*owner);
        exp.deletion_observed(&key, &key_of(pod));
        queue.add(key);
    }
}

pub(super) fn register<K: ReplicatedKind>(controller: &Arc<ReplicaSetController<K>>) {
    let queue = controller.queue.clone();
    let exp = Arc::clone(&controller.expectations);
    controller.owners.add_handler(move |change| match change {
        Change::Added(o) | Change::Updated { new: o, .. } => queue.add(key_of(&**o)),
        Change::Deleted(o) => {
            let key = key_of(&**o);
            exp.delete(&key);
            queue.add(key);
        }
    });

    let owners = controller.owners.clone();
    let queue = controller.queue.clone();
    let exp = Arc::clone(&controller.expectations);
    controller.pods.add_handler(move |change| match change {
        Change::Added(pod) => {
            if pod.metadata.deletion_timestamp.is_some() {
                pod_deleted(&owners, &queue, &exp, pod);
                return;
            }
            if let Some(r) = controller_of(&pod.metadata) {
                if let Some(owner) = resolve(&owners, ns(pod), r) {
                    let key = key_of(&*owner);
                    exp.creation_observed(&key);
                    queue.add(key);
                }
                return;
            }
            enqueue_matching(&owners, &queue, pod);
        }
        Change::Updated { old, new } => {
            if old.metadata.resource_version == new.metadata.resource_version {
                return;
            }
            let labels_changed = old.metadata.labels != new.metadata.labels;
            if new.metadata.deletion_timestamp.is_some() {
                pod_deleted(&owners, &queue, &exp, new);
                if labels_changed {
                    pod_deleted(&owners, &queue, &exp, old);
                }
                return;
            }
            let old_ref = controller_of(&old.metadata);
            let new_ref = controller_of(&new.metadata);
            let ref_changed = old_ref.map(|r| &r.uid) != new_ref.map(|r| &r.uid);
            if ref_changed
                && let Some(r) = old_ref
                && let Some(owner) = resolve(&owners, ns(old), r)
            {
                queue.add(key_of(&*owner));
            }
            if let Some(r) = new_ref {
                if let Some(owner) = resolve(&owners, ns(new), r) {
                    queue.add(key_of(&*owner));
                }
                return;
            }
            if labels_changed || ref_changed {
                enqueue_matching(&owners, &queue, new);
            }
        }
        Change::Deleted(pod) => pod_deleted(&owners, &queue, &exp, pod),
    });
}
