//! Authentication (client certificates, service-account bearer tokens) and
//! the authorization stage.
//!
//! A client certificate signed by the client CA authenticates as its CN with
//! its O values as groups, as upstream's x509 authenticator. Without one, a
//! `Authorization: Bearer` service-account token issued by this apiserver
//! authenticates as its service account, while that account (and the pod,
//! secret or node the token is bound to) still exists; any other bearer token
//! is refused with 401, as upstream's authenticator chain. Authorization is
//! a stage of its own in the chain: for now every authenticated user is
//! allowed (RBAC and the Node authorizer arrive with the security work), and
//! unauthenticated requests to the API are refused with 401.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rustkube_api::registry;
use serde_json::Value;

use crate::meta;
use crate::request::RequestInfo;
use crate::resource_store::Target;
use crate::service_account_token::{self as sat, Claims};
use crate::state::AppState;
use crate::status::ApiError;

pub use rustkube_component_base::authn::{User, user_from_certificate};

/// The token of an `Authorization: Bearer <token>` header, as upstream's bearer-token
/// authenticator reads it (other schemes are not a bearer token).
fn bearer_token(req: &Request<Body>) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let mut parts = value.splitn(3, ' ');
    let scheme = parts.next()?;
    let token = parts.next()?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// Authentication middleware: a connection without a client certificate that presents a
/// bearer token is that token's service account, or 401.
pub async fn authenticate_bearer(State(state): State<Arc<AppState>>, mut req: Request<Body>, next: Next) -> Response {
    let has_certificate = req.extensions().get::<User>().is_some_and(|u| !u.is_anonymous());
    if !has_certificate && let Some(token) = bearer_token(&req) {
        match authenticate_token(&state, &token).await {
            Ok(user) => {
                tracing::debug!(user = %user.name, "authenticated a service-account token");
                req.extensions_mut().insert(user);
                // As upstream: the credential is not passed on (to kubelets, say).
                req.headers_mut().remove(header::AUTHORIZATION);
            }
            Err(reason) => {
                tracing::debug!(path = %req.uri().path(), %reason, "bearer token refused");
                return ApiError::unauthorized().into_response();
            }
        }
    }
    next.run(req).await
}

/// Checks that the object a token names still exists with the same UID (and, for a pod,
/// secret or account, was not deleted more than a minute ago).
async fn check_live(
    state: &AppState,
    plural: &str,
    namespace: Option<&str>,
    named: &sat::ObjectRef,
    now: i64,
) -> Result<Value, String> {
    let target = Target { resource: registry::core(plural), namespace };
    let obj =
        state.store.get(target, &named.name).await.map_err(|e| format!("{plural} {:?}: {}", named.name, e.message))?;
    let uid = meta::meta_str(&obj, "uid").unwrap_or_default();
    if uid != named.uid {
        return Err(format!("{plural} {:?} UID ({uid}) does not match claim ({})", named.name, named.uid));
    }
    let deleted = obj.pointer("/metadata/deletionTimestamp").and_then(Value::as_str);
    if !sat::still_valid_after_deletion(deleted, now) {
        return Err(format!("{plural} {:?} is being deleted", named.name));
    }
    Ok(obj)
}

/// A bearer token's identity, or why it is refused.
pub async fn authenticate_token(state: &AppState, token: &str) -> Result<User, String> {
    authenticate_token_for(state, token, None).await.map(|(user, _)| user)
}

