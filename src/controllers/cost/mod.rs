//! Cost per student, computed by trimtab (requirement 11.5): the application's usage read
//! from CloudWatch (Lambda invocations and duration, DynamoDB consumed units, Bedrock tokens by
//! model, the students metric), the configuration trimtab already reads (memory, architecture,
//! provisioned concurrency, provisioned table capacity, the alarms it owns), priced with
//! `[prices]`, projected to a month. The figure is shown by `trimtab cost` and `plan`, carried
//! by `/status` and `/metrics`, and published hourly with PutMetricData to the metric the cost
//! alarm watches, so that alarm has data without any application code.
//!
//! Observation is coarse: one read of hourly sums over `cost.window` (24 h) per `cost.refresh`
//! (1 h): two metrics per function, two per on-demand table, two per model, one for the
//! students. Publishing is once an hour; whether this hour's datapoint is already there is
//! remembered, and after a restart read back from CloudWatch, so a restart neither skips nor
//! repeats an hour.

mod model;
mod settings;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::model::cost::CostReport;
use crate::model::{
    Prices,
    Action, BillingMode, Change, Dimension, MetricBatch, MetricDatum, MetricId, MetricRead,
    MetricStat, Note, Phase, Read, Reads, ResourceKind, ScalableDimension, Write,
};

use super::alarms::settings::{APP_NAMESPACE, COST_METRIC};
use super::{Controller, Cx, Planned, SettingsCx};

pub use model::{FunctionUsage, TableUsage, Usage, estimate};
pub use settings::{Settings, Students};

/// Computes, publishes and guards the cost per student.
pub struct Cost;

pub const MODEL_MIX: &str = "model_mix";
pub const UNPRICED: &str = "unpriced";
pub const OVER_BUDGET: &str = "over_budget";
pub const PRICES_REGION: &str = "prices_region";

const HOUR: Duration = Duration::from_secs(3_600);
const MINUTE: Duration = Duration::from_secs(60);
/// How long a published datapoint may take to show in GetMetricData before it is sent again.
const VISIBLE_WITHIN: Duration = Duration::from_secs(15 * 60);
/// Each hour's datapoint is stamped with the hour's start and sent this far into the hour, so
/// that reading it back (windows end `observe.metrics_delay`, 3 minutes, before now) sees it.
const INTO_THE_HOUR: Duration = Duration::from_secs(10 * 60);
/// The total, published next to the cost per student.
pub const TOTAL_METRIC: &str = "CostMonthly";

#[derive(Debug, Default)]
pub struct Memory {
    /// The usage reads, memoised by what they cover.
    batch: Option<(u64, Reads1)>,
    /// The models with Bedrock traffic, as last listed, and when.
    models: Option<(SystemTime, BTreeSet<String>)>,
    /// The hour whose datapoint is known to be in CloudWatch.
    published: Option<SystemTime>,
    /// The hour planned last, and when.
    pending: Option<(SystemTime, SystemTime)>,
    /// The last estimate had a cost per student: there is something to publish.
    publishable: bool,
    /// Provisioned concurrency allocated (instances, over every alias), by function, as last
    /// listed, and when.
    provisioned: BTreeMap<String, u32>,
    provisioned_at: Option<SystemTime>,
}

/// The provisioned read and write capacity of a table (`index: None`) or one of its global
/// secondary indexes, as CloudWatch saw it hour by hour (auto scaling included).
#[derive(Debug, Clone)]
struct CapacityReads {
    table: String,
    index: Option<String>,
    read: MetricRead,
    write: MetricRead,
}

/// The reads of one usage batch, by what they measure.
#[derive(Debug, Clone)]
struct Reads1 {
    batch: MetricBatch,
    functions: Vec<(String, MetricRead, MetricRead)>,
    tables: Vec<(String, MetricRead, MetricRead)>,
    /// Provisioned capacity held (hourly Average) of provisioned tables and their indexes.
    capacity: Vec<CapacityReads>,
    models: Vec<(String, MetricRead, MetricRead)>,
    students: Option<MetricRead>,
}

fn stat(metric: MetricId, stat: &str) -> MetricStat {
    MetricStat {
        metric,
        period_s: HOUR.as_secs() as u32,
        stat: stat.into(),
    }
}

