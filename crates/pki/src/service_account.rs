//! The key pair kube-apiserver signs service-account tokens with and verifies them against.

use std::fmt;

use rcgen::KeyPair;

use crate::error::{Error, Result};
use crate::key;

/// A service-account signing key: a PKCS#8 private key and its SPKI public key, both PEM.
///
/// Generated keys are ECDSA P-256, for ES256 tokens; loaded keys may also be RSA (RS256).
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceAccountKey {
    /// `-----BEGIN PRIVATE KEY-----` for generated keys; loaded keys keep their own form.
    pub private_key_pem: String,
    /// `-----BEGIN PUBLIC KEY-----`.
    pub public_key_pem: String,
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("private_key_pem", &"<redacted>")
            .field("public_key_pem", &self.public_key_pem)
            .finish()
    }
}

impl ServiceAccountKey {
    /// A new ECDSA P-256 key pair.
    pub fn generate() -> Result<Self> {
        let key = KeyPair::generate().map_err(Error::KeyGenerationFailed)?;
        Ok(ServiceAccountKey { private_key_pem: key.serialize_pem(), public_key_pem: key.public_key_pem() })
    }

    /// An existing private key, with its public key derived from it.
    pub fn from_private_key_pem(private_key_pem: &str) -> Result<Self> {
        let key = key::key_pair_from_pem(private_key_pem)?;
        Ok(ServiceAccountKey { private_key_pem: private_key_pem.to_owned(), public_key_pem: key.public_key_pem() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_reloads_to_the_same_public_key() {
        let generated = ServiceAccountKey::generate().unwrap();
        assert!(generated.private_key_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(generated.public_key_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let loaded = ServiceAccountKey::from_private_key_pem(&generated.private_key_pem).unwrap();
        assert_eq!(loaded, generated);
        assert!(!format!("{generated:?}").contains("PRIVATE KEY"), "Debug must not print the private key");
    }
}
