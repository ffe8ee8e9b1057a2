//! Who may use the kubelet API, as upstream's kubelet server filters: the
//! client certificate's user (CN, O groups), else a bearer token checked by a
//! TokenReview to the apiserver (`--authentication-token-webhook`, answers
//! cached), else anonymous when allowed; then, with
//! `--authorization-mode=Webhook`, a SubjectAccessReview per request with
//! upstream's method/path → verb/subresource mapping.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::Response;
use k8s_openapi::api::authentication::v1::TokenReview;
use k8s_openapi::api::authorization::v1::SubjectAccessReview;
use kube::Api;
use kube::api::PostParams;

use crate::server::text;

pub use rustkube_component_base::authn::User;
use rustkube_component_base::authn::user_from_certificate;

/// The identity of the connection's client certificate (one the `--client-ca-file` CA
/// signed): CN → user, O → groups, as upstream's x509 authenticator; `None` without one.
#[derive(Debug, Clone)]
pub struct ClientCertificate(pub Option<User>);

impl ClientCertificate {
    pub fn of(cert: Option<&rustls::pki_types::CertificateDer<'static>>) -> Self {
        ClientCertificate(cert.and_then(|c| user_from_certificate(c.as_ref())))
    }
}

/// A TokenReview's answer: the token's user, or why it is refused.
type Verdict = Result<User, String>;

/// TokenReview answers, kept for `--authentication-token-webhook-cache-ttl` (refusals
/// too, as upstream's cached token authenticator; failed calls are not kept).
#[derive(Debug)]
struct TokenCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Verdict)>>,
}

impl TokenCache {
    /// Entries beyond which expired ones are swept on insert.
    const SWEEP_ABOVE: usize = 1024;

    fn get(&self, token: &str) -> Option<Verdict> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(token).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, verdict)| verdict.clone())
    }

    fn put(&self, token: &str, verdict: Verdict) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() > Self::SWEEP_ABOVE {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
        }
        entries.insert(token.to_owned(), (Instant::now(), verdict));
    }
}

/// The kubelet API's authentication and authorization (upstream's
/// `Server.InstallAuthFilter`): client certificate, else bearer token by TokenReview
/// (`--authentication-token-webhook`), else anonymous (`--anonymous-auth`) or 401; then,
/// with `--authorization-mode=Webhook`, a SubjectAccessReview per request, 403 if denied.
#[derive(Debug, Clone)]
pub struct Auth {
    inner: Arc<AuthInner>,
}

struct AuthInner {
    anonymous: bool,
    node_name: String,
    client: kube::Client,
    tokens: Option<TokenCache>,
    webhook_authorization: bool,
}

impl std::fmt::Debug for AuthInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthInner")
            .field("anonymous", &self.anonymous)
            .field("node_name", &self.node_name)
            .field("tokens", &self.tokens.as_ref().map(|c| c.ttl))
            .field("webhook_authorization", &self.webhook_authorization)
            .finish_non_exhaustive()
    }
}

impl Auth {
    pub fn new(config: &crate::options::Config, client: kube::Client) -> Self {
        let tokens = config
            .authentication_token_webhook
            .then(|| TokenCache { ttl: config.authentication_token_webhook_cache_ttl, entries: Mutex::default() });
        Auth {
            inner: Arc::new(AuthInner {
                anonymous: config.anonymous_auth,
                node_name: config.node_name.clone(),
                client,
                tokens,
                webhook_authorization: config.authorization_mode == crate::options::AuthorizationMode::Webhook,
            }),
        }
    }

    /// Who sent the request (its client certificate's user and bearer token), or the 401
    /// refusing it.
    async fn authenticate(&self, certificate: Option<User>, token: Option<String>) -> Result<User, Response> {
        if let Some(user) = certificate {
            return Ok(user);
        }
        if let Some(cache) = &self.inner.tokens
            && let Some(token) = token.as_deref()
        {
            let verdict = match cache.get(token) {
                Some(verdict) => verdict,
                None => match self.review_token(token).await {
                    Ok(verdict) => {
                        cache.put(token, verdict.clone());
                        verdict
                    }
                    Err(e) => Err(format!("token review failed: {e}")),
                },
            };
            return verdict.map_err(|reason| {
                tracing::debug!(%reason, "bearer token refused");
                unauthorized()
            });
        }
        if self.inner.anonymous { Ok(User::anonymous()) } else { Err(unauthorized()) }
    }

