//! The DynamoDB auto-scaling controller: for each desired PROVISIONED table and each of its
//! global secondary indexes, a scalable target for read and for write capacity with a
//! target-tracking policy, all registered with Application Auto Scaling.
//!
//! Rules it keeps:
//! - a new target is registered in `PHASE_PREPARE` and its policy put in `PHASE_BUILD` (a
//!   policy needs its target); targets no longer wanted go in `PHASE_REMOVE`;
//! - trimtab writes the scalable target and its policy, never the capacity itself: once a table
//!   is under Application Auto Scaling, the capacity numbers belong to it;
//! - a target is trimtab's when a policy with trimtab's name is on it (or it is listed in
//!   `ownership.adopt`); a target someone else registered is left alone, with its policies, and
//!   so is any policy that does not carry trimtab's name;
//! - on-demand tables need nothing (DynamoDB scales them itself), which the plan says;
//! - the `TargetTracking-*` alarms that come with the policies belong to Application Auto
//!   Scaling, and nothing here touches them;
//! - tables whose state could not be read this cycle are left alone.
//!
//! The comparisons of targets and policies live here and are shared with the cold-start
//! controller, which scales provisioned concurrency the same way.

use crate::model::{
    Action, BillingMode, Change, Desired, FieldDiff, Observed, ObservedScalingPolicy, Plan,
    Refusal, ResourceKind, ScalableDimension, ScalableTarget, ScalingPolicy, TableInfo,
    TableScaling, Write,
};

use super::names::{table_policy_name, table_resource_id};
use super::{PHASE_BUILD, PHASE_PREPARE, PHASE_REMOVE};

pub(super) fn find_target<'a>(
    observed: &'a Observed,
    resource_id: &str,
    dimension: ScalableDimension,
) -> Option<&'a ScalableTarget> {
    observed
        .scalable_targets
        .iter()
        .find(|t| t.resource_id == resource_id && t.dimension == dimension)
}

pub(super) fn find_policy<'a>(
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

fn diff(diffs: &mut Vec<FieldDiff>, field: &str, old: String, new: String) {
    if old != new {
        diffs.push(FieldDiff {
            field: field.to_string(),
            old,
            new,
        });
    }
}

fn show(v: Option<u32>) -> String {
    v.map_or_else(|| "(default)".into(), |v| format!("{v}s"))
}

pub(super) fn target_diffs(old: &ScalableTarget, new: &ScalableTarget) -> Vec<FieldDiff> {
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

pub(super) fn policy_diffs(old: &ScalingPolicy, new: &ScalingPolicy) -> Vec<FieldDiff> {
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

fn names(diffs: &[FieldDiff]) -> String {
    diffs
        .iter()
        .map(|d| d.field.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Repairs drift on a scalable target trimtab owns and on trimtab's policy on it. `target_id`
/// names the target in the plan; `why` says what the pair is for.
pub(super) fn sync_owned(
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
            reason: format!("drift in {} ({why})", names(&diffs)),
            diffs,
            phase: PHASE_BUILD,
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
            let reason = format!("drift in {} ({why})", names(&diffs));
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
            phase: PHASE_BUILD,
            writes: vec![Write::PutScalingPolicy {
                policy: want_policy.clone(),
            }],
        });
    }
    changes
}

/// One scalable dimension of a table or index, as trimtab wants it.
struct Wanted {
    id: String,
    index: Option<String>,
    target: ScalableTarget,
    policy: ScalingPolicy,
}

fn wanted(desired: &Desired, table: &TableInfo, s: &TableScaling) -> Vec<Wanted> {
    let prefix = &desired.ownership.name_prefix;
    let mut out = Vec::new();
    let indexes = std::iter::once(None).chain(table.indexes.iter().map(|i| Some(i.as_str())));
    for index in indexes {
        let rid = table_resource_id(&table.name, index);
        for write in [false, true] {
            let dimension = match (index.is_some(), write) {
                (false, false) => ScalableDimension::TableRead,
                (false, true) => ScalableDimension::TableWrite,
                (true, false) => ScalableDimension::IndexRead,
                (true, true) => ScalableDimension::IndexWrite,
            };
            let (min, max, metric) = if write {
                (s.write_min, s.write_max, "DynamoDBWriteCapacityUtilization")
            } else {
                (s.read_min, s.read_max, "DynamoDBReadCapacityUtilization")
            };
            out.push(Wanted {
                id: format!("{rid}:{}", if write { "write" } else { "read" }),
                index: index.map(str::to_string),
                target: ScalableTarget {
                    resource_id: rid.clone(),
                    dimension,
                    min_capacity: min,
                    max_capacity: max,
                },
                policy: ScalingPolicy {
                    name: table_policy_name(prefix, &table.name, index, write),
                    resource_id: rid.clone(),
                    dimension,
                    predefined_metric: metric.to_string(),
                    target_value: s.target_utilization,
                    scale_in_cooldown_s: s.scale_in_cooldown_s,
                    scale_out_cooldown_s: s.scale_out_cooldown_s,
                    disable_scale_in: s.disable_scale_in,
                },
            });
        }
    }
    out
}

/// The index named by a DynamoDB resource id of `table`, or `None` for the table itself;
/// `Err` when the id belongs to another table.
fn index_of<'a>(table: &str, resource_id: &'a str) -> Result<Option<&'a str>, ()> {
    let rest = resource_id
        .strip_prefix("table/")
        .and_then(|r| r.strip_prefix(table))
        .ok_or(())?;
    match rest {
        "" => Ok(None),
        _ => rest.strip_prefix("/index/").map(Some).ok_or(()),
    }
}

