//! Memory and timeout right-sizing (requirement 11.4): from production traffic alone, the
//! cheapest memory whose latency meets each function's objective, proved by a canary and
//! undone on its own if it was wrong.
//!
//! - [`signals`]: what it reads (hourly Duration, Invocations, Errors; Lambda Insights' memory
//!   used and CPU time where it runs; per-version figures during a canary);
//! - [`learn`]: what it keeps of them (decaying statistics per size, daily peaks);
//! - [`predict`]: duration versus memory, as the range of curves the data allows;
//! - [`recommend`]: the cheapest size meeting the objective, the step toward it, a timeout;
//! - [`marker`] and [`canary`]: the step's durable record on the function and the state
//!   machine that finishes or undoes it.
//!
//! Modes: `off`, `recommend` (plan, `/status` and `/metrics` only; no Lambda API call at all),
//! `auto` (steps, each a canary through the alias callers use, or a watched change of
//! `$LATEST`). What it learned lives in memory and is rebuilt from CloudWatch after a restart
//! (fourteen days of history, one read); what a step must not lose lives in the marker tag.

pub mod canary;
pub mod learn;
pub mod marker;
pub mod predict;
pub mod recommend;
pub mod settings;
pub mod signals;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::model::{
    Action, Alias, Change, FieldDiff, MetricBatch, Note, Observed, ObservedFunction, Phase, Read,
    Reads, Recommendation, Refusal, ResourceKind, SizingState, Sizing,
};

use super::alarms::DurationAlarm;
use super::shared::scope::RuleMatch;
use super::{Controller, Cx, EntryCx, Planned, SettingsCx};
use canary::{AliasView, Live, Next, Watch};
use learn::{Learned, Served};
use marker::{Config, Marker, Phase as MarkerPhase, TAG};
use recommend::{Advice, Emergency, Inputs, recommend};
use settings::{Effective, Mode, RuleSettings, Settings};
use signals::{FunctionReads, Totals, Window};

/// Right-sizes memory and timeouts.
pub struct RightSizing;

/// Note codes.
pub const CALLER_TIMEOUT: &str = "caller_timeout";
pub const UNREADABLE_MARKER: &str = "unreadable_marker";

/// What the marker tag says, as far as this process knows.
#[derive(Debug, Clone, PartialEq, Default)]
enum MarkerState {
    /// Not read since this process started.
    #[default]
    Unknown,
    /// Read: no marker, trimtab never changed the function.
    Untouched,
    Ours(Marker),
    /// A value this version cannot read: someone edited it, or a newer trimtab wrote it.
    Unreadable(String),
}

/// What right-sizing remembers of one function.
#[derive(Debug, Default)]
struct FunctionMemory {
    learned: Learned,
    /// The history read has been folded.
    loaded: bool,
    marker: MarkerState,
    /// The alias callers use, as last read (`Some(None)`: the function has none).
    alias: Option<Option<Alias>>,
    /// Published versions' configurations and code (immutable, so read once).
    versions: HashMap<String, (Config, Option<String>)>,
    /// Writes were planned for it last cycle: read its state afresh.
    dirty: bool,
    /// The canary (by its marker's start) whose figures were folded already.
    canary_folded: Option<SystemTime>,
    /// What was last folded, by window (see [`FunctionReads::stamp`]).
    folded: HashMap<Window, signals::Stamp>,
    /// The signals the last periodic read returned.
    signals: Vec<&'static str>,
    /// The last recommendation and what it was computed from.
    advice: Option<(AdviceKey, Result<Advice, recommend::Insufficient>)>,
}

/// What a recommendation depends on. It is recomputed when any of it changes, or hourly
/// (history grows, emergencies age, failures are forgotten).
#[derive(Debug, Clone, PartialEq)]
struct AdviceKey {
    revision: u64,
    current: Config,
    failed: Option<(u32, SystemTime)>,
    since_change: SystemTime,
    insights: bool,
    architecture: crate::model::Architecture,
    statistic: String,
    threshold_ms: f64,
    memory_mb: (u32, u32),
    caller_timeout: Option<Duration>,
    settings: u64,
    hour: u64,
    original_mb: Option<u32>,
}

