//! Rollout progress, as upstream's `progress.go`: the Progressing condition
//! (created / found / updated / available / deadline exceeded), the paused
//! condition, and a requeue at the progress deadline.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

use super::sync::calculate_status;
use super::util::*;
use super::{DeploymentController, Error, Family};
use crate::controller::Action;

impl DeploymentController {
    /// Sets the DeploymentPaused / DeploymentResumed Progressing condition.
    pub(super) fn check_paused_conditions(&self, d: &mut Deployment) {
        if progress_deadline(d).is_none() {
            return;
        }
        let paused = is_paused(d);
        let status = d.status.get_or_insert_with(Default::default);
        let cond = condition(status, "Progressing");
        if cond.is_some_and(|c| c.reason.as_deref() == Some(TIMED_OUT)) {
            return;
        }
        let paused_cond = cond.is_some_and(|c| c.reason.as_deref() == Some(PAUSED));
        if paused && !paused_cond {
            set_condition(status, new_condition("Progressing", "Unknown", PAUSED, "Deployment is paused".into()));
        } else if !paused && paused_cond {
            set_condition(status, new_condition("Progressing", "Unknown", RESUMED, "Deployment is resumed".into()));
        }
    }

    /// Computes status and the Progressing condition, writes them, and says
    /// when to look again for the progress deadline.
    pub(super) async fn sync_rollout_status(
        &self,
        original: &Deployment,
        mut d: Deployment,
        family: Family,
    ) -> Result<Action, Error> {
        let mut status = calculate_status(&d, &family);
        let now = jiff::Timestamp::now();
        let new_name = family.new_rs().map(|rs| rs.name_any()).unwrap_or_default();
        if progress_deadline(&d).is_none() {
            remove_condition(&mut status, "Progressing");
        } else {
            let current = condition(&status, "Progressing").cloned();
            let complete_already = status.replicas == status.updated_replicas
                && current.as_ref().is_some_and(|c| c.reason.as_deref() == Some(NEW_RS_AVAILABLE));
            if !complete_already {
                if deployment_complete(&d, &status) {
                    let msg = format!("ReplicaSet {new_name:?} has successfully progressed.");
                    set_condition(&mut status, new_condition("Progressing", "True", NEW_RS_AVAILABLE, msg));
                } else if deployment_progressing(&d, &status) {
                    let msg = format!("ReplicaSet {new_name:?} is progressing.");
                    let mut cond = new_condition("Progressing", "True", RS_UPDATED, msg);
                    if let Some(c) = current.as_ref().filter(|c| c.status == "True") {
                        cond.last_transition_time = c.last_transition_time.clone();
                    }
                    // Progress refreshes the deadline even when the reason is unchanged.
                    if let Some(conds) = status.conditions.as_mut() {
                        conds.retain(|c| c.type_ != "Progressing");
                    }
                    set_condition(&mut status, cond);
                } else if deployment_timed_out(&d, &status, now) {
                    let msg = format!("ReplicaSet {new_name:?} has timed out progressing.");
                    set_condition(&mut status, new_condition("Progressing", "False", TIMED_OUT, msg));
                }
            }
        }
        let requeue = requeue_for_deadline(&d, &status, now);
        d.status = Some(status);
        self.write(original, &mut d).await?;
        Ok(requeue)
    }
}

/// When a rollout in progress would cross its deadline, look again then.
fn requeue_for_deadline(
    d: &Deployment,
    status: &k8s_openapi::api::apps::v1::DeploymentStatus,
    now: jiff::Timestamp,
) -> Action {
    let Some(deadline) = progress_deadline(d) else { return Action::Done };
    let Some(cond) = condition(status, "Progressing") else { return Action::Done };
    if cond.reason.as_deref() == Some(NEW_RS_AVAILABLE)
        || cond.reason.as_deref() == Some(TIMED_OUT)
        || cond.reason.as_deref() == Some(PAUSED)
    {
        return Action::Done;
    }
    if deployment_complete(d, status) {
        return Action::Done;
    }
    let Some(Time(from)) = &cond.last_update_time else { return Action::Done };
    let elapsed = now.duration_since(*from).as_secs_f64().max(0.0);
    let left = f64::from(deadline) - elapsed;
    Action::RequeueAfter(Duration::from_secs_f64(left.max(1.0)))
}
