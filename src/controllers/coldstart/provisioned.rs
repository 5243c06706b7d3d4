//! Critical tier: provisioned concurrency on the cold-start alias, scaled by Application Auto
//! Scaling target tracking on `LambdaProvisionedConcurrencyUtilization`. trimtab writes the
//! scalable target and the policy; the capacity number belongs to Application Auto Scaling, so
//! nothing here ever calls PutProvisionedConcurrencyConfig.

use crate::controllers::shared::aas::{find_policy, find_target, sync_owned};
use crate::controllers::shared::cost::{dollars, provisioned_monthly};
use crate::controllers::shared::names::{lambda_resource_id, parse_lambda_resource_id};
use crate::controllers::shared::ownership::{Foreign, may_change};
use crate::model::{
    Action, Change, Desired, FieldDiff, FunctionRule, Observed, Phase, Plan, Refusal, ResourceKind,
    ScalableDimension, ScalableTarget, ScalingPolicy, Tags, Write,
};

use super::names::{TAG_PROVISIONED, provisioned_policy_name};
use super::{Func, Settings, overrides};

const DIMENSION: ScalableDimension = ScalableDimension::LambdaProvisionedConcurrency;
const METRIC: &str = "LambdaProvisionedConcurrencyUtilization";

/// Plans the provisioned concurrency of a critical function. Returns false when it cannot be
/// built this cycle (the refusal says why), so the strategy it replaces is kept.
pub(super) fn build(
    desired: &Desired,
    cs: &Settings,
    observed: &Observed,
    func: &Func,
    rule: &FunctionRule,
    plan: &mut Plan,
) -> bool {
    let (name, alias) = (func.name, &cs.alias);
    let rid = lambda_resource_id(name, alias);
    let policy_name = provisioned_policy_name(&desired.ownership.name_prefix, name);
    let o = overrides(rule);
    let min = o.provisioned_min.unwrap_or(cs.provisioned.min);
    let max = o.provisioned_max.unwrap_or(cs.provisioned.max);
    if min > max {
        plan.refusals.push(Refusal {
            kind: ResourceKind::ProvisionedConcurrency,
            id: format!("{name}:{alias}"),
            reason: format!("provisioned concurrency min {min} is above max {max}"),
        });
        return false;
    }
    let target = ScalableTarget {
        resource_id: rid.clone(),
        dimension: DIMENSION,
        min_capacity: min,
        max_capacity: max,
        tags: super::super::shared::ownership::owner_tags(&desired.ownership),
        arn: None,
    };
    let policy = ScalingPolicy {
        name: policy_name.clone(),
        resource_id: rid.clone(),
        dimension: DIMENSION,
        predefined_metric: METRIC.into(),
        target_value: o
            .target_utilization
            .unwrap_or(cs.provisioned.target_utilization),
        scale_in_cooldown_s: cs.provisioned.scale_in_cooldown_s,
        scale_out_cooldown_s: cs.provisioned.scale_out_cooldown_s,
        disable_scale_in: false,
    };

    let live = find_target(observed, &rid, DIMENSION);
    let marked = func.tags.value(TAG_PROVISIONED) == Some(alias.as_str());
    let has_policy = find_policy(observed, &policy_name, &rid, DIMENSION).is_some();
    if live.is_some() && !may_change(&desired.ownership, marked || has_policy, &rid) {
        plan.refusals.push(
            Foreign {
                kind: ResourceKind::ScalableTarget,
                id: &rid,
                what: "registered by someone else".into(),
                evidence: format!(
                    "no {TAG_PROVISIONED}={alias} tag on {name}, no policy named {policy_name}"
                ),
                left_alone: "it and its policies are left alone",
                adopt_id: &rid,
            }
            .refusal(),
        );
        return false;
    }
    // Observe lists aliases only while the target is missing; a target implies the alias.
    let alias_exists = live.is_some()
        || observed
            .aliases
            .get(name)
            .is_some_and(|a| a.iter().any(|a| a.name == *alias));
    if !alias_exists && !cs.manage_alias {
        plan.refusals.push(Refusal {
            kind: ResourceKind::Alias,
            id: format!("{name}:{alias}"),
            reason: format!(
                "alias {alias} does not exist; create it or set cold_start.manage_alias = true"
            ),
        });
        return false;
    }

    let s = &func.f.summary;
    let cost = provisioned_monthly(&desired.prices, s.architecture, s.memory_mb, min);
    let why = format!(
        "critical tier: provisioned concurrency {min}–{max} on alias {alias} (≈ {}/month at the minimum)",
        dollars(cost)
    );
    let marker = || Write::TagFunction {
        arn: s.arn.clone(),
        tags: Tags::from([(TAG_PROVISIONED.to_string(), alias.clone())]),
    };
    let Some(live) = live else {
        // One change per resource, ordered by phase: the target (and the alias it needs) in
        // PREPARE, the policy on it in BUILD. Marker first, so a crash after it leaves a
        // record the next cycle finishes from.
        let mut writes = Vec::new();
        if !marked {
            writes.push(marker());
        }
        let (kind, id, reason) = if alias_exists {
            (
                ResourceKind::ScalableTarget,
                rid.clone(),
                format!("{why}: scalable target {rid}"),
            )
        } else {
            writes.push(Write::PublishAndCreateAlias {
                function: name.to_string(),
                alias: alias.clone(),
            });
            (
                ResourceKind::Alias,
                format!("{name}:{alias}"),
                format!(
                    "{why}: alias {alias} is missing, so publishing $LATEST as a version for it (cold_start.manage_alias = true), then registering scalable target {rid} on it"
                ),
            )
        };
        writes.push(Write::RegisterScalableTarget { target });
        plan.changes.push(Change {
            kind,
            id,
            action: Action::Create,
            diffs: Vec::new(),
            reason,
            phase: Phase::Prepare,
            writes,
        });
        plan.changes.push(Change {
            kind: ResourceKind::ScalingPolicy,
            id: policy_name.clone(),
            action: Action::Create,
            diffs: Vec::new(),
            reason: format!(
                "{why}: target tracking at {} utilization on scalable target {rid}",
                policy.target_value
            ),
            phase: Phase::Build,
            writes: vec![Write::PutScalingPolicy { policy }],
        });
        return true;
    };
    if !marked {
        plan.changes.push(Change {
            kind: ResourceKind::ProvisionedConcurrency,
            id: format!("{name}:{alias}"),
            action: Action::Update,
            diffs: vec![FieldDiff {
                field: format!("tags.{TAG_PROVISIONED}"),
                old: func
                    .tags
                    .value(TAG_PROVISIONED)
                    .unwrap_or("(none)")
                    .to_string(),
                new: alias.clone(),
            }],
            reason: format!(
                "the scalable target is trimtab's but {name} lacks its marker; recording it so a later teardown knows what to remove"
            ),
            phase: Phase::Build,
            writes: vec![marker()],
        });
    }
    plan.changes
        .extend(sync_owned(observed, live, &rid, &target, &policy, &why));
    true
}

