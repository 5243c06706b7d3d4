//! Fault injection as a wrapper around any implementation of the cloud ports (the idea of
//! mountpoint-s3's `failure_client.rs`): the same faults in front of the simulated account or
//! the AWS adapters. Random transient failures from a seeded generator, added latency,
//! operations that always fail, and a crash point: after the k-th write call every later write
//! fails, as if the process had died there, so tests can check that the next cycle finishes or
//! undoes whatever was half done.
//!
//! A faulted call never reaches the account behind the wrapper; the wrapper counts what it
//! injected.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::clock::Clock;
use crate::cloud::{
    AutoScalingApi, Cloud, CloudError, CloudResult, CloudWatchApi, DynamoDbApi, ErrorKind,
    EventsApi, LambdaApi, Op, SnsApi, TaggingApi,
};
use crate::model::{
    AccountConcurrency, AlarmSpec, Alias, FunctionConfigUpdate, FunctionDetail, FunctionSummary,
    MetricDataPage, MetricDatum, MetricId, MetricQuery, ObservedAlarm, ObservedRule,
    ObservedScalingPolicy, Page, Permission, ProvisionedConcurrency, Rule, RuleTarget,
    ScalableDimension, ScalableNamespace, ScalableTarget, ScalingPolicy, SimFaults, Subscription,
    TableInfo, Tags, VersionWeight,
};

#[derive(Debug)]
struct State {
    settings: SimFaults,
    rng: StdRng,
    /// Write calls let through so far.
    writes: u64,
    /// After this many writes, every write fails.
    crash_after_writes: Option<u64>,
    injected: BTreeMap<Op, u64>,
}

/// Decides, per call, whether to let it through. Share it as `Arc<FaultInjector>`.
#[derive(Debug)]
pub struct FaultInjector {
    state: Mutex<State>,
    clock: Arc<dyn Clock>,
}

fn injected(op: Op) -> CloudError {
    CloudError::new(
        ErrorKind::Other,
        op,
        format!("{} is configured to fail (injected fault)", op.name()),
    )
    .with_code("InjectedFault")
}

fn transient(op: Op) -> CloudError {
    CloudError::new(
        ErrorKind::Transient,
        op,
        "injected transient fault (503 Service Unavailable)",
    )
    .with_code("ServiceUnavailable")
}

fn crashed(op: Op) -> CloudError {
    CloudError::new(
        ErrorKind::Other,
        op,
        "injected crash: no write reaches the account after the crash point",
    )
    .with_code("InjectedCrash")
}

impl FaultInjector {
    pub fn new(settings: SimFaults, seed: u64, clock: Arc<dyn Clock>) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                settings,
                // Kept apart from the traffic seed's streams so faults do not shift the traffic.
                rng: StdRng::seed_from_u64(seed ^ 0xFA17_FA17_FA17_FA17),
                writes: 0,
                crash_after_writes: None,
                injected: BTreeMap::new(),
            }),
            clock,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set(&self, settings: SimFaults) {
        self.lock().settings = settings;
    }

    /// After `writes` more write calls, every write fails (`None` lifts the crash point).
    pub fn crash_after_writes(&self, writes: Option<u64>) {
        let mut st = self.lock();
        st.crash_after_writes = writes.map(|k| st.writes + k);
    }

    /// Faults injected so far, per operation.
    pub fn injected(&self) -> BTreeMap<Op, u64> {
        self.lock().injected.clone()
    }

    pub fn injected_total(&self) -> u64 {
        self.lock().injected.values().sum()
    }

    /// Wraps every port of `inner`.
    pub fn wrap(self: &Arc<Self>, inner: Cloud) -> Cloud {
        let faulty = Arc::new(Faulty {
            faults: self.clone(),
            inner,
        });
        Cloud {
            cloudwatch: faulty.clone(),
            lambda: faulty.clone(),
            autoscaling: faulty.clone(),
            events: faulty.clone(),
            dynamodb: faulty.clone(),
            sns: faulty.clone(),
            tagging: faulty,
        }
    }

    /// Lets one call through, or not.
    pub async fn admit(&self, op: Op) -> CloudResult<()> {
        let (latency, error) = {
            let mut st = self.lock();
            let s = &st.settings;
            let named = s.failing_operations.iter().any(|n| n == op.name());
            let rate = s.error_rate;
            let latency = s.latency;
            // Draw only when random faults are on, so turning them off leaves the stream as is.
            let random = rate > 0.0 && st.rng.random::<f64>() < rate;
            let crash = op.is_write() && st.crash_after_writes.is_some_and(|k| st.writes >= k);
            let error = if crash {
                Some(crashed(op))
            } else if named {
                Some(injected(op))
            } else if random {
                Some(transient(op))
            } else {
                None
            };
            match &error {
                Some(_) => *st.injected.entry(op).or_default() += 1,
                None if op.is_write() => st.writes += 1,
                None => {}
            }
            (latency, error)
        };
        if !latency.is_zero() {
            self.clock.sleep(latency).await;
        }
        error.map_or(Ok(()), Err)
    }
}

