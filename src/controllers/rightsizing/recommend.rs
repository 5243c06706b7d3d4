//! The recommender: from what was learned of a function, the cheapest memory whose predicted
//! latency meets the objective and whose memory stays above the observed peak plus a margin,
//! the step toward it, and a timeout. Pure arithmetic, tested with tables of cases.

use std::time::{Duration, SystemTime};

use crate::model::{Architecture, Prices, Sizing};

use super::learn::{Learned, SizeSummary};
use super::marker::Config;
use super::predict::Model;
use super::settings::{Effective, Optimise};

/// A failed step keeps right-sizing away from that size, and half the way back to the size it
/// was undone to, this long: the next try bisects the interval the failure left.
pub const FAILED_SIZE_MEMORY: Duration = Duration::from_secs(30 * 86_400);
/// Days in the month the estimates assume.
const DAYS_PER_MONTH: f64 = 30.0;
/// Lambda's hard limits.
pub const MEMORY_FLOOR_MB: u32 = 128;
pub const MEMORY_CEILING_MB: u32 = 10_240;
pub const TIMEOUT_CEILING_S: u32 = 900;

/// Everything the recommender looks at.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    pub settings: &'a Effective<'a>,
    pub current: Config,
    pub learned: &'a Learned,
    pub now: SystemTime,
    pub prices: &'a Prices,
    pub architecture: Architecture,
    /// Whether Lambda Insights publishes memory used and CPU time for the function.
    pub insights: bool,
    /// The last size whose canary failed, and when.
    pub failed: Option<(u32, SystemTime)>,
    /// When the current size began serving (the epoch when trimtab never changed it).
    pub since_change: SystemTime,
    /// The memory before trimtab's first step, if it ever took one.
    pub original_mb: Option<u32>,
}

/// Why nothing can be recommended yet.
#[derive(Debug, Clone, PartialEq)]
pub enum Insufficient {
    Invocations { seen: f64, needed: u64 },
    History { seen: Duration, needed: Duration },
    /// The current size has not served enough yet (just changed).
    CurrentSize { seen: f64, needed: u64 },
}

impl std::fmt::Display for Insufficient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Insufficient::Invocations { seen, needed } => write!(
                f,
                "not enough data yet ({seen:.0} of {needed} invocations)"
            ),
            Insufficient::History { seen, needed } => write!(
                f,
                "not enough data yet ({:.1} of {:.1} hours of history)",
                seen.as_secs_f64() / 3_600.0,
                needed.as_secs_f64() / 3_600.0
            ),
            Insufficient::CurrentSize { seen, needed } => write!(
                f,
                "waiting for data at the current size ({seen:.0} of {needed} invocations)"
            ),
        }
    }
}

