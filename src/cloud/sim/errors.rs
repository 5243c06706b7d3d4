//! The errors the simulated account returns, with the error codes each AWS service really uses
//! for them, so callers' error mapping sees what it would see in production.

use std::time::Duration;

use crate::cloud::{CloudError, ErrorKind, Op, Service};

pub(crate) fn invalid(op: Op, message: impl Into<String>) -> CloudError {
    let code = match op.service() {
        Service::CloudWatch => "InvalidParameterValue",
        Service::Lambda => "InvalidParameterValueException",
        Service::ApplicationAutoScaling | Service::EventBridge | Service::DynamoDb => {
            "ValidationException"
        }
        Service::Sns => "InvalidParameter",
        Service::Tagging => "InvalidParameterException",
    };
    CloudError::new(ErrorKind::Invalid, op, message).with_code(code)
}

pub(crate) fn not_found(op: Op, message: impl Into<String>) -> CloudError {
    let code = match op.service() {
        Service::CloudWatch => "ResourceNotFound",
        Service::ApplicationAutoScaling => "ObjectNotFoundException",
        Service::Lambda | Service::EventBridge | Service::DynamoDb => "ResourceNotFoundException",
        Service::Sns => "NotFound",
        // GetResources reports nothing as missing: it leaves unknown ARNs out.
        Service::Tagging => "InvalidParameterException",
    };
    CloudError::new(ErrorKind::NotFound, op, message).with_code(code)
}

pub(crate) fn conflict(op: Op, message: impl Into<String>) -> CloudError {
    let code = match op.service() {
        Service::Lambda => "ResourceConflictException",
        Service::ApplicationAutoScaling => "ConcurrentUpdateException",
        Service::EventBridge => "ConcurrentModificationException",
        _ => "ConflictException",
    };
    CloudError::new(ErrorKind::Conflict, op, message).with_code(code)
}

/// A hard quota (AWS's `LimitExceededException`): retrying cannot help.
pub(crate) fn limit(op: Op, message: impl Into<String>) -> CloudError {
    let code = match op.service() {
        Service::CloudWatch => "LimitExceeded",
        _ => "LimitExceededException",
    };
    CloudError::new(ErrorKind::Other, op, message).with_code(code)
}

pub(crate) fn throttled(op: Op) -> CloudError {
    match op.service() {
        Service::Lambda => CloudError::new(ErrorKind::Throttled, op, "Rate exceeded")
            .with_code("TooManyRequestsException")
            .with_retry_after(Duration::from_secs(1)),
        _ => CloudError::new(ErrorKind::Throttled, op, "Rate exceeded")
            .with_code("ThrottlingException"),
    }
}

/// Lambda's 412: a write named a revision the function is no longer at.
pub(crate) fn precondition(op: Op, message: impl Into<String>) -> CloudError {
    CloudError::new(ErrorKind::Precondition, op, message).with_code("PreconditionFailedException")
}
