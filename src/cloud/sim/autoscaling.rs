//! `AutoScalingApi` on the simulated account: scalable targets and target-tracking policies.
//! Like Application Auto Scaling, a policy creates its own `TargetTracking-<resourceId>-AlarmHigh-
//! <uuid>` / `-AlarmLow-<uuid>` alarms (untagged, "DO NOT EDIT OR DELETE") and deletes them with
//! the policy; deregistering a target deletes its policies. The scaling itself is not simulated.

use async_trait::async_trait;

use crate::cloud::{AutoScalingApi, CloudResult, Op};
use crate::model::{
    AlarmMetric, AlarmSpec, AlarmState, Comparison, Dimension, MetricId, MetricStat, MissingData,
    ObservedScalingPolicy, Page, ScalableDimension, ScalableNamespace, ScalableTarget,
    ScalingPolicy,
};

use super::state::{AlarmRecord, PolicyRecord};
use super::{Cx, SimAccount, paging};

const MAX_LAMBDA_TARGETS: usize = 500;
const MAX_DYNAMODB_TARGETS: usize = 5_000;
const MAX_POLICIES_PER_TARGET: usize = 50;

fn key(resource_id: &str, dimension: ScalableDimension) -> String {
    format!("{resource_id}|{}", dimension.as_str())
}

/// Checks that the resource a target names exists and can be scaled on that dimension.
fn check_resource(cx: &Cx<'_>, resource_id: &str, dimension: ScalableDimension) -> CloudResult<()> {
    let bad = |why: &str| {
        Err(cx.invalid(format!(
            "Unsupported resource {resource_id} for dimension {}: {why}",
            dimension.as_str()
        )))
    };
    match dimension {
        ScalableDimension::LambdaProvisionedConcurrency => {
            let mut parts = resource_id.splitn(3, ':');
            let (Some("function"), Some(name), Some(qualifier)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return bad("expected function:NAME:QUALIFIER");
            };
            match cx.st.functions.get(name) {
                Some(f) if f.has_qualifier(qualifier) => Ok(()),
                _ => bad("function or qualifier not found"),
            }
        }
        _ => {
            let rest = resource_id.strip_prefix("table/").unwrap_or_default();
            let (table, index) = match rest.split_once("/index/") {
                Some((t, i)) => (t, Some(i)),
                None => (rest, None),
            };
            let is_index = matches!(
                dimension,
                ScalableDimension::IndexRead | ScalableDimension::IndexWrite
            );
            if table.is_empty() || is_index != index.is_some() {
                return bad("expected table/NAME or table/NAME/index/INDEX");
            }
            match cx.st.tables.get(table) {
                None => bad("table not found"),
                Some(t) if t.billing_mode != crate::model::BillingMode::Provisioned => {
                    bad("the table is not in PROVISIONED billing mode")
                }
                Some(t) if index.is_some_and(|i| !t.indexes.iter().any(|x| x == i)) => {
                    bad("index not found")
                }
                Some(_) => Ok(()),
            }
        }
    }
}

fn register(cx: &mut Cx<'_>, target: &ScalableTarget) -> CloudResult<()> {
    check_resource(cx, &target.resource_id, target.dimension)?;
    if target.min_capacity > target.max_capacity {
        return Err(cx.invalid("MinCapacity must be less than or equal to MaxCapacity"));
    }
    let existing = cx
        .st
        .scalable_targets
        .iter_mut()
        .find(|t| t.resource_id == target.resource_id && t.dimension == target.dimension);
    if let Some(t) = existing {
        *t = target.clone();
        return Ok(());
    }
    let ns = target.dimension.namespace();
    let in_ns = cx
        .st
        .scalable_targets
        .iter()
        .filter(|t| t.dimension.namespace() == ns)
        .count();
    let max = match ns {
        ScalableNamespace::Lambda => MAX_LAMBDA_TARGETS,
        ScalableNamespace::DynamoDb => MAX_DYNAMODB_TARGETS,
    };
    if in_ns >= max {
        return Err(cx.limit(format!(
            "at most {max} scalable targets in namespace {}",
            ns.as_str()
        )));
    }
    cx.st.scalable_targets.push(target.clone());
    cx.st
        .scalable_targets
        .sort_by_key(|t| key(&t.resource_id, t.dimension));
    Ok(())
}

