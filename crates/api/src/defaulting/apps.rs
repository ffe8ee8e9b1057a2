//! Defaults of the `apps` group (upstream `apps/v1/defaults.go`).

use serde_json::json;

use super::pod::{default_claim_spec, default_pod_template_spec};
use super::{Object, default_str, default_value, each_object, ensure_object, is_empty_str, object_mut, str_of};

/// `SetDefaults_Deployment`: one replica, RollingUpdate 25%/25%, ten revisions
/// kept, a 600 s progress deadline.
pub(crate) fn default_deployment(deployment: &mut Object) {
    let Some(spec) = ensure_object(deployment, "spec") else {
        return;
    };
    default_value(spec, "replicas", json!(1));
    if let Some(strategy) = ensure_object(spec, "strategy") {
        default_str(strategy, "type", "RollingUpdate");
        if str_of(strategy, "type") == "RollingUpdate"
            && let Some(rolling) = ensure_object(strategy, "rollingUpdate")
        {
            default_value(rolling, "maxUnavailable", json!("25%"));
            default_value(rolling, "maxSurge", json!("25%"));
        }
    }
    default_value(spec, "revisionHistoryLimit", json!(10));
    default_value(spec, "progressDeadlineSeconds", json!(600));
    default_template(spec);
}

/// `SetDefaults_ReplicaSet`: one replica.
pub(crate) fn default_replica_set(replica_set: &mut Object) {
    let Some(spec) = ensure_object(replica_set, "spec") else {
        return;
    };
    default_value(spec, "replicas", json!(1));
    default_template(spec);
}

/// `SetDefaults_DaemonSet`: RollingUpdate with maxUnavailable 1 and maxSurge 0,
/// ten revisions kept.
pub(crate) fn default_daemon_set(daemon_set: &mut Object) {
    let Some(spec) = ensure_object(daemon_set, "spec") else {
        return;
    };
    if let Some(strategy) = ensure_object(spec, "updateStrategy") {
        default_str(strategy, "type", "RollingUpdate");
        if str_of(strategy, "type") == "RollingUpdate"
            && let Some(rolling) = ensure_object(strategy, "rollingUpdate")
        {
            default_value(rolling, "maxUnavailable", json!(1));
            default_value(rolling, "maxSurge", json!(0));
        }
    }
    default_value(spec, "revisionHistoryLimit", json!(10));
    default_template(spec);
}

/// `SetDefaults_StatefulSet`: OrderedReady pods, RollingUpdate with partition 0,
/// PVCs retained, one replica, ten revisions kept; claim templates get the PVC
/// defaults (including `status.phase: Pending`).
pub(crate) fn default_stateful_set(stateful_set: &mut Object) {
    let Some(spec) = ensure_object(stateful_set, "spec") else {
        return;
    };
    default_str(spec, "podManagementPolicy", "OrderedReady");
    if let Some(strategy) = ensure_object(spec, "updateStrategy") {
        if is_empty_str(strategy.get("type")) {
            strategy.insert("type".into(), json!("RollingUpdate"));
            default_value(strategy, "rollingUpdate", json!({}));
        }
        if str_of(strategy, "type") == "RollingUpdate"
            && let Some(rolling) = object_mut(strategy, "rollingUpdate")
        {
            default_value(rolling, "partition", json!(0));
        }
    }
    if let Some(retention) = ensure_object(spec, "persistentVolumeClaimRetentionPolicy") {
        default_str(retention, "whenDeleted", "Retain");
        default_str(retention, "whenScaled", "Retain");
    }
    default_value(spec, "replicas", json!(1));
    default_value(spec, "revisionHistoryLimit", json!(10));
    default_template(spec);
    for claim in each_object(spec, "volumeClaimTemplates") {
        if let Some(status) = ensure_object(claim, "status") {
            default_str(status, "phase", "Pending");
        }
        if let Some(claim_spec) = ensure_object(claim, "spec") {
            default_claim_spec(claim_spec);
        }
    }
}

/// The pod template every workload embeds as a value.
fn default_template(spec: &mut Object) {
    if let Some(template) = ensure_object(spec, "template") {
        default_pod_template_spec(template);
    }
}
