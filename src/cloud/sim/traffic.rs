//! The traffic and performance model. Each function's and table's minute is a pure function of
//! `(seed, name, minute, configuration in force at that minute)`, so metrics are regenerated on
//! demand instead of stored: 1,000 functions × a day costs no memory, and comparing two
//! memory sizes replays the same arrivals (common random numbers).
//!
//! Per minute: demand = Poisson(peak × daily shape × bursts × noise); mean duration =
//! `cpu_ms × 1769 / min(memory, parallelism × 1769) + io_ms`, with lognormal per-invocation
//! noise; concurrency by Little's law (rate × duration); throttles where the peak concurrency
//! exceeds reserved concurrency or the unreserved pool; errors at the function's error rate,
//! plus timeouts and out-of-memory kills.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use crate::model::BillingMode;

use super::state::{SimFunctionState, TableRecord};
use super::stats::{Agg, Rng64, clamped_lognormal_mean, hash_str, norm_cdf};

/// Memory at which a function gets one full vCPU.
pub(crate) const MB_PER_VCPU: f64 = 1_769.0;
/// How long an idle execution environment survives, for the cold-start estimate.
const IDLE_ENVIRONMENT_LIFETIME_S: f64 = 420.0;
/// Share of busy environments recycled each minute even under steady load.
const ENVIRONMENT_CHURN_PER_MINUTE: f64 = 0.02;

// Stream ids: each random quantity draws from its own stream, so adding a draw to one does not
// shift the others.
const STREAM_MINUTE: u64 = 1;
const STREAM_BURST: u64 = 2;
const STREAM_PROFILE: u64 = 3;
const STREAM_TABLE: u64 = 4;
const STREAM_DURATION: u64 = 5;
const STREAM_MEMORY: u64 = 6;
const STREAM_INIT: u64 = 7;
const STREAM_SPLIT: u64 = 8;
const STREAM_OOM: u64 = 9;
const STREAM_CPU: u64 = 10;

pub(crate) fn minute_of(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 60)
}

pub(crate) fn minute_start(minute: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(minute * 60)
}

/// Share of the daily peak at a UTC minute. The application's users are in India (UTC+5:30):
/// nearly idle around 04:00 IST, a late-morning shoulder, the peak at 20:00 IST.
pub(crate) fn daily_shape(minute: u64) -> f64 {
    use std::f64::consts::PI;
    let ist_hour = ((minute + 330) % 1_440) as f64 / 60.0;
    // A warped cosine: sixteen hours rising from the 04:00 trough to the 20:00 peak, eight
    // falling back.
    let phase = if (4.0..20.0).contains(&ist_hour) {
        PI * (ist_hour - 4.0) / 16.0
    } else {
        PI + PI * (ist_hour - 20.0).rem_euclid(24.0) / 8.0
    };
    let evening = ((1.0 - phase.cos()) / 2.0).powf(1.5);
    let morning = 0.35 * (-((ist_hour - 10.5) / 1.5).powi(2)).exp();
    (0.03 + 0.97 * evening + morning).min(1.0)
}

/// Occasional bursts: about one five-minute block in fifty runs at 2–5× the usual rate.
fn burst(seed: u64, key: u64, minute: u64) -> f64 {
    let mut rng = Rng64::from_key(&[seed, key, minute / 5, STREAM_BURST]);
    if rng.uniform() < 0.02 {
        2.0 + 3.0 * rng.uniform()
    } else {
        1.0
    }
}

/// Requests a second a function with this peak receives in a minute, before noise.
pub(crate) fn expected_rate(seed: u64, key: u64, peak_rps: f64, minute: u64) -> f64 {
    peak_rps.max(0.0) * daily_shape(minute) * burst(seed, key, minute)
}

/// Mean invocation duration in ms at a memory size, before noise.
pub(crate) fn mean_duration_ms(cpu_ms: f64, io_ms: f64, parallelism: f64, memory_mb: u32) -> f64 {
    let cpu_limit = parallelism.max(0.1) * MB_PER_VCPU;
    cpu_ms.max(0.0) * MB_PER_VCPU / f64::from(memory_mb.max(1)).min(cpu_limit) + io_ms.max(0.0)
}

