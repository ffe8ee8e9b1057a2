//! The RollingUpdate strategy, as upstream's `rolling.go`: grow the new
//! replica set within maxSurge, shrink old ones while at least
//! `replicas - maxUnavailable` pods stay available, unhealthy ones first.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};

use super::sync::new_rs_new_replicas;
use super::util::*;
use super::{DeploymentController, Error, Family};
use crate::controller::Action;

/// Available pods an old replica set can count on: never more than its
/// (already lowered) spec, so a status not yet caught up with a scale-down
/// is not counted twice.
fn counted_available(rs: &ReplicaSet) -> i32 {
    rs_available(rs).min(rs_replicas(rs))
}

impl DeploymentController {
    pub(super) async fn rollout_rolling(
        &self,
        original: &Deployment,
        mut d: Deployment,
        rss: Vec<ReplicaSet>,
    ) -> Result<Action, Error> {
        let mut family = self.family(&mut d, rss, true).await?;
        if self.reconcile_new_rs(&d, &mut family).await? {
            return self.sync_rollout_status(original, d, family).await;
        }
        if self.reconcile_old_rss(&d, &mut family).await? {
            return self.sync_rollout_status(original, d, family).await;
        }
        if deployment_complete(&d, &d.status.clone().unwrap_or_default()) {
            self.cleanup(&d, &family).await?;
        }
        self.sync_rollout_status(original, d, family).await
    }

    async fn reconcile_new_rs(&self, d: &Deployment, family: &mut Family) -> Result<bool, Error> {
        let Some(i) = family.new else { return Ok(false) };
        let want = replicas(d);
        let have = rs_replicas(&family.rss[i]);
        if have == want {
            return Ok(false);
        }
        if have > want {
            return self.scale_rs_and_record(d, family, i, want).await;
        }
        let target = new_rs_new_replicas(d, &family.rss, i);
        self.scale_rs_and_record(d, family, i, target).await
    }

    async fn reconcile_old_rss(&self, d: &Deployment, family: &mut Family) -> Result<bool, Error> {
        let old_count = sum_replicas(family.old());
        if old_count == 0 {
            return Ok(false);
        }
        let all_count = sum_replicas(&family.rss);
        let min_available = replicas(d) - max_unavailable(d);
        let new_unavailable = family.new_rs().map(|rs| rs_replicas(rs) - rs_available(rs)).unwrap_or(0);
        let max_scaled_down = all_count - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return Ok(false);
        }
        let cleaned = self.cleanup_unhealthy(d, family, max_scaled_down).await?;
        let scaled = self.scale_down_old_for_rolling(d, family).await?;
        Ok(cleaned + scaled > 0)
    }

    /// Scales down old replica sets' pods that are not available, oldest first.
    async fn cleanup_unhealthy(&self, d: &Deployment, family: &mut Family, max_cleanup: i32) -> Result<i32, Error> {
        let mut old = family.old_indices();
        old.sort_by(|a, b| by_creation(&family.rss[*a], &family.rss[*b]));
        let mut total = 0;
        for i in old {
            if total >= max_cleanup {
                break;
            }
            let rs = &family.rss[i];
            let spec = rs_replicas(rs);
            let available = counted_available(rs);
            if spec == 0 || spec == available {
                continue;
            }
            let down = (max_cleanup - total).min(spec - available);
            self.scale_rs_and_record(d, family, i, spec - down).await?;
            total += down;
        }
        Ok(total)
    }

    /// Scales down old replica sets while enough pods stay available.
    async fn scale_down_old_for_rolling(&self, d: &Deployment, family: &mut Family) -> Result<i32, Error> {
        let min_available = replicas(d) - max_unavailable(d);
        let available: i32 = family.rss.iter().map(counted_available).sum();
        if available <= min_available {
            return Ok(0);
        }
        let total_down = available - min_available;
        let mut old = family.old_indices();
        old.sort_by(|a, b| by_creation(&family.rss[*a], &family.rss[*b]));
        let mut done = 0;
        for i in old {
            if done >= total_down {
                break;
            }
            let spec = rs_replicas(&family.rss[i]);
            if spec == 0 {
                continue;
            }
            let down = spec.min(total_down - done);
            self.scale_rs_and_record(d, family, i, spec - down).await?;
            done += down;
        }
        Ok(done)
    }
}
