//! The three PATCH formats kube-apiserver accepts, and the patches kubectl computes to send them.
//!
//! * [`apply_patch`] is what the apiserver runs for `PATCH`: RFC 6902 JSON patch, RFC 7386 JSON
//!   merge patch, or Kubernetes' strategic merge patch, which merges lists by key using the
//!   kind's [`Schema`] (see [`schema_for`]).
//! * [`create_two_way_merge_patch`] (`kubectl edit`, `kubectl set image`) and
//!   [`create_three_way_merge_patch`] (client-side `kubectl apply`) compute strategic merge patches.
//!
//! Which kubectl command sends what: `kubectl patch` strategic merge by default (`--type` picks
//! another); `kubectl edit` and `kubectl set image` a two-way strategic merge patch;
//! client-side `kubectl apply` a three-way one; `kubectl label`, `annotate` and `scale` JSON
//! merge patches. For custom resources (no schema) kubectl uses JSON merge patches throughout;
//! [`create_two_way_merge_patch`] and [`create_three_way_merge_patch`] without a schema produce
//! exactly such patches.
//!
//! Upstream: `k8s.io/apimachinery/pkg/util/strategicpatch` and
//! `k8s.io/apiserver/pkg/endpoints/handlers/patch.go`. The schemas follow the struct tags of
//! k8s.io/api v1.33.
//!
//! # Where this differs from upstream
//!
//! Only on inputs kubectl never produces, and always towards the outcome a user would expect:
//! * A value the live object does not have is merged into an empty value rather than stored
//!   verbatim, so nested `null`s and directives never reach the stored object; a `$patch: delete`
//!   of something absent is a no-op.
//! * `$patch: merge` on an object is accepted as the explicit default (upstream: unknown patch type).
//! * `$deleteFromPrimitiveList/<f>` never creates or replaces `<f>`; it only removes values.
//! * Every malformed strategic merge patch is a 400; upstream answers some with 422 (lists of
//!   lists) or 500 (unknown directive, missing merge key), and panics on a few (maps as merge key
//!   values).
//! * A JSON merge patch that is not an object is a 400 (upstream only rejects `null`; other values
//!   replace the object and then fail to decode).

mod builtin;
mod error;
mod jsonpatch;
mod mergepatch;
mod schema;
mod strategic;

use serde_json::{Map, Value};

pub use builtin::schema_for;
pub use error::{PatchError, Result};
pub use jsonpatch::MAX_JSON_PATCH_OPERATIONS;
pub use schema::{Field, Schema, Strategy};

/// The patch formats of `PATCH` requests, told apart by their `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatchType {
    /// RFC 6902 JSON patch: `application/json-patch+json`.
    Json,
    /// RFC 7386 JSON merge patch: `application/merge-patch+json`.
    Merge,
    /// Strategic merge patch: `application/strategic-merge-patch+json`.
    StrategicMerge,
    /// Server-side apply: `application/apply-patch+yaml`. Not supported yet.
    Apply,
}

impl PatchType {
    /// The patch type of a request's `Content-Type` header (parameters such as `charset` are
    /// ignored), or `None` for any other media type (which the apiserver answers with 415).
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let media_type = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match media_type.as_str() {
            "application/json-patch+json" => Some(Self::Json),
            "application/merge-patch+json" => Some(Self::Merge),
            "application/strategic-merge-patch+json" => Some(Self::StrategicMerge),
            "application/apply-patch+yaml" => Some(Self::Apply),
            _ => None,
        }
    }

    /// The media type of this patch type.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json-patch+json",
            Self::Merge => "application/merge-patch+json",
            Self::StrategicMerge => "application/strategic-merge-patch+json",
            Self::Apply => "application/apply-patch+yaml",
        }
    }
}

/// The media types accepted for kinds without a schema (custom resources), as upstream lists them.
const SCHEMALESS_PATCH_TYPES: &str =
    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";

/// Applies a `PATCH` request body to `original` and returns the patched object.
///
/// `schema` is the kind's patch schema ([`schema_for`]); without one (custom resources) strategic
/// merge patches are refused with [`PatchError::Unsupported`], as upstream does. Nothing here
/// validates the result: the caller decodes, defaults and validates it as for an update.
pub fn apply_patch(
    patch_type: PatchType,
    original: &Value,
    patch: &[u8],
    schema: Option<&'static Schema>,
) -> Result<Value> {
    match patch_type {
        PatchType::Json => jsonpatch::apply(original, patch),
        PatchType::Merge => mergepatch::apply(original, patch),
        PatchType::StrategicMerge => {
            let Some(schema) = schema else {
                return Err(PatchError::Unsupported(format!(
                    "the body of the request was in an unknown format - accepted media types include: {SCHEMALESS_PATCH_TYPES}"
                )));
            };
            let patch: Value = serde_json::from_slice(patch).map_err(|e| PatchError::InvalidPatch(e.to_string()))?;
            let patch = match patch {
                // Upstream decodes `null` into an empty map: a no-op patch.
                Value::Null => Map::new(),
                Value::Object(m) => m,
                other => {
                    return Err(PatchError::InvalidPatch(format!(
                        "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                        jsonpatch::json_kind(&other)
                    )));
                }
            };
            let Value::Object(original) = original else {
                return Err(PatchError::CannotApply("the object to patch is not a JSON object".to_owned()));
            };
            strategic::apply(original.clone(), patch, schema).map(Value::Object)
        }
        PatchType::Apply => Err(PatchError::Unsupported("server-side apply is not supported yet".to_owned())),
    }
}

/// The strategic merge patch that turns `original` into `modified` (upstream
/// `CreateTwoWayMergePatch`), as `kubectl edit` and `kubectl set` send.
///
/// Without a schema no list merges, so the result is also a valid JSON merge patch.
pub fn create_two_way_merge_patch(original: &Value, modified: &Value, schema: Option<&Schema>) -> Result<Value> {
    let original = as_document(original)?;
    let modified = as_document(modified)?;
    strategic::create_two_way_merge_patch(&original, &modified, schema).map(Value::Object)
}

/// The strategic merge patch client-side `kubectl apply` sends (upstream
/// `CreateThreeWayMergePatch`).
///
/// `original` is the last-applied configuration (the `kubectl.kubernetes.io/last-applied-configuration`
/// annotation, `null` if there is none), `modified` the new configuration, `current` the live
/// object. The patch sets what `modified` sets, deletes what `original` had and `modified` dropped,
/// and leaves alone whatever else `current` has. With `overwrite` false, changing a field that was
/// also changed between `original` and `current` is a [`PatchError::Conflict`].
pub fn create_three_way_merge_patch(
    original: &Value,
    modified: &Value,
    current: &Value,
    schema: Option<&Schema>,
    overwrite: bool,
) -> Result<Value> {
    let original = as_document(original)?;
    let modified = as_document(modified)?;
    let current = as_document(current)?;
    strategic::create_three_way_merge_patch(&original, &modified, &current, schema, overwrite).map(Value::Object)
}

/// A document to diff: an object, or `null` for an empty one (as upstream treats empty input).
fn as_document(v: &Value) -> Result<Map<String, Value>> {
    match v {
        Value::Null => Ok(Map::new()),
        Value::Object(m) => Ok(m.clone()),
        _ => Err(PatchError::InvalidPatch("invalid JSON document".to_owned())),
    }
}
