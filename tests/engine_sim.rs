//! Whole cycles against the simulated account, in virtual time: convergence, idempotence,
//! drift, ownership, pruning, isolation of failures, and throttling. Assertions are on
//! operation counts and account state, never on time.

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use support::sim::Harness;
use trimtab::cloud::{CloudError, CloudResult, CloudWatchApi, ErrorKind, Op};
use trimtab::model::{
    Action, AlarmSpec, MetricDataPage, MetricDatum, MetricId, MetricQuery, ObservedAlarm, Page,
    ResourceKind, ScalableDimension, ScalableTarget, ScalingPolicy, SimFaults, Tags,
};

const BASE: &str = r#"
interval = "60s"

[cloud]
backend = "simulated"
region = "eu-west-1"

[notifications]
topic = "alerts"
emails = ["oncall@example.com"]

[[functions]]
name = "api"
tier = "batch"

[[functions]]
name_prefix = "worker-"
tier = "batch"

[[tables]]
name = "sessions"

[observe]
metrics = false

# Capacity has its own suite (tests/capacity_sim.rs); these tests look at alarms alone.
[table_scaling]
enabled = false

[simulated]
[[simulated.functions]]
name = "api"
memory_mb = 1024
peak_rps = 5

[[simulated.functions]]
name = "worker-a"
peak_rps = 1

[[simulated.functions]]
name = "worker-b"
peak_rps = 1

[[simulated.functions]]
name = "someone-elses"

[[simulated.tables]]
name = "sessions"
billing_mode = "provisioned"
read_capacity = 10
write_capacity = 10
"#;

/// Alarms the base config calls for: 3 per function (api, worker-a, worker-b), the table's,
/// cache hit rate, cost per student and the model mix.
const DESIRED_ALARMS: usize = 3 * 3 + 1 + 3;

trait AlarmView {
    async fn pending(&self) -> usize;
    fn alarm(&self, name: &str) -> Option<AlarmSpec>;
    fn alarm_names(&self) -> Vec<String>;
}

impl AlarmView for Harness {
    async fn pending(&self) -> usize {
        self.plan().await.changes.len()
    }

    fn alarm(&self, name: &str) -> Option<AlarmSpec> {
        self.sim
            .with_state(|s| s.alarms.get(name).map(|a| a.spec.clone()))
    }

    fn alarm_names(&self) -> Vec<String> {
        self.sim.with_state(|s| s.alarms.keys().cloned().collect())
    }
}

fn owned_alarms(h: &Harness) -> Vec<String> {
    h.alarm_names()
        .into_iter()
        .filter(|n| n.starts_with("trimtab-"))
        .collect()
}

#[tokio::test]
async fn converges_from_an_empty_account() {
    let h = Harness::new(BASE);
    let report = h.cycle().await;
    assert_eq!(report.apply.failed(), 0, "{:#?}", report.apply);
    // Topic, subscription, the dashboard, every alarm.
    assert_eq!(report.plan.changes.len(), 3 + DESIRED_ALARMS);
    assert!(
        report
            .plan
            .changes
            .iter()
            .all(|c| c.action == Action::Create)
    );
    assert_eq!(owned_alarms(&h).len(), DESIRED_ALARMS);
    let topic = h.sim.with_state(|s| {
        s.topics
            .values()
            .map(|t| (t.name.clone(), t.subscriptions.len()))
            .collect::<Vec<_>>()
    });
    assert_eq!(topic, vec![("trimtab-alerts".to_string(), 1)]);
    let alarm = h
        .alarm("trimtab-lambda-api-duration-p95")
        .expect("alarm exists");
    assert_eq!(
        alarm.alarm_actions,
        vec!["arn:aws:sns:eu-west-1:123456789012:trimtab-alerts".to_string()]
    );
    assert_eq!(alarm.tags.value("managed-by"), Some("trimtab"));
    // Out-of-scope functions get nothing.
    assert!(h.alarm_names().iter().all(|n| !n.contains("someone-elses")));
    assert_eq!(h.pending().await, 0);
}

