//! The DynamoDB auto-scaling controller: for each desired PROVISIONED table and each of its
//! global secondary indexes, a scalable target for read and for write capacity with a
//! target-tracking policy, all registered with Application Auto Scaling.
//!
//! Rules it keeps:
//! - a new target is registered in `PHASE_PREPARE` and its policy put in `PHASE_BUILD` (a
//!   policy needs its target); targets no longer wanted go in `PHASE_REMOVE`;
//! - trimtab writes the scalable target and its policy, never the capacity itself: once a table
//!   is under Application Auto Scaling, the capacity numbers belong to it;
//! - a target is trimtab's when it was registered with the ownership tag (recorded with the
//!   registration itself, so a crash between the target and its policy leaves a target that is
//!   still recognisably trimtab's; read back with ListTagsForResource only for a target without
//!   trimtab's policy), when a policy with trimtab's name is on it (targets registered before
//!   the tag), or when it is listed in `ownership.adopt`; a target someone else registered is
//!   left alone, with its policies, and so is any policy that does not carry trimtab's name;
//! - on-demand tables need nothing (DynamoDB scales them itself), which the plan says;
//! - the `TargetTracking-*` alarms that come with the policies belong to Application Auto
//!   Scaling, and nothing here touches them;
//! - tables whose state could not be read this cycle are left alone.
//!
//! The comparisons of targets and policies it shares with the cold-start controller live in
//! `shared::aas`.

mod settings;

use crate::model::{
    Action, BillingMode, Change, Desired, Observed, Phase, Plan, Read, Reads, ResourceKind,
    ScalableDimension, ScalableNamespace, ScalableTarget, ScalingPolicy, TableInfo, Write,
};

use super::shared::aas::{find_policy, find_target, sync_owned};
use super::shared::names::table_resource_id;
use super::shared::ownership::{Foreign, may_change, owner_tags, owns_target};
use super::{Controller, Cx, EntryCx, Planned, Registered, SettingsCx};

pub use settings::{TableScaling as Settings, TableScalingOverride, defaults};

/// Auto scaling for PROVISIONED DynamoDB tables and their indexes.
pub struct TableScaling;

/// The note's code: an on-demand table, which needs no auto scaling.
pub const ON_DEMAND: &str = "on_demand";

impl Controller for TableScaling {
    const NAME: &'static str = "table_scaling";
    const NOTE_CODES: &'static [&'static str] = &[ON_DEMAND];
    type Settings = Settings;
    type RuleSettings = ();
    type TableSettings = TableScalingOverride;
    type Memory = ();

    fn settings(cx: &mut SettingsCx<'_, '_, '_>) -> Settings {
        settings::read(cx)
    }

    fn table_settings(cx: &mut EntryCx<'_, '_, '_>, s: &Settings) -> TableScalingOverride {
        settings::read_table(cx, s)
    }

    /// The scalable targets of every PROVISIONED table and index, by id (50 a call), then the
    /// policies of those that exist.
    fn reads(cx: &Cx<'_, Self>, _: &mut (), reads: &mut Reads) {
        let o = cx.observed;
        let ns = ScalableNamespace::DynamoDb;
        let mut all_read = true;
        let mut ids = Vec::new();
        for t in o
            .tables
            .values()
            .filter(|t| t.billing_mode == BillingMode::Provisioned)
        {
            let indexes = t.indexes.iter().map(|i| Some(i.as_str()));
            for index in std::iter::once(None).chain(indexes) {
                let resource_id = table_resource_id(&t.name, index);
                let read = Read::ScalableTarget {
                    namespace: ns,
                    resource_id: resource_id.clone(),
                };
                all_read &= o.reads.did(&read);
                reads.now(read);
                ids.push(resource_id);
            }
        }
        if !all_read {
            return;
        }
        let mut policies_read = true;
        for resource_id in &ids {
            if o.scalable_targets
                .iter()
                .any(|t| &t.resource_id == resource_id)
            {
                let read = Read::ScalingPolicies {
                    namespace: ns,
                    resource_id: resource_id.clone(),
                };
                policies_read &= o.reads.did(&read);
                reads.now(read);
            }
        }
        if !policies_read {
            return;
        }
        // A target without trimtab's policy: whose is it? Its tags say (a crash between
        // registering it and putting the policy leaves exactly this).
        let prefix = &cx.desired.ownership.name_prefix;
        for t in o.scalable_targets.iter().filter(|t| ids.contains(&t.resource_id)) {
            let Some(arn) = &t.arn else { continue };
            let Some((table, index, write)) = split_target(t) else {
                continue;
            };
            let name = table_policy_name(prefix, table, index, write);
            if find_policy(o, &name, &t.resource_id, t.dimension).is_none() {
                reads.now(Read::TargetTags { arn: arn.clone() });
            }
        }
    }

    fn plan(cx: &Cx<'_, Self>, _: &mut (), out: &mut Planned) {
        out.plan = plan(cx.desired, cx.settings, cx.observed);
    }
}