impl FunctionMemory {
    fn marker(&self) -> Option<&Marker> {
        match &self.marker {
            MarkerState::Ours(m) => Some(m),
            _ => None,
        }
    }

    fn in_flight(&self) -> bool {
        self.marker().is_some_and(|m| m.phase == MarkerPhase::Change)
    }
}

/// Everything right-sizing remembers.
#[derive(Debug, Default)]
pub struct Memory {
    /// Boxed: a function's memory is about 1 KB, and a table of them keeps up to half its
    /// slots empty (1,000 functions fill 2,048), each as large as an entry.
    functions: HashMap<String, Box<FunctionMemory>, foldhash::fast::RandomState>,
    /// The settings in force, and how many times they changed (part of every advice key).
    settings: Option<Settings>,
    generation: u64,
    memo: signals::Memo,
    history: Option<(Vec<Arc<FunctionReads>>, MetricBatch)>,
    recent: Option<(Vec<Arc<FunctionReads>>, MetricBatch)>,
}

/// A batch of these functions' reads, reused while the list is the same.
fn batch_of(
    slot: &mut Option<(Vec<Arc<FunctionReads>>, MetricBatch)>,
    parts: Vec<Arc<FunctionReads>>,
) -> Option<MetricBatch> {
    if parts.is_empty() {
        *slot = None;
        return None;
    }
    let same = slot.as_ref().is_some_and(|(old, _)| {
        old.len() == parts.len() && old.iter().zip(&parts).all(|(a, b)| Arc::ptr_eq(a, b))
    });
    if !same {
        let first = parts[0].reads[0].1.clone();
        let reads = parts
            .iter()
            .flat_map(|p| p.metric_reads().cloned())
            .collect();
        let batch = MetricBatch::of(reads, first.window_s(), first.refresh_s());
        *slot = Some((parts, batch));
    }
    slot.as_ref().map(|(_, b)| b.clone())
}

/// The function's rule and effective settings; `None` when right-sizing is off for it.
fn effective<'a>(
    cx: &Cx<'a, RightSizing>,
    name: &str,
    f: &ObservedFunction,
    alarm: Option<&DurationAlarm>,
) -> Option<Effective<'a>> {
    let RuleMatch::Rule(rule) = cx.rule_for(name, f.tags()) else {
        return None;
    };
    let rs: &RuleSettings = cx.rule_settings(rule);
    let objective = alarm.and_then(|a| a.for_rule(rule));
    let e = cx.settings.effective(rs, objective);
    (e.mode != Mode::Off).then_some(e)
}

fn any_on(cx: &Cx<'_, RightSizing>) -> bool {
    cx.settings.mode != Mode::Off
        || cx
            .desired
            .functions
            .iter()
            .any(|r| cx.rule_settings(r).mode.is_some_and(|m| m != Mode::Off))
}

/// The alias callers use, from this cycle's read or memory.
fn alias_now<'m>(
    cx: &Cx<'m, RightSizing>,
    name: &str,
    fm: &'m FunctionMemory,
) -> Option<Option<&'m Alias>> {
    let wanted = cx.settings.alias.as_deref()?;
    if let Some(aliases) = cx.observed.aliases.get(name) {
        return Some(aliases.iter().find(|a| a.name == wanted));
    }
    fm.alias.as_ref().map(Option::as_ref)
}

fn marker_now(f: &ObservedFunction, fm: &FunctionMemory) -> MarkerState {
    match f.tags() {
        Some(tags) => match tags.get(TAG) {
            None => MarkerState::Untouched,
            Some(v) => Marker::parse(v).map_or_else(|| MarkerState::Unreadable(v.to_string()), MarkerState::Ours),
        },
        None => fm.marker.clone(),
    }
}

