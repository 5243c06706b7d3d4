//! Tests of the traffic and performance model as a caller sees it, through GetMetricData:
//! memory against duration, throttling against reserved concurrency, configuration history,
//! DynamoDB capacity, provisioned concurrency metrics, ordering and pagination.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::SimAccount;
use super::testkit::{MINUTE, account, sim_function};
use crate::clock::{Clock, ManualClock};
use crate::cloud::Cloud;
use crate::model::{
    Dimension, FunctionConfigUpdate, MetricId, MetricQuery, MetricStat, SimFunction,
};

const HOUR: Duration = Duration::from_secs(3_600);

/// An account whose clock reads 15:30 UTC (21:00 IST), just after the daily peak.
fn evening(functions: Vec<SimFunction>) -> (Arc<SimAccount>, Arc<ManualClock>, Cloud) {
    let (acct, clock) = account(functions);
    clock.advance(15 * HOUR + 30 * MINUTE);
    let cloud = acct.cloud();
    (acct, clock, cloud)
}

fn lambda_metric(function: &str, name: &str) -> MetricId {
    MetricId::new(
        "AWS/Lambda",
        name,
        vec![Dimension::new("FunctionName", function)],
    )
}

fn q(id: &str, metric: MetricId, period_s: u32, stat: &str) -> MetricQuery {
    MetricQuery {
        id: id.into(),
        stat: MetricStat {
            metric,
            period_s,
            stat: stat.into(),
        },
    }
}

/// The single datapoint of each query over `[start, start + period)`, by query order.
async fn one_point_each(
    cloud: &Cloud,
    queries: &[MetricQuery],
    start: SystemTime,
) -> Vec<Option<f64>> {
    let period = Duration::from_secs(u64::from(queries[0].stat.period_s));
    let page = cloud
        .cloudwatch
        .get_metric_data(queries, start, start + period, None)
        .await
        .unwrap_or_else(|e| panic!("GetMetricData: {e}"));
    page.series
        .iter()
        .map(|s| s.points.first().map(|p| p.1))
        .collect()
}

async fn p95_over_peak_hour(f: SimFunction) -> f64 {
    let name = f.name.clone();
    let (_acct, clock, cloud) = evening(vec![f]);
    let start = clock.now() - 90 * MINUTE;
    let got = one_point_each(
        &cloud,
        &[q("p", lambda_metric(&name, "Duration"), 3_600, "p95")],
        start,
    )
    .await;
    got[0].unwrap_or_else(|| panic!("no Duration p95 for {name}"))
}

#[tokio::test]
async fn more_memory_lowers_p95_of_cpu_bound_functions_but_barely_of_io_bound_ones() {
    let cpu = |mem| SimFunction {
        cpu_ms: 400.0,
        io_ms: 10.0,
        ..sim_function("crunch", mem)
    };
    let io = |mem| SimFunction {
        cpu_ms: 5.0,
        io_ms: 200.0,
        ..sim_function("fetch", mem)
    };
    let (cpu_small, cpu_big) = (
        p95_over_peak_hour(cpu(512)).await,
        p95_over_peak_hour(cpu(1_769)).await,
    );
    let (io_small, io_big) = (
        p95_over_peak_hour(io(512)).await,
        p95_over_peak_hour(io(1_769)).await,
    );
    assert!(
        cpu_big < 0.5 * cpu_small,
        "CPU-bound p95 {cpu_small} → {cpu_big}"
    );
    assert!(
        io_big <= io_small && io_big > 0.9 * io_small,
        "I/O-bound p95 {io_small} → {io_big}"
    );
    // Past the parallelism limit more memory buys nothing.
    let cpu_huge = p95_over_peak_hour(cpu(3_538)).await;
    assert!(
        (cpu_huge - cpu_big).abs() < 0.01 * cpu_big,
        "{cpu_big} vs {cpu_huge}"
    );
}