/// The metric the cost alarm watches (or the default identity when it is off).
pub fn cost_metric(cx_alarms: &super::alarms::Settings) -> MetricId {
    match &cx_alarms.application.cost_per_student {
        Some(a) => MetricId::new(a.namespace.clone(), a.metric.clone(), a.dimensions.clone()),
        None => MetricId::new(APP_NAMESPACE, COST_METRIC, Vec::new()),
    }
}

/// Models with Bedrock traffic in the last two weeks, as ListMetrics says.
fn models_listed(cx: &Cx<'_, Cost>) -> Option<BTreeSet<String>> {
    let listed = cx
        .observed
        .metric_names
        .get(&("AWS/Bedrock".to_string(), "InputTokenCount".to_string()))?;
    Some(
        listed
            .iter()
            .flat_map(|m| m.dimensions.iter())
            .filter(|d| d.name == "ModelId")
            .map(|d| d.value.to_string())
            .collect(),
    )
}

fn usage_reads(cx: &Cx<'_, Cost>, scope: &[&str], models: &BTreeSet<String>) -> Reads1 {
    let s = cx.settings;
    let (window, refresh) = (s.window.as_secs() as u32, s.refresh.as_secs() as u32);
    let read = |m: MetricStat| MetricRead::new(m, window, refresh);
    let lambda = |name: &str, f: &str| {
        MetricId::new("AWS/Lambda", name, vec![Dimension::new("FunctionName", f)])
    };
    let functions: Vec<_> = scope
        .iter()
        .map(|name| {
            (
                name.to_string(),
                read(stat(lambda("Invocations", name), "Sum")),
                read(stat(lambda("Duration", name), "Sum")),
            )
        })
        .collect();
    let tables: Vec<_> = cx
        .desired
        .tables
        .iter()
        .filter(|t| {
            cx.observed
                .tables
                .get(&t.name)
                .is_some_and(|i| i.billing_mode == BillingMode::PayPerRequest)
        })
        .map(|t| {
            let m = |n: &str| {
                MetricId::new("AWS/DynamoDB", n, vec![Dimension::new("TableName", &t.name)])
            };
            (
                t.name.clone(),
                read(stat(m("ConsumedReadCapacityUnits"), "Sum")),
                read(stat(m("ConsumedWriteCapacityUnits"), "Sum")),
            )
        })
        .collect();
    let mut capacity = Vec::new();
    for t in &cx.desired.tables {
        let Some(info) = cx.observed.tables.get(&t.name) else {
            continue;
        };
        if info.billing_mode != BillingMode::Provisioned {
            continue;
        }
        for index in std::iter::once(None).chain(info.indexes.iter().map(Some)) {
            let m = |n: &str| {
                let mut dims = vec![Dimension::new("TableName", &t.name)];
                if let Some(i) = index {
                    dims.push(Dimension::new("GlobalSecondaryIndexName", i));
                }
                read(stat(MetricId::new("AWS/DynamoDB", n, dims), "Average"))
            };
            capacity.push(CapacityReads {
                table: t.name.clone(),
                index: index.cloned(),
                read: m("ProvisionedReadCapacityUnits"),
                write: m("ProvisionedWriteCapacityUnits"),
            });
        }
    }
    let models: Vec<_> = models
        .iter()
        .map(|model| {
            let m =
                |n: &str| MetricId::new("AWS/Bedrock", n, vec![Dimension::new("ModelId", model)]);
            (
                model.clone(),
                read(stat(m("InputTokenCount"), "Sum")),
                read(stat(m("OutputTokenCount"), "Sum")),
            )
        })
        .collect();
    let students = match &s.students {
        Students::Metric {
            namespace,
            name,
            statistic,
        } => Some(read(stat(
            MetricId::new(namespace.clone(), name.clone(), Vec::new()),
            statistic,
        ))),
        Students::Constant(_) => None,
    };
    let all = functions
        .iter()
        .chain(&tables)
        .chain(&models)
        .flat_map(|(_, a, b)| [a.clone(), b.clone()])
        .chain(capacity.iter().flat_map(|c| [c.read.clone(), c.write.clone()]))
        .chain(students.clone())
        .collect();
    Reads1 {
        batch: MetricBatch::of(all, window, refresh),
        functions,
        tables,
        capacity,
        models,
        students,
    }
}

