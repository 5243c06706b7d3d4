//! Apply: execute a plan, phase by phase. Within a phase, changes to different resources run
//! concurrently (bounded); changes that touch the same resource (the same function, alarm,
//! rule or scalable target) run one after another in plan order, never at once; each change's
//! writes run in order. A failed change is recorded and the others carry on. Alarm deletions
//! in one phase are batched into DeleteAlarms calls of up to 100 names.
//!
//! Shutdown: once `cancel` fires, no new change starts; changes already running finish.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::cloud::{Cloud, CloudError, CloudResult, Op};
use crate::model::{
    Action, Change, Phase, Plan, ResourceKey, ResourceKind, TopicArn, VersionWeight, Write,
};

use super::error_chain;
use super::governor::Governor;
use super::observe::tag_cache::TagCache;
use super::status::Heartbeat;

/// DeleteAlarms takes at most this many names per call.
pub const DELETE_ALARMS_BATCH: usize = 100;
/// EventBridge PutTargets takes at most this many targets per call.
pub const PUT_TARGETS_BATCH: usize = 10;
/// How long a change waits for provisioned concurrency to become READY before giving up (the
/// old strategy then stays, and the next cycle tries again).
pub const PROVISIONED_READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);
/// How often it looks while waiting.
pub const PROVISIONED_POLL: std::time::Duration = std::time::Duration::from_secs(15);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Applied,
    Failed {
        error: String,
    },
    /// Not started because shutdown began.
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeOutcome {
    pub kind: ResourceKind,
    pub id: String,
    pub action: Action,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    pub outcomes: Vec<ChangeOutcome>,
}

impl ApplyReport {
    pub fn applied(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.outcome == Outcome::Applied)
            .count()
    }
    pub fn failed(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o.outcome, Outcome::Failed { .. }))
            .count()
    }
    pub fn skipped(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.outcome == Outcome::Skipped)
            .count()
    }
}

/// Executes plans against one account.
#[derive(Debug)]
pub struct Executor {
    cloud: Cloud,
    gov: Governor,
    concurrency: usize,
    heartbeat: Heartbeat,
    tags: Arc<TagCache>,
    /// ARNs of topics created during this apply, for subscriptions planned before they existed.
    created_topics: Mutex<BTreeMap<String, String>>,
    gate: Option<WriteGate>,
}

/// Whether writes may go ahead now (the leader lease is held).
#[derive(Clone)]
pub struct WriteGate(pub Arc<dyn Fn() -> bool + Send + Sync>);

impl std::fmt::Debug for WriteGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteGate")
    }
}

fn outcome_of(change: &Change, result: &CloudResult<()>) -> ChangeOutcome {
    ChangeOutcome {
        kind: change.kind,
        id: change.id.clone(),
        action: change.action,
        outcome: match result {
            Ok(()) => Outcome::Applied,
            Err(e) => Outcome::Failed {
                error: error_chain(e),
            },
        },
    }
}

impl Executor {
    pub fn new(
        cloud: Cloud,
        gov: Governor,
        concurrency: usize,
        heartbeat: Heartbeat,
        tags: Arc<TagCache>,
    ) -> Self {
        Self {
            cloud,
            gov,
            concurrency: concurrency.max(1),
            heartbeat,
            tags,
            created_topics: Mutex::new(BTreeMap::new()),
            gate: None,
        }
    }

    pub fn set_gate(&mut self, gate: WriteGate) {
        self.gate = Some(gate);
    }

    /// `Err` once the gate is shut: the write is not made (the error names the lease, the
    /// precondition that failed).
    fn gate_open(&self) -> CloudResult<()> {
        match &self.gate {
            Some(gate) if !(gate.0)() => Err(CloudError::new(
                crate::cloud::ErrorKind::Other,
                Op::AcquireLease,
                "the leader lease is not held: this process writes nothing (another replica may be the writer)",
            )
            .with_code("LeaseLost")),
            _ => Ok(()),
        }
    }