/// The watched step's reads: by `ExecutedVersion` for an alias canary (new, stable), or the
/// function's for a `$LATEST` change.
fn watch_reads(
    name: &str,
    statistic: &str,
    m: &Marker,
    alias: Option<&Alias>,
    now: SystemTime,
) -> Option<(FunctionReads, Option<FunctionReads>)> {
    if m.phase != MarkerPhase::Change {
        return None;
    }
    match (&m.stable, alias) {
        (Some(stable), Some(a)) => {
            let canary = a.routing.as_ref()?;
            Some((
                signals::watched(name, statistic, Some((&a.name, &canary.version)), m.at, now),
                Some(signals::watched(name, statistic, Some((&a.name, stable)), m.at, now)),
            ))
        }
        (Some(_), None) => None,
        (None, _) => Some((signals::watched(name, statistic, None, m.at, now), None)),
    }
}

impl Controller for RightSizing {
    const NAME: &'static str = "right_sizing";
    const NOTE_CODES: &'static [&'static str] = &[CALLER_TIMEOUT, UNREADABLE_MARKER];
    type Settings = Settings;
    type RuleSettings = RuleSettings;
    type TableSettings = ();
    type Memory = Memory;

    fn settings(cx: &mut SettingsCx<'_, '_, '_>) -> Settings {
        settings::read(cx)
    }

    fn rule_settings(cx: &mut EntryCx<'_, '_, '_>, s: &Settings) -> RuleSettings {
        settings::read_rule(cx, s)
    }

    fn reads(cx: &Cx<'_, Self>, memory: &mut Memory, reads: &mut Reads) {
        if !any_on(cx) {
            return;
        }
        let g = cx.settings;
        // The same view of the duration alarms the alarms controller publishes to the plan.
        let alarm = DurationAlarm::of(&cx.desired.controllers.alarms);
        let mut history = Vec::new();
        let mut recent = Vec::new();
        let mut watch = Vec::new();
        for (name, f) in &cx.observed.functions {
            let Some(e) = effective(cx, name, f, Some(&alarm)) else {
                continue;
            };
            if cx.observed.unknown_functions.contains(name) {
                continue;
            }
            // The name is copied only for a function new to memory (`entry` would copy it
            // for every function, every round of every cycle).
            if !memory.functions.contains_key(name) {
                memory.functions.insert(name.clone(), Box::default());
            }
            let Some(fm) = memory.functions.get_mut(name) else {
                continue;
            };
            let statistic = e.statistic.as_str();
            let insights = f.summary.has_insights();
            if !fm.loaded {
                history.push(memory.memo.periodic(
                    name,
                    statistic,
                    insights,
                    Window::History,
                    g.history,
                    g.observe_every,
                ));
            }
            recent.push(memory.memo.periodic(
                name,
                statistic,
                insights,
                Window::Recent,
                g.history,
                g.observe_every,
            ));
            let marker = marker_now(f, fm);
            let in_flight = matches!(&marker, MarkerState::Ours(m) if m.phase == MarkerPhase::Change);
            let urgent = fm.dirty || in_flight || marker == MarkerState::Unknown;
            if e.mode == Mode::Auto {
                let read = Read::Function(name.clone());
                if urgent {
                    reads.now(read);
                } else {
                    reads.verify(read);
                }
            }
            if g.alias.is_some() {
                let read = Read::Aliases {
                    function: name.clone(),
                };
                if urgent || fm.alias.is_none() {
                    reads.now(read);
                } else {
                    reads.verify(read);
                }
                if let Some(Some(a)) = alias_now(cx, name, fm) {
                    let versions = std::iter::once(a.function_version.as_str())
                        .chain(a.routing.as_ref().map(|r| r.version.as_str()));
                    for v in versions {
                        let known = fm.versions.contains_key(v)
                            || cx
                                .observed
                                .versions
                                .contains_key(&(name.clone(), v.to_string()));
                        if v != "$LATEST" && !known {
                            reads.now(Read::Version {
                                function: name.clone(),
                                version: v.to_string(),
                            });
                        }
                    }
                }
            }
            if let MarkerState::Ours(m) = &marker {
                let alias = alias_now(cx, name, fm).flatten();
                if let Some((new, stable)) = watch_reads(name, statistic, m, alias, cx.now) {
                    watch.extend(new.reads.into_iter().map(|(_, r)| r));
                    if let Some(s) = stable {
                        watch.extend(s.reads.into_iter().map(|(_, r)| r));
                    }
                }
            }
        }
        for batch in [
            batch_of(&mut memory.history, history),
            batch_of(&mut memory.recent, recent),
        ]
        .into_iter()
        .flatten()
        {
            reads.now(Read::Metrics(batch));
        }
        // Watched steps: a few reads each, over windows that grow every cycle.
        let mut by_window: HashMap<u32, Vec<crate::model::MetricRead>> = HashMap::new();
        for r in watch {
            by_window.entry(r.window_s()).or_default().push(r);
        }
        for (window_s, reads_of) in by_window {
            reads.now(Read::Metrics(MetricBatch::of(reads_of, window_s, 0)));
        }
    }

    fn plan(cx: &Cx<'_, Self>, memory: &mut Memory, out: &mut Planned) {
        plan_all(cx, memory, out);
        let auto = out.plan.recommendations.iter().filter(|r| r.mode == "auto");
        let managed: Vec<_> = auto
            .map(|r| (ResourceKind::FunctionConfig, r.function.clone()))
            .collect();
        out.plan.managed.extend(managed);
        let recs = &out.plan.recommendations;
        let available = crate::model::rightsizing::saving_available(recs);
        let realised = crate::model::rightsizing::saving_realised(recs);
        out.facts.publish(RightSizingSavings {
            available,
            realised,
        });
    }
}

