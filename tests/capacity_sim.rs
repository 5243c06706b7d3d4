//! Capacity and cold starts, whole cycles against the simulated account in virtual time:
//! convergence, idempotence, tier changes in both directions (build before remove), the
//! account budget guard, ownership of settings others made, on-demand tables, and a throttled,
//! flaky account converging anyway.

mod support;

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use support::sim::Harness;
use trimtab::cloud::Op;
use trimtab::engine::CycleReport;
use trimtab::model::{
    Action, Phase, Plan, ResourceKind, ScalableDimension, ScalableTarget, SimFaults,
};

const CONFIG: &str = r#"
interval = "60s"

[cloud]
backend = "simulated"
region = "eu-west-1"

[cold_start]
manage_alias = true

[[functions]]
name = "api"
tier = "critical"
reserved_concurrency = 200

[[functions]]
name = "search"
tier = "standard"

[[functions]]
name = "chunker"
tier = "batch"

[[tables]]
name = "sessions"

[[tables]]
name = "embeddings"

[observe]
metrics = false

[simulated]
[[simulated.functions]]
name = "api"
memory_mb = 1024
peak_rps = 20

[[simulated.functions]]
name = "search"
memory_mb = 512
peak_rps = 10

[[simulated.functions]]
name = "chunker"
memory_mb = 2048

[[simulated.tables]]
name = "sessions"
billing_mode = "provisioned"
indexes = ["by-user"]
read_capacity = 10
write_capacity = 10

[[simulated.tables]]
name = "embeddings"
billing_mode = "on_demand"
"#;

/// One cycle that must not fail any change.
async fn cycle(h: &Harness) -> CycleReport {
    let report = h.cycle().await;
    assert_eq!(report.apply.failed(), 0, "{:#?}", report.apply);
    report
}

trait CapacityView {
    fn targets(&self) -> Vec<(String, ScalableDimension, u32, u32)>;
    fn policy_names(&self) -> Vec<String>;
    fn tag(&self, function: &str, key: &str) -> Option<String>;
}

impl CapacityView for Harness {
    fn targets(&self) -> Vec<(String, ScalableDimension, u32, u32)> {
        self.sim.with_state(|s| {
            s.scalable_targets
                .iter()
                .map(|t| {
                    (
                        t.resource_id.clone(),
                        t.dimension,
                        t.min_capacity,
                        t.max_capacity,
                    )
                })
                .collect()
        })
    }

    fn policy_names(&self) -> Vec<String> {
        self.sim.with_state(|s| {
            s.scaling_policies
                .iter()
                .map(|p| p.policy.name.clone())
                .collect()
        })
    }

    fn tag(&self, function: &str, key: &str) -> Option<String> {
        self.sim.with_state(|s| {
            s.functions
                .get(function)
                .and_then(|f| f.tags.value(key).map(str::to_string))
        })
    }
}

fn with_tier(text: &str, function: &str, tier: &str) -> String {
    let from = format!("name = \"{function}\"\ntier = \"");
    let start = text.find(&from).expect("function in config") + from.len();
    let end = start + text[start..].find('"').expect("closing quote");
    format!("{}{tier}{}", &text[..start], &text[end..])
}

