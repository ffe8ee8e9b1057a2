//! Orphaning, as upstream's `attemptToOrphan`: an owner deleted with the
//! `orphan` finalizer has its uid removed from every dependent's
//! ownerReferences, then the finalizer removed so it can go.

use super::graph::ORPHAN;
use super::{Error, GarbageCollector};
use crate::controller::Action;

impl GarbageCollector {
    pub(super) async fn attempt_to_orphan(&self, uid: &str) -> Result<Action, Error> {
        let Some(owner) = self.node(uid) else { return Ok(Action::Done) };
        let dependents = self.graph.lock().unwrap_or_else(|p| p.into_inner()).dependents(uid);
        for dep_uid in dependents {
            let Some(dep) = self.node(&dep_uid) else { continue };
            let Some(latest) = self.latest(&dep.identity).await? else { continue };
            let refs = latest.metadata.owner_references.clone().unwrap_or_default();
            if !refs.iter().any(|r| r.uid == uid) {
                continue;
            }
            let keep: Vec<_> = refs.into_iter().filter(|r| r.uid != uid).collect();
            tracing::info!(kind = %dep.identity.kind, namespace = %dep.identity.namespace, name = %dep.identity.name, owner = %owner.identity.name, "orphaning dependent");
            self.patch_metadata(&dep.identity, &latest, serde_json::json!({ "ownerReferences": keep })).await?;
        }
        let Some(latest) = self.latest(&owner.identity).await? else { return Ok(Action::Done) };
        if latest.metadata.finalizers.iter().flatten().any(|f| f == ORPHAN) {
            self.remove_finalizer(&owner.identity, &latest, ORPHAN).await?;
        }
        Ok(Action::Done)
    }
}