/// What the batch covers, so it is rebuilt only when that changes.
fn batch_key(cx: &Cx<'_, Cost>, scope: &[&str], models: &BTreeSet<String>) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    scope.hash(&mut h);
    for t in &cx.desired.tables {
        let info = cx.observed.tables.get(&t.name);
        (&t.name, info.map(|i| (i.billing_mode == BillingMode::PayPerRequest, &i.indexes)))
            .hash(&mut h);
    }
    models.hash(&mut h);
    (cx.settings.window, cx.settings.refresh, format!("{:?}", cx.settings.students)).hash(&mut h);
    h.finish()
}

/// The start of the hour `t` falls in.
fn hour_of(t: SystemTime) -> SystemTime {
    let s = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    UNIX_EPOCH + Duration::from_secs(s - s % 3_600)
}

/// Reads back this hour's datapoints of the published metric: needed after a restart, and
/// to confirm a publish.
fn read_back(cx: &Cx<'_, Cost>) -> MetricRead {
    MetricRead::new(
        MetricStat {
            metric: cost_metric(&cx.desired.controllers.alarms),
            period_s: MINUTE.as_secs() as u32,
            stat: "SampleCount".into(),
        },
        HOUR.as_secs() as u32,
        0,
    )
}

/// Only while this hour's datapoint is due and not yet confirmed: one metric a cycle for a
/// few cycles an hour, none while there is nothing to publish.
fn needs_read_back(cx: &Cx<'_, Cost>, memory: &Memory) -> bool {
    let hour = hour_of(cx.now);
    cx.settings.publish
        && memory.publishable
        && memory.published != Some(hour)
        && cx.now.duration_since(hour).unwrap_or_default() >= publish_after(cx)
}

/// How far into the hour its datapoint is sent.
fn publish_after(cx: &Cx<'_, Cost>) -> Duration {
    INTO_THE_HOUR.max(cx.desired.observe.metrics_delay + MINUTE)
}

impl Controller for Cost {
    const NAME: &'static str = "cost";
    const NOTE_CODES: &'static [&'static str] = &[MODEL_MIX, UNPRICED, OVER_BUDGET, PRICES_REGION];
    type Settings = Settings;
    type RuleSettings = ();
    type TableSettings = ();
    type Memory = Memory;

    fn settings(cx: &mut SettingsCx<'_, '_, '_>) -> Settings {
        settings::read(cx)
    }

    fn reads(cx: &Cx<'_, Self>, memory: &mut Memory, reads: &mut Reads) {
        if !cx.settings.enabled {
            return;
        }
        let bedrock = Read::MetricNames {
            namespace: "AWS/Bedrock".into(),
            name: "InputTokenCount".into(),
        };
        // Listed once per refresh (ListMetrics is a billed request too), remembered between.
        let fresh = memory.models.as_ref().filter(|(at, _)| {
            cx.now.duration_since(*at).unwrap_or(Duration::MAX) < cx.settings.refresh
        });
        let Some(mut models) = models_listed(cx).or_else(|| fresh.map(|(_, m)| m.clone())) else {
            reads.now(bedrock);
            return;
        };
        // Priced models are read even without a listing, so a model can't hide.
        models.extend(cx.settings.model_prices.keys().cloned());
        let scope: Vec<&str> = cx.functions_in_scope().map(|(name, _, _)| name).collect();
        let key = batch_key(cx, &scope, &models);
        if memory.batch.as_ref().is_none_or(|(k, _)| *k != key) {
            memory.batch = Some((key, usage_reads(cx, &scope, &models)));
        }
        if let Some((_, r)) = &memory.batch {
            reads.now(Read::Metrics(r.batch.clone()));
        }
        // What is allocated, listed once per refresh for the functions that hold some.
        let held = pc_functions(cx);
        let stale = memory.provisioned_at.is_none_or(|at| {
            cx.now.duration_since(at).unwrap_or(Duration::MAX) >= cx.settings.refresh
        }) || held.iter().any(|f| !memory.provisioned.contains_key(*f));
        if stale {
            for function in held {
                reads.now(Read::ProvisionedConfigs {
                    function: function.to_string(),
                });
            }
        }
        if needs_read_back(cx, memory) {
            let r = read_back(cx);
            reads.now(Read::Metrics(MetricBatch::of(
                vec![r],
                HOUR.as_secs() as u32,
                0,
            )));
        }
    }

    fn plan(cx: &Cx<'_, Self>, memory: &mut Memory, out: &mut Planned) {
        if !cx.settings.enabled {
            return;
        }
        if let Some(models) = models_listed(cx) {
            memory.models = Some((cx.now, models));
        }
        let Some((_, r)) = &memory.batch else {
            return;
        };
        let held = pc_functions(cx);
        // Settled allocations are kept for a refresh; one still moving is listed again.
        let settled = held.iter().all(|f| {
            cx.observed.provisioned.get(*f).is_some_and(|configs| {
                configs
                    .iter()
                    .all(|c| c.status != crate::model::ProvisionedStatus::InProgress)
            })
        });
        if !held.is_empty() && settled {
            memory.provisioned_at = Some(cx.now);
        }
        memory.provisioned.retain(|f, _| held.contains(&f.as_str()));
        for f in held {
            if let Some(configs) = cx.observed.provisioned.get(f) {
                let allocated = configs.iter().map(|c| c.allocated).sum();
                memory.provisioned.insert(f.to_string(), allocated);
            }
        }
        let Some(common) = Common::of(cx, r, &memory.provisioned) else {
            return;
        };
        let window = |row: usize| {
            let row = &common.functions[row];
            (row.invocations.sum(None), row.duration_ms.sum(None))
        };
        let Some(usage) = usage_of(cx, r, &common, None, &window) else {
            return;
        };
        let mut report = estimate(&usage, &cx.desired.prices, cx.settings);
        report.hourly = hourly(cx, r, &common);
        notes(cx, &report, out);
        publish(cx, memory, &report, out);
        out.plan.cost = Some(report);
    }
}

