//! The cycle benchmark: what one reconcile cycle costs against a simulated account of N functions
//! (default 1,000), in AWS API calls (compared with the least each read could take), writes, CPU,
//! wall time, peak memory and CloudWatch spend. Time is virtual, so AWS-quota waits cost no wall
//! time but are reported in virtual seconds.
//!
//! ```sh
//! cargo bench --bench cycle                 # N = 1,000
//! cargo bench --bench cycle -- 5000         # or TRIMTAB_BENCH_FUNCTIONS=5000
//! cargo bench --bench cycle -- --clock=manual # or TRIMTAB_BENCH_CLOCK=manual
//! ```
//!
//! Two virtual clocks. `tokio` (the default) is the crate's `TokioClock` on tokio's paused
//! runtime, which wakes sleepers in deadline order and advances only when every task waits (a
//! discrete-event schedule), so calls keep the spacing the rate limiter gave them, as they would
//! in real time. `manual` is the crate's `ManualClock`, as the engine tests use it: a sleep moves
//! the shared clock to the sleeper's deadline at once, so concurrent rate-limited callers that
//! queued behind one another resume together and reach the account in a bunch; it is kept to
//! show that difference.
//!
//! Exits 1 when a steady-state cycle makes any write call (the account is unchanged, so there is
//! nothing to write) or a cycle fails. It asserts nothing about time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use trimtab::clock::{Clock, ManualClock, TokioClock};
use trimtab::cloud::Op;
use trimtab::cloud::ops::aws_quota;
use trimtab::cloud::sim::{OpCounters, SimAccount};
use trimtab::engine::{CycleReport, Engine};
use trimtab::model::{Architecture, BillingMode, Desired, SimFunction, SimTable, Tags};
use trimtab::telemetry::{GET_METRIC_DATA_DOLLARS_PER_METRIC, Telemetry};

/// Functions in the account that the `app-` selector does not match.
const EXTRA_FUNCTIONS: usize = 36;
/// Steady cycles after cycle 2: 60 one-minute cycles cover four 15-minute metrics windows.
const STEADY_CYCLES: usize = 60;
const INTERVAL: Duration = Duration::from_secs(60);
/// Queries per function per metrics read (Invocations, Errors, Throttles, p95, Average).
const QUERIES_PER_FUNCTION: u64 = 5;
const LIST_FUNCTIONS_PAGE: u64 = 50;
const DESCRIBE_ALARMS_PAGE: u64 = 100;
const GET_METRIC_DATA_BATCH: u64 = 500;
/// AWS's Lambda control-plane quota, shared by the whole account.
const LAMBDA_CONTROL_PLANE_RPS: f64 = 15.0;
const CYCLES_PER_MONTH: f64 = 60.0 * 24.0 * 30.0;
const SECONDS_PER_MONTH: f64 = 60.0 * CYCLES_PER_MONTH;

const CONFIG: &str = r#"
interval = "60s"
jitter = 0.0

[cloud]
backend = "simulated"
region = "us-east-1"

[notifications]
topic = "alerts"
emails = ["oncall@example.com"]

[[functions]]
name_prefix = "app-"
tier = "batch"

[[tables]]
name = "app-sessions"

[[tables]]
name = "app-events"

[observe]
metrics = true

[simulated]
seed = 42
"#;

/// splitmix64: a small, reproducible source of variety.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Log-uniform between `lo` and `hi`: most values small, a long tail of large ones.
    fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + self.unit() * (hi.ln() - lo.ln())).exp()
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClockKind {
    Manual,
    Tokio,
}

#[derive(Debug, Clone)]
enum BenchClock {
    Manual(Arc<ManualClock>),
    Tokio(Arc<TokioClock>),
}

impl BenchClock {
    fn new(kind: ClockKind) -> Self {
        let base = ManualClock::at_epoch().now();
        match kind {
            ClockKind::Manual => BenchClock::Manual(Arc::new(ManualClock::new(base))),
            ClockKind::Tokio => BenchClock::Tokio(Arc::new(TokioClock::new(base))),
        }
    }
    fn shared(&self) -> Arc<dyn Clock> {
        match self {
            BenchClock::Manual(c) => c.clone(),
            BenchClock::Tokio(c) => c.clone(),
        }
    }
    fn now(&self) -> std::time::SystemTime {
        self.shared().now()
    }
    /// The daemon's pause between cycles.
    async fn advance(&self, by: Duration) {
        match self {
            BenchClock::Manual(c) => c.advance(by),
            BenchClock::Tokio(_) => tokio::time::sleep(by).await,
        }
    }
    fn describe(&self) -> &'static str {
        match self {
            BenchClock::Manual(_) => {
                "`ManualClock` (a sleep jumps the shared clock to its deadline)"
            }
            BenchClock::Tokio(_) => "tokio's paused clock (sleepers wake in deadline order)",
        }
    }
}

fn sim_function(rng: &mut Rng, name: String, tags: Tags) -> SimFunction {
    let memory_mb = rng.pick(&[
        128, 256, 512, 512, 1024, 1024, 1536, 1769, 2048, 3008, 10240,
    ]);
    let used = (f64::from(memory_mb) * (0.25 + 0.6 * rng.unit())) as u32;
    SimFunction {
        name,
        memory_mb,
        timeout_s: rng.pick(&[3, 10, 30, 60, 300]),
        architecture: if rng.unit() < 0.3 {
            Architecture::Arm64
        } else {
            Architecture::X86_64
        },
        tags,
        peak_rps: rng.log_uniform(0.01, 100.0),
        cpu_ms: rng.log_uniform(2.0, 2000.0),
        io_ms: rng.log_uniform(5.0, 1500.0),
        parallelism: if rng.unit() < 0.1 { 2.0 } else { 1.0 },
        error_rate: rng.unit() * 0.02,
        used_memory_mb: used.max(1),
        ..SimFunction::default()
    }
}

