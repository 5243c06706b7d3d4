//! The right-sizing benchmark: a corpus of simulated functions whose true duration-versus-
//! memory curves are known, two simulated weeks of production traffic, and four ways of
//! choosing their memory, judged against the oracle (the cheapest size whose true p95 meets
//! the function's objective without out-of-memory kills):
//!
//! - **trimtab** in `auto`: the daemon itself, cycling every 15 minutes on the simulated
//!   account, observing only what CloudWatch would show it;
//! - the **seed's heuristic**: weekly, cut memory by a quarter when the function "completes
//!   quickly" (mean under a second);
//! - a **Compute-Optimizer-like** rule: once, for functions ≤ 1,792 MB with ≥ 50 invocations,
//!   the smallest size above the memory peak × 1.2 whose duration, projected as if CPU-bound,
//!   keeps under half the timeout; applied by hand;
//! - a **Power-Tuning-style** sweep: once, 50 synthetic invocations at each of 128, 256, 512,
//!   1,024, 1,536 and 3,008 MB, trimmed means, the cheapest size that did not fail; charged
//!   for its invocations.
//!
//! The baselines are given the true figures (mean duration, memory peak) where the real tool
//! would measure them: generous to them. trimtab gets nothing but its metrics.
//!
//! ```sh
//! cargo bench --bench rightsizing                           # benches/corpus/rightsizing.json
//! cargo bench --bench rightsizing -- --corpus other.json    # another corpus
//! cargo bench --bench rightsizing -- --days 7
//! cargo bench --bench rightsizing -- --generate 240 --out benches/corpus/rightsizing.json
//! ```
//!
//! Exits 1 if a cycle fails. It asserts nothing about time.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use trimtab::clock::{Clock, ManualClock};
use trimtab::cloud::sim::SimAccount;
use trimtab::engine::Engine;
use trimtab::model::{Architecture, Desired, SimFunction};
use trimtab::telemetry::{GET_METRIC_DATA_DOLLARS_PER_METRIC, Telemetry};

const INTERVAL: Duration = Duration::from_secs(15 * 60);
const PRICE_GB_S: f64 = 0.000_016_666_7;
const PRICE_REQUEST: f64 = 0.000_000_2;
/// Out-of-memory share the oracle tolerates: one invocation in a million.
const OOM_TOLERATED: f64 = 1e-6;
const SWEEP: [u32; 6] = [128, 256, 512, 1_024, 1_536, 3_008];
const SWEEP_INVOCATIONS: usize = 50;

/// One function of the corpus: how it behaves, how it is deployed, what it must meet.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    name: String,
    /// What kind of function it is, for the breakdown.
    kind: String,
    memory_mb: u32,
    timeout_s: u32,
    peak_rps: f64,
    cpu_ms: f64,
    io_ms: f64,
    parallelism: f64,
    error_rate: f64,
    used_memory_mb: u32,
    used_memory_sigma: f64,
    #[serde(default)]
    curve: Vec<(u32, f64)>,
    spread: f64,
    insights: bool,
    /// The alias callers use; `None`: `$LATEST`.
    alias: Option<String>,
    /// p95 objective, ms.
    objective_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Corpus {
    description: String,
    functions: Vec<Entry>,
}

// ---- The corpus generator ---------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Log-uniform between `lo` and `hi`.
    fn between(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + self.uniform() * (hi.ln() - lo.ln())).exp()
    }
    fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }
}

/// Sizes people deploy with.
const DEPLOYED: [u32; 11] = [
    128, 256, 512, 768, 1_024, 1_536, 2_048, 3_008, 4_096, 6_144, 10_240,
];

fn mean_ms(cpu: f64, io: f64, p: f64, mb: u32) -> f64 {
    io + cpu * 1_769.0 / f64::from(mb).min(p * 1_769.0)
}

