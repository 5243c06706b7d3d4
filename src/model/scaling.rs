//! Application Auto Scaling targets and target-tracking policies.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ScalableNamespace {
    Lambda,
    DynamoDb,
}

impl ScalableNamespace {
    pub fn as_str(self) -> &'static str {
        match self {
            ScalableNamespace::Lambda => "lambda",
            ScalableNamespace::DynamoDb => "dynamodb",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ScalableDimension {
    LambdaProvisionedConcurrency,
    TableRead,
    TableWrite,
    IndexRead,
    IndexWrite,
}

impl ScalableDimension {
    pub fn as_str(self) -> &'static str {
        match self {
            ScalableDimension::LambdaProvisionedConcurrency => {
                "lambda:function:ProvisionedConcurrency"
            }
            ScalableDimension::TableRead => "dynamodb:table:ReadCapacityUnits",
            ScalableDimension::TableWrite => "dynamodb:table:WriteCapacityUnits",
            ScalableDimension::IndexRead => "dynamodb:index:ReadCapacityUnits",
            ScalableDimension::IndexWrite => "dynamodb:index:WriteCapacityUnits",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "lambda:function:ProvisionedConcurrency" => {
                ScalableDimension::LambdaProvisionedConcurrency
            }
            "dynamodb:table:ReadCapacityUnits" => ScalableDimension::TableRead,
            "dynamodb:table:WriteCapacityUnits" => ScalableDimension::TableWrite,
            "dynamodb:index:ReadCapacityUnits" => ScalableDimension::IndexRead,
            "dynamodb:index:WriteCapacityUnits" => ScalableDimension::IndexWrite,
            _ => return None,
        })
    }

    pub fn namespace(self) -> ScalableNamespace {
        match self {
            ScalableDimension::LambdaProvisionedConcurrency => ScalableNamespace::Lambda,
            _ => ScalableNamespace::DynamoDb,
        }
    }
}

/// A scalable target. `resource_id` is AWS's: `function:NAME:ALIAS`, `table/NAME`,
/// `table/NAME/index/INDEX`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScalableTarget {
    pub resource_id: String,
    pub dimension: ScalableDimension,
    pub min_capacity: u32,
    pub max_capacity: u32,
    /// Desired: the tags to register it with (the ownership tag, recorded atomically with
    /// its creation). Observed: empty; its tags are read apart (ListTagsForResource).
    #[serde(default, skip_serializing_if = "super::Tags::is_empty")]
    pub tags: super::Tags,
    /// Its ARN, as DescribeScalableTargets reports it; `None` in the desired state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
}

/// A target-tracking policy on a predefined metric (Lambda and DynamoDB support only these).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalingPolicy {
    pub name: String,
    pub resource_id: String,
    pub dimension: ScalableDimension,
    /// e.g. `LambdaProvisionedConcurrencyUtilization`, `DynamoDBReadCapacityUtilization`.
    pub predefined_metric: String,
    pub target_value: f64,
    pub scale_in_cooldown_s: Option<u32>,
    pub scale_out_cooldown_s: Option<u32>,
    pub disable_scale_in: bool,
}

/// A policy as DescribeScalingPolicies reports it, with the alarms AAS made for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservedScalingPolicy {
    pub arn: String,
    pub policy: ScalingPolicy,
    /// Names of the `TargetTracking-*` alarms Application Auto Scaling owns.
    pub alarm_names: Vec<String>,
}