/// Median duration in ms at a memory size from a measured curve: linear in log–log between the
/// measured sizes, flat beyond the ends.
pub(crate) fn curve_median_ms(curve: &[(u32, f64)], memory_mb: u32) -> f64 {
    let m = f64::from(memory_mb.max(1));
    let (Some(first), Some(last)) = (curve.first(), curve.last()) else {
        return 0.0;
    };
    if memory_mb <= first.0 {
        return first.1;
    }
    if memory_mb >= last.0 {
        return last.1;
    }
    for w in curve.windows(2) {
        let ((m0, d0), (m1, d1)) = (w[0], w[1]);
        if memory_mb <= m1 {
            let x = (m.ln() - f64::from(m0).ln()) / (f64::from(m1).ln() - f64::from(m0).ln());
            return (d0.ln() + x * (d1.ln() - d0.ln())).exp();
        }
    }
    last.1
}

/// The true mean duration (ms) of a function at a memory size, with its duration shape: the
/// oracle of the right-sizing benchmark reads this, and so does the model.
pub(crate) fn true_mean_ms(t: &super::state::TrafficProfile, sigma: f64, memory_mb: u32) -> f64 {
    if t.curve.is_empty() {
        mean_duration_ms(t.cpu_ms, t.io_ms, t.parallelism, memory_mb)
    } else {
        curve_median_ms(&t.curve, memory_mb) * (sigma * sigma / 2.0).exp()
    }
}

/// The duration shape (lognormal sigma) of a function: configured, or seeded.
pub(crate) fn duration_sigma(seed: u64, f: &SimFunctionState) -> f64 {
    f.traffic
        .spread
        .unwrap_or_else(|| profile(seed, hash_str(&f.name)).sigma)
}

/// Share of invocations that need more memory than `memory_mb` and are killed.
pub(crate) fn oom_share(t: &super::state::TrafficProfile, memory_mb: u32) -> f64 {
    let used = f64::from(t.used_memory_mb.max(1));
    let mem = f64::from(memory_mb.max(1));
    let sigma = t.used_memory_sigma.max(0.0);
    if sigma < 1e-6 {
        return if used > mem { 1.0 } else { 0.0 };
    }
    let mu = used.ln() - sigma * sigma / 2.0;
    1.0 - norm_cdf((mem.ln() - mu) / sigma)
}

/// One function's minute, everything AWS/Lambda and Lambda Insights would report for it. The
/// counts are computed up front; the value distributions (durations, memory used, init times)
/// only when a query asks for them, each from its own random stream, so a read of
/// `Invocations` never pays for sampling durations and the results do not depend on which
/// metrics were read first.
#[derive(Debug, Clone, Default)]
pub(crate) struct FunctionMinute {
    /// Requests that arrived, throttled or not.
    pub demand: u64,
    /// Requests that ran (AWS's `Invocations` excludes throttled requests).
    pub invocations: u64,
    pub errors: u64,
    pub throttles: u64,
    pub concurrency_max: f64,
    pub cold_starts: u64,
    pub memory_mb: u32,
    /// Per qualifier with provisioned concurrency: (qualifier, allocated, busy at the peak).
    pub provisioned: Vec<(String, u32, f64)>,
    pub spillover: u64,
    /// The version that served (when one did alone); `$LATEST` unless through an alias.
    pub version: String,
    /// When an alias split the minute between two versions: each version's share.
    pub parts: Vec<FunctionMinute>,
    /// Whether Lambda Insights publishes for this function.
    pub insights: bool,
    /// The alias callers went through, if any.
    pub via: Option<String>,
    dists: Dists,
}

/// Parameters of a lognormal: `n` values with this mean (before clamping), shape and cap.
#[derive(Debug, Clone, Copy, Default)]
struct LogNormal {
    n: u64,
    mean: f64,
    sigma: f64,
    cap: f64,
}

#[derive(Debug, Clone, Default)]
struct Dists {
    /// `(seed, function key, minute)`: the root of this minute's streams.
    root: [u64; 3],
    duration: LogNormal,
    used_memory: LogNormal,
    init: LogNormal,
    cpu: LogNormal,
    duration_agg: OnceLock<Agg>,
    used_memory_agg: OnceLock<Agg>,
    init_agg: OnceLock<Agg>,
    cpu_agg: OnceLock<Agg>,
}

