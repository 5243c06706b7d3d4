//! Every AWS operation trimtab calls, with its service, whether it writes, and the quota bucket
//! AWS charges it to. Both the executor's rate limiter and the simulated account's quota
//! emulation read this one table, so they cannot disagree about which calls share a bucket.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Service {
    CloudWatch,
    Lambda,
    ApplicationAutoScaling,
    EventBridge,
    DynamoDb,
    Sns,
    Tagging,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Service::CloudWatch => "cloudwatch",
            Service::Lambda => "lambda",
            Service::ApplicationAutoScaling => "application-autoscaling",
            Service::EventBridge => "eventbridge",
            Service::DynamoDb => "dynamodb",
            Service::Sns => "sns",
            Service::Tagging => "tagging",
        }
    }
}

macro_rules! ops {
    ($( $variant:ident => ($service:ident, $name:literal, $write:literal, $bucket:literal) ),+ $(,)?) => {
        /// An AWS API operation.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        pub enum Op { $( $variant ),+ }

        impl Op {
            pub const ALL: &'static [Op] = &[ $( Op::$variant ),+ ];

            pub fn service(self) -> Service {
                match self { $( Op::$variant => Service::$service ),+ }
            }

            /// AWS's name for the operation, e.g. `PutMetricAlarm`.
            pub fn name(self) -> &'static str {
                match self { $( Op::$variant => $name ),+ }
            }

            /// Whether the call changes the account.
            pub fn is_write(self) -> bool {
                match self { $( Op::$variant => $write ),+ }
            }

            /// The quota bucket the call draws from, e.g. `lambda:control-plane`.
            pub fn bucket(self) -> &'static str {
                match self { $( Op::$variant => $bucket ),+ }
            }
        }
    };
}

ops! {
    DescribeAlarms => (CloudWatch, "DescribeAlarms", false, "cloudwatch:DescribeAlarms"),
    PutMetricAlarm => (CloudWatch, "PutMetricAlarm", true, "cloudwatch:PutMetricAlarm"),
    DeleteAlarms => (CloudWatch, "DeleteAlarms", true, "cloudwatch:DeleteAlarms"),
    CwListTagsForResource => (CloudWatch, "ListTagsForResource", false, "cloudwatch:ListTagsForResource"),
    CwTagResource => (CloudWatch, "TagResource", true, "cloudwatch:TagResource"),
    CwUntagResource => (CloudWatch, "UntagResource", true, "cloudwatch:UntagResource"),
    GetMetricData => (CloudWatch, "GetMetricData", false, "cloudwatch:GetMetricData"),
    PutMetricData => (CloudWatch, "PutMetricData", true, "cloudwatch:PutMetricData"),
    ListMetrics => (CloudWatch, "ListMetrics", false, "cloudwatch:ListMetrics"),
    PutDashboard => (CloudWatch, "PutDashboard", true, "cloudwatch:PutDashboard"),
    GetDashboard => (CloudWatch, "GetDashboard", false, "cloudwatch:GetDashboard"),
    DeleteDashboards => (CloudWatch, "DeleteDashboards", true, "cloudwatch:DeleteDashboards"),

    ListFunctions => (Lambda, "ListFunctions", false, "lambda:control-plane"),
    GetFunction => (Lambda, "GetFunction", false, "lambda:GetFunction"),
    GetAccountSettings => (Lambda, "GetAccountSettings", false, "lambda:control-plane"),
    GetFunctionConfiguration => (Lambda, "GetFunctionConfiguration", false, "lambda:control-plane"),
    PutFunctionConcurrency => (Lambda, "PutFunctionConcurrency", true, "lambda:control-plane"),
    DeleteFunctionConcurrency => (Lambda, "DeleteFunctionConcurrency", true, "lambda:control-plane"),
    LambdaTagResource => (Lambda, "TagResource", true, "lambda:control-plane"),
    LambdaUntagResource => (Lambda, "UntagResource", true, "lambda:control-plane"),
    ListAliases => (Lambda, "ListAliases", false, "lambda:control-plane"),
    CreateAlias => (Lambda, "CreateAlias", true, "lambda:control-plane"),
    UpdateAlias => (Lambda, "UpdateAlias", true, "lambda:control-plane"),
    PublishVersion => (Lambda, "PublishVersion", true, "lambda:control-plane"),
    ListProvisionedConcurrencyConfigs => (Lambda, "ListProvisionedConcurrencyConfigs", false, "lambda:control-plane"),
    GetProvisionedConcurrencyConfig => (Lambda, "GetProvisionedConcurrencyConfig", false, "lambda:control-plane"),
    PutProvisionedConcurrencyConfig => (Lambda, "PutProvisionedConcurrencyConfig", true, "lambda:control-plane"),
    DeleteProvisionedConcurrencyConfig => (Lambda, "DeleteProvisionedConcurrencyConfig", true, "lambda:control-plane"),
    GetPolicy => (Lambda, "GetPolicy", false, "lambda:GetPolicy"),
    AddPermission => (Lambda, "AddPermission", true, "lambda:control-plane"),
    RemovePermission => (Lambda, "RemovePermission", true, "lambda:control-plane"),
    UpdateFunctionConfiguration => (Lambda, "UpdateFunctionConfiguration", true, "lambda:control-plane"),

    DescribeScalableTargets => (ApplicationAutoScaling, "DescribeScalableTargets", false, "application-autoscaling:read"),
    RegisterScalableTarget => (ApplicationAutoScaling, "RegisterScalableTarget", true, "application-autoscaling:write"),
    DeregisterScalableTarget => (ApplicationAutoScaling, "DeregisterScalableTarget", true, "application-autoscaling:write"),
    DescribeScalingPolicies => (ApplicationAutoScaling, "DescribeScalingPolicies", false, "application-autoscaling:read"),
    PutScalingPolicy => (ApplicationAutoScaling, "PutScalingPolicy", true, "application-autoscaling:write"),
    DeleteScalingPolicy => (ApplicationAutoScaling, "DeleteScalingPolicy", true, "application-autoscaling:write"),
    AasListTagsForResource => (ApplicationAutoScaling, "ListTagsForResource", false, "application-autoscaling:read"),

    ListRules => (EventBridge, "ListRules", false, "eventbridge:control-plane"),
    PutRule => (EventBridge, "PutRule", true, "eventbridge:control-plane"),
    DeleteRule => (EventBridge, "DeleteRule", true, "eventbridge:control-plane"),
    ListTargetsByRule => (EventBridge, "ListTargetsByRule", false, "eventbridge:control-plane"),
    PutTargets => (EventBridge, "PutTargets", true, "eventbridge:control-plane"),
    RemoveTargets => (EventBridge, "RemoveTargets", true, "eventbridge:control-plane"),
    EventsListTagsForResource => (EventBridge, "ListTagsForResource", false, "eventbridge:control-plane"),
    EventsTagResource => (EventBridge, "TagResource", true, "eventbridge:control-plane"),

    DescribeTable => (DynamoDb, "DescribeTable", false, "dynamodb:DescribeTable"),
    // The leader lease: items in trimtab's own table, not a change to the managed account (so
    // not counted as its writes, nor stopped by a crash point).
    AcquireLease => (DynamoDb, "UpdateItem", false, "dynamodb:lease"),
    ReleaseLease => (DynamoDb, "UpdateItem", false, "dynamodb:lease"),

    ListTopics => (Sns, "ListTopics", false, "sns:ListTopics"),
    CreateTopic => (Sns, "CreateTopic", true, "sns:CreateTopic"),
    ListSubscriptionsByTopic => (Sns, "ListSubscriptionsByTopic", false, "sns:ListSubscriptionsByTopic"),
    Subscribe => (Sns, "Subscribe", true, "sns:Subscribe"),
    SnsListTagsForResource => (Sns, "ListTagsForResource", false, "sns:ListTagsForResource"),
    SnsTagResource => (Sns, "TagResource", true, "sns:TagResource"),

    GetResources => (Tagging, "GetResources", false, "tagging:GetResources"),
}