/// What right-sizing's recommendations not yet applied would save a month, in dollars: the
/// cost model sets it against what trimtab's own means cost.
#[derive(Debug, Clone, Copy)]
pub struct RightSizingSavings {
    pub available: f64,
    /// What the steps already taken save a month (dollars).
    pub realised: f64,
}

impl super::Fact for RightSizingSavings {}

fn plan_all(cx: &Cx<'_, RightSizing>, memory: &mut Memory, out: &mut Planned) {
    if !any_on(cx) {
        memory.functions.clear();
        return;
    }
    let alarm = cx.fact::<DurationAlarm>();
    if memory.settings.as_ref() != Some(cx.settings) {
        memory.settings = Some(cx.settings.clone());
        memory.generation += 1;
    }
    let generation = memory.generation;
    let mut seen = HashSet::new();
    let mut in_flight = memory.functions.values().filter(|f| f.in_flight()).count();
    for (name, f) in &cx.observed.functions {
        let Some(e) = effective(cx, name, f, alarm) else {
            continue;
        };
        seen.insert(name.clone());
        if cx.observed.unknown_functions.contains(name) {
            continue;
        }
        let fm = memory.functions.entry(name.clone()).or_default();
        let was_in_flight = fm.in_flight();
        let planned = plan_function(
            cx,
            &mut memory.memo,
            generation,
            name,
            f,
            &e,
            fm,
            in_flight,
            out,
        );
        if planned && !was_in_flight {
            in_flight += 1;
        }
    }
    memory.functions.retain(|name, _| seen.contains(name));
    memory.memo.retain(|name| seen.contains(name));

}