#[tokio::test]
async fn percentiles_are_ordered_and_above_the_average_for_busy_and_quiet_functions() {
    let quiet = SimFunction {
        peak_rps: 0.2,
        ..sim_function("quiet", 512)
    };
    let (_acct, clock, cloud) = evening(vec![sim_function("busy", 512), quiet]);
    for name in ["busy", "quiet"] {
        for period in [60, 300, 3_600] {
            let stats = ["Average", "p50", "p95", "p99", "Maximum", "Minimum"];
            let qs: Vec<MetricQuery> = stats
                .iter()
                .enumerate()
                .map(|(i, s)| q(&format!("s{i}"), lambda_metric(name, "Duration"), period, s))
                .collect();
            let v: Vec<f64> = one_point_each(&cloud, &qs, clock.now() - 2 * HOUR)
                .await
                .into_iter()
                .map(|v| v.unwrap_or_else(|| panic!("{name} period {period}: missing value")))
                .collect();
            let [avg, p50, p95, p99, max, min] = v[..] else {
                panic!("six values")
            };
            assert!(
                min <= p50 && p50 <= p95 && p95 <= p99 && p99 <= max,
                "{name} {period}: {v:?}"
            );
            assert!(p95 >= avg, "{name} {period}: p95 {p95} < average {avg}");
        }
    }
}

#[tokio::test]
async fn throttles_appear_when_reserved_concurrency_is_too_low() {
    // 50 rps × ~450 ms ≈ 22 concurrent executions at the peak.
    let f = SimFunction {
        peak_rps: 50.0,
        cpu_ms: 400.0,
        ..sim_function("api", 1_769)
    };
    let (_acct, clock, cloud) = evening(vec![f]);
    let metrics = ["Invocations", "Throttles", "ConcurrentExecutions"];
    let stats = ["Sum", "Sum", "Maximum"];
    let qs: Vec<MetricQuery> = metrics
        .iter()
        .zip(stats)
        .enumerate()
        .map(|(i, (m, s))| q(&format!("m{i}"), lambda_metric("api", m), 600, s))
        .collect();
    let before = one_point_each(&cloud, &qs, clock.now() - 30 * MINUTE).await;
    assert_eq!(
        before[1],
        Some(0.0),
        "unthrottled with the whole pool: {before:?}"
    );
    assert!(before[2].unwrap_or(0.0) > 10.0, "{before:?}");

    assert!(
        cloud
            .lambda
            .put_function_concurrency("api", 5)
            .await
            .is_ok()
    );
    let changed_at = clock.now();
    clock.advance(HOUR);
    let after = one_point_each(&cloud, &qs, changed_at + MINUTE).await;
    let (inv, thr, conc) = (
        after[0].unwrap_or(0.0),
        after[1].unwrap_or(0.0),
        after[2].unwrap_or(0.0),
    );
    assert!(
        thr > inv,
        "most of the demand is throttled at 5 of ~20: {after:?}"
    );
    assert!(conc <= 5.0, "{after:?}");
    // History: the minutes before the change still show the old, unthrottled picture.
    assert_eq!(
        one_point_each(&cloud, &qs, changed_at - 30 * MINUTE).await,
        before
    );
}

#[tokio::test]
async fn past_minutes_keep_the_memory_in_force_at_the_time_and_a_change_causes_cold_starts() {
    let f = SimFunction {
        cpu_ms: 400.0,
        io_ms: 10.0,
        ..sim_function("api", 512)
    };
    let (_acct, clock, cloud) = evening(vec![f]);
    let avg = [q("a", lambda_metric("api", "Duration"), 600, "Average")];
    let window = clock.now() - 20 * MINUTE;
    let before = one_point_each(&cloud, &avg, window).await;
    let update = FunctionConfigUpdate {
        memory_mb: Some(1_769),
        timeout_s: None,
        ..Default::default()
    };
    assert!(
        cloud
            .lambda
            .update_function_configuration("api", &update)
            .await
            .is_ok()
    );
    let changed_at = clock.now();
    clock.advance(20 * MINUTE);
    assert_eq!(
        one_point_each(&cloud, &avg, window).await,
        before,
        "the past does not change"
    );
    let after = one_point_each(&cloud, &avg, changed_at + MINUTE).await;
    assert!(
        after[0].unwrap_or(f64::MAX) < 0.5 * before[0].unwrap_or(0.0),
        "{before:?} → {after:?}"
    );

    let insights = |name: &str| {
        MetricId::new(
            "LambdaInsights",
            name,
            vec![Dimension::new("function_name", "api")],
        )
    };
    let minute = |t: SystemTime| {
        t - Duration::from_secs(
            t.duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() % 60),
        )
    };
    let cold = [q("c", insights("init_duration"), 60, "SampleCount")];
    let at_change = one_point_each(&cloud, &cold, minute(changed_at)).await[0].unwrap_or(0.0);
    let later =
        one_point_each(&cloud, &cold, minute(changed_at) + 10 * MINUTE).await[0].unwrap_or(0.0);
    assert!(
        at_change > 5.0 * later.max(1.0),
        "cold starts {at_change} at the change, {later} later"
    );
    let total = [q("t", insights("total_memory"), 60, "Maximum")];
    assert_eq!(
        one_point_each(&cloud, &total, minute(changed_at) + MINUTE).await,
        vec![Some(1_769.0)]
    );
}