fn delete_policy_at(cx: &mut Cx<'_>, index: usize) {
    let removed = cx.st.scaling_policies.remove(index);
    for a in removed.alarm_names {
        cx.st.alarms.remove(&a);
    }
}

fn deregister(cx: &mut Cx<'_>, resource_id: &str, dimension: ScalableDimension) -> CloudResult<()> {
    let Some(at) = cx
        .st
        .scalable_targets
        .iter()
        .position(|t| t.resource_id == resource_id && t.dimension == dimension)
    else {
        return Err(cx.not_found(format!(
            "No scalable target found for service namespace: {}, resource ID: {resource_id}, scalable dimension: {}",
            dimension.namespace().as_str(),
            dimension.as_str()
        )));
    };
    cx.st.scalable_targets.remove(at);
    while let Some(i) = cx
        .st
        .scaling_policies
        .iter()
        .position(|p| p.policy.resource_id == resource_id && p.policy.dimension == dimension)
    {
        delete_policy_at(cx, i);
    }
    Ok(())
}

/// The names AAS gives a new policy's alarms.
fn tracking_alarm_names(resource_id: &str, high_id: &str, low_id: &str) -> [String; 2] {
    [
        format!("TargetTracking-{resource_id}-AlarmHigh-{high_id}"),
        format!("TargetTracking-{resource_id}-AlarmLow-{low_id}"),
    ]
}

/// The two alarms target tracking keeps on a policy's metric, as (high, low) specs.
fn tracking_alarms(
    cx: &Cx<'_>,
    p: &ScalingPolicy,
    arn: &str,
    names: [String; 2],
) -> [AlarmSpec; 2] {
    let (metric, stat, high, low, high_periods) = match p.dimension {
        ScalableDimension::LambdaProvisionedConcurrency => {
            let mut parts = p.resource_id.splitn(3, ':').skip(1);
            let name = parts.next().unwrap_or_default();
            let qualifier = parts.next().unwrap_or_default();
            let metric = MetricId::new(
                "AWS/Lambda",
                "ProvisionedConcurrencyUtilization",
                vec![
                    Dimension::new("FunctionName", name),
                    Dimension::new("Resource", format!("{name}:{qualifier}")),
                ],
            );
            (metric, "Average", p.target_value, p.target_value * 0.9, 3)
        }
        dim => {
            let rest = p.resource_id.strip_prefix("table/").unwrap_or_default();
            let (table, index) = match rest.split_once("/index/") {
                Some((t, i)) => (t, Some(i)),
                None => (rest, None),
            };
            let read = matches!(
                dim,
                ScalableDimension::TableRead | ScalableDimension::IndexRead
            );
            let mut dims = vec![Dimension::new("TableName", table)];
            if let Some(i) = index {
                dims.push(Dimension::new("GlobalSecondaryIndexName", i));
            }
            let name = if read {
                "ConsumedReadCapacityUnits"
            } else {
                "ConsumedWriteCapacityUnits"
            };
            let capacity = cx.st.tables.get(table).map_or(0, |t| {
                if read {
                    t.read_capacity
                } else {
                    t.write_capacity
                }
            }) as f64;
            // Consumed units per minute at the target utilisation.
            let at_target = p.target_value / 100.0 * capacity * 60.0;
            let metric = MetricId::new("AWS/DynamoDB", name, dims);
            (metric, "Sum", at_target, at_target * 0.8, 2)
        }
    };
    let spec = |name: String, comparison, threshold, periods| AlarmSpec {
        name,
        description: format!("DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {arn}."),
        metric: AlarmMetric::Single(MetricStat {
            metric: metric.clone(),
            period_s: 60,
            stat: stat.to_string(),
        }),
        comparison,
        threshold,
        evaluation_periods: periods,
        datapoints_to_alarm: periods,
        treat_missing_data: MissingData::Missing,
        actions_enabled: true,
        alarm_actions: vec![arn.to_string()],
        ok_actions: Vec::new(),
        insufficient_data_actions: Vec::new(),
        tags: Default::default(),
    };
    let [high_name, low_name] = names;
    [
        spec(
            high_name,
            Comparison::GreaterThanThreshold,
            high,
            high_periods,
        ),
        spec(low_name, Comparison::LessThanThreshold, low, 15),
    ]
}