/// Plans one function; `true` when a new step begins.
#[allow(clippy::too_many_arguments)]
fn plan_function(
    cx: &Cx<'_, RightSizing>,
    memo: &mut signals::Memo,
    generation: u64,
    name: &str,
    f: &ObservedFunction,
    e: &Effective<'_>,
    fm: &mut FunctionMemory,
    in_flight: usize,
    out: &mut Planned,
) -> bool {
    let g = e.global;
    let now = cx.now;
    let observed: &Observed = cx.observed;
    fm.dirty = false;

    // What this cycle read, into memory.
    fm.marker = marker_now(f, fm);
    if let Some(alias) = &g.alias
        && let Some(aliases) = observed.aliases.get(name)
    {
        fm.alias = Some(aliases.iter().find(|a| a.name == *alias).cloned());
    }
    for ((function, version), summary) in observed.versions.range((name.to_string(), String::new())..) {
        if function != name {
            break;
        }
        fm.versions.insert(
            version.clone(),
            (
                Config {
                    memory_mb: summary.memory_mb,
                    timeout_s: summary.timeout_s,
                },
                summary.code_sha256.clone(),
            ),
        );
    }
    let latest = Config {
        memory_mb: f.summary.memory_mb,
        timeout_s: f.summary.timeout_s,
    };
    let alias = match &fm.alias {
        Some(Some(a)) => Some(AliasView {
            name: a.name.clone(),
            primary: a.function_version.clone(),
            primary_config: version_config(fm, &a.function_version, latest),
            primary_code: if a.function_version == "$LATEST" {
                f.summary.code_sha256.clone()
            } else {
                fm.versions.get(&a.function_version).and_then(|v| v.1.clone())
            },
            routing: a.routing.as_ref().map(|r| {
                (
                    r.version.clone(),
                    r.weight,
                    version_config(fm, &r.version, latest),
                )
            }),
        }),
        _ => None,
    };
    let live = Live {
        arn: f.summary.arn.clone(),
        latest,
        revision: f.summary.revision_id.clone(),
        code: f.summary.code_sha256.clone(),
        updating: f.summary.last_update_status == crate::model::UpdateStatus::InProgress,
        alias,
    };
    let serving = live.serving();
    let insights = f.summary.has_insights();
    let statistic = e.statistic.as_str();

    // Fold what was read, once the size that served each period is known.
    let marker = match &fm.marker {
        MarkerState::Ours(m) => Some(m.clone()),
        _ => serving.map(Marker::untouched),
    };
    if let Some(m) = &marker {
        let windows: &[Window] = if fm.loaded {
            &[Window::Recent]
        } else {
            &[Window::History, Window::Recent]
        };
        for &window in windows {
            let reads = memo.periodic(name, statistic, insights, window, g.history, g.observe_every);
            // The stamp first: one lookup settles a window already folded, as most are.
            let stamp = reads.stamp(observed);
            if stamp.is_none() || fm.folded.get(&window) == stamp.as_ref() || !reads.all_read(observed) {
                continue;
            }
            if window == Window::Recent {
                fm.signals = reads.signals(observed).into_iter().map(|s| s.label()).collect();
                fm.signals.dedup();
            }
            let since = if fm.marker == MarkerState::Untouched || matches!(fm.marker, MarkerState::Unknown) {
                UNIX_EPOCH
            } else {
                m.at
            };
            for p in reads.periods(observed) {
                let served = Served {
                    memory_mb: m.size_during(p.start, p.end()),
                    timeout_s: (p.start >= since).then_some(m.config.timeout_s),
                };
                fm.learned.fold(&p, served, g.half_life);
            }
            if window == Window::History {
                fm.loaded = true;
                // Never asked for again (`reads` and this loop read only the recent window of
                // a loaded function): six metric reads a function, held for nothing.
                memo.forget(name, Window::History);
            }
            if let Some(stamp) = stamp {
                fm.folded.insert(window, stamp);
            }
        }
    }

    // The step in flight, if any.
    let watch = marker.as_ref().and_then(|m| {
        let alias = fm.alias.as_ref().and_then(Option::as_ref);
        let (new, stable) = watch_reads(name, statistic, m, alias, now)?;
        if !new.all_read(observed) || stable.as_ref().is_some_and(|s| !s.all_read(observed)) {
            return None;
        }
        Some(Watch {
            new: Totals::of(&new.periods(observed), m.at),
            stable: stable.map(|s| Totals::of(&s.periods(observed), m.at)),
        })
    });

    let signals: Vec<&'static str> = {
        let mut s = fm.signals.clone();
        if fm.learned.memory_peak_mb().is_some() && !s.contains(&"memory_used") {
            s.push("memory_used");
        }
        if fm.learned.cpu_ms().is_some() && !s.contains(&"cpu_time") {
            s.push("cpu_time");
        }
        s
    };

    let current = serving.unwrap_or(latest);
    let since_change = marker
        .as_ref()
        .and_then(|m| m.history.last().map(|(_, t)| *t))
        .unwrap_or(UNIX_EPOCH);
    let failed = marker.as_ref().and_then(|m| m.failed);
    let original_mb = marker.as_ref().and_then(|m| m.original());
    let inputs = Inputs {
        settings: e,
        current,
        learned: &fm.learned,
        now,
        prices: &cx.desired.prices,
        architecture: f.summary.architecture,
        insights,
        failed,
        since_change,
        original_mb,
    };
    let key = AdviceKey {
        revision: fm.learned.revision,
        current,
        failed,
        since_change,
        insights,
        architecture: f.summary.architecture,
        statistic: e.statistic.clone(),
        threshold_ms: e.threshold_ms,
        memory_mb: (e.memory_min_mb, e.memory_max_mb),
        caller_timeout: e.caller_timeout,
        settings: generation,
        hour: now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() / 3_600),
        original_mb,
    };
    let advice = match &fm.advice {
        Some((k, a)) if *k == key => a.clone(),
        _ => {
            let a = recommend(&inputs);
            fm.advice = Some((key, a.clone()));
            a
        }
    };
    let mut rec = Recommendation {
        function: name.to_string(),
        mode: e.mode.as_str(),
        state: SizingState::Optimal,
        current: Sizing {
            memory_mb: current.memory_mb,
            timeout_s: current.timeout_s,
            latency_ms: None,
            monthly_cost: None,
        },
        proposed: None,
        next_memory_mb: None,
        objective: format!("{} ≤ {:.0} ms", e.statistic, e.threshold_ms),
        monthly_saving: None,
        realised_monthly_saving: None,
        confidence: None,
        signals,
        evidence: String::new(),
        reason: String::new(),
    };
    match &advice {
        Ok(a) => fill(&mut rec, a, e),
        Err(why) => {
            rec.state = SizingState::NotEnoughData;
            rec.reason = why.to_string();
        }
    }
    if let Ok(a) = &advice
        && let Some(w) = &a.caller_warning
    {
        out.plan.notes.push(Note {
            controller: RightSizing::NAME,
            code: CALLER_TIMEOUT,
            id: name.to_string(),
            message: w.clone(),
        });
    }

    let mut began = false;
    if e.mode == Mode::Auto {
        if let MarkerState::Unreadable(v) = &fm.marker {
            out.plan.notes.push(Note {
                controller: RightSizing::NAME,
                code: UNREADABLE_MARKER,
                id: name.to_string(),
                message: format!("the {TAG} tag holds {v:?}, which this version did not write: right-sizing leaves the function alone"),
            });
            rec.state = SizingState::StandingBack;
            out.plan.recommendations.push(rec);
            return false;
        }
        if fm.marker == MarkerState::Unknown || serving.is_none() {
            rec.state = SizingState::Waiting;
            rec.reason = format!("{}; the function's state is not read yet", rec.reason);
            out.plan.recommendations.push(rec);
            return false;
        }
        let next = canary::next(name, fm.marker(), &live, watch.as_ref(), e, now);
        // A canary's figures feed the model of its size, once.
        if let (Some(m), Some(w)) = (fm.marker(), &watch)
            && m.stable.is_some()
            && matches!(next, Next::Act { .. })
            && fm.canary_folded != Some(m.at)
        {
            let (at, size) = (m.at, m.config.memory_mb);
            let summed = learn::Period {
                invocations: w.new.invocations,
                errors: w.new.errors,
                mean_ms: w.new.mean_ms,
                objective_ms: w.new.objective_ms,
                ..learn::Period::empty(now, Duration::ZERO)
            };
            fm.learned.fold_canary(size, &summed, g.half_life);
            fm.canary_folded = Some(at);
        }
        match next {
            Next::Idle => {
                began = begin_step(cx, name, e, fm, &live, current, &advice, in_flight, &mut rec, out);
            }
            Next::Watching { requeue, note } => {
                rec.state = SizingState::Changing;
                rec.reason = note;
                out.requeue(requeue);
            }
            Next::Wait { reason, requeue } => {
                rec.state = SizingState::Waiting;
                rec.reason = reason;
                if let Some(r) = requeue {
                    out.requeue(r);
                }
            }
            Next::Foreign { reason } => {
                if g.resume.iter().any(|r| r == name) {
                    // Taken back: what is there now is the new baseline.
                    let base = fm.marker().cloned().unwrap_or_else(|| Marker::untouched(current));
                    let mut adopted = base.settle(now);
                    adopted.config = current;
                    adopted.from = current;
                    adopted.history.push((current.memory_mb, now));
                    let w = canary::tag(&live.arn, &adopted);
                    push_change(out, name, ResourceKind::Canary, Vec::new(), format!("taking {name} back under right-sizing (`right_sizing.resume`): {reason}"), vec![w]);
                    fm.dirty = true;
                    rec.state = SizingState::Waiting;
                    rec.reason = "taken back under right-sizing; the current size is the new baseline".into();
                } else {
                    out.plan.refusals.push(Refusal {
                        kind: ResourceKind::FunctionConfig,
                        id: name.to_string(),
                        reason: format!("{reason}; right-sizing stands back (list it in `right_sizing.resume` to take it back)"),
                    });
                    rec.state = SizingState::StandingBack;
                    rec.reason = reason;
                }
            }
            Next::Act {
                writes,
                reason,
                requeue,
                rollback,
            } => {
                let kind = if rollback {
                    ResourceKind::FunctionConfig
                } else {
                    ResourceKind::Canary
                };
                push_change(out, name, kind, Vec::new(), reason.clone(), writes);
                fm.dirty = true;
                rec.state = SizingState::Changing;
                rec.reason = reason;
                if let Some(r) = requeue {
                    out.requeue(r);
                }
            }
        }
    }
    out.plan.recommendations.push(rec);
    began
}