/// The cost per student hour by hour over the window (each hour's usage, priced and
/// projected to a month like the whole window's): the recent history a chart draws.
fn hourly(
    cx: &Cx<'_, Cost>,
    r: &Reads1,
    common: &Common<'_>,
) -> Vec<crate::model::cost::HourlyCost> {
    let mut hours: Vec<SystemTime> = common
        .functions
        .iter()
        .flat_map(|row| row.invocations.points.iter().map(|(t, _)| *t))
        .collect();
    hours.sort_unstable();
    hours.dedup();
    // Each function's hours summed in one walk of its series, not one search per hour.
    let sums: Vec<(Vec<f64>, Vec<f64>)> = common
        .functions
        .iter()
        .map(|row| {
            (
                row.invocations.sums_by_hour(&hours),
                row.duration_ms.sums_by_hour(&hours),
            )
        })
        .collect();
    hours
        .iter()
        .enumerate()
        .filter_map(|(i, &h)| {
            let usage = usage_of(cx, r, common, Some(h), &|row| (sums[row].0[i], sums[row].1[i]))?;
            let e = estimate(&usage, &cx.desired.prices, cx.settings);
            Some(crate::model::cost::HourlyCost {
                hour: humantime::format_rfc3339_seconds(h).to_string(),
                total_monthly: e.total_monthly,
                per_student_monthly: e.per_student_monthly,
            })
        })
        .collect()
}

/// In-scope functions with a provisioned-concurrency scalable target, whoever registered it.
fn pc_functions<'a>(cx: &'a Cx<'_, Cost>) -> Vec<&'a str> {
    let mut out: Vec<&str> = cx
        .observed
        .scalable_targets
        .iter()
        .filter(|t| t.dimension == ScalableDimension::LambdaProvisionedConcurrency)
        .filter_map(|t| t.resource_id.strip_prefix("function:")?.split(':').next())
        .filter(|f| cx.observed.functions.contains_key(*f))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// What the window's usage and each of its hours' share, worked out once a cycle (the hourly
/// history prices 24 hours more every cycle).
struct Common<'a> {
    owned_alarms: usize,
    /// Each function read, with what its usage is made of.
    functions: Vec<FunctionRow<'a>>,
}

/// One function's part of the usage, whatever the hour.
struct FunctionRow<'a> {
    function: &'a crate::model::ObservedFunction,
    invocations: Series<'a>,
    duration_ms: Series<'a>,
    /// Provisioned concurrency held: Lambda's allocation once listed, else each scalable
    /// target's minimum.
    provisioned: u32,
}

type Points<'a> = &'a [(SystemTime, f64)];

/// One series' datapoints, in time order (either way), so that one hour's sum is a binary
/// search and every hour's is one walk ([`Series::sums_by_hour`]: the hourly history sums 24
/// hours of 2 series per function, and filtering every point for every hour was a tenth of a
/// steady plan at 1,000 functions). CloudWatch returns a series newest first; a series in no
/// order is copied and sorted (stably).
struct Series<'a> {
    points: Points<'a>,
    by_time: std::borrow::Cow<'a, [(SystemTime, f64)]>,
    newest_first: bool,
}