#[tokio::test]
async fn second_cycle_against_an_unchanged_account_makes_zero_writes() {
    let h = Harness::new(BASE);
    h.cycle().await;
    h.sim.reset_counters();
    let report = h.cycle().await;
    assert!(report.plan.changes.is_empty(), "{:#?}", report.plan);
    let counters = h.sim.counters();
    assert_eq!(counters.write_calls(), 0, "{counters:#?}");
    // Tags trimtab wrote on creation are trusted: no per-alarm reads.
    assert_eq!(counters.calls(Op::CwListTagsForResource), 0);
    assert_eq!(counters.calls(Op::DescribeAlarms), 1);
    assert_eq!(counters.calls(Op::ListFunctions), 1);
    // A fresh process (no cache) reads tags again, in bulk (one GetResources for the alarms,
    // one for the functions' markers), and still writes nothing.
    let fresh = h.fresh_engine();
    h.sim.reset_counters();
    let report = fresh
        .cycle(&h.desired, &CancellationToken::new())
        .await
        .expect("cycle");
    assert!(report.plan.changes.is_empty());
    assert!(
        report.plan.refusals.is_empty(),
        "{:#?}",
        report.plan.refusals
    );
    let counters = h.sim.counters();
    assert_eq!(counters.write_calls(), 0);
    assert_eq!(
        counters.calls(Op::CwListTagsForResource),
        0,
        "{counters:#?}"
    );
    assert_eq!(counters.calls(Op::GetResources), 2, "{counters:#?}");
    assert_eq!(counters.calls(Op::GetFunction), 0, "{counters:#?}");
}

/// A fresh process's cycle on the converged account: no changes, no refusals. Its calls.
async fn clean_fresh_cycle(h: &Harness) -> trimtab::cloud::sim::OpCounters {
    h.sim.reset_counters();
    let report = h
        .fresh_engine()
        .cycle(&h.desired, &CancellationToken::new())
        .await
        .expect("cycle");
    assert!(report.plan.changes.is_empty(), "{:#?}", report.plan);
    assert!(
        report.plan.refusals.is_empty(),
        "{:#?}",
        report.plan.refusals
    );
    h.sim.counters()
}

/// The tagging index is eventually consistent: an alarm it does not return yet (created just
/// before a restart) is read one by one, never taken for someone else's; and without the
/// permission for GetResources, every tag is read one by one, as before it existed.
#[tokio::test]
async fn a_fresh_process_does_not_trust_what_the_tag_index_leaves_out() {
    let h = Harness::new(BASE);
    h.cycle().await;
    h.sim.with_state(|s| {
        let behind = s.alarm_arn("trimtab-lambda-api-duration-p95");
        s.tag_index_behind.insert(behind)
    });
    let counters = clean_fresh_cycle(&h).await;
    assert_eq!(
        counters.calls(Op::CwListTagsForResource),
        1,
        "{counters:#?}"
    );
    assert_eq!(counters.write_calls(), 0);

    // No tag:GetResources: the same plan, from per-resource reads.
    h.faults.set(trimtab::model::SimFaults {
        failing_operations: vec!["GetResources".into()],
        ..Default::default()
    });
    let counters = clean_fresh_cycle(&h).await;
    assert_eq!(
        counters.calls(Op::CwListTagsForResource) as usize,
        DESIRED_ALARMS
    );
    assert_eq!(counters.write_calls(), 0);
}

