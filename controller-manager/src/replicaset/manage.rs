//! Creating and deleting pods to match `spec.replicas`: creates in slow-start
//! batches (1, 2, 4, …) that stop at the first failure, deletes ranked as
//! upstream, both bounded by the burst and recorded as expectations first.

use std::sync::Arc;

use futures_util::future::join_all;
use kube::ResourceExt;
use kube::api::{DeleteParams, PostParams};

use super::{BURST_REPLICAS, Error, ReplicaSetController, ReplicatedKind};
use crate::cached_pod::CachedPod;
use crate::claim::{controller_of, controller_ref, is_namespace_terminating, is_not_found};
use crate::events::{NORMAL, WARNING};
use crate::informer::key_of;

impl<K: ReplicatedKind> ReplicaSetController<K> {
    pub(super) async fn manage_replicas(
        &self,
        key: &str,
        owner: &Arc<K>,
        pods: &[Arc<CachedPod>],
    ) -> Result<(), Error> {
        let want = usize::try_from(owner.replicas().max(0)).unwrap_or(0);
        let have = pods.len();
        if have < want {
            let diff = (want - have).min(BURST_REPLICAS);
            self.expectations.expect_creations(key, diff);
            let created = self.slow_start_create(key, owner, diff).await;
            let (succeeded, result) = match created {
                Ok(n) => (n, Ok(())),
                Err((n, err)) => (n, Err(err)),
            };
            // Creations that were never attempted or failed will not be observed.
            for _ in succeeded..diff {
                self.expectations.creation_observed(key);
            }
            return result;
        }
        if have > want {
            let diff = (have - want).min(BURST_REPLICAS);
            let related = self.related_pods(owner);
            let victims = crate::pods::pods_to_delete(pods, &related, diff);
            self.expectations.expect_deletions(key, victims.iter().map(|p| key_of(*p)));
            let namespace = owner.namespace().unwrap_or_default();
            let api = self.pods_api::<CachedPod>(&namespace);
            let results = join_all(victims.iter().map(|p| {
                let api = api.clone();
                let name = p.name_any();
                async move { (name.clone(), api.delete(&name, &DeleteParams::default()).await) }
            }))
            .await;
            let mut first_err = None;
            for (name, result) in results {
                match result {
                    Ok(_) => self.recorder.event(&**owner, NORMAL, "SuccessfulDelete", format!("Deleted pod: {name}")),
                    Err(err) => {
                        self.expectations.deletion_observed(key, &format!("{namespace}/{name}"));
                        if is_not_found(&err) {
                            continue;
                        }
                        self.recorder.event(&**owner, WARNING, "FailedDelete", format!("Error deleting: {err}"));
                        first_err.get_or_insert(err);
                    }
                }
            }
            if let Some(source) = first_err {
                return Err(Error::DeletePodsFailed { key: key.to_owned(), source });
            }
        }
        Ok(())
    }

    /// Creates `count` pods in batches of 1, 2, 4, …; `Ok(created)` or the
    /// number created before the first failing batch and its error.
    async fn slow_start_create(&self, key: &str, owner: &Arc<K>, count: usize) -> Result<usize, (usize, Error)> {
        let Some(template) = owner.template() else { return Ok(0) };
        let namespace = owner.namespace().unwrap_or_default();
        let api = self.pods_api(&namespace);
        let reference = controller_ref(&**owner);
        let pod = crate::pods::pod_from_template(template, &namespace, &owner.name_any(), reference);
        let mut remaining = count;
        let mut batch = remaining.min(1);
        let mut created = 0;
        while batch > 0 {
            let results = join_all((0..batch).map(|_| {
                let api = api.clone();
                let pod = pod.clone();
                async move { api.create(&PostParams::default(), &pod).await }
            }))
            .await;
            let mut first_err = None;
            for result in results {
                match result {
                    Ok(p) => {
                        created += 1;
                        self.recorder.event(
                            &**owner,
                            NORMAL,
                            "SuccessfulCreate",
                            format!("Created pod: {}", p.name_any()),
                        );
                    }
                    Err(err) if is_namespace_terminating(&err) => {}
                    Err(err) => {
                        self.recorder.event(&**owner, WARNING, "FailedCreate", format!("Error creating: {err}"));
                        first_err.get_or_insert(err);
                    }
                }
            }
            if let Some(source) = first_err {
                return Err((created, Error::CreatePodsFailed { key: key.to_owned(), source }));
            }
            remaining -= batch;
            batch = (2 * batch).min(remaining);
        }
        Ok(created)
    }

    /// Pods controlled by the replica sets that share this owner's controller.
    fn related_pods(&self, owner: &Arc<K>) -> Vec<Arc<CachedPod>> {
        let namespace = owner.namespace().unwrap_or_default();
        let pods = self.pods.list_namespace(&namespace);
        let Some(siblings) = &self.siblings else { return pods };
        let Some(parent) = controller_of(owner.meta()) else { return pods };
        let family: std::collections::HashSet<String> = siblings
            .list_namespace(&namespace)
            .into_iter()
            .filter(|rs| controller_of(&rs.metadata).is_some_and(|r| r.uid == parent.uid))
            .filter_map(|rs| rs.metadata.uid.clone())
            .collect();
        pods.into_iter().filter(|p| controller_of(&p.metadata).is_some_and(|r| family.contains(&r.uid))).collect()
    }
}
