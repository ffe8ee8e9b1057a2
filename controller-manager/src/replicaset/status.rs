//! Replica set status: counts of the claimed pods, the ReplicaFailure
//! condition while creates or deletes fail, written through `/status` only
//! when something changed.

use std::sync::Arc;

use kube::ResourceExt;
use kube::api::PostParams;
use rustkube_api::label_selector::LabelSelector;

use super::kind::{Condition, Status};
use super::{Error, ReplicaSetController, ReplicatedKind};
use crate::cached_pod::CachedPod;

/// The status `owner` should have given its claimed `pods`.
pub(super) fn calculate<K: ReplicatedKind>(
    owner: &K,
    pods: &[Arc<CachedPod>],
    manage_err: Option<&Error>,
    now: jiff::Timestamp,
) -> Status {
    let template_labels =
        owner.template().and_then(|t| t.metadata.as_ref()).and_then(|m| m.labels.clone()).unwrap_or_default();
    let fully = LabelSelector::from_match_labels(&template_labels);
    let min_ready = owner.min_ready_seconds();
    let count =
        |f: &dyn Fn(&CachedPod) -> bool| i32::try_from(pods.iter().filter(|p| f(p)).count()).unwrap_or(i32::MAX);
    let old = owner.status();
    let mut conditions = old.conditions.clone();
    let failure = conditions.iter().position(|c| c.type_ == "ReplicaFailure");
    match (manage_err, failure) {
        (Some(err), None) => {
            let reason = match err {
                Error::DeletePodsFailed { .. } => "FailedDelete",
                _ => "FailedCreate",
            };
            conditions.push(Condition {
                type_: "ReplicaFailure".into(),
                status: "True".into(),
                reason: Some(reason.into()),
                message: Some(err.to_string()),
                last_transition_time: Some(crate::deployment::util::now_time()),
            });
        }
        (None, Some(i)) => {
            conditions.remove(i);
        }
        _ => {}
    }
    Status {
        replicas: i32::try_from(pods.len()).unwrap_or(i32::MAX),
        fully_labeled_replicas: count(&|p| fully.matches_opt(p.metadata.labels.as_ref())),
        ready_replicas: count(&|p| crate::pods::is_ready(p)),
        available_replicas: count(&|p| crate::pods::is_available(p, min_ready, now)),
        observed_generation: old.observed_generation,
        conditions,
    }
}

impl<K: ReplicatedKind> ReplicaSetController<K> {
    /// Writes `status` (with observedGeneration) unless it is already there.
    pub(super) async fn update_status(&self, key: &str, owner: &Arc<K>, mut status: Status) -> Result<Arc<K>, Error> {
        let generation = owner.meta().generation.unwrap_or(0);
        status.observed_generation = generation;
        if owner.status() == status {
            return Ok(Arc::clone(owner));
        }
        let updated = owner.with_status(status);
        let api = self.owners_api(&owner.namespace().unwrap_or_default());
        match api.replace_status(&owner.name_any(), &PostParams::default(), &updated).await {
            Ok(written) => Ok(Arc::new(written)),
            Err(err) if crate::claim::is_not_found(&err) => Ok(Arc::clone(owner)),
            Err(source) => Err(Error::UpdateStatusFailed { key: key.to_owned(), source }),
        }
    }
}