    pub async fn apply(&self, plan: &Plan, cancel: &CancellationToken) -> ApplyReport {
        let mut report = ApplyReport::default();
        let mut phases: BTreeMap<Phase, Vec<&Change>> = BTreeMap::new();
        for change in &plan.changes {
            phases.entry(change.phase).or_default().push(change);
        }
        for (_, changes) in phases {
            let (deletes, others): (Vec<&Change>, Vec<&Change>) = changes.into_iter().partition(|c| {
                matches!(c.writes.as_slice(), [Write::DeleteAlarms { names }] if names.len() == 1)
            });
            let groups = by_resource(others);
            let outcomes: Vec<Vec<ChangeOutcome>> = futures::stream::iter(groups)
                .map(|group| async move {
                    let mut outcomes = Vec::with_capacity(group.len());
                    for change in group {
                        if cancel.is_cancelled() {
                            outcomes.push(skipped(change));
                            continue;
                        }
                        let result = self.run_change(change).await;
                        self.record(change, &result);
                        outcomes.push(outcome_of(change, &result));
                    }
                    outcomes
                })
                .buffer_unordered(self.concurrency)
                .collect()
                .await;
            let mut outcomes: Vec<ChangeOutcome> = outcomes.into_iter().flatten().collect();
            for batch in deletes.chunks(DELETE_ALARMS_BATCH) {
                if cancel.is_cancelled() {
                    outcomes.extend(batch.iter().map(|c| skipped(c)));
                    continue;
                }
                let names: Vec<String> = batch.iter().map(|c| c.id.clone()).collect();
                let cw = &self.cloud.cloudwatch;
                let result = match self.gate_open() {
                    Ok(()) => {
                        self.gov
                            .call(Op::DeleteAlarms, || cw.delete_alarms(&names))
                            .await
                    }
                    Err(e) => Err(e),
                };
                for change in batch {
                    let r = result.as_ref().map(|_| ()).map_err(clone_error);
                    self.record(change, &r);
                    outcomes.push(outcome_of(change, &r));
                }
            }
            outcomes.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
            report.outcomes.extend(outcomes);
        }
        report
    }

    pub fn set_heartbeat(&mut self, heartbeat: Heartbeat) {
        self.heartbeat = heartbeat;
    }

    pub fn set_concurrency(&mut self, concurrency: usize) {
        self.concurrency = concurrency.max(1);
    }

    fn record(&self, change: &Change, result: &CloudResult<()>) {
        self.heartbeat.beat(self.gov.clock().now());
        let labels = [change.kind.as_str(), change.action.as_str()];
        let t = self.gov.telemetry();
        match result {
            Ok(()) => {
                t.changes_applied.with_label_values(&labels).inc();
                tracing::info!(kind = %change.kind, id = %change.id, action = change.action.as_str(), reason = %change.reason, "change applied");
            }
            Err(e) => {
                t.changes_failed.with_label_values(&labels).inc();
                tracing::warn!(kind = %change.kind, id = %change.id, action = change.action.as_str(), error_kind = %e.kind, error = %error_chain(e), "change failed");
            }
        }
    }

    async fn run_change(&self, change: &Change) -> CloudResult<()> {
        for write in &change.writes {
            self.gate_open()?;
            self.run_write(write).await?;
            // Remember the tags just written, so the next observation need not read them back.
            match write {
                Write::PutMetricAlarm { alarm } if change.action == Action::Create => self
                    .tags
                    .seed_created(&alarm.name, &alarm.tags, self.gov.clock().now()),
                Write::TagAlarm { arn, tags } => self.tags.merge_tagged(arn, tags),
                _ => {}
            }
        }
        Ok(())
    }

    /// The ARN a write refers to; a topic created earlier in this apply is looked up.
    fn topic_arn(&self, arn: &TopicArn, op: Op) -> CloudResult<String> {
        match arn {
            TopicArn::Known(arn) => Ok(arn.clone()),
            TopicArn::CreatedBy(name) => self
                .created_topics
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(name)
                .cloned()
                .ok_or_else(|| {
                    CloudError::new(
                        crate::cloud::ErrorKind::Other,
                        op,
                        format!(
                            "topic {name} was to be created earlier in this apply, and was not"
                        ),
                    )
                }),
        }
    }

    /// Deleting what is already gone is success: a teardown a crash interrupted, or a delete
    /// planned for a resource trimtab does not read back (a provisioned-concurrency config),
    /// must not fail every cycle.
    async fn run_write(&self, write: &Write) -> CloudResult<()> {
        match self.run_write_once(write).await {
            Err(e) if e.kind == crate::cloud::ErrorKind::NotFound && is_removal(write) => {
                tracing::debug!(operation = e.op.name(), "already gone");
                Ok(())
            }
            other => other,
        }
    }

