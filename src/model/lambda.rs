//! Lambda functions and the function-level settings trimtab manages.

use serde::{Deserialize, Serialize};

use super::Tags;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    #[default]
    X86_64,
    Arm64,
}

impl Architecture {
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

/// `LastUpdateStatus`: while `InProgress`, configuration writes fail with a 409 conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum UpdateStatus {
    #[default]
    Successful,
    InProgress,
    Failed,
}

/// What ListFunctions reports of a function (no tags, no reserved concurrency).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionSummary {
    pub name: String,
    pub arn: String,
    pub memory_mb: u32,
    pub timeout_s: u32,
    pub architecture: Architecture,
    pub runtime: Option<String>,
    pub last_update_status: UpdateStatus,
    /// Changes with every configuration change; writes that carry it fail (412) if someone
    /// else changed the function since it was read.
    #[serde(default)]
    pub revision_id: Option<String>,
    /// The deployment package's hash: two versions with the same hash run the same code.
    #[serde(default)]
    pub code_sha256: Option<String>,
    /// ARNs of the layers the function runs with.
    #[serde(default)]
    pub layers: Vec<String>,
}

/// The name of the Lambda Insights extension's layers (`…:layer:LambdaInsightsExtension…`).
pub const INSIGHTS_LAYER: &str = ":layer:LambdaInsightsExtension";

impl FunctionSummary {
    /// Whether the Lambda Insights extension publishes `LambdaInsights` metrics for it.
    pub fn has_insights(&self) -> bool {
        self.layers.iter().any(|l| l.contains(INSIGHTS_LAYER))
    }

    /// Memory and timeout, the two settings right-sizing manages.
    pub fn sizing(&self) -> (u32, u32) {
        (self.memory_mb, self.timeout_s)
    }
}

/// What GetFunction reports: the configuration plus tags and reserved concurrency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionDetail {
    pub summary: FunctionSummary,
    pub tags: Tags,
    pub reserved_concurrency: Option<u32>,
}

/// GetAccountSettings' concurrency figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountConcurrency {
    pub limit: u32,
    pub unreserved: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alias {
    pub name: String,
    pub arn: String,
    pub function_version: String,
    /// A second version and the share of invocations routed to it (a canary).
    #[serde(default)]
    pub routing: Option<VersionWeight>,
}

/// `RoutingConfig.AdditionalVersionWeights`: one extra version and its share (0–1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionWeight {
    pub version: String,
    pub weight: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProvisionedStatus {
    InProgress,
    Ready,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionedConcurrency {
    pub function: String,
    /// An alias or version, never `$LATEST`.
    pub qualifier: String,
    pub requested: u32,
    pub allocated: u32,
    pub available: u32,
    pub status: ProvisionedStatus,
    pub status_reason: Option<String>,
}

/// A resource-policy statement allowing a service to invoke the function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    pub statement_id: String,
    pub action: String,
    pub principal: String,
    pub source_arn: Option<String>,
    /// The alias or version the permission is attached to, if any.
    pub qualifier: Option<String>,
}

/// A partial UpdateFunctionConfiguration: only the fields right-sizing changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FunctionConfigUpdate {
    pub memory_mb: Option<u32>,
    pub timeout_s: Option<u32>,
    /// When set, the update fails (412) unless the function is still at this revision: it
    /// never overwrites a concurrent deploy.
    pub revision_id: Option<String>,
}