#[tokio::test]
async fn provisioned_tables_throttle_above_their_capacity_and_on_demand_ones_do_not() {
    let (acct, clock, cloud) = evening(vec![]);
    let dyn_metric = |table: &str, name: &str| {
        MetricId::new(
            "AWS/DynamoDB",
            name,
            vec![Dimension::new("TableName", table)],
        )
    };
    let qs = |table: &str| {
        [
            "ConsumedReadCapacityUnits",
            "ReadThrottleEvents",
            "ProvisionedReadCapacityUnits",
        ]
        .iter()
        .enumerate()
        .map(|(i, m)| {
            q(
                &format!("d{i}"),
                dyn_metric(table, m),
                3_600,
                if i == 2 { "Average" } else { "Sum" },
            )
        })
        .collect::<Vec<_>>()
    };
    let start = clock.now() - 90 * MINUTE;
    // "orders" peaks at 100 reads/s against 50 provisioned.
    let orders = one_point_each(&cloud, &qs("orders"), start).await;
    assert!(orders[1].unwrap_or(0.0) > 0.0, "{orders:?}");
    assert!(
        orders[0].unwrap_or(f64::MAX) <= 50.0 * 3_600.0,
        "{orders:?}"
    );
    assert_eq!(orders[2], Some(50.0));
    acct.with_state(|s| {
        if let Some(t) = s.tables.get_mut("orders") {
            t.billing_mode = crate::model::BillingMode::PayPerRequest;
        }
    });
    let on_demand = one_point_each(&cloud, &qs("orders"), start).await;
    assert_eq!((on_demand[1], on_demand[2]), (None, None), "{on_demand:?}");
    assert!(on_demand[0] > orders[0]);
}

#[tokio::test]
async fn provisioned_concurrency_metrics_appear_once_the_alias_is_ready() {
    let (_acct, clock, cloud) = evening(vec![sim_function("api", 1_024)]);
    let v = cloud
        .lambda
        .publish_version("api", None)
        .await
        .unwrap_or_default();
    assert!(cloud.lambda.create_alias("api", "live", &v).await.is_ok());
    assert!(
        cloud
            .lambda
            .put_provisioned_concurrency_config("api", "live", 4)
            .await
            .is_ok()
    );
    let start = clock.now();
    clock.advance(10 * MINUTE);
    let by_alias = |name: &str| {
        MetricId::new(
            "AWS/Lambda",
            name,
            vec![
                Dimension::new("FunctionName", "api"),
                Dimension::new("Resource", "api:live"),
            ],
        )
    };
    let qs = [
        q(
            "u",
            by_alias("ProvisionedConcurrencyUtilization"),
            60,
            "Maximum",
        ),
        q(
            "e",
            by_alias("ProvisionedConcurrentExecutions"),
            60,
            "Maximum",
        ),
    ];
    let while_provisioning = one_point_each(&cloud, &qs, start).await;
    assert_eq!(while_provisioning, vec![None, None]);
    let ready = one_point_each(&cloud, &qs, start + 5 * MINUTE).await;
    let (util, execs) = (ready[0].unwrap_or(-1.0), ready[1].unwrap_or(-1.0));
    assert!((0.0..=1.0).contains(&util) && execs <= 4.0, "{ready:?}");
    assert!((util * 4.0 - execs).abs() < 1e-9);
}

