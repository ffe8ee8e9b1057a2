//! Tables for the remaining groups: policy, autoscaling, coordination, scheduling, RBAC, certificates,
//! node, admission registration, flow control, API registration and dynamic resource allocation.

use jiff::Timestamp;
use serde_json::Value;

use super::duration::human_duration_nanos;
use super::fields::{self, age, arr, cell, count_cell, get, int, int_cell, name, opt_int, str};
use super::quantity;
use super::{AGE, Column, NAME, col, descriptions as d, wide};

pub(super) const POD_DISRUPTION_BUDGET_COLUMNS: &[Column] = &[
    NAME,
    col("Min Available", "string", "The minimum number of pods that must be available."),
    col("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
    col("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."),
    AGE,
];

pub(super) fn pod_disruption_budget_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let na = || "N/A".to_string();
    vec![
        cell(name(o)),
        cell(fields::int_or_string(o, "spec.minAvailable").unwrap_or_else(na)),
        cell(fields::int_or_string(o, "spec.maxUnavailable").unwrap_or_else(na)),
        int_cell(int(o, "status.disruptionsAllowed")),
        age(o, now),
    ]
}

pub(super) const HORIZONTAL_POD_AUTOSCALER_COLUMNS: &[Column] = &[
    NAME,
    col("Reference", "string", d::HPA_SPEC_SCALE_TARGET),
    col("Targets", "string", d::HPA_SPEC_METRICS),
    col("MinPods", "string", d::HPA_SPEC_MIN),
    col("MaxPods", "string", d::HPA_SPEC_MAX),
    col("Replicas", "string", d::HPA_STATUS_CURRENT),
    AGE,
];

pub(super) fn horizontal_pod_autoscaler_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let reference = format!("{}/{}", str(o, "spec.scaleTargetRef.kind"), str(o, "spec.scaleTargetRef.name"));
    let targets = if is_autoscaling_v1(o) { format_v1_metrics(o) } else { format_metrics(o) };
    let min_pods = opt_int(o, "spec.minReplicas").map_or_else(|| "<unset>".to_string(), |m| m.to_string());
    vec![
        cell(name(o)),
        cell(reference),
        cell(targets),
        cell(min_pods),
        int_cell(int(o, "spec.maxReplicas")),
        int_cell(int(o, "status.currentReplicas")),
        age(o, now),
    ]
}

/// autoscaling/v1 objects carry a single CPU target instead of a metrics list.
fn is_autoscaling_v1(o: &Value) -> bool {
    match str(o, "apiVersion") {
        "autoscaling/v1" => true,
        "" => get(o, "spec.metrics").is_none() && get(o, "spec.targetCPUUtilizationPercentage").is_some(),
        _ => false,
    }
}

/// The v1 CPU target as the internal version sees it: one `cpu` utilization metric, or none.
fn format_v1_metrics(o: &Value) -> String {
    let Some(target) = opt_int(o, "spec.targetCPUUtilizationPercentage") else {
        return "<none>".to_string();
    };
    let current = opt_int(o, "status.currentCPUUtilizationPercentage")
        .map_or_else(|| "<unknown>".to_string(), |c| format!("{c}%"));
    format!("cpu: {current}/{target}%")
}

/// Upstream's `formatHPAMetrics` over autoscaling/v2 metric specs and their statuses (matched by index).
fn format_metrics(o: &Value) -> String {
    const MAX: usize = 2;
    let specs = arr(o, "spec.metrics");
    if specs.is_empty() {
        return "<none>".to_string();
    }
    let statuses = arr(o, "status.currentMetrics");
    let list: Vec<String> = specs.iter().enumerate().map(|(i, spec)| format_metric(spec, statuses.get(i))).collect();
    if list.len() > MAX {
        return format!("{} + {} more...", list[..MAX].join(", "), list.len() - MAX);
    }
    list.join(", ")
}

