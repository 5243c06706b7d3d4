//! Table-driven tests of the alarms controller.

use super::*;
use crate::controllers::fixtures::{self, TOPIC_ARN, desired, observed, with_alarms};
use crate::controllers::plan as full_plan;
use crate::model::MissingData;

/// The alarms controller's plan with the settings in `d`.
fn plan(d: &Desired, o: &Observed, topic: &TopicRef) -> Plan {
    super::plan(d, &d.controllers.alarms, o, topic)
}

fn topic() -> TopicRef {
    TopicRef::Known(TOPIC_ARN.into())
}

fn in_sync() -> Observed {
    let d = desired();
    let specs: Vec<AlarmSpec> = desired_alarms(
        &d,
        &d.controllers.alarms,
        &observed(),
        &[TOPIC_ARN.to_string()],
    )
    .into_iter()
    .map(|a| a.spec)
    .collect();
    with_alarms(observed(), specs)
}

fn ids(plan: &Plan, action: Action) -> Vec<String> {
    plan.changes
        .iter()
        .filter(|c| c.action == action)
        .map(|c| c.id.clone())
        .collect()
}

#[test]
fn converges_from_empty_with_every_alarm_kind() {
    let plan = plan(&desired(), &observed(), &topic());
    assert_eq!(
        ids(&plan, Action::Create),
        vec![
            "trimtab-lambda-api-duration-p95",
            "trimtab-lambda-api-error-rate",
            "trimtab-lambda-api-throttles",
            "trimtab-lambda-worker-a-duration-p95",
            "trimtab-lambda-worker-a-error-rate",
            "trimtab-lambda-worker-a-throttles",
            "trimtab-dynamodb-sessions-throttles",
            "trimtab-app-cache-hit-rate",
            "trimtab-app-cost-per-student",
        ]
    );
    assert!(plan.refusals.is_empty());
    for change in &plan.changes {
        let [Write::PutMetricAlarm { alarm }] = change.writes.as_slice() else {
            panic!("create must be one PutMetricAlarm: {change:?}");
        };
        assert_eq!(
            alarm.tags.value("managed-by"),
            Some("trimtab")
        );
        assert!(alarm.tags.contains_key(TARGET_TAG));
        assert_eq!(alarm.alarm_actions, vec![TOPIC_ARN.to_string()]);
        assert_eq!(alarm.ok_actions, vec![TOPIC_ARN.to_string()]);
        assert!(!change.reason.is_empty());
    }
}

