//! Private keys from PEM: PKCS#8, and the PKCS#1 (RSA) and SEC1 (EC) forms openssl and kubeadm write.

use rcgen::KeyPair;

use crate::der;
use crate::error::{Error, Result};
use crate::pem;

/// rsaEncryption, 1.2.840.113549.1.1.1, with its NULL parameters.
const RSA_ALGORITHM: &[u8] =
    &[0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
/// id-ecPublicKey, 1.2.840.10045.2.1.
const EC_PUBLIC_KEY_OID: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// prime256v1 and secp384r1: the curves ring can sign with.
const P256_OID: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384_OID: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

/// Parses the first private key in `text`.
pub(crate) fn key_pair_from_pem(text: &str) -> Result<KeyPair> {
    let blocks = pem::decode_all(text).map_err(|reason| Error::PemDecodeFailed { what: "private key", reason })?;
    let block = blocks.into_iter().find(|b| b.label.ends_with("PRIVATE KEY")).ok_or_else(|| {
        Error::PemDecodeFailed { what: "private key", reason: "no PRIVATE KEY block found".to_owned() }
    })?;
    match block.label.as_str() {
        "PRIVATE KEY" => KeyPair::try_from(block.der.as_slice()).map_err(Error::PrivateKeyParseFailed),
        "RSA PRIVATE KEY" => {
            let pkcs8 = pkcs8_wrap(RSA_ALGORITHM, &block.der);
            KeyPair::try_from(pkcs8.as_slice()).map_err(Error::PrivateKeyParseFailed)
        }
        "EC PRIVATE KEY" => ec_key_pair_from_sec1(&block.der),
        other => Err(Error::UnsupportedPrivateKey { label: other.to_owned() }),
    }
}

/// Wraps a SEC1 `ECPrivateKey` as PKCS#8, naming the curve from its own parameters when present.
fn ec_key_pair_from_sec1(sec1: &[u8]) -> Result<KeyPair> {
    let curve = der::read(sec1)
        .and_then(|(seq, _)| der::children(seq.contents))
        .and_then(|fields| fields.into_iter().find(|f| f.tag == der::TAG_CONTEXT_0))
        .map(|params| params.contents);
    let candidates: Vec<&[u8]> = match curve {
        Some(oid) => vec![oid],
        None => vec![P256_OID, P384_OID],
    };
    let mut last_error = rcgen::Error::CouldNotParseKeyPair;
    for oid in candidates {
        let algorithm = der::constructed(der::TAG_SEQUENCE, &[EC_PUBLIC_KEY_OID, oid]);
        match KeyPair::try_from(pkcs8_wrap(&algorithm, sec1).as_slice()) {
            Ok(key) => return Ok(key),
            Err(e) => last_error = e,
        }
    }
    Err(Error::PrivateKeyParseFailed(last_error))
}

/// `PrivateKeyInfo ::= SEQUENCE { version 0, algorithm, privateKey OCTET STRING }` (RFC 5208).
fn pkcs8_wrap(algorithm: &[u8], private_key: &[u8]) -> Vec<u8> {
    let version = der::encode(der::TAG_INTEGER, &[0]);
    let key = der::encode(der::TAG_OCTET_STRING, private_key);
    der::constructed(der::TAG_SEQUENCE, &[&version, algorithm, &key])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkcs8_ec_key_round_trips() {
        let key = KeyPair::generate().unwrap();
        let parsed = key_pair_from_pem(&key.serialize_pem()).unwrap();
        assert_eq!(parsed.public_key_raw(), key.public_key_raw(), "reparsed key should be the same key");
        assert_eq!(parsed.algorithm(), &rcgen::PKCS_ECDSA_P256_SHA256);
    }

    #[test]
    fn pkcs1_rsa_and_its_pkcs8_form_are_the_same_key() {
        let pkcs1 = include_str!("../tests/fixtures/rsa-ca.key");
        let from_pkcs1 = key_pair_from_pem(pkcs1).unwrap();
        assert_eq!(from_pkcs1.algorithm(), &rcgen::PKCS_RSA_SHA256);
        let der = pem::decode_all(pkcs1).unwrap().remove(0).der;
        let pkcs8 = pem::encode("PRIVATE KEY", &pkcs8_wrap(RSA_ALGORITHM, &der));
        assert_eq!(key_pair_from_pem(&pkcs8).unwrap().public_key_raw(), from_pkcs1.public_key_raw());
    }

    #[test]
    fn sec1_ec_key_after_its_parameters_block_is_found() {
        let sec1 = include_str!("../tests/fixtures/ec-ca.key");
        assert!(sec1.starts_with("-----BEGIN EC PARAMETERS-----"), "fixture is openssl ecparam output");
        assert_eq!(key_pair_from_pem(sec1).unwrap().algorithm(), &rcgen::PKCS_ECDSA_P256_SHA256);
    }

    #[test]
    fn public_keys_and_garbage_are_refused() {
        let key = KeyPair::generate().unwrap();
        assert!(matches!(key_pair_from_pem(&key.public_key_pem()), Err(Error::PemDecodeFailed { .. })));
        assert!(matches!(key_pair_from_pem("nothing"), Err(Error::PemDecodeFailed { .. })));
        let bogus = pem::encode("EC PRIVATE KEY", &[0x30, 0x03, 0x02, 0x01, 0x01]);
        assert!(matches!(key_pair_from_pem(&bogus), Err(Error::PrivateKeyParseFailed(_))));
        let dsa = pem::encode("DSA PRIVATE KEY", &[0x30, 0x00]);
        assert!(matches!(key_pair_from_pem(&dsa), Err(Error::UnsupportedPrivateKey { .. })));
    }
}
