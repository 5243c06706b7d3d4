//! The cost model on the simulated account: trimtab computes the cost per student from the
//! account's own traffic, publishes it hourly to the metric the cost alarm watches (so that
//! alarm has data), and neither skips nor repeats an hour, across a restart too.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use support::sim::Harness;
use trimtab::clock::Clock;
use trimtab::model::{MetricId, ResourceKind};

const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0";

const CONFIG: &str = r#"
interval = "5m"

[cloud]
backend = "simulated"
region = "ap-south-1"

[alarms.cache_hit_rate]
enabled = false

[table_scaling]
enabled = false

[cost]
students = 1000

[[functions]]
name_prefix = "app-"
tier = "batch"

[simulated]
seed = 3

[[simulated.functions]]
name = "app-tutor"
memory_mb = 1024
timeout_s = 30
peak_rps = 5
cpu_ms = 100
io_ms = 400
input_tokens = { "anthropic.claude-3-haiku-20240307-v1:0" = 200 }
output_tokens = { "anthropic.claude-3-haiku-20240307-v1:0" = 40 }
"#;

fn hour_of(t: SystemTime) -> SystemTime {
    let s = t.duration_since(UNIX_EPOCH).unwrap().as_secs();
    UNIX_EPOCH + Duration::from_secs(s - s % 3_600)
}

fn published(h: &Harness) -> Vec<(SystemTime, f64)> {
    let id = MetricId::new("VoiceLearning", "CostPerStudentMonthly", vec![]);
    h.sim.with_state(|st| {
        st.custom_metrics
            .series
            .get(&id)
            .cloned()
            .unwrap_or_default()
    })
}

#[tokio::test]
async fn publishes_the_cost_per_student_once_an_hour_from_the_accounts_own_traffic() {
    let mut h = Harness::new(CONFIG);
    let mut publishes = Vec::new();
    let mut last = None;
    // Three hours and a bit, a cycle every five minutes.
    for _ in 0..40 {
        let r = h.cycle().await;
        assert_eq!(r.apply.failed(), 0, "{:?}", r.apply);
        for c in &r.plan.changes {
            if c.kind == ResourceKind::MetricData {
                publishes.push(h.clock.now());
            }
        }
        last = Some(r.plan);
    }
    let points = published(&h);
    // One datapoint per hour, stamped with the hour, and one publish each.
    assert!(points.len() >= 3, "{points:?}");
    assert_eq!(points.len(), publishes.len(), "{points:?} / {publishes:?}");
    for (t, _) in &points {
        assert_eq!(*t, hour_of(*t), "stamped with the hour's start");
    }
    let hours: std::collections::BTreeSet<_> = points.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        hours.len(),
        points.len(),
        "an hour published twice: {points:?}"
    );

    // The figure is the model's own traffic, priced: Bedrock tokens over the window.
    let plan = last.unwrap();
    let cost = plan.cost.as_ref().expect("a cost estimate");
    assert_eq!(cost.currency, "INR");
    let now = h.clock.now();
    let window = Duration::from_secs(cost.window_s);
    let invocations = h.sim.expected_invocations("app-tutor", now - window, now);
    let month = 30.0 * 86_400.0 / window.as_secs_f64();
    let want = invocations * (200.0 * 0.25 + 40.0 * 1.25) / 1e6 * month * 84.0 * 1.18;
    let got = cost.component(&format!("bedrock:{HAIKU}")).unwrap();
    assert!(
        (got / want - 1.0).abs() < 0.10,
        "Bedrock: {got:.0} INR a month against {want:.0} from the traffic model"
    );
    let per_student = cost.per_student_monthly.unwrap();
    assert!((per_student - cost.total_monthly / 1000.0).abs() < 1e-9);
    // Hour by hour over the window: the hours' run rates average to the window's.
    assert_eq!(cost.hourly.len(), 24, "{:?}", cost.hourly);
    let mean = cost.hourly.iter().map(|h| h.total_monthly).sum::<f64>() / 24.0;
    assert!(
        (mean / cost.total_monthly - 1.0).abs() < 1e-6,
        "{mean} vs {}",
        cost.total_monthly
    );
    assert_eq!(cost.cheap_model_share, Some(100.0));
    // The value published is the estimate of its hour.
    assert!(points.iter().all(|(_, v)| *v > 0.0), "{points:?}");

    // A restart mid-hour (after this hour's publish) reads the datapoint back and sends
    // nothing; the next hour is published once.
    h.engine = h.fresh_engine();
    h.sim.reset_counters();
    let before = published(&h).len();
    let into = now.duration_since(hour_of(now)).unwrap();
    assert!(
        into >= Duration::from_secs(600),
        "the test assumes this hour was published"
    );
    let r = h.cycle().await;
    assert!(
        r.plan
            .changes
            .iter()
            .all(|c| c.kind != ResourceKind::MetricData),
        "{:?}",
        r.plan.changes
    );
    // The cost alarm now has data: listing its metric afresh (a new process lists every
    // watched metric once), the alarm_data controller does not flag it.
    assert!(
        !r.plan
            .notes
            .iter()
            .any(|n| n.id == "trimtab-app-cost-per-student"),
        "{:?}",
        r.plan.notes
    );
    for _ in 0..12 {
        h.cycle().await;
    }
    assert_eq!(published(&h).len(), before + 1);
}

