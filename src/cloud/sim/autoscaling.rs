//! `AutoScalingApi` on the simulated account: scalable targets and target-tracking policies.
//! Like Application Auto Scaling, a policy creates its own `TargetTracking-<resourceId>-AlarmHigh-
//! <uuid>` / `-AlarmLow-<uuid>` alarms (untagged, "DO NOT EDIT OR DELETE") and deletes them with
//! the policy; deregistering a target deletes its policies. The scaling itself is not simulated.

use async_trait::async_trait;

use crate::cloud::{AutoScalingApi, CloudResult, Op};
use crate::model::Tags;
use crate::model::{
    ObservedScalingPolicy, Page, ScalableDimension, ScalableNamespace, ScalableTarget,
    ScalingPolicy,
};

use super::state::PolicyRecord;
use super::tracking::{tracking_alarm_names, tracking_alarms, upsert_alarm};
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
        // As AWS: tags apply when the target is new; an update keeps the tags it has.
        t.min_capacity = target.min_capacity;
        t.max_capacity = target.max_capacity;
        return scale_into_range(cx, target);
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
    let mut created = target.clone();
    let id = cx.st.new_uuid().replace('-', "");
    created.arn = Some(format!(
        "arn:aws:application-autoscaling:{}:{}:scalable-target/{id}",
        cx.st.region, cx.st.account_id
    ));
    cx.st.scalable_targets.push(created);
    cx.st
        .scalable_targets
        .sort_by_key(|t| key(&t.resource_id, t.dimension));
    scale_into_range(cx, target)
}