fn format_metric(spec: &Value, status: Option<&Value>) -> String {
    let unknown = || "<unknown>".to_string();
    // The status block for this metric's source, when the status has one (Go's non-nil pointer).
    let source_status = |source: &str| status.and_then(|s| get(s, source)).filter(|s| s.is_object());
    // Go's `(*Quantity).String()`, which prints "<nil>" for an unset pointer.
    let qty = |v: &Value, path: &str| match get(v, path) {
        None | Some(Value::Null) => "<nil>".to_string(),
        q => quantity::format_value(q),
    };
    let present = |v: &Value, path: &str| get(v, path).is_some_and(|q| !q.is_null());
    match str(spec, "type") {
        source_type @ ("External" | "Object") => {
            let source = if source_type == "External" { "external" } else { "object" };
            let target = get(spec, source).unwrap_or(&Value::Null);
            let current = source_status(source);
            if present(target, "target.averageValue") {
                let current = current
                    .filter(|c| present(c, "current.averageValue"))
                    .map_or_else(unknown, |c| qty(c, "current.averageValue"));
                format!("{current}/{} (avg)", qty(target, "target.averageValue"))
            } else {
                let current = current.map_or_else(unknown, |c| qty(c, "current.value"));
                format!("{current}/{}", qty(target, "target.value"))
            }
        }
        "Pods" => {
            let target = get(spec, "pods").unwrap_or(&Value::Null);
            let current = source_status("pods").map_or_else(unknown, |c| qty(c, "current.averageValue"));
            format!("{current}/{}", qty(target, "target.averageValue"))
        }
        source_type @ ("Resource" | "ContainerResource") => {
            let source = if source_type == "Resource" { "resource" } else { "containerResource" };
            let target = get(spec, source).unwrap_or(&Value::Null);
            let resource = str(target, "name");
            let current = source_status(source);
            if present(target, "target.averageValue") {
                let current = current.map_or_else(unknown, |c| qty(c, "current.averageValue"));
                format!("{resource}: {current}/{}", qty(target, "target.averageValue"))
            } else {
                let current = current
                    .and_then(|c| opt_int(c, "current.averageUtilization"))
                    .map_or_else(unknown, |u| format!("{u}%"));
                let target = opt_int(target, "target.averageUtilization")
                    .map_or_else(|| "<auto>".to_string(), |u| format!("{u}%"));
                format!("{resource}: {current}/{target}")
            }
        }
        _ => "<unknown type>".to_string(),
    }
}

pub(super) const LEASE_COLUMNS: &[Column] = &[NAME, col("Holder", "string", d::LEASE_SPEC_HOLDER), AGE];

pub(super) fn lease_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    vec![cell(name(o)), cell(str(o, "spec.holderIdentity")), age(o, now)]
}

pub(super) const PRIORITY_CLASS_COLUMNS: &[Column] = &[
    NAME,
    col("Value", "integer", d::PC_VALUE),
    col("Global-Default", "boolean", d::PC_GLOBAL_DEFAULT),
    AGE,
    col("PreemptionPolicy", "string", d::PC_PREEMPTION),
];

pub(super) fn priority_class_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        cell(name(o)),
        int_cell(int(o, "value")),
        Value::Bool(fields::bool(o, "globalDefault")),
        age(o, now),
        cell(str(o, "preemptionPolicy")),
    ]
}

pub(super) const ROLE_BINDING_COLUMNS: &[Column] = &[
    NAME,
    col("Role", "string", d::ROLE_BINDING_ROLE_REF),
    AGE,
    wide("Users", "string", "Users in the roleBinding"),
    wide("Groups", "string", "Groups in the roleBinding"),
    wide("ServiceAccounts", "string", "ServiceAccounts in the roleBinding"),
];

pub(super) const CLUSTER_ROLE_BINDING_COLUMNS: &[Column] = &[
    NAME,
    col("Role", "string", d::CLUSTER_ROLE_BINDING_ROLE_REF),
    AGE,
    wide("Users", "string", "Users in the clusterRoleBinding"),
    wide("Groups", "string", "Groups in the clusterRoleBinding"),
    wide("ServiceAccounts", "string", "ServiceAccounts in the clusterRoleBinding"),
];

/// Cells shared by role bindings and cluster role bindings.
pub(super) fn role_binding_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let (mut users, mut groups, mut service_accounts) = (Vec::new(), Vec::new(), Vec::new());
    for subject in arr(o, "subjects") {
        match str(subject, "kind") {
            "ServiceAccount" => {
                service_accounts.push(format!("{}/{}", str(subject, "namespace"), str(subject, "name")))
            }
            "User" => users.push(str(subject, "name").to_string()),
            "Group" => groups.push(str(subject, "name").to_string()),
            _ => {}
        }
    }
    vec![
        cell(name(o)),
        cell(format!("{}/{}", str(o, "roleRef.kind"), str(o, "roleRef.name"))),
        age(o, now),
        cell(users.join(", ")),
        cell(groups.join(", ")),
        cell(service_accounts.join(", ")),
    ]
}

