//! Attempting to delete one object, as upstream's `attemptToDeleteItem`:
//! classify its owners (solid, dangling by uid, waiting for dependents) from
//! the graph or, for owners never seen, the live API; drop references to
//! gone owners when a solid one remains, else delete it with the policy its
//! own finalizers ask for; and finish foreground deletions whose blocking
//! dependents are gone.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams, Preconditions, PropagationPolicy};

use super::graph::{FOREGROUND, Identity, ORPHAN};
use super::{Error, GarbageCollector};
use crate::claim::{is_conflict, is_not_found};
use crate::controller::Action;

enum OwnerState {
    Solid,
    Dangling,
    Waiting,
}

impl GarbageCollector {
    /// The object as the API has it now; `None` when gone or replaced (other uid).
    pub(super) async fn latest(&self, id: &Identity) -> Result<Option<DynamicObject>, Error> {
        let resource = self.resource_for(&id.api_version, &id.kind)?;
        let api = resource.api(&self.client, &id.namespace);
        match api.get_opt(&id.name).await {
            Ok(Some(obj)) if obj.metadata.uid.as_deref() == Some(id.uid.as_str()) => Ok(Some(obj)),
            Ok(_) => Ok(None),
            Err(source) => Err(Error::GetFailed {
                kind: id.kind.clone(),
                namespace: id.namespace.clone(),
                name: id.name.clone(),
                source: Box::new(source),
            }),
        }
    }

    /// A merge patch of `obj`'s metadata, conditional on its uid and resourceVersion.
    pub(super) async fn patch_metadata(
        &self,
        id: &Identity,
        obj: &DynamicObject,
        metadata: serde_json::Value,
    ) -> Result<(), Error> {
        let resource = self.resource_for(&id.api_version, &id.kind)?;
        let api = resource.api(&self.client, &id.namespace);
        let mut metadata = metadata;
        metadata["uid"] = serde_json::json!(obj.metadata.uid);
        metadata["resourceVersion"] = serde_json::json!(obj.metadata.resource_version);
        let patch = serde_json::json!({ "metadata": metadata });
        match api.patch(&id.name, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(_) => Ok(()),
            Err(err) if is_not_found(&err) => Ok(()),
            Err(source) => Err(Error::PatchFailed {
                kind: id.kind.clone(),
                namespace: id.namespace.clone(),
                name: id.name.clone(),
                source: Box::new(source),
            }),
        }
    }

    /// Removes `finalizer` from `obj`.
    pub(super) async fn remove_finalizer(
        &self,
        id: &Identity,
        obj: &DynamicObject,
        finalizer: &str,
    ) -> Result<(), Error> {
        let finalizers: Vec<String> =
            obj.metadata.finalizers.clone().unwrap_or_default().into_iter().filter(|f| f != finalizer).collect();
        tracing::info!(kind = %id.kind, namespace = %id.namespace, name = %id.name, finalizer, "removing finalizer");
        self.patch_metadata(id, obj, serde_json::json!({ "finalizers": finalizers })).await
    }

    async fn delete_object(&self, id: &Identity, policy: PropagationPolicy) -> Result<(), Error> {
        let resource = self.resource_for(&id.api_version, &id.kind)?;
        let api = resource.api(&self.client, &id.namespace);
        tracing::info!(kind = %id.kind, namespace = %id.namespace, name = %id.name, uid = %id.uid, policy = ?policy, "garbage collecting object");
        let dp = DeleteParams {
            propagation_policy: Some(policy),
            preconditions: Some(Preconditions { uid: Some(id.uid.clone()), resource_version: None }),
            ..Default::default()
        };
        match api.delete(&id.name, &dp).await {
            Ok(_) => Ok(()),
            Err(err) if is_not_found(&err) || is_conflict(&err) => Ok(()),
            Err(source) => Err(Error::DeleteFailed {
                kind: id.kind.clone(),
                namespace: id.namespace.clone(),
                name: id.name.clone(),
                source: Box::new(source),
            }),
        }
    }

