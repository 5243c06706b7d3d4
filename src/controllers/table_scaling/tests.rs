//! Table-driven tests of the DynamoDB auto-scaling controller.

use super::*;
use crate::controllers::fixtures::{apply, desired, observed, provisioned_table};
use crate::model::{ObservedScalingPolicy, Phase, TableEntry, Tags};

/// The table-scaling controller's plan with the settings in `d`.
fn plan(d: &Desired, o: &Observed) -> Plan {
    super::plan(d, &d.controllers.table_scaling, o)
}

const ON_DEMAND: &str =
    "on-demand: DynamoDB scales it without Application Auto Scaling; nothing to do";

/// Desires `sessions` (on demand in the fixture) and `orders` (PROVISIONED, index `by-user`).
fn setup(scaling: TableScalingOverride) -> (Desired, Observed) {
    let mut d = desired();
    d.tables.push(TableEntry {
        name: "orders".into(),
        settings: crate::controllers::registry::TableSettings {
            table_scaling: scaling,
            ..Default::default()
        },
    });
    let mut o = observed();
    o.tables
        .insert("orders".into(), provisioned_table("orders", &["by-user"]));
    (d, o)
}

fn summary(plan: &Plan) -> Vec<(ResourceKind, &str, Action, Phase)> {
    plan.changes
        .iter()
        .map(|c| (c.kind, c.id.as_str(), c.action, c.phase))
        .collect()
}

/// Someone else's target (and policy) on the table's write capacity.
const THEIR_ARN: &str = "arn:aws:application-autoscaling:eu-west-1:123456789012:scalable-target/0theirs";

fn foreign(mut o: Observed) -> Observed {
    let target = ScalableTarget {
        resource_id: "table/orders".into(),
        dimension: ScalableDimension::TableWrite,
        min_capacity: 1,
        max_capacity: 40,
        tags: Default::default(),
        arn: Some(THEIR_ARN.into()),
    };
    o.scalable_targets.push(target);
    // Read back: no ownership tag on it.
    o.target_tags.insert(THEIR_ARN.into(), Tags::new());
    o.scaling_policies.push(ObservedScalingPolicy {
        arn: "arn:policy/theirs".into(),
        policy: ScalingPolicy {
            name: "their-write-policy".into(),
            resource_id: "table/orders".into(),
            dimension: ScalableDimension::TableWrite,
            predefined_metric: "DynamoDBWriteCapacityUtilization".into(),
            target_value: 50.0,
            scale_in_cooldown_s: None,
            scale_out_cooldown_s: None,
            disable_scale_in: false,
        },
        alarm_names: vec!["TargetTracking-table/orders-AlarmHigh".into()],
    });
    o
}

#[test]
fn on_demand_tables_need_nothing_and_say_so() {
    let d = desired();
    let plan = plan(&d, &observed());
    assert!(plan.changes.is_empty());
    // A note, not a refusal: nothing is refused, so trimtab_changes_refused stays 0.
    assert!(plan.refusals.is_empty(), "{:?}", plan.refusals);
    assert_eq!(
        plan.notes
            .iter()
            .map(|n| (n.code, n.id.as_str(), n.message.as_str()))
            .collect::<Vec<_>>(),
        vec![(super::ON_DEMAND, "table/sessions", ON_DEMAND)]
    );
    let text = crate::engine::render::plan_text(&plan);
    assert!(
        text.contains("Notes (1)") && text.contains(ON_DEMAND),
        "{text}"
    );
}