pub(super) const CERTIFICATE_SIGNING_REQUEST_COLUMNS: &[Column] = &[
    NAME,
    AGE,
    col("SignerName", "string", d::CSR_SPEC_SIGNER),
    col("Requestor", "string", d::CSR_SPEC_REQUEST),
    col("RequestedDuration", "string", d::CSR_SPEC_EXPIRATION),
    col("Condition", "string", d::CSR_STATUS_CONDITIONS),
];

pub(super) fn certificate_signing_request_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let signer = match str(o, "spec.signerName") {
        "" => "<none>",
        signer => signer,
    };
    let requested = opt_int(o, "spec.expirationSeconds")
        .map_or_else(|| "<none>".to_string(), |s| human_duration_nanos(s.saturating_mul(1_000_000_000)));
    vec![cell(name(o)), age(o, now), cell(signer), cell(str(o, "spec.username")), cell(requested), cell(csr_status(o))]
}

/// "Denied" over "Approved" over "Pending", then ",Failed" and ",Issued" as they apply.
fn csr_status(o: &Value) -> String {
    let conditions = arr(o, "status.conditions");
    let has = |type_: &str| conditions.iter().any(|c| str(c, "type") == type_);
    let mut status = if has("Denied") {
        "Denied"
    } else if has("Approved") {
        "Approved"
    } else {
        "Pending"
    }
    .to_string();
    if has("Failed") {
        status.push_str(",Failed");
    }
    if !str(o, "status.certificate").is_empty() {
        status.push_str(",Issued");
    }
    status
}

pub(super) const RUNTIME_CLASS_COLUMNS: &[Column] = &[
    NAME,
    // Upstream looks up "handler" in the ObjectMeta docs, which have no such entry.
    col("Handler", "string", ""),
    AGE,
];

pub(super) fn runtime_class_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    vec![cell(name(o)), cell(str(o, "handler")), age(o, now)]
}

pub(super) const WEBHOOK_CONFIGURATION_COLUMNS: &[Column] = &[
    NAME,
    col("Webhooks", "integer", "Webhooks indicates the number of webhooks registered in this configuration"),
    AGE,
];

/// Cells shared by mutating and validating webhook configurations.
pub(super) fn webhook_configuration_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    vec![cell(name(o)), count_cell(arr(o, "webhooks").len()), age(o, now)]
}

pub(super) const VALIDATING_ADMISSION_POLICY_COLUMNS: &[Column] = &[
    NAME,
    col("Validations", "integer", "Validations indicates the number of validation rules defined in this configuration"),
    col("ParamKind", "string", "ParamKind specifies the kind of resources used to parameterize this policy"),
    AGE,
];

pub(super) fn validating_admission_policy_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let param_kind = match get(o, "spec.paramKind").filter(|p| p.is_object()) {
        Some(p) => format!("{}/{}", str(p, "apiVersion"), str(p, "kind")),
        None => "<unset>".to_string(),
    };
    vec![cell(name(o)), count_cell(arr(o, "spec.validations").len()), cell(param_kind), age(o, now)]
}

pub(super) const ADMISSION_POLICY_BINDING_COLUMNS: &[Column] = &[
    NAME,
    col("PolicyName", "string", "PolicyName indicates the policy definition which the policy binding binded to"),
    col("ParamRef", "string", "ParamRef indicates the param resource which sets the configration param"),
    AGE,
];

pub(super) fn admission_policy_binding_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let param = match get(o, "spec.paramRef").filter(|p| p.is_object()) {
        Some(p) => match (str(p, "name"), str(p, "namespace")) {
            ("", _) if get(p, "selector").is_some_and(|s| !s.is_null()) => {
                super::selector::format_label_selector(p, "selector")
            }
            ("", _) => "<unset>".to_string(),
            // Without a namespace the param may be cluster-scoped or in any namespace.
            (name, "") => format!("*/{name}"),
            (name, namespace) => format!("{namespace}/{name}"),
        },
        None => "<unset>".to_string(),
    };
    vec![cell(name(o)), cell(str(o, "spec.policyName")), cell(param), age(o, now)]
}