#[tokio::test]
async fn a_reload_keeps_the_caches_and_what_controllers_remember() {
    let mut h = Harness::new(BASE);
    h.cycle().await;
    // The first cycle that sees the alarms checks which of their metrics have data (one
    // listing per metric name); the next one remembers.
    h.sim.reset_counters();
    h.cycle().await;
    // 11 alarm metric names, Bedrock's two among them (the cost model listed AWS/Bedrock's
    // input tokens in the first cycle, and remembers them for an hour).
    assert_eq!(h.sim.counters().calls(Op::ListMetrics), 11);
    h.sim.reset_counters();
    h.cycle().await;
    assert_eq!(h.sim.counters().calls(Op::ListMetrics), 0, "remembered");
    h.reconfigure(&BASE.replace("interval = \"60s\"", "interval = \"90s\""));
    h.sim.reset_counters();
    let report = h.cycle().await;
    assert!(report.plan.changes.is_empty(), "{:#?}", report.plan);
    let c = h.sim.counters();
    // The tag cache survived (no per-alarm reads), and so did the alarm-data memory (no
    // ListMetrics): a reload is not a restart.
    assert_eq!(c.calls(Op::CwListTagsForResource), 0, "{c:#?}");
    assert_eq!(c.calls(Op::ListMetrics), 0, "{c:#?}");
    // The notes it remembers are still in the plan: the cache and cost metrics have no data.
    assert!(
        report
            .plan
            .notes
            .iter()
            .any(|n| n.id == "trimtab-app-cost-per-student"),
        "{:#?}",
        report.plan.notes
    );
    // A restart (a fresh engine) lists them again.
    let fresh = h.fresh_engine();
    h.sim.reset_counters();
    fresh
        .cycle(&h.desired, &CancellationToken::new())
        .await
        .expect("cycle");
    assert!(h.sim.counters().calls(Op::ListMetrics) > 0);
}

#[tokio::test]
async fn drift_made_by_someone_else_is_repaired_next_cycle() {
    let h = Harness::new(BASE);
    h.cycle().await;
    let name = "trimtab-lambda-api-error-rate";
    let want = h.alarm(name).expect("alarm");
    h.sim.with_state(|s| {
        let a = s.alarms.get_mut(name).expect("alarm");
        a.spec.threshold = 50.0;
        a.spec.alarm_actions.clear();
        a.updated_at += Duration::from_secs(600);
    });
    let report = h.cycle().await;
    let updates: Vec<_> = report
        .plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Update)
        .collect();
    assert_eq!(updates.len(), 1, "{:#?}", report.plan);
    let fields: Vec<&str> = updates[0].diffs.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(fields, vec!["threshold", "alarm_actions"]);
    assert_eq!(h.alarm(name), Some(want));
    assert_eq!(h.pending().await, 0);
}

#[tokio::test]
async fn removed_ownership_tag_makes_the_alarm_foreign_and_untouched() {
    let h = Harness::new(BASE);
    h.cycle().await;
    let name = "trimtab-lambda-worker-a-throttles";
    h.sim.with_state(|s| {
        let a = s.alarms.get_mut(name).expect("alarm");
        a.spec.tags.clear();
        a.spec.threshold = 1.0;
        a.updated_at += Duration::from_secs(600);
    });
    let before = h.alarm(name);
    let report = h.cycle().await;
    assert!(report.plan.changes.is_empty(), "{:#?}", report.plan);
    assert!(
        report
            .plan
            .refusals
            .iter()
            .any(|r| r.id == name && r.reason.contains("not owned"))
    );
    assert_eq!(h.alarm(name), before);
}

