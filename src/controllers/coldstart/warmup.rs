//! Standard tier: a scheduled EventBridge rule that invokes the function with a warm-up event,
//! plus the resource-policy statement that lets EventBridge invoke it.
//!
//! EventBridge rules carry tags, but ListRules does not return them, so ownership comes from
//! the function's `TAG_WARMUP` marker, which trimtab writes before the rule.

use serde::Serialize;

use crate::controllers::shared::cost::{dollars, warmup_monthly};
use crate::controllers::shared::diff::{diff, fields, opt};
use crate::controllers::shared::ownership::{Foreign, may_change};
use crate::model::{
    Action, Change, Desired, FunctionRule, Observed, Permission, Phase, Plan, Refusal,
    ResourceKind, Rule, RuleState, RuleTarget, Tags, Write,
};

use super::names::{
    TAG_WARMUP, WARMUP_TARGET_ID, warmup_rule_name, warmup_rule_prefix, warmup_statement_id,
};
use super::schedule::spread_schedule;
use super::{Func, Settings, overrides};

const PRINCIPAL: &str = "events.amazonaws.com";
const ACTION: &str = "lambda:InvokeFunction";

#[derive(Serialize)]
struct WarmupEvent<'a> {
    source: &'static str,
    concurrency: u32,
    function: &'a str,
}

/// The constant input of the warm-up target. A struct rather than a map, so the key order is
/// stable and a string comparison with the live input is a real comparison.
pub fn warmup_input(function: &str, concurrency: u32) -> String {
    serde_json::to_string(&WarmupEvent {
        source: "trimtab.warmup",
        concurrency,
        function,
    })
    .expect("a struct of strings and integers always serializes")
}

fn rule_arn(observed: &Observed, function_arn: &str, rule: &str) -> String {
    if let Some(live) = observed.rules.get(rule) {
        return live.arn.clone();
    }
    // Before the rule exists its ARN is predictable; the account is in every ARN seen.
    let account = observed
        .account_id
        .clone()
        .or_else(|| function_arn.split(':').nth(4).map(str::to_string))
        .unwrap_or_default();
    format!("arn:aws:events:{}:{account}:rule/{rule}", observed.region)
}

/// What a standard function's warm-up costs a month, in dollars (`None` for a custom cron,
/// whose rate is not estimated).
pub(super) fn monthly(
    desired: &Desired,
    cs: &Settings,
    summary: &crate::model::FunctionSummary,
    rule: &FunctionRule,
) -> Option<f64> {
    let ws = &cs.warmup;
    let configured = overrides(rule)
        .warmup_schedule
        .as_deref()
        .unwrap_or(&ws.schedule);
    let (_, every) = spread_schedule(configured, &summary.name).ok()?;
    let concurrency = overrides(rule).warmup_concurrency.unwrap_or(ws.concurrency);
    Some(warmup_monthly(
        &desired.prices,
        summary.architecture,
        summary.memory_mb,
        every?,
        concurrency,
        ws.assumed_duration_ms,
    ))
}

