//! The error type shared by the certificate, key and file operations of this crate.

use std::path::PathBuf;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong while generating, loading, issuing or writing PKI material.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("generating a private key failed")]
    KeyGenerationFailed(#[source] rcgen::Error),

    #[error("signing the certificate for {common_name:?} failed")]
    CertificateSigningFailed {
        common_name: String,
        #[source]
        source: rcgen::Error,
    },

    #[error("invalid certificate request for {common_name:?}: {reason}")]
    InvalidCertRequest { common_name: String, reason: String },

    #[error("decoding PEM {what} failed: {reason}")]
    PemDecodeFailed { what: &'static str, reason: String },

    #[error("parsing the certificate failed")]
    CertificateParseFailed(#[source] x509_parser::error::X509Error),

    #[error("unsupported private key PEM block {label:?} (want PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)")]
    UnsupportedPrivateKey { label: String },

    #[error("parsing the private key failed")]
    PrivateKeyParseFailed(#[source] rcgen::Error),

    #[error("the private key does not match the certificate's public key")]
    KeyDoesNotMatchCertificate,

    #[error("certificate {subject:?} is not a certificate authority (basicConstraints CA:TRUE is missing)")]
    NotACertificateAuthority { subject: String },

    #[error("loading {path} failed")]
    LoadFailed {
        path: PathBuf,
        #[source]
        source: Box<Error>,
    },

    #[error("reading {path} failed")]
    ReadFailed {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("writing {path} failed")]
    WriteFailed {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{present} exists but {missing} does not; restore it or remove both to generate a new pair")]
    PairIncomplete { present: PathBuf, missing: PathBuf },

    #[error(transparent)]
    Kubeconfig(#[from] crate::kubeconfig::Error),
}

impl Error {
    pub(crate) fn load_failed(path: &std::path::Path, source: Error) -> Self {
        Error::LoadFailed { path: path.to_owned(), source: Box::new(source) }
    }
}