#[tokio::test]
async fn unowned_and_target_tracking_alarms_survive_many_cycles() {
    let h = Harness::new(BASE);
    // Someone else's alarm under trimtab's prefix (no ownership tag), an unrelated alarm, and
    // the alarms Application Auto Scaling makes for a target-tracking policy on the table.
    h.cycle().await;
    let template = h.alarm("trimtab-lambda-api-throttles").expect("alarm");
    h.sim.with_state(|s| {
        for name in ["trimtab-made-by-hand", "team-x-latency"] {
            let mut rec = s
                .alarms
                .get("trimtab-lambda-api-throttles")
                .expect("alarm")
                .clone();
            rec.spec.name = name.to_string();
            rec.spec.tags = Tags::from([("owner".to_string(), "team-x".to_string())]);
            rec.arn = rec.arn.replace("trimtab-lambda-api-throttles", name);
            s.alarms.insert(name.to_string(), rec);
        }
    });
    let cloud = h.sim.cloud();
    cloud
        .autoscaling
        .register_scalable_target(&ScalableTarget {
            resource_id: "table/sessions".into(),
            dimension: ScalableDimension::TableRead,
            min_capacity: 5,
            max_capacity: 100,
            tags: Default::default(),
            arn: None,
        })
        .await
        .expect("register");
    cloud
        .autoscaling
        .put_scaling_policy(&ScalingPolicy {
            name: "sessions-read".into(),
            resource_id: "table/sessions".into(),
            dimension: ScalableDimension::TableRead,
            predefined_metric: "DynamoDBReadCapacityUtilization".into(),
            target_value: 70.0,
            scale_in_cooldown_s: None,
            scale_out_cooldown_s: None,
            disable_scale_in: false,
        })
        .await
        .expect("policy");
    let foreign: Vec<(String, AlarmSpec)> = h.sim.with_state(|s| {
        s.alarms
            .iter()
            .filter(|(n, _)| !n.starts_with("trimtab-") || n.as_str() == "trimtab-made-by-hand")
            .map(|(n, a)| (n.clone(), a.spec.clone()))
            .collect()
    });
    assert!(
        foreign
            .iter()
            .filter(|(n, _)| n.starts_with("TargetTracking-"))
            .count()
            >= 2,
        "{foreign:?}"
    );
    h.sim.reset_counters();
    for _ in 0..20 {
        let report = h.cycle().await;
        assert!(report.plan.changes.is_empty(), "{:#?}", report.plan);
    }
    assert_eq!(h.sim.counters().write_calls(), 0);
    for (name, spec) in foreign {
        assert_eq!(h.alarm(&name).as_ref(), Some(&spec), "{name} changed");
    }
    assert_eq!(h.alarm("trimtab-lambda-api-throttles"), Some(template));
}

/// BASE without its worker selector: the workers' 6 alarms are no longer desired.
fn base_without_workers() -> String {
    let without = BASE.replace(
        "[[functions]]\nname_prefix = \"worker-\"\ntier = \"batch\"\n",
        "",
    );
    assert_ne!(without, BASE, "BASE no longer has the worker selector");
    without
}

#[tokio::test]
async fn owned_alarms_no_longer_desired_are_pruned_and_kept_when_prune_is_off() {
    let mut h = Harness::new(BASE);
    h.cycle().await;
    // worker-b disappears from the account; the worker selector goes from the config.
    h.sim.with_state(|s| s.functions.remove("worker-b"));
    let without_workers = base_without_workers();
    assert_ne!(without_workers, BASE);
    let no_prune = without_workers.replace(
        "[notifications]",
        "[ownership]\nprune = false\n\n[notifications]",
    );
    h.reconfigure(&no_prune);
    let report = h.cycle().await;
    // Only the dashboard follows the smaller set of functions; no alarm is touched.
    assert!(
        report
            .plan
            .changes
            .iter()
            .all(|c| c.kind == ResourceKind::Dashboard && c.action == Action::Update),
        "{:#?}",
        report.plan
    );
    assert_eq!(report.plan.refusals.len(), 6, "{:#?}", report.plan.refusals);
    assert_eq!(owned_alarms(&h).len(), DESIRED_ALARMS);

    h.reconfigure(&without_workers);
    h.sim.reset_counters();
    let report = h.cycle().await;
    let deleted: Vec<&str> = report
        .plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(deleted.len(), 6, "{deleted:?}");
    assert!(deleted.iter().all(|n| n.contains("worker-")));
    assert_eq!(report.apply.failed(), 0);
    // Six deletions, one batched DeleteAlarms call.
    assert_eq!(h.sim.counters().calls(Op::DeleteAlarms), 1);
    assert_eq!(owned_alarms(&h).len(), DESIRED_ALARMS - 6);
    assert_eq!(h.pending().await, 0);
}