    async fn await_provisioned(&self, function: &str, qualifier: &str) -> CloudResult<()> {
        use crate::cloud::ErrorKind;
        use crate::model::ProvisionedStatus;
        let clock = self.gov.clock();
        let deadline = clock.now() + PROVISIONED_READY_TIMEOUT;
        let lambda = &self.cloud.lambda;
        loop {
            let status = match self
                .gov
                .call(Op::GetProvisionedConcurrencyConfig, || {
                    lambda.get_provisioned_concurrency_config(function, qualifier)
                })
                .await
            {
                Ok(pc) => Some(pc),
                // Application Auto Scaling may not have configured it yet.
                Err(e) if e.kind == ErrorKind::NotFound => None,
                Err(e) => return Err(e),
            };
            match status {
                Some(pc) if pc.status == ProvisionedStatus::Ready => return Ok(()),
                Some(pc) if pc.status == ProvisionedStatus::Failed => {
                    return Err(CloudError::new(
                        ErrorKind::Other,
                        Op::GetProvisionedConcurrencyConfig,
                        format!(
                            "provisioned concurrency on {function}:{qualifier} FAILED ({}); keeping the old cold-start strategy",
                            pc.status_reason.unwrap_or_default()
                        ),
                    ));
                }
                _ => {}
            }
            if clock.now() >= deadline {
                return Err(CloudError::new(
                    ErrorKind::Transient,
                    Op::GetProvisionedConcurrencyConfig,
                    format!(
                        "provisioned concurrency on {function}:{qualifier} not READY after {}s; keeping the old cold-start strategy until next cycle",
                        PROVISIONED_READY_TIMEOUT.as_secs()
                    ),
                ));
            }
            clock.sleep(PROVISIONED_POLL).await;
        }
    }

