//! The reserved-concurrency controller: sets each in-scope function's reserved concurrency to
//! what its rule asks for, removes values trimtab set that the config no longer wants, and
//! guards the account's unreserved pool.
//!
//! Rules it keeps:
//! - a value is trimtab's only while the function's `TAG_RESERVED` marker equals the live value;
//!   the marker is written before the value, so a crash between the two leaves a record;
//! - a value someone else set (no marker, or a marker that no longer matches) is never removed;
//! - increases that would leave fewer than `capacity.unreserved_floor` unreserved concurrent
//!   executions in the account are all refused together; decreases and removals still go ahead
//!   (they only give concurrency back);
//! - functions whose detail was not read, or whose state is unknown, are left alone.

mod settings;

use std::collections::BTreeMap;

use crate::model::{
    Action, Change, Desired, FieldDiff, Observed, ObservedFunction, Phase, Plan, Read, Reads,
    Refusal, ResourceKind, Tags, Write,
};

use super::shared::scope::{RuleMatch, rule_for};
use super::{Controller, Cx, EntryCx, Registered, SettingsCx};

pub use settings::{Settings, UNRESERVED_FLOOR};

/// Function tag: the reserved concurrency trimtab set (its value). If the live value differs,
/// someone else changed it since, and it is theirs.
pub const TAG_RESERVED: &str = "trimtab:reserved-concurrency";

/// Reserved concurrency per function, within the account's unreserved floor.
pub struct Concurrency;

impl Controller for Concurrency {
    const NAME: &'static str = "concurrency";
    type Settings = Settings;
    /// The rule's `reserved_concurrency`.
    type RuleSettings = Option<u32>;
    type TableSettings = ();
    type Memory = ();

    fn settings(cx: &mut SettingsCx<'_, '_, '_>) -> Settings {
        settings::read(cx)
    }

    fn rule_settings(cx: &mut EntryCx<'_, '_, '_>, _: &Settings) -> Option<u32> {
        settings::read_rule(cx)
    }

    /// Every in-scope function's detail (tags hold the marker, and only GetFunction says what
    /// is reserved): now where the rule reserves something, otherwise as a re-verification, so
    /// a marker the config no longer explains is found within the tag-cache TTL. The account's
    /// unreserved pool once reserved concurrency is in play.
    fn reads(cx: &Cx<'_, Self>, _: &mut (), reads: &mut Reads) {
        let o = cx.observed;
        // Once the rotation is decided, asking to verify more would only defer them.
        let verify = !o.reads.rotated("function");
        let mut in_play = false;
        for (name, f) in &o.functions {
            let wants = match cx.rule_for(name, f.tags()) {
                RuleMatch::Rule(rule) => cx.rule_settings(rule).is_some(),
                _ => false,
            };
            in_play |= wants || f.tags().is_some_and(|t| t.contains_key(TAG_RESERVED));
            if f.detail.is_none() {
                if wants {
                    reads.now(Read::Function(name.clone()));
                } else if verify {
                    reads.verify(Read::Function(name.clone()));
                }
            }
        }
        in_play |= cx
            .desired
            .functions
            .iter()
            .any(|r| cx.rule_settings(r).is_some());
        if in_play {
            reads.now(Read::AccountSettings);
        }
    }

    fn plan(cx: &Cx<'_, Self>, _: &mut (), out: &mut super::Planned) {
        out.plan = plan(cx.desired, cx.settings, cx.observed);
    }
}

/// A planned change and how much it takes from (+) or gives back to (−) the unreserved pool.
struct Planned {
    function: String,
    change: Change,
    delta: i64,
}

fn set(name: &str, f: &ObservedFunction, live: Option<u32>, want: u32) -> Planned {
    let delta = i64::from(want) - i64::from(live.unwrap_or(0));
    let tags: Tags = [(TAG_RESERVED.to_string(), want.to_string())]
        .into_iter()
        .collect();
    let (action, diffs, reason) = match live {
        None => (
            Action::Create,
            Vec::new(),
            format!("rule reserves {want} concurrent executions; none reserved now"),
        ),
        Some(v) => (
            Action::Update,
            vec![FieldDiff {
                field: "reserved_concurrency".into(),
                old: v.to_string(),
                new: want.to_string(),
            }],
            format!("rule reserves {want} concurrent executions; {v} reserved now"),
        ),
    };
    Planned {
        function: name.to_string(),
        delta,
        change: Change {
            kind: ResourceKind::ReservedConcurrency,
            id: name.to_string(),
            action,
            diffs,
            reason,
            // Giving concurrency back runs a phase before taking it, so the account never
            // dips below AWS's own floor between the two (AWS rejects such a write).
            phase: if delta > 0 {
                Phase::Build
            } else {
                Phase::Prepare
            },
            // Marker first: if the second write fails, the next cycle still knows whose it is.
            writes: vec![
                Write::TagFunction {
                    arn: f.summary.arn.clone(),
                    tags,
                },
                Write::PutFunctionConcurrency {
                    function: name.to_string(),
                    reserved: want,
                },
            ],
        },
    }
}