/// Plans the warm-up of a standard function. Returns false when it cannot be built this cycle.
pub(super) fn build(
    desired: &Desired,
    cs: &Settings,
    observed: &Observed,
    func: &Func,
    rule: &FunctionRule,
    plan: &mut Plan,
) -> bool {
    let (name, own) = (func.name, &desired.ownership);
    let ws = &cs.warmup;
    let rn = warmup_rule_name(&own.name_prefix, name);
    let configured = overrides(rule)
        .warmup_schedule
        .as_deref()
        .unwrap_or(&ws.schedule);
    let (schedule, every) = match spread_schedule(configured, name) {
        Ok(s) => s,
        Err(why) => {
            plan.refusals.push(Refusal {
                kind: ResourceKind::Rule,
                id: rn,
                reason: why,
            });
            return false;
        }
    };
    let marked = func.tags.value(TAG_WARMUP) == Some(rn.as_str());
    let live = observed.rules.get(&rn);
    if live.is_some() && !may_change(own, marked, &rn) {
        plan.refusals.push(
            Foreign {
                kind: ResourceKind::Rule,
                id: &rn,
                what: "a rule with this name exists but trimtab did not build it".into(),
                evidence: format!("{name} carries no {TAG_WARMUP}={rn} tag"),
                left_alone: "it is left alone",
                adopt_id: &rn,
            }
            .refusal(),
        );
        return false;
    }

    let concurrency = overrides(rule).warmup_concurrency.unwrap_or(ws.concurrency);
    let s = &func.f.summary;
    let want_rule = Rule {
        name: rn.clone(),
        schedule_expression: Some(schedule.clone()),
        description: Some(format!(
            "Warm-up of Lambda function {name}: keeps {concurrency} instance(s) warm. Managed by trimtab: edit the desired-state file, not this rule."
        )),
        state: RuleState::Enabled,
    };
    let want_target = RuleTarget {
        id: WARMUP_TARGET_ID.into(),
        arn: s.arn.clone(),
        input: Some(warmup_input(name, concurrency)),
    };
    let sid = warmup_statement_id(&own.name_prefix);
    let want_perm = Permission {
        statement_id: sid.clone(),
        action: ACTION.into(),
        principal: PRINCIPAL.into(),
        source_arn: Some(rule_arn(observed, &s.arn, &rn)),
        qualifier: None,
    };
    let live_target = observed
        .rule_targets
        .get(&rn)
        .and_then(|ts| ts.iter().find(|t| t.id == WARMUP_TARGET_ID));
    let complete = marked && live.is_some() && live_target.is_some();
    let add = Write::AddPermission {
        function: name.to_string(),
        permission: want_perm.clone(),
    };
    let live_perm = observed
        .permissions
        .get(name)
        .map(|ps| ps.iter().find(|p| p.statement_id == sid));
    let (perm_action, perm_writes) = match live_perm {
        Some(Some(p)) if *p == want_perm => (Action::Update, Vec::new()),
        // Statement ids are unique per policy: replacing one means removing it first.
        Some(Some(_)) => (
            Action::Update,
            vec![
                Write::RemovePermission {
                    function: name.to_string(),
                    statement_id: sid.clone(),
                    qualifier: None,
                },
                add,
            ],
        ),
        Some(None) => (Action::Create, vec![add]),
        // Not read this cycle: observe re-reads policies of complete warm-ups only now and
        // then, so a complete one is assumed to have its statement.
        None if complete => (Action::Update, Vec::new()),
        None => (Action::Create, vec![add]),
    };
    let perm_diffs = match live_perm {
        Some(Some(p)) => {
            let mut d = Vec::new();
            diff(&mut d, "action", p.action.clone(), want_perm.action.clone());
            diff(
                &mut d,
                "principal",
                p.principal.clone(),
                want_perm.principal.clone(),
            );
            diff(
                &mut d,
                "source_arn",
                opt(&p.source_arn),
                opt(&want_perm.source_arn),
            );
            diff(
                &mut d,
                "qualifier",
                opt(&p.qualifier),
                opt(&want_perm.qualifier),
            );
            d
        }
        _ => Vec::new(),
    };

    let cost = every.map_or_else(
        || "cost not estimated for a custom cron".to_string(),
        |n| {
            let c = warmup_monthly(
                &desired.prices,
                s.architecture,
                s.memory_mb,
                n,
                concurrency,
                ws.assumed_duration_ms,
            );
            format!("≈ {}/month", dollars(c))
        },
    );
    let why = format!("standard tier: warm-up of {concurrency} instance(s) on {schedule} ({cost})");

    // One change per resource. A new rule (marker first) goes in PREPARE, so that in BUILD its
    // target and the permission to invoke can be added to it.
    let marker = Write::TagFunction {
        arn: s.arn.clone(),
        tags: Tags::from([(TAG_WARMUP.to_string(), rn.clone())]),
    };
    let put_rule = Write::PutRule {
        rule: want_rule.clone(),
        tags: Tags::from([own.tag()]),
    };
    match live {
        None => plan.changes.push(Change {
            kind: ResourceKind::Rule,
            id: rn.clone(),
            action: Action::Create,
            diffs: Vec::new(),
            reason: format!("{why}: scheduled rule {rn}"),
            phase: Phase::Prepare,
            writes: if marked {
                vec![put_rule]
            } else {
                vec![marker, put_rule]
            },
        }),
        Some(live) => {
            let mut diffs = Vec::new();
            let mut writes = Vec::new();
            if !marked {
                diff(
                    &mut diffs,
                    &format!("tags.{TAG_WARMUP}"),
                    opt(&func.tags.value(TAG_WARMUP).map(str::to_string)),
                    rn.clone(),
                );
                writes.push(marker);
            }
            let before = diffs.len();
            diff(
                &mut diffs,
                "schedule_expression",
                opt(&live.rule.schedule_expression),
                schedule.clone(),
            );
            diff(
                &mut diffs,
                "state",
                format!("{:?}", live.rule.state),
                format!("{:?}", RuleState::Enabled),
            );
            diff(
                &mut diffs,
                "description",
                opt(&live.rule.description),
                opt(&want_rule.description),
            );
            if diffs.len() > before {
                writes.push(put_rule);
            }
            if !writes.is_empty() {
                plan.changes.push(Change {
                    kind: ResourceKind::Rule,
                    id: rn.clone(),
                    action: Action::Update,
                    reason: format!("drift in {} ({why})", fields(&diffs)),
                    diffs,
                    phase: Phase::Build,
                    writes,
                });
            }
        }
    }

    let target_change = match live_target {
        None => Some((
            Action::Create,
            Vec::new(),
            format!("{why}: rule {rn} invokes {name} with the warm-up event"),
        )),
        Some(t) => {
            let mut d = Vec::new();
            diff(&mut d, "arn", t.arn.clone(), want_target.arn.clone());
            diff(&mut d, "input", opt(&t.input), opt(&want_target.input));
            let reason = format!("drift in {} ({why})", fields(&d));
            (!d.is_empty()).then_some((Action::Update, d, reason))
        }
    };
    if let Some((action, diffs, reason)) = target_change {
        plan.changes.push(Change {
            kind: ResourceKind::RuleTarget,
            id: rn.clone(),
            action,
            diffs,
            reason,
            phase: Phase::Build,
            writes: vec![Write::PutTargets {
                rule: rn.clone(),
                targets: vec![want_target],
            }],
        });
    }
    if !perm_writes.is_empty() {
        let reason = match perm_action {
            Action::Create => format!("{why}: statement {sid} lets rule {rn} invoke {name}"),
            _ => format!("drift in {} ({why})", fields(&perm_diffs)),
        };
        plan.changes.push(Change {
            kind: ResourceKind::Permission,
            id: name.to_string(),
            action: perm_action,
            diffs: perm_diffs,
            reason,
            phase: Phase::Build,
            writes: perm_writes,
        });
    }
    true
}

