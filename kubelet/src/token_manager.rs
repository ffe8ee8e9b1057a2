//! Service-account tokens for projected volumes: requested through the
//! TokenRequest API bound to the pod, cached per pod, account, audience and
//! lifetime, and refreshed as upstream's kubelet token manager does (past 80%
//! of the lifetime, or 24 hours old, less a jitter).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use kube::Api;
use kube::api::PostParams;

/// A token older than this is refreshed whatever its lifetime.
pub const MAX_TTL_SECONDS: i64 = 24 * 60 * 60;
/// Refreshes are spread over up to this many seconds, so pods started together do not all
/// ask at once.
pub const MAX_JITTER_SECONDS: i64 = 10;

/// Errors getting a token (shown as `FailedMount`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("failed to fetch token: {0}")]
    RequestFailed(#[source] Box<kube::Error>),
    #[error("failed to fetch token: the TokenRequest response has no status")]
    NoStatus,
}

/// Whether a token valid for `expiration_seconds` that expires at `expires` (Unix seconds)
/// must be replaced at `now`: when it is older than [`MAX_TTL_SECONDS`], or within 20% of
/// its lifetime from expiring, each less `jitter` seconds.
pub fn requires_refresh(now: i64, expires: i64, expiration_seconds: i64, jitter: i64) -> bool {
    let issued = expires - expiration_seconds;
    if now > issued + MAX_TTL_SECONDS - jitter {
        return true;
    }
    now > expires - expiration_seconds * 20 / 100 - jitter
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    namespace: String,
    account: String,
    audiences: Vec<String>,
    expiration_seconds: i64,
    pod_uid: String,
}

#[derive(Debug, Clone)]
struct Cached {
    token: String,
    expires: i64,
    expiration_seconds: i64,
}

/// Unix seconds now, as the manager sees it.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The node's cache of service-account tokens, shared by every pod worker.
pub struct TokenManager {
    cache: Mutex<HashMap<Key, Cached>>,
    clock: Clock,
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cached = self.cache.lock().map(|c| c.len()).unwrap_or_default();
        f.debug_struct("TokenManager").field("cached", &cached).finish_non_exhaustive()
    }
}

impl Default for TokenManager {
    fn default() -> Self {
        Self::with_clock(Arc::new(|| jiff::Timestamp::now().as_second()))
    }
}

/// 0..[`MAX_JITTER_SECONDS`] seconds, differing between calls.
fn jitter() -> i64 {
    let random = std::collections::hash_map::RandomState::new().hash_one(std::time::Instant::now());
    (random % (MAX_JITTER_SECONDS as u64 + 1)) as i64
}

impl TokenManager {
    pub fn new() -> Self {
        Self::default()
    }

    /// A manager that decides refreshes by `clock` (tests move it forward).
    pub fn with_clock(clock: Clock) -> Self {
        TokenManager { cache: Mutex::default(), clock }
    }

    /// A current token for `pod`'s service account (`spec.serviceAccountName`, else
    /// `default`), bound to the pod, for `audience` (the apiserver's audiences when `None`)
    /// and `expiration_seconds`. Requests a new one when there is none or it is due for
    /// refresh; a refresh that fails falls back to the cached token while it is unexpired.
    pub async fn token(
        &self,
        client: &kube::Client,
        pod: &Pod,
        audience: Option<&str>,
        expiration_seconds: i64,
    ) -> Result<String, Error> {
        let spec = pod.spec.as_ref();
        let account = spec
            .and_then(|s| s.service_account_name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".to_owned());
        let key = Key {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            account,
            audiences: audience.filter(|a| !a.is_empty()).map(|a| vec![a.to_owned()]).unwrap_or_default(),
            expiration_seconds,
            pod_uid: pod.metadata.uid.clone().unwrap_or_default(),
        };
        let now = (self.clock)();
        let cached = {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            cache.retain(|_, c| c.expires > now);
            cache.get(&key).cloned()
        };
        if let Some(c) = &cached
            && !requires_refresh(now, c.expires, c.expiration_seconds, jitter())
        {
            return Ok(c.token.clone());
        }
        match self.request(client, pod, &key).await {
            Ok(fresh) => {
                let token = fresh.token.clone();
                self.cache.lock().unwrap_or_else(|p| p.into_inner()).insert(key, fresh);
                Ok(token)
            }
            Err(e) => match cached {
                Some(c) => {
                    tracing::warn!(
                        namespace = %key.namespace, serviceaccount = %key.account, error = %e,
                        "refreshing a service-account token failed; using the current one until it expires"
                    );
                    Ok(c.token)
                }
                None => Err(e),
            },
        }
    }

    async fn request(&self, client: &kube::Client, pod: &Pod, key: &Key) -> Result<Cached, Error> {
        let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), &key.namespace);
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: key.audiences.clone(),
                expiration_seconds: Some(key.expiration_seconds),
                bound_object_ref: Some(BoundObjectReference {
                    api_version: Some("v1".into()),
                    kind: Some("Pod".into()),
                    name: pod.metadata.name.clone(),
                    uid: pod.metadata.uid.clone(),
                }),
            },
            ..Default::default()
        };
        let response = accounts
            .create_token_request(&key.account, &PostParams::default(), &request)
            .await
            .map_err(|e| Error::RequestFailed(Box::new(e)))?;
        let status = response.status.ok_or(Error::NoStatus)?;
        tracing::debug!(namespace = %key.namespace, serviceaccount = %key.account, pod = ?pod.metadata.name, "requested a service-account token");
        Ok(Cached {
            token: status.token,
            expires: status.expiration_timestamp.0.as_second(),
            expiration_seconds: response.spec.expiration_seconds.unwrap_or(key.expiration_seconds),
        })
    }

    /// Drops the tokens of a pod that is gone.
    pub fn forget_pod(&self, pod_uid: &str) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).retain(|k, _| k.pod_uid != pod_uid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ten_minute_token_is_refreshed_past_eighty_percent_of_its_life() {
        let issued = 1_000_000;
        let (exp, life) = (issued + 600, 600);
        assert!(!requires_refresh(issued, exp, life, 0), "a fresh token is kept");
        assert!(!requires_refresh(issued + 480, exp, life, 0), "at exactly 80% it is still kept");
        assert!(requires_refresh(issued + 481, exp, life, 0), "past 80% it is refreshed");
        assert!(requires_refresh(issued + 471, exp, life, 10), "the jitter brings the refresh forward");
        assert!(!requires_refresh(issued + 469, exp, life, 10));
        assert!(requires_refresh(exp + 1, exp, life, 0), "an expired token is refreshed");
    }

    #[test]
    fn an_hour_token_is_refreshed_after_48_minutes() {
        let issued = 1_000_000;
        assert!(!requires_refresh(issued + 48 * 60, issued + 3600, 3600, 0));
        assert!(requires_refresh(issued + 48 * 60 + 1, issued + 3600, 3600, 0));
    }

    #[test]
    fn long_lived_tokens_are_refreshed_after_a_day() {
        let issued = 1_000_000;
        let week = 7 * 24 * 3600;
        assert!(!requires_refresh(issued + MAX_TTL_SECONDS, issued + week, week, 0));
        assert!(requires_refresh(issued + MAX_TTL_SECONDS + 1, issued + week, week, 0), "older than 24h");
        assert!(requires_refresh(issued + MAX_TTL_SECONDS - 5, issued + week, week, 10), "less the jitter");
    }

    #[test]
    fn jitter_stays_within_its_bound() {
        assert!((0..200).map(|_| jitter()).all(|j| (0..=MAX_JITTER_SECONDS).contains(&j)));
    }
}