#[tokio::test]
async fn results_are_newest_first_and_large_reads_are_paged_at_100800_points() {
    let (_acct, clock, cloud) = evening(vec![sim_function("api", 512)]);
    let qs: Vec<MetricQuery> = (0..80)
        .map(|i| {
            q(
                &format!("q{i}"),
                lambda_metric("api", "Invocations"),
                60,
                "Sum",
            )
        })
        .collect();
    // 23 hours of minutes, so the page boundary falls inside a series.
    let (start, end) = (clock.now() - 23 * HOUR, clock.now());
    let first = cloud
        .cloudwatch
        .get_metric_data(&qs, start, end, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let points: usize = first.series.iter().map(|s| s.points.len()).sum();
    assert_eq!(points, 100_800);
    let s0 = &first.series[0];
    assert!(
        s0.complete && s0.points.windows(2).all(|w| w[0].0 > w[1].0),
        "newest first"
    );
    assert_eq!(s0.points.len(), 23 * 60);
    let token = first.next.unwrap_or_else(|| panic!("a second page"));
    let second = cloud
        .cloudwatch
        .get_metric_data(&qs, start, end, Some(&token))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(second.next.is_none());
    let total = points + second.series.iter().map(|s| s.points.len()).sum::<usize>();
    assert_eq!(total, 80 * s0.points.len());
    assert!(first.series.iter().any(|s| !s.complete));
}

fn insights_metric(function: &str, name: &str) -> MetricId {
    MetricId::new(
        "LambdaInsights",
        name,
        vec![Dimension::new("function_name", function)],
    )
}

fn version_metric(function: &str, alias: &str, version: &str, name: &str) -> MetricId {
    MetricId::new(
        "AWS/Lambda",
        name,
        vec![
            Dimension::new("FunctionName", function),
            Dimension::new("Resource", format!("{function}:{alias}")),
            Dimension::new("ExecutedVersion", version),
        ],
    )
}

#[tokio::test]
async fn a_measured_curve_replaces_the_formula_and_matches_the_oracle() {
    let f = |mem| SimFunction {
        curve: vec![(128, 2_400.0), (512, 610.0), (2_048, 300.0)],
        spread: Some(0.2),
        peak_rps: 30.0,
        ..sim_function("measured", mem)
    };
    for (mem, median) in [(128, 2_400.0), (512, 610.0), (1_024, 427.8), (4_096, 300.0)] {
        let p95 = p95_over_peak_hour(f(mem)).await;
        // The oracle: exp(ln median + 1.645 σ), up to the minutes' own noise (±5 %).
        let (acct, _) = account(vec![f(mem)]);
        let truth = acct.true_duration_ms("measured", mem, 95.0).unwrap_or(0.0);
        let expect = median * (1.645 * 0.2_f64).exp();
        assert!(
            (truth / expect - 1.0).abs() < 0.01,
            "{mem} MB: oracle {truth} vs {expect}"
        );
        assert!(
            (p95 / truth - 1.0).abs() < 0.08,
            "{mem} MB: p95 {p95} vs oracle {truth}"
        );
    }
}

#[tokio::test]
async fn insights_metrics_exist_only_where_the_extension_is_on_and_report_cpu_time() {
    let on = SimFunction {
        cpu_ms: 250.0,
        peak_rps: 20.0,
        ..sim_function("with", 512)
    };
    let off = SimFunction {
        insights: false,
        peak_rps: 20.0,
        ..sim_function("without", 512)
    };
    let (_acct, clock, cloud) = evening(vec![on, off]);
    let start = clock.now() - 2 * HOUR;
    let got = one_point_each(
        &cloud,
        &[
            q(
                "a",
                insights_metric("with", "cpu_total_time"),
                3_600,
                "Average",
            ),
            q(
                "b",
                insights_metric("with", "used_memory_max"),
                3_600,
                "Maximum",
            ),
            q(
                "c",
                insights_metric("without", "used_memory_max"),
                3_600,
                "Maximum",
            ),
        ],
        start,
    )
    .await;
    let cpu = got[0].unwrap_or(0.0);
    assert!((cpu / 250.0 - 1.0).abs() < 0.05, "cpu_total_time {cpu}");
    assert!(got[1].is_some());
    assert_eq!(got[2], None, "no Insights, no LambdaInsights metrics");
}

#[tokio::test]
async fn memory_below_what_is_used_kills_that_share_of_invocations() {
    let tight = SimFunction {
        used_memory_mb: 500,
        used_memory_sigma: 0.05,
        peak_rps: 40.0,
        error_rate: 0.0,
        ..sim_function("tight", 512)
    };
    let (acct, clock, cloud) = evening(vec![tight]);
    let start = clock.now() - 2 * HOUR;
    let got = one_point_each(
        &cloud,
        &[
            q("e", lambda_metric("tight", "Errors"), 3_600, "Sum"),
            q("i", lambda_metric("tight", "Invocations"), 3_600, "Sum"),
        ],
        start,
    )
    .await;
    let (errors, invocations) = (got[0].unwrap_or(0.0), got[1].unwrap_or(1.0));
    let share = acct.true_oom_share("tight", 512).unwrap_or(0.0);
    assert!(share > 0.2 && share < 0.5, "{share}");
    assert!(
        ((errors / invocations) / share - 1.0).abs() < 0.1,
        "{errors}/{invocations} vs {share}"
    );
    assert_eq!(acct.true_oom_share("tight", 1_024), Some(0.0));
}

#[tokio::test]
async fn an_alias_canary_splits_traffic_by_version_at_each_versions_memory() {
    let f = SimFunction {
        invoked_via: Some("live".into()),
        cpu_ms: 400.0,
        io_ms: 10.0,
        peak_rps: 60.0,
        ..sim_function("api", 1_024)
    };
    let (acct, clock, cloud) = evening(vec![f]);
    let lambda = &cloud.lambda;
    // The account seeds version 1 and the alias its callers use.
    let v1 = "1".to_string();
    let alias = lambda.list_aliases("api", None).await.expect("aliases");
    assert_eq!(alias.items[0].function_version, v1);
    // $LATEST changes, but callers go through `live`, still on version 1.
    let rev = lambda
        .get_function("api")
        .await
        .expect("get")
        .summary
        .revision_id;
    let update = FunctionConfigUpdate {
        memory_mb: Some(512),
        revision_id: rev.clone(),
        ..Default::default()
    };
    lambda
        .update_function_configuration("api", &update)
        .await
        .expect("update");
    // A stale revision is refused with 412.
    let stale = lambda
        .update_function_configuration("api", &update)
        .await
        .err()
        .map(|e| (e.kind, e.code));
    assert_eq!(
        stale,
        Some((
            crate::cloud::ErrorKind::Precondition,
            Some("PreconditionFailedException".into())
        ))
    );
    clock.advance(Duration::from_secs(10));
    let v2 = lambda.publish_version("api", None).await.expect("v2");
    let canary = crate::model::VersionWeight {
        version: v2.clone(),
        weight: 0.25,
    };
    let routed_at = clock.now();
    lambda
        .update_alias("api", "live", &v1, Some(&canary))
        .await
        .expect("route");
    clock.advance(2 * HOUR);
    let start = routed_at + 10 * MINUTE;
    let series = |v: &str, m: &str, s: &str| {
        q(
            &format!("q{v}{m}{s}").to_lowercase(),
            version_metric("api", "live", v, m),
            3_600,
            s,
        )
    };
    let got = one_point_each(
        &cloud,
        &[
            series(&v1, "Invocations", "Sum"),
            series(&v2, "Invocations", "Sum"),
            series(&v1, "Duration", "Average"),
            series(&v2, "Duration", "Average"),
            q("all", lambda_metric("api", "Invocations"), 3_600, "Sum"),
        ],
        start,
    )
    .await;
    let (n1, n2, d1, d2, all) = (
        got[0].unwrap_or(0.0),
        got[1].unwrap_or(0.0),
        got[2].unwrap_or(0.0),
        got[3].unwrap_or(0.0),
        got[4].unwrap_or(0.0),
    );
    assert!(((n2 / (n1 + n2)) / 0.25 - 1.0).abs() < 0.1, "{n1} {n2}");
    assert!(
        ((n1 + n2) / all - 1.0).abs() < 0.01,
        "parts add up: {n1} + {n2} vs {all}"
    );
    // Version 2 has half the memory of version 1: CPU-bound work takes about twice as long.
    assert!(d2 / d1 > 1.7 && d2 / d1 < 2.2, "{d1} {d2}");
    // An invalid routing is refused as AWS would.
    let bad = crate::model::VersionWeight {
        version: v1.clone(),
        weight: 0.1,
    };
    assert!(
        lambda
            .update_alias("api", "live", &v1, Some(&bad))
            .await
            .is_err()
    );
    drop(acct);
}
