//! The metrics right-sizing reads, and the periods it folds from them.
//!
//! Per function, hourly: `Invocations` and `Errors` (Sum), `Duration` at the objective's
//! statistic, p99, Maximum and Average, and where Lambda Insights runs, `used_memory_max`
//! (Maximum) and `cpu_total_time` (Average): six metrics, or eight. A function's history is
//! read once (the last `history`, in six-hour periods); after that only the last
//! `observe_every` plus a margin, each `observe_every`. CloudWatch bills per metric requested,
//! not per datapoint, so a function costs 6–8 metrics per `observe_every`; the plan and
//! `/metrics` count them.
//!
//! While a step is watched, its figures come from a window starting at the step: by
//! `ExecutedVersion` for an alias canary (new and stable version side by side), from the
//! function as a whole for a `$LATEST` change.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::model::{Dimension, MetricId, MetricRead, MetricStat, Observed};

use super::learn::Period;

/// What one read is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    Invocations,
    Errors,
    Objective,
    P99,
    Max,
    Mean,
    MemoryUsed,
    Cpu,
}

impl Signal {
    /// Its name in the plan's list of signals.
    pub fn label(self) -> &'static str {
        match self {
            Signal::Invocations => "invocations",
            Signal::Errors => "errors",
            Signal::Objective | Signal::P99 | Signal::Max | Signal::Mean => "duration",
            Signal::MemoryUsed => "memory_used",
            Signal::Cpu => "cpu_time",
        }
    }
}

/// The periods of the first read of a function's history.
pub const HISTORY_PERIOD: Duration = Duration::from_secs(6 * 3_600);
/// The periods of every later read.
pub const PERIOD: Duration = Duration::from_secs(3_600);
/// The periods of a watched step.
pub const WATCH_PERIOD: Duration = Duration::from_secs(300);
/// Extra hours each later read covers, so late data and a missed read lose nothing.
const OVERLAP: Duration = Duration::from_secs(3 * 3_600);

/// The reads of one function over one window.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionReads {
    pub reads: Vec<(Signal, MetricRead)>,
}

fn lambda_metric(function: &str, name: &str, extra: &[(&str, &str)]) -> MetricId {
    let mut dims = vec![Dimension::new("FunctionName", function)];
    dims.extend(extra.iter().map(|(k, v)| Dimension::new(*k, *v)));
    MetricId::new("AWS/Lambda", name, dims)
}

fn insights_metric(function: &str, name: &str) -> MetricId {
    MetricId::new(
        "LambdaInsights",
        name,
        vec![Dimension::new("function_name", function)],
    )
}

fn read(metric: MetricId, stat: &str, period: Duration, window: Duration, refresh: Duration) -> MetricRead {
    MetricRead::new(
        MetricStat {
            metric,
            period_s: period.as_secs() as u32,
            stat: stat.into(),
        },
        window.as_secs() as u32,
        refresh.as_secs() as u32,
    )
}

/// Which window a function's periodic read covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    /// The first read: the whole history, in six-hour periods.
    History,
    /// Every later read: the last `observe_every` and a margin, hourly.
    Recent,
}

/// The periodic reads of a function.
pub fn periodic(
    function: &str,
    statistic: &str,
    insights: bool,
    window: Window,
    history: Duration,
    observe_every: Duration,
) -> FunctionReads {
    let (period, span, refresh) = match window {
        // Read once: refreshed no sooner than the history would be read again.
        Window::History => (HISTORY_PERIOD, history, history),
        Window::Recent => (PERIOD, observe_every + OVERLAP, observe_every),
    };
    let r = |metric: MetricId, stat: &str| read(metric, stat, period, span, refresh);
    let mut reads = vec![
        (Signal::Invocations, r(lambda_metric(function, "Invocations", &[]), "Sum")),
        (Signal::Errors, r(lambda_metric(function, "Errors", &[]), "Sum")),
        (Signal::Objective, r(lambda_metric(function, "Duration", &[]), statistic)),
        (Signal::Max, r(lambda_metric(function, "Duration", &[]), "Maximum")),
        (Signal::Mean, r(lambda_metric(function, "Duration", &[]), "Average")),
    ];
    if statistic != "p99" {
        reads.push((Signal::P99, r(lambda_metric(function, "Duration", &[]), "p99")));
    }
    if insights {
        reads.push((
            Signal::MemoryUsed,
            r(insights_metric(function, "used_memory_max"), "Maximum"),
        ));
        reads.push((Signal::Cpu, r(insights_metric(function, "cpu_total_time"), "Average")));
    }
    FunctionReads { reads }
}