/// Provisioned capacity is priced as held: a provisioned table and its index, each hour's
/// average from CloudWatch, and the provisioned concurrency Lambda says is allocated.
#[tokio::test]
async fn prices_what_is_held_table_index_and_provisioned_concurrency() {
    const HELD: &str = r#"
interval = "5m"

[cloud]
backend = "simulated"
region = "ap-south-1"

[alarms.cache_hit_rate]
enabled = false

[table_scaling]
enabled = false

[cold_start]
manage_alias = true

[cost]
students = 1000

[prices]
gst = 0
usd_rate = 1

[[functions]]
name = "app-api"
tier = "critical"
[functions.cold_start]
provisioned_min = 3
provisioned_max = 3

[[tables]]
name = "sessions"

[simulated]
seed = 5

[[simulated.functions]]
name = "app-api"
memory_mb = 2048
peak_rps = 0.01

[[simulated.tables]]
name = "sessions"
billing_mode = "provisioned"
indexes = ["by-user"]
read_capacity = 50
write_capacity = 10
"#;
    let h = Harness::new(HELD);
    let mut cost = None;
    for _ in 0..16 {
        let r = h.cycle().await;
        assert_eq!(r.apply.failed(), 0, "{:?}", r.apply);
        cost = r.plan.cost.clone().or(cost);
    }
    let cost = cost.expect("a cost estimate");
    let prices = trimtab::model::Prices::default();
    // 3 instances × 2 GB, the whole month (a run rate at what is allocated now).
    let pc = cost.component("provisioned_concurrency").unwrap();
    let want = 3.0 * 2.0 * 30.0 * 86_400.0 * prices.provisioned_gb_second_x86;
    assert!((pc / want - 1.0).abs() < 1e-6, "PC {pc} ≠ {want}");
    // The table and its index each hold 50 RCU and 10 WCU.
    let ddb = cost.component("dynamodb").unwrap();
    let want = 2.0 * (50.0 * prices.dynamodb_rcu_hour + 10.0 * prices.dynamodb_wcu_hour) * 720.0;
    assert!((ddb / want - 1.0).abs() < 0.05, "DynamoDB {ddb} ≠ {want}");
    assert!(cost.warnings.is_empty(), "{:?}", cost.warnings);

    // Allocated, not the scalable target's minimum: scaled out to 5 by someone else, the next
    // listing (once per `cost.refresh`) prices 5.
    h.sim.with_state(|st| {
        let f = st.functions.get_mut("app-api").unwrap();
        for pc in f.provisioned.values_mut() {
            pc.requested = 5;
            pc.allocated_before = 5;
        }
    });
    h.sim.reset_counters();
    let mut cost = None;
    for _ in 0..14 {
        cost = h.cycle().await.plan.cost.or(cost);
    }
    let pc = cost.unwrap().component("provisioned_concurrency").unwrap();
    let want = 5.0 * 2.0 * 30.0 * 86_400.0 * prices.provisioned_gb_second_x86;
    assert!((pc / want - 1.0).abs() < 1e-6, "PC {pc} ≠ {want}");
    // Listed once an hour, not every cycle.
    let listed = h
        .sim
        .counters()
        .calls(trimtab::cloud::Op::ListProvisionedConcurrencyConfigs);
    assert_eq!(listed, 1, "14 five-minute cycles, one refresh");
}