impl Dists {
    fn draw<'a>(&self, cell: &'a OnceLock<Agg>, p: LogNormal, stream: u64) -> &'a Agg {
        cell.get_or_init(|| {
            let [seed, key, minute] = self.root;
            let mut rng = Rng64::from_key(&[seed, key, minute, stream]);
            Agg::lognormal(&mut rng, p.n, p.mean, p.sigma, p.cap)
        })
    }
}

impl FunctionMinute {
    /// One of the distributions: this minute's own, or the parts' merged.
    fn dist<'a>(
        &'a self,
        cell: &'a OnceLock<Agg>,
        own: LogNormal,
        stream: u64,
        part: fn(&FunctionMinute) -> &Agg,
    ) -> &'a Agg {
        if self.parts.is_empty() {
            return self.dists.draw(cell, own, stream);
        }
        cell.get_or_init(|| {
            let mut all = Agg::default();
            for p in &self.parts {
                all.merge(part(p).clone());
            }
            all
        })
    }

    /// `Duration` values, in ms, clamped at the timeout.
    pub(crate) fn duration(&self) -> &Agg {
        let d = &self.dists;
        self.dist(&d.duration_agg, d.duration, STREAM_DURATION, Self::duration)
    }

    /// Lambda Insights' `used_memory_max` values, in MB (never above the memory size).
    pub(crate) fn used_memory(&self) -> &Agg {
        let d = &self.dists;
        self.dist(
            &d.used_memory_agg,
            d.used_memory,
            STREAM_MEMORY,
            Self::used_memory,
        )
    }

    /// Lambda Insights' `init_duration` values, in ms, one per cold start.
    pub(crate) fn init_duration(&self) -> &Agg {
        let d = &self.dists;
        self.dist(&d.init_agg, d.init, STREAM_INIT, Self::init_duration)
    }

    /// Lambda Insights' `cpu_total_time` values: CPU ms per invocation (user + system).
    pub(crate) fn cpu_time(&self) -> &Agg {
        let d = &self.dists;
        self.dist(&d.cpu_agg, d.cpu, STREAM_CPU, Self::cpu_time)
    }

    /// The share of this minute served by one version.
    pub(crate) fn part(&self, version: &str) -> Option<&FunctionMinute> {
        if self.parts.is_empty() {
            return (self.version == version).then_some(self);
        }
        self.parts.iter().find(|p| p.version == version)
    }
}

/// Per-function constants drawn once from the seed (noise shape, init cost).
struct Profile {
    sigma: f64,
    init_base_ms: f64,
}

fn profile(seed: u64, key: u64) -> Profile {
    let mut rng = Rng64::from_key(&[seed, key, STREAM_PROFILE]);
    Profile {
        sigma: 0.25 + 0.2 * rng.uniform(),
        init_base_ms: 120.0 + 500.0 * rng.uniform(),
    }
}