    async fn run_write_once(&self, write: &Write) -> CloudResult<()> {
        let g = &self.gov;
        let (cw, lambda, aas, events, sns) = (
            &self.cloud.cloudwatch,
            &self.cloud.lambda,
            &self.cloud.autoscaling,
            &self.cloud.events,
            &self.cloud.sns,
        );
        match write {
            Write::PutMetricAlarm { alarm } => {
                g.call(Op::PutMetricAlarm, || cw.put_metric_alarm(alarm))
                    .await
            }
            Write::TagAlarm { arn, tags } => {
                g.call(Op::CwTagResource, || cw.tag_resource(arn, tags))
                    .await
            }
            Write::UntagAlarm { arn, keys } => {
                g.call(Op::CwUntagResource, || cw.untag_resource(arn, keys))
                    .await
            }
            Write::DeleteAlarms { names } => {
                for chunk in names.chunks(DELETE_ALARMS_BATCH) {
                    g.call(Op::DeleteAlarms, || cw.delete_alarms(chunk)).await?;
                }
                Ok(())
            }
            Write::CreateTopic { name, tags } => {
                let arn = g
                    .call(Op::CreateTopic, || sns.create_topic(name, tags))
                    .await?;
                self.created_topics
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(name.clone(), arn);
                Ok(())
            }
            Write::Subscribe {
                topic_arn,
                protocol,
                endpoint,
            } => {
                let arn = self.topic_arn(topic_arn, Op::Subscribe)?;
                g.call(Op::Subscribe, || sns.subscribe(&arn, protocol, endpoint))
                    .await
            }
            Write::PutFunctionConcurrency { function, reserved } => {
                g.call(Op::PutFunctionConcurrency, || {
                    lambda.put_function_concurrency(function, *reserved)
                })
                .await
            }
            Write::DeleteFunctionConcurrency { function } => {
                g.call(Op::DeleteFunctionConcurrency, || {
                    lambda.delete_function_concurrency(function)
                })
                .await
            }
            Write::TagFunction { arn, tags } => {
                g.call(Op::LambdaTagResource, || lambda.tag_resource(arn, tags))
                    .await
            }
            Write::UntagFunction { arn, keys } => {
                g.call(Op::LambdaUntagResource, || lambda.untag_resource(arn, keys))
                    .await
            }
            Write::PublishAndCreateAlias { function, alias } => {
                let version = g
                    .call(Op::PublishVersion, || {
                        lambda.publish_version(function, None)
                    })
                    .await?;
                g.call(Op::CreateAlias, || {
                    lambda.create_alias(function, alias, &version)
                })
                .await
                .map(|_| ())
            }
            Write::PutProvisionedConcurrency {
                function,
                qualifier,
                requested,
            } => g
                .call(Op::PutProvisionedConcurrencyConfig, || {
                    lambda.put_provisioned_concurrency_config(function, qualifier, *requested)
                })
                .await
                .map(|_| ()),
            Write::AwaitProvisionedConcurrency {
                function,
                qualifier,
            } => self.await_provisioned(function, qualifier).await,
            Write::DeleteProvisionedConcurrency {
                function,
                qualifier,
            } => {
                g.call(Op::DeleteProvisionedConcurrencyConfig, || {
                    lambda.delete_provisioned_concurrency_config(function, qualifier)
                })
                .await
            }
            Write::RegisterScalableTarget { target } => {
                g.call(Op::RegisterScalableTarget, || {
                    aas.register_scalable_target(target)
                })
                .await
            }
            Write::DeregisterScalableTarget {
                resource_id,
                dimension,
            } => {
                g.call(Op::DeregisterScalableTarget, || {
                    aas.deregister_scalable_target(resource_id, *dimension)
                })
                .await
            }
            Write::PutScalingPolicy { policy } => {
                g.call(Op::PutScalingPolicy, || aas.put_scaling_policy(policy))
                    .await
            }
            Write::DeleteScalingPolicy {
                name,
                resource_id,
                dimension,
            } => {
                g.call(Op::DeleteScalingPolicy, || {
                    aas.delete_scaling_policy(name, resource_id, *dimension)
                })
                .await
            }
            Write::PutRule { rule, tags } => g
                .call(Op::PutRule, || events.put_rule(rule, tags))
                .await
                .map(|_| ()),
            Write::DeleteRule { name } => g.call(Op::DeleteRule, || events.delete_rule(name)).await,
            Write::PutTargets { rule, targets } => {
                for chunk in targets.chunks(PUT_TARGETS_BATCH) {
                    g.call(Op::PutTargets, || events.put_targets(rule, chunk))
                        .await?;
                }
                Ok(())
            }
            Write::RemoveTargets { rule, ids } => {
                for chunk in ids.chunks(PUT_TARGETS_BATCH) {
                    g.call(Op::RemoveTargets, || events.remove_targets(rule, chunk))
                        .await?;
                }
                Ok(())
            }
            Write::AddPermission {
                function,
                permission,
            } => {
                g.call(Op::AddPermission, || {
                    lambda.add_permission(function, permission)
                })
                .await
            }
            Write::RemovePermission {
                function,
                statement_id,
                qualifier,
            } => {
                g.call(Op::RemovePermission, || {
                    lambda.remove_permission(function, statement_id, qualifier.as_deref())
                })
                .await
            }
            Write::UpdateFunctionConfiguration { function, update } => {
                g.call(Op::UpdateFunctionConfiguration, || {
                    lambda.update_function_configuration(function, update)
                })
                .await
            }
            Write::PublishAndRoute {
                function,
                alias,
                primary,
                weight,
                revision_id,
            } => {
                let version = g
                    .call(Op::PublishVersion, || {
                        lambda.publish_version(function, revision_id.as_deref())
                    })
                    .await?;
                if version == *primary {
                    return Err(CloudError::new(
                        crate::cloud::ErrorKind::Precondition,
                        Op::PublishVersion,
                        format!(
                            "publishing {function} gave version {version}, the one {alias} already serves: $LATEST did not change"
                        ),
                    ));
                }
                let result = match weight {
                    Some(weight) => {
                        let routing = VersionWeight {
                            version,
                            weight: *weight,
                        };
                        g.call(Op::UpdateAlias, || {
                            lambda.update_alias(function, alias, primary, Some(&routing))
                        })
                        .await
                    }
                    None => {
                        g.call(Op::UpdateAlias, || {
                            lambda.update_alias(function, alias, &version, None)
                        })
                        .await
                    }
                };
                result.map(|_| ())
            }
            Write::RouteAlias {
                function,
                alias,
                version,
                routing,
            } => g
                .call(Op::UpdateAlias, || {
                    lambda.update_alias(function, alias, version, routing.as_ref())
                })
                .await
                .map(|_| ()),
            Write::PutDashboard { name, body } => {
                g.call(Op::PutDashboard, || cw.put_dashboard(name, body))
                    .await
            }
            Write::DeleteDashboard { name } => {
                let names = [name.clone()];
                g.call(Op::DeleteDashboards, || cw.delete_dashboards(&names))
                    .await
            }
            Write::PutMetricData { namespace, data } => {
                // CloudWatch takes at most 1,000 datapoints a call.
                for chunk in data.chunks(1_000) {
                    g.call(Op::PutMetricData, || cw.put_metric_data(namespace, chunk))
                        .await?;
                }
                Ok(())
            }
        }
    }
}

