//! The cold-start controller: by tier, provisioned concurrency (critical), a scheduled warm-up
//! (standard) or nothing (batch), and the removal of whatever trimtab built for a tier a
//! function no longer has.
//!
//! Rules it keeps:
//! - what trimtab built is recorded as tags on the function (`TAG_PROVISIONED` = alias,
//!   `TAG_WARMUP` = rule name), written before the resources and removed after them; removal
//!   follows those markers and nothing else, so trimtab never tears down what it did not build;
//! - each resource is its own change, and phases order them: what others need (an alias, a
//!   scalable target, a warm-up rule, each after its marker) in `PHASE_PREPARE`, what sits on
//!   them (the policy, the rule's target, the permission) in `PHASE_BUILD`, removals in
//!   `PHASE_REMOVE`; so on a tier change the new strategy is in place before the old one goes,
//!   and if the new one cannot be built (a missing alias, a foreign scalable target), the old
//!   one stays;
//! - owned resources of functions that left the scope are pruned when `ownership.prune` is on,
//!   never for functions whose state could not be read this cycle;
//! - functions not read with GetFunction (no tags, so no markers) are left alone.

mod provisioned;
mod schedule;
mod warmup;

use std::collections::BTreeSet;

use crate::model::{
    Desired, FunctionRule, Observed, ObservedFunction, Plan, Refusal, ResourceKind, Tags, Tier,
};

use super::names::{TAG_PROVISIONED, TAG_WARMUP, warmup_rule_name};
use super::scope::{RuleMatch, rule_for};

pub use schedule::spread_schedule;
pub use warmup::warmup_input;

/// One in-scope function whose tags are known.
struct Func<'a> {
    name: &'a str,
    f: &'a ObservedFunction,
    tags: &'a Tags,
}

/// Why a strategy a marker records is being removed; `None` when it is still wanted.
fn removal_cause(
    desired: &Desired,
    tier: Option<Tier>,
    strategy: Tier,
    still_wanted: bool,
) -> Option<String> {
    if still_wanted {
        return None;
    }
    Some(match tier {
        None => "no rule governs the function any more; prune is on".into(),
        Some(Tier::Batch) => "batch tier: cold starts are acceptable".into(),
        Some(t) if t == strategy => match strategy {
            Tier::Critical => format!("cold_start.alias is now {}", desired.cold_start.alias),
            _ => "the warm-up rule's name changed".into(),
        },
        Some(Tier::Critical) => {
            "critical tier now: provisioned concurrency replaces the warm-up, and is built first"
                .into()
        }
        Some(_) => {
            "standard tier now: a warm-up replaces provisioned concurrency, and is built first"
                .into()
        }
    })
}

/// Makes a removal wait until provisioned concurrency on the new alias is READY: the executor
/// polls (bounded) before the first write, and if it never gets there the change fails and the
/// old strategy stays for the next cycle. Provisioned concurrency takes minutes to allocate,
/// and removing the old warm-up before then would leave the function cold.
fn guard_on_provisioned(change: &mut crate::model::Change, function: &str, alias: &str) {
    change.writes.insert(
        0,
        crate::model::Write::AwaitProvisionedConcurrency {
            function: function.to_string(),
            qualifier: alias.to_string(),
        },
    );
    change.reason.push_str(&format!(
        "; waits until provisioned concurrency on {alias} is READY"
    ));
}

fn plan_function(
    desired: &Desired,
    observed: &Observed,
    func: &Func,
    rule: Option<&FunctionRule>,
    plan: &mut Plan,
) {
    let tier = rule.map(|r| r.tier);
    if tier.is_none() && !desired.ownership.prune {
        return;
    }
    // Build first; `ready` is false when the wanted strategy was refused this cycle.
    let ready = match rule {
        Some(r) if r.tier == Tier::Critical => provisioned::build(desired, observed, func, r, plan),
        Some(r) if r.tier == Tier::Standard => warmup::build(desired, observed, func, r, plan),
        _ => true,
    };
    let keep = |plan: &mut Plan, kind: ResourceKind, id: String| {
        plan.refusals.push(Refusal {
            kind,
            id,
            reason: format!(
                "kept until the {} strategy can be built, so {} is never left without warm capacity",
                tier.map_or("new", Tier::as_str),
                func.name
            ),
        });
    };

    if let Some(alias) = func.tags.get(TAG_PROVISIONED) {
        let wanted = tier == Some(Tier::Critical) && *alias == desired.cold_start.alias;
        if let Some(cause) = removal_cause(desired, tier, Tier::Critical, wanted) {
            // A new alias is being built under the same marker key, which it rewrites.
            let untag = tier != Some(Tier::Critical);
            if ready {
                let mut change = provisioned::remove(desired, observed, func, alias, untag, &cause);
                // Moving to another alias: the old one goes only once the new one is warm.
                if tier == Some(Tier::Critical) {
                    guard_on_provisioned(&mut change, func.name, &desired.cold_start.alias);
                }
                plan.changes.push(change);
            } else {
                keep(
                    plan,
                    ResourceKind::ProvisionedConcurrency,
                    format!("{}:{alias}", func.name),
                );
            }
        }
    }
    if let Some(rule_name) = func.tags.get(TAG_WARMUP) {
        let wanted = tier == Some(Tier::Standard)
            && *rule_name == warmup_rule_name(&desired.ownership.name_prefix, func.name);
        if let Some(cause) = removal_cause(desired, tier, Tier::Standard, wanted) {
            let untag = tier != Some(Tier::Standard);
            if ready {
                let mut change = warmup::remove(desired, observed, func, rule_name, untag, &cause);
                if tier == Some(Tier::Critical) {
                    guard_on_provisioned(&mut change, func.name, &desired.cold_start.alias);
                }
                plan.changes.push(change);
            } else {
                keep(plan, ResourceKind::Rule, rule_name.clone());
            }
        }
    }
}

pub fn plan(desired: &Desired, observed: &Observed) -> Plan {
    let mut plan = Plan::default();
    let prefix = &desired.ownership.name_prefix;
    // Warm-up rules some in-scope function answers for; the rest are orphan candidates.
    let mut claimed: BTreeSet<String> = BTreeSet::new();
    for (name, f) in &observed.functions {
        claimed.insert(warmup_rule_name(prefix, name));
        if let Some(r) = f.tags().and_then(|t| t.get(TAG_WARMUP)) {
            claimed.insert(r.clone());
        }
        if observed.unknown_functions.contains(name) {
            continue;
        }
        let Some(detail) = &f.detail else { continue };
        let rule = match rule_for(&desired.functions, name, Some(&detail.tags)) {
            RuleMatch::Rule(r) => Some(r),
            RuleMatch::None => None,
            RuleMatch::NeedsTags => continue,
        };
        let func = Func {
            name,
            f,
            tags: &detail.tags,
        };
        plan_function(desired, observed, &func, rule, &mut plan);
    }
    provisioned::prune(desired, observed, &mut plan);
    warmup::prune(desired, observed, &claimed, &mut plan);
    plan
}

#[cfg(test)]
#[path = "coldstart_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "coldstart_teardown_tests.rs"]
mod teardown_tests;
