//! The cloud, as trimtab sees it: one port (trait) per AWS service, in domain types, each call
//! exactly one AWS API call (pagination is the caller's business, so call counts are honest).
//! Two implementations: `aws` (the real SDK) and `sim` (an in-memory account).
//!
//! Ports never retry, rate-limit or log: that is the executor's job (`engine::governor`), in one
//! place, for both backends.

pub mod aws;
pub mod error;
pub mod faults;
pub mod ops;
pub mod sim;

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

pub use error::{CloudError, CloudResult, ErrorKind};
pub use ops::{Op, Service};

use crate::model::{
    AccountConcurrency, AlarmSpec, Alias, FunctionConfigUpdate, FunctionDetail, FunctionSummary,
    MetricDataPage, MetricDatum, MetricId, MetricQuery, ObservedAlarm, ObservedRule,
    ObservedScalingPolicy, Page, Permission, ProvisionedConcurrency, Rule, RuleTarget,
    ScalableDimension, ScalableNamespace, ScalableTarget, ScalingPolicy, Subscription, TableInfo,
    Tags, VersionWeight,
};

#[async_trait]
pub trait CloudWatchApi: Send + Sync {
    /// One page (≤ 100) of metric alarms, optionally only those whose names start with `prefix`.
    async fn describe_alarms(
        &self,
        prefix: Option<&str>,
        next: Option<&str>,
    ) -> CloudResult<Page<ObservedAlarm>>;
    /// Creates or replaces an alarm. Tags are applied only on creation, as in AWS.
    async fn put_metric_alarm(&self, alarm: &AlarmSpec) -> CloudResult<()>;
    /// Deletes up to 100 alarms. Unknown names are ignored, as in AWS.
    async fn delete_alarms(&self, names: &[String]) -> CloudResult<()>;
    async fn list_tags_for_resource(&self, arn: &str) -> CloudResult<Tags>;
    async fn tag_resource(&self, arn: &str, tags: &Tags) -> CloudResult<()>;
    async fn untag_resource(&self, arn: &str, keys: &[String]) -> CloudResult<()>;
    /// Up to 500 queries over `[start, end)`.
    async fn get_metric_data(
        &self,
        queries: &[MetricQuery],
        start: SystemTime,
        end: SystemTime,
        next: Option<&str>,
    ) -> CloudResult<MetricDataPage>;
    /// One page (≤ 500) of the series of a metric that received data in the last two weeks.
    async fn list_metrics(
        &self,
        namespace: &str,
        name: &str,
        next: Option<&str>,
    ) -> CloudResult<Page<MetricId>>;
    /// Up to 1,000 values in one namespace.
    async fn put_metric_data(&self, namespace: &str, data: &[MetricDatum]) -> CloudResult<()>;
    async fn put_dashboard(&self, name: &str, body: &str) -> CloudResult<()>;
    /// `None` when the dashboard does not exist.
    async fn get_dashboard(&self, name: &str) -> CloudResult<Option<String>>;
    async fn delete_dashboards(&self, names: &[String]) -> CloudResult<()>;
}