/// The ports of an account behind a [`FaultInjector`].
struct Faulty {
    faults: Arc<FaultInjector>,
    inner: Cloud,
}

/// Implements a port for [`Faulty`]: each method admits its operation, then forwards.
macro_rules! faulty {
    ($port:ident, $field:ident, { $( fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty => $op:ident; )* }) => {
        #[async_trait]
        impl $port for Faulty {
            $(
                async fn $name(&self $(, $arg: $ty)*) -> CloudResult<$ret> {
                    self.faults.admit(Op::$op).await?;
                    self.inner.$field.$name($($arg),*).await
                }
            )*
        }
    };
}

faulty!(CloudWatchApi, cloudwatch, {
    fn describe_alarms(&self, prefix: Option<&str>, next: Option<&str>) -> Page<ObservedAlarm> => DescribeAlarms;
    fn put_metric_alarm(&self, alarm: &AlarmSpec) -> () => PutMetricAlarm;
    fn delete_alarms(&self, names: &[String]) -> () => DeleteAlarms;
    fn list_tags_for_resource(&self, arn: &str) -> Tags => CwListTagsForResource;
    fn tag_resource(&self, arn: &str, tags: &Tags) -> () => CwTagResource;
    fn untag_resource(&self, arn: &str, keys: &[String]) -> () => CwUntagResource;
    fn get_metric_data(&self, queries: &[MetricQuery], start: SystemTime, end: SystemTime, next: Option<&str>) -> MetricDataPage => GetMetricData;
    fn list_metrics(&self, namespace: &str, name: &str, next: Option<&str>) -> Page<MetricId> => ListMetrics;
    fn put_metric_data(&self, namespace: &str, data: &[MetricDatum]) -> () => PutMetricData;
    fn put_dashboard(&self, name: &str, body: &str) -> () => PutDashboard;
    fn get_dashboard(&self, name: &str) -> Option<String> => GetDashboard;
    fn delete_dashboards(&self, names: &[String]) -> () => DeleteDashboards;
});