fn version_config(fm: &FunctionMemory, version: &str, latest: Config) -> Option<Config> {
    if version == "$LATEST" {
        return Some(latest);
    }
    fm.versions.get(version).map(|(c, _)| *c)
}

fn fill(rec: &mut Recommendation, a: &Advice, e: &Effective<'_>) {
    rec.current = a.current.clone();
    rec.proposed = Some(a.target.clone());
    rec.objective = a.objective.clone();
    rec.monthly_saving = Some(a.monthly_saving);
    rec.realised_monthly_saving = a.realised_saving;
    rec.confidence = Some(a.confidence);
    rec.evidence = a.evidence.clone();
    rec.reason = a.reason.clone();
    let changes = a.target.memory_mb != a.current.memory_mb;
    let timeout_due = timeout_change(a, e).is_some();
    rec.next_memory_mb = (a.step.memory_mb != a.current.memory_mb).then_some(a.step.memory_mb);
    rec.state = if a.emergency.is_some() {
        SizingState::Emergency
    } else if changes || timeout_due {
        SizingState::Recommended
    } else {
        SizingState::Optimal
    };
    if timeout_due && !changes && a.emergency.is_none() {
        rec.reason = format!(
            "memory is right; the timeout of {} s is far from the {} s the function needs",
            a.current.timeout_s, a.timeout_s
        );
    }
}

