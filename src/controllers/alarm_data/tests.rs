//! The alarm-data controller: which metric names it lists and when, and which alarms it notes.

use std::collections::BTreeSet;
use std::time::Duration;

use super::*;
use crate::controllers::alarms::desired_alarms;
use crate::controllers::fixtures::{TOPIC_ARN, desired, observed, with_alarms};
use crate::controllers::{Facts, Registered};
use crate::model::{Desired, Dimension, Observed, Plan};

/// The fixture account with every alarm the fixture desires in place (owned).
fn with_owned_alarms() -> (Desired, Observed) {
    let d = desired();
    let specs = desired_alarms(&d, &d.controllers.alarms, &observed(), &[TOPIC_ARN.into()])
        .into_iter()
        .map(|a| a.spec);
    let mut o = with_alarms(observed(), specs);
    o.reads.record(Read::Alarms {
        prefix: "trimtab-".into(),
    });
    (d, o)
}

fn reads_of(d: &Desired, o: &Observed, memory: &mut Memory) -> Vec<Read> {
    let facts = Facts::default();
    let mut reads = Reads::default();
    AlarmData::reads(&Cx::<AlarmData>::new(d, o, &facts), memory, &mut reads);
    let mut v: Vec<Read> = reads.wants.into_keys().collect();
    v.sort();
    v
}

fn plan_of(d: &Desired, o: &Observed, memory: &mut Memory) -> Plan {
    let facts = Facts::default();
    let mut out = Planned::default();
    AlarmData::plan(&Cx::<AlarmData>::new(d, o, &facts), memory, &mut out);
    out.plan
}

fn names(reads: &[Read]) -> Vec<String> {
    reads
        .iter()
        .filter_map(|r| match r {
            Read::MetricNames { namespace, name } => Some(format!("{namespace}/{name}")),
            _ => None,
        })
        .collect()
}

/// ListMetrics found these series of `namespace/name`.
fn listed(o: &mut Observed, namespace: &str, name: &str, ids: Vec<MetricId>) {
    o.metric_names
        .insert((namespace.into(), name.into()), ids.into_iter().collect());
}

fn lambda(metric: &str, function: &str) -> MetricId {
    MetricId::new(
        "AWS/Lambda",
        metric,
        vec![Dimension::new("FunctionName", function)],
    )
}

#[test]
fn lists_every_watched_metric_name_once_when_memory_is_empty() {
    let (d, o) = with_owned_alarms();
    let mut m = Memory::default();
    assert_eq!(
        names(&reads_of(&d, &o, &mut m)),
        [
            "AWS/DynamoDB/ReadThrottleEvents",
            "AWS/DynamoDB/WriteThrottleEvents",
            "AWS/Lambda/Duration",
            "AWS/Lambda/Errors",
            "AWS/Lambda/Invocations",
            "AWS/Lambda/Throttles",
            "VoiceLearning/CacheHits",
            "VoiceLearning/CacheMisses",
            "VoiceLearning/CostPerStudentMonthly",
        ]
    );
    // Before the alarms are read it asks for them, and for nothing else.
    let mut unread = o.clone();
    unread.reads = Default::default();
    assert_eq!(
        reads_of(&d, &unread, &mut m),
        [Read::Alarms {
            prefix: "trimtab-".into()
        }]
    );
}

#[test]
fn notes_alarms_whose_metric_has_no_data_and_only_those() {
    let (d, mut o) = with_owned_alarms();
    for m in ["Duration", "Errors", "Invocations", "Throttles"] {
        // worker-a has no traffic: none of its series exist.
        listed(&mut o, "AWS/Lambda", m, vec![lambda(m, "api")]);
    }
    listed(&mut o, "AWS/DynamoDB", "ReadThrottleEvents", vec![]);
    listed(&mut o, "AWS/DynamoDB", "WriteThrottleEvents", vec![]);
    listed(&mut o, "VoiceLearning", "CacheHits", vec![]);
    listed(&mut o, "VoiceLearning", "CacheMisses", vec![]);
    let cost = MetricId::new("VoiceLearning", "CostPerStudentMonthly", vec![]);
    listed(&mut o, "VoiceLearning", "CostPerStudentMonthly", vec![cost]);
    let mut m = Memory::default();
    let plan = plan_of(&d, &o, &mut m);
    let noted: BTreeSet<&str> = plan.notes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(
        noted.into_iter().collect::<Vec<_>>(),
        [
            "trimtab-app-cache-hit-rate",
            "trimtab-dynamodb-sessions-throttles",
            "trimtab-lambda-worker-a-duration-p95",
            "trimtab-lambda-worker-a-error-rate",
            "trimtab-lambda-worker-a-throttles",
        ]
    );
    assert!(plan.changes.is_empty() && plan.refusals.is_empty(), "it never writes");
    assert!(plan.notes.iter().all(|n| n.code == NO_DATA && n.controller == "alarm_data"));
    let cache = plan
        .notes
        .iter()
        .find(|n| n.id == "trimtab-app-cache-hit-rate")
        .map(|n| n.message.as_str())
        .unwrap_or_default();
    assert!(cache.contains("VoiceLearning/CacheHits"), "{cache}");
    // Two metrics of one alarm missing: one note each.
    assert_eq!(
        plan.notes
            .iter()
            .filter(|n| n.id == "trimtab-app-cache-hit-rate")
            .count(),
        2
    );
}

