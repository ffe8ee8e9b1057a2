//! Typed storage errors, shared by every backend.

use crate::Revision;

/// Result alias for storage operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("key {key} not found")]
    NotFound { key: String },

    #[error("key {key} already exists")]
    AlreadyExists { key: String },

    #[error("key {key} was modified: expected revision {expected}, current revision {current}")]
    Conflict { key: String, expected: Revision, current: Revision },

    #[error("revision {requested} has been compacted (compacted up to {compacted})")]
    Compacted { requested: Revision, compacted: Revision },

    #[error("value of key {key} is {size} bytes, more than the limit of {limit}")]
    TooLarge { key: String, size: usize, limit: usize },

    #[error("storage unavailable: {message}")]
    Unavailable {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    #[error("invalid key {key:?}: {reason}")]
    InvalidKey { key: String, reason: &'static str },

    #[error("stored data for {key} is corrupt: {message}")]
    Corrupt { key: String, message: String },
}

impl Error {
    pub(crate) fn unavailable(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Unavailable { message: message.into(), source: Some(Box::new(source)) }
    }

    pub(crate) fn unavailable_msg(message: impl Into<String>) -> Self {
        Error::Unavailable { message: message.into(), source: None }
    }

    /// True for [`Error::Conflict`]: the caller should re-read and retry.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Conflict { .. })
    }

    /// True for [`Error::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// True for [`Error::Compacted`]: served to clients as 410 Gone.
    pub fn is_compacted(&self) -> bool {
        matches!(self, Error::Compacted { .. })
    }
}
