//! How plans and apply results look to people (text) and machines (JSON).

use std::fmt::Write as _;

use serde::Serialize;

use crate::controllers::shared::cost::dollars;
use crate::model::{Action, Plan, Recommendation, SizingState};

use super::apply::{ApplyReport, Outcome};

/// `+ create`, `~ update` (each changed field old → new), `- delete`, each with its reason,
/// then what trimtab refuses to do and why.
pub fn plan_text(plan: &Plan) -> String {
    let mut out = String::new();
    if plan.changes.is_empty() {
        out.push_str("no changes: the account matches the desired state.\n");
    } else {
        let count = |a: Action| plan.changes.iter().filter(|c| c.action == a).count();
        let _ = writeln!(
            out,
            "Plan: {} to create, {} to update, {} to delete.\n",
            count(Action::Create),
            count(Action::Update),
            count(Action::Delete)
        );
        for change in &plan.changes {
            let _ = writeln!(
                out,
                "{} {} {} {}",
                change.action.sigil(),
                change.action.as_str(),
                change.kind,
                change.id
            );
            for diff in &change.diffs {
                let _ = writeln!(out, "    {}: {} → {}", diff.field, diff.old, diff.new);
            }
            let _ = writeln!(out, "    reason: {}", change.reason);
        }
    }
    if !plan.refusals.is_empty() {
        let _ = writeln!(out, "\nNot changed ({}):", plan.refusals.len());
        for r in &plan.refusals {
            let _ = writeln!(out, "! {} {}\n    reason: {}", r.kind, r.id, r.reason);
        }
    }
    if !plan.notes.is_empty() {
        let _ = writeln!(out, "\nNotes ({}):", plan.notes.len());
        for n in &plan.notes {
            let _ = writeln!(out, "? {} {}\n    {}", n.controller, n.id, n.message);
        }
    }
    right_sizing_text(&mut out, &plan.recommendations);
    if let Some(cost) = &plan.cost {
        let _ = writeln!(out);
        out.push_str(&cost_text(cost));
    }
    out
}

/// The cost model's estimate: per student, the total and its breakdown, with sources.
pub fn cost_text(c: &crate::model::cost::CostReport) -> String {
    let mut out = String::new();
    let cur = &c.currency;
    let window_h = c.window_s as f64 / 3_600.0;
    match (c.per_student_monthly, c.students) {
        (Some(p), Some(n)) => {
            let verdict = if p > c.target_per_student.1 {
                "ABOVE the target"
            } else if p < c.target_per_student.0 {
                "below the target range"
            } else {
                "within the target"
            };
            let _ = writeln!(
                out,
                "Cost per student: {p:.2} {cur} a month ({n:.0} active students; target {}–{} {cur}: {verdict})",
                c.target_per_student.0, c.target_per_student.1
            );
        }
        _ => {
            let _ = writeln!(out, "Cost per student: unknown (no active students figure)");
        }
    }
    let _ = writeln!(
        out,
        "Monthly run rate: {:.2} {cur} (projected from the last {window_h:.0} h)",
        c.total_monthly
    );
    let width = c
        .components
        .iter()
        .map(|x| x.component.len())
        .max()
        .unwrap_or(9)
        .max(9);
    let _ = writeln!(
        out,
        "\n  {:<width$}  {:>12}  source",
        "component",
        format!("{cur}/month")
    );
    for x in &c.components {
        let _ = writeln!(
            out,
            "  {:<width$}  {:>12.2}  {}",
            x.component, x.monthly, x.source
        );
    }
    let _ = writeln!(out, "  students: {}", c.students_source);
    let _ = writeln!(out, "  prices: {}", c.prices);
    let means =
        "trimtab's means (warm-ups, provisioned concurrency, its alarms, metrics and reads)";
    let _ = writeln!(out, "  {means}: {:.2} {cur} a month", c.means_monthly);
    let realised = c.right_sizing_realised.unwrap_or(0.0);
    let available = c.right_sizing_available.unwrap_or(0.0);
    if c.right_sizing_realised.is_some() || c.right_sizing_available.is_some() {
        let _ = writeln!(
            out,
            "  right-sizing: saves {realised:.2} {cur} a month already, {available:.2} more to take"
        );
    }
    if realised + available > 0.0 {
        let _ = writeln!(
            out,
            "  the means are {:.1} % of what right-sizing saves and could save",
            100.0 * c.means_monthly / (realised + available)
        );
    }
    if let Some(share) = c.cheap_model_share {
        let _ = writeln!(out, "  Bedrock tokens on the cheap models: {share:.1} %");
    }
    for w in &c.warnings {
        let _ = writeln!(out, "  warning: {w}");
    }
    out
}