/// What to do about a function whose rule wants no reserved concurrency.
fn release(
    name: &str,
    f: &ObservedFunction,
    live: Option<u32>,
    marker: Option<&str>,
) -> Option<Planned> {
    let marker = marker?;
    let untag = Write::UntagFunction {
        arn: f.summary.arn.clone(),
        keys: vec![TAG_RESERVED.to_string()],
    };
    let marked: Option<u32> = marker.parse().ok();
    if let Some(v) = live.filter(|v| marked == Some(*v)) {
        return Some(Planned {
            function: name.to_string(),
            delta: -i64::from(v),
            change: Change {
                kind: ResourceKind::ReservedConcurrency,
                id: name.to_string(),
                action: Action::Delete,
                diffs: Vec::new(),
                reason: format!(
                    "trimtab reserved {v} and the rule no longer asks for reserved concurrency"
                ),
                phase: Phase::Prepare,
                // Value first, marker last: a crash in between leaves the record to finish from.
                writes: vec![
                    Write::DeleteFunctionConcurrency {
                        function: name.to_string(),
                    },
                    untag,
                ],
            },
        });
    }
    let reason = match live {
        Some(v) => format!(
            "marker says trimtab reserved {marker} but {v} is reserved now: someone else changed it, so the value stays and only the stale marker goes"
        ),
        None => format!(
            "marker says trimtab reserved {marker} but nothing is reserved now; removing the stale marker"
        ),
    };
    Some(Planned {
        function: name.to_string(),
        delta: 0,
        change: Change {
            kind: ResourceKind::ReservedConcurrency,
            id: name.to_string(),
            action: Action::Update,
            diffs: vec![FieldDiff {
                field: format!("tags.{TAG_RESERVED}"),
                old: marker.to_string(),
                new: "(none)".into(),
            }],
            reason,
            phase: Phase::Prepare,
            writes: vec![untag],
        },
    })
}

fn signed_list(items: &[(&str, i64)]) -> String {
    items
        .iter()
        .map(|(f, d)| {
            if *d >= 0 {
                format!("{f} +{d}")
            } else {
                format!("{f} −{}", -d)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn plan(desired: &Desired, settings: &Settings, observed: &Observed) -> Plan {
    let mut planned = Vec::new();
    let mut managed = Vec::new();
    for (name, f) in &observed.functions {
        if observed.unknown_functions.contains(name) {
            continue;
        }
        let Some(detail) = &f.detail else { continue };
        let want = match rule_for(&desired.functions, name, Some(&detail.tags)) {
            RuleMatch::Rule(rule) => *Concurrency::rule_of(&rule.settings),
            // Nothing governs it any more, so nothing wants a reserved value on it.
            RuleMatch::None => None,
            RuleMatch::NeedsTags => continue,
        };
        let live = detail.reserved_concurrency;
        if want.is_some() {
            managed.push((ResourceKind::ReservedConcurrency, name.clone()));
        }
        match want {
            Some(n) if live != Some(n) => planned.push(set(name, f, live, n)),
            Some(_) => {}
            None => planned.extend(release(name, f, live, detail.tags.value(TAG_RESERVED))),
        }
    }

    let (increases, others): (Vec<Planned>, Vec<Planned>) =
        planned.into_iter().partition(|p| p.delta > 0);
    let mut plan = Plan {
        managed,
        ..Plan::default()
    };
    plan.changes.extend(others.iter().map(|p| p.change.clone()));
    if increases.is_empty() {
        return plan;
    }
    let refuse = |plan: &mut Plan, reason: String| {
        for p in &increases {
            plan.refusals.push(Refusal {
                kind: ResourceKind::ReservedConcurrency,
                id: p.function.clone(),
                reason: reason.clone(),
            });
        }
    };
    let Some(account) = observed.account_concurrency else {
        let names: Vec<&str> = increases.iter().map(|p| p.function.as_str()).collect();
        refuse(
            &mut plan,
            format!(
                "account concurrency (GetAccountSettings) was not read this cycle, so reserving more for {} cannot be checked against the unreserved floor of {}",
                names.join(", "),
                settings.unreserved_floor
            ),
        );
        return plan;
    };
    let taken: BTreeMap<&str, i64> = increases
        .iter()
        .map(|p| (p.function.as_str(), p.delta))
        .collect();
    let given: Vec<(&str, i64)> = others
        .iter()
        .filter(|p| p.delta < 0)
        .map(|p| (p.function.as_str(), p.delta))
        .collect();
    let more: i64 = taken.values().sum();
    let back: i64 = given.iter().map(|(_, d)| -d).sum();
    let after = i64::from(account.unreserved) - more + back;
    let floor = i64::from(settings.unreserved_floor);
    if after >= floor {
        plan.changes.extend(increases.into_iter().map(|p| p.change));
        return plan;
    }
    let taken: Vec<(&str, i64)> = taken.into_iter().collect();
    let releasing = if given.is_empty() {
        String::new()
    } else {
        format!(" while releasing {back} ({})", signed_list(&given))
    };
    refuse(
        &mut plan,
        format!(
            "reserving {more} more ({}){releasing} would leave {after} of {} unreserved, below the floor of {floor}",
            signed_list(&taken),
            account.limit
        ),
    );
    plan
}

#[cfg(test)]
mod tests;
