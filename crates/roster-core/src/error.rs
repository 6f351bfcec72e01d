//! The core's error type: what a rule refused, in domain words. Faces map each variant
//! once, at their boundary, to their protocol's error; causes of `Internal` go to logs.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The actor may not do this (or may not know whether the target exists).
    #[error("access denied")]
    AccessDenied,
    /// The named thing does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A value broke a rule; the text names the field and the rule.
    #[error("{0}")]
    Invalid(String),
    /// A unique value is taken.
    #[error("{0} is already taken")]
    Taken(&'static str),
    /// Optimistic concurrency: the record changed since the version given.
    #[error("the record was changed by someone else")]
    VersionConflict,
    /// A storage or other internal failure; never shown to clients.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Taken(what) => CoreError::Taken(what),
            StoreError::Missing(what) => CoreError::NotFound(what),
            StoreError::VersionConflict => CoreError::VersionConflict,
            StoreError::Backend(msg) => CoreError::Internal(msg),
        }
    }
}

pub type CoreResult<T> = Result<T, CoreError>;