fn generate(n: usize) -> Corpus {
    let mut rng = Rng(20_261_203);
    let kinds: [(&str, f64); 8] = [
        ("io-bound", 0.25),
        ("cpu-single", 0.13),
        ("cpu-multi", 0.10),
        ("mixed", 0.17),
        ("memory-hungry", 0.10),
        ("measured-curve", 0.10),
        ("low-traffic", 0.08),
        ("bursty", 0.07),
    ];
    let mut functions = Vec::new();
    for i in 0..n {
        let mut u = rng.uniform();
        let kind = kinds
            .iter()
            .find(|(_, share)| {
                u -= share;
                u < 0.0
            })
            .map_or("mixed", |(k, _)| k);
        let (cpu, io, used);
        let (mut p, mut sigma_mem) = (1.0, 0.03);
        let mut peak_rps = rng.between(0.5, 40.0);
        let mut curve = Vec::new();
        match kind {
            "io-bound" => {
                io = rng.between(300.0, 2_500.0);
                cpu = rng.between(5.0, 60.0);
                used = rng.between(60.0, 180.0);
            }
            "cpu-single" => {
                cpu = rng.between(200.0, 3_000.0);
                io = rng.between(5.0, 50.0);
                used = rng.between(100.0, 600.0);
            }
            "cpu-multi" => {
                cpu = rng.between(500.0, 6_000.0);
                io = rng.between(10.0, 100.0);
                p = [2.0, 3.0, 4.0, 6.0][(rng.next() % 4) as usize];
                used = rng.between(300.0, 1_500.0);
            }
            "mixed" => {
                cpu = rng.between(50.0, 800.0);
                io = rng.between(50.0, 800.0);
                p = if rng.chance(0.3) { 2.0 } else { 1.0 };
                used = rng.between(80.0, 400.0);
            }
            "memory-hungry" => {
                cpu = rng.between(50.0, 500.0);
                io = rng.between(50.0, 500.0);
                used = rng.between(400.0, 3_000.0);
                sigma_mem = rng.between(0.05, 0.12);
            }
            "measured-curve" => {
                // Parrotfish's shape, d(m) = a0 + a1·e^(−m/a2), tabulated as a measured
                // curve would be.
                let (a0, a1, a2) = (
                    rng.between(40.0, 500.0),
                    rng.between(200.0, 3_000.0),
                    rng.between(200.0, 1_500.0),
                );
                curve = [
                    128u32, 256, 512, 1_024, 1_536, 2_048, 3_008, 4_096, 6_144, 10_240,
                ]
                .iter()
                .map(|m| (*m, a0 + a1 * (-f64::from(*m) / a2).exp()))
                .collect();
                // What Lambda Insights would measure as CPU time: the part that memory buys.
                cpu = (a1 * (-1_769.0 / a2).exp()).max(1.0);
                io = a0;
                used = rng.between(80.0, 500.0);
            }
            "low-traffic" => {
                cpu = rng.between(20.0, 400.0);
                io = rng.between(20.0, 400.0);
                used = rng.between(70.0, 300.0);
                peak_rps = rng.between(0.003, 0.05);
            }
            _ => {
                // Bursty: little traffic most of the day, in the simulated bursts.
                cpu = rng.between(50.0, 600.0);
                io = rng.between(20.0, 600.0);
                used = rng.between(70.0, 300.0);
                peak_rps = rng.between(0.05, 2.0);
            }
        }
        let spread = rng.between(0.2, 0.45);
        let z95 = 1.645;
        let p95_at = |mb: u32| {
            let m = if curve.is_empty() {
                mean_ms(cpu, io, p, mb)
            } else {
                median_on_curve(&curve, mb) * (spread * spread / 2.0f64).exp()
            };
            (m.ln() - spread * spread / 2.0 + z95 * spread).exp()
        };
        // The objective: a tier the function can meet with room at a large size.
        let fastest = p95_at(10_240);
        let objective_ms = [1_000.0, 3_000.0, 10_000.0, 30_000.0]
            .into_iter()
            .find(|o| fastest <= 0.6 * o)
            .unwrap_or(60_000.0);
        let need = used * 1.1;
        let memory_mb = *DEPLOYED
            .iter()
            .filter(|m| f64::from(**m) >= need)
            .nth((rng.next() % 3) as usize)
            .unwrap_or(&10_240);
        let p99 = p95_at(memory_mb) * 1.6;
        let timeout_s = ((p99 * 3.0 / 1_000.0).ceil() as u32).clamp(3, 900);
        functions.push(Entry {
            name: format!("fn-{i:03}-{kind}"),
            kind: kind.to_string(),
            memory_mb,
            timeout_s,
            peak_rps,
            cpu_ms: cpu,
            io_ms: io,
            parallelism: p,
            error_rate: rng.between(0.0005, 0.01),
            used_memory_mb: used.round() as u32,
            used_memory_sigma: sigma_mem,
            curve,
            spread,
            insights: rng.chance(0.7),
            alias: rng.chance(0.5).then(|| "live".to_string()),
            objective_ms,
        });
    }
    Corpus {
        description: format!(
            "{n} functions generated by `cargo bench --bench rightsizing -- --generate {n}`: I/O-bound (model API calls), CPU-bound single- and multi-threaded, mixed, memory-hungry near their limit, measured curves (a0 + a1·e^(−m/a2)), low traffic and bursty; 70 % with Lambda Insights, half behind an alias."
        ),
        functions,
    }
}

