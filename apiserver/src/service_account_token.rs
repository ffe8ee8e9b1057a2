//! Service-account tokens: the JWTs TokenRequest issues and the bearer-token
//! check that turns one back into a service-account identity, as upstream's
//! `pkg/serviceaccount` (claims, JWT generator and validator).

use std::path::{Path, PathBuf};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rustkube_pki::{ServiceAccountKey, ServiceAccountPublicKey, SigningAlgorithm};
use serde::{Deserialize, Serialize};

/// Clock skew tolerated on `exp`, `nbf` and `iat` (go-jose's default leeway, which upstream uses).
pub const LEEWAY_SECONDS: i64 = 60;
/// The expiration the ServiceAccount admission plugin asks for in projected volumes; tokens
/// requested with it for a pod are valid for [`EXTENDED_EXPIRATION_SECONDS`] and carry
/// `warnafter` at the requested expiry (`--service-account-extend-token-expiration`).
pub const WARN_ONLY_EXPIRATION_SECONDS: i64 = 3607;
/// How long an extended token stays valid: a year.
pub const EXTENDED_EXPIRATION_SECONDS: i64 = 365 * 24 * 60 * 60;
/// A pod deleted longer ago than this no longer vouches for its tokens.
const DELETED_GRACE_SECONDS: i64 = 60;

/// Errors setting up the issuer, signing, or checking a token (the latter reach clients only as 401).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading service-account key file {path}: {source}")]
    KeyFileReadFailed {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("loading service-account key {path}: {source}")]
    KeyLoadFailed {
        path: PathBuf,
        #[source]
        source: rustkube_pki::Error,
    },
    #[error("signing a service-account token: {0}")]
    SigningFailed(#[source] jsonwebtoken::errors::Error),
    #[error("not a JWT issued by this apiserver")]
    NotOurs,
    #[error("invalid signature")]
    InvalidSignature,
    #[error("service account token has expired")]
    Expired,
    #[error("service account token is not valid yet")]
    NotValidYet,
    #[error("service account token is issued in the future")]
    IssuedInTheFuture,
    #[error("token audiences {token:?} is invalid for the target audiences {api:?}")]
    WrongAudience { token: Vec<String>, api: Vec<String> },
    #[error("service account token claims are malformed: {0}")]
    MalformedClaims(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `{name, uid}` of an object a token names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
}

/// The private `kubernetes.io` claim.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubernetesClaims {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(default)]
    pub serviceaccount: ObjectRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<ObjectRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<ObjectRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<ObjectRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnafter: Option<i64>,
}

/// Every claim of a service-account token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub jti: String,
    #[serde(rename = "kubernetes.io")]
    pub kubernetes: KubernetesClaims,
}

/// `aud` may be one string or a list (RFC 7519 4.1.3).
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Aud {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Aud::deserialize(d)? {
        Aud::One(a) => vec![a],
        Aud::Many(a) => a,
    })
}

/// `system:serviceaccount:<namespace>:<name>`.
pub fn username(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// What a token is bound to, besides its service account.
#[derive(Debug, Clone, Default)]
pub struct Binding {
    pub pod: Option<ObjectRef>,
    pub secret: Option<ObjectRef>,
    pub node: Option<ObjectRef>,
}

/// What to sign: the account, audiences, lifetime and binding.
#[derive(Debug, Clone)]
pub struct TokenSpec<'a> {
    pub namespace: &'a str,
    pub service_account: ObjectRef,
    pub audiences: Vec<String>,
    /// Seconds the token is valid for.
    pub expiration_seconds: i64,
    /// Seconds after which a use of the token is reported (extended tokens), if any.
    pub warn_after_seconds: Option<i64>,
    pub binding: Binding,
}

fn algorithm_of(a: SigningAlgorithm) -> Algorithm {
    match a {
        SigningAlgorithm::Es256 => Algorithm::ES256,
        SigningAlgorithm::Es384 => Algorithm::ES384,
        SigningAlgorithm::Rs256 => Algorithm::RS256,
    }
}

/// A key tokens are verified against.
struct VerifyKey {
    key_id: String,
    algorithm: Algorithm,
    key: DecodingKey,
}

impl VerifyKey {
    fn new(public: &ServiceAccountPublicKey) -> Result<Self, rustkube_pki::Error> {
        let raw = public.raw_public_key()?;
        let key = match public.algorithm {
            SigningAlgorithm::Rs256 => DecodingKey::from_rsa_der(&raw),
            SigningAlgorithm::Es256 | SigningAlgorithm::Es384 => DecodingKey::from_ec_der(&raw),
        };
        Ok(VerifyKey { key_id: public.key_id.clone(), algorithm: algorithm_of(public.algorithm), key })
    }
}

