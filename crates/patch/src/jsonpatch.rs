//! RFC 6902 JSON patch (`application/json-patch+json`), with kube-apiserver's limits and wording.

use json_patch::{PatchErrorKind, PatchOperation};
use serde_json::Value;

use crate::error::{PatchError, Result};

/// The most operations kube-apiserver accepts in one JSON patch.
pub const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// Applies a JSON patch document to a copy of `original`.
pub(crate) fn apply(original: &Value, patch: &[u8]) -> Result<Value> {
    let ops = decode(patch)?;
    let mut doc = original.clone();
    for (index, op) in ops.iter().enumerate() {
        apply_one(&mut doc, index, op)?;
    }
    Ok(doc)
}

fn decode(patch: &[u8]) -> Result<Vec<PatchOperation>> {
    let value: Value = serde_json::from_slice(patch).map_err(|e| PatchError::InvalidPatch(e.to_string()))?;
    let Value::Array(ops) = value else {
        return Err(PatchError::InvalidPatch(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
            json_kind(&value)
        )));
    };
    if ops.len() > MAX_JSON_PATCH_OPERATIONS {
        return Err(PatchError::TooLarge(format!(
            "The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {}",
            ops.len()
        )));
    }
    ops.into_iter()
        .enumerate()
        .map(|(i, op)| {
            serde_json::from_value(op).map_err(|e| PatchError::InvalidPatch(format!("invalid operation {i}: {e}")))
        })
        .collect()
}

pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn apply_one(doc: &mut Value, index: usize, op: &PatchOperation) -> Result<()> {
    if let PatchOperation::Test(test) = op {
        // As upstream (evanphx/json-patch), testing a missing member for null succeeds when its
        // parent exists.
        let path = test.path.as_str();
        if doc.pointer(path).is_none() && test.value.is_null() {
            let parent_exists = test.path.parent().is_some_and(|p| doc.pointer(p.as_str()).is_some());
            if parent_exists {
                return Ok(());
            }
        }
    }
    json_patch::patch(doc, std::slice::from_ref(op)).map_err(|e| describe(index, op, &e.kind))
}

fn describe(index: usize, op: &PatchOperation, kind: &PatchErrorKind) -> PatchError {
    let path = op.path().as_str();
    let name = match op {
        PatchOperation::Add(_) => "add",
        PatchOperation::Remove(_) => "remove",
        PatchOperation::Replace(_) => "replace",
        PatchOperation::Move(_) => "move",
        PatchOperation::Copy(_) => "copy",
        PatchOperation::Test(_) => "test",
    };
    match kind {
        PatchErrorKind::TestFailed => PatchError::TestFailed(format!("testing value {path} failed: test failed")),
        PatchErrorKind::InvalidFromPointer => {
            PatchError::CannotApply(format!("{name} operation does not apply: doc is missing from path: {path}"))
        }
        PatchErrorKind::CannotMoveInsideItself => {
            PatchError::CannotApply(format!("operation {index}: cannot move a value inside itself: {path}"))
        }
        _ if matches!(op, PatchOperation::Test(_)) => {
            PatchError::TestFailed(format!("test operation does not apply: is missing path: {path}"))
        }
        _ => PatchError::CannotApply(format!(
            "{name} operation does not apply: doc is missing path: \"{path}\": missing value"
        )),
    }
}
