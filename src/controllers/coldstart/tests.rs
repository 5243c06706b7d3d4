//! Table-driven tests of the cold-start controller: convergence, idempotence, tier changes in
//! both directions, ownership, aliases, drift, pruning and schedule spreading.

use super::names::WARMUP_TARGET_ID;
use super::*;
use crate::controllers::fixtures::{
    ACCOUNT, apply, desired, function_rule, observed, tags, with_detail, with_details,
};
use crate::controllers::shared::names::{fnv1a, lambda_resource_id};
use crate::model::Phase;

/// The cold-start controller's plan with the settings in `d`.
pub(super) fn plan(d: &Desired, o: &Observed) -> Plan {
    super::plan(d, &d.controllers.cold_start, o)
}
use crate::model::{
    Action, Alias, Change, ObservedRule, ObservedScalingPolicy, Permission, Rule, RuleState,
    RuleTarget, ScalableDimension, ScalableTarget, ScalingPolicy, Write,
};

pub(super) const WEB_RULE: &str = "trimtab-warmup-web";
pub(super) const API_RID: &str = "function:api:live";

pub(super) fn fn_arn(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}")
}

/// `api` critical, `web` standard, `worker-a` batch; all read in detail; `api` has alias `live`.
pub(super) fn setup() -> (Desired, Observed) {
    let mut d = desired();
    d.functions.push(function_rule("web", Tier::Standard));
    let mut o = with_detail(with_details(observed()), "web", &[], None);
    o.aliases.insert("api".into(), vec![live_alias()]);
    (d, o)
}

pub(super) fn live_alias() -> Alias {
    Alias {
        name: "live".into(),
        arn: format!("{}:live", fn_arn("api")),
        function_version: "3".into(),
        routing: None,
    }
}

pub(super) fn set_tier(d: &mut Desired, name: &str, tier: Tier) {
    d.functions
        .retain(|r| !matches!(&r.matcher, crate::model::FunctionMatch::Name(n) if n == name));
    d.functions.insert(0, function_rule(name, tier));
}

pub(super) fn summary(plan: &Plan) -> Vec<(ResourceKind, &str, Action, Phase)> {
    plan.changes
        .iter()
        .map(|c| (c.kind, c.id.as_str(), c.action, c.phase))
        .collect()
}

pub(super) fn change<'a>(plan: &'a Plan, kind: ResourceKind, id: &str) -> &'a Change {
    plan.changes
        .iter()
        .find(|c| c.kind == kind && c.id == id)
        .unwrap_or_else(|| panic!("no {kind} {id} in {plan:#?}"))
}

/// Applies the plan and checks that the account then needs nothing more.
pub(super) fn converge(d: &Desired, o: &Observed) -> Observed {
    let after = apply(o, &plan(d, o));
    let again = plan(d, &after);
    assert!(again.changes.is_empty(), "not idempotent: {again:#?}");
    after
}

pub(super) fn web_permission() -> Permission {
    Permission {
        statement_id: "trimtab-warmup".into(),
        action: "lambda:InvokeFunction".into(),
        principal: "events.amazonaws.com".into(),
        source_arn: Some(format!(
            "arn:aws:events:us-east-1:{ACCOUNT}:rule/{WEB_RULE}"
        )),
        qualifier: None,
    }
}

