//! Conversion between API versions that share one storage location.
//!
//! `events.k8s.io/v1` Events are stored as core `v1` Events (upstream's
//! storage version), so `kubectl get events` and `kubectl describe` see what
//! controllers record through the events API, and the other way round.
//! HorizontalPodAutoscalers are stored as `autoscaling/v2`; `autoscaling/v1`
//! reads and writes are converted (the CPU utilization target and current
//! value map to a `cpu` Resource metric; what v1 cannot express is kept in an
//! annotation so a v1 round trip loses nothing).

use rustkube_api::registry::ResourceInfo;
use serde_json::{Map, Value};

/// events.k8s.io/v1 field ← core/v1 field.
const EVENT_FIELDS: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

fn is_events_api(r: &ResourceInfo) -> bool {
    r.group == "events.k8s.io" && r.plural == "events"
}

fn is_hpa_v1(r: &ResourceInfo) -> bool {
    r.group == "autoscaling" && r.version == "v1" && r.plural == "horizontalpodautoscalers"
}

/// Whether objects of `r` are stored in another version's shape.
/// Custom resources count: their objects may have been written in another
/// served version, and reads give them the version asked for (upstream's
/// `None` conversion strategy changes only `apiVersion`).
pub fn needed(r: &ResourceInfo) -> bool {
    is_events_api(r) || is_hpa_v1(r) || !rustkube_api::registry::is_builtin(r)
}

/// What autoscaling/v1 cannot express of a v2 object, kept for the way back.
const HPA_V2_ONLY: &str = "autoscaling.rustkube.io/v2-fields";

fn cpu_metric(utilization: &Value) -> Value {
    serde_json::json!({ "type": "Resource", "resource": { "name": "cpu", "target": { "type": "Utilization", "averageUtilization": utilization } } })
}

fn is_cpu_utilization(metric: &Value) -> bool {
    metric["type"] == "Resource"
        && metric["resource"]["name"] == "cpu"
        && metric["resource"]["target"]["type"] == "Utilization"
}

fn hpa_v1_to_v2(mut obj: Value) -> Value {
    let Some(map) = obj.as_object_mut() else { return obj };
    map.insert("apiVersion".into(), Value::String("autoscaling/v2".into()));
    let kept: Map<String, Value> = map
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
        .and_then(Value::as_object_mut)
        .and_then(|a| a.remove(HPA_V2_ONLY))
        .and_then(|v| v.as_str().and_then(|s| serde_json::from_str(s).ok()))
        .unwrap_or_default();
    if map.get("metadata").and_then(|m| m.get("annotations")).and_then(Value::as_object).is_some_and(|a| a.is_empty())
        && let Some(m) = map.get_mut("metadata").and_then(Value::as_object_mut)
    {
        m.remove("annotations");
    }
    if let Some(spec) = map.get_mut("spec").and_then(Value::as_object_mut) {
        let mut metrics: Vec<Value> = kept.get("metrics").and_then(Value::as_array).cloned().unwrap_or_default();
        metrics.retain(|m| !is_cpu_utilization(m));
        if let Some(target) = spec.remove("targetCPUUtilizationPercentage") {
            metrics.insert(0, cpu_metric(&target));
        }
        if !metrics.is_empty() {
            spec.insert("metrics".into(), Value::Array(metrics));
        }
        if let Some(b) = kept.get("behavior") {
            spec.insert("behavior".into(), b.clone());
        }
    }
    if let Some(status) = map.get_mut("status").and_then(Value::as_object_mut) {
        let mut current: Vec<Value> = kept.get("currentMetrics").and_then(Value::as_array).cloned().unwrap_or_default();
        if let Some(cpu) = status.remove("currentCPUUtilizationPercentage") {
            current.retain(|m| !(m["type"] == "Resource" && m["resource"]["name"] == "cpu"));
            current.insert(0, serde_json::json!({ "type": "Resource", "resource": { "name": "cpu", "current": { "averageUtilization": cpu } } }));
        }
        if !current.is_empty() {
            status.insert("currentMetrics".into(), Value::Array(current));
        }
        if let Some(c) = kept.get("conditions") {
            status.insert("conditions".into(), c.clone());
        }
    }
    obj
}

fn hpa_v2_to_v1(mut obj: Value) -> Value {
    let Some(map) = obj.as_object_mut() else { return obj };
    map.insert("apiVersion".into(), Value::String("autoscaling/v1".into()));
    let mut kept = Map::new();
    if let Some(spec) = map.get_mut("spec").and_then(Value::as_object_mut) {
        if let Some(Value::Array(metrics)) = spec.remove("metrics") {
            if let Some(cpu) = metrics.iter().find(|m| is_cpu_utilization(m)) {
                spec.insert(
                    "targetCPUUtilizationPercentage".into(),
                    cpu["resource"]["target"]["averageUtilization"].clone(),
                );
            }
            if metrics.iter().any(|m| !is_cpu_utilization(m)) {
                kept.insert("metrics".into(), Value::Array(metrics));
            }
        }
        if let Some(b) = spec.remove("behavior") {
            kept.insert("behavior".into(), b);
        }
    }
    if let Some(status) = map.get_mut("status").and_then(Value::as_object_mut) {
        if let Some(Value::Array(current)) = status.remove("currentMetrics") {
            let cpu = current.iter().find(|m| m["type"] == "Resource" && m["resource"]["name"] == "cpu");
            if let Some(u) = cpu.and_then(|m| m["resource"]["current"].get("averageUtilization")) {
                status.insert("currentCPUUtilizationPercentage".into(), u.clone());
            }
            if current.iter().any(|m| !(m["type"] == "Resource" && m["resource"]["name"] == "cpu")) {
                kept.insert("currentMetrics".into(), Value::Array(current));
            }
        }
        if let Some(c) = status.remove("conditions") {
            kept.insert("conditions".into(), c);
        }
    }
    if !kept.is_empty() {
        let encoded = Value::String(Value::Object(kept).to_string());
        let meta = map.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
        if let Some(meta) = meta.as_object_mut() {
            let ann = meta.entry("annotations").or_insert_with(|| Value::Object(Map::new()));
            if let Some(ann) = ann.as_object_mut() {
                ann.insert(HPA_V2_ONLY.into(), encoded);
            }
        }
    }
    obj
}