/// Log-log interpolation, as the simulated account does.
fn median_on_curve(curve: &[(u32, f64)], mb: u32) -> f64 {
    let (first, last) = (curve[0], curve[curve.len() - 1]);
    if mb <= first.0 {
        return first.1;
    }
    if mb >= last.0 {
        return last.1;
    }
    for w in curve.windows(2) {
        let ((m0, d0), (m1, d1)) = (w[0], w[1]);
        if mb <= m1 {
            let x = (f64::from(mb).ln() - f64::from(m0).ln())
                / (f64::from(m1).ln() - f64::from(m0).ln());
            return (d0.ln() + x * (d1.ln() - d0.ln())).exp();
        }
    }
    last.1
}

// ---- The account and the judge ----------------------------------------------------------

fn config(corpus: &Corpus) -> String {
    let mut objectives: Vec<u64> = corpus
        .functions
        .iter()
        .map(|f| f.objective_ms as u64)
        .collect();
    objectives.sort();
    objectives.dedup();
    let mut rules = String::new();
    for o in objectives {
        rules.push_str(&format!(
            "\n[[functions]]\nname_prefix = \"o{o}-\"\ntier = \"batch\"\n[functions.right_sizing]\nlatency_threshold_ms = {o}\n"
        ));
    }
    format!(
        r#"
interval = "15m"
jitter = 0.0

[cloud]
backend = "simulated"
region = "us-east-1"

[observe]
metrics = false

[table_scaling]
enabled = false

# The benchmark is about memory; the alarms have their own tests.
[alarms.duration]
enabled = false
[alarms.error_rate]
enabled = false
[alarms.throttles]
enabled = false

[right_sizing]
mode = "auto"
alias = "live"
latency_statistic = "p95"
max_in_flight = 50
{rules}
[simulated]
seed = 11
"#
    )
}

/// The account's name for a corpus function: its objective first, so a rule can select it.
fn account_name(e: &Entry) -> String {
    format!("o{}-{}", e.objective_ms as u64, e.name)
}

fn sim_function(e: &Entry) -> SimFunction {
    SimFunction {
        name: account_name(e),
        memory_mb: e.memory_mb,
        timeout_s: e.timeout_s,
        architecture: Architecture::X86_64,
        peak_rps: e.peak_rps,
        cpu_ms: e.cpu_ms,
        io_ms: e.io_ms,
        parallelism: e.parallelism,
        error_rate: e.error_rate,
        used_memory_mb: e.used_memory_mb,
        curve: e.curve.clone(),
        spread: Some(e.spread),
        used_memory_sigma: e.used_memory_sigma,
        insights: e.insights,
        invoked_via: e.alias.clone(),
        ..SimFunction::default()
    }
}

/// Per-invocation cost at a size (dollars): duration × memory, plus the request.
fn cost(sim: &SimAccount, name: &str, mb: u32) -> f64 {
    let mean = sim.true_mean_ms(name, mb).unwrap_or(0.0);
    mean / 1_000.0 * f64::from(mb) / 1_024.0 * PRICE_GB_S + PRICE_REQUEST
}

fn p95(sim: &SimAccount, name: &str, mb: u32) -> f64 {
    sim.true_duration_ms(name, mb, 95.0)
        .unwrap_or(f64::INFINITY)
}

