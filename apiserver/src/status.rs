//! API errors rendered as upstream's `metav1.Status`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rustkube_api::validation::FieldError;
use serde_json::{Value, json};

/// An error that reaches a client as a `Status` object.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
    /// Extra `metadata` (e.g. a fresh `continue` token on 410).
    pub metadata: Option<Value>,
}

/// The qualified resource an error is about (`pods`, `deployments.apps`).
#[derive(Debug, Clone, Copy)]
pub struct Qualified<'a> {
    pub group: &'a str,
    pub resource: &'a str,
}

impl std::fmt::Display for Qualified<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.group.is_empty() { f.write_str(self.resource) } else { write!(f, "{}.{}", self.resource, self.group) }
    }
}

fn details(q: Qualified<'_>, name: &str) -> Value {
    let mut d = json!({ "name": name, "kind": q.resource });
    if !q.group.is_empty() {
        d["group"] = json!(q.group);
    }
    d
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError { code, reason, message: message.into(), details: None, metadata: None }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    /// Upstream's `NewForbidden`: `<resource> "<name>" is forbidden: <why>`
    /// (without the name when there is none), with the resource's details.
    pub fn forbidden_for(q: Qualified<'_>, name: &str, why: impl std::fmt::Display) -> Self {
        let message = if name.is_empty() {
            format!("{q} is forbidden: {why}")
        } else {
            format!("{q} \"{name}\" is forbidden: {why}")
        };
        let mut e = Self::new(403, "Forbidden", message);
        e.details = Some(details(q, name));
        e
    }

    pub fn not_found(q: Qualified<'_>, name: &str) -> Self {
        let mut e = Self::new(404, "NotFound", format!("{q} \"{name}\" not found"));
        e.details = Some(details(q, name));
        e
    }

    pub fn path_not_found() -> Self {
        Self::new(404, "NotFound", "the server could not find the requested resource")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
    }

    pub fn method_not_allowed_because(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    pub fn already_exists(q: Qualified<'_>, name: &str) -> Self {
        let mut e = Self::new(409, "AlreadyExists", format!("{q} \"{name}\" already exists"));
        e.details = Some(details(q, name));
        e
    }

    pub fn conflict(q: Qualified<'_>, name: &str, why: &str) -> Self {
        let mut e = Self::new(409, "Conflict", format!("Operation cannot be fulfilled on {q} \"{name}\": {why}"));
        e.details = Some(details(q, name));
        e
    }

    pub fn modified(q: Qualified<'_>, name: &str) -> Self {
        Self::conflict(
            q,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(413, "RequestEntityTooLarge", message)
    }

    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(415, "UnsupportedMediaType", message)
    }

    /// 422 with one cause per bad field, as upstream's `NewInvalid`.
    pub fn invalid(kind: &str, group: &str, name: &str, errors: &[FieldError]) -> Self {
        let rendered: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        let list = if rendered.len() == 1 { rendered[0].clone() } else { format!("[{}]", rendered.join(", ")) };
        // The qualified kind, as upstream's GroupKind.String(): `Deployment.apps`.
        let qualified = if group.is_empty() { kind.to_owned() } else { format!("{kind}.{group}") };
        let mut e = Self::new(422, "Invalid", format!("{qualified} \"{name}\" is invalid: {list}"));
        let causes: Vec<Value> =
            errors.iter().map(|fe| json!({ "reason": fe.reason(), "message": fe.body(), "field": fe.field })).collect();
        let mut d = json!({ "name": name, "kind": kind, "causes": causes });
        if !group.is_empty() {
            d["group"] = json!(group);
        }
        e.details = Some(d);
        e
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", format!("Internal error occurred: {}", message.into()))
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "ServiceUnavailable", message)
    }

    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": self.metadata.clone().unwrap_or_else(|| json!({})),
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.to_status()).unwrap_or_default();
        let mut resp = (code, body).into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        resp
    }
}

/// Maps a storage failure for one object to the client-facing error.
pub fn from_storage(err: rustkube_storage::Error, q: Qualified<'_>, name: &str) -> ApiError {
    use rustkube_storage::Error as S;
    match err {
        S::NotFound { .. } => ApiError::not_found(q, name),
        S::AlreadyExists { .. } => ApiError::already_exists(q, name),
        S::Conflict { .. } => ApiError::modified(q, name),
        S::Compacted { .. } => ApiError::gone("The resourceVersion for the provided watch is too old."),
        S::TooLarge { .. } => ApiError::too_large("Request entity too large: limit is 3145728"),
        S::InvalidKey { .. } => ApiError::bad_request(err.to_string()),
        S::Unavailable { .. } => ApiError::unavailable(err.to_string()),
        S::Corrupt { .. } => ApiError::internal(err.to_string()),
    }
}

/// A successful `Status` (e.g. for an immediate delete).
pub fn success(q: Qualified<'_>, name: &str, uid: Option<&str>) -> Value {
    let mut d = details(q, name);
    if let Some(uid) = uid {
        d["uid"] = json!(uid);
    }
    json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": d })
}
