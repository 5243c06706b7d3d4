//! SDK error → [`CloudError`]: one classification for all six services, so the executor can
//! decide between "back off", "wait for the resource" and "give up" without knowing which SDK
//! produced the failure. The SDK error itself stays in `source`, so logs keep the whole chain.

use std::time::Duration;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::cloud::{CloudError, ErrorKind, Op};

/// Maps an SDK failure of `op`.
pub(crate) fn from_sdk<E>(op: Op, err: SdkError<E, HttpResponse>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    from_sdk_with(op, err, |_| None)
}

/// Like [`from_sdk`], with a service-specific reading of a modeled retry hint (Lambda's
/// `retryAfterSeconds`), used when the `Retry-After` header is absent.
pub(crate) fn from_sdk_with<E>(
    op: Op,
    err: SdkError<E, HttpResponse>,
    modeled_retry_after: impl FnOnce(&E) -> Option<Duration>,
) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    let header_retry_after = err
        .raw_response()
        .and_then(|r| r.headers().get("retry-after"))
        .and_then(parse_retry_after);

    let (kind, code, message, modeled) = match &err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            let code = e.code().map(str::to_owned);
            let message = match (e.message(), e.code(), status) {
                (Some(m), _, _) => m.to_owned(),
                // No AWS error in the body (an HTML page from a proxy or an emulator's
                // unknown route): the status is all there is to say.
                (None, None, Some(s)) => format!("HTTP {s} without an AWS error body"),
                (None, _, _) => e.to_string(),
            };
            let kind = classify(e.code(), e.message(), status);
            (kind, code, message, modeled_retry_after(e))
        }
        SdkError::TimeoutError(_) => (
            ErrorKind::Transient,
            None,
            "request timed out".to_owned(),
            None,
        ),
        SdkError::DispatchFailure(d) if d.is_user() => (
            ErrorKind::Invalid,
            None,
            "request could not be sent (client configuration)".to_owned(),
            None,
        ),
        SdkError::DispatchFailure(d) => {
            let what = if d.is_timeout() {
                "connection timed out"
            } else if d.is_io() {
                "connection failed (I/O)"
            } else {
                "request could not be sent"
            };
            (ErrorKind::Transient, None, what.to_owned(), None)
        }
        SdkError::ResponseError(_) => {
            // The body could not be parsed. Gateways and load balancers answer with HTML on
            // 5xx, so without a status to say otherwise, assume it is passing trouble.
            let kind = status
                .map(|s| classify(None, None, Some(s)))
                .filter(|k| *k != ErrorKind::Other)
                .unwrap_or(ErrorKind::Transient);
            let message = match status {
                Some(s) => format!("unreadable response (HTTP {s})"),
                None => "unreadable response".to_owned(),
            };
            (kind, None, message, None)
        }
        SdkError::ConstructionFailure(_) => (
            ErrorKind::Invalid,
            None,
            "request could not be built".to_owned(),
            None,
        ),
        // SdkError is non-exhaustive.
        _ => (
            ErrorKind::Other,
            None,
            "unclassified SDK error".to_owned(),
            None,
        ),
    };

    let mut mapped = CloudError::new(kind, op, message);
    if let Some(code) = code {
        mapped = mapped.with_code(code);
    }
    if let Some(after) = header_retry_after.or(modeled) {
        mapped = mapped.with_retry_after(after);
    }
    mapped.with_source(err)
}

/// `Retry-After` as AWS sends it: whole (or fractional) seconds. HTTP dates are not used by AWS
/// APIs and are ignored rather than guessed at.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

/// The AWS error code decides; the HTTP status is the fallback for codes we have never seen.
/// Order matters: `RequestLimitExceeded` is throttling, every other `*LimitExceeded*` is a quota.
pub(crate) fn classify(
    code: Option<&str>,
    message: Option<&str>,
    status: Option<u16>,
) -> ErrorKind {
    if let Some(kind) = code.and_then(classify_code) {
        return kind;
    }
    // Some front ends throttle before the service sees the request and say only this.
    if message.is_some_and(|m| {
        m.trim_end_matches('.')
            .eq_ignore_ascii_case("rate exceeded")
    }) {
        return ErrorKind::Throttled;
    }
    match status {
        Some(429) => ErrorKind::Throttled,
        Some(404) => ErrorKind::NotFound,
        Some(409) => ErrorKind::Conflict,
        Some(412) => ErrorKind::Precondition,
        Some(401 | 403) => ErrorKind::AccessDenied,
        Some(408) => ErrorKind::Transient,
        Some(s) if (500..600).contains(&s) => ErrorKind::Transient,
        Some(s) if (400..500).contains(&s) => ErrorKind::Invalid,
        _ => ErrorKind::Other,
    }
}