/// Configuration of [`TokenIssuer`], from the apiserver's flags.
#[derive(Debug, Clone)]
pub struct IssuerConfig {
    /// `--service-account-issuer` values; the first is the `iss` of new tokens, all are accepted.
    pub issuers: Vec<String>,
    /// `--api-audiences`; empty means the issuers.
    pub api_audiences: Vec<String>,
    /// `--service-account-extend-token-expiration`.
    pub extend_expiration: bool,
}

/// Signs new service-account tokens and verifies presented ones.
pub struct TokenIssuer {
    issuers: Vec<String>,
    api_audiences: Vec<String>,
    extend_expiration: bool,
    signing_key: EncodingKey,
    algorithm: Algorithm,
    key_id: String,
    verify_keys: Vec<VerifyKey>,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("issuers", &self.issuers)
            .field("api_audiences", &self.api_audiences)
            .field("key_id", &self.key_id)
            .field("verify_keys", &self.verify_keys.len())
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// An issuer signing with `signing` and accepting tokens signed by any of `verify`
    /// (the signing key's own public key when `verify` is empty).
    pub fn new(config: IssuerConfig, signing: &ServiceAccountKey, verify: &[ServiceAccountPublicKey]) -> Result<Self> {
        let load = |e| Error::KeyLoadFailed { path: PathBuf::from("<service-account signing key>"), source: e };
        let public = signing.public_key().map_err(load)?;
        let der = signing.signing_key_der().map_err(load)?;
        let signing_key = match public.algorithm {
            SigningAlgorithm::Rs256 => EncodingKey::from_rsa_der(&der),
            SigningAlgorithm::Es256 | SigningAlgorithm::Es384 => EncodingKey::from_ec_der(&der),
        };
        let verify_public: Vec<&ServiceAccountPublicKey> =
            if verify.is_empty() { vec![&public] } else { verify.iter().collect() };
        let verify_keys = verify_public.into_iter().map(VerifyKey::new).collect::<Result<Vec<_>, _>>().map_err(load)?;
        let api_audiences =
            if config.api_audiences.is_empty() { config.issuers.clone() } else { config.api_audiences.clone() };
        Ok(TokenIssuer {
            issuers: config.issuers,
            api_audiences,
            extend_expiration: config.extend_expiration,
            signing_key,
            algorithm: algorithm_of(public.algorithm),
            key_id: public.key_id,
            verify_keys,
        })
    }