#[tokio::test]
async fn a_plan_that_deletes_too_much_at_once_waits_for_a_person() {
    let mut h = Harness::new(BASE);
    h.cycle().await;
    // The worker selector goes: 6 alarms to delete, above a limit of 3.
    let without_workers = base_without_workers();
    let limited = without_workers.replace(
        "[notifications]",
        "[ownership]\nmax_deletions = 3\n\n[notifications]",
    );
    h.reconfigure(&limited);
    h.sim.reset_counters();
    let report = h.cycle().await;
    assert!(
        report
            .plan
            .changes
            .iter()
            .all(|c| c.action != Action::Delete),
        "{:#?}",
        report.plan.changes
    );
    let held: Vec<_> = report
        .plan
        .refusals
        .iter()
        .filter(|r| r.reason.starts_with("held back"))
        .collect();
    assert_eq!(held.len(), 6, "{:#?}", report.plan.refusals);
    assert_eq!(h.sim.counters().calls(Op::DeleteAlarms), 0);
    assert_eq!(owned_alarms(&h).len(), DESIRED_ALARMS);
    // Confirmed: the deletions go ahead.
    h.reconfigure(&limited.replace(
        "max_deletions = 3\n",
        "max_deletions = 3\nallow_mass_deletion = true\n",
    ));
    let report = h.cycle().await;
    assert_eq!(
        report
            .plan
            .changes
            .iter()
            .filter(|c| c.action == Action::Delete)
            .count(),
        6
    );
    assert_eq!(owned_alarms(&h).len(), DESIRED_ALARMS - 6);
}

/// Fails PutMetricAlarm for one alarm, as AWS would for a resource-specific problem.
struct FailOne {
    inner: Arc<dyn CloudWatchApi>,
    name: String,
}

#[async_trait]
impl CloudWatchApi for FailOne {
    async fn describe_alarms(
        &self,
        prefix: Option<&str>,
        next: Option<&str>,
    ) -> CloudResult<Page<ObservedAlarm>> {
        self.inner.describe_alarms(prefix, next).await
    }
    async fn put_metric_alarm(&self, alarm: &AlarmSpec) -> CloudResult<()> {
        if alarm.name == self.name {
            return Err(CloudError::new(
                ErrorKind::Invalid,
                Op::PutMetricAlarm,
                "injected: this alarm is rejected",
            )
            .with_code("ValidationError"));
        }
        self.inner.put_metric_alarm(alarm).await
    }
    async fn delete_alarms(&self, names: &[String]) -> CloudResult<()> {
        self.inner.delete_alarms(names).await
    }
    async fn list_tags_for_resource(&self, arn: &str) -> CloudResult<Tags> {
        self.inner.list_tags_for_resource(arn).await
    }
    async fn tag_resource(&self, arn: &str, tags: &Tags) -> CloudResult<()> {
        self.inner.tag_resource(arn, tags).await
    }
    async fn untag_resource(&self, arn: &str, keys: &[String]) -> CloudResult<()> {
        self.inner.untag_resource(arn, keys).await
    }
    async fn get_metric_data(
        &self,
        queries: &[MetricQuery],
        start: SystemTime,
        end: SystemTime,
        next: Option<&str>,
    ) -> CloudResult<MetricDataPage> {
        self.inner.get_metric_data(queries, start, end, next).await
    }
    async fn list_metrics(
        &self,
        namespace: &str,
        name: &str,
        next: Option<&str>,
    ) -> CloudResult<Page<MetricId>> {
        self.inner.list_metrics(namespace, name, next).await
    }
    async fn put_metric_data(&self, namespace: &str, data: &[MetricDatum]) -> CloudResult<()> {
        self.inner.put_metric_data(namespace, data).await
    }
    async fn put_dashboard(&self, name: &str, body: &str) -> CloudResult<()> {
        self.inner.put_dashboard(name, body).await
    }
    async fn get_dashboard(&self, name: &str) -> CloudResult<Option<String>> {
        self.inner.get_dashboard(name).await
    }
    async fn delete_dashboards(&self, names: &[String]) -> CloudResult<()> {
        self.inner.delete_dashboards(names).await
    }
}

