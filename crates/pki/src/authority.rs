//! A certificate authority that issues the control plane's serving and client certificates.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod,
    KeyPair, KeyUsagePurpose, SanType, SigningKey as _,
};
use time::{Duration, OffsetDateTime};
use x509_parser::extensions::ParsedExtension;

use crate::certificate::{first_certificate_der, parse_der};
use crate::der;
use crate::error::{Error, Result};
use crate::{key, pem};

/// How long a generated CA is valid, as kubeadm: ten years.
pub const CA_VALIDITY_DAYS: u32 = 3650;
/// How long issued certificates are valid by default, as kubeadm: one year.
pub const DEFAULT_VALIDITY_DAYS: u32 = 365;
/// Certificates start this far in the past so that peers with slightly slow clocks accept them.
const BACKDATE: Duration = Duration::minutes(5);

/// What an issued certificate may be used for (its extended key usage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// TLS server authentication.
    Server,
    /// TLS client authentication.
    Client,
    /// Both, as for peers that dial each other.
    ServerAndClient,
}

/// The subject, names and lifetime of a certificate to issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRequest {
    /// Subject CN; the user name when the certificate authenticates a client to the apiserver.
    pub common_name: String,
    /// Subject O values; the groups when the certificate authenticates a client.
    pub organizations: Vec<String>,
    /// DNS subject alternative names.
    pub dns_names: Vec<String>,
    /// IP subject alternative names.
    pub ip_addresses: Vec<IpAddr>,
    pub usage: Usage,
    /// Lifetime from now; capped at the issuing CA's own expiry.
    pub validity_days: u32,
}

impl CertRequest {
    /// A client certificate for user `common_name` in groups `organizations`, valid one year.
    pub fn client(common_name: impl Into<String>, organizations: impl IntoIterator<Item: Into<String>>) -> Self {
        CertRequest {
            common_name: common_name.into(),
            organizations: organizations.into_iter().map(Into::into).collect(),
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
            usage: Usage::Client,
            validity_days: DEFAULT_VALIDITY_DAYS,
        }
    }

    /// A serving certificate for the given names and addresses, valid one year.
    pub fn server(
        common_name: impl Into<String>,
        dns_names: impl IntoIterator<Item: Into<String>>,
        ip_addresses: impl IntoIterator<Item = IpAddr>,
    ) -> Self {
        CertRequest {
            common_name: common_name.into(),
            organizations: Vec::new(),
            dns_names: dns_names.into_iter().map(Into::into).collect(),
            ip_addresses: ip_addresses.into_iter().collect(),
            usage: Usage::Server,
            validity_days: DEFAULT_VALIDITY_DAYS,
        }
    }

    /// The same request with another usage.
    pub fn with_usage(mut self, usage: Usage) -> Self {
        self.usage = usage;
        self
    }

    /// The same request with another lifetime.
    pub fn with_validity_days(mut self, days: u32) -> Self {
        self.validity_days = days;
        self
    }

    fn invalid(&self, reason: impl Into<String>) -> Error {
        Error::InvalidCertRequest { common_name: self.common_name.clone(), reason: reason.into() }
    }

    fn subject_alt_names(&self) -> Result<Vec<SanType>> {
        let mut sans = Vec::with_capacity(self.dns_names.len() + self.ip_addresses.len());
        for name in &self.dns_names {
            if name.is_empty() || !name.is_ascii() || name.chars().any(|c| c.is_ascii_whitespace() || c.is_control()) {
                return Err(self.invalid(format!("{name:?} is not a valid DNS name")));
            }
            let name =
                name.as_str().try_into().map_err(|_| self.invalid(format!("{name:?} is not a valid DNS name")))?;
            sans.push(SanType::DnsName(name));
        }
        sans.extend(self.ip_addresses.iter().copied().map(SanType::IpAddress));
        Ok(sans)
    }
}

/// A freshly issued certificate and its private key, both PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCert {
    pub cert_pem: String,
    /// PKCS#8 ECDSA P-256 private key.
    pub key_pem: String,
}

impl fmt::Debug for IssuedCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCert").field("cert_pem", &self.cert_pem).field("key_pem", &"<redacted>").finish()
    }
}