/// A token's identity and the audiences it is accepted for: those of its audiences in
/// `audiences` (a TokenReview's `spec.audiences`), or in the API audiences when `None`.
pub async fn authenticate_token_for(
    state: &AppState,
    token: &str,
    audiences: Option<&[String]>,
) -> Result<(User, Vec<String>), String> {
    let issuer = state.tokens.as_ref().ok_or("no service-account token issuer configured")?;
    let audiences = audiences.unwrap_or(issuer.api_audiences());
    let now = sat::now();
    let claims: Claims = issuer.verify_for(token, now, audiences).map_err(|e| e.to_string())?;
    let accepted: Vec<String> = claims.aud.iter().filter(|a| audiences.contains(a)).cloned().collect();
    let k = &claims.kubernetes;
    let ns = Some(k.namespace.as_str());
    check_live(state, "serviceaccounts", ns, &k.serviceaccount, now).await?;
    let mut extra = BTreeMap::new();
    if let Some(pod) = &k.pod {
        check_live(state, "pods", ns, pod, now).await?;
        extra.insert("authentication.kubernetes.io/pod-name".to_owned(), vec![pod.name.clone()]);
        extra.insert("authentication.kubernetes.io/pod-uid".to_owned(), vec![pod.uid.clone()]);
    } else if let Some(secret) = &k.secret {
        check_live(state, "secrets", ns, secret, now).await?;
    } else if let Some(node) = &k.node {
        check_live(state, "nodes", None, node, now).await?;
    }
    if let Some(node) = &k.node {
        extra.insert("authentication.kubernetes.io/node-name".to_owned(), vec![node.name.clone()]);
        extra.insert("authentication.kubernetes.io/node-uid".to_owned(), vec![node.uid.clone()]);
    }
    if !claims.jti.is_empty() {
        extra.insert("authentication.kubernetes.io/credential-id".to_owned(), vec![format!("JTI={}", claims.jti)]);
    }
    if let Some(warn) = k.warnafter
        && now > warn
    {
        tracing::info!(
            namespace = %k.namespace,
            serviceaccount = %k.serviceaccount.name,
            "a stale service-account token was used (past its warnafter; the client should refresh it)"
        );
    }
    let user = User {
        name: claims.sub.clone(),
        uid: k.serviceaccount.uid.clone(),
        groups: vec![
            "system:serviceaccounts".to_owned(),
            format!("system:serviceaccounts:{}", k.namespace),
            "system:authenticated".to_owned(),
        ],
        extra,
    };
    Ok((user, accepted))
}

/// A user as authentication.k8s.io/v1 `UserInfo` (empty fields left out).
pub fn user_info(user: &User) -> Value {
    let mut info = serde_json::json!({ "username": user.name, "groups": user.groups });
    if !user.uid.is_empty() {
        info["uid"] = Value::from(user.uid.clone());
    }
    if !user.extra.is_empty() {
        info["extra"] = serde_json::json!(user.extra);
    }
    info
}

/// authentication.k8s.io/v1 SelfSubjectReview: who the server takes the caller for
/// (`kubectl auth whoami`).
pub fn self_subject_review(user: &User) -> Value {
    let info = user_info(user);
    serde_json::json!({
        "kind": "SelfSubjectReview",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": { "creationTimestamp": null },
        "status": { "userInfo": info },
    })
}

/// What a request asks to do, as upstream's `authorizer.Attributes`: a verb on a
/// resource (`resource` non-empty) or on a non-resource `path`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    pub path: String,
}

impl Attributes {
    /// The attributes of an API request.
    pub fn of_request(info: &RequestInfo) -> Self {
        Attributes {
            verb: info.verb.as_str().to_owned(),
            group: info.resource.group.to_owned(),
            resource: info.resource.plural.to_owned(),
            subresource: info.subresource.clone().unwrap_or_default(),
            namespace: info.namespace.clone().unwrap_or_default(),
            name: info.name.clone().unwrap_or_default(),
            path: String::new(),
        }
    }
}

/// The authorizer's answer, with why (a SubjectAccessReview's `status.reason`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub reason: String,
}

/// The authorizer: the one decision both the request chain ([`authorize`]) and
/// SubjectAccessReview use. For now every authenticated user may do anything.
pub fn decide(user: &User, _attributes: &Attributes) -> Decision {
    if user.is_anonymous() || user.name.is_empty() {
        return Decision { allowed: false, reason: "anonymous requests are not allowed".into() };
    }
    Decision { allowed: true, reason: "every authenticated user is allowed".into() }
}

/// The authorization stage: unauthenticated requests get 401 (there is nothing an
/// anonymous user may do yet), denied ones 403.
pub fn authorize(user: &User, info: &RequestInfo) -> Result<(), ApiError> {
    let attributes = Attributes::of_request(info);
    let decision = decide(user, &attributes);
    if decision.allowed {
        return Ok(());
    }
    if user.is_anonymous() {
        return Err(ApiError::unauthorized());
    }
    Err(ApiError::forbidden(format!(
        "{} {:?} is forbidden: User {:?} cannot {} resource {:?} in API group {:?}: {}",
        attributes.resource,
        attributes.name,
        user.name,
        attributes.verb,
        attributes.resource,
        attributes.group,
        decision.reason
    )))
}
