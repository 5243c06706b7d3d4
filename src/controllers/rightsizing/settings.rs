//! `[right_sizing]` and a rule's `[functions.right_sizing]` overrides. Every threshold is a
//! setting; the defaults are the application's targets (p95 under 3 s, from the duration
//! alarm) and what the anchors learned (VPA's margins and half-life, a canary of 10 %).

use std::time::Duration;

use serde::Serialize;

use crate::config::read::{Bounds, Diags, Opt, Section, check};
use crate::controllers::{EntryCx, SettingsCx};

/// What right-sizing may do to a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Off,
    /// Learn and recommend (plan, `/status`, `/metrics`); never write.
    Recommend,
    /// Recommend, then apply as a canary, verify, and roll back on a breach.
    Auto,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Recommend => "recommend",
            Mode::Auto => "auto",
        }
    }
}

const MODES: &[(&str, Mode)] = &[
    ("off", Mode::Off),
    ("recommend", Mode::Recommend),
    ("auto", Mode::Auto),
];

/// What "best" means among the sizes that meet the objective.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Optimise {
    /// The cheapest size whose predicted latency meets the objective.
    Cost,
    /// Power Tuning's `balanced`: minimise w·cost/max + (1 − w)·duration/max.
    Balanced,
}

const OPTIMISE: &[(&str, Optimise)] = &[("cost", Optimise::Cost), ("balanced", Optimise::Balanced)];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeouts {
    /// `off`, `recommend` or `auto` (auto raises a timeout that is hit at once, and lowers one
    /// far above what the function needs along with a memory change).
    pub mode: Mode,
    /// Recommended timeout = max(longest duration seen, p99 × margin).
    pub margin: f64,
    /// What a synchronous caller waits (API Gateway: 29 s); a timeout above it is warned about.
    pub caller_timeout: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    pub mode: Mode,
    pub optimise: Optimise,
    /// `w` of the balanced objective, 0–1.
    pub balanced_weight: f64,
    /// The latency objective: a percentile (`p95`) and a threshold (ms). `None`: the
    /// function's duration alarm (its statistic and threshold), or p95 under 3,000 ms.
    pub latency_threshold_ms: Option<f64>,
    pub latency_statistic: Option<String>,
    /// Predicted latency must stay this share below the objective (noise, model error).
    pub headroom: f64,
    pub memory_min_mb: u32,
    pub memory_max_mb: u32,
    /// Kept above the observed memory peak (VPA's margin).
    pub memory_margin: f64,
    /// Without memory-used data (no Lambda Insights), a change never lowers memory by more
    /// than this share of the current size.
    pub blind_step: f64,
    /// A change moves memory at most this share down, or this share up (×(1 + max_step)).
    pub max_step: f64,
    /// Candidate sizes are multiples of this (MB).
    pub memory_step_mb: u32,
    /// At most one change to a function per this interval (emergencies aside).
    pub min_interval: Duration,
    /// No recommendation before this many invocations have been seen…
    pub min_invocations: u64,
    /// …over at least this much history.
    pub min_history: Duration,
    /// How long learned statistics keep half their weight.
    pub half_life: Duration,
    /// How far back the first read of a function's history goes.
    pub history: Duration,
    /// How often new hourly statistics are read.
    pub observe_every: Duration,
    /// The alias callers go through: a function that has it is changed by a weighted canary on
    /// it; one that has not, directly on `$LATEST`.
    pub alias: Option<String>,
    /// Share of the alias's invocations sent to the canary.
    pub canary_weight: f64,
    /// How long a canary (or a `$LATEST` change) is watched before it is promoted.
    pub canary_window: Duration,
    /// Invocations the canary must serve before it is judged.
    pub canary_min_invocations: u64,
    /// The canary's p95 may exceed the prediction by this share.
    pub latency_tolerance: f64,
    /// The canary's error rate may exceed the stable version's by this much (absolute).
    pub error_tolerance: f64,
    /// Savings below this (dollars a month) are not worth a change…
    pub min_saving: f64,
    /// …nor below this share of the function's cost (estimates are only so precise).
    pub min_saving_share: f64,
    /// Functions whose memory someone else changed, to take back under right-sizing with the
    /// current size as the new baseline.
    pub resume: Vec<String>,
    /// At most this many steps in flight at once (emergencies and increases aside): each step
    /// recycles a function's environments, so a fleet is walked a few functions at a time.
    pub max_in_flight: usize,
    pub timeouts: Timeouts,
}