fn account_functions(n: usize) -> Vec<SimFunction> {
    let mut rng = Rng(0x7215_7AB0);
    let width = n.to_string().len().max(4);
    let mut out = Vec::with_capacity(n + EXTRA_FUNCTIONS);
    for i in 1..=n {
        let tags = Tags::from([("app".to_string(), "learning".to_string())]);
        out.push(sim_function(&mut rng, format!("app-fn-{i:0width$}"), tags));
    }
    for i in 1..=EXTRA_FUNCTIONS {
        let tags = Tags::from([("team".to_string(), "data".to_string())]);
        out.push(sim_function(&mut rng, format!("other-job-{i:02}"), tags));
    }
    out
}

fn account_tables() -> Vec<SimTable> {
    vec![
        SimTable {
            name: "app-sessions".into(),
            billing_mode: BillingMode::Provisioned,
            indexes: vec!["user-id-index".into()],
            read_capacity: 50,
            write_capacity: 25,
            peak_reads: 40.0,
            peak_writes: 20.0,
        },
        SimTable {
            name: "app-events".into(),
            billing_mode: BillingMode::PayPerRequest,
            indexes: Vec::new(),
            read_capacity: 0,
            write_capacity: 0,
            peak_reads: 120.0,
            peak_writes: 10.0,
        },
    ]
}

/// User + system CPU time of the whole process.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// A `Vm*` line of /proc/self/status, in kB.
fn vm_kb(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0), so a later peak is the steady state's own.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn mib(kb: Option<u64>) -> String {
    kb.map_or("n/a".into(), |kb| format!("{:.1} MiB", kb as f64 / 1024.0))
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// What one cycle cost.
struct Measured {
    report: CycleReport,
    calls: OpCounters,
    metrics_requested: u64,
    virtual_time: Duration,
    wall: Duration,
    cpu: Duration,
    /// The part of `cpu` the simulated account spent answering calls.
    sim_cpu: Duration,
    /// Virtual time since the last metrics read began, when this cycle started.
    since_metrics_read: Option<Duration>,
    /// VmRSS right after the cycle.
    rss_after_kb: Option<u64>,
}

struct Bench {
    n: usize,
    desired: Desired,
    clock: BenchClock,
    sim: Arc<SimAccount>,
    engine: Engine,
    telemetry: Telemetry,
    cancel: CancellationToken,
    last_metrics_read: Option<std::time::SystemTime>,
    /// When the cost model last listed the Bedrock models (it does so once per `cost.refresh`,
    /// 1 h), and whether the cycle starting at that time was the one.
    bedrock_listed: Option<std::time::SystemTime>,
}

impl Bench {
    async fn cycle(&mut self) -> Result<Measured, String> {
        self.sim.reset_counters();
        let requested_before = self.telemetry.metrics_requested.get();
        let start = self.clock.now();
        let since_metrics_read = self
            .last_metrics_read
            .map(|t| start.duration_since(t).unwrap_or_default());
        let cpu_before = cpu_time();
        let sim_before = self.sim.cpu_spent();
        let wall = Instant::now();
        let result = self.engine.cycle(&self.desired, &self.cancel).await;
        let wall = wall.elapsed();
        let cpu = cpu_time().saturating_sub(cpu_before);
        let sim_cpu = self.sim.cpu_spent().saturating_sub(sim_before);
        let report = result.map_err(|e| trimtab::engine::error_chain(&e))?;
        let refresh = self.desired.controllers.cost.refresh;
        let observed_at = report.started_at;
        if self
            .bedrock_listed
            .is_none_or(|at| observed_at.duration_since(at).unwrap_or_default() >= refresh)
        {
            self.bedrock_listed = Some(observed_at);
        }
        let calls = self.sim.counters();
        if calls.calls(Op::GetMetricData) > 0 {
            self.last_metrics_read = Some(start);
        }
        Ok(Measured {
            report,
            calls,
            metrics_requested: self.telemetry.metrics_requested.get() - requested_before,
            virtual_time: self.clock.now().duration_since(start).unwrap_or_default(),
            wall,
            cpu,
            sim_cpu,
            since_metrics_read,
            rss_after_kb: vm_kb("VmRSS:"),
        })
    }

    fn topics_in_account(&self) -> u64 {
        self.sim.with_state(|s| s.topics.len() as u64)
    }
}

fn ceil_div(a: u64, b: u64) -> u64 {
    a.div_ceil(b)
}

fn control_plane_calls(c: &OpCounters) -> u64 {
    c.by_op
        .iter()
        .filter(|(op, _)| op.bucket() == "lambda:control-plane")
        .map(|(_, n)| n.calls)
        .sum()
}

fn op_label(op: Op) -> String {
    format!("{} {}", op.service().as_str(), op.name())
}