/// Evaluates one minute of a function. `unreserved` is the account's unreserved pool, the
/// limit for functions without reserved concurrency. When callers go through an alias that
/// routes a share to a second version, each version serves its share at its own memory and
/// timeout, and the minute carries both parts.
pub(crate) fn function_minute(
    seed: u64,
    f: &SimFunctionState,
    unreserved: u32,
    minute: u64,
) -> FunctionMinute {
    let key = hash_str(&f.name);
    let start = minute_start(minute);
    let (_, reserved) = f.config_at(start);
    let serving = f.serving_at(start);
    let t = &f.traffic;
    let mut rng = Rng64::from_key(&[seed, key, minute, STREAM_MINUTE]);

    let rate = t.peak_rps.max(0.0)
        * daily_shape(minute)
        * burst(seed, key, minute)
        * (0.1 * rng.normal() - 0.005).exp();
    let demand = rng.poisson(rate * 60.0);
    let jitter = (0.05 * rng.normal()).exp();
    let u_conc = rng.uniform();
    let mut out = FunctionMinute {
        demand,
        memory_mb: serving[0].2,
        version: serving[0].0.clone(),
        insights: t.insights,
        via: t.invoked_via.clone(),
        ..FunctionMinute::default()
    };
    out.dists.root = [seed, key, minute];
    // Provisioned environments exist (and report utilisation) whether or not traffic arrives.
    let pcs = f.provisioned_at(start);
    let allocated: u32 = pcs.iter().map(|(_, n)| n).sum();
    out.provisioned = pcs.iter().map(|(q, n)| (q.to_string(), *n, 0.0)).collect();
    if demand == 0 {
        return out;
    }

    let p = profile(seed, key);
    let sigma = t.spread.unwrap_or(p.sigma);
    // Each serving version's share of the demand (the primary takes what the others leave).
    let mut split = Rng64::from_key(&[seed, key, minute, STREAM_SPLIT]);
    let mut shares: Vec<u64> = serving
        .iter()
        .skip(1)
        .map(|(_, w, _, _)| split.binomial(demand, *w))
        .collect();
    let others: u64 = shares.iter().sum::<u64>().min(demand);
    shares.insert(0, demand - others);
    struct Part {
        demand: u64,
        mean_ms: f64,
        cap_ms: f64,
        mu: f64,
        served_ms: f64,
    }
    let parts: Vec<Part> = serving
        .iter()
        .zip(&shares)
        .map(|((_, _, memory, timeout), &d)| {
            let mean_ms = true_mean_ms(t, sigma, *memory) * jitter;
            let cap_ms = f64::from((*timeout).max(1)) * 1_000.0;
            let mu = mean_ms.ln() - sigma * sigma / 2.0;
            Part {
                demand: d,
                mean_ms,
                cap_ms,
                mu,
                served_ms: clamped_lognormal_mean(mu, sigma, cap_ms),
            }
        })
        .collect();

    // Little's law, plus the Poisson peak within the minute.
    let conc_mean: f64 = parts
        .iter()
        .map(|p| p.demand as f64 / 60.0 * p.served_ms / 1_000.0)
        .sum();
    let conc_peak = conc_mean + 2.0 * conc_mean.sqrt();
    let limit = f64::from(reserved.unwrap_or(unreserved));
    let throttle_share = if conc_peak > limit {
        1.0 - limit / conc_peak
    } else {
        0.0
    };
    out.throttles = ((demand as f64 * throttle_share).round() as u64).min(demand);
    let inv = demand - out.throttles;
    out.invocations = inv;
    if inv == 0 {
        return out;
    }
    let busy_peak = conc_mean + 2.0 * conc_mean.sqrt() * (0.3 + 0.7 * u_conc);
    out.concurrency_max = busy_peak.min(limit).ceil().max(1.0);

    // Provisioned concurrency serves first; only the spill-over can start cold.
    let mut on_demand_share = 1.0;
    if allocated > 0 {
        let busy = out.concurrency_max.min(f64::from(allocated));
        for (_, n, used) in &mut out.provisioned {
            *used = busy * f64::from(*n) / f64::from(allocated);
        }
        on_demand_share = (1.0 - f64::from(allocated) / conc_peak.max(1e-9)).max(0.0);
        out.spillover = (inv as f64 * on_demand_share).round() as u64;
    }
    let recycled = f.recycled_within(start, start + Duration::from_secs(60));

    let mut evaluated = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let (version, _, memory_mb, _) = &serving[i];
        let mut m = FunctionMinute {
            memory_mb: *memory_mb,
            version: version.clone(),
            insights: t.insights,
            via: t.invoked_via.clone(),
            ..FunctionMinute::default()
        };
        // A second part draws from streams of its own.
        m.dists.root = [seed, key ^ (i as u64).wrapping_mul(0x9e37_79b9), minute];
        m.demand = part.demand;
        let part_inv = if parts.len() == 1 {
            inv
        } else {
            ((part.demand as f64) * (1.0 - throttle_share)).round() as u64
        };
        m.invocations = part_inv;
        m.throttles = part.demand.saturating_sub(part_inv);
        if part_inv == 0 {
            evaluated.push(m);
            continue;
        }
        m.dists.duration = LogNormal {
            n: part_inv,
            mean: part.mean_ms,
            sigma,
            cap: part.cap_ms,
        };
        // Timeouts are errors; only when they are plausible do the durations need drawing now.
        let timeout_share = 1.0 - norm_cdf((part.cap_ms.ln() - part.mu) / sigma);
        let timeouts = if part_inv as f64 * timeout_share < 1e-6 {
            0
        } else {
            m.duration().count_above(part.cap_ms * (1.0 - 1e-9)).round() as u64
        };
        // Invocations that need more memory than the version has are killed.
        let oom_p = oom_share(t, *memory_mb);
        let oom = if oom_p >= 1.0 - 1e-9 {
            part_inv
        } else if oom_p > 1e-9 {
            let mut r = Rng64::from_key(&[seed, key, minute, STREAM_OOM, i as u64]);
            r.binomial(part_inv, oom_p)
        } else {
            0
        };
        m.errors = if oom >= part_inv {
            part_inv
        } else {
            (rng.binomial(part_inv - oom, t.error_rate.clamp(0.0, 1.0)) + timeouts + oom)
                .min(part_inv)
        };
        let share = part_inv as f64 / inv as f64;
        let part_rate_s = part_inv as f64 / 60.0;
        let after_idle = part_inv as f64 * (-part_rate_s * IDLE_ENVIRONMENT_LIFETIME_S).exp();
        let churn = ENVIRONMENT_CHURN_PER_MINUTE * conc_mean * share;
        let mut cold = ((after_idle + churn) * on_demand_share).round() as u64;
        if recycled {
            // A configuration change recycles every environment.
            cold += (busy_peak * share).ceil() as u64;
        }
        m.cold_starts = cold.min(part_inv);
        let cpu_factor = (MB_PER_VCPU / f64::from((*memory_mb).max(1)).min(MB_PER_VCPU)).powf(0.6);
        m.dists.init = LogNormal {
            n: m.cold_starts,
            mean: p.init_base_ms * cpu_factor,
            sigma: 0.25,
            cap: f64::INFINITY,
        };
        m.dists.used_memory = LogNormal {
            n: part_inv,
            mean: f64::from(t.used_memory_mb),
            sigma: t.used_memory_sigma.max(1e-6),
            cap: f64::from(*memory_mb),
        };
        m.dists.cpu = LogNormal {
            n: part_inv,
            mean: t.cpu_ms.max(0.01),
            sigma: 0.1,
            cap: f64::INFINITY,
        };
        evaluated.push(m);
    }
    if evaluated.len() == 1 {
        let m = evaluated.pop().unwrap_or_default();
        out.errors = m.errors;
        out.cold_starts = m.cold_starts;
        out.dists.duration = m.dists.duration;
        out.dists.used_memory = m.dists.used_memory;
        out.dists.init = m.dists.init;
        out.dists.cpu = m.dists.cpu;
    } else {
        out.errors = evaluated.iter().map(|m| m.errors).sum();
        out.cold_starts = evaluated.iter().map(|m| m.cold_starts).sum();
        out.parts = evaluated;
    }
    out
}