/// Right-sizing's recommendations: a count per state, then every function that is not
/// already at its best size (a fleet of optimal functions stays one line).
fn right_sizing_text(out: &mut String, recs: &[Recommendation]) {
    if recs.is_empty() {
        return;
    }
    let mut counts: Vec<(SizingState, usize)> = SizingState::ALL
        .iter()
        .map(|s| (*s, recs.iter().filter(|r| r.state == *s).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    counts.sort();
    let summary: Vec<String> = counts
        .iter()
        .map(|(s, n)| format!("{n} {}", s.as_str().replace('_', " ")))
        .collect();
    // Functions without enough data carry no saving.
    let saving = crate::model::rightsizing::saving_available(recs);
    let _ = writeln!(
        out,
        "\nRight-sizing ({} functions: {}; {} a month to save):",
        recs.len(),
        summary.join(", "),
        dollars(saving)
    );
    for r in recs.iter().filter(|r| r.state != SizingState::Optimal) {
        let _ = writeln!(out, "* {} [{}, {}]", r.function, r.state.as_str(), r.mode);
        let c = &r.current;
        match &r.proposed {
            Some(p) if p.memory_mb != c.memory_mb || p.timeout_s != c.timeout_s => {
                let ms = |v: Option<f64>| v.map_or("?".to_string(), |v| format!("{v:.0} ms"));
                let cost = |v: Option<f64>| v.map_or("?".to_string(), dollars);
                let _ = writeln!(
                    out,
                    "    memory {} → {} MB{}, timeout {} → {} s",
                    c.memory_mb,
                    p.memory_mb,
                    r.next_memory_mb
                        .filter(|n| *n != p.memory_mb)
                        .map_or(String::new(), |n| format!(" (next step {n} MB)")),
                    c.timeout_s,
                    p.timeout_s
                );
                let _ = writeln!(
                    out,
                    "    {}: {} → {} (predicted); cost {} → {} a month, saving {}; confidence {}",
                    r.objective,
                    ms(c.latency_ms),
                    ms(p.latency_ms),
                    cost(c.monthly_cost),
                    cost(p.monthly_cost),
                    cost(r.monthly_saving),
                    r.confidence_label()
                );
            }
            _ => {}
        }
        let _ = writeln!(out, "    reason: {}", r.reason);
        if !r.evidence.is_empty() {
            let _ = writeln!(
                out,
                "    evidence: {} [signals: {}]",
                r.evidence,
                r.signals.join(", ")
            );
        }
    }
}

#[derive(Serialize)]
struct PlanJson<'a> {
    in_sync: bool,
    create: usize,
    update: usize,
    delete: usize,
    #[serde(flatten)]
    plan: &'a Plan,
}

pub fn plan_json(plan: &Plan) -> String {
    let count = |a: Action| plan.changes.iter().filter(|c| c.action == a).count();
    let doc = PlanJson {
        in_sync: plan.changes.is_empty(),
        create: count(Action::Create),
        update: count(Action::Update),
        delete: count(Action::Delete),
        plan,
    };
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// One line per change: done, failed (with the error), or skipped.
pub fn apply_text(report: &ApplyReport) -> String {
    let mut out = String::new();
    for o in &report.outcomes {
        let _ = match &o.outcome {
            Outcome::Applied => writeln!(out, "{} {} {}: done", o.action.sigil(), o.kind, o.id),
            Outcome::Failed { error } => writeln!(
                out,
                "{} {} {}: FAILED: {error}",
                o.action.sigil(),
                o.kind,
                o.id
            ),
            Outcome::Skipped => writeln!(
                out,
                "{} {} {}: skipped (shutting down)",
                o.action.sigil(),
                o.kind,
                o.id
            ),
        };
    }
    let _ = writeln!(
        out,
        "\nApply: {} done, {} failed, {} skipped.",
        report.applied(),
        report.failed(),
        report.skipped()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Change, FieldDiff, Refusal, ResourceKind, Write};

    #[test]
    fn empty_plan_says_no_changes() {
        assert!(plan_text(&Plan::default()).starts_with("no changes"));
    }

    #[test]
    fn update_shows_each_field_old_to_new_and_the_reason() {
        let plan = Plan {
            changes: vec![Change {
                kind: ResourceKind::Alarm,
                id: "trimtab-lambda-f-throttles".into(),
                action: Action::Update,
                diffs: vec![FieldDiff {
                    field: "threshold".into(),
                    old: "20".into(),
                    new: "10".into(),
                }],
                reason: "drift in threshold".into(),
                phase: crate::model::Phase::Monitoring,
                writes: vec![Write::DeleteAlarms { names: vec![] }],
            }],
            refusals: vec![Refusal {
                kind: ResourceKind::Alarm,
                id: "x".into(),
                reason: "not owned".into(),
            }],
            ..Plan::default()
        };
        let text = plan_text(&plan);
        assert_eq!(
            text,
            "Plan: 0 to create, 1 to update, 0 to delete.\n\n~ update alarm trimtab-lambda-f-throttles\n    threshold: 20 → 10\n    reason: drift in threshold\n\nNot changed (1):\n! alarm x\n    reason: not owned\n"
        );
        let json: serde_json::Value = serde_json::from_str(&plan_json(&plan)).expect("json");
        assert_eq!(json["update"], 1);
        assert_eq!(json["changes"][0]["diffs"][0]["new"], "10");
    }
}
