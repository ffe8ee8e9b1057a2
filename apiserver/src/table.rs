//! Server-side printing: `Accept: application/json;as=Table;g=meta.k8s.io;v=v1`.

use rustkube_api::registry::ResourceInfo;
use serde_json::{Value, json};

use crate::crd::CustomVersion;
use crate::printers;

/// What the client asked for in `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rendering {
    Object,
    Table,
}

pub fn negotiate(accept: Option<&str>) -> Rendering {
    let Some(accept) = accept else { return Rendering::Object };
    for part in accept.split(',') {
        let params: Vec<&str> = part.split(';').map(str::trim).collect();
        if params.contains(&"as=Table") && params.iter().any(|p| p.starts_with("g=meta.k8s.io")) {
            return Rendering::Table;
        }
        if params.first().is_some_and(|m| *m == "application/json" || *m == "*/*") && params.len() == 1 {
            return Rendering::Object;
        }
    }
    Rendering::Object
}

fn column_defs(r: &ResourceInfo, custom: Option<&CustomVersion>) -> Vec<Value> {
    if let Some(c) = custom {
        return printers::custom::column_definitions(&c.columns);
    }
    printers::columns(r.group, r.plural)
        .into_iter()
        .map(|c| {
            json!({ "name": c.name, "type": c.type_, "format": c.format, "description": c.description, "priority": c.priority })
        })
        .collect()
}

fn row(r: &ResourceInfo, custom: Option<&CustomVersion>, obj: &Value, include: &str, now: jiff::Timestamp) -> Value {
    let object = match include {
        "None" => Value::Null,
        "Object" => obj.clone(),
        _ => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
    };
    let cells = match custom {
        Some(c) => printers::custom::cells(&c.columns, obj, now),
        None => printers::cells(r.group, r.plural, obj, now),
    };
    let mut row = json!({ "cells": cells });
    if !object.is_null() {
        row["object"] = object;
    }
    row
}

/// A Table of `objects`, with list metadata; custom resources use their CRD's columns.
pub fn table(
    r: &ResourceInfo,
    custom: Option<&CustomVersion>,
    objects: &[Value],
    list_meta: Value,
    include: &str,
    with_columns: bool,
) -> Value {
    let now = jiff::Timestamp::now();
    let mut t = json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "rows": objects.iter().map(|o| row(r, custom, o, include, now)).collect::<Vec<_>>(),
    });
    if with_columns {
        t["columnDefinitions"] = json!(column_defs(r, custom));
    }
    t
}