#[test]
fn remembers_what_it_listed_and_relists_a_share_once_stale() {
    let (d, mut o) = with_owned_alarms();
    for m in ["Duration", "Errors", "Invocations", "Throttles"] {
        listed(&mut o, "AWS/Lambda", m, vec![lambda(m, "api")]);
    }
    let mut m = Memory::default();
    plan_of(&d, &o, &mut m);
    // The next cycle, what was listed is fresh: only the names not listed yet are asked for.
    let mut next = o.clone();
    next.metric_names.clear();
    next.at += Duration::from_secs(60);
    assert_eq!(
        names(&reads_of(&d, &next, &mut m)),
        [
            "AWS/DynamoDB/ReadThrottleEvents",
            "AWS/DynamoDB/WriteThrottleEvents",
            "VoiceLearning/CacheHits",
            "VoiceLearning/CacheMisses",
            "VoiceLearning/CostPerStudentMonthly",
        ]
    );
    // What it remembers still produces the notes without a read.
    let plan = plan_of(&d, &next, &mut m);
    assert!(plan.notes.iter().any(|n| n.id == "trimtab-lambda-worker-a-throttles"));
    // Once stale, ⌈9 names × 60 s / 6 h⌉ = 1 a cycle, oldest first.
    let mut later = next.clone();
    later.at += RECHECK;
    for (ns, n) in [
        ("AWS/DynamoDB", "ReadThrottleEvents"),
        ("AWS/DynamoDB", "WriteThrottleEvents"),
        ("VoiceLearning", "CacheHits"),
        ("VoiceLearning", "CacheMisses"),
        ("VoiceLearning", "CostPerStudentMonthly"),
    ] {
        m.listed
            .insert((ns.into(), n.into()), (later.at, Listed::default()));
    }
    assert_eq!(names(&reads_of(&d, &later, &mut m)).len(), 1);
}

#[test]
fn disabled_reads_and_notes_nothing() {
    let (mut d, o) = with_owned_alarms();
    d.controllers.alarm_data.enabled = false;
    let mut m = Memory::default();
    assert!(reads_of(&d, &o, &mut m).is_empty());
    assert!(plan_of(&d, &o, &mut m).notes.is_empty());
    assert!(AlarmData::of(&d.controllers).recheck == RECHECK);
}

#[test]
fn settings_are_checked_like_every_other_section() {
    let text = "[cloud]\nbackend = \"simulated\"\n[alarm_data]\nrecheck = \"soon\"\nenable = false\n[[functions]]\nname = \"f\"\n";
    let err = crate::config::parse(text, "t.toml")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert_eq!(
        err,
        "t.toml:4:11: `alarm_data.recheck`: invalid duration \"soon\"; write a number and a unit, e.g. \"250ms\", \"60s\", \"5m\" or \"1h30m\"\n\
         t.toml:5:1: unknown key `enable` in [alarm_data]; did you mean `enabled`?"
    );
    let ok = crate::config::parse(
        "[cloud]\nbackend = \"simulated\"\n[alarm_data]\nenabled = false\nrecheck = \"1h\"\n",
        "t.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let s = AlarmData::of(&ok.controllers);
    assert_eq!((s.enabled, s.recheck), (false, Duration::from_secs(3600)));
    let too_long = crate::config::parse(
        "[cloud]\nbackend = \"simulated\"\n[alarm_data]\nrecheck = \"30d\"\n",
        "t.toml",
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert_eq!(
        too_long,
        "t.toml:4:11: `alarm_data.recheck` must be between 1m and 168h, found 720h"
    );
}