#[async_trait]
pub trait LambdaApi: Send + Sync {
    /// One page (≤ 50) of functions.
    async fn list_functions(&self, next: Option<&str>) -> CloudResult<Page<FunctionSummary>>;
    /// Configuration, tags and reserved concurrency. Draws from GetFunction's own quota.
    async fn get_function(&self, name: &str) -> CloudResult<FunctionDetail>;
    async fn get_account_settings(&self) -> CloudResult<AccountConcurrency>;
    /// The configuration of one version (or alias) of a function: GetFunctionConfiguration
    /// with a qualifier. A published version never changes, so one read is enough.
    async fn get_function_configuration(
        &self,
        function: &str,
        qualifier: &str,
    ) -> CloudResult<FunctionSummary>;
    async fn put_function_concurrency(&self, name: &str, reserved: u32) -> CloudResult<()>;
    async fn delete_function_concurrency(&self, name: &str) -> CloudResult<()>;
    async fn tag_resource(&self, arn: &str, tags: &Tags) -> CloudResult<()>;
    async fn untag_resource(&self, arn: &str, keys: &[String]) -> CloudResult<()>;
    async fn list_aliases(&self, function: &str, next: Option<&str>) -> CloudResult<Page<Alias>>;
    /// Publishes `$LATEST` as a new version and returns the version number. With a
    /// `revision_id`, fails (412) unless `$LATEST` is still at that revision.
    async fn publish_version(
        &self,
        function: &str,
        revision_id: Option<&str>,
    ) -> CloudResult<String>;
    async fn create_alias(&self, function: &str, alias: &str, version: &str) -> CloudResult<Alias>;
    /// Points an alias at `version`, routing `routing.weight` of its invocations to
    /// `routing.version` (or none with `None`).
    async fn update_alias(
        &self,
        function: &str,
        alias: &str,
        version: &str,
        routing: Option<&VersionWeight>,
    ) -> CloudResult<Alias>;
    async fn list_provisioned_concurrency_configs(
        &self,
        function: &str,
        next: Option<&str>,
    ) -> CloudResult<Page<ProvisionedConcurrency>>;
    /// `NotFound` when none is configured on that qualifier.
    async fn get_provisioned_concurrency_config(
        &self,
        function: &str,
        qualifier: &str,
    ) -> CloudResult<ProvisionedConcurrency>;
    async fn put_provisioned_concurrency_config(
        &self,
        function: &str,
        qualifier: &str,
        requested: u32,
    ) -> CloudResult<ProvisionedConcurrency>;
    async fn delete_provisioned_concurrency_config(
        &self,
        function: &str,
        qualifier: &str,
    ) -> CloudResult<()>;
    /// The function's (or alias's) resource policy statements; empty when it has no policy.
    async fn get_policy(
        &self,
        function: &str,
        qualifier: Option<&str>,
    ) -> CloudResult<Vec<Permission>>;
    async fn add_permission(&self, function: &str, permission: &Permission) -> CloudResult<()>;
    async fn remove_permission(
        &self,
        function: &str,
        statement_id: &str,
        qualifier: Option<&str>,
    ) -> CloudResult<()>;
    async fn update_function_configuration(
        &self,
        function: &str,
        update: &FunctionConfigUpdate,
    ) -> CloudResult<()>;
}

#[async_trait]
pub trait AutoScalingApi: Send + Sync {
    /// One page (≤ 50) of scalable targets in a namespace, optionally only the given resource ids.
    async fn describe_scalable_targets(
        &self,
        namespace: ScalableNamespace,
        resource_ids: &[String],
        next: Option<&str>,
    ) -> CloudResult<Page<ScalableTarget>>;
    async fn register_scalable_target(&self, target: &ScalableTarget) -> CloudResult<()>;
    async fn deregister_scalable_target(
        &self,
        resource_id: &str,
        dimension: ScalableDimension,
    ) -> CloudResult<()>;
    /// One page (≤ 10) of scaling policies in a namespace.
    async fn describe_scaling_policies(
        &self,
        namespace: ScalableNamespace,
        resource_id: Option<&str>,
        next: Option<&str>,
    ) -> CloudResult<Page<ObservedScalingPolicy>>;
    async fn put_scaling_policy(&self, policy: &ScalingPolicy) -> CloudResult<()>;
    async fn delete_scaling_policy(
        &self,
        name: &str,
        resource_id: &str,
        dimension: ScalableDimension,
    ) -> CloudResult<()>;
    /// The tags of a scalable target, by its ARN.
    async fn list_tags_for_resource(&self, arn: &str) -> CloudResult<Tags>;
}