/// Writes an AAS-owned alarm, recreating it if someone deleted it (as AAS does on update).
fn upsert_alarm(cx: &mut Cx<'_>, spec: AlarmSpec, now: std::time::SystemTime) {
    match cx.st.alarms.get_mut(&spec.name) {
        Some(a) => {
            a.spec = spec;
            a.updated_at = now;
        }
        None => {
            let arn = cx.st.alarm_arn(&spec.name);
            cx.st.alarms.insert(
                spec.name.clone(),
                AlarmRecord {
                    arn,
                    spec,
                    state: AlarmState::InsufficientData,
                    updated_at: now,
                },
            );
        }
    }
}

fn check_policy(cx: &Cx<'_>, p: &ScalingPolicy) -> CloudResult<()> {
    if p.name.is_empty() || p.name.len() > 256 || p.name.contains(':') {
        return Err(cx.invalid(format!(
            "policy name {:?} must be 1-256 characters without ':'",
            p.name
        )));
    }
    if !cx
        .st
        .scalable_targets
        .iter()
        .any(|t| t.resource_id == p.resource_id && t.dimension == p.dimension)
    {
        return Err(cx.not_found(format!(
            "No scalable target registered for service namespace: {}, resource ID: {}, scalable dimension: {}",
            p.dimension.namespace().as_str(),
            p.resource_id,
            p.dimension.as_str()
        )));
    }
    let (metric, range) = match p.dimension {
        ScalableDimension::LambdaProvisionedConcurrency => {
            ("LambdaProvisionedConcurrencyUtilization", 0.1..=0.9)
        }
        ScalableDimension::TableRead | ScalableDimension::IndexRead => {
            ("DynamoDBReadCapacityUtilization", 20.0..=90.0)
        }
        ScalableDimension::TableWrite | ScalableDimension::IndexWrite => {
            ("DynamoDBWriteCapacityUtilization", 20.0..=90.0)
        }
    };
    if p.predefined_metric != metric {
        return Err(cx.invalid(format!(
            "predefined metric {} does not fit {}; expected {metric}",
            p.predefined_metric,
            p.dimension.as_str()
        )));
    }
    if !range.contains(&p.target_value) {
        return Err(cx.invalid(format!(
            "TargetValue {} is outside {}-{}",
            p.target_value,
            range.start(),
            range.end()
        )));
    }
    Ok(())
}

fn put_policy(cx: &mut Cx<'_>, p: &ScalingPolicy) -> CloudResult<()> {
    check_policy(cx, p)?;
    let same = |r: &PolicyRecord| {
        r.policy.name == p.name
            && r.policy.resource_id == p.resource_id
            && r.policy.dimension == p.dimension
    };
    let now = cx.now;
    if let Some(i) = cx.st.scaling_policies.iter().position(same) {
        // An update keeps the policy's alarms (and their names) and re-targets them.
        let rec = cx.st.scaling_policies[i].clone();
        let names = match rec.alarm_names.as_slice() {
            [high, low] => [high.clone(), low.clone()],
            // Someone rewrote the record: give it fresh alarms rather than guess.
            _ => tracking_alarm_names(&p.resource_id, &cx.st.new_uuid(), &cx.st.new_uuid()),
        };
        let specs = tracking_alarms(cx, p, &rec.arn, names);
        let alarm_names = specs.iter().map(|a| a.name.clone()).collect();
        for spec in specs {
            upsert_alarm(cx, spec, now);
        }
        cx.st.scaling_policies[i].policy = p.clone();
        cx.st.scaling_policies[i].alarm_names = alarm_names;
        return Ok(());
    }
    let on_target = cx
        .st
        .scaling_policies
        .iter()
        .filter(|r| r.policy.resource_id == p.resource_id && r.policy.dimension == p.dimension)
        .count();
    if on_target >= MAX_POLICIES_PER_TARGET {
        return Err(cx.limit(format!(
            "at most {MAX_POLICIES_PER_TARGET} policies per scalable target"
        )));
    }
    let policy_id = cx.st.new_uuid();
    let arn = format!(
        "arn:aws:autoscaling:{}:{}:scalingPolicy:{policy_id}:resource/{}/{}:policyName/{}",
        cx.st.region,
        cx.st.account_id,
        p.dimension.namespace().as_str(),
        p.resource_id,
        p.name
    );
    let (hi, lo) = (cx.st.new_uuid(), cx.st.new_uuid());
    let specs = tracking_alarms(cx, p, &arn, tracking_alarm_names(&p.resource_id, &hi, &lo));
    let mut alarm_names = Vec::new();
    for spec in specs {
        alarm_names.push(spec.name.clone());
        upsert_alarm(cx, spec, now);
    }
    cx.st.scaling_policies.push(PolicyRecord {
        arn,
        policy: p.clone(),
        alarm_names,
    });
    cx.st.scaling_policies.sort_by_key(|r| {
        format!(
            "{}|{}",
            key(&r.policy.resource_id, r.policy.dimension),
            r.policy.name
        )
    });
    Ok(())
}

