//! The key pair kube-apiserver signs service-account tokens with and verifies them against.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rcgen::KeyPair;

use crate::error::{Error, Result};
use crate::{der, key, pem};

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

    /// The private key as DER in the form JWS signers take, whatever form it was loaded from:
    /// PKCS#8 for EC keys, PKCS#1 `RSAPrivateKey` for RSA keys.
    pub fn signing_key_der(&self) -> Result<Vec<u8>> {
        let pair = key::key_pair_from_pem(&self.private_key_pem)?;
        let pkcs8 = pair.serialize_der();
        if pair.algorithm() != &rcgen::PKCS_RSA_SHA256 {
            return Ok(pkcs8);
        }
        // PrivateKeyInfo ::= SEQUENCE { version, algorithm, privateKey OCTET STRING }
        der::read(&pkcs8)
            .and_then(|(info, _)| der::children(info.contents))
            .and_then(|fields| fields.into_iter().find(|f| f.tag == der::TAG_OCTET_STRING))
            .map(|key| key.contents.to_vec())
            .ok_or_else(|| Error::PemDecodeFailed { what: "private key", reason: "malformed PKCS#8 RSA key".into() })
    }

    /// The public half, with its algorithm and key ID.
    pub fn public_key(&self) -> Result<ServiceAccountPublicKey> {
        let pair = key::key_pair_from_pem(&self.private_key_pem)?;
        ServiceAccountPublicKey::from_spki_der(&rcgen::PublicKeyData::subject_public_key_info(&pair))
    }
}

/// The JWS algorithm a service-account key signs with, from its key type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlgorithm {
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// ECDSA P-384 with SHA-384.
    Es384,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
}

impl SigningAlgorithm {
    /// The JOSE `alg` name.
    pub fn jws_name(self) -> &'static str {
        match self {
            SigningAlgorithm::Es256 => "ES256",
            SigningAlgorithm::Es384 => "ES384",
            SigningAlgorithm::Rs256 => "RS256",
        }
    }
}

/// A public key that verifies service-account tokens, with the `kid` tokens signed by
/// its private key carry.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceAccountPublicKey {
    /// DER `SubjectPublicKeyInfo`.
    pub spki_der: Vec<u8>,
    pub algorithm: SigningAlgorithm,
    /// Upstream's key ID: unpadded base64url of the SHA-256 of the SPKI DER.
    pub key_id: String,
}

impl fmt::Debug for ServiceAccountPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountPublicKey")
            .field("algorithm", &self.algorithm)
            .field("key_id", &self.key_id)
            .finish()
    }
}

/// rsaEncryption, 1.2.840.113549.1.1.1.
const OID_RSA: &str = "1.2.840.113549.1.1.1";
/// id-ecPublicKey, 1.2.840.10045.2.1.
const OID_EC: &str = "1.2.840.10045.2.1";
/// prime256v1.
const OID_P256: &str = "1.2.840.10045.3.1.7";
/// secp384r1.
const OID_P384: &str = "1.3.132.0.34";