impl<'a> Series<'a> {
    fn new(points: Points<'a>) -> Self {
        use std::borrow::Cow;
        let (by_time, newest_first) = if points.is_sorted_by(|a, b| a.0 >= b.0) {
            (Cow::Borrowed(points), true)
        } else if points.is_sorted_by(|a, b| a.0 <= b.0) {
            (Cow::Borrowed(points), false)
        } else {
            let mut sorted = points.to_vec();
            sorted.sort_by_key(|(t, _)| *t);
            (Cow::Owned(sorted), false)
        };
        Self {
            points,
            by_time,
            newest_first,
        }
    }

    /// The sum over the window, or over one hour's datapoints: the same values added in the
    /// same order as filtering the series would (a sort is stable). `+ 0.0`: an empty f64 sum
    /// is −0.0, which prints as "-0.00".
    fn sum(&self, hour: Option<SystemTime>) -> f64 {
        let Some(h) = hour else {
            return self.points.iter().map(|(_, v)| v).sum::<f64>() + 0.0;
        };
        let from = if self.newest_first {
            self.by_time.partition_point(|(t, _)| *t > h)
        } else {
            self.by_time.partition_point(|(t, _)| *t < h)
        };
        self.by_time[from..]
            .iter()
            .take_while(|(t, _)| *t == h)
            .map(|(_, v)| v)
            .sum::<f64>()
            + 0.0
    }

    /// [`Series::sum`] of each of `hours` (ascending, distinct), in one walk of the series:
    /// the same values added in the same order. Points at other times are left out.
    fn sums_by_hour(&self, hours: &[SystemTime]) -> Vec<f64> {
        debug_assert!(hours.is_sorted_by(|a, b| a < b), "hours ascending and distinct");
        // -0.0 is the empty sum's start, as in `Iterator::sum`.
        let mut sums = vec![-0.0; hours.len()];
        let mut add = |i: usize, t: SystemTime, v: f64| {
            if hours.get(i) == Some(&t) {
                sums[i] += v;
            }
        };
        if self.newest_first {
            // Hours from the newest, as the points come.
            let mut i = hours.len();
            for &(t, v) in self.by_time.iter() {
                while i > 0 && hours[i - 1] > t {
                    i -= 1;
                }
                if i > 0 {
                    add(i - 1, t, v);
                }
            }
        } else {
            let mut i = 0;
            for &(t, v) in self.by_time.iter() {
                while i < hours.len() && hours[i] < t {
                    i += 1;
                }
                add(i, t, v);
            }
        }
        sums.iter_mut().for_each(|s| *s += 0.0);
        sums
    }
}

impl<'a> Common<'a> {
    /// `None` until every read of the batch is in. `allocated`: Lambda's allocation by
    /// function, where listed.
    fn of(cx: &'a Cx<'_, Cost>, r: &'a Reads1, allocated: &BTreeMap<String, u32>) -> Option<Self> {
        let metrics = &cx.observed.metrics;
        if !r.batch.reads().iter().all(|m| metrics.contains_key(m)) {
            return None;
        }
        let mut minimums: BTreeMap<&str, u32> = BTreeMap::new();
        for t in &cx.observed.scalable_targets {
            if t.dimension != ScalableDimension::LambdaProvisionedConcurrency {
                continue;
            }
            if let Some(name) = t
                .resource_id
                .strip_prefix("function:")
                .and_then(|r| r.split(':').next())
            {
                *minimums.entry(name).or_default() += t.min_capacity;
            }
        }
        let owned_alarms = cx
            .observed
            .alarms
            .values()
            .filter(|a| super::alarms::is_owned(cx.desired, a))
            .count();
        let points = |m: &MetricRead| metrics.get(m).map_or(&[][..], |p| p.as_slice());
        let functions = r
            .functions
            .iter()
            .filter_map(|(name, inv, dur)| {
                Some(FunctionRow {
                    function: cx.observed.functions.get(name)?,
                    invocations: Series::new(points(inv)),
                    duration_ms: Series::new(points(dur)),
                    provisioned: allocated
                        .get(name)
                        .or(minimums.get(name.as_str()))
                        .copied()
                        .unwrap_or(0),
                })
            })
            .collect();
        Some(Self {
            owned_alarms,
            functions,
        })
    }
}