/// What the recommender concluded.
#[derive(Debug, Clone, PartialEq)]
pub struct Advice {
    pub current: Sizing,
    /// The best size the data supports (may equal the current one).
    pub target: Sizing,
    /// The next step toward it; equal to the current size when there is nothing to do.
    pub step: Config,
    /// The objective statistic predicted at the step (slow end), ms.
    pub step_latency_ms: f64,
    pub monthly_saving: f64,
    /// What the steps already taken save a month: the current traffic at the memory before
    /// trimtab's first step (observed there, or predicted), less what it costs now.
    pub realised_saving: Option<f64>,
    pub confidence: f64,
    /// The current size breaches the objective.
    pub breach: bool,
    /// The step cannot wait for `min_interval`: an emergency, a breach, memory used at the
    /// size.
    pub urgent: bool,
    /// Out-of-memory kills or timeouts since the last change.
    pub emergency: Option<Emergency>,
    pub timeout_s: u32,
    /// The timeout exceeds what a synchronous caller waits.
    pub caller_warning: Option<String>,
    pub reason: String,
    pub evidence: String,
    /// For example `p95 ≤ 3000 ms`.
    pub objective: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emergency {
    OutOfMemory,
    Timeouts,
}

/// The objective statistic over the mean, at the size with most weight (the shape of the
/// duration distribution, assumed to hold at other sizes), never below 1.
fn shape(sizes: &[SizeSummary]) -> f64 {
    sizes
        .iter()
        .filter(|s| s.mean_ms > 0.0)
        .max_by(|a, b| a.weight.total_cmp(&b.weight))
        .map_or(1.0, |s| (s.objective_ms / s.mean_ms).max(1.0))
}

fn price_gb_s(prices: &Prices, arch: Architecture) -> f64 {
    match arch {
        Architecture::X86_64 => prices.lambda_gb_second_x86,
        Architecture::Arm64 => prices.lambda_gb_second_arm,
    }
}

/// Monthly cost of `daily` invocations of `mean_ms` at `memory_mb`.
pub fn monthly_cost(
    prices: &Prices,
    arch: Architecture,
    daily: f64,
    memory_mb: u32,
    mean_ms: f64,
) -> f64 {
    let per_invocation = prices.lambda_requests_per_million / 1_000_000.0
        + mean_ms / 1_000.0 * f64::from(memory_mb) / 1_024.0 * price_gb_s(prices, arch);
    daily * DAYS_PER_MONTH * per_invocation
}

fn round_up(mb: f64, step: u32) -> u32 {
    let step = f64::from(step.max(1));
    ((mb / step).ceil() * step) as u32
}

/// The memory below which the function risks being killed, MB: the observed peak plus the
/// margin (wider while history is short), or without memory data the current size less the
/// blind step.
fn memory_floor(i: &Inputs<'_>) -> (f64, String) {
    let g = i.settings.global;
    match i.learned.memory_peak_mb().filter(|_| i.insights) {
        Some(peak) => {
            let days = i.learned.history(i.now).as_secs_f64() / 86_400.0;
            // VPA widens its bounds while history is short: up to twice the margin with no
            // history, the configured margin from a week on. A peak over few invocations is
            // a poorer estimate of the tail than one over millions: up to twice again.
            let short = ((7.0 - days) / 7.0).clamp(0.0, 1.0);
            let few = (1e5 / i.learned.invocations().max(1.0)).min(1.0);
            let margin = g.memory_margin * (1.0 + short) * (1.0 + few);
            (
                peak * (1.0 + margin),
                format!("memory peak {peak:.0} MB + {:.0} %", margin * 100.0),
            )
        }
        None => (
            f64::from(i.current.memory_mb) * (1.0 - g.blind_step),
            format!(
                "no memory-used data (Lambda Insights): at most {:.0} % below the current size per step",
                g.blind_step * 100.0
            ),
        ),
    }
}

/// A recommended timeout: the longest duration seen or the p99 times the margin, whichever is
/// longer, scaled by how much slower the new size is predicted to be, in whole seconds.
fn timeout_for(i: &Inputs<'_>, slowdown: f64) -> Option<u32> {
    let longest = i.learned.longest_ms()?;
    let p99 = i.learned.p99_ms().unwrap_or(longest);
    let need_ms = longest.max(p99 * i.settings.global.timeouts.margin) * slowdown.max(1.0);
    Some(((need_ms / 1_000.0).ceil() as u32).clamp(1, TIMEOUT_CEILING_S))
}

/// The recommendation, or why there is none yet.
pub fn recommend(i: &Inputs<'_>) -> Result<Advice, Insufficient> {
    let s = i.settings;
    let g = s.global;
    let seen = i.learned.invocations();
    if seen < g.min_invocations as f64 {
        return Err(Insufficient::Invocations {
            seen,
            needed: g.min_invocations,
        });
    }
    let history = i.learned.history(i.now);
    if history < g.min_history {
        return Err(Insufficient::History {
            seen: history,
            needed: g.min_history,
        });
    }
    let sizes = i.learned.sizes(i.now, g.half_life);
    let needed_here = g.canary_min_invocations.min(g.min_invocations);
    let here = sizes
        .iter()
        .find(|s| s.memory_mb == i.current.memory_mb)
        .filter(|s| s.invocations >= needed_here as f64)
        .copied();
    let cpu = i.learned.cpu_ms().filter(|_| i.insights);
    let (Some(here), Some(model)) = (here, Model::fit(&sizes, cpu)) else {
        let seen = i
            .learned
            .size(i.current.memory_mb, i.now, g.half_life)
            .map_or(0.0, |s| s.invocations);
        return Err(Insufficient::CurrentSize {
            seen,
            needed: needed_here,
        });
    };
    let shape = shape(&sizes);
    let threshold = s.threshold_ms;
    let goal = threshold * (1.0 - g.headroom);
    let daily = i.learned.daily_invocations(i.now);
    let cost = |mb: u32, mean: f64| monthly_cost(i.prices, i.architecture, daily, mb, mean);
    let cur_mb = i.current.memory_mb;
    let current = Sizing {
        memory_mb: cur_mb,
        timeout_s: i.current.timeout_s,
        latency_ms: Some(here.objective_ms),
        monthly_cost: Some(cost(cur_mb, here.mean_ms)),
    };
    let current_cost = cost(cur_mb, here.mean_ms);
    let breach = here.objective_ms > threshold;
    let recent = |t: Option<SystemTime>| {
        t.is_some_and(|t| {
            t >= i.since_change && i.now.duration_since(t).unwrap_or_default() <= EMERGENCY_RECENT
        })
    };
    let emergency = if recent(i.learned.last_oom) {
        Some(Emergency::OutOfMemory)
    } else if recent(i.learned.last_timeout) {
        Some(Emergency::Timeouts)
    } else {
        None
    };

    let step = g.memory_step_mb.max(1);
    let (floor_mb, floor_why) = memory_floor(i);
    let lo = round_up(floor_mb.max(f64::from(s.memory_min_mb)), step)
        .clamp(MEMORY_FLOOR_MB, MEMORY_CEILING_MB);
    let hi = s.memory_max_mb.clamp(MEMORY_FLOOR_MB, MEMORY_CEILING_MB).max(lo);
    let failed = i
        .failed
        .filter(|(_, at)| i.now.duration_since(*at).unwrap_or_default() < FAILED_SIZE_MEMORY)
        .map(|(mb, _)| {
            // With memory data, the next try bisects what the failure left; without it, the
            // failure may have been an out-of-memory kill that nothing else would show:
            // nothing below the size it was undone to.
            if mb < cur_mb && i.insights {
                mb + (cur_mb - mb) / 2
            } else if mb < cur_mb {
                cur_mb
            } else {
                mb
            }
        });
    // Memory used reaches the size: below the floor, whatever it costs.
    // Memory used at the size itself (Lambda Insights reports at most the size): killed, or
    // about to be. Bumped as after an out-of-memory kill.
    let at_limit = i.insights
        && i
            .learned
            .memory_peak_mb()
            .is_some_and(|p| p >= 0.97 * f64::from(cur_mb));
    // The margin above the peak has worn thin (the peak grew): restore it, with hysteresis.
    let thin = !at_limit && f64::from(lo) > f64::from(cur_mb) * 1.02;

    // A size the function has served at is judged by what it did there, not by the model.
    let observed = |mb: u32| {
        sizes
            .iter()
            .find(|s| s.memory_mb == mb && s.invocations >= needed_here as f64)
    };
    let evaluate = |mb: u32| {
        if let Some(s) = observed(mb) {
            return Candidate {
                mb,
                latency_high: s.objective_ms,
                latency_mid: s.objective_ms,
                latency_low: s.objective_ms,
                cost_mid: cost(mb, s.mean_ms),
                spread: 0.0,
            };
        }
        let r = model.mean_ms(mb);
        Candidate {
            mb,
            latency_high: r.high * shape,
            latency_mid: r.mid * shape,
            latency_low: r.low * shape,
            cost_mid: cost(mb, r.mid),
            spread: (r.high - r.low) / r.mid.max(1e-9),
        }
    };
    // The grid, the floor itself (the cheapest size for a function that waits on I/O), and
    // every size observed.
    let floor_exact = (floor_mb.ceil() as u32).clamp(lo.saturating_sub(step), lo);
    let mut sizes_to_try: Vec<u32> = (lo..=hi).step_by(step as usize).collect();
    sizes_to_try.push(floor_exact.max(s.memory_min_mb).max(MEMORY_FLOOR_MB));
    sizes_to_try.extend(sizes.iter().map(|s| s.memory_mb).filter(|mb| (lo..=hi).contains(mb)));
    sizes_to_try.sort_unstable();
    sizes_to_try.dedup();
    let candidates: Vec<Candidate> = sizes_to_try
        .into_iter()
        .filter(|mb| failed.is_none_or(|f| *mb > f || *mb == cur_mb))
        .map(evaluate)
        .collect();
    let feasible: Vec<&Candidate> = candidates.iter().filter(|c| c.latency_high <= goal).collect();
    let best = pick(&feasible, g.optimise, g.balanced_weight);
    // Going up is safe (no memory is taken away), so when no larger size is *sure* to meet
    // the objective, the central estimate decides, then the optimistic one, then a bounded
    // step up to learn from: never a crawl of one memory step at a time.
    let up_from = |floor: u32| -> Option<&Candidate> {
        let above: Vec<&Candidate> = candidates.iter().filter(|c| c.mb > floor).collect();
        let cheapest = |pred: &dyn Fn(&Candidate) -> bool| {
            above
                .iter()
                .copied()
                .filter(|c| pred(c))
                .min_by(|a, b| a.cost_mid.total_cmp(&b.cost_mid))
        };
        let explore = round_up(f64::from(floor) * (1.0 + g.max_step), step);
        cheapest(&|c| c.latency_mid <= goal)
            .or_else(|| cheapest(&|c| c.latency_low <= goal))
            .or_else(|| above.iter().copied().find(|c| c.mb >= explore))
            .or_else(|| above.last().copied())
    };
    let objective = format!("{} ≤ {threshold:.0} ms", s.statistic);
    let (target, reason): (Option<&Candidate>, String) = if emergency
        == Some(Emergency::OutOfMemory)
        || at_limit
    {
        // VPA's bump after an out-of-memory kill: × 1.2, and at least 100 MB more.
        let peak = i.learned.memory_peak_mb().unwrap_or(0.0).max(f64::from(cur_mb));
        let want = round_up((peak * 1.2).max(peak + 100.0), step);
        (
            candidates.iter().find(|c| c.mb >= want).or(candidates.last()),
            if emergency.is_some() {
                format!("out-of-memory kills at {cur_mb} MB: more memory at once")
            } else {
                format!("memory used reaches {cur_mb} MB: more memory")
            },
        )
    } else if emergency == Some(Emergency::Timeouts) && !breach {
        (
            None,
            format!(
                "invocations reach the {} s timeout: more time at once",
                i.current.timeout_s
            ),
        )
    } else if thin {
        (
            best.filter(|c| c.mb >= lo)
                .or_else(|| candidates.first()),
            format!("the margin above the memory peak has worn thin at {cur_mb} MB ({floor_why})"),
        )
    } else if breach {
        (
            best.filter(|c| c.mb > cur_mb).or_else(|| up_from(cur_mb)),
            format!(
                "{} of {:.0} ms breaches the objective ({objective})",
                s.statistic, here.objective_ms
            ),
        )
    } else {
        match best {
            Some(c) if c.mb != cur_mb => {
                let saving = current_cost - c.cost_mid;
                if saving >= g.min_saving && saving >= g.min_saving_share * current_cost {
                    let why = if c.mb < cur_mb {
                        format!("{} MB is predicted to meet {objective} for less", c.mb)
                    } else {
                        format!(
                            "{} MB is predicted to cost less: the function is CPU-bound",
                            c.mb
                        )
                    };
                    (Some(c), why)
                } else {
                    (None, "a change would save too little to be worth it".to_string())
                }
            }
            Some(_) => (
                None,
                "the current size is the cheapest that meets the objective".to_string(),
            ),
            None => (
                None,
                "no smaller size is predicted to meet the objective with its headroom"
                    .to_string(),
            ),
        }
    };
    let target = target.filter(|c| c.mb != cur_mb);

    // The step: cuts are bounded by `max_step`; increases go all the way at once.
    let here_eval = evaluate(cur_mb);
    let mut reason = reason;
    let step_eval = match target {
        Some(t) if t.mb < cur_mb => {
            let bound = round_up(f64::from(cur_mb) * (1.0 - g.max_step), step).max(t.mb);
            let e = evaluate(bound);
            if bound < cur_mb && e.latency_high <= goal {
                e
            } else {
                reason = format!("{reason}; but the next step would risk the objective");
                evaluate(cur_mb)
            }
        }
        Some(t) => evaluate(t.mb),
        None => evaluate(cur_mb),
    };
    let slowdown = model.mean_ms(step_eval.mb).high / model.mean_ms(cur_mb).high.max(1e-9);
    let mut timeout_s = timeout_for(i, slowdown).unwrap_or(i.current.timeout_s);
    if emergency == Some(Emergency::Timeouts) {
        timeout_s = timeout_s
            .max(i.current.timeout_s.saturating_mul(2))
            .min(TIMEOUT_CEILING_S);
    }
    let caller_warning = s.caller_timeout.and_then(|caller| {
        let t = timeout_s.max(i.current.timeout_s);
        (u64::from(t) > caller.as_secs()).then(|| {
            format!(
                "timeout {t} s exceeds the {} s a synchronous caller waits: callers give up first",
                caller.as_secs()
            )
        })
    });
    let shown = target.unwrap_or(&here_eval);
    let data = (seen / (10.0 * g.min_invocations as f64)).min(1.0);
    let confidence = (1.0 - shown.spread.min(1.0)) * (0.5 + 0.5 * data);
    let evidence = format!(
        "{seen:.0} invocations over {:.1} days, {} size{} observed{}; {floor_why}",
        history.as_secs_f64() / 86_400.0,
        sizes.len(),
        if sizes.len() == 1 { "" } else { "s" },
        if model.measured_cpu {
            ", CPU time measured"
        } else {
            ", CPU share inferred"
        },
    );
    let (target_latency, target_cost) = match target {
        Some(t) => (t.latency_high, t.cost_mid),
        None => (here.objective_ms, current_cost),
    };
    Ok(Advice {
        current,
        target: Sizing {
            memory_mb: shown.mb,
            timeout_s,
            latency_ms: Some(target_latency),
            monthly_cost: Some(target_cost),
        },
        step: Config {
            memory_mb: step_eval.mb,
            timeout_s,
        },
        step_latency_ms: if step_eval.mb == cur_mb {
            here.objective_ms
        } else {
            step_eval.latency_high
        },
        monthly_saving: current_cost - target_cost,
        realised_saving: i.original_mb.filter(|mb| *mb != cur_mb).map(|mb| {
            let mean = sizes
                .iter()
                .find(|s| s.memory_mb == mb && s.mean_ms > 0.0)
                .map_or_else(|| model.mean_ms(mb).mid, |s| s.mean_ms);
            cost(mb, mean) - current_cost
        }),
        confidence,
        breach,
        urgent: breach || at_limit || emergency.is_some(),
        emergency,
        timeout_s,
        caller_warning,
        reason,
        evidence,
        objective,
    })
}

/// Out-of-memory kills or timeouts older than this are history, not an emergency.
pub const EMERGENCY_RECENT: Duration = Duration::from_secs(86_400);

struct Candidate {
    mb: u32,
    latency_high: f64,
    latency_mid: f64,
    latency_low: f64,
    cost_mid: f64,
    spread: f64,
}

fn pick<'c>(feasible: &[&'c Candidate], optimise: Optimise, w: f64) -> Option<&'c Candidate> {
    match optimise {
        Optimise::Cost => feasible
            .iter()
            .min_by(|a, b| a.cost_mid.total_cmp(&b.cost_mid))
            .copied(),
        Optimise::Balanced => {
            let max_cost = feasible.iter().map(|c| c.cost_mid).fold(0.0, f64::max);
            let max_lat = feasible.iter().map(|c| c.latency_mid).fold(0.0, f64::max);
            let score = |c: &Candidate| {
                w * c.cost_mid / max_cost.max(1e-12) + (1.0 - w) * c.latency_mid / max_lat.max(1e-12)
            };
            feasible
                .iter()
                .min_by(|a, b| score(a).total_cmp(&score(b)))
                .copied()
        }
    }
}