#[test]
fn converges_from_empty_then_plans_nothing() {
    let (d, o) = setup(TableScalingOverride::default());
    let plan = self::plan(&d, &o);
    let mut want = Vec::new();
    for (id, policy) in [
        ("table/orders:read", "trimtab-ddb-orders-read"),
        ("table/orders:write", "trimtab-ddb-orders-write"),
        (
            "table/orders/index/by-user:read",
            "trimtab-ddb-orders-by-user-read",
        ),
        (
            "table/orders/index/by-user:write",
            "trimtab-ddb-orders-by-user-write",
        ),
    ] {
        want.push((
            ResourceKind::ScalableTarget,
            id,
            Action::Create,
            Phase::Prepare,
        ));
        want.push((
            ResourceKind::ScalingPolicy,
            policy,
            Action::Create,
            Phase::Build,
        ));
    }
    assert_eq!(
        summary(&plan),
        want,
        "each resource its own change, target before policy"
    );
    let Write::PutScalingPolicy { policy } = &plan.changes[7].writes[0] else {
        panic!("a policy: {:?}", plan.changes[7].writes)
    };
    assert_eq!(policy.name, "trimtab-ddb-orders-by-user-write");
    assert_eq!(policy.resource_id, "table/orders/index/by-user");
    assert_eq!(policy.dimension, ScalableDimension::IndexWrite);
    assert_eq!(policy.predefined_metric, "DynamoDBWriteCapacityUtilization");
    assert_eq!(policy.target_value, 70.0);
    assert_eq!(
        plan.changes[0].writes,
        vec![Write::RegisterScalableTarget {
            target: ScalableTarget {
                resource_id: "table/orders".into(),
                dimension: ScalableDimension::TableRead,
                min_capacity: 5,
                max_capacity: 1000,
                tags: Tags::from([("managed-by", "trimtab")]),
                arn: None,
            }
        }]
    );
    assert!(
        plan.changes[0]
            .reason
            .contains("auto scaling read capacity 5–1000 at 70% utilization"),
        "{}",
        plan.changes[0].reason
    );
    // Capacity itself is never written: only targets and policies.
    assert!(
        plan.changes
            .iter()
            .flat_map(|c| &c.writes)
            .all(|w| matches!(
                w,
                Write::RegisterScalableTarget { .. } | Write::PutScalingPolicy { .. }
            ))
    );

    let again = self::plan(&d, &apply(&o, &plan));
    assert!(again.changes.is_empty(), "{again:#?}");
    assert!(again.refusals.is_empty(), "{again:#?}");
    assert_eq!(again.notes.len(), 1, "only the on-demand note remains");
}

#[test]
fn overrides_apply_per_table() {
    let (d, o) = setup(TableScalingOverride {
        read_max: Some(50),
        target_utilization: Some(45.0),
        disable_scale_in: Some(true),
        ..Default::default()
    });
    let plan = self::plan(&d, &o);
    let Write::RegisterScalableTarget { target } = &plan.changes[0].writes[0] else {
        panic!()
    };
    assert_eq!((target.min_capacity, target.max_capacity), (5, 50));
    let Write::PutScalingPolicy { policy } = &plan.changes[1].writes[0] else {
        panic!()
    };
    assert_eq!((policy.target_value, policy.disable_scale_in), (45.0, true));
}

#[test]
fn drift_is_repaired_with_old_and_new() {
    let (d, o) = setup(TableScalingOverride::default());
    let mut o = apply(&o, &plan(&d, &o));
    o.scalable_targets[0].max_capacity = 200;
    o.scaling_policies[1].policy.target_value = 40.0;
    o.scaling_policies[1].policy.disable_scale_in = true;
    let plan = self::plan(&d, &o);
    assert_eq!(
        summary(&plan),
        vec![
            (
                ResourceKind::ScalableTarget,
                "table/orders:read",
                Action::Update,
                Phase::Build
            ),
            (
                ResourceKind::ScalingPolicy,
                "trimtab-ddb-orders-write",
                Action::Update,
                Phase::Build
            ),
        ]
    );
    let diffs: Vec<(&str, &str, &str)> = plan
        .changes
        .iter()
        .flat_map(|c| &c.diffs)
        .map(|d| (d.field.as_str(), d.old.as_str(), d.new.as_str()))
        .collect();
    assert_eq!(
        diffs,
        vec![
            ("max_capacity", "200", "1000"),
            ("target_value", "40", "70"),
            ("disable_scale_in", "true", "false"),
        ]
    );
    assert!(matches!(
        plan.changes[0].writes.as_slice(),
        [Write::RegisterScalableTarget { .. }]
    ));
    assert!(matches!(
        plan.changes[1].writes.as_slice(),
        [Write::PutScalingPolicy { .. }]
    ));
}

#[test]
fn someone_elses_target_and_policies_are_untouched() {
    let (d, o) = setup(TableScalingOverride::default());
    let o = foreign(o);
    let plan = self::plan(&d, &o);
    assert!(
        !plan.changes.iter().any(|c| c.id == "table/orders:write"),
        "{plan:#?}"
    );
    let refusal = plan
        .refusals
        .iter()
        .find(|r| r.id == "table/orders:write")
        .expect("refused");
    assert!(
        refusal.reason.contains("registered by someone else")
            && refusal.reason.contains("trimtab-ddb-orders-write"),
        "{}",
        refusal.reason
    );
    assert_eq!(plan.changes.len(), 6, "the other dimensions proceed");

    // Adopting it makes it trimtab's: the policy is added, the foreign one is left alone.
    let mut d = d;
    d.ownership.adopt.push("table/orders:write".into());
    let plan = self::plan(&d, &o);
    let change = plan
        .changes
        .iter()
        .find(|c| c.id == "trimtab-ddb-orders-write")
        .expect("policy added");
    assert_eq!(change.action, Action::Create);
    assert!(plan.changes.iter().all(|c| {
        c.writes
            .iter()
            .all(|w| !matches!(w, Write::DeleteScalingPolicy { .. }))
    }));
}