/// The cheapest size (1 MB steps) meeting the objective without out-of-memory kills; when no
/// size meets it, the fastest (cheapest among near-fastest).
fn oracle(sim: &SimAccount, e: &Entry) -> u32 {
    let name = account_name(e);
    let safe: Vec<u32> = (128..=10_240)
        .filter(|mb| sim.true_oom_share(&name, *mb).unwrap_or(1.0) < OOM_TOLERATED)
        .collect();
    let meets: Vec<u32> = safe
        .iter()
        .copied()
        .filter(|mb| p95(sim, &name, *mb) <= e.objective_ms)
        .collect();
    let pool = if meets.is_empty() { safe } else { meets };
    pool.into_iter()
        .min_by(|a, b| cost(sim, &name, *a).total_cmp(&cost(sim, &name, *b)))
        .unwrap_or(10_240)
}

/// How far a size's cost is from the oracle's, either way: a size cheaper than the oracle's
/// is one that breaches the objective or is killed for memory, not a better choice.
fn regret(sim: &SimAccount, name: &str, chosen: u32, oracle: u32) -> f64 {
    (cost(sim, name, chosen) / cost(sim, name, oracle) - 1.0).abs()
}

/// A strategy's sizes over time: (from, size), the first at the start.
type Timeline = Vec<(SystemTime, u32)>;

#[derive(Default)]
struct Score {
    regrets: Vec<f64>,
    breaches: usize,
    oom_errors: f64,
    changes: usize,
    rollbacks: usize,
    converge_days: Vec<f64>,
    observe_dollars: f64,
    tuning_dollars: f64,
    writes: u64,
}

fn pct(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    v[i]
}

fn score(
    sim: &SimAccount,
    corpus: &Corpus,
    oracles: &[u32],
    timelines: &[Timeline],
    start: SystemTime,
    end: SystemTime,
) -> Score {
    let mut s = Score::default();
    for ((e, oracle), tl) in corpus.functions.iter().zip(oracles).zip(timelines) {
        let name = account_name(e);
        let last = tl.last().map_or(e.memory_mb, |(_, m)| *m);
        s.regrets.push(regret(sim, &name, last, *oracle));
        if p95(sim, &name, last) > e.objective_ms && p95(sim, &name, *oracle) <= e.objective_ms {
            s.breaches += 1;
        }
        s.changes += tl.len() - 1;
        if tl.len() > 1
            && let Some((t, _)) = tl.last()
        {
            s.converge_days
                .push(t.duration_since(start).unwrap_or_default().as_secs_f64() / 86_400.0);
        }
        // Out-of-memory kills beyond those the deployed size already had.
        let base = sim.true_oom_share(&name, e.memory_mb).unwrap_or(0.0);
        for (i, (from, mb)) in tl.iter().enumerate() {
            let to = tl.get(i + 1).map_or(end, |(t, _)| *t);
            let extra = sim.true_oom_share(&name, *mb).unwrap_or(0.0) - base;
            if extra > 0.0 {
                s.oom_errors += extra * sim.expected_invocations(&name, *from, to);
            }
        }
    }
    s
}

// ---- The strategies -----------------------------------------------------------------------

fn round64(mb: f64) -> u32 {
    ((mb / 64.0).round() as u32 * 64).clamp(128, 10_240)
}

fn seed_heuristic(sim: &SimAccount, e: &Entry, start: SystemTime) -> Timeline {
    let name = account_name(e);
    let mut tl = vec![(start, e.memory_mb)];
    for week in 0..2u32 {
        let mb = tl.last().map_or(e.memory_mb, |x| x.1);
        if sim.true_mean_ms(&name, mb).unwrap_or(0.0) < 1_000.0 && mb > 128 {
            tl.push((
                start + Duration::from_secs(u64::from(week) * 7 * 86_400 + 1),
                round64(f64::from(mb) * 0.75),
            ));
        }
    }
    tl
}