#[async_trait]
impl AutoScalingApi for SimAccount {
    async fn describe_scalable_targets(
        &self,
        namespace: ScalableNamespace,
        resource_ids: &[String],
        next: Option<&str>,
    ) -> CloudResult<Page<ScalableTarget>> {
        self.call(Op::DescribeScalableTargets, |cx| {
            let items = cx
                .st
                .scalable_targets
                .iter()
                .filter(|t| t.dimension.namespace() == namespace)
                .filter(|t| resource_ids.is_empty() || resource_ids.contains(&t.resource_id))
                .map(|t| (key(&t.resource_id, t.dimension), t.clone()));
            paging::page(cx.op, items, next, paging::DESCRIBE_SCALABLE_TARGETS)
        })
        .await
    }

    async fn register_scalable_target(&self, target: &ScalableTarget) -> CloudResult<()> {
        self.call(Op::RegisterScalableTarget, |cx| register(cx, target))
            .await
    }

    async fn deregister_scalable_target(
        &self,
        resource_id: &str,
        dimension: ScalableDimension,
    ) -> CloudResult<()> {
        self.call(Op::DeregisterScalableTarget, |cx| {
            deregister(cx, resource_id, dimension)
        })
        .await
    }

    async fn describe_scaling_policies(
        &self,
        namespace: ScalableNamespace,
        resource_id: Option<&str>,
        next: Option<&str>,
    ) -> CloudResult<Page<ObservedScalingPolicy>> {
        self.call(Op::DescribeScalingPolicies, |cx| {
            let items = cx
                .st
                .scaling_policies
                .iter()
                .filter(|r| r.policy.dimension.namespace() == namespace)
                .filter(|r| resource_id.is_none_or(|id| r.policy.resource_id == id))
                .map(|r| {
                    let k = format!(
                        "{}|{}",
                        key(&r.policy.resource_id, r.policy.dimension),
                        r.policy.name
                    );
                    let observed = ObservedScalingPolicy {
                        arn: r.arn.clone(),
                        policy: r.policy.clone(),
                        alarm_names: r.alarm_names.clone(),
                    };
                    (k, observed)
                });
            paging::page(cx.op, items, next, paging::DESCRIBE_SCALING_POLICIES)
        })
        .await
    }

    async fn put_scaling_policy(&self, policy: &ScalingPolicy) -> CloudResult<()> {
        self.call(Op::PutScalingPolicy, |cx| put_policy(cx, policy))
            .await
    }

    async fn delete_scaling_policy(
        &self,
        name: &str,
        resource_id: &str,
        dimension: ScalableDimension,
    ) -> CloudResult<()> {
        self.call(Op::DeleteScalingPolicy, |cx| {
            let Some(i) = cx.st.scaling_policies.iter().position(|r| {
                r.policy.name == name && r.policy.resource_id == resource_id && r.policy.dimension == dimension
            }) else {
                return Err(cx.not_found(format!("No scaling policy found for service namespace: {}, resource ID: {resource_id}, scalable dimension: {}, policy name: {name}", dimension.namespace().as_str(), dimension.as_str())));
            };
            delete_policy_at(cx, i);
            Ok(())
        })
        .await
    }
}