/// A column header: the operation with a short service prefix (two services have
/// ListTagsForResource).
fn short_label(op: Op) -> String {
    let service = match op.service() {
        trimtab::cloud::Service::CloudWatch => "cw",
        trimtab::cloud::Service::Lambda => "λ",
        trimtab::cloud::Service::ApplicationAutoScaling => "aas",
        trimtab::cloud::Service::EventBridge => "events",
        trimtab::cloud::Service::DynamoDb => "ddb",
        trimtab::cloud::Service::Sns => "sns",
        trimtab::cloud::Service::Tagging => "tag",
    };
    format!("{service} {}", op.name())
}

fn calls_table(c: &OpCounters) -> String {
    let mut out = String::from(
        "| operation | calls | throttled | failed | write |\n|---|---:|---:|---:|---|\n",
    );
    for (op, n) in &c.by_op {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            op_label(*op),
            n.calls,
            n.throttled,
            n.failed,
            if op.is_write() { "yes" } else { "" }
        );
    }
    let _ = writeln!(
        out,
        "| **total** | **{}** | {} | | writes: **{}** |",
        c.total_calls(),
        c.total_throttled(),
        c.write_calls()
    );
    out
}

/// The least each read can take in the cycle `m`. Whether metrics are read at all is the
/// engine's once-per-window decision, checked separately (the interval between reads).
fn lower_bounds(b: &Bench, m: &Measured) -> Vec<(Op, u64, String)> {
    let metrics_read = m.calls.calls(Op::GetMetricData) > 0;
    let n = b.n as u64;
    let listed = n + EXTRA_FUNCTIONS as u64;
    // Alarms carrying trimtab's name prefix when the cycle listed them.
    let alarms = m.report.alarms_observed as u64;
    let topics = b.topics_in_account();
    // The cost model reads hourly sums over a day, once an hour: 2 per function, 2 per priced
    // model (3 by default), 2 per on-demand table, 1 for the students.
    let on_demand = b
        .desired
        .cloud
        .simulated
        .tables
        .iter()
        .filter(|t| t.billing_mode != BillingMode::Provisioned)
        .count() as u64;
    let models = b.desired.controllers.cost.model_prices.len() as u64;
    let cost_metrics = 2 * n + 2 * models + 2 * on_demand + 1;
    let alarm_metrics = if m.metrics_requested >= QUERIES_PER_FUNCTION * n {
        QUERIES_PER_FUNCTION * n
    } else {
        0
    };
    let cost_read = m.metrics_requested >= alarm_metrics + cost_metrics;
    let requested = alarm_metrics + if cost_read { cost_metrics } else { 0 };
    let gmd = ceil_div(requested, GET_METRIC_DATA_BATCH);
    // Provisioned tables and their indexes are scalable resources with targets and policies.
    let scalable: u64 = b
        .desired
        .cloud
        .simulated
        .tables
        .iter()
        .filter(|t| t.billing_mode == BillingMode::Provisioned)
        .map(|t| 1 + t.indexes.len() as u64)
        .sum();
    // alarm_data lists every metric name the managed alarms watch once per recheck (6 h, so
    // within this run only in the first cycle that sees the alarms): 4 Lambda names, each
    // ⌈functions with traffic / 500⌉ pages, the table's 2 throttle-event metrics, 3
    // application metrics and Bedrock's 2 token counts (the model-mix alarm). The cost model
    // lists Bedrock's input tokens once an hour besides (one call when alarm_data does not).
    let cost_listing = b.bedrock_listed == Some(m.report.started_at);
    let listing = m.calls.calls(Op::ListMetrics) > u64::from(cost_listing);
    let list_metrics = if listing {
        4 * ceil_div(listed, 500) + 2 + 3 + 2
    } else {
        u64::from(cost_listing)
    };
    let per_ttl = |count: u64| {
        ceil_div(
            count * b.desired.interval.as_secs(),
            b.desired.observe.tag_cache_ttl.as_secs().max(1),
        )
    };
    let rotation = per_ttl(n);
    // Alarm tags are re-verified, a share a cycle, once the tags cached at creation pass the
    // TTL; the cycle's own ListTagsForResource-free reads say whether it did.
    let alarm_tags = if m.calls.calls(Op::GetResources) > ceil_div(rotation, 100) {
        per_ttl(alarms)
    } else {
        0
    };
    vec![
        (
            Op::ListFunctions,
            ceil_div(listed, LIST_FUNCTIONS_PAGE),
            format!("⌈{listed} functions / 50⌉"),
        ),
        (
            Op::ListMetrics,
            list_metrics,
            match (listing, cost_listing) {
                (true, _) => format!(
                    "alarm_data: every watched metric name, 4 × ⌈{listed} / 500⌉ + 2 + 3 + 2 (the cost model's Bedrock listing among them)"
                ),
                (false, true) => "the cost model's hourly Bedrock listing".into(),
                (false, false) => "alarm_data: listings remembered until their 6 h recheck".into(),
            },
        ),
        (
            Op::DescribeAlarms,
            ceil_div(alarms, DESCRIBE_ALARMS_PAGE),
            format!("⌈{alarms} alarms / 100⌉"),
        ),
        (
            Op::ListTopics,
            ceil_div(topics.max(1), 100),
            format!("⌈{topics} topic(s) / 100⌉"),
        ),
        (Op::SnsListTagsForResource, 1, "the managed topic".into()),
        (
            Op::ListSubscriptionsByTopic,
            1,
            "1 subscription, one page".into(),
        ),
        (
            Op::DescribeTable,
            b.desired.tables.len() as u64,
            format!("{} tables", b.desired.tables.len()),
        ),
        (
            Op::GetMetricData,
            if metrics_read { gmd.max(1) } else { 0 },
            match (metrics_read, alarm_metrics > 0, cost_read) {
                (false, ..) => "no metrics read this cycle".to_string(),
                (true, true, false) => format!("the 15-minute read: ⌈5 × {n} queries / 500⌉"),
                (true, false, true) => {
                    format!("the cost model's hourly read: ⌈{cost_metrics} queries / 500⌉")
                }
                (true, true, true) => format!(
                    "the 15-minute and the cost model's reads: ⌈(5 × {n} + {cost_metrics}) / 500⌉"
                ),
                (true, false, false) => {
                    "a small read (a cost read-back, right-sizing's refresh)".to_string()
                }
            },
        ),
        (
            Op::CwListTagsForResource,
            0,
            "alarm tags cached (1 h TTL)".into(),
        ),
        (
            Op::GetFunction,
            0,
            "all batch, no tag selectors, no markers: re-verifications settle in bulk".into(),
        ),
        (
            Op::GetResources,
            ceil_div(rotation, 100) + ceil_div(alarm_tags, 100),
            format!(
                "tags in bulk, 100 a call: the rotation re-verifying each function once per TTL ({rotation}){}",
                if alarm_tags > 0 {
                    format!(" and the alarm tags past their TTL ({alarm_tags})")
                } else {
                    String::new()
                }
            ),
        ),
        (
            Op::DescribeScalableTargets,
            1 + ceil_div(b.desired.tables.len() as u64, 50),
            "capacity: Lambda namespace listing + table ids (≤ 50 per call)".into(),
        ),
        (
            Op::ListRules,
            1,
            "capacity: warm-up rules by name prefix".into(),
        ),
        (
            Op::DescribeScalingPolicies,
            scalable,
            "capacity: policies per scalable table resource (table + indexes)".into(),
        ),
    ]
}

