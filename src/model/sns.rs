//! SNS topics and subscriptions used as alarm actions.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// `PendingConfirmation` until an email recipient confirms.
    pub arn: String,
    pub protocol: String,
    pub endpoint: String,
}
