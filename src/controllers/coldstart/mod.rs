//! The cold-start controller: by tier, provisioned concurrency (critical), a scheduled warm-up
//! (standard) or nothing (batch), and the removal of whatever trimtab built for a tier a
//! function no longer has.
//!
//! Rules it keeps:
//! - what trimtab built is recorded as tags on the function (`TAG_PROVISIONED` = alias,
//!   `TAG_WARMUP` = rule name), written before the resources and removed after them; removal
//!   follows those markers and nothing else, so trimtab never tears down what it did not build;
//! - each resource is its own change, and phases order them: what others need (an alias, a
//!   scalable target, a warm-up rule, each after its marker) in `Phase::Prepare`, what sits on
//!   them (the policy, the rule's target, the permission) in `Phase::Build`, removals in
//!   `Phase::Teardown`; so on a tier change the new strategy is in place before the old one goes,
//!   and if the new one cannot be built (a missing alias, a foreign scalable target), the old
//!   one stays;
//! - owned resources of functions that left the scope are pruned when `ownership.prune` is on,
//!   never for functions whose state could not be read this cycle;
//! - functions not read with GetFunction (no tags, so no markers) are left alone.

pub mod names;
mod provisioned;
mod reads;
mod schedule;
pub mod settings;
mod warmup;

use std::collections::BTreeSet;

use crate::model::{
    Desired, FunctionRule, Observed, ObservedFunction, Plan, Reads, Refusal, ResourceKind, Tags,
    Tier,
};

use super::shared::scope::{RuleMatch, rule_for};
use super::{Controller, Cx, EntryCx, Planned, Registered, SettingsCx};
use names::{TAG_PROVISIONED, TAG_WARMUP, warmup_rule_name};

pub use schedule::spread_schedule;
pub use settings::{ColdStartOverride, ColdStartSettings as Settings};
pub use warmup::warmup_input;

/// Cold starts by tier: provisioned concurrency, a scheduled warm-up, or nothing.
pub struct ColdStart;

impl Controller for ColdStart {
    const NAME: &'static str = "cold_start";
    type Settings = Settings;
    type RuleSettings = ColdStartOverride;
    type TableSettings = ();
    type Memory = ();

    fn settings(cx: &mut SettingsCx<'_, '_, '_>) -> Settings {
        settings::read(cx)
    }

    fn rule_settings(cx: &mut EntryCx<'_, '_, '_>, s: &Settings) -> ColdStartOverride {
        settings::read_rule(cx, s)
    }

    fn reads(cx: &Cx<'_, Self>, _: &mut (), reads: &mut Reads) {
        reads::reads(cx.desired, cx.settings, cx.observed, reads);
    }

    fn plan(cx: &Cx<'_, Self>, _: &mut (), out: &mut Planned) {
        out.plan = plan(cx.desired, cx.settings, cx.observed);
        out.facts.publish(WarmupSpend(warmup_spend(cx)));
    }
}

/// What the warm-ups of the standard-tier functions cost a month, in dollars: the cost model
/// shows it as a component of its own (the invocations are inside Lambda's figures too).
#[derive(Debug, Clone, Copy)]
pub struct WarmupSpend(pub f64);

impl super::Fact for WarmupSpend {}

fn warmup_spend(cx: &Cx<'_, ColdStart>) -> f64 {
    cx.functions_in_scope()
        .filter(|(_, _, r)| r.tier == Tier::Standard)
        .filter_map(|(_, f, r)| warmup::monthly(cx.desired, cx.settings, &f.summary, r))
        .sum()
}

/// A rule's cold-start overrides.
fn overrides(rule: &FunctionRule) -> &ColdStartOverride {
    ColdStart::rule_of(&rule.settings)
}

/// One in-scope function whose tags are known.
struct Func<'a> {
    name: &'a str,
    f: &'a ObservedFunction,
    tags: &'a Tags,
}

/// Why a strategy a marker records is being removed; `None` when it is still wanted.
fn removal_cause(
    settings: &Settings,
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
            Tier::Critical => format!("cold_start.alias is now {}", settings.alias),
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
    settings: &Settings,
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
        Some(r) if r.tier == Tier::Critical => {
            provisioned::build(desired, settings, observed, func, r, plan)
        }
        Some(r) if r.tier == Tier::Standard => {
            warmup::build(desired, settings, observed, func, r, plan)
        }
        _ => true,
    };
    match tier {
        Some(Tier::Critical) => plan.managed.push((
            ResourceKind::ProvisionedConcurrency,
            format!("{}:{}", func.name, settings.alias),
        )),
        Some(Tier::Standard) => plan.managed.push((
            ResourceKind::Rule,
            warmup_rule_name(&desired.ownership.name_prefix, func.name),
        )),
        _ => {}
    }
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
        let wanted = tier == Some(Tier::Critical) && *alias == settings.alias;
        if let Some(cause) = removal_cause(settings, tier, Tier::Critical, wanted) {
            // A new alias is being built under the same marker key, which it rewrites.
            let untag = tier != Some(Tier::Critical);
            if ready {
                let mut change = provisioned::remove(desired, observed, func, alias, untag, &cause);
                // Moving to another alias: the old one goes only once the new one is warm.
                if tier == Some(Tier::Critical) {
                    guard_on_provisioned(&mut change, func.name, &settings.alias);
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
        if let Some(cause) = removal_cause(settings, tier, Tier::Standard, wanted) {
            let untag = tier != Some(Tier::Standard);
            if ready {
                let mut change = warmup::remove(desired, observed, func, rule_name, untag, &cause);
                if tier == Some(Tier::Critical) {
                    guard_on_provisioned(&mut change, func.name, &settings.alias);
                }
                plan.changes.push(change);
            } else {
                keep(plan, ResourceKind::Rule, rule_name.to_string());
            }
        }
    }
}

pub fn plan(desired: &Desired, settings: &Settings, observed: &Observed) -> Plan {
    let mut plan = Plan::default();
    let prefix = &desired.ownership.name_prefix;
    // Warm-up rules some in-scope function answers for; the rest are orphan candidates.
    let mut claimed: BTreeSet<String> = BTreeSet::new();
    for (name, f) in &observed.functions {
        claimed.insert(warmup_rule_name(prefix, name));
        if let Some(r) = f.tags().and_then(|t| t.value(TAG_WARMUP)) {
            claimed.insert(r.to_string());
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
        plan_function(desired, settings, observed, &func, rule, &mut plan);
    }
    provisioned::prune(desired, observed, &mut plan);
    warmup::prune(desired, observed, &claimed, &mut plan);
    plan
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod teardown_tests;