    /// A TokenReview of `token`: its user, or why it is not authenticated.
    async fn review_token(&self, token: &str) -> Result<Verdict, kube::Error> {
        let reviews: Api<TokenReview> = Api::all(self.inner.client.clone());
        let review: TokenReview = serde_json::from_value(serde_json::json!({ "spec": { "token": token } }))
            .map_err(kube::Error::SerdeError)?;
        let status = reviews.create(&PostParams::default(), &review).await?.status.unwrap_or_default();
        if status.authenticated != Some(true) {
            let error = status.error.filter(|e| !e.is_empty()).unwrap_or_else(|| "token not authenticated".into());
            return Ok(Err(error));
        }
        let info = status.user.unwrap_or_default();
        let mut groups = info.groups.unwrap_or_default();
        if !groups.iter().any(|g| g == "system:authenticated") {
            groups.push("system:authenticated".into());
        }
        Ok(Ok(User {
            name: info.username.unwrap_or_default(),
            uid: info.uid.unwrap_or_default(),
            groups,
            extra: info.extra.unwrap_or_default().into_iter().collect(),
        }))
    }

    /// `None` when `user` may send `method` to `path`; else the 403 (or 500 when the
    /// review failed).
    async fn authorize(&self, user: &User, method: &Method, path: &str) -> Option<Response> {
        if !self.inner.webhook_authorization {
            return None;
        }
        let attributes = RequestAttributes::of(method, path, &self.inner.node_name);
        let described = format!(
            "user={}, verb={}, resource={}, subresource={}",
            user.name, attributes.verb, attributes.resource, attributes.subresource
        );
        match self.review_access(user, &attributes).await {
            Ok(true) => None,
            Ok(false) => Some(text(StatusCode::FORBIDDEN, format!("Forbidden ({described})"))),
            Err(error) => {
                tracing::error!(%error, user = %user.name, verb = attributes.verb, subresource = attributes.subresource, "authorization error");
                Some(text(StatusCode::INTERNAL_SERVER_ERROR, format!("Authorization error ({described})")))
            }
        }
    }

    async fn review_access(&self, user: &User, attributes: &RequestAttributes<'_>) -> Result<bool, kube::Error> {
        let reviews: Api<SubjectAccessReview> = Api::all(self.inner.client.clone());
        let review: SubjectAccessReview = serde_json::from_value(serde_json::json!({
            "spec": {
                "user": user.name,
                "uid": user.uid,
                "groups": user.groups,
                "extra": user.extra,
                "resourceAttributes": {
                    "verb": attributes.verb,
                    "version": "v1",
                    "resource": attributes.resource,
                    "subresource": attributes.subresource,
                    "name": attributes.name,
                },
            },
        }))
        .map_err(kube::Error::SerdeError)?;
        let created = reviews.create(&PostParams::default(), &review).await?;
        Ok(created.status.is_some_and(|s| s.allowed))
    }
}

/// What a kubelet API request asks to do, as upstream's `GetRequestAttributes`: a verb
/// on this node's `nodes/<subresource>`, the subresource chosen by path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestAttributes<'a> {
    pub verb: &'static str,
    pub resource: &'static str,
    pub subresource: &'static str,
    pub name: &'a str,
}

