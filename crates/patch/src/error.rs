//! Errors from applying or computing patches, with the HTTP status kube-apiserver answers for each.

/// Result alias for this crate.
pub type Result<T, E = PatchError> = std::result::Result<T, E>;

/// Why a patch could not be applied or computed.
///
/// Each variant maps to the status code and `metav1.Status` reason upstream kube-apiserver answers
/// with; see [`PatchError::status_code`] and [`PatchError::reason`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The patch document is malformed: not JSON, the wrong shape for its patch type, an unknown
    /// `$patch` directive, a list item without its merge key, a `$setElementOrder` list that does not
    /// match the patch list, ... Served as 400 `BadRequest`.
    #[error("{0}")]
    InvalidPatch(String),
    /// A JSON patch `test` operation did not match. Served as 422 `Invalid`, as upstream does for
    /// every JSON patch that fails to apply.
    #[error("{0}")]
    TestFailed(String),
    /// A well-formed patch does not apply to this object: a JSON patch path that does not exist, or
    /// the object itself is not a JSON object. Served as 422 `Invalid`.
    #[error("{0}")]
    CannotApply(String),
    /// A three-way merge patch computed with `overwrite = false` would undo changes made to the live
    /// object since it was last applied. Served as 409 `Conflict` (kubectl reports it client side).
    #[error("{0}")]
    Conflict(String),
    /// The patch type is not supported for this kind: strategic merge on a custom resource, or
    /// server-side apply. Served as 415 `UnsupportedMediaType`.
    #[error("{0}")]
    Unsupported(String),
    /// A JSON patch with more operations than the apiserver accepts. Served as 413
    /// `RequestEntityTooLarge`.
    #[error("{0}")]
    TooLarge(String),
}

impl PatchError {
    /// The HTTP status code kube-apiserver answers with for this error.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::InvalidPatch(_) => 400,
            Self::TestFailed(_) | Self::CannotApply(_) => 422,
            Self::Conflict(_) => 409,
            Self::Unsupported(_) => 415,
            Self::TooLarge(_) => 413,
        }
    }

    /// The `metav1.Status` reason kube-apiserver answers with for this error.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidPatch(_) => "BadRequest",
            Self::TestFailed(_) | Self::CannotApply(_) => "Invalid",
            Self::Conflict(_) => "Conflict",
            Self::Unsupported(_) => "UnsupportedMediaType",
            Self::TooLarge(_) => "RequestEntityTooLarge",
        }
    }

    /// The error's message, without the variant.
    pub fn message(&self) -> &str {
        match self {
            Self::InvalidPatch(m)
            | Self::TestFailed(m)
            | Self::CannotApply(m)
            | Self::Conflict(m)
            | Self::Unsupported(m)
            | Self::TooLarge(m) => m,
        }
    }
}