/// Like AWS: once a function alias is a scalable target, Application Auto Scaling keeps its
/// provisioned concurrency within [min, max], configuring it (at min) if there was none.
/// Deregistering leaves the configuration in place, as AWS does, which is why trimtab deletes
/// it explicitly when it tears provisioned concurrency down.
fn scale_into_range(cx: &mut Cx<'_>, target: &ScalableTarget) -> CloudResult<()> {
    if target.dimension != ScalableDimension::LambdaProvisionedConcurrency {
        return Ok(());
    }
    let Some((name, qualifier)) = target
        .resource_id
        .strip_prefix("function:")
        .and_then(|r| r.split_once(':'))
    else {
        return Ok(());
    };
    let current = cx
        .st
        .functions
        .get(name)
        .and_then(|f| f.provisioned.get(qualifier))
        .map(|pc| pc.requested);
    let wanted = current
        .unwrap_or(target.min_capacity)
        .clamp(target.min_capacity, target.max_capacity)
        .max(1);
    if current != Some(wanted) {
        super::provisioned::put(cx, name, qualifier, wanted)?;
    }
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
                // DescribeScalableTargets does not return tags.
                .map(|t| {
                    let mut t = t.clone();
                    t.tags.clear();
                    (key(&t.resource_id, t.dimension), t)
                });
            paging::page(cx.op, items, next, paging::DESCRIBE_SCALABLE_TARGETS)
        })
        .await
    }

    async fn list_tags_for_resource(&self, arn: &str) -> CloudResult<Tags> {
        self.call(Op::AasListTagsForResource, |cx| {
            cx.st
                .scalable_targets
                .iter()
                .find(|t| t.arn.as_deref() == Some(arn))
                .map(|t| t.tags.clone())
                .ok_or_else(|| cx.not_found(format!("No scalable target found for {arn}")))
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

#[cfg(test)]
mod tests {
    use super::super::testkit::{account, sim_function};
    use crate::cloud::ErrorKind;
    use crate::model::{ScalableDimension, ScalableNamespace, ScalableTarget, ScalingPolicy};

    fn lambda_target(alias: &str) -> ScalableTarget {
        ScalableTarget {
            resource_id: format!("function:api:{alias}"),
            dimension: ScalableDimension::LambdaProvisionedConcurrency,
            min_capacity: 1,
            max_capacity: 20,
            tags: Default::default(),
            arn: None,
        }
    }

    fn policy(name: &str, target: f64) -> ScalingPolicy {
        ScalingPolicy {
            name: name.into(),
            resource_id: "function:api:live".into(),
            dimension: ScalableDimension::LambdaProvisionedConcurrency,
            predefined_metric: "LambdaProvisionedConcurrencyUtilization".into(),
            target_value: target,
            scale_in_cooldown_s: None,
            scale_out_cooldown_s: None,
            disable_scale_in: false,
        }
    }

    #[tokio::test]
    async fn target_tracking_policies_own_their_alarms_like_aws() {
        let (acct, _clock) = account(vec![sim_function("api", 512)]);
        let cloud = acct.cloud();
        let v = cloud
            .lambda
            .publish_version("api", None)
            .await
            .unwrap_or_default();
        assert!(cloud.lambda.create_alias("api", "live", &v).await.is_ok());
        let aas = cloud.autoscaling;
        let e = aas.put_scaling_policy(&policy("tt", 0.7)).await.err();
        assert_eq!(
            e.map(|e| e.kind),
            Some(ErrorKind::NotFound),
            "no target registered yet"
        );
        assert!(
            aas.register_scalable_target(&lambda_target("live"))
                .await
                .is_ok()
        );
        assert!(aas.put_scaling_policy(&policy("tt", 0.7)).await.is_ok());

        let observed = aas
            .describe_scaling_policies(ScalableNamespace::Lambda, Some("function:api:live"), None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let p = &observed.items[0];
        assert!(
            p.arn
                .starts_with("arn:aws:autoscaling:ap-south-1:123456789012:scalingPolicy:")
        );
        assert_eq!(p.alarm_names.len(), 2);
        assert!(p.alarm_names[0].starts_with("TargetTracking-function:api:live-AlarmHigh-"));
        assert!(p.alarm_names[1].starts_with("TargetTracking-function:api:live-AlarmLow-"));
        let alarms = cloud
            .cloudwatch
            .describe_alarms(Some("TargetTracking-"), None)
            .await;
        let alarms = alarms.unwrap_or_else(|e| panic!("{e}")).items;
        assert_eq!(alarms.len(), 2);
        assert!(acct.with_state(|s| {
            p.alarm_names
                .iter()
                .all(|n| s.alarms[n].spec.tags.is_empty())
        }));
        assert!(
            alarms
                .iter()
                .all(|a| a.spec.alarm_actions == vec![p.arn.clone()])
        );
        assert_eq!(alarms[0].spec.threshold, 0.7);

        // An update keeps the same alarms and moves their thresholds.
        assert!(aas.put_scaling_policy(&policy("tt", 0.5)).await.is_ok());
        let names: Vec<String> = acct.with_state(|s| s.alarms.keys().cloned().collect());
        assert_eq!(names, p.alarm_names);
        assert!(acct.with_state(|s| s.alarms[&p.alarm_names[0]].spec.threshold) == 0.5);

        assert!(
            aas.delete_scaling_policy(
                "tt",
                "function:api:live",
                ScalableDimension::LambdaProvisionedConcurrency
            )
            .await
            .is_ok()
        );
        assert_eq!(acct.with_state(|s| s.alarms.len()), 0);
        let again = aas
            .delete_scaling_policy(
                "tt",
                "function:api:live",
                ScalableDimension::LambdaProvisionedConcurrency,
            )
            .await;
        assert_eq!(again.err().map(|e| e.kind), Some(ErrorKind::NotFound));
    }

    #[tokio::test]
    async fn deregistering_a_target_deletes_its_policies_and_their_alarms() {
        let (acct, _clock) = account(vec![]);
        let aas = acct.cloud().autoscaling;
        let target = ScalableTarget {
            resource_id: "table/orders".into(),
            dimension: ScalableDimension::TableRead,
            min_capacity: 5,
            max_capacity: 100,
            tags: Default::default(),
            arn: None,
        };
        assert!(aas.register_scalable_target(&target).await.is_ok());
        let read = ScalingPolicy {
            resource_id: "table/orders".into(),
            dimension: ScalableDimension::TableRead,
            predefined_metric: "DynamoDBReadCapacityUtilization".into(),
            ..policy("reads", 70.0)
        };
        let wrong_metric = ScalingPolicy {
            predefined_metric: "DynamoDBWriteCapacityUtilization".into(),
            ..read.clone()
        };
        assert_eq!(
            aas.put_scaling_policy(&wrong_metric)
                .await
                .err()
                .map(|e| e.kind),
            Some(ErrorKind::Invalid)
        );
        assert!(aas.put_scaling_policy(&read).await.is_ok());
        assert_eq!(acct.with_state(|s| s.alarms.len()), 2);
        assert!(
            aas.deregister_scalable_target("table/orders", ScalableDimension::TableRead)
                .await
                .is_ok()
        );
        assert_eq!(
            acct.with_state(|s| (s.alarms.len(), s.scaling_policies.len())),
            (0, 0)
        );
        let missing = aas
            .deregister_scalable_target("table/orders", ScalableDimension::TableRead)
            .await;
        assert_eq!(missing.err().map(|e| e.kind), Some(ErrorKind::NotFound));
        let no_table = ScalableTarget {
            resource_id: "table/ghost".into(),
            ..target
        };
        assert_eq!(
            aas.register_scalable_target(&no_table)
                .await
                .err()
                .map(|e| e.kind),
            Some(ErrorKind::Invalid)
        );
    }

    #[tokio::test]
    async fn targets_page_by_50_and_policies_by_10() {
        let (acct, _clock) = account(vec![sim_function("api", 512)]);
        acct.with_state(|s| {
            if let Some(f) = s.functions.get_mut("api") {
                for i in 0..60 {
                    f.aliases.insert(
                        format!("a{i:02}"),
                        super::super::AliasRecord::new("1".into()),
                    );
                }
            }
        });
        let aas = acct.cloud().autoscaling;
        for i in 0..60 {
            assert!(
                aas.register_scalable_target(&lambda_target(&format!("a{i:02}")))
                    .await
                    .is_ok()
            );
        }
        let p1 = aas
            .describe_scalable_targets(ScalableNamespace::Lambda, &[], None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p1.items.len(), 50);
        let p2 = aas
            .describe_scalable_targets(ScalableNamespace::Lambda, &[], p1.next.as_deref())
            .await;
        assert_eq!(p2.map(|p| (p.items.len(), p.next)).ok(), Some((10, None)));
        let only = aas
            .describe_scalable_targets(
                ScalableNamespace::Lambda,
                &["function:api:a07".into()],
                None,
            )
            .await;
        assert_eq!(only.map(|p| p.items.len()).ok(), Some(1));
        let dynamo = aas
            .describe_scalable_targets(ScalableNamespace::DynamoDb, &[], None)
            .await;
        assert_eq!(dynamo.map(|p| p.items.len()).ok(), Some(0));

        for i in 0..12 {
            let p = ScalingPolicy {
                resource_id: format!("function:api:a{i:02}"),
                ..policy("tt", 0.7)
            };
            assert!(aas.put_scaling_policy(&p).await.is_ok());
        }
        let p1 = aas
            .describe_scaling_policies(ScalableNamespace::Lambda, None, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p1.items.len(), 10);
        let p2 = aas
            .describe_scaling_policies(ScalableNamespace::Lambda, None, p1.next.as_deref())
            .await;
        assert_eq!(p2.map(|p| p.items.len()).ok(), Some(2));
    }
}