fn compute_optimizer_like(sim: &SimAccount, e: &Entry, start: SystemTime) -> Timeline {
    let name = account_name(e);
    let invocations =
        sim.expected_invocations(&name, start - Duration::from_secs(14 * 86_400), start);
    if e.memory_mb > 1_792 || invocations < 50.0 {
        return vec![(start, e.memory_mb)];
    }
    // The memory peak over two weeks of invocations, as CloudWatch would have recorded it.
    let peak = f64::from(e.used_memory_mb) * (4.0 * e.used_memory_sigma).exp();
    let p95_now = p95(sim, &name, e.memory_mb);
    let pick = (2..=28)
        .map(|k| k * 64)
        .filter(|mb| f64::from(*mb) >= peak * 1.2)
        .find(|mb| {
            let projected = p95_now * f64::from(e.memory_mb) / f64::from(*mb);
            projected <= f64::from(e.timeout_s) * 1_000.0 * 0.5
        });
    match pick {
        Some(mb) if mb != e.memory_mb => {
            vec![(start, e.memory_mb), (start + Duration::from_secs(1), mb)]
        }
        _ => vec![(start, e.memory_mb)],
    }
}

fn power_tuning(
    sim: &SimAccount,
    e: &Entry,
    start: SystemTime,
    rng: &mut Rng,
    spend: &mut f64,
) -> Timeline {
    let name = account_name(e);
    let mut best: Option<(f64, u32)> = None;
    for mb in SWEEP {
        let mean = sim.true_mean_ms(&name, mb).unwrap_or(0.0);
        let oom = sim.true_oom_share(&name, mb).unwrap_or(0.0);
        let mut samples = Vec::new();
        let mut failed = false;
        for _ in 0..SWEEP_INVOCATIONS {
            // A lognormal draw (Box-Muller) around the true mean.
            let (u1, u2) = (rng.uniform().max(1e-12), rng.uniform());
            let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            let d = (mean.ln() - e.spread * e.spread / 2.0 + e.spread * z).exp();
            *spend += d / 1_000.0 * f64::from(mb) / 1_024.0 * PRICE_GB_S + PRICE_REQUEST;
            if rng.uniform() < oom {
                failed = true;
            }
            samples.push(d);
        }
        if failed {
            continue;
        }
        samples.sort_by(f64::total_cmp);
        let trim = SWEEP_INVOCATIONS / 5;
        let kept = &samples[trim..SWEEP_INVOCATIONS - trim];
        let avg = kept.iter().sum::<f64>() / kept.len() as f64;
        let c = avg * f64::from(mb);
        if best.is_none_or(|(b, _)| c < b) {
            best = Some((c, mb));
        }
    }
    match best {
        Some((_, mb)) if mb != e.memory_mb => {
            vec![(start, e.memory_mb), (start + Duration::from_secs(1), mb)]
        }
        _ => vec![(start, e.memory_mb)],
    }
}

/// The size callers are served by: the alias's version, or `$LATEST`.
fn serving(sim: &SimAccount, e: &Entry) -> u32 {
    let name = account_name(e);
    sim.with_state(|st| {
        let f = &st.functions[&name];
        match e.alias.as_ref().and_then(|a| f.aliases.get(a)) {
            Some(a) => a
                .function_version
                .parse::<u32>()
                .ok()
                .and_then(|v| f.versions.get(&v))
                .map_or(f.memory_mb, |v| v.memory_mb),
            None => f.memory_mb,
        }
    })
}

fn now_days(now: SystemTime, start: SystemTime) -> String {
    format!(
        "day {:.2}",
        now.duration_since(start).unwrap_or_default().as_secs_f64() / 86_400.0
    )
}

async fn run_trimtab(
    corpus: &Corpus,
    days: u64,
    verbose: bool,
) -> Result<
    (
        Arc<SimAccount>,
        Vec<Timeline>,
        Score,
        SystemTime,
        SystemTime,
        Duration,
    ),
    String,