    /// Loads the signing key file and the verification key files.
    pub fn from_files(config: IssuerConfig, signing_key_file: &Path, key_files: &[PathBuf]) -> Result<Self> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| Error::KeyFileReadFailed { path: path.to_owned(), source })
        };
        let signing = ServiceAccountKey::from_private_key_pem(&read(signing_key_file)?)
            .map_err(|source| Error::KeyLoadFailed { path: signing_key_file.to_owned(), source })?;
        let mut verify = Vec::new();
        for path in key_files {
            verify.extend(
                ServiceAccountPublicKey::all_from_pem(&read(path)?)
                    .map_err(|source| Error::KeyLoadFailed { path: path.clone(), source })?,
            );
        }
        Self::new(config, &signing, &verify)
    }

    /// The audiences of this apiserver: TokenRequest's default, and what presented tokens must name.
    pub fn api_audiences(&self) -> &[String] {
        &self.api_audiences
    }

    /// `iss` of new tokens.
    pub fn issuer(&self) -> &str {
        self.issuers.first().map(String::as_str).unwrap_or_default()
    }

    /// Whether a pod-bound request for `expiration_seconds` and `audiences` gets an extended token.
    pub fn extends(&self, expiration_seconds: i64, audiences: &[String], pod_bound: bool) -> bool {
        self.extend_expiration
            && pod_bound
            && expiration_seconds == WARN_ONLY_EXPIRATION_SECONDS
            && audiences.iter().all(|a| self.api_audiences.contains(a))
    }

    /// The claims of a new token issued at `now` (Unix seconds).
    pub fn claims(&self, spec: TokenSpec<'_>, now: i64) -> Claims {
        Claims {
            iss: self.issuer().to_owned(),
            sub: username(spec.namespace, &spec.service_account.name),
            aud: spec.audiences,
            exp: now + spec.expiration_seconds,
            iat: now,
            nbf: now,
            jti: uuid::Uuid::new_v4().to_string(),
            kubernetes: KubernetesClaims {
                namespace: spec.namespace.to_owned(),
                serviceaccount: spec.service_account,
                pod: spec.binding.pod,
                secret: spec.binding.secret,
                node: spec.binding.node,
                warnafter: spec.warn_after_seconds.map(|w| now + w),
            },
        }
    }

    /// Signs `claims` as a compact JWS with this apiserver's key (`kid` from its public key).
    pub fn sign(&self, claims: &Claims) -> Result<String> {
        let mut header = Header::new(self.algorithm);
        header.typ = None;
        header.kid = Some(self.key_id.clone());
        jsonwebtoken::encode(&header, claims, &self.signing_key).map_err(Error::SigningFailed)
    }

    /// Checks a presented token's signature, issuer, audiences and validity window at `now`;
    /// returns its claims. Whether the objects it names still exist is the caller's check.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims> {
        self.verify_for(token, now, &self.api_audiences)
    }

    /// As [`TokenIssuer::verify`], but the token must name one of `audiences` (a
    /// TokenReview's `spec.audiences`) instead of the API audiences.
    pub fn verify_for(&self, token: &str, now: i64, audiences: &[String]) -> Result<Claims> {
        // Tokens that are not JWTs, or come from another issuer, are not ours to judge.
        let header = jsonwebtoken::decode_header(token).map_err(|_| Error::NotOurs)?;
        let unverified = unverified_claims(token).ok_or(Error::NotOurs)?;
        let iss = unverified.get("iss").and_then(serde_json::Value::as_str).unwrap_or_default();
        if !self.issuers.iter().any(|i| i == iss) {
            return Err(Error::NotOurs);
        }
        let mut validation = Validation::new(header.alg);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        // Keys whose kid matches first, then the rest (a token may carry no or a foreign kid).
        let mut candidates: Vec<&VerifyKey> = self.verify_keys.iter().filter(|k| k.algorithm == header.alg).collect();
        candidates.sort_by_key(|k| header.kid.as_deref() != Some(k.key_id.as_str()));
        let mut claims = None;
        for key in candidates {
            match jsonwebtoken::decode::<Claims>(token, &key.key, &validation) {
                Ok(data) => {
                    claims = Some(data.claims);
                    break;
                }
                Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::Json(_)) => {
                    return Err(Error::MalformedClaims(e.to_string()));
                }
                Err(_) => {}
            }
        }
        let claims = claims.ok_or(Error::InvalidSignature)?;
        if now - LEEWAY_SECONDS > claims.exp {
            return Err(Error::Expired);
        }
        if now + LEEWAY_SECONDS < claims.nbf {
            return Err(Error::NotValidYet);
        }
        if now + LEEWAY_SECONDS < claims.iat {
            return Err(Error::IssuedInTheFuture);
        }
        if !claims.aud.iter().any(|a| audiences.contains(a)) {
            return Err(Error::WrongAudience { token: claims.aud.clone(), api: audiences.to_vec() });
        }
        let prefix = format!("system:serviceaccount:{}:", claims.kubernetes.namespace);
        let named = claims.sub.strip_prefix(&prefix).unwrap_or_default();
        if claims.kubernetes.namespace.is_empty()
            || named.is_empty()
            || named != claims.kubernetes.serviceaccount.name
            || claims.kubernetes.serviceaccount.uid.is_empty()
        {
            return Err(Error::MalformedClaims("sub and kubernetes.io do not name one service account".into()));
        }
        Ok(claims)
    }
}

/// Whether a pod (or service account) deleted with `deletion_timestamp` still vouches at `now`.
pub fn still_valid_after_deletion(deletion_timestamp: Option<&str>, now: i64) -> bool {
    match deletion_timestamp.and_then(|t| t.parse::<jiff::Timestamp>().ok()) {
        Some(t) => t.as_second() + DELETED_GRACE_SECONDS >= now,
        None => true,
    }
}

