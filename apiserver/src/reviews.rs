//! TokenReview and SubjectAccessReview: authentication and authorization delegated
//! to this apiserver (a kubelet's `--authentication-token-webhook` and
//! `--authorization-mode=Webhook`), as upstream's `pkg/registry/authentication/tokenreview`
//! and `pkg/registry/authorization/subjectaccessreview`. Both are create-only and
//! cluster-scoped; the request comes back with `status` filled, nothing is stored.

use std::collections::BTreeMap;

use rustkube_api::validation::FieldError;
use serde_json::{Value, json};

use crate::auth::{self, Attributes, User};
use crate::request::RequestInfo;
use crate::state::AppState;
use crate::status::ApiError;

const AUTHENTICATION: &str = "authentication.k8s.io";
const AUTHORIZATION: &str = "authorization.k8s.io";

/// Answers a create of a TokenReview or SubjectAccessReview; `None` for any other resource.
pub async fn create(state: &AppState, info: &RequestInfo, review: &Value) -> Result<Option<Value>, ApiError> {
    match (info.resource.group, info.resource.plural) {
        (AUTHENTICATION, "tokenreviews") => token_review(state, review.clone()).await.map(Some),
        (AUTHORIZATION, "subjectaccessreviews") => subject_access_review(review.clone()).map(Some),
        _ => Ok(None),
    }
}

/// The echoed object's metadata, as upstream returns it (nothing is persisted).
fn echo(review: &mut Value, kind: &str, api_version: &str) {
    if let Some(obj) = review.as_object_mut() {
        obj.insert("kind".into(), json!(kind));
        obj.insert("apiVersion".into(), json!(api_version));
        let meta = obj.entry("metadata").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            meta.remove("namespace");
            meta.entry("creationTimestamp").or_insert(Value::Null);
        }
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// authentication.k8s.io/v1 TokenReview: `spec.token` through the bearer-token
/// authenticator. A refused token is `authenticated: false` with `status.error`, not an
/// HTTP error.
pub async fn token_review(state: &AppState, mut review: Value) -> Result<Value, ApiError> {
    let spec = review.get("spec").cloned().unwrap_or_default();
    let token = spec.get("token").and_then(Value::as_str).unwrap_or_default();
    if token.is_empty() {
        return Err(ApiError::bad_request("token is required for TokenReview in authentication"));
    }
    let requested = strings(spec.get("audiences"));
    let audiences = (!requested.is_empty()).then_some(requested.as_slice());
    let status = match auth::authenticate_token_for(state, token, audiences).await {
        Ok((user, accepted)) => {
            tracing::debug!(user = %user.name, "token review: authenticated");
            json!({ "authenticated": true, "user": auth::user_info(&user), "audiences": accepted })
        }
        Err(error) => {
            tracing::debug!(%error, "token review: not authenticated");
            json!({ "user": {}, "error": error })
        }
    };
    echo(&mut review, "TokenReview", "authentication.k8s.io/v1");
    review["status"] = status;
    Ok(review)
}

/// The user a SubjectAccessReview asks about.
fn subject(spec: &Value) -> User {
    let extra: BTreeMap<String, Vec<String>> = spec
        .get("extra")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), strings(Some(v)))).collect())
        .unwrap_or_default();
    User {
        name: spec.get("user").and_then(Value::as_str).unwrap_or_default().to_owned(),
        uid: spec.get("uid").and_then(Value::as_str).unwrap_or_default().to_owned(),
        groups: strings(spec.get("groups")),
        extra,
    }
}

/// What a SubjectAccessReview asks about: its resource or non-resource attributes.
fn attributes(spec: &Value) -> Attributes {
    let field = |obj: Option<&Value>, key: &str| {
        obj.and_then(|o| o.get(key)).and_then(Value::as_str).unwrap_or_default().to_owned()
    };
    if let Some(ra) = spec.get("resourceAttributes").filter(|v| !v.is_null()) {
        let ra = Some(ra);
        return Attributes {
            verb: field(ra, "verb"),
            group: field(ra, "group"),
            resource: field(ra, "resource"),
            subresource: field(ra, "subresource"),
            namespace: field(ra, "namespace"),
            name: field(ra, "name"),
            path: String::new(),
        };
    }
    let nra = spec.get("nonResourceAttributes");
    Attributes { verb: field(nra, "verb"), path: field(nra, "path"), ..Default::default() }
}

/// authorization.k8s.io/v1 SubjectAccessReview: the apiserver's authorizer
/// ([`auth::decide`]) for `spec.user`/`spec.groups`.
pub fn subject_access_review(mut review: Value) -> Result<Value, ApiError> {
    let spec = review.get("spec").cloned().unwrap_or_default();
    let present = |key: &str| spec.get(key).is_some_and(|v| !v.is_null());
    let mut errors = Vec::new();
    match (present("resourceAttributes"), present("nonResourceAttributes")) {
        (true, true) => errors.push(FieldError::invalid_value_omitted(
            "spec.nonResourceAttributes",
            "cannot be specified in combination with resourceAttributes",
        )),
        (false, false) => errors.push(FieldError::invalid_value_omitted(
            "spec.resourceAttributes",
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )),
        _ => {}
    }
    let user = subject(&spec);
    if user.name.is_empty() && user.groups.is_empty() {
        errors.push(FieldError::invalid("spec.user", "", "at least one of user or group must be specified"));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid("SubjectAccessReview", AUTHORIZATION, "", &errors));
    }
    let decision = auth::decide(&user, &attributes(&spec));
    echo(&mut review, "SubjectAccessReview", "authorization.k8s.io/v1");
    review["status"] = json!({ "allowed": decision.allowed, "reason": decision.reason });
    Ok(review)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sar(spec: Value) -> Result<Value, ApiError> {
        subject_access_review(json!({ "kind": "SubjectAccessReview", "spec": spec }))
    }

    #[test]
    fn a_named_user_is_allowed_and_anonymous_is_not() {
        let attrs = json!({ "verb": "get", "resource": "nodes", "subresource": "proxy", "name": "n1" });
        let allowed = sar(json!({ "user": "alice", "resourceAttributes": attrs })).unwrap();
        assert_eq!(allowed["status"]["allowed"], true, "a named user is allowed: {allowed}");
        let anonymous = sar(json!({ "user": "system:anonymous", "resourceAttributes": attrs })).unwrap();
        assert_eq!(anonymous["status"]["allowed"], false, "system:anonymous is not allowed: {anonymous}");
        let groups_only = sar(json!({ "groups": ["g"], "nonResourceAttributes": { "verb": "get", "path": "/x" } }));
        assert_eq!(groups_only.unwrap()["status"]["allowed"], false, "no user is not allowed");
    }

    #[test]
    fn a_review_needs_a_subject_and_exactly_one_kind_of_attributes() {
        let no_user = sar(json!({ "nonResourceAttributes": { "verb": "get", "path": "/x" } })).unwrap_err();
        assert_eq!(no_user.code, 422, "no user nor group is invalid");
        let neither = sar(json!({ "user": "alice" })).unwrap_err();
        assert_eq!(neither.code, 422, "no attributes is invalid");
        let both = sar(json!({ "user": "a", "resourceAttributes": {}, "nonResourceAttributes": {} })).unwrap_err();
        assert_eq!(both.code, 422, "both kinds of attributes is invalid");
    }
}