/// The usage over the window, or over one `hour` of it (its datapoints alone). `sums`: the
/// invocations and duration of the function in `common.functions[row]` over the same span.
fn usage_of(
    cx: &Cx<'_, Cost>,
    r: &Reads1,
    common: &Common<'_>,
    hour: Option<SystemTime>,
    sums: &dyn Fn(usize) -> (f64, f64),
) -> Option<Usage> {
    let metrics = &cx.observed.metrics;
    let window = hour.map_or(cx.settings.window, |_| HOUR);
    let in_hour = move |(t, _): &&(SystemTime, f64)| hour.is_none_or(|h| *t == h);
    let points = |m: &MetricRead| -> Vec<(SystemTime, f64)> {
        let all = metrics.get(m).map(|p| p.as_slice()).unwrap_or(&[]);
        all.iter().filter(in_hour).copied().collect()
    };
    let sum = |m: &MetricRead| -> f64 {
        Series::new(metrics.get(m).map_or(&[][..], |p| p.as_slice())).sum(hour)
    };
    let functions = common
        .functions
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let (invocations, duration_ms) = sums(i);
            FunctionUsage {
                architecture: row.function.summary.architecture,
                memory_mb: row.function.summary.memory_mb,
                invocations,
                duration_ms,
                provisioned: row.provisioned,
            }
        })
        .collect();
    let mut tables: Vec<TableUsage> = r
        .tables
        .iter()
        .map(|(_, rd, wr)| TableUsage::OnDemand {
            read_units: sum(rd),
            write_units: sum(wr),
        })
        .collect();
    let window_h = window.as_secs_f64() / 3_600.0;
    for c in &r.capacity {
        // Each point is one hour's average capacity: their sum is unit-hours held.
        let held = |m: &MetricRead| {
            let points = points(m);
            (!points.is_empty()).then(|| points.iter().map(|(_, v)| v).sum::<f64>())
        };
        let info = cx.observed.tables.get(&c.table);
        // No datapoints yet (a table created in the window): what DescribeTable says now, for
        // the table itself; an index without data is named, not guessed.
        let now = |units: Option<u64>| match c.index {
            None => units.map(|u| u as f64 * window_h),
            Some(_) => None,
        };
        let rcu = held(&c.read).or_else(|| now(info.and_then(|i| i.read_capacity)));
        let wcu = held(&c.write).or_else(|| now(info.and_then(|i| i.write_capacity)));
        tables.push(TableUsage::Provisioned {
            name: match &c.index {
                Some(i) => format!("{}/index/{i}", c.table),
                None => c.table.clone(),
            },
            rcu_hours: rcu,
            wcu_hours: wcu,
        });
    }
    let tokens = r
        .models
        .iter()
        .map(|(model, i, o)| (model.clone(), (sum(i), sum(o))))
        .collect();
    let (students, students_source) = match (&cx.settings.students, &r.students) {
        (Students::Constant(n), _) => (Some(*n), "`cost.students` (a configured constant)".into()),
        (
            Students::Metric {
                namespace,
                name,
                statistic,
            },
            Some(m),
        ) => {
            let points = points(m);
            let values = points.iter().map(|(_, v)| *v);
            let n = match statistic.as_str() {
                "Maximum" => values.fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v)))),
                "Minimum" => values.fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.min(v)))),
                _ => (!points.is_empty())
                    .then(|| values.sum::<f64>() / points.len() as f64),
            };
            (
                n,
                format!("{namespace}/{name} ({statistic} over the window)"),
            )
        }
        (Students::Metric { .. }, None) => (None, "not read".into()),
    };
    // What trimtab requests a month at its configured pace: the usage batch once per refresh,
    // and the per-function reads of the other controllers are counted in their own figures
    // (`trimtab_cloudwatch_metrics_cost_dollars`); this is the cost model's own share.
    let per_month = (30 * 86_400) as f64 / cx.settings.refresh.as_secs_f64().max(1.0);
    Some(Usage {
        window,
        functions,
        tables,
        tokens,
        alarms: common.owned_alarms,
        published_metrics: if cx.settings.publish { 2 } else { 0 },
        metrics_requested_per_month: r.batch.reads().len() as f64 * per_month,
        students,
        students_source,
        warmups_monthly: cx
            .fact::<super::coldstart::WarmupSpend>()
            .map(|w| w.0),
        right_sizing_available: cx
            .fact::<super::rightsizing::RightSizingSavings>()
            .map(|s| s.available),
        right_sizing_realised: cx
            .fact::<super::rightsizing::RightSizingSavings>()
            .map(|s| s.realised),
    })
}