impl<'a> RequestAttributes<'a> {
    pub fn of(method: &Method, path: &str, node_name: &'a str) -> Self {
        let verb = match *method {
            Method::GET | Method::HEAD => "get",
            Method::POST => "create",
            Method::PUT => "update",
            Method::PATCH => "patch",
            Method::DELETE => "delete",
            _ => "",
        };
        let under = |prefix: &str| path == prefix || path.strip_prefix(prefix).is_some_and(|r| r.starts_with('/'));
        let subresource = if under("/stats") {
            "stats"
        } else if under("/metrics") {
            "metrics"
        } else if under("/logs") {
            "log"
        } else if under("/spec") {
            "spec"
        } else {
            "proxy"
        };
        RequestAttributes { verb, resource: "nodes", subresource, name: node_name }
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer_token(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn unauthorized() -> Response {
    text(StatusCode::UNAUTHORIZED, "Unauthorized".into())
}

/// The middleware running [`Auth`] in front of every kubelet API endpoint.
pub async fn auth_filter(State(auth): State<Auth>, req: Request, next: axum::middleware::Next) -> Response {
    let certificate = req.extensions().get::<ClientCertificate>().and_then(|c| c.0.clone());
    let token = bearer_token(&req).map(str::to_owned);
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let user = match auth.authenticate(certificate, token).await {
        Ok(user) => user,
        Err(refusal) => return refusal,
    };
    if let Some(refusal) = auth.authorize(&user, &method, &path).await {
        return refusal;
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_attributes_follow_upstreams_kubelet_mapping() {
        let attrs = |method: Method, path: &str| {
            let a = RequestAttributes::of(&method, path, "n1");
            assert_eq!((a.resource, a.name), ("nodes", "n1"), "always this node's nodes object");
            (a.verb, a.subresource)
        };
        assert_eq!(attrs(Method::GET, "/pods"), ("get", "proxy"));
        assert_eq!(attrs(Method::HEAD, "/healthz"), ("get", "proxy"));
        assert_eq!(attrs(Method::POST, "/exec/ns/p/c"), ("create", "proxy"));
        assert_eq!(attrs(Method::PUT, "/x"), ("update", "proxy"));
        assert_eq!(attrs(Method::PATCH, "/x"), ("patch", "proxy"));
        assert_eq!(attrs(Method::DELETE, "/x"), ("delete", "proxy"));
        assert_eq!(attrs(Method::GET, "/stats/summary"), ("get", "stats"));
        assert_eq!(attrs(Method::GET, "/stats"), ("get", "stats"));
        assert_eq!(attrs(Method::GET, "/statsfoo"), ("get", "proxy"), "a sibling path is not a subpath");
        assert_eq!(attrs(Method::GET, "/metrics/cadvisor"), ("get", "metrics"));
        assert_eq!(attrs(Method::GET, "/logs/syslog"), ("get", "log"));
        assert_eq!(attrs(Method::GET, "/spec/"), ("get", "spec"));
    }

    #[test]
    fn a_client_certificate_names_its_user_and_groups() {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(rcgen::DnType::OrganizationName, "system:masters");
        params.distinguished_name.push(rcgen::DnType::CommonName, "kube-apiserver-kubelet-client");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let user = user_from_certificate(cert.der()).expect("a certificate with a CN names a user");
        assert_eq!(user.name, "kube-apiserver-kubelet-client");
        assert_eq!(user.groups, ["system:masters", "system:authenticated"]);

        let mut nameless = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        nameless.distinguished_name = rcgen::DistinguishedName::new();
        nameless.distinguished_name.push(rcgen::DnType::OrganizationName, "ops");
        let cert = nameless.self_signed(&key).unwrap();
        assert_eq!(user_from_certificate(cert.der()), None, "no CN, no user (as upstream)");
        assert_eq!(user_from_certificate(b"\x30\x82garbage"), None, "garbage is no user");
    }

    #[test]
    fn token_cache_keeps_answers_for_its_ttl() {
        let cache = TokenCache { ttl: Duration::from_secs(60), entries: Mutex::default() };
        assert!(cache.get("t").is_none());
        cache.put("t", Err("no".into()));
        assert_eq!(cache.get("t"), Some(Err("no".into())), "a refusal is cached too");
        let expired = TokenCache { ttl: Duration::ZERO, entries: Mutex::default() };
        expired.put("t", Err("no".into()));
        assert!(expired.get("t").is_none(), "an entry past its TTL is not used");
    }
}