pub(super) const FLOW_SCHEMA_COLUMNS: &[Column] = &[
    NAME,
    col("PriorityLevel", "string", d::FS_PL_NAME),
    col("MatchingPrecedence", "string", d::FS_MATCHING_PRECEDENCE),
    col("DistinguisherMethod", "string", d::FS_DISTINGUISHER),
    AGE,
    col("MissingPL", "string", "references a broken or non-existent PriorityLevelConfiguration"),
];

pub(super) fn flow_schema_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let distinguisher = match get(o, "spec.distinguisherMethod").filter(|m| m.is_object()) {
        Some(m) => str(m, "type"),
        None => "<none>",
    };
    let missing_pl = fields::condition(o, "status.conditions", "Dangling").map_or("?", |c| str(c, "status"));
    vec![
        cell(name(o)),
        cell(str(o, "spec.priorityLevelConfiguration.name")),
        int_cell(int(o, "spec.matchingPrecedence")),
        cell(distinguisher),
        age(o, now),
        cell(missing_pl),
    ]
}

pub(super) const PRIORITY_LEVEL_COLUMNS: &[Column] = &[
    NAME,
    col("Type", "string", d::PL_TYPE),
    col("NominalConcurrencyShares", "string", d::PL_NCS),
    col("Queues", "string", d::PL_QUEUES),
    col("HandSize", "string", d::PL_HAND_SIZE),
    col("QueueLengthLimit", "string", d::PL_QUEUE_LENGTH),
    AGE,
];

pub(super) fn priority_level_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let none = || cell("<none>");
    let mut limits = [none(), none(), none(), none()];
    if let Some(limited) = get(o, "spec.limited").filter(|l| l.is_object()) {
        limits[0] = int_cell(int(limited, "nominalConcurrencyShares"));
        if let Some(queuing) = get(limited, "limitResponse.queuing").filter(|q| q.is_object()) {
            limits[1] = int_cell(int(queuing, "queues"));
            limits[2] = int_cell(int(queuing, "handSize"));
            limits[3] = int_cell(int(queuing, "queueLengthLimit"));
        }
    }
    let [ncs, queues, hand_size, queue_length] = limits;
    vec![cell(name(o)), cell(str(o, "spec.type")), ncs, queues, hand_size, queue_length, age(o, now)]
}

pub(super) const API_SERVICE_COLUMNS: &[Column] = &[
    NAME,
    col("Service", "string", "The reference to the service that hosts this API endpoint."),
    col("Available", "string", "Whether this service is available."),
    AGE,
];

pub(super) fn api_service_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let service = match get(o, "spec.service").filter(|s| s.is_object()) {
        Some(s) => format!("{}/{}", str(s, "namespace"), str(s, "name")),
        None => "Local".to_string(),
    };
    let available = match fields::condition(o, "status.conditions", "Available") {
        Some(c) => match (str(c, "status"), str(c, "reason")) {
            ("True", _) => "True".to_string(),
            (status, "") => status.to_string(),
            (status, reason) => format!("{status} ({reason})"),
        },
        None => "Unknown".to_string(),
    };
    vec![cell(name(o)), cell(service), cell(available), age(o, now)]
}

/// Device classes and resource claim templates print only a name and an age.
pub(super) const NAME_AGE_COLUMNS: &[Column] = &[NAME, AGE];

pub(super) fn name_age_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    vec![cell(name(o)), age(o, now)]
}

pub(super) const RESOURCE_CLAIM_COLUMNS: &[Column] =
    &[NAME, col("State", "string", "A summary of the current state (allocated, pending, reserved, etc.)."), AGE];

pub(super) fn resource_claim_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let mut states = Vec::new();
    let deleting = fields::deleting(o);
    if deleting {
        states.push("deleted");
    }
    if get(o, "status.allocation").is_some_and(|a| !a.is_null()) {
        states.push("allocated");
        if !arr(o, "status.reservedFor").is_empty() {
            states.push("reserved");
        }
    } else if !deleting {
        states.push("pending");
    }
    vec![cell(name(o)), cell(states.join(",")), age(o, now)]
}

pub(super) const RESOURCE_SLICE_COLUMNS: &[Column] = &[
    NAME,
    col("Node", "string", d::RSLICE_NODE),
    col("Driver", "string", d::RSLICE_DRIVER),
    col("Pool", "string", d::RPOOL_NAME),
    AGE,
];

pub(super) fn resource_slice_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        cell(name(o)),
        cell(str(o, "spec.nodeName")),
        cell(str(o, "spec.driver")),
        cell(str(o, "spec.pool.name")),
        age(o, now),
    ]
}
