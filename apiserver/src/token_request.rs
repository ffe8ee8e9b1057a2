//! `POST serviceaccounts/<name>/token`: authentication.k8s.io/v1 TokenRequest,
//! as upstream's `pkg/registry/core/serviceaccount/storage/token.go`.

use axum::http::StatusCode;
use axum::response::Response;
use rustkube_api::registry;
use rustkube_api::validation::FieldError;
use serde_json::{Value, json};

use crate::meta;
use crate::resource_store::Target;
use crate::service_account_token::{self as sat, Binding, ObjectRef, TokenSpec};
use crate::state::AppState;
use crate::status::{ApiError, Qualified};

/// Validity when the request does not say (upstream's API default).
pub const DEFAULT_EXPIRATION_SECONDS: i64 = 60 * 60;
/// Shortest validity a TokenRequest may ask for.
pub const MIN_EXPIRATION_SECONDS: i64 = 10 * 60;
/// Longest validity a TokenRequest may ask for.
pub const MAX_EXPIRATION_SECONDS: i64 = 1 << 32;

/// The requested expiration, defaulted and validated.
fn expiration_seconds(spec: &Value) -> Result<i64, ApiError> {
    let exp = match spec.get("expirationSeconds") {
        None | Some(Value::Null) => DEFAULT_EXPIRATION_SECONDS,
        Some(v) => v.as_i64().ok_or_else(|| {
            ApiError::bad_request(format!(
                "json: cannot unmarshal {v} into Go struct field TokenRequestSpec.spec.expirationSeconds of type int64"
            ))
        })?,
    };
    let mut errors = Vec::new();
    if exp < MIN_EXPIRATION_SECONDS {
        errors.push(FieldError::invalid(
            "spec.expirationSeconds",
            exp,
            "may not specify a duration less than 10 minutes",
        ));
    }
    if exp > MAX_EXPIRATION_SECONDS {
        errors.push(FieldError::invalid(
            "spec.expirationSeconds",
            exp,
            "may not specify a duration larger than 2^32 seconds",
        ));
    }
    if errors.is_empty() {
        Ok(exp)
    } else {
        Err(ApiError::invalid("TokenRequest", "authentication.k8s.io", "", &errors))
    }
}

fn audiences(spec: &Value) -> Result<Vec<String>, ApiError> {
    match spec.get("audiences") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|a| {
                a.as_str().map(str::to_owned).ok_or_else(|| {
                    ApiError::bad_request("json: cannot unmarshal into Go struct field TokenRequestSpec.spec.audiences")
                })
            })
            .collect(),
        Some(_) => Err(ApiError::bad_request(
            "json: cannot unmarshal into Go struct field TokenRequestSpec.spec.audiences of type []string",
        )),
    }
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn object_ref(obj: &Value) -> ObjectRef {
    ObjectRef { name: meta::name(obj).to_owned(), uid: meta::meta_str(obj, "uid").unwrap_or_default().to_owned() }
}

/// Resolves `spec.boundObjectRef` against the store: the binding it makes.
async fn bind(state: &AppState, namespace: &str, account: &str, r: &Value) -> Result<Binding, ApiError> {
    let api_version = str_field(r, "apiVersion");
    let kind = str_field(r, "kind");
    let name = str_field(r, "name");
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let mut binding = Binding::default();
    let store = &state.store;
    let uid = match (group, kind) {
        ("", "Pod") => {
            let pod = store.get(Target { resource: registry::core("pods"), namespace: Some(namespace) }, name).await?;
            if pod.pointer("/spec/serviceAccountName").and_then(Value::as_str).unwrap_or_default() != account {
                return Err(ApiError::bad_request(format!(
                    "cannot bind token for serviceaccount {account:?} to pod running with different serviceaccount name."
                )));
            }
            // The node the pod runs on, when it is known (upstream's ServiceAccountTokenPodNodeInfo).
            if let Some(node) = pod.pointer("/spec/nodeName").and_then(Value::as_str).filter(|n| !n.is_empty())
                && let Ok(node) = store.get(Target { resource: registry::core("nodes"), namespace: None }, node).await
            {
                binding.node = Some(object_ref(&node));
            }
            let pod = object_ref(&pod);
            let uid = pod.uid.clone();
            binding.pod = Some(pod);
            uid
        }
        ("", "Secret") => {
            let secret =
                store.get(Target { resource: registry::core("secrets"), namespace: Some(namespace) }, name).await?;
            let secret = object_ref(&secret);
            let uid = secret.uid.clone();
            binding.secret = Some(secret);
            uid
        }
        ("", "Node") => {
            let node = store.get(Target { resource: registry::core("nodes"), namespace: None }, name).await?;
            let node = object_ref(&node);
            let uid = node.uid.clone();
            binding.node = Some(node);
            uid
        }
        _ => {
            return Err(ApiError::bad_request(format!(
                "cannot bind token to object of type {group}/{version}, Kind={kind}"
            )));
        }
    };
    let wanted = str_field(r, "uid");
    if !wanted.is_empty() && wanted != uid {
        return Err(ApiError::conflict(
            Qualified { group, resource: kind },
            name,
            &format!(
                "the UID in the bound object reference ({wanted}) does not match the UID in record. \
                 The object might have been deleted and then recreated"
            ),
        ));
    }
    Ok(binding)
}

