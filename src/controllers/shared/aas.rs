//! Application Auto Scaling as the capacity controllers use it: finding a scalable target and a
//! policy in the observation, and repairing drift on a target trimtab owns and on its policy.
//! Shared by the table-scaling controller and the cold-start controller, which scales
//! provisioned concurrency the same way.

use crate::model::{
    Action, Change, FieldDiff, Observed, ObservedScalingPolicy, Phase, ResourceKind,
    ScalableDimension, ScalableTarget, ScalingPolicy, Write,
};

use super::diff::{diff, fields};

pub fn find_target<'a>(
    observed: &'a Observed,
    resource_id: &str,
    dimension: ScalableDimension,
) -> Option<&'a ScalableTarget> {
    observed
        .scalable_targets
        .iter()
        .find(|t| t.resource_id == resource_id && t.dimension == dimension)
}

pub fn find_policy<'a>(
    observed: &'a Observed,
    name: &str,
    resource_id: &str,
    dimension: ScalableDimension,
) -> Option<&'a ObservedScalingPolicy> {
    observed.scaling_policies.iter().find(|p| {
        p.policy.name == name
            && p.policy.resource_id == resource_id
            && p.policy.dimension == dimension
    })
}

fn show(v: Option<u32>) -> String {
    v.map_or_else(|| "(default)".into(), |v| format!("{v}s"))
}

pub fn target_diffs(old: &ScalableTarget, new: &ScalableTarget) -> Vec<FieldDiff> {
    let mut d = Vec::new();
    diff(
        &mut d,
        "min_capacity",
        old.min_capacity.to_string(),
        new.min_capacity.to_string(),
    );
    diff(
        &mut d,
        "max_capacity",
        old.max_capacity.to_string(),
        new.max_capacity.to_string(),
    );
    d
}

pub fn policy_diffs(old: &ScalingPolicy, new: &ScalingPolicy) -> Vec<FieldDiff> {
    let mut d = Vec::new();
    diff(
        &mut d,
        "predefined_metric",
        old.predefined_metric.clone(),
        new.predefined_metric.clone(),
    );
    if (old.target_value - new.target_value).abs() > 1e-9 {
        diff(
            &mut d,
            "target_value",
            old.target_value.to_string(),
            new.target_value.to_string(),
        );
    }
    // An unset cooldown is left to Application Auto Scaling's default, which it may report
    // back as a number: comparing it would show drift forever.
    if new.scale_in_cooldown_s.is_some() {
        diff(
            &mut d,
            "scale_in_cooldown",
            show(old.scale_in_cooldown_s),
            show(new.scale_in_cooldown_s),
        );
    }
    if new.scale_out_cooldown_s.is_some() {
        diff(
            &mut d,
            "scale_out_cooldown",
            show(old.scale_out_cooldown_s),
            show(new.scale_out_cooldown_s),
        );
    }
    diff(
        &mut d,
        "disable_scale_in",
        old.disable_scale_in.to_string(),
        new.disable_scale_in.to_string(),
    );
    d
}

/// Repairs drift on a scalable target trimtab owns and on trimtab's policy on it. `target_id`
/// names the target in the plan; `why` says what the pair is for.
pub fn sync_owned(
    observed: &Observed,
    live: &ScalableTarget,
    target_id: &str,
    want_target: &ScalableTarget,
    want_policy: &ScalingPolicy,
    why: &str,
) -> Vec<Change> {
    let mut changes = Vec::new();
    let diffs = target_diffs(live, want_target);
    if !diffs.is_empty() {
        changes.push(Change {
            kind: ResourceKind::ScalableTarget,
            id: target_id.to_string(),
            action: Action::Update,
            reason: format!("drift in {} ({why})", fields(&diffs)),
            diffs,
            phase: Phase::Build,
            writes: vec![Write::RegisterScalableTarget {
                target: want_target.clone(),
            }],
        });
    }
    let live_policy = find_policy(
        observed,
        &want_policy.name,
        &want_policy.resource_id,
        want_policy.dimension,
    );
    let (action, diffs, reason) = match live_policy {
        None => (
            Action::Create,
            Vec::new(),
            format!("trimtab's target-tracking policy is missing from its scalable target ({why})"),
        ),
        Some(p) => {
            let diffs = policy_diffs(&p.policy, want_policy);
            let reason = format!("drift in {} ({why})", fields(&diffs));
            (Action::Update, diffs, reason)
        }
    };
    if action == Action::Create || !diffs.is_empty() {
        changes.push(Change {
            kind: ResourceKind::ScalingPolicy,
            id: want_policy.name.clone(),
            action,
            diffs,
            reason,
            phase: Phase::Build,
            writes: vec![Write::PutScalingPolicy {
                policy: want_policy.clone(),
            }],
        });
    }
    changes
}