/// Per-rule overrides; `None` keeps the global setting.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RuleSettings {
    pub mode: Option<Mode>,
    pub latency_threshold_ms: Option<f64>,
    pub latency_statistic: Option<String>,
    pub memory_min_mb: Option<u32>,
    pub memory_max_mb: Option<u32>,
    pub caller_timeout: Option<Duration>,
}

pub const DEFAULT_LATENCY_MS: f64 = 3_000.0;
pub const DEFAULT_STATISTIC: &str = "p95";

impl Default for Settings {
    fn default() -> Self {
        Self {
            mode: Mode::Recommend,
            optimise: Optimise::Cost,
            balanced_weight: 0.5,
            latency_threshold_ms: None,
            latency_statistic: None,
            headroom: 0.08,
            memory_min_mb: 128,
            memory_max_mb: 10_240,
            memory_margin: 0.05,
            blind_step: 0.25,
            max_step: 0.5,
            memory_step_mb: 16,
            min_interval: Duration::from_secs(24 * 3_600),
            min_invocations: 1_000,
            min_history: Duration::from_secs(24 * 3_600),
            half_life: Duration::from_secs(3 * 24 * 3_600),
            history: Duration::from_secs(14 * 24 * 3_600),
            observe_every: Duration::from_secs(6 * 3_600),
            alias: None,
            canary_weight: 0.1,
            canary_window: Duration::from_secs(3_600),
            canary_min_invocations: 100,
            latency_tolerance: 0.2,
            error_tolerance: 0.001,
            min_saving: 0.0,
            min_saving_share: 0.02,
            resume: Vec::new(),
            max_in_flight: 20,
            timeouts: Timeouts {
                mode: Mode::Recommend,
                margin: 1.5,
                caller_timeout: None,
            },
        }
    }
}

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3_600);
const DAY: Duration = Duration::from_secs(86_400);
const SHARE: Bounds = Bounds::between(0.0, 1.0, "");
const MEMORY: Bounds = Bounds::between(128.0, 10_240.0, "MB");
const LATENCY: Bounds = Bounds::above(0.0, Some(900_000.0), "ms");

fn is_percentile(s: &str) -> bool {
    s.strip_prefix('p')
        .and_then(|n| n.parse::<f64>().ok())
        .is_some_and(|n| n > 0.0 && n < 100.0)
}

fn statistic(d: &mut Diags<'_>, v: &Opt<String>, path: &str) -> Option<String> {
    check::text(d, v, is_percentile, |s| {
        format!("`{path}` must be a percentile such as \"p95\" or \"p99.9\", found \"{s}\"")
    })
}

fn mode(d: &mut Diags<'_>, s: &mut Section<'_>) -> Option<Mode> {
    s.choice(d, "mode", MODES).map(|m| *m.get_ref())
}

fn bound(d: &mut Diags<'_>, v: &Opt<f64>, path: &str, b: Bounds) -> Option<f64> {
    check::number(d, v, path, b)
}