#[tokio::test]
async fn one_failing_resource_does_not_block_the_others() {
    let bad = "trimtab-lambda-api-error-rate";
    let h = Harness::new(BASE).with_cloudwatch(|inner| {
        Arc::new(FailOne {
            inner,
            name: bad.to_string(),
        })
    });
    let report = h.cycle().await;
    assert_eq!(report.apply.failed(), 1, "{:#?}", report.apply);
    assert_eq!(report.outcome(), "partial");
    let failed = report
        .apply
        .outcomes
        .iter()
        .find(|o| o.id == bad)
        .expect("outcome recorded");
    assert!(
        format!("{:?}", failed.outcome).contains("injected"),
        "{failed:?}"
    );
    assert_eq!(owned_alarms(&h).len(), DESIRED_ALARMS - 1);
    assert_eq!(
        h.engine
            .telemetry()
            .changes_failed
            .with_label_values(&["alarm", "create"])
            .get(),
        1
    );
    // The next cycle retries just that one.
    let report = h.cycle().await;
    assert_eq!(report.plan.changes.len(), 1);
    assert_eq!(report.plan.changes[0].id, bad);
    assert_eq!(report.plan.changes[0].kind, ResourceKind::Alarm);
}

#[tokio::test]
async fn throttling_is_absorbed_with_backoff() {
    // trimtab is told it may call PutMetricAlarm at 20/s; the account allows 3/s.
    let text = BASE.replace(
        "region = \"eu-west-1\"\n",
        "region = \"eu-west-1\"\n\n[cloud.rate_limits]\n\"cloudwatch:PutMetricAlarm\" = 20\n",
    );
    assert_ne!(text, BASE);
    let h = Harness::new(&text);
    let report = h.cycle().await;
    assert_eq!(report.apply.failed(), 0, "{:#?}", report.apply);
    let counters = h.sim.counters();
    assert!(
        counters.throttled(Op::PutMetricAlarm) > 0,
        "the test must actually throttle: {counters:#?}"
    );
    assert!(h.engine.telemetry().calls_for(Op::PutMetricAlarm) > DESIRED_ALARMS as u64);
    assert_eq!(owned_alarms(&h).len(), DESIRED_ALARMS);
    assert_eq!(h.pending().await, 0);
}

#[tokio::test]
async fn a_flaky_account_converges_anyway() {
    let h = Harness::new(BASE);
    h.faults.set(SimFaults {
        error_rate: 0.3,
        latency: Duration::from_millis(50),
        failing_operations: Vec::new(),
    });
    let mut cycles = 0;
    loop {
        cycles += 1;
        assert!(cycles <= 10, "did not converge in 10 cycles");
        match h.engine.cycle(&h.desired, &CancellationToken::new()).await {
            Ok(report) if report.plan.changes.is_empty() => break,
            _ => h.clock.advance(h.desired.interval),
        }
    }
    assert!(h.faults.injected_total() > 0, "faults must have fired");
    eprintln!(
        "30% injected errors: {} faults injected, converged in {cycles} cycles",
        h.faults.injected_total()
    );
    h.faults.set(SimFaults::default());
    assert_eq!(owned_alarms(&h).len(), DESIRED_ALARMS);
}

#[tokio::test]
async fn a_failing_listing_fails_the_cycle_without_writing() {
    let h = Harness::new(BASE);
    h.cycle().await;
    h.sim.with_state(|s| s.functions.remove("worker-a"));
    h.faults.set(SimFaults {
        failing_operations: vec!["DescribeAlarms".into()],
        ..SimFaults::default()
    });
    h.sim.reset_counters();
    let result = h.engine.cycle(&h.desired, &CancellationToken::new()).await;
    assert!(result.is_err());
    assert_eq!(
        h.sim.counters().write_calls(),
        0,
        "nothing is pruned on a partial view"
    );
    assert_eq!(
        h.engine
            .telemetry()
            .cycles
            .with_label_values(&["failed"])
            .get(),
        1
    );
}