/// The reads of a watched step since `since`: of one version through the alias (by
/// `ExecutedVersion`), or of the whole function.
pub fn watched(
    function: &str,
    statistic: &str,
    alias_version: Option<(&str, &str)>,
    since: SystemTime,
    now: SystemTime,
) -> FunctionReads {
    let elapsed = now.duration_since(since).unwrap_or_default();
    let period = WATCH_PERIOD.as_secs();
    // Whole periods, one more for the period the step began in, at most a day and a half.
    let window = Duration::from_secs(
        (elapsed.as_secs() / period + 2).min(36 * 3_600 / period) * period,
    );
    let resource;
    let extra: Vec<(&str, &str)> = match alias_version {
        Some((alias, version)) => {
            resource = format!("{function}:{alias}");
            vec![("Resource", resource.as_str()), ("ExecutedVersion", version)]
        }
        None => Vec::new(),
    };
    // A new window each cycle: read every time it is asked for.
    let r = |name: &str, stat: &str| {
        read(
            lambda_metric(function, name, &extra),
            stat,
            WATCH_PERIOD,
            window,
            Duration::ZERO,
        )
    };
    FunctionReads {
        reads: vec![
            (Signal::Invocations, r("Invocations", "Sum")),
            (Signal::Errors, r("Errors", "Sum")),
            (Signal::Objective, r("Duration", statistic)),
            (Signal::Mean, r("Duration", "Average")),
        ],
    }
}

/// See [`FunctionReads::stamp`].
#[derive(Clone, Debug)]
pub struct Stamp(std::sync::Weak<Vec<(std::time::SystemTime, f64)>>);

impl PartialEq for Stamp {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Weak::ptr_eq(&self.0, &other.0)
    }
}

impl FunctionReads {
    pub fn metric_reads(&self) -> impl Iterator<Item = &MetricRead> {
        self.reads.iter().map(|(_, r)| r)
    }

    /// Identifies what was read: a new read is a new allocation, so the periods need
    /// folding only when the stamp changes. A weak reference keeps the allocation's
    /// address from being reused while the stamp is held (no ABA), without keeping the
    /// points alive.
    pub fn stamp(&self, observed: &Observed) -> Option<Stamp> {
        let (_, first) = self.reads.first()?;
        observed.metrics.get(first).map(|p| Stamp(Arc::downgrade(p)))
    }

    /// Whether every read was performed (this cycle or earlier, still fresh).
    pub fn all_read(&self, observed: &Observed) -> bool {
        self.reads
            .iter()
            .all(|(_, r)| observed.metrics.contains_key(r))
    }

    /// The signals that returned any data.
    pub fn signals(&self, observed: &Observed) -> Vec<Signal> {
        let mut out: Vec<Signal> = self
            .reads
            .iter()
            .filter(|(_, r)| observed.metrics.get(r).is_some_and(|p| !p.is_empty()))
            .map(|(s, _)| *s)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The periods read, oldest first, joined by start time. Periods with no invocations
    /// datapoint are periods without traffic.
    pub fn periods(&self, observed: &Observed) -> Vec<Period> {
        let Some(period) = self
            .reads
            .first()
            .map(|(_, r)| Duration::from_secs(u64::from(r.stat().period_s)))
        else {
            return Vec::new();
        };
        let mut by_start: BTreeMap<SystemTime, Period> = BTreeMap::new();
        for (signal, read) in &self.reads {
            let Some(points) = observed.metrics.get(read) else {
                continue;
            };
            for (t, v) in points.iter() {
                let p = by_start
                    .entry(*t)
                    .or_insert_with(|| Period::empty(*t, period));
                let v = *v;
                match signal {
                    Signal::Invocations => p.invocations = v,
                    Signal::Errors => p.errors = v,
                    Signal::Objective => p.objective_ms = Some(v),
                    Signal::P99 => p.p99_ms = Some(v),
                    Signal::Max => p.max_ms = Some(v),
                    Signal::Mean => p.mean_ms = Some(v),
                    Signal::MemoryUsed => p.memory_used_mb = Some(v),
                    Signal::Cpu => p.cpu_ms = Some(v),
                }
            }
        }
        // The objective read as p99 serves as the p99 too.
        for p in by_start.values_mut() {
            if p.p99_ms.is_none() {
                p.p99_ms = p.objective_ms.filter(|_| {
                    self.reads
                        .iter()
                        .all(|(s, _)| *s != Signal::P99)
                });
            }
        }
        by_start.into_values().collect()
    }
}

/// Totals over a watched step's periods starting at or after `since`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Totals {
    pub invocations: f64,
    pub errors: f64,
    /// Invocation-weighted mean of the periods' objective statistic, ms.
    pub objective_ms: Option<f64>,
    pub mean_ms: Option<f64>,
}

impl Totals {
    pub fn of(periods: &[Period], since: SystemTime) -> Self {
        let mut t = Totals::default();
        let (mut obj, mut obj_w, mut mean, mut mean_w) = (0.0, 0.0, 0.0, 0.0);
        for p in periods.iter().filter(|p| p.start >= since) {
            t.invocations += p.invocations;
            t.errors += p.errors;
            if let Some(v) = p.objective_ms {
                obj += v * p.invocations;
                obj_w += p.invocations;
            }
            if let Some(v) = p.mean_ms {
                mean += v * p.invocations;
                mean_w += p.invocations;
            }
        }
        t.objective_ms = (obj_w > 0.0).then(|| obj / obj_w);
        t.mean_ms = (mean_w > 0.0).then(|| mean / mean_w);
        t
    }