faulty!(LambdaApi, lambda, {
    fn list_functions(&self, next: Option<&str>) -> Page<FunctionSummary> => ListFunctions;
    fn get_function(&self, name: &str) -> FunctionDetail => GetFunction;
    fn get_function_configuration(&self, function: &str, qualifier: &str) -> FunctionSummary => GetFunctionConfiguration;
    fn get_account_settings(&self) -> AccountConcurrency => GetAccountSettings;
    fn put_function_concurrency(&self, name: &str, reserved: u32) -> () => PutFunctionConcurrency;
    fn delete_function_concurrency(&self, name: &str) -> () => DeleteFunctionConcurrency;
    fn tag_resource(&self, arn: &str, tags: &Tags) -> () => LambdaTagResource;
    fn untag_resource(&self, arn: &str, keys: &[String]) -> () => LambdaUntagResource;
    fn list_aliases(&self, function: &str, next: Option<&str>) -> Page<Alias> => ListAliases;
    fn publish_version(&self, function: &str, revision_id: Option<&str>) -> String => PublishVersion;
    fn create_alias(&self, function: &str, alias: &str, version: &str) -> Alias => CreateAlias;
    fn update_alias(&self, function: &str, alias: &str, version: &str, routing: Option<&VersionWeight>) -> Alias => UpdateAlias;
    fn list_provisioned_concurrency_configs(&self, function: &str, next: Option<&str>) -> Page<ProvisionedConcurrency> => ListProvisionedConcurrencyConfigs;
    fn get_provisioned_concurrency_config(&self, function: &str, qualifier: &str) -> ProvisionedConcurrency => GetProvisionedConcurrencyConfig;
    fn put_provisioned_concurrency_config(&self, function: &str, qualifier: &str, requested: u32) -> ProvisionedConcurrency => PutProvisionedConcurrencyConfig;
    fn delete_provisioned_concurrency_config(&self, function: &str, qualifier: &str) -> () => DeleteProvisionedConcurrencyConfig;
    fn get_policy(&self, function: &str, qualifier: Option<&str>) -> Vec<Permission> => GetPolicy;
    fn add_permission(&self, function: &str, permission: &Permission) -> () => AddPermission;
    fn remove_permission(&self, function: &str, statement_id: &str, qualifier: Option<&str>) -> () => RemovePermission;
    fn update_function_configuration(&self, function: &str, update: &FunctionConfigUpdate) -> () => UpdateFunctionConfiguration;
});

faulty!(AutoScalingApi, autoscaling, {
    fn describe_scalable_targets(&self, namespace: ScalableNamespace, resource_ids: &[String], next: Option<&str>) -> Page<ScalableTarget> => DescribeScalableTargets;
    fn register_scalable_target(&self, target: &ScalableTarget) -> () => RegisterScalableTarget;
    fn deregister_scalable_target(&self, resource_id: &str, dimension: ScalableDimension) -> () => DeregisterScalableTarget;
    fn describe_scaling_policies(&self, namespace: ScalableNamespace, resource_id: Option<&str>, next: Option<&str>) -> Page<ObservedScalingPolicy> => DescribeScalingPolicies;
    fn put_scaling_policy(&self, policy: &ScalingPolicy) -> () => PutScalingPolicy;
    fn delete_scaling_policy(&self, name: &str, resource_id: &str, dimension: ScalableDimension) -> () => DeleteScalingPolicy;
    fn list_tags_for_resource(&self, arn: &str) -> Tags => AasListTagsForResource;
});

faulty!(EventsApi, events, {
    fn list_rules(&self, prefix: Option<&str>, next: Option<&str>) -> Page<ObservedRule> => ListRules;
    fn put_rule(&self, rule: &Rule, tags: &Tags) -> String => PutRule;
    fn delete_rule(&self, name: &str) -> () => DeleteRule;
    fn list_targets_by_rule(&self, rule: &str, next: Option<&str>) -> Page<RuleTarget> => ListTargetsByRule;
    fn put_targets(&self, rule: &str, targets: &[RuleTarget]) -> () => PutTargets;
    fn remove_targets(&self, rule: &str, ids: &[String]) -> () => RemoveTargets;
    fn list_tags_for_resource(&self, arn: &str) -> Tags => EventsListTagsForResource;
    fn tag_resource(&self, arn: &str, tags: &Tags) -> () => EventsTagResource;
});

faulty!(DynamoDbApi, dynamodb, {
    fn describe_table(&self, name: &str) -> TableInfo => DescribeTable;
    fn acquire_lease(&self, table: &str, name: &str, holder: &str, now_ms: u64, expires_ms: u64) -> Option<u64> => AcquireLease;
    fn release_lease(&self, table: &str, name: &str, holder: &str) -> () => ReleaseLease;
});

faulty!(SnsApi, sns, {
    fn list_topics(&self, next: Option<&str>) -> Page<String> => ListTopics;
    fn create_topic(&self, name: &str, tags: &Tags) -> String => CreateTopic;
    fn list_subscriptions_by_topic(&self, topic_arn: &str, next: Option<&str>) -> Page<Subscription> => ListSubscriptionsByTopic;
    fn subscribe(&self, topic_arn: &str, protocol: &str, endpoint: &str) -> () => Subscribe;
    fn list_tags_for_resource(&self, arn: &str) -> Tags => SnsListTagsForResource;
    fn tag_resource(&self, arn: &str, tags: &Tags) -> () => SnsTagResource;
});