fn is_removal(write: &Write) -> bool {
    matches!(
        write,
        Write::DeleteAlarms { .. }
            | Write::UntagAlarm { .. }
            | Write::DeleteFunctionConcurrency { .. }
            | Write::UntagFunction { .. }
            | Write::DeleteProvisionedConcurrency { .. }
            | Write::DeregisterScalableTarget { .. }
            | Write::DeleteScalingPolicy { .. }
            | Write::DeleteRule { .. }
            | Write::RemoveTargets { .. }
            | Write::RemovePermission { .. }
            | Write::DeleteDashboard { .. }
    )
}

/// Splits a phase's changes into groups that share no resource, each group in plan order. Two
/// changes touching one resource (directly, or through a third that touches both) end up in
/// the same group, so they never run at once; groups run concurrently.
fn by_resource(changes: Vec<&Change>) -> Vec<Vec<&Change>> {
    // Union-find over changes, joined through the resources their writes touch.
    let mut parent: Vec<usize> = (0..changes.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut first_toucher: HashMap<ResourceKey, usize> = HashMap::new();
    for (i, change) in changes.iter().enumerate() {
        for write in &change.writes {
            match first_toucher.get(&write.resource()) {
                Some(&j) => {
                    let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                    parent[a.max(b)] = a.min(b);
                }
                None => {
                    first_toucher.insert(write.resource(), i);
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<&Change>> = BTreeMap::new();
    for (i, change) in changes.into_iter().enumerate() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(change);
    }
    groups.into_values().collect()
}

fn skipped(change: &Change) -> ChangeOutcome {
    ChangeOutcome {
        kind: change.kind,
        id: change.id.clone(),
        action: change.action,
        outcome: Outcome::Skipped,
    }
}

/// A batch's one error, reported against each change in the batch.
fn clone_error(e: &CloudError) -> CloudError {
    CloudError {
        kind: e.kind,
        op: e.op,
        code: e.code.clone(),
        message: format!("{} (in a batch of deletions)", e.message),
        retry_after: e.retry_after,
        source: None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::clock::{Clock, TokioClock};
    use crate::cloud::faults::FaultInjector;
    use crate::cloud::sim::SimAccount;
    use crate::model::{SimFaults, SimFunction, SimSettings, Tags};
    use crate::telemetry::Telemetry;

    fn change(kind: ResourceKind, id: &str, phase: Phase, writes: Vec<Write>) -> Change {
        Change {
            kind,
            id: id.into(),
            action: Action::Update,
            diffs: Vec::new(),
            reason: "test".into(),
            phase,
            writes,
        }
    }

    fn tag(function: &str) -> Write {
        Write::TagFunction {
            arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function}"),
            tags: Tags::from([("k".to_string(), function.to_string())]),
        }
    }

    fn concurrency(function: &str, n: u32) -> Write {
        Write::PutFunctionConcurrency {
            function: function.into(),
            reserved: n,
        }
    }

    #[test]
    fn changes_sharing_a_resource_are_grouped_in_plan_order() {
        let a1 = change(
            ResourceKind::FunctionConfig,
            "a",
            Phase::Build,
            vec![tag("a")],
        );
        let b = change(
            ResourceKind::FunctionConfig,
            "b",
            Phase::Build,
            vec![tag("b")],
        );
        let a2 = change(
            ResourceKind::ReservedConcurrency,
            "a",
            Phase::Build,
            vec![concurrency("a", 5)],
        );
        // c touches b's function and d's rule: b, c and d are one group.
        let c = change(
            ResourceKind::Permission,
            "c",
            Phase::Build,
            vec![concurrency("b", 1), Write::DeleteRule { name: "r".into() }],
        );
        let d = change(
            ResourceKind::Rule,
            "r",
            Phase::Build,
            vec![Write::DeleteRule { name: "r".into() }],
        );
        let groups = by_resource(vec![&a1, &b, &a2, &c, &d]);
        let ids: Vec<Vec<(&str, ResourceKind)>> = groups
            .iter()
            .map(|g| g.iter().map(|c| (c.id.as_str(), c.kind)).collect())
            .collect();
        assert_eq!(
            ids,
            vec![
                vec![
                    ("a", ResourceKind::FunctionConfig),
                    ("a", ResourceKind::ReservedConcurrency)
                ],
                vec![
                    ("b", ResourceKind::FunctionConfig),
                    ("c", ResourceKind::Permission),
                    ("r", ResourceKind::Rule)
                ],
            ]
        );
    }

    /// Every call takes 1 virtual second (the fault injector's latency): two changes to one
    /// function take 2 s, two changes to two functions 1 s.
    #[tokio::test(start_paused = true)]
    async fn one_resource_at_a_time_different_resources_at_once() {
        let clock: Arc<dyn Clock> = Arc::new(TokioClock::new(std::time::UNIX_EPOCH));
        let function = |name: &str| SimFunction {
            name: name.into(),
            memory_mb: 128,
            timeout_s: 3,
            architecture: Default::default(),
            tags: Tags::new(),
            peak_rps: 0.0,
            cpu_ms: 10.0,
            io_ms: 0.0,
            parallelism: 1.0,
            error_rate: 0.0,
            used_memory_mb: 64,
            ..SimFunction::default()
        };
        let settings = SimSettings {
            functions: vec![function("a"), function("b")],
            ..SimSettings::default()
        };
        let sim = SimAccount::new(&settings, "us-east-1", clock.clone())
            .unwrap_or_else(|e| panic!("{e}"));
        sim.set_quota_enforcement(false);
        let faults = FaultInjector::new(
            SimFaults {
                latency: Duration::from_secs(1),
                ..SimFaults::default()
            },
            1,
            clock.clone(),
        );
        let telemetry = Telemetry::new().unwrap_or_else(|e| panic!("{e}"));
        let gov = Governor::new(
            clock.clone(),
            telemetry,
            // No rate limit worth mentioning: only the resource rule orders the calls.
            crate::cloud::ops::buckets()
                .into_iter()
                .map(|b| (b.to_string(), 1000.0))
                .collect(),
            Default::default(),
        );
        let executor = Executor::new(
            faults.wrap(sim.cloud()),
            gov,
            8,
            Heartbeat::default(),
            Arc::new(TagCache::default()),
        );
        let run = |changes: Vec<Change>| {
            let (executor, clock) = (&executor, clock.clone());
            async move {
                let start = clock.now();
                let plan = Plan {
                    changes,
                    ..Plan::default()
                };
                let report = executor.apply(&plan, &CancellationToken::new()).await;
                assert_eq!(report.failed(), 0, "{report:?}");
                clock.now().duration_since(start).unwrap_or_default()
            }
        };
        let same = run(vec![
            change(
                ResourceKind::ReservedConcurrency,
                "a",
                Phase::Build,
                vec![concurrency("a", 5)],
            ),
            change(
                ResourceKind::FunctionConfig,
                "a",
                Phase::Build,
                vec![tag("a")],
            ),
        ])
        .await;
        let different = run(vec![
            change(
                ResourceKind::ReservedConcurrency,
                "a",
                Phase::Build,
                vec![concurrency("a", 6)],
            ),
            change(
                ResourceKind::ReservedConcurrency,
                "b",
                Phase::Build,
                vec![concurrency("b", 6)],
            ),
        ])
        .await;
        assert_eq!(same, Duration::from_secs(2));
        assert_eq!(different, Duration::from_secs(1));
    }
}
