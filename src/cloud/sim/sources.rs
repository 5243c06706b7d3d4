//! Which metrics the account emits by itself, and how a minute of the traffic model becomes
//! one metric's values: `AWS/Lambda` (by `FunctionName`, or `FunctionName` + `Resource` for an
//! alias or version), `LambdaInsights` (by `function_name`) and `AWS/DynamoDB` (by `TableName`).
//! Anything else is read from the PutMetricData store.

use crate::model::MetricId;

use super::stats::Agg;
use super::traffic::{FunctionMinute, TableMinute};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FnMetric {
    Invocations,
    Errors,
    Throttles,
    Duration,
    ConcurrentExecutions,
    PcUtilization,
    PcExecutions,
    PcSpillover,
    UsedMemoryMax,
    MemoryUtilization,
    InitDuration,
    TotalMemory,
    CpuTotalTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TableMetric {
    ConsumedRead,
    ConsumedWrite,
    ProvisionedRead,
    ProvisionedWrite,
    ReadThrottleEvents,
    WriteThrottleEvents,
    /// Per `TableName` + `Operation` only, as AWS publishes it: the model's read throttles
    /// are attributed to `GetItem`, its write throttles to `PutItem`.
    ThrottledRequests {
        write: bool,
    },
}

/// A generated metric: whose traffic, which figure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Generated {
    Function {
        name: String,
        metric: FnMetric,
        /// The `Resource` dimension's alias or version, if given.
        qualifier: Option<String>,
        /// The `ExecutedVersion` dimension: the share of the alias's traffic one version
        /// served.
        executed_version: Option<String>,
    },
    Table {
        name: String,
        /// A global secondary index's capacity (`GlobalSecondaryIndexName`); the simulated
        /// account gives each index its table's capacity.
        index: Option<String>,
        metric: TableMetric,
    },
    /// `AWS/Bedrock` tokens by `ModelId`: the sum over every function calling the model.
    Model { model_id: String, output: bool },
}