faulty!(TaggingApi, tagging, {
    fn get_resources(&self, arns: &[String], next: Option<&str>) -> Page<(String, Tags)> => GetResources;
});

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::clock::ManualClock;
    use crate::cloud::sim::SimAccount;
    use crate::model::SimSettings;

    fn account() -> (Arc<SimAccount>, Arc<FaultInjector>, Cloud, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::at_epoch());
        let sim = SimAccount::new(&SimSettings::default(), "us-east-1", clock.clone())
            .unwrap_or_else(|e| panic!("sim: {e}"));
        let faults = FaultInjector::new(SimFaults::default(), 42, clock.clone());
        let cloud = faults.wrap(sim.cloud());
        (sim, faults, cloud, clock)
    }

    fn alarm(name: &str) -> AlarmSpec {
        crate::cloud::sim::testkit_alarm(name)
    }

    #[tokio::test]
    async fn named_operations_always_fail_add_latency_and_never_reach_the_account() {
        let (sim, faults, cloud, clock) = account();
        faults.set(SimFaults {
            error_rate: 0.0,
            latency: Duration::from_millis(250),
            failing_operations: vec!["DescribeAlarms".into()],
        });
        let before = clock.now();
        let e = cloud.cloudwatch.describe_alarms(None, None).await.err();
        assert_eq!(
            e.map(|e| (e.kind, e.code)),
            Some((ErrorKind::Other, Some("InjectedFault".into())))
        );
        assert_eq!(
            clock.now().duration_since(before).ok(),
            Some(Duration::from_millis(250))
        );
        assert!(cloud.cloudwatch.put_metric_alarm(&alarm("x")).await.is_ok());
        assert_eq!(faults.injected().get(&Op::DescribeAlarms), Some(&1));
        let c = sim.counters();
        assert_eq!(
            c.calls(Op::DescribeAlarms),
            0,
            "a faulted call never reaches the account"
        );
        assert_eq!(c.calls(Op::PutMetricAlarm), 1);
    }

    #[tokio::test]
    async fn random_faults_follow_the_rate_and_are_transient() {
        let (sim, faults, cloud, _) = account();
        faults.set(SimFaults {
            error_rate: 1.0,
            ..SimFaults::default()
        });
        let e = cloud.cloudwatch.put_metric_alarm(&alarm("y")).await.err();
        assert_eq!(e.map(|e| e.kind), Some(ErrorKind::Transient));
        assert!(sim.with_state(|s| !s.alarms.contains_key("y")));
        faults.set(SimFaults {
            error_rate: 0.25,
            ..SimFaults::default()
        });
        let mut failures = 0;
        for _ in 0..4_000 {
            if cloud
                .dynamodb
                .describe_table("t")
                .await
                .is_err_and(|e| e.kind == ErrorKind::Transient)
            {
                failures += 1;
            }
        }
        assert!((800..1_200).contains(&failures), "{failures}");
    }

    #[tokio::test]
    async fn after_the_crash_point_no_write_reaches_the_account_but_reads_do() {
        let (sim, faults, cloud, _) = account();
        faults.crash_after_writes(Some(2));
        for name in ["a", "b", "c", "d"] {
            let _ = cloud.cloudwatch.put_metric_alarm(&alarm(name)).await;
        }
        assert!(cloud.cloudwatch.describe_alarms(None, None).await.is_ok());
        let names: Vec<String> = sim.with_state(|s| s.alarms.keys().cloned().collect());
        assert_eq!(names, ["a", "b"]);
        assert_eq!(faults.injected().get(&Op::PutMetricAlarm), Some(&2));
        faults.crash_after_writes(None);
        assert!(cloud.cloudwatch.put_metric_alarm(&alarm("e")).await.is_ok());
    }
}