/// The teardown of provisioned concurrency the marker says trimtab built on `alias`, in the
/// order that leaves nothing billed behind: the policy, the target (deregistering it leaves the
/// provisioned configuration in place, still billed), the configuration, then the marker.
pub(super) fn remove(
    desired: &Desired,
    observed: &Observed,
    func: &Func,
    alias: &str,
    untag: bool,
    cause: &str,
) -> Change {
    let name = func.name;
    let rid = lambda_resource_id(name, alias);
    let mut writes = teardown(desired, observed, name, alias);
    if untag {
        writes.push(Write::UntagFunction {
            arn: func.f.summary.arn.clone(),
            keys: vec![TAG_PROVISIONED.to_string()],
        });
    }
    let saving = find_target(observed, &rid, DIMENSION).map_or(String::new(), |t| {
        let s = &func.f.summary;
        let cost =
            provisioned_monthly(&desired.prices, s.architecture, s.memory_mb, t.min_capacity);
        format!(
            " (saves ≈ {}/month at the minimum of {})",
            dollars(cost),
            t.min_capacity
        )
    });
    Change {
        kind: ResourceKind::ProvisionedConcurrency,
        id: format!("{name}:{alias}"),
        action: Action::Delete,
        diffs: Vec::new(),
        reason: format!(
            "{cause}: removing the provisioned concurrency trimtab built on alias {alias}{saving}"
        ),
        phase: Phase::Teardown,
        writes,
    }
}

/// The AAS and Lambda writes of a teardown, for what observation still shows. The provisioned
/// configuration itself is not observed, so its deletion is always included.
fn teardown(desired: &Desired, observed: &Observed, function: &str, alias: &str) -> Vec<Write> {
    let rid = lambda_resource_id(function, alias);
    let policy_name = provisioned_policy_name(&desired.ownership.name_prefix, function);
    let mut writes = Vec::new();
    if find_policy(observed, &policy_name, &rid, DIMENSION).is_some() {
        writes.push(Write::DeleteScalingPolicy {
            name: policy_name,
            resource_id: rid.clone(),
            dimension: DIMENSION,
        });
    }
    if find_target(observed, &rid, DIMENSION).is_some() {
        writes.push(Write::DeregisterScalableTarget {
            resource_id: rid,
            dimension: DIMENSION,
        });
    }
    writes.push(Write::DeleteProvisionedConcurrency {
        function: function.to_string(),
        qualifier: alias.to_string(),
    });
    writes
}

/// Lambda scalable targets carrying trimtab's policy whose function is no longer in scope
/// (it left the config or was deleted).
pub(super) fn prune(desired: &Desired, observed: &Observed, plan: &mut Plan) {
    let prefix = &desired.ownership.name_prefix;
    for t in observed
        .scalable_targets
        .iter()
        .filter(|t| t.dimension == DIMENSION)
    {
        let Some((function, alias)) = parse_lambda_resource_id(&t.resource_id) else {
            continue;
        };
        if observed.functions.contains_key(function)
            || observed.unknown_functions.contains(function)
        {
            continue;
        }
        let policy_name = provisioned_policy_name(prefix, function);
        if find_policy(observed, &policy_name, &t.resource_id, DIMENSION).is_none() {
            continue;
        }
        let id = format!("{function}:{alias}");
        if !desired.ownership.prune {
            plan.refusals.push(Refusal {
                kind: ResourceKind::ProvisionedConcurrency,
                id,
                reason: format!(
                    "trimtab built it but {function} is no longer in scope, and prune is off"
                ),
            });
            continue;
        }
        let mut writes = teardown(desired, observed, function, alias);
        // The marker lives on the function; its ARN needs the account, known from any ARN seen.
        if let Some(account) = &observed.account_id {
            writes.push(Write::UntagFunction {
                arn: format!(
                    "arn:aws:lambda:{}:{account}:function:{function}",
                    observed.region
                ),
                keys: vec![TAG_PROVISIONED.to_string()],
            });
        }
        plan.changes.push(Change {
            kind: ResourceKind::ProvisionedConcurrency,
            id,
            action: Action::Delete,
            diffs: Vec::new(),
            reason: format!(
                "{function} is no longer in scope (it left the config or was deleted) and prune is on: removing the provisioned concurrency trimtab built on alias {alias} (min {})",
                t.min_capacity
            ),
            phase: Phase::Teardown,
            writes,
        });
    }
}