#[test]
fn converges_from_empty_with_each_tier() {
    let (d, o) = setup();
    let plan = plan(&d, &o);
    assert_eq!(
        summary(&plan),
        vec![
            (
                ResourceKind::ScalableTarget,
                API_RID,
                Action::Create,
                Phase::Prepare
            ),
            (
                ResourceKind::ScalingPolicy,
                "trimtab-pc-api",
                Action::Create,
                Phase::Build
            ),
            (ResourceKind::Rule, WEB_RULE, Action::Create, Phase::Prepare),
            (
                ResourceKind::RuleTarget,
                WEB_RULE,
                Action::Create,
                Phase::Build
            ),
            (
                ResourceKind::Permission,
                "web",
                Action::Create,
                Phase::Build
            ),
        ],
        "one change per resource; each resource after what it needs"
    );
    assert!(plan.refusals.is_empty(), "{plan:#?}");

    // Critical: marker first, then the target; the policy on it; never a capacity write.
    let target = &plan.changes[0];
    assert!(
        target.reason.starts_with(
            "critical tier: provisioned concurrency 1–10 on alias live (≈ $10.80/month at the minimum)"
        ),
        "{}",
        target.reason
    );
    assert_eq!(
        target.writes,
        vec![
            Write::TagFunction {
                arn: fn_arn("api"),
                tags: tags(&[(TAG_PROVISIONED, "live")])
            },
            Write::RegisterScalableTarget {
                target: ScalableTarget {
                    resource_id: API_RID.into(),
                    dimension: ScalableDimension::LambdaProvisionedConcurrency,
                    min_capacity: 1,
                    max_capacity: 10,
                    tags: tags(&[("managed-by", "trimtab")]),
                    arn: None,
                }
            },
        ]
    );
    assert_eq!(
        plan.changes[1].writes,
        vec![Write::PutScalingPolicy {
            policy: ScalingPolicy {
                name: "trimtab-pc-api".into(),
                resource_id: API_RID.into(),
                dimension: ScalableDimension::LambdaProvisionedConcurrency,
                predefined_metric: "LambdaProvisionedConcurrencyUtilization".into(),
                target_value: 0.7,
                scale_in_cooldown_s: None,
                scale_out_cooldown_s: None,
                disable_scale_in: false,
            }
        }]
    );
    assert!(
        !plan
            .changes
            .iter()
            .flat_map(|c| &c.writes)
            .any(|w| matches!(w, Write::PutProvisionedConcurrency { .. }))
    );

    // Standard: marker, then the rule; its target and the permission to invoke.
    let offset = fnv1a(b"web") % 5;
    let schedule = format!("cron({offset}/5 * * * ? *)");
    let rule_change = &plan.changes[2];
    assert!(
        rule_change
            .reason
            .contains(&format!("on {schedule} (≈ $0.0089/month)")),
        "{}",
        rule_change.reason
    );
    let [
        Write::TagFunction { tags: marker, .. },
        Write::PutRule {
            rule,
            tags: rule_tags,
        },
    ] = rule_change.writes.as_slice()
    else {
        panic!("marker, rule: {:#?}", rule_change.writes)
    };
    assert_eq!(*marker, tags(&[(TAG_WARMUP, WEB_RULE)]));
    assert_eq!(rule.schedule_expression.as_deref(), Some(schedule.as_str()));
    assert_eq!(rule.state, RuleState::Enabled);
    assert!(
        rule.description
            .as_deref()
            .is_some_and(|s| s.contains("Managed by trimtab"))
    );
    assert_eq!(*rule_tags, tags(&[("managed-by", "trimtab")]));
    assert_eq!(
        plan.changes[3].writes,
        vec![Write::PutTargets {
            rule: WEB_RULE.into(),
            targets: vec![RuleTarget {
                id: WARMUP_TARGET_ID.into(),
                arn: fn_arn("web"),
                input: Some(
                    r#"{"source":"trimtab.warmup","concurrency":1,"function":"web"}"#.into()
                ),
            }]
        }]
    );
    assert_eq!(
        plan.changes[4].writes,
        vec![Write::AddPermission {
            function: "web".into(),
            permission: web_permission()
        }]
    );

    let after = converge(&d, &o);
    // Observe re-reads the policy of a complete warm-up only now and then: unread is fine too.
    let mut unread = after.clone();
    unread.permissions.clear();
    unread.aliases.clear();
    assert_eq!(self::plan(&d, &unread), Plan::default());
}