/// The timeout to set with this step, if the timeout policy asks for one: raised when it is
/// hit, lowered (in `auto`) when it is more than three times what the function needs.
fn timeout_change(a: &Advice, e: &Effective<'_>) -> Option<u32> {
    let t = &e.global.timeouts;
    if t.mode == Mode::Off {
        return None;
    }
    let current = a.current.timeout_s;
    if a.emergency == Some(Emergency::Timeouts) || a.timeout_s > current {
        return (a.timeout_s > current).then_some(a.timeout_s);
    }
    (current > a.timeout_s.saturating_mul(3)).then_some(a.timeout_s)
}

/// Begins a step if the advice calls for one and nothing stands in the way.
#[allow(clippy::too_many_arguments)]
fn begin_step(
    cx: &Cx<'_, RightSizing>,
    name: &str,
    e: &Effective<'_>,
    fm: &mut FunctionMemory,
    live: &Live,
    current: Config,
    advice: &Result<Advice, recommend::Insufficient>,
    in_flight: usize,
    rec: &mut Recommendation,
    out: &mut Planned,
) -> bool {
    let g = e.global;
    let Ok(a) = advice else {
        return false;
    };
    // Timeouts change in `auto`, or in an emergency unless their policy is `off`.
    let t_mode = e.global.timeouts.mode;
    let timeout = (t_mode == Mode::Auto
        || (t_mode != Mode::Off && a.emergency == Some(Emergency::Timeouts)))
    .then(|| timeout_change(a, e))
    .flatten();
    let to = Config {
        memory_mb: a.step.memory_mb,
        timeout_s: timeout.unwrap_or(current.timeout_s),
    };
    if to == current {
        return false;
    }
    let now = cx.now;
    let base = fm.marker().cloned().unwrap_or_else(|| Marker::untouched(current));
    let urgent = a.urgent;
    let last = base.at;
    let since_last = now.duration_since(last).unwrap_or(Duration::MAX);
    if !urgent && since_last < g.min_interval {
        rec.state = SizingState::Waiting;
        rec.reason = format!(
            "{}; the last change was {:.1} h ago (at most one a {:.0} h)",
            rec.reason,
            since_last.as_secs_f64() / 3_600.0,
            g.min_interval.as_secs_f64() / 3_600.0
        );
        return false;
    }
    if !urgent && in_flight >= g.max_in_flight {
        rec.state = SizingState::Waiting;
        rec.reason = format!(
            "{}; {in_flight} steps are in flight (at most {})",
            rec.reason, g.max_in_flight
        );
        return false;
    }
    let baseline = (
        a.current.latency_ms.unwrap_or(0.0),
        fm.learned
            .size(current.memory_mb, now, g.half_life)
            .map_or(0.0, |s| s.error_rate),
    );
    let emergency = a.emergency.is_some();
    match canary::begin(name, &base, live, current, to, baseline, a.step_latency_ms, emergency, now) {
        Ok((writes, _)) => {
            let mut diffs = Vec::new();
            if to.memory_mb != current.memory_mb {
                diffs.push(FieldDiff {
                    field: "memory_mb".into(),
                    old: current.memory_mb.to_string(),
                    new: to.memory_mb.to_string(),
                });
            }
            if to.timeout_s != current.timeout_s {
                diffs.push(FieldDiff {
                    field: "timeout_s".into(),
                    old: current.timeout_s.to_string(),
                    new: to.timeout_s.to_string(),
                });
            }
            let how = if live.alias.is_some() {
                format!("as a {:.0} % canary", g.canary_weight * 100.0)
            } else {
                "on $LATEST, watched".to_string()
            };
            let how = if emergency { "at once (emergency)".to_string() } else { how };
            push_change(
                out,
                name,
                ResourceKind::FunctionConfig,
                diffs,
                format!("{} {how}", a.reason),
                writes,
            );
            fm.dirty = true;
            rec.state = if emergency {
                SizingState::Emergency
            } else {
                SizingState::Changing
            };
            out.requeue(canary::SETTLE);
            true
        }
        Err(why) => {
            rec.state = SizingState::Waiting;
            rec.reason = format!("{}; {why}", rec.reason);
            false
        }
    }
}

fn push_change(
    out: &mut Planned,
    name: &str,
    kind: ResourceKind,
    diffs: Vec<FieldDiff>,
    reason: String,
    writes: Vec<crate::model::Write>,
) {
    out.plan.changes.push(Change {
        kind,
        id: name.to_string(),
        action: Action::Update,
        diffs,
        reason,
        phase: Phase::Build,
        writes,
    });
}