/// The writes removing warm-up rule `rn` of `function`, for what observation shows. A rule that
/// also has targets trimtab did not add is kept (only trimtab's target leaves it).
fn teardown(
    desired: &Desired,
    observed: &Observed,
    function: Option<&str>,
    rn: &str,
) -> (Vec<Write>, bool) {
    let targets = observed
        .rule_targets
        .get(rn)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let foreign = targets.iter().any(|t| t.id != WARMUP_TARGET_ID);
    let mut writes = Vec::new();
    if targets.iter().any(|t| t.id == WARMUP_TARGET_ID) {
        writes.push(Write::RemoveTargets {
            rule: rn.to_string(),
            ids: vec![WARMUP_TARGET_ID.into()],
        });
    }
    if observed.rules.contains_key(rn) && !foreign {
        writes.push(Write::DeleteRule {
            name: rn.to_string(),
        });
    }
    if let Some(function) = function {
        let sid = warmup_statement_id(&desired.ownership.name_prefix);
        // Unread (None) policies are assumed to hold the statement the marker vouches for.
        let present = observed
            .permissions
            .get(function)
            .is_none_or(|ps| ps.iter().any(|p| p.statement_id == sid));
        if present {
            writes.push(Write::RemovePermission {
                function: function.to_string(),
                statement_id: sid,
                qualifier: None,
            });
        }
    }
    (writes, foreign)
}