/// Recognises a metric the traffic model generates. `None` means "not ours" (the metric is read
/// from the PutMetricData store); the dimension set must match what AWS publishes exactly, as a
/// CloudWatch query with extra or missing dimensions names a different metric.
pub(crate) fn classify(id: &MetricId) -> Option<Generated> {
    let dims: Vec<(&str, &str)> = id
        .dimensions
        .iter()
        .map(|d| (d.name.as_str(), d.value.as_str()))
        .collect();
    match id.namespace.as_str() {
        "AWS/Lambda" => {
            let metric = match id.name.as_str() {
                "Invocations" => FnMetric::Invocations,
                "Errors" => FnMetric::Errors,
                "Throttles" => FnMetric::Throttles,
                "Duration" => FnMetric::Duration,
                "ConcurrentExecutions" => FnMetric::ConcurrentExecutions,
                "ProvisionedConcurrencyUtilization" => FnMetric::PcUtilization,
                "ProvisionedConcurrentExecutions" => FnMetric::PcExecutions,
                "ProvisionedConcurrencySpilloverInvocations" => FnMetric::PcSpillover,
                _ => return None,
            };
            let provisioned_only = matches!(
                metric,
                FnMetric::PcUtilization | FnMetric::PcExecutions | FnMetric::PcSpillover
            );
            match dims.as_slice() {
                [("FunctionName", name)] if !provisioned_only => Some(Generated::Function {
                    name: name.to_string(),
                    metric,
                    qualifier: None,
                    executed_version: None,
                }),
                [("FunctionName", name), ("Resource", resource)] => {
                    let qualifier = resource.strip_prefix(name)?.strip_prefix(':')?;
                    Some(Generated::Function {
                        name: name.to_string(),
                        metric,
                        qualifier: Some(qualifier.to_string()),
                        executed_version: None,
                    })
                }
                [
                    ("ExecutedVersion", version),
                    ("FunctionName", name),
                    ("Resource", resource),
                ] if !provisioned_only => {
                    let qualifier = resource.strip_prefix(name)?.strip_prefix(':')?;
                    Some(Generated::Function {
                        name: name.to_string(),
                        metric,
                        qualifier: Some(qualifier.to_string()),
                        executed_version: Some(version.to_string()),
                    })
                }
                _ => None,
            }
        }
        "LambdaInsights" => {
            let metric = match id.name.as_str() {
                "used_memory_max" => FnMetric::UsedMemoryMax,
                "memory_utilization" => FnMetric::MemoryUtilization,
                "init_duration" => FnMetric::InitDuration,
                "total_memory" => FnMetric::TotalMemory,
                "cpu_total_time" => FnMetric::CpuTotalTime,
                _ => return None,
            };
            match dims.as_slice() {
                [("function_name", name)] => Some(Generated::Function {
                    name: name.to_string(),
                    metric,
                    qualifier: None,
                    executed_version: None,
                }),
                _ => None,
            }
        }
        "AWS/Bedrock" => {
            let output = match id.name.as_str() {
                "InputTokenCount" => false,
                "OutputTokenCount" => true,
                _ => return None,
            };
            match dims.as_slice() {
                [("ModelId", model)] => Some(Generated::Model {
                    model_id: model.to_string(),
                    output,
                }),
                _ => None,
            }
        }
        "AWS/DynamoDB" => {
            let metric = match id.name.as_str() {
                "ConsumedReadCapacityUnits" => TableMetric::ConsumedRead,
                "ConsumedWriteCapacityUnits" => TableMetric::ConsumedWrite,
                "ProvisionedReadCapacityUnits" => TableMetric::ProvisionedRead,
                "ProvisionedWriteCapacityUnits" => TableMetric::ProvisionedWrite,
                "ReadThrottleEvents" => TableMetric::ReadThrottleEvents,
                "WriteThrottleEvents" => TableMetric::WriteThrottleEvents,
                "ThrottledRequests" => {
                    return match dims.as_slice() {
                        [("Operation", op), ("TableName", name)] => {
                            let write = match *op {
                                "GetItem" => false,
                                "PutItem" => true,
                                _ => return None,
                            };
                            Some(Generated::Table {
                                name: name.to_string(),
                                index: None,
                                metric: TableMetric::ThrottledRequests { write },
                            })
                        }
                        _ => None,
                    };
                }
                _ => return None,
            };
            let capacity = matches!(
                metric,
                TableMetric::ProvisionedRead | TableMetric::ProvisionedWrite
            );
            match dims.as_slice() {
                [("TableName", name)] => Some(Generated::Table {
                    name: name.to_string(),
                    index: None,
                    metric,
                }),
                [("GlobalSecondaryIndexName", index), ("TableName", name)] if capacity => {
                    Some(Generated::Table {
                        name: name.to_string(),
                        index: Some(index.to_string()),
                        metric,
                    })
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Counts published once per request, as Lambda does (`Errors` is 0 or 1 per invocation, so
/// its Average is the error rate).
fn per_request(hits: u64, requests: u64) -> Option<Agg> {
    if requests == 0 {
        return None;
    }
    let min = if hits >= requests { 1.0 } else { 0.0 };
    let max = if hits > 0 { 1.0 } else { 0.0 };
    Some(Agg::counter(hits as f64, requests as f64, min, max))
}

/// One metric's values in one function minute; `None` when AWS would publish nothing. Without
/// `with_distribution` (no percentile asked for) only the summary is copied, not every value.
pub(crate) fn function_values(
    m: &FunctionMinute,
    metric: FnMetric,
    qualifier: Option<&str>,
    executed_version: Option<&str>,
    with_distribution: bool,
) -> Option<Agg> {
    let insights = matches!(
        metric,
        FnMetric::UsedMemoryMax
            | FnMetric::MemoryUtilization
            | FnMetric::InitDuration
            | FnMetric::TotalMemory
            | FnMetric::CpuTotalTime
    );
    if insights && !m.insights {
        return None;
    }
    let provisioned_metric = matches!(
        metric,
        FnMetric::PcUtilization | FnMetric::PcExecutions | FnMetric::PcSpillover
    );
    // Traffic by alias exists only for the alias callers go through.
    if let (Some(via), Some(q), false) = (&m.via, qualifier, provisioned_metric)
        && via != q
    {
        return None;
    }
    let m = match executed_version {
        Some(v) => m.part(v)?,
        None => m,
    };
    let dist = |a: &Agg| {
        if with_distribution {
            a.clone()
        } else {
            a.summary()
        }
    };
    let inv = m.invocations;
    let provisioned = |q: Option<&str>| {
        m.provisioned
            .iter()
            .find(|(pq, _, _)| Some(pq.as_str()) == q)
            .map(|(_, n, busy)| (*n, *busy))
    };
    let ran = (inv > 0).then_some(());
    match metric {
        FnMetric::Invocations => ran.map(|_| Agg::counter(inv as f64, inv as f64, 1.0, 1.0)),
        FnMetric::Errors => per_request(m.errors, inv),
        FnMetric::Throttles => per_request(m.throttles, m.demand),
        FnMetric::Duration => ran.map(|_| dist(m.duration())),
        FnMetric::ConcurrentExecutions => ran.map(|_| Agg::single(m.concurrency_max)),
        FnMetric::PcUtilization => {
            provisioned(qualifier).map(|(n, busy)| Agg::single(busy / f64::from(n.max(1))))
        }
        FnMetric::PcExecutions => provisioned(qualifier).map(|(_, busy)| Agg::single(busy)),
        FnMetric::PcSpillover => provisioned(qualifier)
            .and(ran)
            .map(|_| Agg::counter(m.spillover as f64, m.spillover as f64, 1.0, 1.0)),
        FnMetric::UsedMemoryMax => ran.map(|_| dist(m.used_memory())),
        FnMetric::MemoryUtilization => {
            ran.map(|_| dist(m.used_memory()).scaled(100.0 / f64::from(m.memory_mb.max(1))))
        }
        FnMetric::InitDuration => (m.cold_starts > 0).then(|| dist(m.init_duration())),
        FnMetric::TotalMemory => ran.map(|_| {
            let mem = f64::from(m.memory_mb);
            Agg::counter(mem * inv as f64, inv as f64, mem, mem)
        }),
        FnMetric::CpuTotalTime => ran.map(|_| dist(m.cpu_time())),
    }
}

/// One metric's values in one table minute; `None` when AWS would publish nothing.
pub(crate) fn table_values(m: &TableMinute, metric: TableMetric) -> Option<Agg> {
    let units = |n: f64| (n > 0.0).then(|| Agg::counter(n, n, 1.0, 1.0));
    match metric {
        TableMetric::ConsumedRead => units(m.reads_consumed),
        TableMetric::ConsumedWrite => units(m.writes_consumed),
        TableMetric::ProvisionedRead => m.provisioned.map(|(r, _)| Agg::single(r as f64)),
        TableMetric::ProvisionedWrite => m.provisioned.map(|(_, w)| Agg::single(w as f64)),
        TableMetric::ReadThrottleEvents => units(m.read_throttles),
        TableMetric::WriteThrottleEvents => units(m.write_throttles),
        TableMetric::ThrottledRequests { write: false } => units(m.read_throttles),
        TableMetric::ThrottledRequests { write: true } => units(m.write_throttles),
    }
}

/// Every series ListMetrics would return for (namespace, metric name): what the traffic model
/// emits for functions and tables that have traffic, and what PutMetricData wrote in the last
/// two weeks (CloudWatch lists only metrics with data that recent).
pub(crate) fn listed(
    state: &super::SimState,
    namespace: &str,
    name: &str,
    now: std::time::SystemTime,
) -> Vec<MetricId> {
    use crate::model::Dimension;
    const TWO_WEEKS: std::time::Duration = std::time::Duration::from_secs(14 * 86_400);
    let mut out = Vec::new();
    let mut candidate = |dims: Vec<Dimension>| {
        let id = MetricId::new(namespace, name, dims);
        if classify(&id).is_some() {
            out.push(id);
        }
    };
    match namespace {
        "AWS/Lambda" => {
            for f in state
                .functions
                .values()
                .filter(|f| f.traffic.peak_rps > 0.0)
            {
                candidate(vec![Dimension::new("FunctionName", &f.name)]);
            }
        }
        "LambdaInsights" => {
            for f in state
                .functions
                .values()
                .filter(|f| f.traffic.peak_rps > 0.0)
            {
                candidate(vec![Dimension::new("function_name", &f.name)]);
            }
        }
        "AWS/Bedrock" => {
            let models: std::collections::BTreeSet<&str> = state
                .functions
                .values()
                .filter(|f| f.traffic.peak_rps > 0.0)
                .flat_map(|f| f.traffic.tokens.iter().map(|(m, _, _)| m.as_str()))
                .collect();
            for m in models {
                candidate(vec![Dimension::new("ModelId", m)]);
            }
        }
        "AWS/DynamoDB" => {
            for name in state.tables.keys() {
                candidate(vec![Dimension::new("TableName", name)]);
                for op in ["GetItem", "PutItem"] {
                    candidate(vec![
                        Dimension::new("Operation", op),
                        Dimension::new("TableName", name),
                    ]);
                }
            }
        }
        _ => {}
    }
    let since = now.checked_sub(TWO_WEEKS).unwrap_or(std::time::UNIX_EPOCH);
    out.extend(
        state
            .custom_metrics
            .series
            .iter()
            .filter(|(id, points)| {
                id.namespace == namespace
                    && id.name == name
                    && points.iter().any(|(t, _)| *t >= since)
            })
            .map(|(id, _)| id.clone()),
    );
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Dimension;

    #[test]
    fn dimension_sets_must_match_what_aws_publishes() {
        let f = |name: &str, dims: Vec<Dimension>| MetricId::new("AWS/Lambda", name, dims);
        let by_fn = vec![Dimension::new("FunctionName", "api")];
        assert!(matches!(
            classify(&f("Duration", by_fn.clone())),
            Some(Generated::Function {
                metric: FnMetric::Duration,
                qualifier: None,
                ..
            })
        ));
        // Provisioned-concurrency metrics exist only per alias or version.
        assert_eq!(
            classify(&f("ProvisionedConcurrencyUtilization", by_fn)),
            None
        );
        let by_alias = vec![
            Dimension::new("FunctionName", "api"),
            Dimension::new("Resource", "api:live"),
        ];
        assert!(matches!(
            classify(&f("ProvisionedConcurrencyUtilization", by_alias)),
            Some(Generated::Function { qualifier: Some(q), .. }) if q == "live"
        ));
        let extra = vec![
            Dimension::new("FunctionName", "api"),
            Dimension::new("Stage", "prod"),
        ];
        assert_eq!(classify(&f("Duration", extra)), None);
        assert_eq!(
            classify(&MetricId::new("Custom/App", "Duration", vec![])),
            None
        );
    }
}