#[tokio::test]
async fn converges_from_empty_and_then_writes_nothing() {
    let h = Harness::new(CONFIG);
    let report = cycle(&h).await;
    let kinds: Vec<ResourceKind> = report.plan.changes.iter().map(|c| c.kind).collect();
    for kind in [
        ResourceKind::ReservedConcurrency,
        ResourceKind::Alias,
        ResourceKind::ScalableTarget,
        ResourceKind::ScalingPolicy,
        ResourceKind::Rule,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} missing from {kinds:?}");
    }

    // Critical: alias, scalable target and policy on it; AAS keeps provisioned concurrency.
    let (alias, reserved, pc) = h.sim.with_state(|s| {
        let f = &s.functions["api"];
        (
            f.aliases.contains_key("live"),
            f.reserved_concurrency,
            f.provisioned.get("live").map(|p| p.requested),
        )
    });
    assert!(alias);
    assert_eq!(reserved, Some(200));
    assert_eq!(
        pc,
        Some(1),
        "AAS sets provisioned concurrency to the target's minimum"
    );
    let targets = h.targets();
    assert!(targets.contains(&(
        "function:api:live".into(),
        ScalableDimension::LambdaProvisionedConcurrency,
        1,
        10
    )));
    // Provisioned table: read and write on the table and on its index; on-demand: nothing.
    for (id, dim) in [
        ("table/sessions", ScalableDimension::TableRead),
        ("table/sessions", ScalableDimension::TableWrite),
        ("table/sessions/index/by-user", ScalableDimension::IndexRead),
        (
            "table/sessions/index/by-user",
            ScalableDimension::IndexWrite,
        ),
    ] {
        assert!(
            targets.iter().any(|t| t.0 == id && t.1 == dim),
            "{id} {dim:?} missing: {targets:?}"
        );
    }
    assert!(targets.iter().all(|t| !t.0.contains("embeddings")));
    assert!(
        report
            .plan
            .notes
            .iter()
            .any(|n| n.id.contains("embeddings") && n.message.contains("on-demand")),
        "{:#?}",
        report.plan.notes
    );
    assert_eq!(h.policy_names().len(), 1 + 4);

    // Standard: a warm-up rule with a spread cron schedule, a target with the documented event,
    // and the permission scoped to the rule.
    let (schedule, input, permission) = h.sim.with_state(|s| {
        let rule = &s.rules["trimtab-warmup-search"];
        let target = rule.targets.values().next().cloned();
        let permission = s.functions["search"].permissions.first().cloned();
        (
            rule.rule.schedule_expression.clone(),
            target.and_then(|t| t.input),
            permission,
        )
    });
    assert!(
        schedule
            .as_deref()
            .is_some_and(|s| s.starts_with("cron(") && s.contains("/5 ")),
        "{schedule:?}"
    );
    let event: serde_json::Value =
        serde_json::from_str(input.as_deref().expect("input")).expect("json");
    assert_eq!(event["source"], "trimtab.warmup");
    assert_eq!(event["concurrency"], 1);
    let permission = permission.expect("permission");
    assert_eq!(permission.principal, "events.amazonaws.com");
    assert_eq!(permission.action, "lambda:InvokeFunction");
    assert!(
        permission
            .source_arn
            .as_deref()
            .is_some_and(|a| a.ends_with(":rule/trimtab-warmup-search"))
    );

    // Batch: nothing.
    assert!(h.sim.with_state(|s| {
        s.functions["chunker"]
            .tags
            .keys()
            .all(|k| !k.starts_with("trimtab:"))
    }));

    // Ownership markers recorded on the functions.
    assert_eq!(h.tag("api", "trimtab:provisioned").as_deref(), Some("live"));
    assert_eq!(
        h.tag("api", "trimtab:reserved-concurrency").as_deref(),
        Some("200")
    );
    assert_eq!(
        h.tag("search", "trimtab:warmup").as_deref(),
        Some("trimtab-warmup-search")
    );

    h.sim.reset_counters();
    let report = cycle(&h).await;
    assert!(report.plan.changes.is_empty(), "{:#?}", report.plan.changes);
    assert_eq!(h.sim.counters().write_calls(), 0, "{:#?}", h.sim.counters());
    // Once built, critical functions need no ListAliases.
    assert_eq!(h.sim.counters().calls(Op::ListAliases), 0);
}

fn phases(plan: &Plan, kinds: &[ResourceKind], action: Action) -> Vec<Phase> {
    plan.changes
        .iter()
        .filter(|c| kinds.contains(&c.kind) && c.action == action)
        .map(|c| c.phase)
        .collect()
}

