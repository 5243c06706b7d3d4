//! `AutoScalingApi` over aws-sdk-applicationautoscaling: scalable targets and target-tracking
//! policies for Lambda provisioned concurrency and DynamoDB capacity.

use async_trait::async_trait;
use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension as SdkDimension,
    ScalingPolicy as SdkPolicy, ServiceNamespace, TargetTrackingScalingPolicyConfiguration,
};

use super::error::from_sdk;
use super::{invalid_input, to_i32, to_u32};
use crate::cloud::{AutoScalingApi, CloudResult, Op};
use crate::model::{
    ObservedScalingPolicy, Page, ScalableDimension, ScalableNamespace, ScalableTarget,
    ScalingPolicy, Tags,
};

/// The most DescribeScalableTargets accepts as `MaxResults`.
const TARGETS_PAGE: i32 = 50;
/// The most DescribeScalingPolicies accepts as `MaxResults`.
const POLICIES_PAGE: i32 = 10;

pub(crate) struct AwsAutoScaling {
    client: aws_sdk_applicationautoscaling::Client,
}

impl AwsAutoScaling {
    pub(crate) fn new(client: aws_sdk_applicationautoscaling::Client) -> Self {
        Self { client }
    }
}

fn namespace(ns: ScalableNamespace) -> ServiceNamespace {
    match ns {
        ScalableNamespace::Lambda => ServiceNamespace::Lambda,
        ScalableNamespace::DynamoDb => ServiceNamespace::Dynamodb,
    }
}

fn dimension(d: ScalableDimension) -> SdkDimension {
    SdkDimension::from(d.as_str())
}

/// Policies trimtab cannot express (step scaling, custom-metric target tracking, dimensions of
/// other services) are left out: trimtab never creates them, so it has nothing to compare them
/// with. Their `TargetTracking-*` alarms are still recognised by name elsewhere.
fn observed_policy(p: &SdkPolicy) -> Option<ObservedScalingPolicy> {
    if *p.policy_type() != PolicyType::TargetTrackingScaling {
        return None;
    }
    let dimension = ScalableDimension::parse(p.scalable_dimension().as_str())?;
    let config = p.target_tracking_scaling_policy_configuration()?;
    let predefined = config.predefined_metric_specification()?;
    Some(ObservedScalingPolicy {
        arn: p.policy_arn().to_owned(),
        policy: ScalingPolicy {
            name: p.policy_name().to_owned(),
            resource_id: p.resource_id().to_owned(),
            dimension,
            predefined_metric: predefined.predefined_metric_type().as_str().to_owned(),
            target_value: config.target_value(),
            scale_in_cooldown_s: config.scale_in_cooldown().map(to_u32),
            scale_out_cooldown_s: config.scale_out_cooldown().map(to_u32),
            disable_scale_in: config.disable_scale_in().unwrap_or(false),
        },
        alarm_names: p
            .alarms()
            .iter()
            .map(|a| a.alarm_name().to_owned())
            .collect(),
    })
}

#[async_trait]
impl AutoScalingApi for AwsAutoScaling {
    async fn describe_scalable_targets(
        &self,
        ns: ScalableNamespace,
        resource_ids: &[String],
        next: Option<&str>,
    ) -> CloudResult<Page<ScalableTarget>> {
        let out = self
            .client
            .describe_scalable_targets()
            .service_namespace(namespace(ns))
            .set_resource_ids((!resource_ids.is_empty()).then(|| resource_ids.to_vec()))
            .set_next_token(next.map(str::to_owned))
            .max_results(TARGETS_PAGE)
            .send()
            .await
            .map_err(|e| from_sdk(Op::DescribeScalableTargets, e))?;
        Ok(Page {
            items: out
                .scalable_targets()
                .iter()
                // Dimensions outside the model (none exist today in these two namespaces)
                // cannot be trimtab's.
                .filter_map(|t| {
                    Some(ScalableTarget {
                        resource_id: t.resource_id().to_owned(),
                        dimension: ScalableDimension::parse(t.scalable_dimension().as_str())?,
                        min_capacity: to_u32(t.min_capacity()),
                        max_capacity: to_u32(t.max_capacity()),
                        tags: Default::default(),
                        arn: t.scalable_target_arn().map(str::to_owned),
                    })
                })
                .collect(),
            next: out.next_token().map(str::to_owned),
        })
    }

    async fn register_scalable_target(&self, target: &ScalableTarget) -> CloudResult<()> {
        self.client
            .register_scalable_target()
            .service_namespace(namespace(target.dimension.namespace()))
            .resource_id(&target.resource_id)
            .scalable_dimension(dimension(target.dimension))
            .min_capacity(to_i32(target.min_capacity))
            .max_capacity(to_i32(target.max_capacity))
            // Ownership recorded with the creation itself: no window in which the target
            // exists without it. (AWS applies tags only when the target is new.)
            .set_tags((!target.tags.is_empty()).then(|| {
                target
                    .tags
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            }))
            .send()
            .await
            .map_err(|e| from_sdk(Op::RegisterScalableTarget, e))?;
        Ok(())
    }

