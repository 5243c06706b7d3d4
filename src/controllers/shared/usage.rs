//! Per-function usage over the recent window (`[observe]`: `metrics`, `metrics_window`):
//! invocations, errors, throttles, and the duration's average and p95, from `AWS/Lambda`. Five
//! metrics per function, read once per window (each datapoint is paid for once), and the
//! summary every controller that reasons about traffic starts from.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::model::{Desired, Dimension, MetricId, MetricRead, MetricStat, Observed, Read, Reads};

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
    MetricRead {
        stat: MetricStat {
            metric: MetricId::new(
                "AWS/Lambda",
                metric,
                vec![Dimension::new("FunctionName", function)],
            ),
            period_s: 60,
            stat: stat.to_string(),
        },
        window_s,
        refresh_s: window_s,
    }
}

/// Asks for every in-scope function's usage when `observe.metrics` is on.
pub fn reads(desired: &Desired, observed: &Observed, reads: &mut Reads) {
    if !desired.observe.metrics {
        return;
    }
    for name in observed.functions.keys() {
        for (metric, stat, _) in FIELDS {
            reads.now(Read::Metric(read(desired, name, metric, stat)));
        }
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