/// A CA certificate and its private key, held in memory as PEM.
pub struct CertificateAuthority {
    cert_pem: String,
    key_pem: String,
    cert_der: Vec<u8>,
    /// The CA's subject exactly as encoded in its certificate, copied into the issuer field of
    /// everything it signs so chain building matches byte for byte whatever the CA's DN holds.
    subject_der: Vec<u8>,
    subject: String,
    not_after: OffsetDateTime,
    /// Whether the CA has a subject key identifier for issued certificates to point at.
    has_key_id: bool,
    issuer: Issuer<'static, KeyPair>,
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("subject", &self.subject)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// Generates a self-signed ECDSA P-256 CA valid for ten years.
    pub fn generate(common_name: &str) -> Result<Self> {
        let key = KeyPair::generate().map_err(Error::KeyGenerationFailed)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - BACKDATE;
        params.not_after = now + Duration::days(i64::from(CA_VALIDITY_DAYS));
        let cert = params
            .self_signed(&key)
            .map_err(|source| Error::CertificateSigningFailed { common_name: common_name.to_owned(), source })?;
        tracing::debug!(common_name, "generated certificate authority");
        Self::from_pem(&cert.pem(), &key.serialize_pem())
    }

    /// An operator-supplied CA: a PEM certificate with `CA:TRUE` and its private key (PKCS#8
    /// ECDSA P-256/P-384 or RSA, or the PKCS#1 and SEC1 forms openssl and kubeadm write).
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self> {
        let cert_der = first_certificate_der(cert_pem)?;
        let x509 = parse_der(&cert_der)?;
        let subject = x509.subject().to_string();
        if !x509.is_ca() {
            return Err(Error::NotACertificateAuthority { subject });
        }
        let key = key::key_pair_from_pem(key_pem)?;
        if key.public_key_raw() != x509.public_key().subject_public_key.data.as_ref() {
            return Err(Error::KeyDoesNotMatchCertificate);
        }
        let key_id = x509.iter_extensions().find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
            _ => None,
        });
        let not_after = OffsetDateTime::from_unix_timestamp(x509.validity().not_after.timestamp())
            .map_err(|_| Error::CertificateParseFailed(x509_parser::error::X509Error::InvalidDate))?;
        let subject_der = x509.subject().as_raw().to_vec();
        let has_key_id = key_id.is_some();
        let mut params = CertificateParams::default();
        // The issuer name rcgen writes is replaced by `subject_der`; only the key id matters here.
        params.key_identifier_method = key_id.map_or(KeyIdMethod::Sha256, KeyIdMethod::PreSpecified);
        Ok(CertificateAuthority {
            cert_pem: cert_pem.to_owned(),
            key_pem: key_pem.to_owned(),
            cert_der,
            subject_der,
            subject,
            not_after,
            has_key_id,
            issuer: Issuer::new(params, key),
        })
    }

    /// Reads a CA certificate and key from PEM files.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Self> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| Error::ReadFailed { path: path.to_owned(), source })
        };
        let cert_pem = read(cert_path)?;
        let key_pem = read(key_path)?;
        Self::from_pem(&cert_pem, &key_pem).map_err(|e| Error::load_failed(cert_path, e))
    }

    /// The CA certificate, PEM, exactly as generated or supplied.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA private key, PEM, exactly as generated or supplied.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// The CA certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The CA's subject, as text (`CN=kubernetes`).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// When the CA itself expires; no certificate it issues outlives it.
    pub fn not_after(&self) -> std::time::SystemTime {
        std::time::SystemTime::from(self.not_after)
    }

    /// Whether `cert_pem`'s first certificate names this CA as issuer and carries its valid signature.
    pub fn is_issuer_of(&self, cert_pem: &str) -> bool {
        let Ok(der) = first_certificate_der(cert_pem) else { return false };
        let (Ok(leaf), Ok(ca)) = (parse_der(&der), parse_der(&self.cert_der)) else { return false };
        leaf.issuer().as_raw() == self.subject_der.as_slice() && leaf.verify_signature(Some(ca.public_key())).is_ok()
    }

    /// Issues a certificate with a fresh ECDSA P-256 key.
    pub fn issue(&self, req: &CertRequest) -> Result<IssuedCert> {
        if req.common_name.is_empty() {
            return Err(req.invalid("the common name is empty"));
        }
        if req.validity_days == 0 {
            return Err(req.invalid("validity_days is 0"));
        }
        let key = KeyPair::generate().map_err(Error::KeyGenerationFailed)?;
        let mut params = CertificateParams::default();
        params.subject_alt_names = req.subject_alt_names()?;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = match req.usage {
            Usage::Server => vec![ExtendedKeyUsagePurpose::ServerAuth],
            Usage::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
            Usage::ServerAndClient => vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth],
        };
        params.use_authority_key_identifier_extension = self.has_key_id;
        let now = OffsetDateTime::now_utc();
        params.not_before = now - BACKDATE;
        params.not_after = now
            .checked_add(Duration::days(i64::from(req.validity_days)))
            .map_or(self.not_after, |end| end.min(self.not_after));
        let signing_failed = |source| Error::CertificateSigningFailed { common_name: req.common_name.clone(), source };
        let cert = params.signed_by(&key, &self.issuer).map_err(signing_failed)?;
        let subject = encode_name(&req.organizations, &req.common_name);
        let der = replace_names_and_resign(cert.der(), &self.subject_der, &subject, self.issuer.key())
            .map_err(signing_failed)?;
        tracing::debug!(common_name = %req.common_name, issuer = %self.subject, usage = ?req.usage, "issued certificate");
        Ok(IssuedCert { cert_pem: pem::encode("CERTIFICATE", &der), key_pem: key.serialize_pem() })
    }
}