    async fn deregister_scalable_target(
        &self,
        resource_id: &str,
        dim: ScalableDimension,
    ) -> CloudResult<()> {
        self.client
            .deregister_scalable_target()
            .service_namespace(namespace(dim.namespace()))
            .resource_id(resource_id)
            .scalable_dimension(dimension(dim))
            .send()
            .await
            .map_err(|e| from_sdk(Op::DeregisterScalableTarget, e))?;
        Ok(())
    }

    async fn describe_scaling_policies(
        &self,
        ns: ScalableNamespace,
        resource_id: Option<&str>,
        next: Option<&str>,
    ) -> CloudResult<Page<ObservedScalingPolicy>> {
        let out = self
            .client
            .describe_scaling_policies()
            .service_namespace(namespace(ns))
            .set_resource_id(resource_id.map(str::to_owned))
            .set_next_token(next.map(str::to_owned))
            .max_results(POLICIES_PAGE)
            .send()
            .await
            .map_err(|e| from_sdk(Op::DescribeScalingPolicies, e))?;
        Ok(Page {
            items: out
                .scaling_policies()
                .iter()
                .filter_map(observed_policy)
                .collect(),
            next: out.next_token().map(str::to_owned),
        })
    }

    async fn put_scaling_policy(&self, policy: &ScalingPolicy) -> CloudResult<()> {
        const OP: Op = Op::PutScalingPolicy;
        let metric = PredefinedMetricSpecification::builder()
            .predefined_metric_type(MetricType::from(policy.predefined_metric.as_str()))
            .build()
            .map_err(|e| invalid_input(OP, e))?;
        let config = TargetTrackingScalingPolicyConfiguration::builder()
            .target_value(policy.target_value)
            .predefined_metric_specification(metric)
            .set_scale_in_cooldown(policy.scale_in_cooldown_s.map(to_i32))
            .set_scale_out_cooldown(policy.scale_out_cooldown_s.map(to_i32))
            .disable_scale_in(policy.disable_scale_in)
            .build()
            .map_err(|e| invalid_input(OP, e))?;
        self.client
            .put_scaling_policy()
            .policy_name(&policy.name)
            .service_namespace(namespace(policy.dimension.namespace()))
            .resource_id(&policy.resource_id)
            .scalable_dimension(dimension(policy.dimension))
            .policy_type(PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(config)
            .send()
            .await
            .map_err(|e| from_sdk(OP, e))?;
        Ok(())
    }

    async fn delete_scaling_policy(
        &self,
        name: &str,
        resource_id: &str,
        dim: ScalableDimension,
    ) -> CloudResult<()> {
        self.client
            .delete_scaling_policy()
            .policy_name(name)
            .service_namespace(namespace(dim.namespace()))
            .resource_id(resource_id)
            .scalable_dimension(dimension(dim))
            .send()
            .await
            .map_err(|e| from_sdk(Op::DeleteScalingPolicy, e))?;
        Ok(())
    }

    async fn list_tags_for_resource(&self, arn: &str) -> CloudResult<Tags> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| from_sdk(Op::AasListTagsForResource, e))?;
        Ok(out
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_applicationautoscaling::types::Alarm;
    use aws_smithy_types::DateTime;

    use super::*;

    fn policy(kind: PolicyType) -> SdkPolicy {
        SdkPolicy::builder()
            .policy_arn("arn:aws:autoscaling:us-east-1:1:scalingPolicy:x")
            .policy_name("trimtab-orders-read")
            .service_namespace(ServiceNamespace::Dynamodb)
            .resource_id("table/orders")
            .scalable_dimension(SdkDimension::DynamoDbTableReadCapacityUnits)
            .policy_type(kind)
            .target_tracking_scaling_policy_configuration(
                TargetTrackingScalingPolicyConfiguration::builder()
                    .target_value(70.0)
                    .predefined_metric_specification(
                        PredefinedMetricSpecification::builder()
                            .predefined_metric_type(MetricType::DynamoDbReadCapacityUtilization)
                            .build()
                            .unwrap(),
                    )
                    .scale_in_cooldown(60)
                    .build()
                    .unwrap(),
            )
            .alarms(
                Alarm::builder()
                    .alarm_name("TargetTracking-table/orders-AlarmHigh-1")
                    .alarm_arn("arn:aws:cloudwatch:us-east-1:1:alarm:TargetTracking-table/orders-AlarmHigh-1")
                    .build()
                    .unwrap(),
            )
            .creation_time(DateTime::from_secs(0))
            .build()
            .unwrap()
    }

    #[test]
    fn target_tracking_policy_with_its_alarms() {
        let p = observed_policy(&policy(PolicyType::TargetTrackingScaling)).unwrap();
        assert_eq!(p.policy.dimension, ScalableDimension::TableRead);
        assert_eq!(
            p.policy.predefined_metric,
            "DynamoDBReadCapacityUtilization"
        );
        assert_eq!(p.policy.target_value, 70.0);
        assert_eq!(p.policy.scale_in_cooldown_s, Some(60));
        assert_eq!(p.policy.scale_out_cooldown_s, None);
        assert!(!p.policy.disable_scale_in);
        assert_eq!(
            p.alarm_names,
            vec!["TargetTracking-table/orders-AlarmHigh-1".to_owned()]
        );
    }

    #[test]
    fn step_scaling_is_not_ours() {
        assert!(observed_policy(&policy(PolicyType::StepScaling)).is_none());
    }
}