#[test]
fn missing_alias_is_created_only_when_managed() {
    let (mut d, mut o) = setup();
    o.aliases.insert("api".into(), Vec::new());

    let refused = plan(&d, &o);
    assert!(
        !refused.changes.iter().any(|c| c.id.starts_with("api")),
        "{refused:#?}"
    );
    assert_eq!(
        refused.refusals,
        vec![Refusal {
            kind: ResourceKind::Alias,
            id: "api:live".into(),
            reason: "alias live does not exist; create it or set cold_start.manage_alias = true"
                .into(),
        }]
    );

    d.controllers.cold_start.manage_alias = true;
    let plan = plan(&d, &o);
    let alias = change(&plan, ResourceKind::Alias, "api:live");
    assert_eq!(
        (alias.action, alias.phase),
        (Action::Create, Phase::Prepare)
    );
    assert!(
        matches!(
            alias.writes.as_slice(),
            [Write::TagFunction { .. }, Write::PublishAndCreateAlias { function, alias }, Write::RegisterScalableTarget { .. }]
                if function == "api" && alias == "live"
        ),
        "marker, alias, then the target that needs it: {:#?}",
        alias.writes
    );
    assert!(
        alias.reason.contains("cold_start.manage_alias = true"),
        "{}",
        alias.reason
    );
    assert_eq!(
        change(&plan, ResourceKind::ScalingPolicy, "trimtab-pc-api").phase,
        Phase::Build
    );
    assert_eq!(
        plan.changes.iter().filter(|c| c.id.contains("api")).count(),
        2
    );
    converge(&d, &o);
}

/// The account after the setup converged: api has provisioned concurrency, web a warm-up.
pub(super) fn built() -> (Desired, Observed) {
    let (d, o) = setup();
    let o = converge(&d, &o);
    (d, o)
}

#[test]
fn settings_made_by_others_are_untouched() {
    let their_policy = |rid: &str| ObservedScalingPolicy {
        arn: "arn:policy/theirs".into(),
        policy: ScalingPolicy {
            name: "their-policy".into(),
            resource_id: rid.into(),
            dimension: ScalableDimension::LambdaProvisionedConcurrency,
            predefined_metric: "LambdaProvisionedConcurrencyUtilization".into(),
            target_value: 0.5,
            scale_in_cooldown_s: None,
            scale_out_cooldown_s: None,
            disable_scale_in: false,
        },
        alarm_names: Vec::new(),
    };
    let their_target = |rid: &str| ScalableTarget {
        resource_id: rid.into(),
        dimension: ScalableDimension::LambdaProvisionedConcurrency,
        min_capacity: 2,
        max_capacity: 4,
    tags: Default::default(), arn: None,};

    // A target on api's alias that trimtab did not register, with their policy on it.
    let (d, mut o) = setup();
    o.scalable_targets.push(their_target(API_RID));
    o.scaling_policies.push(their_policy(API_RID));
    let p = plan(&d, &o);
    assert!(
        !p.changes
            .iter()
            .any(|c| c.id.starts_with("api") || c.id.contains(API_RID)),
        "{p:#?}"
    );
    let r = p
        .refusals
        .iter()
        .find(|r| r.id == API_RID)
        .expect("refused");
    assert!(
        r.reason.contains("registered by someone else"),
        "{}",
        r.reason
    );

    // A rule with trimtab's name for web, but no marker on web.
    let (d, mut o) = setup();
    o.rules.insert(
        WEB_RULE.into(),
        ObservedRule {
            arn: format!("arn:aws:events:us-east-1:{ACCOUNT}:rule/{WEB_RULE}"),
            rule: Rule {
                name: WEB_RULE.into(),
                schedule_expression: Some("rate(1 hour)".into()),
                description: None,
                state: RuleState::Enabled,
            },
        },
    );
    let p = plan(&d, &o);
    assert!(
        !p.changes.iter().any(|c| c.id == WEB_RULE || c.id == "web"),
        "{p:#?}"
    );
    assert!(
        p.refusals
            .iter()
            .any(|r| r.id == WEB_RULE && r.reason.contains("did not build it"))
    );

    // Their policy on trimtab's target is left alone, and so is a batch function's own target.
    let (d, mut o) = built();
    o.scaling_policies.push(their_policy(API_RID));
    let rid = lambda_resource_id("worker-a", "live");
    o.scalable_targets.push(their_target(&rid));
    o.scaling_policies.push(their_policy(&rid));
    assert_eq!(plan(&d, &o), Plan::default());
}