pub(super) fn read(cx: &mut SettingsCx<'_, '_, '_>) -> Settings {
    let d = &mut *cx.d;
    let s = cx.sections.get(d, "right_sizing");
    let dflt = Settings::default();
    let p = |k: &str| format!("right_sizing.{k}");
    let global_mode = mode(d, s).unwrap_or(dflt.mode);
    let optimise = s
        .choice(d, "optimise", OPTIMISE)
        .map_or(dflt.optimise, |o| *o.get_ref());
    let balanced_weight = s.number(d, "balanced_weight");
    let latency_ms = s.number(d, "latency_threshold_ms");
    let latency_stat = s.string(d, "latency_statistic");
    let headroom = s.number(d, "headroom");
    let memory_min = s.int(d, "memory_min_mb");
    let memory_max = s.int(d, "memory_max_mb");
    let memory_margin = s.number(d, "memory_margin");
    let blind_step = s.number(d, "blind_step");
    let max_step = s.number(d, "max_step");
    let memory_step = s.int(d, "memory_step_mb");
    let min_interval = s.duration(d, "min_interval");
    let min_invocations = s.int(d, "min_invocations");
    let min_history = s.duration(d, "min_history");
    let half_life = s.duration(d, "half_life");
    let history = s.duration(d, "history");
    let observe_every = s.duration(d, "observe_every");
    let alias = s.string(d, "alias");
    let canary_weight = s.number(d, "canary_weight");
    let canary_window = s.duration(d, "canary_window");
    let canary_min = s.int(d, "canary_min_invocations");
    let latency_tolerance = s.number(d, "latency_tolerance");
    let error_tolerance = s.number(d, "error_tolerance");
    let min_saving = s.number(d, "min_saving_dollars");
    let min_saving_share = s.number(d, "min_saving_share");
    let resume = s.strings(d, "resume");
    let max_in_flight = s.int(d, "max_in_flight");
    let mut t = s.section(d, "timeout");
    let t_mode = mode(d, &mut t);
    let t_margin = t.number(d, "margin");
    let t_caller = t.duration(d, "caller_timeout");
    t.finish(d);

    let memory_min_mb = check::int(d, &memory_min, &p("memory_min_mb"), MEMORY)
        .unwrap_or(dflt.memory_min_mb);
    let memory_max_mb = check::int(d, &memory_max, &p("memory_max_mb"), MEMORY)
        .unwrap_or(dflt.memory_max_mb);
    if memory_min_mb > memory_max_mb
        && let Some(at) = memory_max.as_ref().or(memory_min.as_ref())
    {
        d.error(
            &at.span(),
            format!(
                "`right_sizing.memory_max_mb` ({memory_max_mb}) must not be less than `right_sizing.memory_min_mb` ({memory_min_mb})"
            ),
        );
    }
    let alias = check::text(d, &alias, check::is_alias_name, |s| {
        format!("`right_sizing.alias` \"{s}\" is not a Lambda alias name: use 1 to 128 letters, digits, `-` or `_`")
    });
    let mut names = Vec::new();
    for name in resume.iter().flat_map(|r| r.get_ref()) {
        if check::is_function_name(name.get_ref()) {
            names.push(name.get_ref().clone());
        } else {
            d.error(
                &name.span(),
                format!(
                    "`right_sizing.resume`: \"{}\" is not a Lambda function name",
                    name.get_ref()
                ),
            );
        }
    }
    Settings {
        mode: global_mode,
        optimise,
        balanced_weight: bound(d, &balanced_weight, &p("balanced_weight"), SHARE)
            .unwrap_or(dflt.balanced_weight),
        latency_threshold_ms: bound(d, &latency_ms, &p("latency_threshold_ms"), LATENCY),
        latency_statistic: statistic(d, &latency_stat, &p("latency_statistic")),
        headroom: bound(d, &headroom, &p("headroom"), Bounds::between(0.0, 0.9, ""))
            .unwrap_or(dflt.headroom),
        memory_min_mb,
        memory_max_mb,
        memory_margin: bound(d, &memory_margin, &p("memory_margin"), Bounds::between(0.0, 4.0, ""))
            .unwrap_or(dflt.memory_margin),
        blind_step: bound(d, &blind_step, &p("blind_step"), Bounds::between(0.0, 0.9, ""))
            .unwrap_or(dflt.blind_step),
        max_step: bound(d, &max_step, &p("max_step"), Bounds::above(0.0, Some(0.9), ""))
            .unwrap_or(dflt.max_step),
        memory_step_mb: check::int(d, &memory_step, &p("memory_step_mb"), Bounds::between(1.0, 1_024.0, "MB"))
            .unwrap_or(dflt.memory_step_mb),
        min_interval: check::duration(d, &min_interval, &p("min_interval"), MINUTE, 30 * DAY)
            .unwrap_or(dflt.min_interval),
        min_invocations: check::int(d, &min_invocations, &p("min_invocations"), Bounds::at_least(1.0, ""))
            .unwrap_or(dflt.min_invocations),
        min_history: check::duration(d, &min_history, &p("min_history"), Duration::ZERO, 30 * DAY)
            .unwrap_or(dflt.min_history),
        half_life: check::duration(d, &half_life, &p("half_life"), HOUR, 60 * DAY)
            .unwrap_or(dflt.half_life),
        history: check::duration(d, &history, &p("history"), HOUR, 15 * DAY)
            .unwrap_or(dflt.history),
        observe_every: check::duration(d, &observe_every, &p("observe_every"), HOUR, DAY)
            .unwrap_or(dflt.observe_every),
        alias,
        canary_weight: bound(d, &canary_weight, &p("canary_weight"), Bounds::above(0.0, Some(0.5), ""))
            .unwrap_or(dflt.canary_weight),
        canary_window: check::duration(d, &canary_window, &p("canary_window"), MINUTE, DAY)
            .unwrap_or(dflt.canary_window),
        canary_min_invocations: check::int(d, &canary_min, &p("canary_min_invocations"), Bounds::at_least(1.0, ""))
            .unwrap_or(dflt.canary_min_invocations),
        latency_tolerance: bound(d, &latency_tolerance, &p("latency_tolerance"), Bounds::between(0.0, 2.0, ""))
            .unwrap_or(dflt.latency_tolerance),
        error_tolerance: bound(d, &error_tolerance, &p("error_tolerance"), SHARE)
            .unwrap_or(dflt.error_tolerance),
        min_saving: bound(d, &min_saving, &p("min_saving_dollars"), Bounds::between(0.0, 1e9, "dollars a month"))
            .unwrap_or(dflt.min_saving),
        min_saving_share: bound(d, &min_saving_share, &p("min_saving_share"), Bounds::between(0.0, 0.5, ""))
            .unwrap_or(dflt.min_saving_share),
        resume: names,
        max_in_flight: check::int(d, &max_in_flight, &p("max_in_flight"), Bounds::between(1.0, 1_000.0, ""))
            .unwrap_or(dflt.max_in_flight),
        timeouts: Timeouts {
            mode: t_mode.unwrap_or(dflt.timeouts.mode),
            margin: bound(d, &t_margin, &p("timeout.margin"), Bounds::between(1.0, 10.0, ""))
                .unwrap_or(dflt.timeouts.margin),
            caller_timeout: check::duration(
                d,
                &t_caller,
                &p("timeout.caller_timeout"),
                Duration::from_secs(1),
                Duration::from_secs(900),
            ),
        },
    }
}