#[test]
fn alarm_shapes_match_the_application_targets() {
    let d = desired();
    let alarms = desired_alarms(&d, &d.controllers.alarms, &observed(), &[]);
    let get = |name: &str| {
        alarms
            .iter()
            .find(|a| a.spec.name == name)
            .map(|a| a.spec.clone())
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    let duration = get("trimtab-lambda-api-duration-p95");
    assert_eq!(duration.threshold, 3000.0);
    assert_eq!(duration.comparison, Comparison::GreaterThanThreshold);
    let AlarmMetric::Single(stat) = &duration.metric else {
        panic!("single metric")
    };
    assert_eq!(
        (
            stat.metric.namespace.as_str(),
            stat.metric.name.as_str(),
            stat.stat.as_str()
        ),
        ("AWS/Lambda", "Duration", "p95")
    );
    assert!(stat.is_extended());

    let errors = get("trimtab-lambda-api-error-rate");
    let AlarmMetric::Math(queries) = &errors.metric else {
        panic!("metric math")
    };
    assert_eq!(queries.len(), 3);
    let returned: Vec<&str> = queries
        .iter()
        .filter(|q| {
            matches!(
                q,
                MathQuery::Expression {
                    return_data: true,
                    ..
                } | MathQuery::Stat {
                    return_data: true,
                    ..
                }
            )
        })
        .map(|q| q.id())
        .collect();
    assert_eq!(
        returned,
        vec!["error_rate"],
        "exactly one series may return data"
    );
    assert_eq!(errors.threshold, 5.0);

    let cache = get("trimtab-app-cache-hit-rate");
    assert_eq!(cache.comparison, Comparison::LessThanThreshold);
    assert_eq!(cache.threshold, 40.0);
    let AlarmMetric::Math(q) = &cache.metric else {
        panic!("metric math")
    };
    assert!(
        matches!(&q[0], MathQuery::Stat { stat, .. } if stat.metric.namespace == "VoiceLearning" && stat.metric.name == "CacheHits")
    );

    let throttles = get("trimtab-lambda-api-throttles");
    assert_eq!(throttles.threshold, 10.0);
    let table = get("trimtab-dynamodb-sessions-throttles");
    // Only series AWS publishes per table: Read/WriteThrottleEvents by TableName alone (there
    // is no ThrottledRequests series without an Operation dimension).
    let AlarmMetric::Math(q) = &table.metric else {
        panic!("metric math")
    };
    let watched: Vec<(&str, &[Dimension])> = q
        .iter()
        .filter_map(|q| match q {
            MathQuery::Stat { stat, .. } => {
                Some((stat.metric.name.as_str(), stat.metric.dimensions.as_slice()))
            }
            MathQuery::Expression { .. } => None,
        })
        .collect();
    let by_table = [Dimension::new("TableName", "sessions")];
    assert_eq!(
        watched,
        [
            ("ReadThrottleEvents", &by_table[..]),
            ("WriteThrottleEvents", &by_table[..])
        ]
    );
    assert!(matches!(
        q.last(),
        Some(MathQuery::Expression { return_data: true, expression, .. }) if expression == "FILL(reads, 0) + FILL(writes, 0)"
    ));
}

#[test]
fn in_sync_account_plans_nothing() {
    let plan = full_plan(&desired(), &in_sync());
    assert!(plan.changes.is_empty(), "{plan:#?}");
    // The fixture's on-demand table is noted as needing no auto scaling: a note, not a
    // refusal.
    assert!(plan.refusals.is_empty(), "{plan:#?}");
}

#[test]
fn drift_in_any_stored_field_is_an_update_with_old_and_new() {
    type Mutation = fn(&mut AlarmSpec);
    let topic_list = format!("[{TOPIC_ARN}]");
    let cases: Vec<(&str, Mutation, &str, &str, &str)> = vec![
        (
            "threshold",
            |s| s.threshold = 5000.0,
            "threshold",
            "5000",
            "3000",
        ),
        (
            "evaluation",
            |s| s.evaluation_periods = 5,
            "evaluation_periods",
            "5",
            "3",
        ),
        (
            "datapoints",
            |s| s.datapoints_to_alarm = 1,
            "datapoints_to_alarm",
            "1",
            "3",
        ),
        (
            "missing data",
            |s| s.treat_missing_data = MissingData::Breaching,
            "treat_missing_data",
            "breaching",
            "notBreaching",
        ),
        (
            "actions",
            |s| s.alarm_actions.clear(),
            "alarm_actions",
            "[]",
            &topic_list,
        ),
        (
            "enabled",
            |s| s.actions_enabled = false,
            "actions_enabled",
            "false",
            "true",
        ),
        (
            "comparison",
            |s| s.comparison = Comparison::LessThanThreshold,
            "comparison",
            "LessThanThreshold",
            "GreaterThanThreshold",
        ),
    ];
    for (case, mutate, field, old, new) in cases {
        let mut o = in_sync();
        let alarm = o
            .alarms
            .get_mut("trimtab-lambda-api-duration-p95")
            .expect("alarm");
        mutate(&mut alarm.spec);
        let plan = plan(&desired(), &o, &topic());
        assert_eq!(plan.changes.len(), 1, "{case}: {plan:#?}");
        let change = &plan.changes[0];
        assert_eq!(change.action, Action::Update, "{case}");
        assert_eq!(change.diffs.len(), 1, "{case}: {:?}", change.diffs);
        assert_eq!(
            (
                change.diffs[0].field.as_str(),
                change.diffs[0].old.as_str(),
                change.diffs[0].new.as_str()
            ),
            (field, old, new),
            "{case}"
        );
        assert!(
            matches!(change.writes.as_slice(), [Write::PutMetricAlarm { .. }]),
            "{case}"
        );
        assert_eq!(change.reason, format!("drift in {field}"));
    }
}

#[test]
fn metric_math_expression_drift_is_detected() {
    let mut o = in_sync();
    let alarm = o
        .alarms
        .get_mut("trimtab-lambda-api-error-rate")
        .expect("alarm");
    if let AlarmMetric::Math(q) = &mut alarm.spec.metric
        && let Some(MathQuery::Expression { expression, .. }) = q.last_mut()
    {
        *expression = "100 * errors / invocations".into();
    }
    let plan = plan(&desired(), &o, &topic());
    assert_eq!(
        ids(&plan, Action::Update),
        vec!["trimtab-lambda-api-error-rate"]
    );
    assert_eq!(plan.changes[0].diffs[0].field, "metric");
}

#[test]
fn missing_tags_are_repaired_with_tag_resource_only() {
    let mut o = in_sync();
    let alarm = o
        .alarms
        .get_mut("trimtab-lambda-api-throttles")
        .expect("alarm");
    alarm.spec.tags.remove(TARGET_TAG);
    alarm.spec.tags.insert("cost-center".into(), "42".into());
    let arn = alarm.arn.clone();
    let plan = plan(&desired(), &o, &topic());
    assert_eq!(plan.changes.len(), 1);
    let change = &plan.changes[0];
    assert_eq!(change.diffs[0].field, format!("tags.{TARGET_TAG}"));
    match change.writes.as_slice() {
        [Write::TagAlarm { arn: a, tags }] => {
            assert_eq!(a, &arn);
            assert_eq!(
                tags.len(),
                1,
                "other people's tags are left alone: {tags:?}"
            );
        }
        other => panic!("expected one TagAlarm, got {other:?}"),
    }
}

#[test]
fn unowned_alarms_are_never_touched() {
    let d = desired();
    let mut o = in_sync();
    // Same name as a desired alarm, but without the ownership tag: refuse, don't update.
    let alarm = o
        .alarms
        .get_mut("trimtab-lambda-api-throttles")
        .expect("alarm");
    alarm.spec.tags.clear();
    alarm.spec.threshold = 99.0;
    // Someone else's alarm under our prefix, and an Application Auto Scaling alarm that even
    // carries our tag: neither may be deleted.
    let mut foreign = alarm.spec.clone();
    foreign.name = "trimtab-someone-elses".into();
    let mut aas = foreign.clone();
    aas.name = "TargetTracking-table/sessions-AlarmHigh-1234".into();
    aas.tags.insert("managed-by".into(), "trimtab".into());
    let o = with_alarms(o, [foreign, aas]);
    let plan = self::plan(&d, &o, &topic());
    assert!(plan.changes.is_empty(), "{plan:#?}");
    assert_eq!(plan.refusals.len(), 1);
    assert_eq!(plan.refusals[0].id, "trimtab-lambda-api-throttles");
    assert!(plan.refusals[0].reason.contains("ownership.adopt"));
}

#[test]
fn adopted_alarms_are_updated_and_tagged() {
    let mut d = desired();
    d.ownership.adopt = vec!["trimtab-lambda-api-throttles".into()];
    let mut o = in_sync();
    let alarm = o
        .alarms
        .get_mut("trimtab-lambda-api-throttles")
        .expect("alarm");
    alarm.spec.tags.clear();
    alarm.spec.threshold = 99.0;
    let plan = self::plan(&d, &o, &topic());
    assert_eq!(
        ids(&plan, Action::Update),
        vec!["trimtab-lambda-api-throttles"]
    );
    assert!(matches!(
        plan.changes[0].writes.as_slice(),
        [Write::PutMetricAlarm { .. }, Write::TagAlarm { .. }]
    ));
}

#[test]
fn owned_alarms_no_longer_desired_are_pruned_unless_prune_is_off() {
    let mut o = in_sync();
    o.functions.remove("worker-a");
    let plan = plan(&desired(), &o, &topic());
    assert_eq!(
        ids(&plan, Action::Delete),
        vec![
            "trimtab-lambda-worker-a-duration-p95",
            "trimtab-lambda-worker-a-error-rate",
            "trimtab-lambda-worker-a-throttles"
        ]
    );
    assert!(plan.changes[0].reason.contains("lambda:worker-a"));

    let mut d = desired();
    d.ownership.prune = false;
    let plan = self::plan(&d, &o, &topic());
    assert!(plan.changes.is_empty());
    assert_eq!(plan.refusals.len(), 3);
    assert!(plan.refusals[0].reason.contains("prune is off"));
}

#[test]
fn alarms_of_unreadable_resources_are_not_pruned() {
    let mut o = in_sync();
    o.functions.remove("worker-a");
    o.unknown_functions.insert("worker-a".into());
    o.tables.clear();
    o.unknown_tables.insert("sessions".into());
    let plan = plan(&desired(), &o, &topic());
    assert!(plan.changes.is_empty(), "{plan:#?}");
}

#[test]
fn per_function_overrides_apply_and_disabled_alarms_are_pruned() {
    let mut d = desired();
    d.functions[0].settings.alarms.duration = RuleOverride {
        threshold: Some(1500.0),
        ..RuleOverride::default()
    };
    d.functions[0].settings.alarms.throttles = RuleOverride {
        enabled: Some(false),
        ..RuleOverride::default()
    };
    let plan = plan(&d, &in_sync(), &topic());
    assert_eq!(
        ids(&plan, Action::Update),
        vec!["trimtab-lambda-api-duration-p95"]
    );
    let threshold = plan
        .changes
        .iter()
        .find(|c| c.action == Action::Update)
        .map(|c| c.diffs.clone());
    assert!(threshold.is_some_and(|d| {
        d.iter()
            .any(|f| f.field == "threshold" && f.old == "3000" && f.new == "1500")
    }));
    assert_eq!(
        ids(&plan, Action::Delete),
        vec!["trimtab-lambda-api-throttles"]
    );
}

#[test]
fn pending_topic_defers_alarms_with_a_reason() {
    let plan = plan(
        &desired(),
        &observed(),
        &TopicRef::Pending("topic is created first".into()),
    );
    assert!(plan.changes.is_empty());
    assert_eq!(plan.refusals.len(), 1);
    assert!(plan.refusals[0].reason.contains("topic is created first"));
}

#[test]
fn no_notifications_means_alarms_without_actions() {
    let plan = plan(&desired(), &observed(), &TopicRef::None);
    assert!(plan.changes.iter().all(|c| matches!(
        c.writes.as_slice(),
        [Write::PutMetricAlarm { alarm }] if alarm.alarm_actions.is_empty() && alarm.ok_actions.is_empty()
    )));
    let _ = fixtures::ACCOUNT;
}

#[test]
fn the_model_mix_alarm_watches_the_share_of_tokens_on_the_cheap_models() {
    let mut d = desired();
    let template = d.controllers.alarms.application.cost_per_student.clone().unwrap().rule;
    d.controllers.alarms.application.model_mix = Some(AlarmRule {
        threshold: 95.0,
        ..template
    });
    let p = plan(&d, &observed(), &topic());
    let alarm = p
        .changes
        .iter()
        .find(|c| c.id == "trimtab-app-model-mix")
        .and_then(|c| match c.writes.as_slice() {
            [Write::PutMetricAlarm { alarm }] => Some(alarm.clone()),
            _ => None,
        })
        .expect("a model-mix alarm");
    assert_eq!(alarm.comparison, Comparison::LessThanThreshold);
    assert_eq!(alarm.threshold, 95.0);
    let AlarmMetric::Math(q) = &alarm.metric else {
        panic!("metric math")
    };
    // Two metrics per model (input and output tokens), by ModelId, and one expression that
    // returns data: the cheap models' share of all tokens.
    let stats: Vec<&MetricStat> = q
        .iter()
        .filter_map(|q| match q {
            MathQuery::Stat { stat, .. } => Some(stat),
            MathQuery::Expression { .. } => None,
        })
        .collect();
    let models = d.controllers.cost.model_prices.len();
    assert_eq!(stats.len(), 2 * models);
    assert!(stats.iter().all(|s| s.metric.namespace == "AWS/Bedrock"
        && s.metric.dimensions.len() == 1
        && s.metric.dimensions[0].name == "ModelId"));
    let Some(MathQuery::Expression {
        expression,
        return_data: true,
        ..
    }) = q.last()
    else {
        panic!("an expression last")
    };
    // The two Haiku models are cheap: their four series are in the numerator.
    let numerator = expression.split("100 * (").nth(1).unwrap();
    assert_eq!(numerator.split(") / (").next().unwrap().matches("FILL").count(), 4);
    // Without a model that is not cheap there is nothing to compare: no alarm.
    d.controllers.cost.model_prices.retain(|m, _| d.controllers.cost.cheap_models.contains(m));
    let p = plan(&d, &observed(), &topic());
    assert!(p.changes.iter().all(|c| c.id != "trimtab-app-model-mix"));
}

/// The memo of each function's alarms never changes a plan: one memo carried through a run of
/// config and account changes plans exactly what a fresh plan does at every step, and keeps
/// only the functions in scope.
#[test]
fn a_remembered_plan_is_the_plan_built_afresh() {
    fn step_with(memo: &mut Memo, d: &Desired, o: &Observed, topic: &TopicRef, what: &str) -> Plan {
        let remembered = plan_with(d, &d.controllers.alarms, o, topic, memo);
        let fresh = plan(d, o, topic);
        assert_eq!(remembered, fresh, "{what}");
        // The inventory in any order (it is made into a map).
        let sorted = |p: &Plan| {
            let mut m = p.managed.clone();
            m.sort();
            m
        };
        assert_eq!(sorted(&remembered), sorted(&fresh), "{what}");
        remembered
    }
    let mut memo = Memo::default();
    let mut step = |d: &Desired, o: &Observed, t: &TopicRef, what: &str| {
        step_with(&mut memo, d, o, t, what)
    };
    let d = desired();
    assert!(!step(&d, &observed(), &topic(), "cold").changes.is_empty());
    assert!(step(&d, &in_sync(), &topic(), "in sync").changes.is_empty());
    assert!(step(&d, &in_sync(), &topic(), "again").changes.is_empty());

    let mut threshold = d.clone();
    threshold.functions[0].settings.alarms.duration.threshold = Some(1500.0);
    let p = step(&threshold, &in_sync(), &topic(), "a function's override");
    assert_eq!(ids(&p, Action::Update), vec!["trimtab-lambda-api-duration-p95"]);

    let mut defaults = d.clone();
    defaults.controllers.alarms.defaults.error_rate.threshold = 9.0;
    let p = step(&defaults, &in_sync(), &topic(), "a default");
    assert_eq!(ids(&p, Action::Update).len(), 2, "{p:#?}");

    let mut statistic = d.clone();
    statistic.controllers.alarms.defaults.duration_statistic = "p99".into();
    let p = step(&statistic, &in_sync(), &topic(), "the duration statistic");
    assert_eq!(ids(&p, Action::Create).len(), 2);

    let mut prefix = d.clone();
    prefix.ownership.name_prefix = "tt-".into();
    step(&prefix, &in_sync(), &topic(), "the name prefix");
    let mut tag = d.clone();
    tag.ownership.tag_value = "other".into();
    step(&tag, &in_sync(), &topic(), "the ownership tag");
    step(&d, &in_sync(), &TopicRef::None, "no topic");
    step(&d, &in_sync(), &TopicRef::Known("arn:other".into()), "another topic");

    let mut fewer = in_sync();
    let gone = fewer.functions.keys().next().cloned();
    fewer.functions.retain(|n, _| Some(n) != gone.as_ref());
    let p = step(&d, &fewer, &topic(), "a function gone");
    assert_eq!(ids(&p, Action::Delete).len(), 3);
    assert!(memo.functions.iter().all(|(n, _, _)| Some(n) != gone.as_ref()));
    step_with(&mut memo, &d, &in_sync(), &topic(), "and back");
    assert_eq!(memo.functions.len(), in_sync().functions.len());
    // A function leaves while one new to the memo comes in its place in name order, in one
    // cycle (the memo's merge walks both in name order).
    let mut swapped = in_sync();
    let (gone, name) = ("worker-a".to_string(), "worker-0".to_string());
    let mut newcomer = swapped.functions.remove(&gone).expect("the fixture's worker");
    newcomer.summary.name = name.clone();
    swapped.functions.insert(name.clone(), newcomer);
    let p = step_with(&mut memo, &d, &swapped, &topic(), "one function gone, another new");
    assert_eq!(ids(&p, Action::Create).len(), 3, "{p:#?}");
    assert_eq!(ids(&p, Action::Delete).len(), 3, "{p:#?}");
    let in_memo: Vec<&String> = memo.functions.iter().map(|(n, _, _)| n).collect();
    assert_eq!(in_memo, ["api", "worker-0"]);
    step_with(&mut memo, &d, &in_sync(), &topic(), "and back again");

    // The account drifts while the config stays: each drift is seen through the fingerprint.
    let duration = "trimtab-lambda-api-duration-p95";
    let drifted = |f: &dyn Fn(&mut ObservedAlarm)| {
        let mut o = in_sync();
        if let Some(alarm) = o.alarms.get_mut(duration) {
            f(alarm);
        }
        o
    };
    type Drift<'a> = &'a dyn Fn(&mut ObservedAlarm);
    let cases: [(&str, Drift<'_>); 6] = [
        ("threshold", &|a| a.spec.threshold = 1.0),
        ("description", &|a| a.spec.description.push('!')),
        ("actions", &|a| a.spec.ok_actions.clear()),
        ("period", &|a| {
            if let AlarmMetric::Single(m) = &mut a.spec.metric {
                m.period_s += 60;
            }
        }),
        ("target tag", &|a| {
            a.spec.tags.remove(TARGET_TAG);
        }),
        ("target tag value", &|a| {
            a.spec.tags.insert(TARGET_TAG.into(), "lambda:other".into());
        }),
    ];
    for (what, drift) in cases {
        let p = step_with(&mut memo, &d, &drifted(drift), &topic(), what);
        assert_eq!(ids(&p, Action::Update), vec![duration], "{what}");
        assert!(step_with(&mut memo, &d, &in_sync(), &topic(), "repaired").changes.is_empty());
    }
    let p = step_with(&mut memo, &d, &drifted(&|a| a.spec.tags.clear()), &topic(), "disowned");
    assert!(p.changes.is_empty() && p.refusals.iter().any(|r| r.id == duration));
    let mut gone = in_sync();
    gone.alarms.remove(duration);
    assert_eq!(ids(&step_with(&mut memo, &d, &gone, &topic(), "deleted"), Action::Create), vec![duration]);
    let other_tag = |a: &mut ObservedAlarm| {
        a.spec.tags.insert("team".into(), "ai".into());
    };
    let p = step_with(&mut memo, &d, &drifted(&other_tag), &topic(), "someone else's tag");
    assert!(p.changes.is_empty(), "{p:#?}");
}