/// A tier change builds the new strategy in an earlier phase than it removes the old one, and
/// does both in the same plan.
fn assert_build_before_remove(plan: &Plan, built: &[Phase], removed: &[Phase]) {
    assert!(
        !built.is_empty() && !removed.is_empty(),
        "{:#?}",
        plan.changes
    );
    assert!(
        built.iter().max() < removed.iter().min(),
        "build {built:?} must precede remove {removed:?}"
    );
}

#[tokio::test]
async fn tier_change_critical_to_standard_builds_before_it_removes() {
    let mut h = Harness::new(CONFIG);
    cycle(&h).await;
    h.reconfigure(&with_tier(CONFIG, "api", "standard"));
    let report = cycle(&h).await;
    let built = phases(
        &report.plan,
        &[
            ResourceKind::Rule,
            ResourceKind::RuleTarget,
            ResourceKind::Permission,
        ],
        Action::Create,
    );
    let removed = phases(
        &report.plan,
        &[
            ResourceKind::ScalableTarget,
            ResourceKind::ScalingPolicy,
            ResourceKind::ProvisionedConcurrency,
        ],
        Action::Delete,
    );
    assert_build_before_remove(&report.plan, &built, &removed);
    assert!(h.targets().iter().all(|t| t.0 != "function:api:live"));
    assert!(h.policy_names().iter().all(|p| p != "trimtab-pc-api"));
    assert!(
        h.sim
            .with_state(|s| s.functions["api"].provisioned.is_empty()),
        "provisioned concurrency deleted"
    );
    assert!(
        h.sim
            .with_state(|s| s.rules.contains_key("trimtab-warmup-api"))
    );
    assert_eq!(h.tag("api", "trimtab:provisioned"), None);
    assert_eq!(
        h.tag("api", "trimtab:warmup").as_deref(),
        Some("trimtab-warmup-api")
    );
    assert!(h.plan().await.changes.is_empty());
}

#[tokio::test]
async fn tier_change_standard_to_critical_then_to_batch() {
    let mut h = Harness::new(CONFIG);
    cycle(&h).await;
    let critical = with_tier(CONFIG, "search", "critical");
    h.reconfigure(&critical);
    let report = cycle(&h).await;
    let built = phases(
        &report.plan,
        &[ResourceKind::ScalableTarget, ResourceKind::ScalingPolicy],
        Action::Create,
    );
    let removed = phases(
        &report.plan,
        &[
            ResourceKind::Rule,
            ResourceKind::RuleTarget,
            ResourceKind::Permission,
        ],
        Action::Delete,
    );
    assert_build_before_remove(&report.plan, &built, &removed);
    assert!(
        h.sim
            .with_state(|s| !s.rules.contains_key("trimtab-warmup-search"))
    );
    assert!(
        h.sim
            .with_state(|s| s.functions["search"].permissions.is_empty())
    );
    assert!(h.targets().iter().any(|t| t.0 == "function:search:live"));

    h.reconfigure(&with_tier(&critical, "search", "batch"));
    cycle(&h).await;
    assert!(h.targets().iter().all(|t| t.0 != "function:search:live"));
    assert!(
        h.sim
            .with_state(|s| s.functions["search"].provisioned.is_empty())
    );
    assert!(h.sim.with_state(|s| {
        s.functions["search"]
            .tags
            .keys()
            .all(|k| !k.starts_with("trimtab:"))
    }));
    assert!(h.plan().await.changes.is_empty());
}