/// One table's minute, as AWS/DynamoDB reports it (one capacity unit per request).
#[derive(Debug, Clone, Default)]
pub(crate) struct TableMinute {
    pub reads_consumed: f64,
    pub writes_consumed: f64,
    pub read_throttles: f64,
    pub write_throttles: f64,
    /// Provisioned (read, write) capacity; `None` for on-demand tables.
    pub provisioned: Option<(u64, u64)>,
}

pub(crate) fn table_minute(seed: u64, name: &str, t: &TableRecord, minute: u64) -> TableMinute {
    let key = hash_str(name);
    let mut rng = Rng64::from_key(&[seed, key, minute, STREAM_TABLE]);
    let shape = daily_shape(minute) * burst(seed, key, minute);
    let mut demand = |peak: f64| {
        let per_s = peak.max(0.0) * shape * (0.1 * rng.normal() - 0.005).exp();
        rng.poisson(per_s * 60.0) as f64
    };
    let reads = demand(t.peak_reads);
    let writes = demand(t.peak_writes);
    match t.billing_mode {
        BillingMode::PayPerRequest => TableMinute {
            reads_consumed: reads,
            writes_consumed: writes,
            ..TableMinute::default()
        },
        BillingMode::Provisioned => {
            // Burst capacity is ignored: anything above the provisioned rate is throttled.
            let read_cap = t.read_capacity as f64 * 60.0;
            let write_cap = t.write_capacity as f64 * 60.0;
            TableMinute {
                reads_consumed: reads.min(read_cap),
                writes_consumed: writes.min(write_cap),
                read_throttles: (reads - read_cap).max(0.0),
                write_throttles: (writes - write_cap).max(0.0),
                provisioned: Some((t.read_capacity, t.write_capacity)),
            }
        }
    }
}