fn rename(
    obj: Value,
    pairs: impl Iterator<Item = (&'static str, &'static str)>,
    api_version: &str,
    kind: &str,
) -> Value {
    let Value::Object(mut map) = obj else { return obj };
    let mut out = Map::new();
    let renames: Vec<(&str, &str)> = pairs.collect();
    for (key, value) in std::mem::take(&mut map) {
        let key = renames.iter().find(|(from, _)| *from == key).map_or(key, |(_, to)| (*to).to_owned());
        out.insert(key, value);
    }
    out.insert("apiVersion".into(), Value::String(api_version.into()));
    out.insert("kind".into(), Value::String(kind.into()));
    Value::Object(out)
}

/// A request-version object in the storage version's shape.
pub fn to_storage(r: &ResourceInfo, obj: Value) -> Value {
    if is_events_api(r) {
        return rename(obj, EVENT_FIELDS.iter().map(|(new, old)| (*new, *old)), "v1", "Event");
    }
    if is_hpa_v1(r) {
        return hpa_v1_to_v2(obj);
    }
    obj
}

/// A stored object in the shape of the request's version.
pub fn from_storage(r: &ResourceInfo, obj: Value) -> Value {
    if is_events_api(r) {
        return rename(obj, EVENT_FIELDS.iter().map(|(new, old)| (*old, *new)), "events.k8s.io/v1", "Event");
    }
    if is_hpa_v1(r) {
        return hpa_v2_to_v1(obj);
    }
    if !rustkube_api::registry::is_builtin(r) {
        let mut obj = obj;
        if let Some(m) = obj.as_object_mut() {
            m.insert("apiVersion".into(), Value::String(r.api_version()));
        }
        return obj;
    }
    obj
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_round_trip_between_the_two_apis() {
        let r = rustkube_api::registry::lookup("events.k8s.io", "v1", "events").unwrap();
        let new = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": { "name": "e", "namespace": "default" },
            "regarding": { "kind": "Pod", "name": "p" }, "note": "pulled", "reason": "Pulled",
            "reportingController": "kubelet", "reportingInstance": "n1", "type": "Normal", "action": "Pull",
            "eventTime": "2026-01-01T00:00:00.000000Z"
        });
        let stored = to_storage(r, new.clone());
        assert_eq!(stored["apiVersion"], "v1");
        assert_eq!(stored["involvedObject"]["name"], "p");
        assert_eq!(stored["message"], "pulled");
        assert_eq!(stored["reportingComponent"], "kubelet");
        assert!(stored.get("regarding").is_none());
        assert_eq!(from_storage(r, stored), new);
        let core = rustkube_api::registry::lookup("", "v1", "events").unwrap();
        assert!(!needed(core));
    }

    #[test]
    fn hpa_v1_and_v2_convert_without_loss() {
        let v1 = rustkube_api::registry::lookup("autoscaling", "v1", "horizontalpodautoscalers").unwrap();
        let obj = json!({
            "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": { "name": "h" },
            "spec": { "scaleTargetRef": { "kind": "Deployment", "name": "web", "apiVersion": "apps/v1" },
                      "minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 70 },
            "status": { "currentReplicas": 2, "desiredReplicas": 3, "currentCPUUtilizationPercentage": 55 }
        });
        let stored = to_storage(v1, obj.clone());
        assert_eq!(stored["apiVersion"], "autoscaling/v2");
        assert_eq!(stored["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], 70);
        assert_eq!(stored["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"], 55);
        assert_eq!(from_storage(v1, stored), obj, "v1 round trip");
        // A v2 object with a memory metric and behavior survives a v1 round trip.
        let v2 = json!({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": { "name": "h" },
            "spec": { "scaleTargetRef": { "kind": "Deployment", "name": "web" }, "maxReplicas": 5,
                      "metrics": [ { "type": "Resource", "resource": { "name": "cpu", "target": { "type": "Utilization", "averageUtilization": 60 } } },
                                   { "type": "Resource", "resource": { "name": "memory", "target": { "type": "AverageValue", "averageValue": "1Gi" } } } ],
                      "behavior": { "scaleDown": { "stabilizationWindowSeconds": 60 } } }
        });
        let as_v1 = from_storage(v1, v2.clone());
        assert_eq!(as_v1["spec"]["targetCPUUtilizationPercentage"], 60);
        assert!(as_v1["spec"].get("metrics").is_none());
        assert_eq!(to_storage(v1, as_v1), v2, "v2 → v1 → v2 keeps the memory metric and behavior");
    }
}
