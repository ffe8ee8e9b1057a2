//! Reading certificates back: subject, names, usages and lifetime of a PEM certificate.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use x509_parser::certificate::X509Certificate;
use x509_parser::error::X509Error;
use x509_parser::extensions::GeneralName;

use crate::error::{Error, Result};
use crate::{key, pem};

/// What a certificate says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// The subject as text, e.g. `O=system:masters, CN=kubernetes-admin`.
    pub subject: String,
    pub common_name: Option<String>,
    pub organizations: Vec<String>,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<IpAddr>,
    pub not_before: SystemTime,
    pub not_after: SystemTime,
    pub is_ca: bool,
    pub server_auth: bool,
    pub client_auth: bool,
}

impl CertificateInfo {
    /// Reads the first certificate in `cert_pem`.
    pub fn from_pem(cert_pem: &str) -> Result<Self> {
        Self::from_der(&first_certificate_der(cert_pem)?)
    }

    /// Reads a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let cert = parse_der(der)?;
        let subject = cert.subject();
        let text = |attr: &x509_parser::x509::AttributeTypeAndValue<'_>| attr.as_str().ok().map(str::to_owned);
        let mut dns_names = Vec::new();
        let mut ip_addresses = Vec::new();
        if let Some(san) = cert.subject_alternative_name().map_err(Error::CertificateParseFailed)? {
            for name in &san.value.general_names {
                match name {
                    GeneralName::DNSName(dns) => dns_names.push((*dns).to_owned()),
                    GeneralName::IPAddress(bytes) => ip_addresses.extend(ip_from_bytes(bytes)),
                    _ => {}
                }
            }
        }
        let eku = cert.extended_key_usage().map_err(Error::CertificateParseFailed)?.map(|e| e.value);
        Ok(CertificateInfo {
            subject: subject.to_string(),
            common_name: subject.iter_common_name().next().and_then(text),
            organizations: subject.iter_organization().filter_map(text).collect(),
            dns_names,
            ip_addresses,
            not_before: system_time(cert.validity().not_before.timestamp()),
            not_after: system_time(cert.validity().not_after.timestamp()),
            is_ca: cert.is_ca(),
            server_auth: eku.is_some_and(|e| e.any || e.server_auth),
            client_auth: eku.is_some_and(|e| e.any || e.client_auth),
        })
    }

    /// Whether the certificate is already expired, or expires within `window` from now.
    pub fn expires_within(&self, window: Duration) -> bool {
        SystemTime::now().checked_add(window).is_none_or(|deadline| self.not_after <= deadline)
    }

    /// Whether every DNS name and IP address asked for is among the certificate's SANs.
    /// DNS names compare case-insensitively, as hostnames do.
    pub fn covers(&self, dns_names: &[String], ip_addresses: &[IpAddr]) -> bool {
        dns_names.iter().all(|want| self.dns_names.iter().any(|have| have.eq_ignore_ascii_case(want)))
            && ip_addresses.iter().all(|want| self.ip_addresses.contains(want))
    }
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

fn system_time(unix_seconds: i64) -> SystemTime {
    match u64::try_from(unix_seconds) {
        Ok(secs) => UNIX_EPOCH + Duration::from_secs(secs),
        Err(_) => UNIX_EPOCH - Duration::from_secs(unix_seconds.unsigned_abs()),
    }
}

/// The DER of the first `CERTIFICATE` block in `cert_pem`.
pub(crate) fn first_certificate_der(cert_pem: &str) -> Result<Vec<u8>> {
    let blocks = pem::decode_all(cert_pem).map_err(|reason| Error::PemDecodeFailed { what: "certificate", reason })?;
    blocks
        .into_iter()
        .find(|b| b.label == "CERTIFICATE")
        .map(|b| b.der)
        .ok_or_else(|| Error::PemDecodeFailed { what: "certificate", reason: "no CERTIFICATE block found".to_owned() })
}

pub(crate) fn parse_der(der: &[u8]) -> Result<X509Certificate<'_>> {
    match x509_parser::parse_x509_certificate(der) {
        Ok((_, cert)) => Ok(cert),
        Err(x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e)) => {
            Err(Error::CertificateParseFailed(e))
        }
        Err(x509_parser::nom::Err::Incomplete(_)) => Err(Error::CertificateParseFailed(X509Error::InvalidCertificate)),
    }
}

/// Whether `key_pem` is the private key for the first certificate in `cert_pem`.
pub(crate) fn key_matches(cert_pem: &str, key_pem: &str) -> bool {
    let Ok(der) = first_certificate_der(cert_pem) else { return false };
    let (Ok(cert), Ok(key)) = (parse_der(&der), key::key_pair_from_pem(key_pem)) else { return false };
    key.public_key_raw() == cert.public_key().subject_public_key.data.as_ref()
}
