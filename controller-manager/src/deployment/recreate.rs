//! The Recreate strategy, as upstream's `recreate.go`: scale every old
//! replica set to zero, wait until none of their pods exist, then create
//! and scale up the new one.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::ResourceExt;

use super::util::*;
use super::{DeploymentController, Error, Family};
use crate::claim::controller_of;
use crate::controller::Action;

impl DeploymentController {
    pub(super) async fn rollout_recreate(
        &self,
        original: &Deployment,
        mut d: Deployment,
        rss: Vec<ReplicaSet>,
    ) -> Result<Action, Error> {
        let mut family = self.family(&mut d, rss, false).await?;
        let mut scaled = false;
        for i in family.old_indices() {
            if rs_replicas(&family.rss[i]) > 0 && self.scale_rs_and_record(&d, &mut family, i, 0).await? {
                scaled = true;
            }
        }
        if scaled || self.old_pods_running(&d, &family) {
            return self.sync_rollout_status(original, d, family).await;
        }
        if family.new.is_none() {
            let rss = std::mem::take(&mut family.rss);
            family = self.family(&mut d, rss, true).await?;
        }
        if let Some(i) = family.new {
            self.scale_rs_and_record(&d, &mut family, i, replicas(&d)).await?;
        }
        if deployment_complete(&d, &d.status.clone().unwrap_or_default()) {
            self.cleanup(&d, &family).await?;
        }
        self.sync_rollout_status(original, d, family).await
    }

    /// Whether any pod of an old replica set still exists and has not terminated.
    fn old_pods_running(&self, d: &Deployment, family: &Family) -> bool {
        if family.old().any(|rs| rs_status_replicas(rs) > 0) {
            return true;
        }
        let old: std::collections::HashSet<&str> = family.old().filter_map(|rs| rs.metadata.uid.as_deref()).collect();
        self.pods.list_namespace(&d.namespace().unwrap_or_default()).iter().any(|p| {
            let phase = p.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("");
            controller_of(&p.metadata).is_some_and(|r| old.contains(r.uid.as_str()))
                && phase != "Failed"
                && phase != "Succeeded"
        })
    }
}