#[test]
fn drift_is_repaired_part_by_part() {
    let (d, o) = built();
    type Mutation = fn(&mut Observed);
    /// (case, mutation, kind, id, action, diffs as field/old/new).
    type Case = (
        &'static str,
        Mutation,
        ResourceKind,
        &'static str,
        Action,
        Vec<(&'static str, &'static str, &'static str)>,
    );
    let cases: Vec<Case> = vec![
        (
            "target min",
            |o| o.scalable_targets[0].min_capacity = 3,
            ResourceKind::ScalableTarget,
            API_RID,
            Action::Update,
            vec![("min_capacity", "3", "1")],
        ),
        (
            "policy target",
            |o| o.scaling_policies[0].policy.target_value = 0.5,
            ResourceKind::ScalingPolicy,
            "trimtab-pc-api",
            Action::Update,
            vec![("target_value", "0.5", "0.7")],
        ),
        (
            "policy deleted",
            |o| o.scaling_policies.clear(),
            ResourceKind::ScalingPolicy,
            "trimtab-pc-api",
            Action::Create,
            vec![],
        ),
        (
            "rule disabled",
            |o| o.rules.get_mut(WEB_RULE).unwrap().rule.state = RuleState::Disabled,
            ResourceKind::Rule,
            WEB_RULE,
            Action::Update,
            vec![("state", "Disabled", "Enabled")],
        ),
        (
            "target input",
            |o| o.rule_targets.get_mut(WEB_RULE).unwrap()[0].input = None,
            ResourceKind::RuleTarget,
            WEB_RULE,
            Action::Update,
            vec![(
                "input",
                "(none)",
                r#"{"source":"trimtab.warmup","concurrency":1,"function":"web"}"#,
            )],
        ),
        (
            "target removed",
            |o| o.rule_targets.get_mut(WEB_RULE).unwrap().clear(),
            ResourceKind::RuleTarget,
            WEB_RULE,
            Action::Create,
            vec![],
        ),
        (
            "permission removed",
            |o| {
                o.permissions.insert("web".into(), Vec::new());
            },
            ResourceKind::Permission,
            "web",
            Action::Create,
            vec![],
        ),
    ];
    for (name, mutate, kind, id, action, diffs) in cases {
        let mut drifted = o.clone();
        mutate(&mut drifted);
        let p = plan(&d, &drifted);
        assert_eq!(
            summary(&p),
            vec![(kind, id, action, Phase::Build)],
            "{name}: {p:#?}"
        );
        let got: Vec<(&str, &str, &str)> = p.changes[0]
            .diffs
            .iter()
            .map(|d| (d.field.as_str(), d.old.as_str(), d.new.as_str()))
            .collect();
        assert_eq!(got, diffs, "{name}");
        assert_eq!(
            plan(&d, &apply(&drifted, &p)),
            Plan::default(),
            "{name}: repaired"
        );
    }
}

#[test]
fn functions_without_detail_are_left_alone() {
    let (d, o) = built();
    let mut unread = o.clone();
    for f in unread.functions.values_mut() {
        f.detail = None;
    }
    assert_eq!(self::plan(&d, &unread), Plan::default());
}

#[test]
fn bad_schedules_are_refused_and_overrides_apply() {
    let (mut d, o) = setup();
    d.functions[0].settings.cold_start.provisioned_min = Some(2);
    d.functions[0].settings.cold_start.provisioned_max = Some(20);
    let web = d
        .functions
        .iter_mut()
        .find(|r| r.tier == Tier::Standard)
        .expect("web");
    web.settings.cold_start.warmup_schedule = Some("rate(90 minutes)".into());
    let p = plan(&d, &o);
    assert_eq!(
        summary(&p),
        vec![
            (
                ResourceKind::ScalableTarget,
                API_RID,
                Action::Create,
                Phase::Prepare
            ),
            (
                ResourceKind::ScalingPolicy,
                "trimtab-pc-api",
                Action::Create,
                Phase::Build
            ),
        ]
    );
    assert!(
        p.changes[0]
            .reason
            .contains("provisioned concurrency 2–20 on alias live (≈ $21.60/month at the minimum)"),
        "{}",
        p.changes[0].reason
    );
    assert_eq!(p.refusals.len(), 1);
    assert_eq!(p.refusals[0].id, WEB_RULE);
}
