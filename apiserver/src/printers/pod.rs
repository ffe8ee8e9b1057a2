//! The pod table: READY, STATUS and RESTARTS summarised from container statuses as upstream's `printPod`.

use jiff::Timestamp;
use serde_json::Value;

use super::fields::{self, arr, bool, cell, get, int, str, time};
use super::{AGE, Column, NAME, col, descriptions as d, wide};

pub(super) const COLUMNS: &[Column] = &[
    NAME,
    col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
    col("Status", "string", "The aggregate status of the containers in this pod."),
    col(
        "Restarts",
        "string",
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    AGE,
    wide("IP", "string", d::POD_STATUS_POD_IP),
    wide("Node", "string", d::POD_SPEC_NODE_NAME),
    wide("Nominated Node", "string", d::POD_STATUS_NOMINATED_NODE),
    wide("Readiness Gates", "string", d::POD_SPEC_READINESS_GATES),
];

/// The reason the node lifecycle controller gives pods on a node that stopped reporting.
const NODE_UNREACHABLE_POD_REASON: &str = "NodeLost";

pub(super) fn cells(pod: &Value, now: Timestamp) -> Vec<Value> {
    let summary = summarize(pod);
    let restarts = match summary.last_restart {
        Some(at) if summary.restarts != 0 => format!("{} ({} ago)", summary.restarts, fields::since(Some(at), now)),
        _ => summary.restarts.to_string(),
    };
    vec![
        cell(fields::name(pod)),
        cell(format!("{}/{}", summary.ready, summary.total)),
        cell(summary.reason),
        cell(restarts),
        fields::age(pod, now),
        cell(or_none(pod_ip(pod))),
        cell(or_none(str(pod, "spec.nodeName"))),
        cell(or_none(str(pod, "status.nominatedNodeName"))),
        cell(readiness_gates(pod)),
    ]
}

/// What the READY, STATUS and RESTARTS columns say about a pod.
#[derive(Debug)]
struct Summary {
    ready: i64,
    total: i64,
    reason: String,
    restarts: i64,
    last_restart: Option<Timestamp>,
}

fn summarize(pod: &Value) -> Summary {
    let init_specs = arr(pod, "spec.initContainers");
    let init_statuses = arr(pod, "status.initContainerStatuses");
    let phase = str(pod, "status.phase");
    let status_reason = str(pod, "status.reason");

    let mut reason = if status_reason.is_empty() { phase } else { status_reason }.to_string();
    let scheduling_gated = arr(pod, "status.conditions")
        .iter()
        .any(|c| str(c, "type") == "PodScheduled" && str(c, "reason") == "SchedulingGated");
    if scheduling_gated {
        reason = "SchedulingGated".to_string();
    }

    let is_sidecar =
        |name: &str| init_specs.iter().any(|c| str(c, "name") == name && str(c, "restartPolicy") == "Always");
    let sidecars = init_specs.iter().filter(|c| str(c, "restartPolicy") == "Always").count();
    let total = (arr(pod, "spec.containers").len() + sidecars) as i64;
    let mut ready = 0;
    let mut restarts: i64 = 0;
    let mut last_restart = None;
    let mut sidecar_restarts: i64 = 0;
    let mut last_sidecar_restart = None;

    let mut initializing = false;
    for (i, status) in init_statuses.iter().enumerate() {
        let sidecar = is_sidecar(str(status, "name"));
        restarts = restarts.saturating_add(int(status, "restartCount"));
        let finished = time(status, "lastState.terminated.finishedAt");
        later(&mut last_restart, finished);
        if sidecar {
            sidecar_restarts = sidecar_restarts.saturating_add(int(status, "restartCount"));
            later(&mut last_sidecar_restart, finished);
        }
        let terminated = state(status, "terminated");
        let waiting_reason = state(status, "waiting").map_or("", |w| str(w, "reason"));
        if terminated.is_some_and(|t| int(t, "exitCode") == 0) {
            continue;
        }
        if sidecar && fields::opt_bool(status, "started") == Some(true) {
            if bool(status, "ready") {
                ready += 1;
            }
            continue;
        }
        reason = if let Some(t) = terminated {
            // Initialization failed.
            match str(t, "reason") {
                "" if int(t, "signal") != 0 => format!("Init:Signal:{}", int(t, "signal")),
                "" => format!("Init:ExitCode:{}", int(t, "exitCode")),
                r => format!("Init:{r}"),
            }
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            format!("Init:{waiting_reason}")
        } else {
            format!("Init:{i}/{}", init_specs.len())
        };
        initializing = true;
        break;
    }

    if !initializing || initialized(pod) {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for status in arr(pod, "status.containerStatuses").iter().rev() {
            restarts = restarts.saturating_add(int(status, "restartCount"));
            later(&mut last_restart, time(status, "lastState.terminated.finishedAt"));
            let waiting_reason = state(status, "waiting").map_or("", |w| str(w, "reason"));
            let terminated = state(status, "terminated");
            if !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if let Some(t) = terminated {
                reason = match str(t, "reason") {
                    "" if int(t, "signal") != 0 => format!("Signal:{}", int(t, "signal")),
                    "" => format!("ExitCode:{}", int(t, "exitCode")),
                    r => r.to_string(),
                };
            } else if bool(status, "ready") && state(status, "running").is_some() {
                has_running = true;
                ready += 1;
            }
        }
        // A pod whose last container completed while another still runs is not complete.
        if reason == "Completed" && has_running {
            let ready_condition =
                arr(pod, "status.conditions").iter().any(|c| str(c, "type") == "Ready" && str(c, "status") == "True");
            reason = if ready_condition { "Running" } else { "NotReady" }.to_string();
        }
    }

    if fields::deleting(pod) {
        if status_reason == NODE_UNREACHABLE_POD_REASON {
            reason = "Unknown".to_string();
        } else if phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating".to_string();
        }
    }

    Summary { ready, total, reason, restarts, last_restart }
}

