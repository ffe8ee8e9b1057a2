//! RFC 7386 JSON merge patch (`application/merge-patch+json`): objects merge, `null` deletes,
//! everything else (lists included) is replaced.

use serde_json::Value;

use crate::error::{PatchError, Result};

/// Applies a JSON merge patch document to a copy of `original`.
///
/// The patch must be a JSON object: upstream answers 400 for `null` and lets any other non-object
/// replace the whole object, which then fails to decode; we reject both as malformed.
pub(crate) fn apply(original: &Value, patch: &[u8]) -> Result<Value> {
    let patch: Value = serde_json::from_slice(patch).map_err(|e| PatchError::InvalidPatch(e.to_string()))?;
    if !patch.is_object() {
        return Err(PatchError::InvalidPatch("Invalid JSON Patch".to_owned()));
    }
    let mut doc = original.clone();
    json_patch::merge(&mut doc, &patch);
    Ok(doc)
}
