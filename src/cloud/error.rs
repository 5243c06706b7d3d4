//! The one error type every cloud port returns, whichever backend is behind it.

use std::time::Duration;

use super::ops::{Op, Service};

/// What kind of failure, as far as the caller's next move is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Rate exceeded: back off and retry.
    Throttled,
    NotFound,
    /// The resource is busy (Lambda `ResourceConflictException`, AAS `ConcurrentUpdateException`):
    /// wait, then retry.
    Conflict,
    /// The request itself is wrong; retrying cannot help.
    Invalid,
    /// A precondition failed (Lambda's 412 on a stale `RevisionId`): someone else changed the
    /// resource since it was read. Not retried: the next cycle reads it again.
    Precondition,
    AccessDenied,
    /// Network trouble or a 5xx: retry.
    Transient,
    /// A hard limit (e.g. `LimitExceededException` for a quota) or anything unclassified.
    Other,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 8] = [
        ErrorKind::Throttled,
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::Invalid,
        ErrorKind::Precondition,
        ErrorKind::AccessDenied,
        ErrorKind::Transient,
        ErrorKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Throttled => "throttled",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Precondition => "precondition_failed",
            ErrorKind::AccessDenied => "access_denied",
            ErrorKind::Transient => "transient",
            ErrorKind::Other => "other",
        }
    }

    /// Throttling, transient failures and conflicts resolve themselves with time.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Throttled | ErrorKind::Transient | ErrorKind::Conflict
        )
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed cloud call. The underlying SDK error, when there is one, stays in `source` so the
/// whole cause chain can be logged.
#[derive(Debug, thiserror::Error)]
#[error("{service} {operation} failed ({kind}{code}): {message}", service = op.service().as_str(), operation = op.name(), code = code.as_deref().map(|c| format!(", {c}")).unwrap_or_default())]
pub struct CloudError {
    pub kind: ErrorKind,
    pub op: Op,
    /// AWS's error code, e.g. `ResourceConflictException`.
    pub code: Option<String>,
    pub message: String,
    /// Server-suggested wait (Lambda's `retryAfterSeconds`).
    pub retry_after: Option<Duration>,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl CloudError {
    pub fn new(kind: ErrorKind, op: Op, message: impl Into<String>) -> Self {
        Self {
            kind,
            op,
            code: None,
            message: message.into(),
            retry_after: None,
            source: None,
        }
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    pub fn service(&self) -> Service {
        self.op.service()
    }

    pub fn is(&self, kind: ErrorKind) -> bool {
        self.kind == kind
    }
}

pub type CloudResult<T> = Result<T, CloudError>;