#[test]
fn disabling_or_going_on_demand_removes_only_trimtabs_targets() {
    let (d, o) = setup(TableScalingOverride::default());
    let built = foreign(apply(&o, &plan(&d, &o)));
    // foreign() adds a second target on table/orders write; keep only theirs there.
    let mut built = built;
    built.scalable_targets.retain(|t| {
        !(t.resource_id == "table/orders"
            && t.dimension == ScalableDimension::TableWrite
            && t.max_capacity == 1000)
    });
    built
        .scaling_policies
        .retain(|p| p.policy.name != "trimtab-ddb-orders-write");

    let disabled = setup(TableScalingOverride {
        enabled: Some(false),
        ..Default::default()
    })
    .0;
    let mut on_demand = built.clone();
    if let Some(t) = on_demand.tables.get_mut("orders") {
        t.billing_mode = BillingMode::PayPerRequest;
    }
    let cases = [
        (
            "disabled",
            &disabled,
            &built,
            "auto scaling is disabled for table orders",
            1,
        ),
        (
            "on demand",
            &d,
            &on_demand,
            "table orders is on-demand now",
            2,
        ),
    ];
    // The last figure: on-demand notes (never refusals).
    for (name, d, o, cause, notes) in cases {
        let plan = plan(d, o);
        let del = |id| {
            (
                ResourceKind::ScalableTarget,
                id,
                Action::Delete,
                Phase::Teardown,
            )
        };
        assert_eq!(
            summary(&plan),
            vec![
                del("table/orders:read"),
                del("table/orders/index/by-user:read"),
                del("table/orders/index/by-user:write"),
            ],
            "{name}: their write target stays"
        );
        assert!(
            plan.changes[0].reason.starts_with(cause),
            "{name}: {}",
            plan.changes[0].reason
        );
        assert_eq!(
            plan.changes[0].writes,
            vec![
                Write::DeleteScalingPolicy {
                    name: "trimtab-ddb-orders-read".into(),
                    resource_id: "table/orders".into(),
                    dimension: ScalableDimension::TableRead,
                },
                Write::DeregisterScalableTarget {
                    resource_id: "table/orders".into(),
                    dimension: ScalableDimension::TableRead,
                },
            ]
        );
        assert!(plan.refusals.is_empty(), "{name}: {:#?}", plan.refusals);
        assert_eq!(plan.notes.len(), notes, "{name}: {:#?}", plan.notes);
    }
}

#[test]
fn unknown_and_missing_tables_are_skipped() {
    let (d, mut o) = setup(TableScalingOverride::default());
    o.unknown_tables.insert("orders".into());
    o.tables.remove("sessions");
    assert_eq!(plan(&d, &o), Plan::default());
}

/// A crash between registering a target and putting its policy leaves a target with no
/// policy: its ownership tag, recorded with the registration, says it is trimtab's, and the
/// next plan finishes the job. Without the tag (someone else's) it is refused; with its tags
/// unread, it is left alone without a claim either way.
#[test]
fn a_target_left_without_its_policy_is_recognised_by_its_tag() {
    let (d, mut o) = setup(TableScalingOverride::default());
    let arn = "arn:aws:application-autoscaling:eu-west-1:123456789012:scalable-target/0crash";
    o.scalable_targets.push(ScalableTarget {
        resource_id: "table/orders".into(),
        dimension: ScalableDimension::TableWrite,
        min_capacity: 5,
        max_capacity: 1000,
        tags: Tags::new(),
        arn: Some(arn.into()),
    });
    let refused = |plan: &Plan| plan.refusals.iter().any(|r| r.id == "table/orders:write");
    let policy_put = |plan: &Plan| {
        plan.changes
            .iter()
            .any(|c| c.id == "trimtab-ddb-orders-write" && c.action == Action::Create)
    };

    let unread = self::plan(&d, &o);
    assert!(refused(&unread) && !policy_put(&unread), "{unread:#?}");
    assert!(
        unread
            .refusals
            .iter()
            .any(|r| r.reason.contains("could not be read")),
        "{unread:#?}"
    );

    o.target_tags
        .insert(arn.into(), Tags::from([("managed-by", "trimtab")]));
    let ours = self::plan(&d, &o);
    assert!(!refused(&ours) && policy_put(&ours), "{ours:#?}");
    assert!(
        !ours.changes.iter().any(|c| c.id == "table/orders:write"),
        "the target itself is as wanted: {ours:#?}"
    );

    o.target_tags.insert(arn.into(), Tags::from([("team", "data")]));
    let theirs = self::plan(&d, &o);
    assert!(refused(&theirs) && !policy_put(&theirs), "{theirs:#?}");
}