/// The teardown of the warm-up the marker says trimtab built: target, rule, permission, marker.
pub(super) fn remove(
    desired: &Desired,
    observed: &Observed,
    func: &Func,
    rn: &str,
    untag: bool,
    cause: &str,
) -> Change {
    let (mut writes, foreign) = teardown(desired, observed, Some(func.name), rn);
    if untag {
        writes.push(Write::UntagFunction {
            arn: func.f.summary.arn.clone(),
            keys: vec![TAG_WARMUP.to_string()],
        });
    }
    let kept = if foreign {
        "; the rule stays, as it has targets trimtab did not add"
    } else {
        ""
    };
    Change {
        kind: ResourceKind::Rule,
        id: rn.to_string(),
        action: Action::Delete,
        diffs: Vec::new(),
        reason: format!(
            "{cause}: removing the warm-up trimtab built for {}{kept}",
            func.name
        ),
        phase: Phase::Teardown,
        writes,
    }
}

/// The function a warm-up target invokes, from its ARN.
fn function_of(arn: &str) -> Option<&str> {
    let (_, rest) = arn.split_once(":function:")?;
    Some(rest.split(':').next().unwrap_or(rest))
}

/// trimtab's warm-up rules (name prefix and trimtab's target id) that no in-scope function
/// answers for: their function left the config or was deleted.
pub(super) fn prune(
    desired: &Desired,
    observed: &Observed,
    claimed: &std::collections::BTreeSet<String>,
    plan: &mut Plan,
) {
    let prefix = warmup_rule_prefix(&desired.ownership.name_prefix);
    for rn in observed.rules.keys() {
        if !rn.starts_with(&prefix) || claimed.contains(rn) {
            continue;
        }
        let targets = observed
            .rule_targets
            .get(rn)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let ours = targets.iter().find(|t| t.id == WARMUP_TARGET_ID);
        let function = ours.and_then(|t| function_of(&t.arn));
        if function.is_some_and(|f| {
            observed.unknown_functions.contains(f) || observed.functions.contains_key(f)
        }) || (ours.is_none() && !targets.is_empty())
        {
            // Still in scope (its marker names another rule), unknown, or not trimtab's target.
            continue;
        }
        let whose = function.map_or_else(
            || "an unknown function (the rule has no target)".to_string(),
            str::to_string,
        );
        if !desired.ownership.prune {
            plan.refusals.push(Refusal {
                kind: ResourceKind::Rule,
                id: rn.clone(),
                reason: format!(
                    "trimtab's warm-up of {whose}, no longer in scope, but prune is off"
                ),
            });
            continue;
        }
        let (mut writes, foreign) = teardown(desired, observed, function, rn);
        if let Some(t) = ours {
            writes.push(Write::UntagFunction {
                arn: t.arn.clone(),
                keys: vec![TAG_WARMUP.to_string()],
            });
        }
        let kept = if foreign {
            "; the rule stays, as it has targets trimtab did not add"
        } else {
            ""
        };
        plan.changes.push(Change {
            kind: ResourceKind::Rule,
            id: rn.clone(),
            action: Action::Delete,
            diffs: Vec::new(),
            reason: format!(
                "warm-up of {whose}, which is no longer in scope (it left the config or was deleted), and prune is on{kept}"
            ),
            phase: Phase::Teardown,
            writes,
        });
    }
}