/// OID 2.5.4.10, organizationName.
const ORGANIZATION_OID: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x0a];
/// OID 2.5.4.3, commonName.
const COMMON_NAME_OID: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x03];

/// `O=…, O=…, CN=…`, one attribute per RDN in the order Go's `pkix.Name` writes them.
///
/// rcgen keeps one value per attribute type, but Kubernetes puts one O per group in client
/// certificates, so the subject is encoded here.
fn encode_name(organizations: &[String], common_name: &str) -> Vec<u8> {
    let rdn = |oid: &[u8], value: &str| {
        let value = der::encode(der::TAG_UTF8_STRING, value.as_bytes());
        let attribute = der::constructed(der::TAG_SEQUENCE, &[oid, &value]);
        der::encode(der::TAG_SET, &attribute)
    };
    let mut rdns: Vec<Vec<u8>> = organizations.iter().map(|o| rdn(ORGANIZATION_OID, o)).collect();
    rdns.push(rdn(COMMON_NAME_OID, common_name));
    der::encode(der::TAG_SEQUENCE, &rdns.concat())
}

/// Puts `issuer` and `subject` into the TBSCertificate rcgen produced and signs it again.
fn replace_names_and_resign(
    cert_der: &[u8],
    issuer: &[u8],
    subject: &[u8],
    key: &KeyPair,
) -> std::result::Result<Vec<u8>, rcgen::Error> {
    let malformed = || rcgen::Error::CouldNotParseCertificate;
    let (cert, _) = der::read(cert_der).ok_or_else(malformed)?;
    let [tbs, algorithm, _signature] = der::children(cert.contents).ok_or_else(malformed)?[..] else {
        return Err(malformed());
    };
    let mut fields: Vec<&[u8]> = der::children(tbs.contents).ok_or_else(malformed)?.iter().map(|f| f.raw).collect();
    // version [0] is optional; then serialNumber, signature, issuer, validity, subject.
    let base = usize::from(fields.first().is_some_and(|f| f.first() == Some(&der::TAG_CONTEXT_0)));
    if fields.len() < base + 5 {
        return Err(malformed());
    }
    fields[base + 2] = issuer;
    fields[base + 4] = subject;
    let tbs = der::constructed(der::TAG_SEQUENCE, &fields);
    let signature = key.sign(&tbs)?;
    let signature = der::encode(der::TAG_BIT_STRING, &[&[0u8][..], &signature].concat());
    Ok(der::constructed(der::TAG_SEQUENCE, &[&tbs, algorithm.raw, &signature]))
}