#[tokio::test]
async fn budget_guard_refuses_what_would_drain_the_unreserved_pool() {
    let text = CONFIG.replace("reserved_concurrency = 200", "reserved_concurrency = 950");
    let h = Harness::new(&text);
    let report = cycle(&h).await;
    let refusal = report
        .plan
        .refusals
        .iter()
        .find(|r| r.kind == ResourceKind::ReservedConcurrency)
        .unwrap_or_else(|| panic!("no refusal: {:#?}", report.plan.refusals));
    assert!(refusal.reason.contains("api"), "{}", refusal.reason);
    assert!(refusal.reason.contains("950"), "{}", refusal.reason);
    assert!(
        refusal.reason.contains("100"),
        "names the floor: {}",
        refusal.reason
    );
    assert!(
        report
            .plan
            .changes
            .iter()
            .all(|c| c.kind != ResourceKind::ReservedConcurrency)
    );
    assert_eq!(
        h.sim
            .with_state(|s| s.functions["api"].reserved_concurrency),
        None
    );
    // The rest of the plan went ahead.
    assert!(h.targets().iter().any(|t| t.0 == "function:api:live"));
}

#[tokio::test]
async fn settings_made_by_others_are_left_alone() {
    // No reserved concurrency in the config for search; someone set 40 by hand. And someone
    // registered the sessions table's write capacity with AAS themselves.
    let h = Harness::new(CONFIG);
    h.sim.with_state(|s| {
        s.functions
            .get_mut("search")
            .expect("fn")
            .reserved_concurrency = Some(40)
    });
    h.sim
        .cloud()
        .autoscaling
        .register_scalable_target(&ScalableTarget {
            resource_id: "table/sessions".into(),
            dimension: ScalableDimension::TableWrite,
            min_capacity: 2,
            max_capacity: 7,
            tags: Default::default(),
            arn: None,
        })
        .await
        .expect("register");
    let report = cycle(&h).await;
    assert!(
        report
            .plan
            .refusals
            .iter()
            .any(|r| r.id.contains("sessions") && r.kind == ResourceKind::ScalableTarget),
        "{:#?}",
        report.plan.refusals
    );
    for _ in 0..5 {
        cycle(&h).await;
    }
    assert_eq!(
        h.sim
            .with_state(|s| s.functions["search"].reserved_concurrency),
        Some(40)
    );
    assert!(
        h.targets()
            .contains(&("table/sessions".into(), ScalableDimension::TableWrite, 2, 7))
    );
    assert!(
        !h.policy_names()
            .contains(&"trimtab-ddb-sessions-write".to_string())
    );
}

#[tokio::test]
async fn reserved_concurrency_removed_from_config_is_removed_only_if_trimtab_set_it() {
    let mut h = Harness::new(CONFIG);
    cycle(&h).await;
    h.reconfigure(&CONFIG.replace("reserved_concurrency = 200\n", ""));
    let report = cycle(&h).await;
    assert!(
        report
            .plan
            .changes
            .iter()
            .any(|c| c.kind == ResourceKind::ReservedConcurrency && c.action == Action::Delete)
    );
    assert_eq!(
        h.sim
            .with_state(|s| s.functions["api"].reserved_concurrency),
        None
    );
    assert_eq!(h.tag("api", "trimtab:reserved-concurrency"), None);
    assert!(h.plan().await.changes.is_empty());
}

#[tokio::test]
async fn a_throttled_flaky_account_converges_anyway() {
    let h = Harness::new(CONFIG);
    h.sim.set_quota("lambda:control-plane", 2.0);
    h.sim.set_quota("application-autoscaling:write", 1.0);
    h.faults.set(SimFaults {
        error_rate: 0.2,
        latency: Duration::from_millis(100),
        failing_operations: Vec::new(),
    });
    let mut converged = false;
    for _ in 0..15 {
        h.clock.advance(h.desired.interval);
        if let Ok(report) = h.engine.cycle(&h.desired, &CancellationToken::new()).await
            && report.plan.changes.is_empty()
        {
            converged = true;
            break;
        }
    }
    assert!(converged, "did not converge in 15 cycles");
    assert!(h.faults.injected_total() > 0, "faults must have fired");
    h.faults.set(SimFaults::default());
    assert!(h.targets().iter().any(|t| t.0 == "function:api:live"));
    assert!(
        h.sim
            .with_state(|s| s.rules.contains_key("trimtab-warmup-search"))
    );
}