fn notes(cx: &Cx<'_, Cost>, report: &CostReport, out: &mut Planned) {
    let mut note = |code: &'static str, id: &str, message: String| {
        out.plan.notes.push(Note {
            controller: Cost::NAME,
            code,
            id: id.to_string(),
            message,
        });
    };
    let region = &cx.desired.cloud.region;
    let prices = &cx.desired.prices;
    // A real account only: the simulated one is priced however its config says.
    let real = cx.desired.cloud.backend == crate::model::Backend::Aws;
    if real && region != "us-east-1" && prices.regional.is_none() && *prices == Prices::default()
    {
        note(
            PRICES_REGION,
            region,
            format!(
                "the account is in {region} but the prices are us-east-1 list prices: write its prices under [prices.regions.{region}]"
            ),
        );
    }
    for w in &report.warnings {
        if w.starts_with("model ") {
            note(UNPRICED, "bedrock", w.clone());
        }
    }
    if let Some(share) = report.cheap_model_share
        && share < cx.settings.model_mix_min_percent
    {
        note(
            MODEL_MIX,
            "bedrock",
            format!(
                "{share:.1} % of Bedrock tokens went to the cheap models ({}), below the {} % the application aims for",
                cx.settings.cheap_models.join(", "),
                cx.settings.model_mix_min_percent
            ),
        );
    }
    if let Some(p) = report.per_student_monthly
        && p > report.target_per_student.1
    {
        note(
            OVER_BUDGET,
            "per_student",
            format!(
                "{:.2} {} per student per month, above the target of {}–{}",
                p, report.currency, report.target_per_student.0, report.target_per_student.1
            ),
        );
    }
}

/// Plans this hour's datapoints unless CloudWatch has them (or they were just sent).
fn publish(cx: &Cx<'_, Cost>, memory: &mut Memory, report: &CostReport, out: &mut Planned) {
    if !cx.settings.publish {
        return;
    }
    memory.publishable = report.per_student_monthly.is_some();
    let Some(per_student) = report.per_student_monthly else {
        return;
    };
    let hour = hour_of(cx.now);
    if memory.published == Some(hour) {
        return;
    }
    let into = cx.now.duration_since(hour).unwrap_or_default();
    let after = publish_after(cx);
    if into < after {
        out.requeue(after - into + MINUTE);
        return;
    }
    let back = read_back(cx);
    let Some(points) = cx.observed.metrics.get(&back) else {
        return; // not read yet: say nothing rather than guess
    };
    if points.iter().any(|(t, n)| *t >= hour && *n > 0.0) {
        memory.published = Some(hour);
        memory.pending = None;
        return;
    }
    if let Some((h, at)) = memory.pending
        && h == hour
        && cx.now.duration_since(at).unwrap_or_default() < VISIBLE_WITHIN
    {
        out.requeue(VISIBLE_WITHIN);
        return; // sent; CloudWatch shows it within minutes
    }
    let metric = cost_metric(&cx.desired.controllers.alarms);
    let total = MetricId::new(metric.namespace.clone(), TOTAL_METRIC, metric.dimensions.clone());
    let namespace = metric.namespace.clone();
    let data = vec![
        MetricDatum {
            metric,
            timestamp: hour,
            value: per_student,
            unit: Some("None".into()),
        },
        MetricDatum {
            metric: total,
            timestamp: hour,
            value: report.total_monthly,
            unit: Some("None".into()),
        },
    ];
    out.plan.changes.push(Change {
        kind: ResourceKind::MetricData,
        id: format!("{namespace}/{COST_METRIC}"),
        action: Action::Update,
        diffs: Vec::new(),
        reason: format!(
            "this hour's cost per student: {:.2} {} a month ({} students, {:.0} {} a month in all)",
            per_student,
            report.currency,
            report.students.unwrap_or(0.0),
            report.total_monthly,
            report.currency
        ),
        phase: Phase::Monitoring,
        writes: vec![Write::PutMetricData {
            namespace: namespace.into(),
            data,
        }],
    });
    memory.pending = Some((hour, cx.now));
}
