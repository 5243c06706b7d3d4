//! The dashboard's plan: create, leave alone when equal, repair an edit, refuse someone
//! else's, delete when turned off; and what the body shows.

use serde_json::Value;

use super::{Dashboard, Memory, Settings};
use crate::controllers::fixtures;
use crate::controllers::{Controller, Cx, Facts, Planned};
use crate::model::{Action, Desired, Observed, ResourceKind, Write};

fn plan(desired: &Desired, observed: &Observed, memory: &mut Memory) -> Planned {
    let facts = Facts::default();
    let cx = Cx::<Dashboard>::new(desired, observed, &facts);
    let mut out = Planned::default();
    Dashboard::plan(&cx, memory, &mut out);
    out
}

fn with(body: Option<&str>) -> (Desired, Observed) {
    let d = fixtures::desired();
    let mut o = fixtures::observed();
    o.dashboards
        .insert("trimtab-application".into(), body.map(str::to_string));
    (d, o)
}

fn written(p: &Planned) -> (Action, String) {
    match p.plan.changes.as_slice() {
        [c] => match c.writes.as_slice() {
            [Write::PutDashboard { body, .. }] => (c.action, body.clone()),
            other => panic!("{other:?}"),
        },
        other => panic!("one change expected: {other:?}"),
    }
}

#[test]
fn creates_then_leaves_an_equal_dashboard_alone() {
    let (d, o) = with(None);
    let (action, body) = written(&plan(&d, &o, &mut Memory::default()));
    assert_eq!(action, Action::Create);
    // The same body back (reformatted, as CloudWatch may): nothing to do.
    let pretty = serde_json::to_string_pretty(&serde_json::from_str::<Value>(&body).unwrap()).unwrap();
    let (d, o) = with(Some(&pretty));
    assert!(plan(&d, &o, &mut Memory::default()).plan.changes.is_empty());
}

/// A body found equal is remembered, and the memory never hides an edit or a new desired body.
#[test]
fn a_remembered_match_still_sees_an_edit_and_a_new_body() {
    let (d, o) = with(None);
    let (_, body) = written(&plan(&d, &o, &mut Memory::default()));
    let mut memory = Memory::default();
    let (d, o) = with(Some(&body));
    for _ in 0..2 {
        assert!(plan(&d, &o, &mut memory).plan.changes.is_empty());
        assert!(memory.matched.is_some());
    }
    let edited = body.replace("\"p99\"", "\"p90\"");
    let (_, edited_o) = with(Some(&edited));
    let (action, repaired) = written(&plan(&d, &edited_o, &mut memory));
    assert_eq!((action, repaired), (Action::Update, body.clone()));
    // A write planned: nothing is held for it until it is read back.
    assert!(memory.matched.is_none());
    // The same text, another desired body (one function less on the graphs).
    assert!(plan(&d, &o, &mut memory).plan.changes.is_empty());
    let mut fewer = o.clone();
    let gone = fewer.functions.keys().next().cloned().unwrap();
    fewer.functions.remove(&gone);
    let (action, _) = written(&plan(&d, &fewer, &mut memory));
    assert_eq!(action, Action::Update);
}

#[test]
fn an_edit_is_repaired_and_someone_elses_dashboard_is_left_alone() {
    let (d, o) = with(None);
    let (_, body) = written(&plan(&d, &o, &mut Memory::default()));
    let edited = body.replace("\"p99\"", "\"p90\"");
    assert_ne!(edited, body);
    let (d, o) = with(Some(&edited));
    let (action, repaired) = written(&plan(&d, &o, &mut Memory::default()));
    assert_eq!((action, repaired), (Action::Update, body));

    let (d, o) = with(Some(r#"{"widgets": []}"#));
    let p = plan(&d, &o, &mut Memory::default());
    assert!(p.plan.changes.is_empty());
    assert_eq!(p.plan.refusals.len(), 1);
    assert_eq!(p.plan.refusals[0].kind, ResourceKind::Dashboard);
}

#[test]
fn not_read_means_no_change_and_turning_it_off_deletes_only_ours() {
    // Never read and not remembered: nothing is assumed.
    let d = fixtures::desired();
    let o = fixtures::observed();
    assert!(plan(&d, &o, &mut Memory::default()).plan.changes.is_empty());

    let (mut d, o) = with(None);
    let (_, body) = written(&plan(&d, &o, &mut Memory::default()));
    d.controllers.dashboard = Settings {
        enabled: false,
        ..Settings::default()
    };
    let mut o2 = o.clone();
    o2.dashboards
        .insert("trimtab-application".into(), Some(body));
    let p = plan(&d, &o2, &mut Memory::default());
    assert!(matches!(
        p.plan.changes.as_slice(),
        [c] if c.action == Action::Delete && matches!(c.writes.as_slice(), [Write::DeleteDashboard { .. }])
    ));
    o2.dashboards
        .insert("trimtab-application".into(), Some(r#"{"widgets": []}"#.into()));
    assert!(plan(&d, &o2, &mut Memory::default()).plan.changes.is_empty());
}

#[test]
fn the_body_shows_the_seeds_key_metrics() {
    let (d, o) = with(None);
    let (_, body) = written(&plan(&d, &o, &mut Memory::default()));
    let v: Value = serde_json::from_str(&body).unwrap();
    let titles: Vec<&str> = v["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["properties"]["title"].as_str())
        .collect();
    for want in [
        "Response time, average (ms)",
        "Response time, p95 (ms)",
        "Response time, p99 (ms)",
        "Error rate (%)",
        "Cache hit rate (%)",
        "Cost per student (INR a month)",
        "Monthly run rate (INR)",
        "Concurrent executions (max) and throttles",
        "DynamoDB throttle events",
        "Bedrock tokens by model",
    ] {
        assert!(titles.contains(&want), "{want} missing from {titles:?}");
    }
    // Every graph has something to draw, and the text carries the ownership marker.
    assert!(body.contains("managed-by=trimtab"), "{body}");
}