    async fn owner_state(&self, dependent: &Identity, r: &OwnerReference) -> Result<OwnerState, Error> {
        if let Some(owner) = self.node(&r.uid) {
            return Ok(if owner.deleting_dependents { OwnerState::Waiting } else { OwnerState::Solid });
        }
        if self.known_absent(&r.uid) {
            return Ok(OwnerState::Dangling);
        }
        let resource = self.resource_for(&r.api_version, &r.kind)?;
        let namespace = if resource.namespaced { dependent.namespace.clone() } else { String::new() };
        let id = Identity {
            api_version: r.api_version.clone(),
            kind: r.kind.clone(),
            namespace,
            name: r.name.clone(),
            uid: r.uid.clone(),
        };
        match self.latest(&id).await? {
            None => {
                self.remember_absent(&r.uid);
                Ok(OwnerState::Dangling)
            }
            Some(owner) => {
                let deleting = owner.metadata.deletion_timestamp.is_some()
                    && owner.metadata.finalizers.iter().flatten().any(|f| f == FOREGROUND);
                Ok(if deleting { OwnerState::Waiting } else { OwnerState::Solid })
            }
        }
    }

    pub(super) async fn attempt_to_delete(&self, uid: &str) -> Result<Action, Error> {
        let Some(node) = self.node(uid) else { return Ok(Action::Done) };
        let id = node.identity.clone();
        let Some(latest) = self.latest(&id).await? else { return Ok(Action::Done) };
        let finalizers = latest.metadata.finalizers.clone().unwrap_or_default();
        let being_deleted = latest.metadata.deletion_timestamp.is_some();
        if being_deleted && finalizers.iter().any(|f| f == FOREGROUND) {
            return self.process_deleting_dependents(&id, &latest).await;
        }
        if being_deleted {
            return Ok(Action::Done);
        }
        let owners = latest.metadata.owner_references.clone().unwrap_or_default();
        if owners.is_empty() {
            return Ok(Action::Done);
        }
        let (mut solid, mut gone, mut waiting) = (Vec::new(), Vec::new(), Vec::new());
        for r in &owners {
            match self.owner_state(&id, r).await? {
                OwnerState::Solid => solid.push(r.uid.clone()),
                OwnerState::Dangling => gone.push(r.uid.clone()),
                OwnerState::Waiting => waiting.push(r.uid.clone()),
            }
        }
        if !solid.is_empty() {
            if gone.is_empty() && waiting.is_empty() {
                return Ok(Action::Done);
            }
            let keep: Vec<&OwnerReference> = owners.iter().filter(|r| solid.contains(&r.uid)).collect();
            tracing::info!(kind = %id.kind, namespace = %id.namespace, name = %id.name, "removing references to deleted owners");
            self.patch_metadata(&id, &latest, serde_json::json!({ "ownerReferences": keep })).await?;
            return Ok(Action::Done);
        }
        let has_dependents = !self.graph.lock().unwrap_or_else(|p| p.into_inner()).dependents(uid).is_empty();
        let policy = if !waiting.is_empty() && has_dependents {
            PropagationPolicy::Foreground
        } else if finalizers.iter().any(|f| f == ORPHAN) {
            PropagationPolicy::Orphan
        } else if finalizers.iter().any(|f| f == FOREGROUND) {
            PropagationPolicy::Foreground
        } else {
            PropagationPolicy::Background
        };
        self.delete_object(&id, policy).await?;
        Ok(Action::Done)
    }

    /// A foreground deletion: delete blocking dependents, or, when none are
    /// left, remove the `foregroundDeletion` finalizer.
    async fn process_deleting_dependents(
        &self,
        id: &Identity,
        latest: &kube::api::DynamicObject,
    ) -> Result<Action, Error> {
        let blocking = self.graph.lock().unwrap_or_else(|p| p.into_inner()).blocking_dependents(&id.uid);
        if blocking.is_empty() {
            self.remove_finalizer(id, latest, FOREGROUND).await?;
            return Ok(Action::Done);
        }
        for dependent in blocking {
            if !dependent.being_deleted || dependent.deleting_dependents {
                self.delete_queue.add(dependent.identity.uid.clone());
            }
        }
        Ok(Action::Done)
    }
}
