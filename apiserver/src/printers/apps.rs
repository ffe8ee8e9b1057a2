//! Tables for the apps group: replica sets, deployments, stateful sets, daemon sets, controller revisions.

use jiff::Timestamp;
use serde_json::Value;

use super::fields::{age, arr, cell, container_cells, get, int, int_cell, name, str};
use super::selector::{format_label_selector, format_labels, selector_string};
use super::{AGE, CONTAINERS_DESCRIPTION, Column, IMAGES_DESCRIPTION, NAME, col, descriptions as d, wide};

pub(super) const REPLICA_SET_COLUMNS: &[Column] = &[
    NAME,
    col("Desired", "integer", d::RS_SPEC_REPLICAS),
    col("Current", "integer", d::RS_STATUS_REPLICAS),
    col("Ready", "integer", d::RS_STATUS_READY),
    AGE,
    wide("Containers", "string", CONTAINERS_DESCRIPTION),
    wide("Images", "string", IMAGES_DESCRIPTION),
    wide("Selector", "string", d::RS_SPEC_SELECTOR),
];

pub(super) fn replica_set_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = container_cells(get(o, "spec.template.spec"));
    vec![
        cell(name(o)),
        int_cell(int(o, "spec.replicas")),
        int_cell(int(o, "status.replicas")),
        int_cell(int(o, "status.readyReplicas")),
        age(o, now),
        names,
        images,
        cell(format_label_selector(o, "spec.selector")),
    ]
}

pub(super) const DEPLOYMENT_COLUMNS: &[Column] = &[
    NAME,
    col("Ready", "string", "Number of the pod with ready state"),
    col("Up-to-date", "string", d::DEPLOY_STATUS_UPDATED),
    col("Available", "string", d::DEPLOY_STATUS_AVAILABLE),
    AGE,
    wide("Containers", "string", CONTAINERS_DESCRIPTION),
    wide("Images", "string", IMAGES_DESCRIPTION),
    wide("Selector", "string", d::DEPLOY_SPEC_SELECTOR),
];

pub(super) fn deployment_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = container_cells(get(o, "spec.template.spec"));
    // Unlike the other workloads, deployments print the bare selector string ("" when unset).
    let selector = selector_string(o, "spec.selector").unwrap_or_else(|_| "<invalid>".to_string());
    vec![
        cell(name(o)),
        cell(format!("{}/{}", int(o, "status.readyReplicas"), int(o, "spec.replicas"))),
        int_cell(int(o, "status.updatedReplicas")),
        int_cell(int(o, "status.availableReplicas")),
        age(o, now),
        names,
        images,
        cell(selector),
    ]
}

pub(super) const STATEFUL_SET_COLUMNS: &[Column] = &[
    NAME,
    col("Ready", "string", "Number of the pod with ready state"),
    AGE,
    wide("Containers", "string", CONTAINERS_DESCRIPTION),
    wide("Images", "string", IMAGES_DESCRIPTION),
];

pub(super) fn stateful_set_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = container_cells(get(o, "spec.template.spec"));
    vec![
        cell(name(o)),
        cell(format!("{}/{}", int(o, "status.readyReplicas"), int(o, "spec.replicas"))),
        age(o, now),
        names,
        images,
    ]
}

pub(super) const DAEMON_SET_COLUMNS: &[Column] = &[
    NAME,
    col("Desired", "integer", d::DS_STATUS_DESIRED),
    col("Current", "integer", d::DS_STATUS_CURRENT),
    col("Ready", "integer", d::DS_STATUS_READY),
    col("Up-to-date", "integer", d::DS_STATUS_UPDATED),
    col("Available", "integer", d::DS_STATUS_AVAILABLE),
    col("Node Selector", "string", d::POD_SPEC_NODE_SELECTOR),
    AGE,
    wide("Containers", "string", CONTAINERS_DESCRIPTION),
    wide("Images", "string", IMAGES_DESCRIPTION),
    wide("Selector", "string", d::DS_SPEC_SELECTOR),
];

pub(super) fn daemon_set_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = container_cells(get(o, "spec.template.spec"));
    vec![
        cell(name(o)),
        int_cell(int(o, "status.desiredNumberScheduled")),
        int_cell(int(o, "status.currentNumberScheduled")),
        int_cell(int(o, "status.numberReady")),
        int_cell(int(o, "status.updatedNumberScheduled")),
        int_cell(int(o, "status.numberAvailable")),
        cell(format_labels(o, "spec.template.spec.nodeSelector")),
        age(o, now),
        names,
        images,
        cell(format_label_selector(o, "spec.selector")),
    ]
}

pub(super) const CONTROLLER_REVISION_COLUMNS: &[Column] =
    &[NAME, col("Controller", "string", "Controller of the object"), col("Revision", "string", d::CR_REVISION), AGE];

pub(super) fn controller_revision_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    vec![cell(name(o)), cell(controller_name(o)), int_cell(int(o, "revision")), age(o, now)]
}

/// "kind.group/name" of the controlling owner (e.g. "statefulset.apps/web"), "<none>" without one.
fn controller_name(o: &Value) -> String {
    let owner = arr(o, "metadata.ownerReferences").iter().find(|r| get(r, "controller") == Some(&Value::Bool(true)));
    let Some(owner) = owner else {
        return "<none>".to_string();
    };
    // Upstream fails the request on an unparseable apiVersion ("a/b/c"); printing the bare name is kinder.
    let api_version = str(owner, "apiVersion");
    let group = match api_version.split('/').collect::<Vec<_>>().as_slice() {
        [group, _version] => *group,
        _ => "",
    };
    let kind = str(owner, "kind");
    let owner_name = str(owner, "name");
    match (group, kind) {
        ("", "") => owner_name.to_string(),
        ("", kind) => format!("{}/{owner_name}", kind.to_lowercase()),
        (group, kind) => format!("{}.{}/{owner_name}", kind.to_lowercase(), group.to_lowercase()),
    }
}