fn classify_code(code: &str) -> Option<ErrorKind> {
    let kind = match code {
        "ThrottlingException"
        | "Throttling"
        | "ThrottledException"
        | "Throttled"
        | "TooManyRequestsException"
        | "RequestLimitExceeded"
        | "RequestThrottled"
        | "RequestThrottledException"
        | "SlowDown"
        | "PriorRequestNotComplete"
        | "BandwidthLimitExceeded"
        | "Rate exceeded" => ErrorKind::Throttled,

        "ResourceConflictException"
        | "ConcurrentUpdateException"
        | "ConcurrentModificationException"
        | "ResourceInUseException"
        | "ConflictException"
        | "OperationAbortedException" => ErrorKind::Conflict,

        "UnrecognizedClient"
        | "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "InvalidSignatureException"
        | "IncompleteSignature"
        | "MissingAuthenticationToken"
        | "ExpiredToken"
        | "ExpiredTokenException"
        | "AuthFailure"
        | "AuthorizationError"
        | "NotAuthorized" => ErrorKind::AccessDenied,

        "InternalFailure"
        | "InternalError"
        | "InternalErrorException"
        | "InternalServerError"
        | "InternalServiceError"
        | "InternalServiceFault"
        | "InternalServiceException"
        | "InternalException"
        | "ServiceException"
        | "ServiceUnavailable"
        | "ServiceUnavailableException"
        | "RequestTimeout"
        | "RequestTimeoutException"
        // Lambda: the function's VPC connection is being re-established.
        | "ResourceNotReadyException" => ErrorKind::Transient,

        // Lambda's answer to a stale RevisionId: someone else changed the function.
        "PreconditionFailedException" | "PreconditionFailed" => ErrorKind::Precondition,

        "ValidationError"
        | "ValidationException"
        | "MissingParameter"
        | "MissingRequiredParameter"
        | "MissingAction"
        | "SerializationException"
        | "UnsupportedOperation" => ErrorKind::Invalid,

        _ => return classify_code_family(code),
    };
    Some(kind)
}