/// A container state (`waiting`, `running`, `terminated`) when present; Go's nil pointer otherwise.
fn state<'a>(status: &'a Value, which: &str) -> Option<&'a Value> {
    get(status, "state").and_then(|s| get(s, which)).filter(|s| s.is_object())
}

/// Keeps the later of two restart times; an unset time never wins.
fn later(latest: &mut Option<Timestamp>, candidate: Option<Timestamp>) {
    if candidate.is_some_and(|t| latest.is_none_or(|l| l < t)) {
        *latest = candidate;
    }
}

/// Whether the pod's first `Initialized` condition has status "True".
fn initialized(pod: &Value) -> bool {
    fields::condition(pod, "status.conditions", "Initialized").is_some_and(|c| str(c, "status") == "True")
}

/// The pod IP as upstream's internal version sees it: `status.podIP`, falling back to `status.podIPs[0]`.
fn pod_ip(pod: &Value) -> &str {
    match str(pod, "status.podIP") {
        "" => arr(pod, "status.podIPs").first().map_or("", |ip| str(ip, "ip")),
        ip => ip,
    }
}

/// "true/total" over the pod's readiness gates, "<none>" when it has none.
fn readiness_gates(pod: &Value) -> String {
    let gates = arr(pod, "spec.readinessGates");
    if gates.is_empty() {
        return "<none>".to_string();
    }
    let conditions = arr(pod, "status.conditions");
    let met = gates
        .iter()
        .filter(|gate| {
            let type_ = str(gate, "conditionType");
            conditions.iter().find(|c| str(c, "type") == type_).is_some_and(|c| str(c, "status") == "True")
        })
        .count();
    format!("{met}/{}", gates.len())
}

fn or_none(s: &str) -> String {
    if s.is_empty() { "<none>".to_string() } else { s.to_string() }
}