/// Target-tracking policy on a table's (or index's) read or write capacity.
pub fn table_policy_name(prefix: &str, table: &str, index: Option<&str>, write: bool) -> String {
    let rw = if write { "write" } else { "read" };
    match index {
        Some(index) => format!("{prefix}ddb-{table}-{index}-{rw}"),
        None => format!("{prefix}ddb-{table}-{rw}"),
    }
}

/// One scalable dimension of a table or index, as trimtab wants it.
struct Wanted {
    id: String,
    index: Option<String>,
    target: ScalableTarget,
    policy: ScalingPolicy,
}

fn wanted(desired: &Desired, table: &TableInfo, s: &Settings) -> Vec<Wanted> {
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
                    tags: owner_tags(&desired.ownership),
                    arn: None,
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

/// A DynamoDB target's table, index and whether it is the write dimension.
fn split_target(t: &ScalableTarget) -> Option<(&str, Option<&str>, bool)> {
    let write = match t.dimension {
        ScalableDimension::TableRead | ScalableDimension::IndexRead => false,
        ScalableDimension::TableWrite | ScalableDimension::IndexWrite => true,
        ScalableDimension::LambdaProvisionedConcurrency => return None,
    };
    let rest = t.resource_id.strip_prefix("table/")?;
    Some(match rest.split_once("/index/") {
        Some((table, index)) => (table, Some(index), write),
        None => (rest, None, write),
    })
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
    s: &Settings,
    plan: &mut Plan,
) {
    let prefix = &desired.ownership.name_prefix;
    let on_demand = table.billing_mode == BillingMode::PayPerRequest;
    if on_demand && s.enabled {
        // Not a refusal: there is nothing to refuse, and `trimtab_changes_refused` must be 0 on
        // a healthy account so that it can be alerted on.
        plan.notes.push(crate::model::Note {
            controller: TableScaling::NAME,
            code: ON_DEMAND,
            id: table_resource_id(&table.name, None),
            message: "on-demand: DynamoDB scales it without Application Auto Scaling; nothing to do"
                .into(),
        });
    }
    let wanted = if s.enabled && !on_demand {
        wanted(desired, table, s)
    } else {
        Vec::new()
    };

    for w in &wanted {
        plan.managed.push((ResourceKind::ScalableTarget, w.id.clone()));
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
            plan.refusals.push(crate::model::Refusal {
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
        let has_policy = find_policy(
            observed,
            &w.policy.name,
            &w.target.resource_id,
            w.target.dimension,
        )
        .is_some();
        let owned = live.and_then(|t| owns_target(&desired.ownership, observed, t, has_policy));
        let ours = may_change(&desired.ownership, owned == Some(true), &w.id);
        match live {
            None => {
                // One change per resource; the policy needs its target, hence the phases.
                plan.changes.push(Change {
                    kind: ResourceKind::ScalableTarget,
                    id: w.id.clone(),
                    action: Action::Create,
                    diffs: Vec::new(),
                    reason: format!("{why}: scalable target"),
                    phase: Phase::Prepare,
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
                    phase: Phase::Build,
                    writes: vec![Write::PutScalingPolicy {
                        policy: w.policy.clone(),
                    }],
                });
            }
            // Neither trimtab's policy nor tags read: not known whose it is this cycle.
            Some(_) if !ours && owned.is_none() => plan.refusals.push(crate::model::Refusal {
                kind: ResourceKind::ScalableTarget,
                id: w.id.clone(),
                reason: format!(
                    "its tags could not be read, so whose it is is not known; left alone this cycle ({why})"
                ),
            }),
            Some(_) if !ours => plan.refusals.push(
                Foreign {
                    kind: ResourceKind::ScalableTarget,
                    id: &w.id,
                    what: "registered by someone else".into(),
                    evidence: format!(
                        "no {}={} tag and no policy named {} on it",
                        desired.ownership.tag_key, desired.ownership.tag_value, w.policy.name
                    ),
                    left_alone: "it and its policies are left alone",
                    adopt_id: &w.id,
                }
                .refusal(),
            ),
            Some(t) => plan
                .changes
                .extend(sync_owned(observed, t, &w.id, &w.target, &w.policy, &why)),
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
        let owned = owns_target(&desired.ownership, observed, t, policy.is_some());
        if !may_change(&desired.ownership, owned == Some(true), &id) {
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
            phase: Phase::Teardown,
            writes,
        });
    }
}

pub fn plan(desired: &Desired, settings: &Settings, observed: &Observed) -> Plan {
    let mut plan = Plan::default();
    for entry in &desired.tables {
        if observed.unknown_tables.contains(&entry.name) {
            continue;
        }
        let Some(table) = observed.tables.get(&entry.name) else {
            continue;
        };
        let s = settings.with(TableScaling::table_of(&entry.settings));
        plan_table(desired, observed, table, &s, &mut plan);
    }
    plan
}

#[cfg(test)]
mod tests;
