//! PATCH bodies: JSON Patch, JSON merge patch and strategic merge patch
//! (via `rustkube-patch`, with each built-in kind's merge keys).

use rustkube_patch::{PatchError, PatchType};
use serde_json::Value;

use crate::request::RequestInfo;
use crate::status::ApiError;

pub fn patch_type(content_type: &str) -> Result<PatchType, ApiError> {
    match PatchType::from_content_type(content_type) {
        Some(PatchType::Apply) => {
            Err(ApiError::unsupported_media_type("server-side apply is not supported yet; use client-side apply"))
        }
        Some(t) => Ok(t),
        None => Err(ApiError::unsupported_media_type(format!(
            "the body of the request was in an unknown format - accepted media types include: \
             application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json \
             (got {content_type:?})"
        ))),
    }
}

fn to_api_error(err: PatchError) -> ApiError {
    let mut e = ApiError::new(err.status_code(), err.reason(), err.message());
    e.details = None;
    e
}

/// Applies `patch` to `current`; the result carries no resourceVersion unless the patch sets one.
pub fn apply(kind: PatchType, info: &RequestInfo, current: &Value, patch: &[u8]) -> Result<Value, ApiError> {
    let mut doc = current.clone();
    if let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
    }
    let target_kind = match info.subresource.as_deref() {
        Some("scale") => ("autoscaling", "Scale"),
        _ => (info.resource.group, info.resource.kind),
    };
    let schema = rustkube_patch::schema_for(target_kind.0, target_kind.1);
    let patched = rustkube_patch::apply_patch(kind, &doc, patch, schema).map_err(to_api_error)?;
    if !patched.is_object() {
        return Err(ApiError::bad_request("the patched object is not a JSON object"));
    }
    for field in ["metadata", "spec", "status"] {
        if patched.get(field).is_some_and(|v| !v.is_object() && !v.is_null()) {
            return Err(ApiError::new(422, "Invalid", format!("the patched object's {field} is not an object")));
        }
    }
    Ok(patched)
}