#[async_trait]
pub trait EventsApi: Send + Sync {
    /// One page of rules on the default bus whose names start with `prefix`.
    async fn list_rules(
        &self,
        prefix: Option<&str>,
        next: Option<&str>,
    ) -> CloudResult<Page<ObservedRule>>;
    /// Creates or replaces a rule and returns its ARN. Tags apply on creation only, as in AWS.
    async fn put_rule(&self, rule: &Rule, tags: &Tags) -> CloudResult<String>;
    async fn delete_rule(&self, name: &str) -> CloudResult<()>;
    async fn list_targets_by_rule(
        &self,
        rule: &str,
        next: Option<&str>,
    ) -> CloudResult<Page<RuleTarget>>;
    /// Up to 10 targets per call.
    async fn put_targets(&self, rule: &str, targets: &[RuleTarget]) -> CloudResult<()>;
    async fn remove_targets(&self, rule: &str, ids: &[String]) -> CloudResult<()>;
    async fn list_tags_for_resource(&self, arn: &str) -> CloudResult<Tags>;
    async fn tag_resource(&self, arn: &str, tags: &Tags) -> CloudResult<()>;
}

#[async_trait]
pub trait DynamoDbApi: Send + Sync {
    /// `NotFound` when the table does not exist.
    async fn describe_table(&self, name: &str) -> CloudResult<TableInfo>;
    /// Takes or renews the lease `name` in `table` for `holder` until `expires_ms` (Unix ms),
    /// if it is free, expired at `now_ms`, or already `holder`'s: one conditional UpdateItem.
    /// `Some(token)`: held, with the lease's token (bumped at every write); `None`: another
    /// holder has it.
    async fn acquire_lease(
        &self,
        table: &str,
        name: &str,
        holder: &str,
        now_ms: u64,
        expires_ms: u64,
    ) -> CloudResult<Option<u64>>;
    /// Gives the lease up if `holder` has it (a conditional UpdateItem expiring it now, so the
    /// token keeps counting up); otherwise does nothing.
    async fn release_lease(&self, table: &str, name: &str, holder: &str) -> CloudResult<()>;
}

#[async_trait]
pub trait SnsApi: Send + Sync {
    /// One page (≤ 100) of topic ARNs.
    async fn list_topics(&self, next: Option<&str>) -> CloudResult<Page<String>>;
    /// Idempotent: returns the existing topic's ARN when it exists.
    async fn create_topic(&self, name: &str, tags: &Tags) -> CloudResult<String>;
    async fn list_subscriptions_by_topic(
        &self,
        topic_arn: &str,
        next: Option<&str>,
    ) -> CloudResult<Page<Subscription>>;
    async fn subscribe(&self, topic_arn: &str, protocol: &str, endpoint: &str) -> CloudResult<()>;
    async fn list_tags_for_resource(&self, arn: &str) -> CloudResult<Tags>;
    async fn tag_resource(&self, arn: &str, tags: &Tags) -> CloudResult<()>;
}

/// The Resource Groups Tagging API: the tags of many resources, of any service, in one call.
#[async_trait]
pub trait TaggingApi: Send + Sync {
    /// GetResources for up to [`TAGGING_ARNS_PER_CALL`] ARNs (`ResourceARNList`): each of them
    /// AWS returns, with all its tags. AWS returns only resources that are or were tagged, and
    /// its index follows tag changes eventually: an ARN not returned may be untagged, gone, or
    /// tagged so recently the index does not know yet, so absence proves nothing on its own.
    async fn get_resources(
        &self,
        arns: &[String],
        next: Option<&str>,
    ) -> CloudResult<Page<(String, Tags)>>;
}

/// GetResources takes at most this many ARNs.
pub const TAGGING_ARNS_PER_CALL: usize = 100;

/// The whole account, one client per service, each built once and shared.
#[derive(Clone)]
pub struct Cloud {
    pub cloudwatch: Arc<dyn CloudWatchApi>,
    pub lambda: Arc<dyn LambdaApi>,
    pub autoscaling: Arc<dyn AutoScalingApi>,
    pub events: Arc<dyn EventsApi>,
    pub dynamodb: Arc<dyn DynamoDbApi>,
    pub sns: Arc<dyn SnsApi>,
    pub tagging: Arc<dyn TaggingApi>,
}

impl std::fmt::Debug for Cloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cloud { .. }")
    }
}