/// Families of codes that share a shape across services (`ObjectNotFoundException`,
/// `DashboardNotFoundError`, `ProvisionedConcurrencyConfigNotFoundException`, …).
fn classify_code_family(code: &str) -> Option<ErrorKind> {
    if code.starts_with("AccessDenied") || code.starts_with("KMSAccessDenied") {
        Some(ErrorKind::AccessDenied)
    } else if code.contains("NotFound") || code.starts_with("NoSuch") {
        Some(ErrorKind::NotFound)
    } else if code.contains("LimitExceeded") {
        // A hard quota more often than a rate: retrying forever would not help.
        Some(ErrorKind::Other)
    } else if code.starts_with("Invalid") || code.starts_with("Malformed") {
        Some(ErrorKind::Invalid)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_decide_before_status() {
        let cases: &[(&str, Option<u16>, ErrorKind)] = &[
            ("ThrottlingException", Some(400), ErrorKind::Throttled),
            ("Throttling", Some(400), ErrorKind::Throttled),
            ("TooManyRequestsException", Some(429), ErrorKind::Throttled),
            ("RequestLimitExceeded", Some(400), ErrorKind::Throttled),
            ("Rate exceeded", None, ErrorKind::Throttled),
            ("ResourceNotFoundException", Some(404), ErrorKind::NotFound),
            ("ResourceNotFound", Some(400), ErrorKind::NotFound),
            ("NotFound", Some(404), ErrorKind::NotFound),
            ("ObjectNotFoundException", Some(400), ErrorKind::NotFound),
            (
                "ProvisionedConcurrencyConfigNotFoundException",
                Some(404),
                ErrorKind::NotFound,
            ),
            ("ResourceConflictException", Some(409), ErrorKind::Conflict),
            (
                "PreconditionFailedException",
                Some(412),
                ErrorKind::Precondition,
            ),
            ("ConcurrentUpdateException", Some(400), ErrorKind::Conflict),
            (
                "ConcurrentModificationException",
                Some(400),
                ErrorKind::Conflict,
            ),
            ("ResourceInUseException", Some(400), ErrorKind::Conflict),
            ("ValidationException", Some(400), ErrorKind::Invalid),
            ("ValidationError", Some(400), ErrorKind::Invalid),
            (
                "InvalidParameterValueException",
                Some(400),
                ErrorKind::Invalid,
            ),
            ("InvalidParameterValue", Some(400), ErrorKind::Invalid),
            ("InvalidParameterCombination", Some(400), ErrorKind::Invalid),
            ("InvalidParameter", Some(400), ErrorKind::Invalid),
            ("AccessDeniedException", Some(403), ErrorKind::AccessDenied),
            ("AccessDenied", Some(403), ErrorKind::AccessDenied),
            (
                "UnrecognizedClientException",
                Some(403),
                ErrorKind::AccessDenied,
            ),
            ("UnrecognizedClient", Some(400), ErrorKind::AccessDenied),
            ("AuthorizationError", Some(403), ErrorKind::AccessDenied),
            ("ServiceException", Some(500), ErrorKind::Transient),
            ("InternalServiceFault", Some(500), ErrorKind::Transient),
            ("ServiceUnavailable", Some(503), ErrorKind::Transient),
            // Quotas: not retried forever, even though the SDK classes them as throttling.
            ("LimitExceededException", Some(400), ErrorKind::Other),
            ("LimitExceededFault", Some(400), ErrorKind::Other),
            ("TopicLimitExceeded", Some(403), ErrorKind::Other),
        ];
        for (code, status, want) in cases {
            assert_eq!(
                classify(Some(code), None, *status),
                *want,
                "{code} {status:?}"
            );
        }
    }

    #[test]
    fn status_decides_for_unknown_codes() {
        let cases: &[(Option<u16>, ErrorKind)] = &[
            (Some(429), ErrorKind::Throttled),
            (Some(404), ErrorKind::NotFound),
            (Some(409), ErrorKind::Conflict),
            (Some(403), ErrorKind::AccessDenied),
            (Some(400), ErrorKind::Invalid),
            (Some(413), ErrorKind::Invalid),
            (Some(500), ErrorKind::Transient),
            (Some(502), ErrorKind::Transient),
            (Some(503), ErrorKind::Transient),
            (None, ErrorKind::Other),
            (Some(200), ErrorKind::Other),
        ];
        for (status, want) in cases {
            assert_eq!(
                classify(Some("SomethingNew"), None, *status),
                *want,
                "{status:?}"
            );
            assert_eq!(classify(None, None, *status), *want, "{status:?}");
        }
    }

    #[test]
    fn rate_exceeded_message_is_throttling() {
        assert_eq!(
            classify(None, Some("Rate exceeded"), Some(400)),
            ErrorKind::Throttled
        );
        assert_eq!(
            classify(Some("SomethingNew"), Some("Rate exceeded."), None),
            ErrorKind::Throttled
        );
    }

    #[test]
    fn retry_after_is_seconds() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after(" 1.5 "),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT"), None);
    }

    #[test]
    fn transport_failures_are_transient_and_keep_their_source() {
        use aws_smithy_runtime_api::client::result::ConnectorError;
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err: SdkError<
            aws_sdk_dynamodb::operation::describe_table::DescribeTableError,
            HttpResponse,
        > = SdkError::dispatch_failure(ConnectorError::io(Box::new(io)));
        let mapped = from_sdk(Op::DescribeTable, err);
        assert_eq!(mapped.kind, ErrorKind::Transient);
        assert_eq!(mapped.code, None);
        // The chain reaches the I/O error: CloudError → SdkError → ConnectorError → io::Error.
        let mut chain = Vec::new();
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(&mapped);
        while let Some(e) = cur {
            chain.push(e.to_string());
            cur = e.source();
        }
        assert!(chain.iter().any(|m| m.contains("refused")), "{chain:?}");

        let err: SdkError<
            aws_sdk_dynamodb::operation::describe_table::DescribeTableError,
            HttpResponse,
        > = SdkError::timeout_error("slow");
        assert_eq!(from_sdk(Op::DescribeTable, err).kind, ErrorKind::Transient);
    }
}
