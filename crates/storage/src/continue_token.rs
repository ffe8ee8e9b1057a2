//! List continuation tokens in upstream's wire format.
//!
//! A token is base64 (standard alphabet) of
//! `{"v":"meta.k8s.io/v1","rv":<revision>,"start":"<key relative to the list prefix>"}`,
//! as kube-apiserver issues them, so clients that inspect or replay tokens
//! behave the same against rustkube.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::Revision;

const TOKEN_VERSION: &str = "meta.k8s.io/v1";

/// Where the next page of a list starts, and in which snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContinueToken {
    /// The snapshot revision of the first page.
    pub revision: Revision,
    /// The full storage key the next page starts at (inclusive).
    pub start_key: String,
}

/// Why a continue token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("continue key is not valid: {0}")]
pub struct InvalidContinue(&'static str);

#[derive(Serialize, Deserialize)]
struct Wire {
    v: String,
    rv: Revision,
    start: String,
}

impl ContinueToken {
    /// Encodes the token for a list under `prefix` (a directory prefix).
    pub fn encode(&self, prefix: &str) -> String {
        let start = self.start_key.strip_prefix(prefix).unwrap_or(&self.start_key);
        let wire = Wire { v: TOKEN_VERSION.to_owned(), rv: self.revision, start: start.to_owned() };
        STANDARD.encode(serde_json::to_vec(&wire).unwrap_or_default())
    }

    /// Decodes a token for a list under `prefix` (a directory prefix).
    pub fn decode(token: &str, prefix: &str) -> Result<Self, InvalidContinue> {
        let raw = STANDARD.decode(token).map_err(|_| InvalidContinue("not base64"))?;
        let wire: Wire = serde_json::from_slice(&raw).map_err(|_| InvalidContinue("not a continue token"))?;
        if wire.v != TOKEN_VERSION {
            return Err(InvalidContinue("server does not recognize this encoded key version"));
        }
        if wire.rv <= 0 {
            return Err(InvalidContinue("incorrect encoded start resourceVersion (version meta.k8s.io/v1)"));
        }
        if wire.start.is_empty() {
            return Err(InvalidContinue("encoded start key is empty"));
        }
        // The start key is relative; refuse anything that would escape the prefix.
        if wire.start.starts_with('/') || wire.start.split('/').any(|seg| seg == "..") {
            return Err(InvalidContinue("encoded start key is not a relative path"));
        }
        Ok(ContinueToken { revision: wire.rv, start_key: format!("{prefix}{}", wire.start) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_relative_to_the_prefix() {
        let t = ContinueToken { revision: 42, start_key: "/registry/pods/default/web-1\0".into() };
        let enc = t.encode("/registry/pods/");
        let raw = String::from_utf8(STANDARD.decode(&enc).unwrap()).unwrap();
        assert_eq!(raw, r#"{"v":"meta.k8s.io/v1","rv":42,"start":"default/web-1\u0000"}"#);
        assert_eq!(ContinueToken::decode(&enc, "/registry/pods/").unwrap(), t);
    }

    #[test]
    fn refuses_junk_and_escapes() {
        assert!(ContinueToken::decode("%%%", "/r/").is_err());
        assert!(ContinueToken::decode(&STANDARD.encode("{}"), "/r/").is_err());
        let bad = STANDARD.encode(r#"{"v":"meta.k8s.io/v1","rv":3,"start":"../secrets/x"}"#);
        assert!(ContinueToken::decode(&bad, "/r/").is_err());
        let bad_rv = STANDARD.encode(r#"{"v":"meta.k8s.io/v1","rv":0,"start":"a"}"#);
        assert!(ContinueToken::decode(&bad_rv, "/r/").is_err());
    }
}
