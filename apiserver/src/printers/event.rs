//! The event table, shared by core/v1 and events.k8s.io/v1 events (one resource upstream, two shapes).

use jiff::Timestamp;
use serde_json::Value;

use super::fields::{self, cell, get, int_cell, str, time};
use super::{Column, NAME, col, descriptions as d, wide};

pub(super) const COLUMNS: &[Column] = &[
    col("Last Seen", "string", d::EVENT_LAST_TIMESTAMP),
    col("Type", "string", d::EVENT_TYPE),
    col("Reason", "string", d::EVENT_REASON),
    col("Object", "string", d::EVENT_INVOLVED_OBJECT),
    wide("Subobject", "string", d::OBJECT_REF_FIELD_PATH),
    wide("Source", "string", d::EVENT_SOURCE),
    col("Message", "string", d::EVENT_MESSAGE),
    wide("First Seen", "string", d::EVENT_FIRST_TIMESTAMP),
    wide("Count", "string", d::EVENT_COUNT),
    Column { priority: 1, ..NAME },
];

/// Where each field of upstream's internal event lives in one API version's JSON.
#[derive(Debug)]
struct Shape {
    involved_object: &'static str,
    message: &'static str,
    first_timestamp: &'static str,
    last_timestamp: &'static str,
    count: &'static str,
    source: &'static str,
    reporting_controller: &'static str,
}

const CORE_V1: Shape = Shape {
    involved_object: "involvedObject",
    message: "message",
    first_timestamp: "firstTimestamp",
    last_timestamp: "lastTimestamp",
    count: "count",
    source: "source",
    reporting_controller: "reportingComponent",
};

const EVENTS_V1: Shape = Shape {
    involved_object: "regarding",
    message: "note",
    first_timestamp: "deprecatedFirstTimestamp",
    last_timestamp: "deprecatedLastTimestamp",
    count: "deprecatedCount",
    source: "deprecatedSource",
    reporting_controller: "reportingController",
};

pub(super) fn core_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    cells(o, now, &CORE_V1)
}

pub(super) fn events_v1_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    cells(o, now, &EVENTS_V1)
}

fn cells(o: &Value, now: Timestamp, shape: &Shape) -> Vec<Value> {
    let first_seen = match time(o, shape.first_timestamp) {
        Some(t) => fields::since(Some(t), now),
        None => fields::since(time(o, "eventTime"), now),
    };
    let mut last_seen = match time(o, shape.last_timestamp) {
        Some(t) => fields::since(Some(t), now),
        None => first_seen.clone(),
    };
    let mut count = fields::int(o, shape.count);
    match get(o, "series").filter(|s| s.is_object()) {
        Some(series) => {
            last_seen = fields::since(time(series, "lastObservedTime"), now);
            count = fields::int(series, "count");
        }
        // Singleton events don't have a count set in the new API.
        None if count == 0 => count = 1,
        None => {}
    }

    let involved = get(o, shape.involved_object).unwrap_or(&Value::Null);
    let kind = str(involved, "kind").to_lowercase();
    let target = match str(involved, "name") {
        "" => kind,
        name => format!("{kind}/{name}"),
    };
    let component = first_non_empty(str(o, &format!("{}.component", shape.source)), str(o, shape.reporting_controller));
    let host = first_non_empty(str(o, &format!("{}.host", shape.source)), str(o, "reportingInstance"));
    let source = if host.is_empty() { component.to_string() } else { format!("{component}, {host}") };

    vec![
        cell(last_seen),
        cell(str(o, "type")),
        cell(str(o, "reason")),
        cell(target),
        cell(str(involved, "fieldPath")),
        cell(source),
        cell(str(o, shape.message).trim()),
        cell(first_seen),
        int_cell(count),
        cell(fields::name(o)),
    ]
}

fn first_non_empty<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.is_empty() { b } else { a }
}
