//! How plans and apply results look to people (text) and machines (JSON).

use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{Action, Plan};

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
    out
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
            notes: Vec::new(),
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