pub(super) fn read_rule(cx: &mut EntryCx<'_, '_, '_>, g: &Settings) -> RuleSettings {
    let d = &mut *cx.d;
    let mut s = cx.section.section(d, "right_sizing");
    let p = |k: &str| format!("functions.right_sizing.{k}");
    let mode = mode(d, &mut s);
    let latency_ms = s.number(d, "latency_threshold_ms");
    let latency_stat = s.string(d, "latency_statistic");
    let memory_min = s.int(d, "memory_min_mb");
    let memory_max = s.int(d, "memory_max_mb");
    let caller = s.duration(d, "caller_timeout");
    s.finish(d);
    let min = check::int(d, &memory_min, &p("memory_min_mb"), MEMORY);
    let max = check::int(d, &memory_max, &p("memory_max_mb"), MEMORY);
    let (lo, hi) = (min.unwrap_or(g.memory_min_mb), max.unwrap_or(g.memory_max_mb));
    if lo > hi
        && let Some(at) = memory_max.as_ref().or(memory_min.as_ref())
    {
        d.error(
            &at.span(),
            format!("`functions.right_sizing` memory bounds are reversed: min {lo} MB above max {hi} MB"),
        );
    }
    RuleSettings {
        mode,
        latency_threshold_ms: bound(d, &latency_ms, &p("latency_threshold_ms"), LATENCY),
        latency_statistic: statistic(d, &latency_stat, &p("latency_statistic")),
        memory_min_mb: min,
        memory_max_mb: max,
        caller_timeout: check::duration(
            d,
            &caller,
            &p("caller_timeout"),
            Duration::from_secs(1),
            Duration::from_secs(900),
        ),
    }
}

/// Every setting in force for one function.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective<'a> {
    pub mode: Mode,
    pub statistic: String,
    pub threshold_ms: f64,
    pub memory_min_mb: u32,
    pub memory_max_mb: u32,
    pub caller_timeout: Option<Duration>,
    pub global: &'a Settings,
}

impl Settings {
    /// The settings for one function, given its rule's overrides and its duration alarm
    /// (statistic, threshold) when it has one.
    pub fn effective<'a>(
        &'a self,
        rule: &RuleSettings,
        alarm: Option<(&str, f64)>,
    ) -> Effective<'a> {
        let (statistic, threshold_ms) = match (
            rule.latency_statistic.as_ref().or(self.latency_statistic.as_ref()),
            rule.latency_threshold_ms.or(self.latency_threshold_ms),
        ) {
            (Some(s), Some(t)) => (s.clone(), t),
            (s, t) => {
                let (alarm_s, alarm_t) = alarm.unwrap_or((DEFAULT_STATISTIC, DEFAULT_LATENCY_MS));
                (
                    s.cloned().unwrap_or_else(|| alarm_s.to_string()),
                    t.unwrap_or(alarm_t),
                )
            }
        };
        Effective {
            mode: rule.mode.unwrap_or(self.mode),
            statistic,
            threshold_ms,
            memory_min_mb: rule.memory_min_mb.unwrap_or(self.memory_min_mb),
            memory_max_mb: rule.memory_max_mb.unwrap_or(self.memory_max_mb),
            caller_timeout: rule.caller_timeout.or(self.timeouts.caller_timeout),
            global: self,
        }
    }
}