/// The payload of a compact JWS, before any check (only to route it to the right issuer).
fn unverified_claims(token: &str) -> Option<serde_json::Value> {
    use base64::Engine as _;
    let mut parts = token.split('.');
    let (_, payload, _, None) = (parts.next()?, parts.next()?, parts.next()?, parts.next()) else { return None };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Unix seconds now.
pub fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

    fn issuer_with(key: &ServiceAccountKey) -> TokenIssuer {
        let config = IssuerConfig { issuers: vec![ISSUER.into()], api_audiences: Vec::new(), extend_expiration: true };
        TokenIssuer::new(config, key, &[]).unwrap()
    }

    fn spec(audiences: &[&str], expiration_seconds: i64) -> TokenSpec<'static> {
        TokenSpec {
            namespace: "ns",
            service_account: ObjectRef { name: "robot".into(), uid: "sa-uid".into() },
            audiences: audiences.iter().map(|a| a.to_string()).collect(),
            expiration_seconds,
            warn_after_seconds: None,
            binding: Binding::default(),
        }
    }

    fn segment(token: &str, i: usize) -> serde_json::Value {
        use base64::Engine as _;
        let part = token.split('.').nth(i).unwrap();
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn issued_token_has_upstream_header_and_claims_and_verifies() {
        let key = ServiceAccountKey::generate().unwrap();
        let issuer = issuer_with(&key);
        assert_eq!(issuer.api_audiences(), [ISSUER], "api audiences default to the issuer");
        let now = 1_700_000_000;
        let token = issuer.sign(&issuer.claims(spec(&[ISSUER], 3600), now)).unwrap();
        let header = segment(&token, 0);
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], key.public_key().unwrap().key_id.as_str());
        assert!(header.get("typ").is_none(), "upstream's header carries only alg and kid: {header}");
        let payload = segment(&token, 1);
        assert_eq!(payload["sub"], "system:serviceaccount:ns:robot");
        assert_eq!(payload["aud"], serde_json::json!([ISSUER]));
        assert_eq!(
            (payload["iat"].as_i64(), payload["nbf"].as_i64(), payload["exp"].as_i64()),
            (Some(now), Some(now), Some(now + 3600))
        );
        assert_eq!(payload["kubernetes.io"]["serviceaccount"], serde_json::json!({"name": "robot", "uid": "sa-uid"}));
        assert!(payload["kubernetes.io"].get("pod").is_none());
        assert_eq!(payload["jti"].as_str().map(str::len), Some(36));
        let claims = issuer.verify(&token, now + 10).unwrap();
        assert_eq!(claims.kubernetes.namespace, "ns");
    }

    #[test]
    fn expired_future_foreign_and_forged_tokens_are_refused() {
        let key = ServiceAccountKey::generate().unwrap();
        let issuer = issuer_with(&key);
        let now = 1_700_000_000;
        let token = issuer.sign(&issuer.claims(spec(&[ISSUER], 600), now)).unwrap();
        assert!(issuer.verify(&token, now + 600 + LEEWAY_SECONDS).is_ok(), "within the leeway");
        assert!(matches!(issuer.verify(&token, now + 600 + LEEWAY_SECONDS + 1), Err(Error::Expired)));
        assert!(matches!(issuer.verify(&token, now - LEEWAY_SECONDS - 1), Err(Error::NotValidYet)));
        let other = issuer_with(&ServiceAccountKey::generate().unwrap());
        assert!(matches!(other.verify(&token, now), Err(Error::InvalidSignature)), "another key's token");
        let wrong_aud = issuer.sign(&issuer.claims(spec(&["vault"], 600), now)).unwrap();
        assert!(matches!(issuer.verify(&wrong_aud, now), Err(Error::WrongAudience { .. })));
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut payload = segment(&token, 1);
        payload["sub"] = "system:serviceaccount:ns:admin".into();
        payload["kubernetes.io"]["serviceaccount"]["name"] = "admin".into();
        use base64::Engine as _;
        parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload.to_string());
        assert!(matches!(issuer.verify(&parts.join("."), now), Err(Error::InvalidSignature)), "edited claims");
        assert!(matches!(issuer.verify("not-a-jwt", now), Err(Error::NotOurs)));
        let foreign = TokenIssuer::new(
            IssuerConfig { issuers: vec!["https://elsewhere".into()], api_audiences: vec![], extend_expiration: true },
            &key,
            &[],
        )
        .unwrap();
        let theirs = foreign.sign(&foreign.claims(spec(&[ISSUER], 600), now)).unwrap();
        assert!(matches!(issuer.verify(&theirs, now), Err(Error::NotOurs)), "another issuer's token");
    }

    #[test]
    fn rsa_keys_sign_rs256() {
        let pem_text = include_str!("../../crates/pki/tests/fixtures/rsa-ca.key");
        let key = ServiceAccountKey::from_private_key_pem(pem_text).unwrap();
        let issuer = issuer_with(&key);
        let token = issuer.sign(&issuer.claims(spec(&[ISSUER], 600), now())).unwrap();
        assert_eq!(segment(&token, 0)["alg"], "RS256");
        assert!(issuer.verify(&token, now()).is_ok());
    }

    #[test]
    fn only_pod_bound_kube_audience_3607_second_requests_are_extended() {
        let issuer = issuer_with(&ServiceAccountKey::generate().unwrap());
        assert!(issuer.extends(3607, &[ISSUER.into()], true));
        assert!(!issuer.extends(3607, &[ISSUER.into()], false));
        assert!(!issuer.extends(3600, &[ISSUER.into()], true));
        assert!(!issuer.extends(3607, &["vault".into()], true));
    }

    #[test]
    fn deleted_objects_vouch_for_a_minute() {
        let t = "2024-01-01T00:00:00Z";
        let at = t.parse::<jiff::Timestamp>().unwrap().as_second();
        assert!(still_valid_after_deletion(None, at));
        assert!(still_valid_after_deletion(Some(t), at + 60));
        assert!(!still_valid_after_deletion(Some(t), at + 61));
    }
}