    pub fn error_rate(&self) -> f64 {
        if self.invocations > 0.0 {
            self.errors / self.invocations
        } else {
            0.0
        }
    }
}

/// Reads shared between cycles: building thousands of metric reads every cycle would cost more
/// than planning with them. Looked up by the function's name as given and its window, so a
/// hit allocates nothing (it is asked for several times per function each cycle).
#[derive(Debug, Default)]
pub struct Memo {
    entries: std::collections::HashMap<String, Vec<Slot>, foldhash::fast::RandomState>,
}

/// One memoised read set of a function: its window, what it was built from, the reads.
type Slot = (Window, MemoKey, Arc<FunctionReads>);

/// What a function's reads are built from besides its name and window. The statistic is
/// inline (`p95`; any statistic up to 24 bytes), so building a key to look one up allocates
/// nothing.
#[derive(Debug, Clone, PartialEq)]
struct MemoKey {
    statistic: compact_str::CompactString,
    insights: bool,
    history: Duration,
    observe_every: Duration,
}

impl Memo {
    pub fn periodic(
        &mut self,
        function: &str,
        statistic: &str,
        insights: bool,
        window: Window,
        history: Duration,
        observe_every: Duration,
    ) -> Arc<FunctionReads> {
        let key = MemoKey {
            statistic: statistic.into(),
            insights,
            history,
            observe_every,
        };
        if let Some((_, _, reads)) = self
            .entries
            .get(function)
            .and_then(|slots| slots.iter().find(|(w, k, _)| *w == window && *k == key))
        {
            return reads.clone();
        }
        let reads = Arc::new(periodic(
            function,
            statistic,
            insights,
            window,
            history,
            observe_every,
        ));
        let slots = self.entries.entry(function.to_string()).or_default();
        slots.retain(|(w, _, _)| *w != window);
        slots.push((window, key, reads.clone()));
        reads
    }

    /// Forgets functions no longer looked after.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.entries.retain(|f, _| keep(f));
    }

    /// Forgets one window of a function's reads (the next `periodic` builds it anew).
    pub fn forget(&mut self, function: &str, window: Window) {
        if let Some(slots) = self.entries.get_mut(function) {
            slots.retain(|(w, _, _)| *w != window);
            if slots.is_empty() {
                self.entries.remove(function);
            }
        }
    }
}

#[cfg(test)]
mod memo_tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::{Memo, Window};

    /// The same function, window and inputs give back the same reads; anything else builds
    /// them again, each window is kept apart, and forgotten functions go.
    #[test]
    fn the_memo_hands_back_reads_built_from_the_same_inputs() {
        let mut memo = Memo::default();
        let (day, hour) = (Duration::from_secs(86_400), Duration::from_secs(3_600));
        let mut get = |f: &str, stat: &str, w: Window, every: Duration| {
            memo.periodic(f, stat, false, w, 14 * day, every)
        };
        let first = get("api", "p95", Window::Recent, hour);
        assert!(Arc::ptr_eq(&first, &get("api", "p95", Window::Recent, hour)));
        let history = get("api", "p95", Window::History, hour);
        assert!(!Arc::ptr_eq(&first, &history));
        assert!(Arc::ptr_eq(&first, &get("api", "p95", Window::Recent, hour)));
        let p99 = get("api", "p99", Window::Recent, hour);
        assert!(!Arc::ptr_eq(&first, &p99));
        assert!(Arc::ptr_eq(&p99, &get("api", "p99", Window::Recent, hour)));
        assert!(!Arc::ptr_eq(&p99, &get("api", "p99", Window::Recent, 2 * hour)));
        assert!(!Arc::ptr_eq(&p99, &get("worker", "p99", Window::Recent, 2 * hour)));
        assert!(Arc::ptr_eq(&history, &get("api", "p95", Window::History, hour)));
        memo.retain(|f| f != "api");
        assert_eq!(memo.entries.len(), 1);
        assert!(memo.entries.contains_key("worker"));
    }

    /// Forgetting a window drops that window's reads only; a function with none left goes.
    #[test]
    fn a_forgotten_window_is_built_again_and_the_other_kept() {
        let mut memo = Memo::default();
        let (day, hour) = (Duration::from_secs(86_400), Duration::from_secs(3_600));
        let get =
            |memo: &mut Memo, w: Window| memo.periodic("api", "p95", false, w, 14 * day, hour);
        let history = get(&mut memo, Window::History);
        let recent = get(&mut memo, Window::Recent);
        memo.forget("api", Window::History);
        assert_eq!(memo.entries["api"].len(), 1);
        assert!(Arc::ptr_eq(&recent, &get(&mut memo, Window::Recent)));
        let again = get(&mut memo, Window::History);
        assert!(!Arc::ptr_eq(&history, &again), "built anew");
        assert_eq!(history.reads, again.reads, "from the same inputs");
        memo.forget("api", Window::History);
        memo.forget("api", Window::Recent);
        memo.forget("nobody", Window::Recent);
        assert!(memo.entries.is_empty());
    }
}