/// The table, and the operations called more often than their bound.
fn bounds_table(c: &OpCounters, bounds: &[(Op, u64, String)]) -> (String, Vec<String>) {
    let mut out = String::from(
        "| operation | calls | throttled | lower bound | why | calls − bound |\n|---|---:|---:|---:|---|---:|\n",
    );
    let mut above = Vec::new();
    for (op, bound, why) in bounds {
        let calls = c.calls(*op);
        if calls > *bound {
            above.push(op_label(*op));
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            op_label(*op),
            calls,
            c.throttled(*op),
            bound,
            why,
            calls as i64 - *bound as i64
        );
    }
    for (op, n) in &c.by_op {
        if bounds.iter().any(|(b, _, _)| b == op) {
            continue;
        }
        let bound = 0;
        if n.calls > bound {
            above.push(op_label(*op));
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            op_label(*op),
            n.calls,
            n.throttled,
            bound,
            if op.is_write() {
                "a write: the account is unchanged"
            } else {
                "not needed"
            },
            n.calls
        );
    }
    let total_bound: u64 = bounds.iter().map(|(_, b, _)| b).sum();
    let _ = writeln!(
        out,
        "| **total** | **{}** | {} | **{}** | | {} |",
        c.total_calls(),
        c.total_throttled(),
        total_bound,
        c.total_calls() as i64 - total_bound as i64
    );
    (out, above)
}

/// How many more runs of something the variable `var` asks for, for a profiler to attach to;
/// announced with the process id when any.
fn profiling(var: &str, what: &str) -> usize {
    let n = std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if n > 0 {
        eprintln!("profiling: {n} {what} (pid {})", std::process::id());
    }
    n
}

fn clock_kind() -> Result<ClockKind, String> {
    let arg = std::env::args()
        .skip(1)
        .find_map(|a| a.strip_prefix("--clock=").map(str::to_string));
    match arg
        .or_else(|| std::env::var("TRIMTAB_BENCH_CLOCK").ok())
        .as_deref()
    {
        Some("manual") => Ok(ClockKind::Manual),
        None | Some("tokio") => Ok(ClockKind::Tokio),
        Some(other) => Err(format!("clock {other:?} is not `manual` or `tokio`")),
    }
}

fn function_count() -> Result<usize, String> {
    let arg = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let env = std::env::var("TRIMTAB_BENCH_FUNCTIONS").ok();
    match arg.or(env) {
        None => Ok(1000),
        Some(s) => s
            .replace(['_', ','], "")
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("function count {s:?} is not a positive integer")),
    }
}

