//! Informer handlers of the deployment controller: deployment changes
//! enqueue it; replica set changes enqueue their controlling deployment (or,
//! for orphans, every deployment whose selector matches); pod deletions
//! enqueue the deployment of the pod's replica set (Recreate waits on them).

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use rustkube_api::label_selector::LabelSelector;

use super::DeploymentController;
use crate::claim::controller_of;
use crate::informer::{Change, Informer, key_of};
use crate::queue::WorkQueue;

fn resolve(deployments: &Informer<Deployment>, namespace: &str, r: &OwnerReference) -> Option<Arc<Deployment>> {
    if r.kind != "Deployment" {
        return None;
    }
    deployments.get(namespace, &r.name).filter(|d| d.metadata.uid.as_deref() == Some(r.uid.as_str()))
}

fn enqueue_owner_or_matching(deployments: &Informer<Deployment>, queue: &WorkQueue, rs: &ReplicaSet) {
    let namespace = rs.metadata.namespace.as_deref().unwrap_or("");
    if let Some(r) = controller_of(&rs.metadata) {
        if let Some(d) = resolve(deployments, namespace, r) {
            queue.add(key_of(&*d));
        }
        return;
    }
    for d in deployments.list_namespace(namespace) {
        let selector = d.spec.as_ref().map(|s| &s.selector);
        if LabelSelector::from_meta(selector)
            .is_ok_and(|s| !s.is_everything() && s.matches_opt(rs.metadata.labels.as_ref()))
        {
            queue.add(key_of(&*d));
        }
    }
}

pub(super) fn register(controller: &Arc<DeploymentController>) {
    let queue = controller.queue.clone();
    controller.deployments.add_handler(move |change| match change {
        Change::Added(d) | Change::Updated { new: d, .. } | Change::Deleted(d) => queue.add(key_of(&**d)),
    });

    let deployments = controller.deployments.clone();
    let queue = controller.queue.clone();
    let weak = Arc::downgrade(controller);
    controller.rss.add_handler(move |change| match change {
        Change::Added(rs) => enqueue_owner_or_matching(&deployments, &queue, rs),
        Change::Updated { old, new } => {
            if old.metadata.resource_version == new.metadata.resource_version {
                return;
            }
            let old_ref = controller_of(&old.metadata).map(|r| r.uid.clone());
            let new_ref = controller_of(&new.metadata).map(|r| r.uid.clone());
            if old_ref != new_ref || old.metadata.labels != new.metadata.labels {
                enqueue_owner_or_matching(&deployments, &queue, old);
            }
            enqueue_owner_or_matching(&deployments, &queue, new);
        }
        Change::Deleted(rs) => {
            if let (Some(c), Some(uid)) = (weak.upgrade(), rs.metadata.uid.as_deref()) {
                c.forget_written(uid);
            }
            enqueue_owner_or_matching(&deployments, &queue, rs);
        }
    });

    let deployments = controller.deployments.clone();
    let rss = controller.rss.clone();
    let queue = controller.queue.clone();
    controller.pods.add_handler(move |change| {
        let Change::Deleted(pod) = change else { return };
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("");
        let Some(r) = controller_of(&pod.metadata).filter(|r| r.kind == "ReplicaSet") else { return };
        let Some(rs) = rss.get(namespace, &r.name).filter(|rs| rs.metadata.uid.as_deref() == Some(r.uid.as_str()))
        else {
            return;
        };
        if let Some(dr) = controller_of(&rs.metadata)
            && let Some(d) = resolve(&deployments, namespace, dr)
        {
            let recreate =
                d.spec.as_ref().and_then(|s| s.strategy.as_ref()).and_then(|s| s.type_.as_deref()) == Some("Recreate");
            if recreate {
                queue.add(key_of(&*d));
            }
        }
    });
}