/// Share of invocations slower than `x_ms` at a memory size, without noise across minutes;
/// used by tests to check the analytic model against itself.
#[cfg(test)]
pub(crate) fn share_slower_than(mean_ms: f64, sigma: f64, x_ms: f64) -> f64 {
    let mu = mean_ms.ln() - sigma * sigma / 2.0;
    1.0 - norm_cdf((x_ms.ln() - mu) / sigma)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::sim::state::TrafficProfile;
    use std::collections::BTreeMap;

    pub(crate) fn function(
        name: &str,
        memory_mb: u32,
        traffic: TrafficProfile,
    ) -> SimFunctionState {
        SimFunctionState {
            name: name.to_string(),
            memory_mb,
            timeout_s: 30,
            architecture: crate::model::Architecture::X86_64,
            runtime: None,
            tags: crate::model::Tags::new(),
            reserved_concurrency: None,
            last_update_status: crate::model::UpdateStatus::Successful,
            update_done_at: None,
            revision: 0,
            code: 0,
            versions: BTreeMap::new(),
            aliases: BTreeMap::new(),
            provisioned: BTreeMap::new(),
            permissions: Vec::new(),
            traffic,
            history: Vec::new(),
        }
    }

    fn busy(cpu_ms: f64, io_ms: f64) -> TrafficProfile {
        TrafficProfile {
            peak_rps: 50.0,
            cpu_ms,
            io_ms,
            parallelism: 1.0,
            error_rate: 0.01,
            used_memory_mb: 100,
            curve: Vec::new(),
            spread: None,
            used_memory_sigma: 0.03,
            insights: true,
            invoked_via: None,
            tokens: Vec::new(),
        }
    }

    /// 14:30 UTC is 20:00 IST, the daily peak.
    const PEAK_MINUTE: u64 = 29_459_520 + 14 * 60 + 30;

    #[test]
    fn daily_shape_peaks_in_the_indian_evening_and_idles_at_night() {
        let day = 29_459_520; // 2026-01-05T00:00Z in minutes
        assert!(daily_shape(PEAK_MINUTE) > 0.99);
        let night = daily_shape(day + 22 * 60 + 30); // 04:00 IST
        assert!(night < 0.1, "{night}");
    }

    #[test]
    fn duration_formula_stops_speeding_up_at_the_parallelism_limit() {
        assert!((mean_duration_ms(100.0, 0.0, 1.0, 1_769) - 100.0).abs() < 1e-9);
        assert!((mean_duration_ms(100.0, 0.0, 1.0, 3_538) - 100.0).abs() < 1e-9);
        assert!((mean_duration_ms(100.0, 0.0, 2.0, 3_538) - 50.0).abs() < 1e-9);
        assert!((mean_duration_ms(100.0, 20.0, 1.0, 884) - 220.1).abs() < 0.2);
    }

    #[test]
    fn a_minute_is_reproducible_and_consistent() {
        let f = function("api", 512, busy(100.0, 50.0));
        let a = function_minute(7, &f, 1_000, PEAK_MINUTE);
        let b = function_minute(7, &f, 1_000, PEAK_MINUTE);
        assert_eq!(a.demand, b.demand);
        assert_eq!(a.duration(), b.duration());
        assert!(a.demand > 2_000, "{}", a.demand);
        assert_eq!(a.invocations + a.throttles, a.demand);
        assert!(a.errors <= a.invocations && a.errors > 0);
        assert_eq!(a.duration().count, a.invocations as f64);
        let p95 = a.duration().percentile(95.0).unwrap_or(0.0);
        assert!(p95 >= a.duration().sum / a.duration().count);
        assert!(share_slower_than(400.0, 0.3, 400.0) < 0.5);
    }

    #[test]
    fn out_of_memory_fails_every_invocation() {
        let mut t = busy(10.0, 10.0);
        t.used_memory_mb = 600;
        let m = function_minute(1, &function("fat", 512, t), 1_000, PEAK_MINUTE);
        assert!(m.invocations > 0);
        assert_eq!(m.errors, m.invocations);
        assert!(m.used_memory().max <= 512.0);
    }
}
