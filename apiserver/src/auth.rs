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
use serde_json::Value;

use crate::meta;
use crate::request::RequestInfo;
use crate::resource_store::Target;
use crate::service_account_token::{self as sat, Claims};
use crate::state::AppState;
use crate::status::ApiError;

/// The authenticated identity of a connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    /// Extra attributes (the bound pod and the token's ID for service-account tokens).
    pub extra: BTreeMap<String, Vec<String>>,
}

impl User {
    pub fn anonymous() -> Self {
        User { name: "system:anonymous".into(), groups: vec!["system:unauthenticated".into()], ..Default::default() }
    }

    pub fn is_anonymous(&self) -> bool {
        self.name == "system:anonymous"
    }
}

/// The identity in a DER client certificate: CN → user, O → groups.
pub fn user_from_certificate(der: &[u8]) -> Option<User> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let name = subject.iter_common_name().next()?.as_str().ok()?.to_owned();
    let mut groups: Vec<String> =
        subject.iter_organization().filter_map(|o| o.as_str().ok().map(str::to_owned)).collect();
    groups.push("system:authenticated".into());
    Some(User { name, groups, ..Default::default() })
}

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

fn core(plural: &str) -> &'static rustkube_api::registry::ResourceInfo {
    rustkube_api::registry::lookup("", "v1", plural).expect("core resources are registered")
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
    let target = Target { resource: core(plural), namespace };
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
    let issuer = state.tokens.as_ref().ok_or("no service-account token issuer configured")?;
    let now = sat::now();
    let claims: Claims = issuer.verify(token, now).map_err(|e| e.to_string())?;
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
    Ok(User {
        name: claims.sub.clone(),
        uid: k.serviceaccount.uid.clone(),
        groups: vec![
            "system:serviceaccounts".to_owned(),
            format!("system:serviceaccounts:{}", k.namespace),
            "system:authenticated".to_owned(),
        ],
        extra,
    })
}

/// authentication.k8s.io/v1 SelfSubjectReview: who the server takes the caller for
/// (`kubectl auth whoami`).
pub fn self_subject_review(user: &User) -> Value {
    let mut info = serde_json::json!({ "username": user.name, "groups": user.groups });
    if !user.uid.is_empty() {
        info["uid"] = Value::from(user.uid.clone());
    }
    if !user.extra.is_empty() {
        info["extra"] = serde_json::json!(user.extra);
    }
    serde_json::json!({
        "kind": "SelfSubjectReview",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": { "creationTimestamp": null },
        "status": { "userInfo": info },
    })
}

/// The authorization stage.
pub fn authorize(user: &User, _info: &RequestInfo) -> Result<(), ApiError> {
    if user.is_anonymous() {
        return Err(ApiError::unauthorized());
    }
    Ok(())
}
