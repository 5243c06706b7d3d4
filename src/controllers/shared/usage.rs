//! Per-function usage over the recent window (`[observe]`: `metrics`, `metrics_window`):
//! invocations, errors, throttles, and the duration's average and p95, from `AWS/Lambda`. Five
//! metrics per function, read once per window (each datapoint is paid for once), and the
//! summary every controller that reasons about traffic starts from.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde::Serialize;

use crate::model::{
    Desired, Dimension, MetricBatch, MetricId, MetricRead, MetricStat, Observed, Read, Reads,
};

/// A function's recent behaviour, over `observe.metrics_window`.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct FunctionMetrics {
    pub invocations: f64,
    pub errors: f64,
    pub throttles: f64,
    /// Highest per-period p95 Duration in the window, in ms.
    pub duration_p95_ms: Option<f64>,
    /// Mean of the per-period average Duration in the window, in ms.
    pub duration_avg_ms: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Invocations,
    Errors,
    Throttles,
    P95,
    Average,
}

const FIELDS: [(&str, &str, Field); 5] = [
    ("Invocations", "Sum", Field::Invocations),
    ("Errors", "Sum", Field::Errors),
    ("Throttles", "Sum", Field::Throttles),
    ("Duration", "p95", Field::P95),
    ("Duration", "Average", Field::Average),
];

fn read(desired: &Desired, function: &str, metric: &str, stat: &str) -> MetricRead {
    let window_s = desired.observe.metrics_window.as_secs() as u32;
    MetricRead::new(
        MetricStat {
            metric: MetricId::new(
                "AWS/Lambda",
                metric,
                vec![Dimension::new("FunctionName", function)],
            ),
            period_s: 60,
            stat: stat.into(),
        },
        window_s,
        window_s,
    )
}

/// The usage reads of each function, and the batch of all of them, built once and kept while
/// the functions and the window stay the same: building thousands of metric reads every cycle
/// would cost more than the rest of the observation.
#[derive(Debug, Default)]
pub struct Memo {
    window_s: u32,
    by_function: HashMap<String, Arc<[MetricRead; 5]>>,
    batch: Option<(Vec<String>, MetricBatch)>,
}

impl Memo {
    fn get(&mut self, desired: &Desired, function: &str) -> Arc<[MetricRead; 5]> {
        let window_s = desired.observe.metrics_window.as_secs() as u32;
        if window_s != self.window_s {
            self.by_function.clear();
            self.window_s = window_s;
        }
        if let Some(reads) = self.by_function.get(function) {
            return reads.clone();
        }
        let reads: Arc<[MetricRead; 5]> =
            Arc::new(FIELDS.map(|(metric, stat, _)| read(desired, function, metric, stat)));
        self.by_function.insert(function.to_string(), reads.clone());
        reads
    }
}

/// Asks for every in-scope function's usage when `observe.metrics` is on, once the functions
/// are known, as one batch.
pub fn reads(desired: &Desired, observed: &Observed, memo: &mut Memo, reads: &mut Reads) {
    if !desired.observe.metrics || observed.functions.is_empty() {
        return;
    }
    let window_s = desired.observe.metrics_window.as_secs() as u32;
    let same = memo.window_s == window_s
        && memo.batch.as_ref().is_some_and(|(names, _)| {
            names.len() == observed.functions.len()
                && names
                    .iter()
                    .zip(observed.functions.keys())
                    .all(|(a, b)| a == b)
        });
    if !same {
        // Forget functions that are gone (the memo would otherwise only grow).
        if memo.by_function.len() > 2 * observed.functions.len() + 16 {
            memo.by_function
                .retain(|f, _| observed.functions.contains_key(f));
        }
        let mut all = Vec::with_capacity(observed.functions.len() * FIELDS.len());
        for name in observed.functions.keys() {
            all.extend(memo.get(desired, name).iter().cloned());
        }
        let names = observed.functions.keys().cloned().collect();
        memo.batch = Some((names, MetricBatch::of(all, window_s, window_s)));
    }
    if let Some((_, batch)) = &memo.batch {
        reads.now(Read::Metrics(batch.clone()));
    }
}

/// The usage of one function, from what observe read; `None` when it was not read.
pub fn summary(desired: &Desired, observed: &Observed, function: &str) -> Option<FunctionMetrics> {
    let mut m = FunctionMetrics::default();
    let mut any = false;
    for (metric, stat, field) in FIELDS {
        let Some(points) = observed.metrics.get(&read(desired, function, metric, stat)) else {
            continue;
        };
        any = true;
        let values = points.iter().map(|(_, v)| *v);
        match field {
            Field::Invocations => m.invocations += values.sum::<f64>(),
            Field::Errors => m.errors += values.sum::<f64>(),
            Field::Throttles => m.throttles += values.sum::<f64>(),
            Field::P95 => {
                m.duration_p95_ms =
                    values.fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v))))
            }
            Field::Average => {
                let v: Vec<f64> = values.collect();
                if !v.is_empty() {
                    m.duration_avg_ms = Some(v.iter().sum::<f64>() / v.len() as f64);
                }
            }
        }
    }
    any.then_some(m)
}

/// Functions whose usage was read.
pub fn functions_with_usage(desired: &Desired, observed: &Observed) -> BTreeSet<String> {
    observed
        .functions
        .keys()
        .filter(|f| {
            observed
                .metrics
                .contains_key(&read(desired, f, "Invocations", "Sum"))
        })
        .cloned()
        .collect()
}