#[tokio::test]
async fn shutdown_skips_changes_not_yet_started() {
    let h = Harness::new(BASE);
    let cancel = CancellationToken::new();
    cancel.cancel();
    let report = h.engine.cycle(&h.desired, &cancel).await.expect("cycle");
    assert_eq!(report.apply.skipped(), report.plan.changes.len());
    assert_eq!(h.sim.counters().write_calls(), 0);
    // Counted and reported as interrupted, not as a success.
    assert_eq!(report.outcome(), "interrupted");
}

/// `/status` once calm: who is answering, what trimtab manages by kind and in which state,
/// when each was last verified, and errors put right since marked so.
#[tokio::test]
async fn status_shows_the_inventory_and_marks_resolved_errors() {
    use trimtab::engine::status::{Heartbeat, ResourceState, StatusBoard};
    let h = Harness::new(BASE);
    let board = StatusBoard::new(
        h.clock.clone(),
        Heartbeat::default(),
        "test.toml".into(),
        Duration::from_secs(60),
    );
    board.set_identity(h.desired.cloud.backend, &h.desired.cloud.region);
    // The first cycle crashes after five writes: everything after fails.
    h.faults.crash_after_writes(Some(5));
    board.cycle_completed(&h.cycle().await);
    let s = board.snapshot();
    let alarms = &s.inventory[&ResourceKind::Alarm];
    assert_eq!(alarms.count, DESIRED_ALARMS);
    assert!(
        alarms
            .by_state
            .get(&ResourceState::Pending)
            .copied()
            .unwrap_or(0)
            > 0,
        "{alarms:?}"
    );
    let failed = s.recent_errors.len();
    assert!(failed > 0);
    assert!(s.recent_errors.iter().all(|e| e.resolved_at.is_none()));

    h.faults.crash_after_writes(None);
    for _ in 0..3 {
        h.clock.advance(Duration::from_secs(60));
        board.cycle_completed(&h.cycle().await);
    }
    let s = board.snapshot();
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["backend"], "simulated");
    assert_eq!(json["region"], "eu-west-1");
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["account"], "123456789012");
    for (kind, inv) in &s.inventory {
        assert_eq!(
            inv.by_state.get(&ResourceState::InSync).copied(),
            Some(inv.count),
            "{kind}: {inv:?}"
        );
        assert!(inv.resources.iter().all(|r| r.last_verified.is_some()));
    }
    assert_eq!(s.inventory[&ResourceKind::Alarm].count, DESIRED_ALARMS);
    assert_eq!(s.inventory[&ResourceKind::Topic].count, 1);
    assert_eq!(s.recent_errors.len(), failed, "nothing new failed");
    assert!(
        s.recent_errors.iter().all(|e| e.resolved_at.is_some()),
        "{:?}",
        s.recent_errors
    );
    // A day on, they have aged out.
    h.clock.advance(Duration::from_secs(25 * 3_600));
    board.cycle_completed(&h.cycle().await);
    assert!(board.snapshot().recent_errors.is_empty());
}

/// The fence: with the leader lease not held, the executor makes no write at all, and each
/// change says why.
#[tokio::test]
async fn without_the_lease_no_write_is_made() {
    let mut h = Harness::new(BASE);
    let closed = trimtab::engine::apply::WriteGate(Arc::new(|| false));
    h.engine = h.fresh_engine().with_write_gate(closed);
    h.sim.reset_counters();
    let r = h.cycle().await;
    assert!(!r.plan.changes.is_empty());
    assert_eq!(h.sim.counters().write_calls(), 0);
    assert_eq!(r.apply.failed(), r.plan.changes.len());
    assert!(r.apply.outcomes.iter().all(|o| matches!(
        &o.outcome,
        trimtab::engine::apply::Outcome::Failed { error } if error.contains("lease is not held")
    )));
}