impl ServiceAccountPublicKey {
    /// A key from its DER `SubjectPublicKeyInfo`; RSA, P-256 and P-384 keys are supported.
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        use x509_parser::prelude::FromDer;
        let bad = |reason: String| Error::PemDecodeFailed { what: "public key", reason };
        let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(der)
            .map_err(|e| bad(format!("not a SubjectPublicKeyInfo: {e}")))?;
        let algorithm = match spki.algorithm.algorithm.to_id_string().as_str() {
            OID_RSA => SigningAlgorithm::Rs256,
            OID_EC => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.as_oid().ok())
                    .map(|oid| oid.to_id_string())
                    .unwrap_or_default();
                match curve.as_str() {
                    OID_P256 => SigningAlgorithm::Es256,
                    OID_P384 => SigningAlgorithm::Es384,
                    other => return Err(bad(format!("unsupported elliptic curve {other:?}"))),
                }
            }
            other => return Err(bad(format!("unsupported public key algorithm {other}"))),
        };
        let digest = ring::digest::digest(&ring::digest::SHA256, der);
        let key_id = URL_SAFE_NO_PAD.encode(digest.as_ref());
        Ok(ServiceAccountPublicKey { spki_der: der.to_owned(), algorithm, key_id })
    }

    /// Every key in a `--service-account-key-file`: PUBLIC KEY blocks, certificates (their
    /// public key) and private keys (their public half), as upstream accepts.
    pub fn all_from_pem(text: &str) -> Result<Vec<Self>> {
        let blocks =
            pem::decode_all(text).map_err(|reason| Error::PemDecodeFailed { what: "service-account key", reason })?;
        let mut keys = Vec::new();
        for block in &blocks {
            match block.label.as_str() {
                "PUBLIC KEY" => keys.push(Self::from_spki_der(&block.der)?),
                "CERTIFICATE" => {
                    let (_, cert) = x509_parser::parse_x509_certificate(&block.der).map_err(|e| match e {
                        x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e) => {
                            Error::CertificateParseFailed(e)
                        }
                        x509_parser::nom::Err::Incomplete(_) => {
                            Error::CertificateParseFailed(x509_parser::error::X509Error::InvalidCertificate)
                        }
                    })?;
                    keys.push(Self::from_spki_der(cert.public_key().raw)?);
                }
                label if label.ends_with("PRIVATE KEY") => {
                    let pair = key::key_pair_from_pem(&pem::encode(label, &block.der))?;
                    keys.push(Self::from_spki_der(&rcgen::PublicKeyData::subject_public_key_info(&pair))?);
                }
                _ => {}
            }
        }
        if keys.is_empty() {
            return Err(Error::PemDecodeFailed {
                what: "service-account key",
                reason: "no PUBLIC KEY, CERTIFICATE or PRIVATE KEY block found".to_owned(),
            });
        }
        Ok(keys)
    }

    /// The `subjectPublicKey` bits: the PKCS#1 `RSAPublicKey` or the uncompressed EC point,
    /// the form JWS verifiers take.
    pub fn raw_public_key(&self) -> Result<Vec<u8>> {
        use x509_parser::prelude::FromDer;
        let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(&self.spki_der).map_err(|e| {
            Error::PemDecodeFailed { what: "public key", reason: format!("not a SubjectPublicKeyInfo: {e}") }
        })?;
        Ok(spki.subject_public_key.data.to_vec())
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

    #[test]
    fn generated_key_is_es256_with_a_stable_key_id_from_its_public_key() {
        let key = ServiceAccountKey::generate().unwrap();
        let public = key.public_key().unwrap();
        assert_eq!(public.algorithm, SigningAlgorithm::Es256);
        assert_eq!(public.key_id.len(), 43, "base64url of 32 bytes without padding");
        let from_file = ServiceAccountPublicKey::all_from_pem(&key.public_key_pem).unwrap();
        assert_eq!(from_file, vec![public.clone()], "the .pub file yields the same key and kid");
        let from_private = ServiceAccountPublicKey::all_from_pem(&key.private_key_pem).unwrap();
        assert_eq!(from_private, vec![public.clone()], "a private key file yields its public half");
        assert_eq!(public.raw_public_key().unwrap().first(), Some(&0x04), "an uncompressed EC point");
        let pkcs8 = pem::decode_all(&key.private_key_pem).unwrap().remove(0).der;
        assert_eq!(key.signing_key_der().unwrap(), pkcs8, "EC keys sign from their PKCS#8 form");
    }

    #[test]
    fn pkcs1_rsa_key_signs_rs256_from_its_pkcs1_form() {
        let pem_text = include_str!("../tests/fixtures/rsa-ca.key");
        let key = ServiceAccountKey::from_private_key_pem(pem_text).unwrap();
        assert_eq!(key.public_key().unwrap().algorithm, SigningAlgorithm::Rs256);
        let pkcs1 = pem::decode_all(pem_text).unwrap().remove(0).der;
        assert_eq!(key.signing_key_der().unwrap(), pkcs1);
    }

    #[test]
    fn files_without_keys_are_refused() {
        assert!(ServiceAccountPublicKey::all_from_pem("no pem here").is_err());
        assert!(ServiceAccountPublicKey::all_from_pem(&pem::encode("PUBLIC KEY", &[0x30, 0x00])).is_err());
    }
}