/// AWS's published (or, where AWS publishes none, conservative) rate for a bucket, in requests
/// per second. The simulated account enforces these; trimtab's own limiter takes a share of
/// them (see `engine::limits`). Figures from shared/AWS-FACTS.md.
pub fn aws_quota(bucket: &str) -> f64 {
    match bucket {
        "cloudwatch:DescribeAlarms" => 9.0,
        "cloudwatch:PutMetricAlarm" => 3.0,
        "cloudwatch:DeleteAlarms" => 3.0,
        "cloudwatch:GetMetricData" => 50.0,
        "cloudwatch:PutMetricData" => 500.0,
        "cloudwatch:ListMetrics" => 25.0,
        "cloudwatch:PutDashboard" | "cloudwatch:GetDashboard" | "cloudwatch:DeleteDashboards" => {
            10.0
        }
        "cloudwatch:ListTagsForResource"
        | "cloudwatch:TagResource"
        | "cloudwatch:UntagResource" => 10.0,
        "lambda:control-plane" => 15.0,
        "lambda:GetFunction" => 100.0,
        "lambda:GetPolicy" => 15.0,
        "application-autoscaling:read" | "application-autoscaling:write" => 10.0,
        "eventbridge:control-plane" => 50.0,
        "dynamodb:DescribeTable" => 10.0,
        // Item writes on a small on-demand table: thousands a second; a lease makes a few a
        // minute.
        "dynamodb:lease" => 100.0,
        // AWS publishes no rate for the Resource Groups Tagging API's GetResources: the same
        // conservative figure as every unpublished bucket, written out because ownership reads
        // depend on it.
        "tagging:GetResources" => 10.0,
        _ => 10.0,
    }
}

/// Every distinct bucket, for metrics and config validation.
pub fn buckets() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = Op::ALL.iter().map(|op| op.bucket()).collect();
    all.sort_unstable();
    all.dedup();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_control_plane_is_one_shared_bucket_except_get_function_and_get_policy() {
        for op in Op::ALL.iter().filter(|op| op.service() == Service::Lambda) {
            match op {
                Op::GetFunction => assert_eq!(op.bucket(), "lambda:GetFunction"),
                Op::GetPolicy => assert_eq!(op.bucket(), "lambda:GetPolicy"),
                _ => assert_eq!(op.bucket(), "lambda:control-plane", "{op:?}"),
            }
        }
        assert_eq!(aws_quota("lambda:control-plane"), 15.0);
        assert_eq!(aws_quota("cloudwatch:PutMetricAlarm"), 3.0);
    }
}