fn capacity(write: bool, min: u32, max: u32) -> String {
    format!(
        "{} capacity {min}–{max}",
        if write { "write" } else { "read" }
    )
}

fn plan_table(
    desired: &Desired,
    observed: &Observed,
    table: &TableInfo,
    s: &TableScaling,
    plan: &mut Plan,
) {
    let prefix = &desired.ownership.name_prefix;
    let on_demand = table.billing_mode == BillingMode::PayPerRequest;
    if on_demand && s.enabled {
        plan.refusals.push(Refusal {
            kind: ResourceKind::ScalableTarget,
            id: table_resource_id(&table.name, None),
            reason: "on-demand: DynamoDB scales it without Application Auto Scaling; nothing to do"
                .into(),
        });
    }
    let wanted = if s.enabled && !on_demand {
        wanted(desired, table, s)
    } else {
        Vec::new()
    };

    for w in &wanted {
        let write = matches!(
            w.target.dimension,
            ScalableDimension::TableWrite | ScalableDimension::IndexWrite
        );
        let what = match &w.index {
            Some(i) => format!("index {i} of table {}", table.name),
            None => format!("table {}", table.name),
        };
        let (min, max) = (w.target.min_capacity, w.target.max_capacity);
        if min > max {
            plan.refusals.push(Refusal {
                kind: ResourceKind::ScalableTarget,
                id: w.id.clone(),
                reason: format!(
                    "table_scaling asks for {} on {what}: min above max",
                    capacity(write, min, max)
                ),
            });
            continue;
        }
        let why = format!(
            "{what} is PROVISIONED: auto scaling {} at {}% utilization",
            capacity(write, min, max),
            w.policy.target_value
        );
        let live = find_target(observed, &w.target.resource_id, w.target.dimension);
        let ours = find_policy(
            observed,
            &w.policy.name,
            &w.target.resource_id,
            w.target.dimension,
        )
        .is_some()
            || desired.ownership.adopt.contains(&w.id);
        match live {
            None => {
                // One change per resource; the policy needs its target, hence the phases.
                plan.changes.push(Change {
                    kind: ResourceKind::ScalableTarget,
                    id: w.id.clone(),
                    action: Action::Create,
                    diffs: Vec::new(),
                    reason: format!("{why}: scalable target"),
                    phase: PHASE_PREPARE,
                    writes: vec![Write::RegisterScalableTarget {
                        target: w.target.clone(),
                    }],
                });
                plan.changes.push(Change {
                    kind: ResourceKind::ScalingPolicy,
                    id: w.policy.name.clone(),
                    action: Action::Create,
                    diffs: Vec::new(),
                    reason: format!("{why}: target-tracking policy on {}", w.id),
                    phase: PHASE_BUILD,
                    writes: vec![Write::PutScalingPolicy {
                        policy: w.policy.clone(),
                    }],
                });
            }
            Some(_) if !ours => plan.refusals.push(Refusal {
                kind: ResourceKind::ScalableTarget,
                id: w.id.clone(),
                reason: format!(
                    "registered by someone else (no policy named {} on it); it and its policies are left alone (list {} in ownership.adopt to take it over)",
                    w.policy.name, w.id
                ),
            }),
            Some(t) => plan.changes.extend(sync_owned(observed, t, &w.id, &w.target, &w.policy, &why)),
        }
    }

    // Targets trimtab registered on this table that are no longer wanted.
    for t in &observed.scalable_targets {
        let Ok(index) = index_of(&table.name, &t.resource_id) else {
            continue;
        };
        let write = match t.dimension {
            ScalableDimension::TableRead | ScalableDimension::IndexRead => false,
            ScalableDimension::TableWrite | ScalableDimension::IndexWrite => true,
            ScalableDimension::LambdaProvisionedConcurrency => continue,
        };
        let id = format!("{}:{}", t.resource_id, if write { "write" } else { "read" });
        if wanted.iter().any(|w| w.id == id) {
            continue;
        }
        let name = table_policy_name(prefix, &table.name, index, write);
        let policy = find_policy(observed, &name, &t.resource_id, t.dimension);
        if policy.is_none() && !desired.ownership.adopt.contains(&id) {
            continue;
        }
        let cause = if on_demand {
            format!("table {} is on-demand now", table.name)
        } else if !s.enabled {
            format!("auto scaling is disabled for table {}", table.name)
        } else {
            format!(
                "{} no longer exists on table {}",
                index.unwrap_or("the index"),
                table.name
            )
        };
        let mut writes = Vec::new();
        if policy.is_some() {
            writes.push(Write::DeleteScalingPolicy {
                name,
                resource_id: t.resource_id.clone(),
                dimension: t.dimension,
            });
        }
        writes.push(Write::DeregisterScalableTarget {
            resource_id: t.resource_id.clone(),
            dimension: t.dimension,
        });
        plan.changes.push(Change {
            kind: ResourceKind::ScalableTarget,
            id,
            action: Action::Delete,
            diffs: Vec::new(),
            reason: format!("{cause}: removing trimtab's scalable target and policy (capacity stays where it is)"),
            phase: PHASE_REMOVE,
            writes,
        });
    }
}

pub fn plan(desired: &Desired, observed: &Observed) -> Plan {
    let mut plan = Plan::default();
    for entry in &desired.tables {
        if observed.unknown_tables.contains(&entry.name) {
            continue;
        }
        let Some(table) = observed.tables.get(&entry.name) else {
            continue;
        };
        let s = desired.table_scaling.with(&entry.scaling);
        plan_table(desired, observed, table, &s, &mut plan);
    }
    plan
}

#[cfg(test)]
#[path = "table_scaling_tests.rs"]
mod tests;