/// Issues a token for service account `name` in `namespace`; 201 with the TokenRequest.
pub async fn create(state: &AppState, namespace: &str, name: &str, mut request: Value) -> Result<Response, ApiError> {
    let Some(issuer) = &state.tokens else {
        return Err(ApiError::unavailable("this apiserver has no service-account signing key configured"));
    };
    let spec = request.get("spec").cloned().unwrap_or_else(|| json!({}));
    let expiration = expiration_seconds(&spec)?;
    let sa_target = Target { resource: registry::core("serviceaccounts"), namespace: Some(namespace) };
    let account = state.store.get(sa_target, name).await?;
    let binding = match spec.get("boundObjectRef").filter(|r| !r.is_null()) {
        Some(r) => bind(state, namespace, name, r).await?,
        None => Binding::default(),
    };
    let mut audiences = audiences(&spec)?;
    if audiences.is_empty() {
        audiences = issuer.api_audiences().to_vec();
    }
    let (valid_for, warn_after) = if issuer.extends(expiration, &audiences, binding.pod.is_some()) {
        (sat::EXTENDED_EXPIRATION_SECONDS, Some(expiration))
    } else {
        (expiration, None)
    };
    let now = sat::now();
    let claims = issuer.claims(
        TokenSpec {
            namespace,
            service_account: object_ref(&account),
            audiences: audiences.clone(),
            expiration_seconds: valid_for,
            warn_after_seconds: warn_after,
            binding,
        },
        now,
    );
    let token = issuer.sign(&claims).map_err(|e| ApiError::internal(format!("failed to generate token: {e}")))?;
    let expires = jiff::Timestamp::from_second(now + expiration)
        .map_err(|e| ApiError::internal(e.to_string()))?
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    request["apiVersion"] = json!("authentication.k8s.io/v1");
    request["kind"] = json!("TokenRequest");
    if !request.get("metadata").is_some_and(Value::is_object) {
        request["metadata"] = json!({});
    }
    meta::meta_mut(&mut request).insert("namespace".into(), json!(namespace));
    let mut spec = spec;
    spec["audiences"] = json!(audiences);
    spec["expirationSeconds"] = json!(expiration);
    if spec.get("boundObjectRef").is_none() {
        spec["boundObjectRef"] = Value::Null;
    }
    request["spec"] = spec;
    request["status"] = json!({ "token": token, "expirationTimestamp": expires });
    tracing::debug!(namespace, name, audiences = ?audiences, expiration, "issued a service-account token");
    Ok(crate::handlers::json_response(StatusCode::CREATED, &request))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiration_defaults_to_an_hour_and_is_bounded_with_upstreams_messages() {
        assert_eq!(expiration_seconds(&json!({})).unwrap(), 3600);
        assert_eq!(expiration_seconds(&json!({"expirationSeconds": null})).unwrap(), 3600);
        assert_eq!(expiration_seconds(&json!({"expirationSeconds": 600})).unwrap(), 600);
        let short = expiration_seconds(&json!({"expirationSeconds": 599})).unwrap_err();
        assert_eq!((short.code, short.reason), (422, "Invalid"));
        assert_eq!(
            short.message,
            "TokenRequest.authentication.k8s.io \"\" is invalid: spec.expirationSeconds: Invalid value: 599: \
             may not specify a duration less than 10 minutes"
        );
        let long = expiration_seconds(&json!({"expirationSeconds": (1i64 << 32) + 1})).unwrap_err();
        assert!(long.message.ends_with("may not specify a duration larger than 2^32 seconds"), "{}", long.message);
        assert_eq!(expiration_seconds(&json!({"expirationSeconds": "1h"})).unwrap_err().code, 400);
    }

    #[test]
    fn audiences_must_be_strings() {
        assert!(audiences(&json!({"audiences": null})).unwrap().is_empty());
        assert_eq!(audiences(&json!({"audiences": ["a", "b"]})).unwrap(), ["a", "b"]);
        assert_eq!(audiences(&json!({"audiences": "a"})).unwrap_err().code, 400);
    }
}