> {
    let mut desired: Desired =
        trimtab::config::parse(&config(corpus), "rightsizing.toml").map_err(|e| e.to_string())?;
    desired.cloud.simulated.functions = corpus.functions.iter().map(sim_function).collect();
    let clock = Arc::new(ManualClock::at_epoch());
    let sim = SimAccount::new(
        &desired.cloud.simulated,
        &desired.cloud.region,
        clock.clone(),
    )
    .map_err(|e| e.to_string())?;
    sim.set_quota_enforcement(true);
    let telemetry = Telemetry::new().map_err(|e| e.to_string())?;
    let engine = Engine::new(sim.cloud(), clock.clone(), telemetry.clone(), &desired);
    let cancel = CancellationToken::new();
    let start = clock.now();
    let mut timelines: Vec<Timeline> = corpus
        .functions
        .iter()
        .map(|e| vec![(start, serving(&sim, e))])
        .collect();
    let mut rollbacks = 0;
    let cycles = days * 86_400 / INTERVAL.as_secs();
    let wall = Instant::now();
    for _ in 0..cycles {
        clock.advance(INTERVAL);
        let report = engine
            .cycle(&desired, &cancel)
            .await
            .map_err(|e| trimtab::engine::error_chain(&e))?;
        for o in &report.apply.outcomes {
            if let trimtab::engine::apply::Outcome::Failed { error } = &o.outcome {
                eprintln!("failed: {} {}: {error}", o.kind, o.id);
            }
        }
        for c in report
            .plan
            .changes
            .iter()
            .filter(|c| c.reason.starts_with("rolling back"))
        {
            rollbacks += 1;
            if verbose {
                eprintln!("{}: {} {}", now_days(clock.now(), start), c.id, c.reason);
            }
        }
        let now = clock.now();
        for (e, tl) in corpus.functions.iter().zip(timelines.iter_mut()) {
            let mb = serving(&sim, e);
            if tl.last().is_some_and(|(_, m)| *m != mb) {
                tl.push((now, mb));
            }
        }
    }
    let wall = wall.elapsed();
    let end = clock.now();
    let s = Score {
        rollbacks,
        observe_dollars: telemetry.metrics_requested.get() as f64
            * GET_METRIC_DATA_DOLLARS_PER_METRIC,
        writes: sim.counters().write_calls(),
        ..Score::default()
    };
    Ok((sim, timelines, s, start, end, wall))
}

fn print_row(label: &str, s: &mut Score, n: usize, days: u64) {
    let median = pct(&mut s.regrets, 0.5) * 100.0;
    let p90 = pct(&mut s.regrets, 0.9) * 100.0;
    let conv_med = pct(&mut s.converge_days.clone(), 0.5);
    let conv_max = s.converge_days.iter().copied().fold(0.0, f64::max);
    let per_month = 30.0 / days as f64;
    println!(
        "| {label} | {median:.1} % | {p90:.1} % | {} | {:.0} | {} | {:.2} | {} | {} | ${:.2} | ${:.4} |",
        s.breaches,
        s.oom_errors,
        s.rollbacks,
        s.changes as f64 / n as f64,
        if conv_med.is_nan() {
            "–".to_string()
        } else {
            format!("{conv_med:.1}")
        },
        if s.converge_days.is_empty() {
            "–".to_string()
        } else {
            format!("{conv_max:.1}")
        },
        s.observe_dollars * per_month,
        s.tuning_dollars,
    );
}

