//! Conversion between API versions that share one storage location.
//!
//! `events.k8s.io/v1` Events are stored as core `v1` Events (upstream's
//! storage version), so `kubectl get events` and `kubectl describe` see what
//! controllers record through the events API, and the other way round.

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

/// Whether objects of `r` are stored in another version's shape.
pub fn needed(r: &ResourceInfo) -> bool {
    is_events_api(r)
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
    obj
}

/// A stored object in the shape of the request's version.
pub fn from_storage(r: &ResourceInfo, obj: Value) -> Value {
    if is_events_api(r) {
        return rename(obj, EVENT_FIELDS.iter().map(|(new, old)| (*old, *new)), "events.k8s.io/v1", "Event");
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
}