async fn run(kind: ClockKind) -> Result<bool, String> {
    let n = function_count()?;
    let mut desired = trimtab::config::parse(CONFIG, "benches/cycle.rs")
        .map_err(|e| format!("bench config: {e}"))?;
    desired.cloud.simulated.functions = account_functions(n);
    desired.cloud.simulated.tables = account_tables();

    let clock = BenchClock::new(kind);
    let dyn_clock = clock.shared();
    let sim = SimAccount::new(
        &desired.cloud.simulated,
        &desired.cloud.region,
        dyn_clock.clone(),
    )
    .map_err(|e| trimtab::engine::error_chain(&e))?;
    let telemetry = Telemetry::new().map_err(|e| e.to_string())?;
    let engine = Engine::new(sim.cloud(), dyn_clock, telemetry.clone(), &desired);
    let pma_rate = engine
        .governor()
        .limiter()
        .rate(Op::PutMetricAlarm.bucket());
    let mut rates = String::from(
        "| quota bucket | AWS quota (req/s) | trimtab's rate (req/s) |\n|---|---:|---:|\n",
    );
    for op in [
        Op::PutMetricAlarm,
        Op::DescribeAlarms,
        Op::CwListTagsForResource,
        Op::GetMetricData,
        Op::ListFunctions,
        Op::GetFunction,
        Op::GetResources,
    ] {
        let bucket = op.bucket();
        let _ = writeln!(
            rates,
            "| {bucket} | {} | {} |",
            aws_quota(bucket),
            engine.governor().limiter().rate(bucket)
        );
    }
    let mut b = Bench {
        n,
        desired,
        clock,
        sim,
        engine,
        telemetry,
        cancel: CancellationToken::new(),
        last_metrics_read: None,
        bedrock_listed: None,
    };
    let mut ok = true;

    println!("# trimtab cycle benchmark\n");
    println!(
        "Simulated account: {n} functions selected by `name_prefix = \"app-\"`, {EXTRA_FUNCTIONS} other functions not selected, {} tables, a managed SNS topic with one email; observe.metrics on (window {} s), tag cache TTL {} s, executor concurrency {}; virtual time on {}; the simulated account enforces AWS's quotas.\n",
        b.desired.tables.len(),
        b.desired.observe.metrics_window.as_secs(),
        b.desired.observe.tag_cache_ttl.as_secs(),
        b.desired.executor.concurrency,
        b.clock.describe(),
    );
    println!("{rates}");

    // ---- Cycle 1: convergence from an empty account -------------------------------------
    let c1 = b.cycle().await?;
    let r = &c1.report;
    let pma = c1.calls.calls(Op::PutMetricAlarm);
    println!("## Cycle 1: convergence from empty\n");
    println!("| figure | value |\n|---|---:|");
    println!("| functions in scope | {} |", r.functions_in_scope);
    println!("| changes planned | {} |", r.plan.changes.len());
    println!("| changes applied | {} |", r.apply.applied());
    println!("| changes failed | {} |", r.apply.failed());
    println!("| refusals | {} |", r.plan.refusals.len());
    println!("| API calls | {} |", c1.calls.total_calls());
    println!("| write calls | {} |", c1.calls.write_calls());
    println!(
        "| throttled by AWS (simulated quota) | {} |",
        c1.calls.total_throttled()
    );
    println!("| virtual time | {:.1} s |", c1.virtual_time.as_secs_f64());
    println!(
        "| PutMetricAlarm floor at {pma_rate}/s | {:.1} s ({pma} calls) |",
        pma.saturating_sub(1) as f64 / pma_rate
    );
    println!("| wall time | {} |", ms(c1.wall));
    println!("| CPU time (user+sys) | {} |", ms(c1.cpu));
    println!("| peak RSS so far (VmHWM) | {} |", mib(vm_kb("VmHWM:")));
    println!();
    println!("{}", calls_table(&c1.calls));
    let mut kinds: BTreeMap<(String, String), (usize, usize, usize)> = BTreeMap::new();
    for o in &r.apply.outcomes {
        let e = kinds
            .entry((o.kind.as_str().to_string(), o.action.as_str().to_string()))
            .or_default();
        e.0 += 1;
        match o.outcome {
            trimtab::engine::apply::Outcome::Applied => e.1 += 1,
            trimtab::engine::apply::Outcome::Failed { .. } => e.2 += 1,
            trimtab::engine::apply::Outcome::Skipped => {}
        }
    }
    println!("| kind | action | changes | applied | failed |\n|---|---|---:|---:|---:|");
    for ((kind, action), (all, applied, failed)) in &kinds {
        println!("| {kind} | {action} | {all} | {applied} | {failed} |");
    }
    println!();
    for refusal in &r.plan.refusals {
        println!(
            "- refused {} `{}`: {}",
            refusal.kind.as_str(),
            refusal.id,
            refusal.reason
        );
    }
    if let Some(failure) = r.apply.outcomes.iter().find_map(|o| match &o.outcome {
        trimtab::engine::apply::Outcome::Failed { error } => Some((o.id.clone(), error.clone())),
        _ => None,
    }) {
        println!("- first failure: `{}`: {}", failure.0, failure.1);
    }
    println!();
    if r.apply.failed() > 0 {
        ok = false;
        println!("**Cycle 1 had failed changes.**\n");
    }

    // ---- Cycle 2: steady state -----------------------------------------------------------
    let hwm_reset = reset_peak_rss();
    b.clock.advance(INTERVAL).await;
    let c2 = b.cycle().await?;

    // ---- A fresh process on the converged account: the cold cycle ------------------------
    // What every `plan`, `apply` and daemon restart pays first: no caches, no memory, a full
    // verification. The warm engine is put back afterwards, unchanged.
    {
        let fresh = Engine::new(
            b.sim.cloud(),
            b.clock.shared(),
            b.telemetry.clone(),
            &b.desired,
        );
        let warm = std::mem::replace(&mut b.engine, fresh);
        b.clock.advance(INTERVAL).await;
        let cold = b.cycle().await;
        b.engine = warm;
        let cold = cold?;
        let (cold_calls, warm_calls) = (cold.calls.total_calls(), c2.calls.total_calls());
        println!("## A fresh process on the converged account (cold cycle)\n");
        println!("| figure | cold | warm (cycle 2) |\n|---|---:|---:|");
        println!(
            "| API calls | {cold_calls} | {warm_calls} ({:.1}× warm) |",
            cold_calls as f64 / warm_calls.max(1) as f64
        );
        for (label, op) in [
            (
                "ListTagsForResource (CloudWatch)",
                Op::CwListTagsForResource,
            ),
            ("GetFunction", Op::GetFunction),
            ("GetResources (tags in bulk)", Op::GetResources),
            ("GetMetricData (both read metrics)", Op::GetMetricData),
        ] {
            println!(
                "| {label} | {} | {} |",
                cold.calls.calls(op),
                c2.calls.calls(op)
            );
        }
        println!(
            "| write calls | {} | {} |",
            cold.calls.write_calls(),
            c2.calls.write_calls()
        );
        println!(
            "| changes planned | {} | {} |",
            cold.report.plan.changes.len(),
            c2.report.plan.changes.len()
        );
        println!(
            "| virtual time (at trimtab's rates) | {:.1} s | {:.1} s |",
            cold.virtual_time.as_secs_f64(),
            c2.virtual_time.as_secs_f64()
        );
        println!("| wall time | {} | {} |\n", ms(cold.wall), ms(c2.wall));
        println!("{}", calls_table(&cold.calls));
    }
    let bounds = lower_bounds(&b, &c2);
    let (table, above) = bounds_table(&c2.calls, &bounds);
    let cp = control_plane_calls(&c2.calls);
    println!("## Cycle 2: steady state (account unchanged, clock +60 s)\n");
    println!(
        "Last metrics read began {} virtual s before this cycle.\n",
        c2.since_metrics_read
            .map_or("never".into(), |d| format!("{:.1}", d.as_secs_f64()))
    );
    println!("{table}");
    println!("| figure | value |\n|---|---:|");
    println!("| changes planned | {} |", c2.report.plan.changes.len());
    println!("| write calls | **{}** |", c2.calls.write_calls());
    println!("| virtual time | {:.1} s |", c2.virtual_time.as_secs_f64());
    println!("| wall time | {} |", ms(c2.wall));
    println!("| CPU time (user+sys) | {} |", ms(c2.cpu));
    println!(
        "| peak RSS (VmHWM{}) | {} |",
        if hwm_reset {
            ", reset after cycle 1"
        } else {
            ", whole process: reset unsupported"
        },
        mib(vm_kb("VmHWM:"))
    );
    println!(
        "| Lambda control-plane calls | {cp} = {:.2} % of 15 req/s × 60 s |",
        100.0 * cp as f64 / (LAMBDA_CONTROL_PLANE_RPS * 60.0)
    );
    println!(
        "| CloudWatch metrics requested | {} |",
        c2.metrics_requested
    );
    println!();
    if !above.is_empty() {
        println!(
            "**Calls above the lower bound in cycle 2: {}.**\n",
            above.join(", ")
        );
    }
    if c2.calls.write_calls() != 0 {
        ok = false;
        println!(
            "**FAIL: cycle 2 made {} write calls.**\n",
            c2.calls.write_calls()
        );
    }

    // ---- More steady cycles --------------------------------------------------------------
    let mut steady = vec![c2];
    for _ in 0..STEADY_CYCLES {
        b.clock.advance(INTERVAL).await;
        steady.push(b.cycle().await?);
    }
    let ops: Vec<Op> = {
        let mut all: Vec<Op> = steady
            .iter()
            .flat_map(|m| m.calls.by_op.keys().copied())
            .collect();
        all.sort();
        all.dedup();
        all
    };
    println!(
        "## Cycles 2–{}: steady state, clock +60 s before each (calls, throttled in brackets)\n",
        steady.len() + 1
    );
    let mut header =
        String::from("| cycle | virtual start (s) | virtual length (s) | since metrics read (s) |");
    let mut rule = String::from("|---:|---:|---:|---:|");
    for op in &ops {
        let _ = write!(header, " {} |", short_label(*op));
        rule.push_str("---:|");
    }
    header.push_str(" changes | total | writes | metrics | CPU | wall | RSS after |");
    rule.push_str("---:|---:|---:|---:|---:|---:|---:|");
    println!("{header}\n{rule}");
    let epoch = steady[0].report.started_at;
    for (i, m) in steady.iter().enumerate() {
        let mut row = format!(
            "| {} | {:.1} | {:.1} | {} |",
            i + 2,
            m.report
                .started_at
                .duration_since(epoch)
                .unwrap_or_default()
                .as_secs_f64(),
            m.virtual_time.as_secs_f64(),
            m.since_metrics_read
                .map_or("—".into(), |d| format!("{:.1}", d.as_secs_f64()))
        );
        for op in &ops {
            match m.calls.throttled(*op) {
                0 => {
                    let _ = write!(row, " {} |", m.calls.calls(*op));
                }
                t => {
                    let _ = write!(row, " {} ({t}) |", m.calls.calls(*op));
                }
            }
        }
        let _ = write!(
            row,
            " {} | {} | {} | {} | {} | {} | {} |",
            m.report.plan.changes.len(),
            m.calls.total_calls(),
            m.calls.write_calls(),
            m.metrics_requested,
            ms(m.cpu),
            ms(m.wall),
            mib(m.rss_after_kb)
        );
        println!("{row}");
    }
    println!();

    let k = steady.len() as f64;
    let writes: u64 = steady.iter().map(|m| m.calls.write_calls()).sum();
    let total: u64 = steady.iter().map(|m| m.calls.total_calls()).sum();
    let metrics: u64 = steady.iter().map(|m| m.metrics_requested).sum();
    let reads: usize = steady
        .iter()
        .filter(|m| m.calls.calls(Op::GetMetricData) > 0)
        .count();
    let cp: u64 = steady.iter().map(|m| control_plane_calls(&m.calls)).sum();
    let span = steady
        .last()
        .map(|m| {
            m.report
                .started_at
                .duration_since(epoch)
                .unwrap_or_default()
                + m.virtual_time
        })
        .unwrap_or_default();
    let cpu_of = |gmd: bool, daemon_only: bool| {
        let mut v: Vec<Duration> = steady
            .iter()
            .skip(1) // cycle 2 may carry one-off reads
            .filter(|m| (m.calls.calls(Op::GetMetricData) > 0) == gmd)
            .map(|m| {
                if daemon_only {
                    m.cpu.saturating_sub(m.sim_cpu)
                } else {
                    m.cpu
                }
            })
            .collect();
        v.sort();
        match (v.first(), v.get(v.len() / 2), v.last()) {
            (Some(lo), Some(mid), Some(hi)) => {
                format!(
                    "{} / {} / {} ({} cycles)",
                    ms(*lo),
                    ms(*mid),
                    ms(*hi),
                    v.len()
                )
            }
            _ => "none".into(),
        }
    };
    let per_read = QUERIES_PER_FUNCTION * n as u64;
    println!(
        "| steady-state figure ({} cycles) | value |\n|---|---:|",
        steady.len()
    );
    println!("| virtual time spanned | {:.1} s |", span.as_secs_f64());
    println!("| API calls per cycle (mean) | {:.2} |", total as f64 / k);
    for op in &ops {
        let calls: u64 = steady.iter().map(|m| m.calls.calls(*op)).sum();
        println!(
            "| — {} per cycle (mean) | {:.2} |",
            op_label(*op),
            calls as f64 / k
        );
    }
    println!("| write calls (all cycles) | **{writes}** |");
    // When metrics were read, and how far apart (virtual time).
    let read_starts: Vec<std::time::SystemTime> = steady
        .iter()
        .filter(|m| m.calls.calls(Op::GetMetricData) > 0)
        .map(|m| m.report.started_at)
        .collect();
    let read_interval = match (read_starts.first(), read_starts.last()) {
        (Some(first), Some(last)) if read_starts.len() > 1 => {
            Some(last.duration_since(*first).unwrap_or_default() / (read_starts.len() as u32 - 1))
        }
        _ => None,
    };
    let per_read_measured = if reads > 0 {
        metrics as f64 / reads as f64
    } else {
        0.0
    };
    println!("| cycles that read metrics (GetMetricData) | {reads} |");
    println!(
        "| mean virtual time between metrics reads | {} (window {} s) |",
        read_interval.map_or("n/a".into(), |d| format!("{:.1} s", d.as_secs_f64())),
        b.desired.observe.metrics_window.as_secs()
    );
    println!("| CloudWatch metrics requested (all cycles) | {metrics} |");
    println!("| metrics requested per read | {per_read_measured:.0} (5 × {n} = {per_read}) |");
    println!(
        "| metrics requested per cycle (mean) | {:.2} |",
        metrics as f64 / k
    );
    if let Some(interval) = read_interval {
        println!(
            "| GetMetricData cost per month at the measured read interval (30 days) | ${:.2} |",
            per_read_measured * SECONDS_PER_MONTH / interval.as_secs_f64().max(1.0)
                * GET_METRIC_DATA_DOLLARS_PER_METRIC
        );
    }
    println!(
        "| GetMetricData cost per month at 1 cycle/min: one read of {per_read} metrics per 15 min (2,880 reads) | ${:.2} |",
        per_read as f64 * 2880.0 * GET_METRIC_DATA_DOLLARS_PER_METRIC
    );
    println!(
        "| Lambda control-plane calls per cycle (mean) | {:.2} = {:.2} % of 15 req/s × 60 s |",
        cp as f64 / k,
        100.0 * cp as f64 / k / (LAMBDA_CONTROL_PLANE_RPS * 60.0)
    );
    println!(
        "| mean virtual cycle length | {:.1} s (+ 60 s pause) |",
        steady
            .iter()
            .map(|m| m.virtual_time.as_secs_f64())
            .sum::<f64>()
            / k
    );
    println!(
        "| CPU per cycle without a metrics read, min / median / max (cycles 3+) | {} |",
        cpu_of(false, false)
    );
    println!(
        "| CPU per cycle with a metrics read, min / median / max (cycles 3+) | {} |",
        cpu_of(true, false)
    );
    println!(
        "| … trimtab alone (less the simulated account's CPU answering calls), without a metrics read | {} |",
        cpu_of(false, true)
    );
    println!(
        "| … trimtab alone, with a metrics read | {} |",
        cpu_of(true, true)
    );
    println!(
        "| peak RSS (VmHWM{}) | {} |",
        if hwm_reset { " since cycle 1" } else { "" },
        mib(vm_kb("VmHWM:"))
    );
    println!("| RSS now (VmRSS) | {} |", mib(vm_kb("VmRSS:")));
    println!();
    println!(
        "RSS is the whole process: the engine and the simulated account it talks to (its state and its cache of evaluated traffic minutes).\n"
    );

    // ---- Where the CPU goes: one more observation, then the pure planner on it ---------------
    b.clock.advance(INTERVAL).await;
    let cpu_before = cpu_time();
    let sim_before = b.sim.cpu_spent();
    let observed = b
        .engine
        .observe(&b.desired)
        .await
        .map_err(|e| trimtab::engine::error_chain(&e))?;
    let observe_cpu = cpu_time().saturating_sub(cpu_before);
    let observe_sim_cpu = b.sim.cpu_spent().saturating_sub(sim_before);
    // Steady: with the memory the daemon has built up (what every cycle pays). Cold: with none,
    // as a fresh process's first plan (every history folded, every model fitted).
    let median_of_5 = |f: &mut dyn FnMut() -> usize| {
        let mut cpu = Vec::new();
        let mut changes = 0;
        for _ in 0..5 {
            let before = cpu_time();
            changes = f();
            cpu.push(cpu_time().saturating_sub(before));
        }
        cpu.sort();
        (cpu[cpu.len() / 2], changes)
    };
    let (plan_cpu, changes) =
        median_of_5(&mut || b.engine.plan_observed(&b.desired, &observed).changes.len());
    let (cold_plan_cpu, cold_changes) = median_of_5(&mut || {
        trimtab::controllers::plan(&b.desired, &observed)
            .changes
            .len()
    });
    // For a profiler to attach to: this many more steady plans of the same observation, after
    // the split is printed (`TRIMTAB_BENCH_PROFILE_PLANS=2000`, then `perf record -p`).
    let profile_plans = profiling("TRIMTAB_BENCH_PROFILE_PLANS", "steady plans");
    if profile_plans > 0 {
        for _ in 0..profile_plans {
            std::hint::black_box(b.engine.plan_observed(&b.desired, &observed));
        }
        eprintln!("profiling: done");
    }
    // The same for observations (`TRIMTAB_BENCH_PROFILE_OBSERVES`): each one a steady
    // cycle's observe against the unchanged account, the clock moved on by an interval.
    let profile_observes = profiling("TRIMTAB_BENCH_PROFILE_OBSERVES", "steady observations");
    if profile_observes > 0 {
        for _ in 0..profile_observes {
            b.clock.advance(INTERVAL).await;
            let o = b.engine.observe(&b.desired).await;
            std::hint::black_box(o.map_err(|e| trimtab::engine::error_chain(&e))?);
        }
        eprintln!("profiling: done");
    }
    let before = cpu_time();
    drop(observed);
    let drop_cpu = cpu_time().saturating_sub(before);
    println!("## CPU split of one more steady cycle (no apply: nothing to change)\n");
    println!("| part | CPU |\n|---|---:|");
    println!(
        "| observe (engine and the simulated account answering its calls) | {} |",
        ms(observe_cpu)
    );
    println!(
        "| observe, trimtab alone (less the simulated account's {}) | {} |",
        ms(observe_sim_cpu),
        ms(observe_cpu.saturating_sub(observe_sim_cpu))
    );
    println!(
        "| plan alone, steady (the daemon's memory; median of 5, {changes} changes) | {} |",
        ms(plan_cpu)
    );
    println!(
        "| plan alone, cold (no memory, as a fresh process; median of 5, {cold_changes} changes) | {} |",
        ms(cold_plan_cpu)
    );
    println!("| dropping the observation | {} |", ms(drop_cpu));
    println!();

    // Reads above their lower bound in a cycle that is not the first after convergence.
    let mut excess: BTreeMap<Op, u64> = BTreeMap::new();
    for m in steady.iter().skip(1) {
        for (op, bound, _) in lower_bounds(&b, m) {
            let over = m.calls.calls(op).saturating_sub(bound);
            if over > 0 {
                *excess.entry(op).or_default() += over;
            }
        }
    }
    if excess.is_empty() {
        println!("Cycles 3+: every read at its lower bound.\n");
    } else {
        println!("Cycles 3+: calls above the lower bound, summed (throttled attempts included):\n");
        for (op, over) in &excess {
            let throttled: u64 = steady.iter().skip(1).map(|m| m.calls.throttled(*op)).sum();
            println!("- {}: {over} ({throttled} throttled)", op_label(*op));
        }
        println!();
    }

    for (i, m) in steady.iter().enumerate() {
        if m.calls.write_calls() != 0 || m.report.apply.failed() != 0 {
            ok = false;
            println!(
                "**FAIL: steady cycle {} made {} write calls, {} failed changes.**",
                i + 2,
                m.calls.write_calls(),
                m.report.apply.failed()
            );
        }
    }
    println!(
        "Result: {}",
        if ok {
            "PASS (no steady-state writes, no failed changes)"
        } else {
            "FAIL"
        }
    );
    Ok(ok)
}

/// The same allocator as the binary, so the figures are the daemon's.
#[global_allocator]
static ALLOCATOR: trimtab::allocator::Counting = trimtab::allocator::Counting;

fn main() {
    trimtab::allocator::tune();
    let kind = match clock_kind() {
        Ok(kind) => kind,
        Err(e) => {
            eprintln!("cycle bench: {e}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(kind == ClockKind::Tokio)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cycle bench: cannot start tokio: {e}");
            std::process::exit(1);
        }
    };
    match runtime.block_on(run(kind)) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("cycle bench: {e}");
            std::process::exit(1);
        }
    }
}