fn arg(args: &[String], key: &str) -> Option<String> {
    args.iter()
        .position(|a| a == key)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(n) = arg(&args, "--generate") {
        let n: usize = n.parse().expect("--generate N");
        let out = arg(&args, "--out").unwrap_or_else(|| "benches/corpus/rightsizing.json".into());
        let corpus = generate(n);
        let text = serde_json::to_string_pretty(&corpus).expect("json");
        std::fs::write(&out, text + "\n").expect("write corpus");
        println!("wrote {n} functions to {out}");
        return;
    }
    let path = arg(&args, "--corpus").unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/benches/corpus/rightsizing.json"
        )
        .to_string()
    });
    let days: u64 = arg(&args, "--days").map_or(14, |d| d.parse().expect("--days N"));
    let corpus: Corpus =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("corpus file"))
            .expect("corpus JSON");
    let n = corpus.functions.len();
    println!("corpus: {path} ({n} functions); {days} simulated days, a cycle every 15 min\n");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (sim, timelines, mut trimtab, start, end, wall) = match rt.block_on(run_trimtab(
        &corpus,
        days,
        args.iter().any(|a| a == "--verbose"),
    )) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("trimtab run failed: {e}");
            std::process::exit(1);
        }
    };
    let oracles: Vec<u32> = corpus.functions.iter().map(|e| oracle(&sim, e)).collect();
    let mut scored = score(&sim, &corpus, &oracles, &timelines, start, end);
    scored.rollbacks = trimtab.rollbacks;
    scored.observe_dollars = trimtab.observe_dollars;
    scored.writes = trimtab.writes;
    trimtab = scored;

    let mut rng = Rng(7);
    let mut pt_spend = 0.0;
    let seed: Vec<Timeline> = corpus
        .functions
        .iter()
        .map(|e| seed_heuristic(&sim, e, start))
        .collect();
    let co: Vec<Timeline> = corpus
        .functions
        .iter()
        .map(|e| compute_optimizer_like(&sim, e, start))
        .collect();
    let pt: Vec<Timeline> = corpus
        .functions
        .iter()
        .map(|e| power_tuning(&sim, e, start, &mut rng, &mut pt_spend))
        .collect();
    let deployed: Vec<Timeline> = corpus
        .functions
        .iter()
        .map(|e| vec![(start, e.memory_mb)])
        .collect();
    let mut s_seed = score(&sim, &corpus, &oracles, &seed, start, end);
    let mut s_co = score(&sim, &corpus, &oracles, &co, start, end);
    let mut s_pt = score(&sim, &corpus, &oracles, &pt, start, end);
    s_pt.tuning_dollars = pt_spend;
    let mut s_none = score(&sim, &corpus, &oracles, &deployed, start, end);

    println!(
        "| strategy | cost regret¹, median | p90 | left breaching | OOM errors caused | rollbacks | changes / function | days to converge, median | max | CloudWatch $ / month | tuning $ |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    print_row("as deployed", &mut s_none, n, days);
    print_row("seed heuristic", &mut s_seed, n, days);
    print_row("Compute-Optimizer-like", &mut s_co, n, days);
    print_row("Power-Tuning sweep", &mut s_pt, n, days);
    print_row("**trimtab auto**", &mut trimtab, n, days);
    println!(
        "\n¹ |cost at the size chosen − cost at the oracle's| / cost at the oracle's, per invocation at the true mean duration; a size cheaper than the oracle's breaches or is killed for memory."
    );

    // Where trimtab's regret comes from, by kind.
    let mut by_kind: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for ((e, o), tl) in corpus.functions.iter().zip(&oracles).zip(&timelines) {
        let name = account_name(e);
        let last = tl.last().map_or(e.memory_mb, |x| x.1);
        by_kind
            .entry(e.kind.as_str())
            .or_default()
            .push(regret(&sim, &name, last, *o));
    }
    println!("\ntrimtab by kind: | kind | functions | regret median | p90 | max |");
    for (kind, mut v) in by_kind {
        let max = v.iter().copied().fold(f64::MIN, f64::max);
        println!(
            "| {kind} | {} | {:.1} % | {:.1} % | {:.1} % |",
            v.len(),
            pct(&mut v, 0.5) * 100.0,
            pct(&mut v, 0.9) * 100.0,
            max * 100.0
        );
    }
    if args.iter().any(|a| a == "--details") {
        println!(
            "\n| function | deployed | oracle | trimtab | regret | p95 at trimtab's | objective |"
        );
        for ((e, o), tl) in corpus.functions.iter().zip(&oracles).zip(&timelines) {
            let name = account_name(e);
            let last = tl.last().map_or(e.memory_mb, |x| x.1);
            println!(
                "| {} | {} | {o} | {} | {:.1} % | {:.0} | {:.0} |",
                e.name,
                e.memory_mb,
                tl.iter()
                    .map(|x| x.1.to_string())
                    .collect::<Vec<_>>()
                    .join("→"),
                regret(&sim, &name, last, *o) * 100.0,
                p95(&sim, &name, last),
                e.objective_ms
            );
        }
    }
    println!(
        "\ntrimtab: {} write calls in {days} days ({:.1} per function); the run took {:.1} s of wall time",
        trimtab.writes,
        trimtab.writes as f64 / n as f64,
        wall.as_secs_f64()
    );
}
