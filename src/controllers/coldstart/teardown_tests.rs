//! Tests of the cold-start controller's teardowns: tier changes in both directions (the new
//! strategy built before the old one is removed, and exactly what the markers recorded
//! removed), alias changes, and pruning of functions that left the scope.

use super::names::{WARMUP_TARGET_ID, provisioned_policy_name, warmup_statement_id};
use super::tests::plan;
use super::tests::{
    API_RID, WEB_RULE, built, change, converge, fn_arn, live_alias, set_tier, summary,
};
use super::*;
use crate::model::Phase;
use crate::model::{Action, Alias, ScalableDimension, Write};

#[test]
fn tier_changes_build_the_new_strategy_before_removing_the_old() {
    let teardown_pc = vec![
        Write::DeleteScalingPolicy {
            name: "trimtab-pc-api".into(),
            resource_id: API_RID.into(),
            dimension: ScalableDimension::LambdaProvisionedConcurrency,
        },
        Write::DeregisterScalableTarget {
            resource_id: API_RID.into(),
            dimension: ScalableDimension::LambdaProvisionedConcurrency,
        },
        Write::DeleteProvisionedConcurrency {
            function: "api".into(),
            qualifier: "live".into(),
        },
        Write::UntagFunction {
            arn: fn_arn("api"),
            keys: vec![TAG_PROVISIONED.into()],
        },
    ];
    let teardown_warmup = vec![
        Write::RemoveTargets {
            rule: WEB_RULE.into(),
            ids: vec![WARMUP_TARGET_ID.into()],
        },
        Write::DeleteRule {
            name: WEB_RULE.into(),
        },
        Write::RemovePermission {
            function: "web".into(),
            statement_id: "trimtab-warmup".into(),
            qualifier: None,
        },
        Write::UntagFunction {
            arn: fn_arn("web"),
            keys: vec![TAG_WARMUP.into()],
        },
    ];
    struct Case {
        name: &'static str,
        function: &'static str,
        to: Tier,
        built: Vec<(ResourceKind, &'static str)>,
        removed: (ResourceKind, &'static str),
        writes: Vec<Write>,
        cause: &'static str,
    }
    let cases = vec![
        Case {
            name: "critical → standard",
            function: "api",
            to: Tier::Standard,
            built: vec![
                (ResourceKind::Rule, "trimtab-warmup-api"),
                (ResourceKind::RuleTarget, "trimtab-warmup-api"),
                (ResourceKind::Permission, "api"),
            ],
            removed: (ResourceKind::ProvisionedConcurrency, "api:live"),
            writes: teardown_pc.clone(),
            cause: "standard tier now",
        },
        Case {
            name: "standard → critical",
            function: "web",
            to: Tier::Critical,
            built: vec![
                (ResourceKind::Alias, "web:live"),
                (ResourceKind::ScalingPolicy, "trimtab-pc-web"),
            ],
            removed: (ResourceKind::Rule, WEB_RULE),
            // The warm-up goes only once provisioned concurrency on the alias is READY.
            writes: std::iter::once(Write::AwaitProvisionedConcurrency {
                function: "web".into(),
                qualifier: "live".into(),
            })
            .chain(teardown_warmup.clone())
            .collect(),
            cause: "critical tier now",
        },
        Case {
            name: "critical → batch",
            function: "api",
            to: Tier::Batch,
            built: vec![],
            removed: (ResourceKind::ProvisionedConcurrency, "api:live"),
            writes: teardown_pc,
            cause: "batch tier",
        },
        Case {
            name: "standard → batch",
            function: "web",
            to: Tier::Batch,
            built: vec![],
            removed: (ResourceKind::Rule, WEB_RULE),
            writes: teardown_warmup,
            cause: "batch tier",
        },
    ];
    for c in cases {
        let (mut d, o) = built();
        d.controllers.cold_start.manage_alias = true;
        set_tier(&mut d, c.function, c.to);
        let plan = plan(&d, &o);
        let gone = change(&plan, c.removed.0, c.removed.1);
        assert_eq!(
            (gone.action, gone.phase),
            (Action::Delete, Phase::Teardown),
            "{}",
            c.name
        );
        assert_eq!(
            gone.writes, c.writes,
            "{}: exactly what the marker recorded",
            c.name
        );
        assert!(
            gone.reason.starts_with(c.cause),
            "{}: {}",
            c.name,
            gone.reason
        );
        for (kind, id) in &c.built {
            let new = change(&plan, *kind, id);
            assert_eq!(new.action, Action::Create, "{}", c.name);
            assert!(
                new.phase < gone.phase,
                "{}: {kind} {id} built before the removal",
                c.name
            );
        }
        assert_eq!(
            plan.changes.len(),
            c.built.len() + 1,
            "{}: {plan:#?}",
            c.name
        );
        let after = converge(&d, &o);
        let tags = after.functions[c.function]
            .tags()
            .cloned()
            .unwrap_or_default();
        let kept: Vec<&str> = [TAG_PROVISIONED, TAG_WARMUP]
            .into_iter()
            .filter(|k| tags.contains_key(*k))
            .collect();
        let want: Vec<&str> = match c.to {
            Tier::Critical => vec![TAG_PROVISIONED],
            Tier::Standard => vec![TAG_WARMUP],
            Tier::Batch => vec![],
        };
        assert_eq!(kept, want, "{}: markers follow the strategy", c.name);
    }
}

#[test]
fn the_old_strategy_stays_while_the_new_one_cannot_be_built() {
    let (mut d, mut o) = built();
    set_tier(&mut d, "web", Tier::Critical);
    o.aliases.insert("web".into(), Vec::new());
    let plan = plan(&d, &o);
    assert!(plan.changes.is_empty(), "{plan:#?}");
    let ids: Vec<(ResourceKind, &str)> = plan
        .refusals
        .iter()
        .map(|r| (r.kind, r.id.as_str()))
        .collect();
    assert_eq!(
        ids,
        vec![
            (ResourceKind::Alias, "web:live"),
            (ResourceKind::Rule, WEB_RULE)
        ]
    );
    assert!(
        plan.refusals[1]
            .reason
            .contains("never left without warm capacity")
    );
}

#[test]
fn alias_change_removes_the_old_alias_but_keeps_the_marker() {
    let (mut d, mut o) = built();
    d.controllers.cold_start.alias = "prod".into();
    o.aliases.insert(
        "api".into(),
        vec![Alias {
            name: "prod".into(),
            ..live_alias()
        }],
    );
    let plan = plan(&d, &o);
    assert_eq!(
        summary(&plan),
        vec![
            (
                ResourceKind::ScalableTarget,
                "function:api:prod",
                Action::Create,
                Phase::Prepare
            ),
            (
                ResourceKind::ScalingPolicy,
                "trimtab-pc-api",
                Action::Create,
                Phase::Build
            ),
            (
                ResourceKind::ProvisionedConcurrency,
                "api:live",
                Action::Delete,
                Phase::Teardown
            ),
        ]
    );
    let gone = &plan.changes[2];
    assert!(
        gone.reason.starts_with("cold_start.alias is now prod"),
        "{}",
        gone.reason
    );
    assert!(
        !gone
            .writes
            .iter()
            .any(|w| matches!(w, Write::UntagFunction { .. }))
    );
    let after = converge(&d, &o);
    assert_eq!(
        after.functions["api"]
            .tags()
            .and_then(|t| t.value(TAG_PROVISIONED)),
        Some("prod")
    );
}

#[test]
fn owned_resources_of_functions_out_of_scope_are_pruned() {
    let (d, o) = built();
    // api and web leave the config (they are no longer observed as in scope).
    let mut gone = o.clone();
    gone.functions.remove("api");
    gone.functions.remove("web");
    let p = plan(&d, &gone);
    assert_eq!(
        summary(&p),
        vec![
            (
                ResourceKind::ProvisionedConcurrency,
                "api:live",
                Action::Delete,
                Phase::Teardown
            ),
            (
                ResourceKind::Rule,
                WEB_RULE,
                Action::Delete,
                Phase::Teardown
            ),
        ]
    );
    assert_eq!(
        p.changes[0].writes.len(),
        4,
        "policy, target, provisioned config, marker"
    );
    assert_eq!(
        p.changes[1].writes,
        vec![
            Write::RemoveTargets {
                rule: WEB_RULE.into(),
                ids: vec![WARMUP_TARGET_ID.into()]
            },
            Write::DeleteRule {
                name: WEB_RULE.into()
            },
            Write::RemovePermission {
                function: "web".into(),
                statement_id: warmup_statement_id("trimtab-"),
                qualifier: None
            },
            Write::UntagFunction {
                arn: fn_arn("web"),
                keys: vec![TAG_WARMUP.into()]
            },
        ]
    );

    let mut no_prune = d.clone();
    no_prune.ownership.prune = false;
    let p = plan(&no_prune, &gone);
    assert!(p.changes.is_empty());
    assert!(p.refusals.iter().all(|r| r.reason.contains("prune is off")) && p.refusals.len() == 2);

    // Not knowing is not the same as gone.
    let mut unknown = gone.clone();
    unknown
        .unknown_functions
        .extend(["api".to_string(), "web".to_string()]);
    assert_eq!(plan(&d, &unknown), Plan::default());

    // Someone else's target for a function out of scope: not trimtab's policy, not pruned.
    let mut foreign = gone;
    foreign
        .scaling_policies
        .retain(|p| p.policy.name != provisioned_policy_name("trimtab-", "api"));
    foreign.rules.clear();
    assert_eq!(plan(&d, &foreign), Plan::default());
}
