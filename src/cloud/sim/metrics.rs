//! CloudWatch's metric side: the bounded store behind PutMetricData, and GetMetricData's
//! evaluation (validation, period buckets, statistics including percentiles, newest-first
//! output, the 100,800-datapoint page limit). Generated metrics come from `traffic` via
//! `sources`, computed on demand from a snapshot taken under the lock, so heavy reads never
//! block other calls.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::cloud::{CloudResult, Op};
use crate::model::{MetricDataPage, MetricDatum, MetricId, MetricQuery, MetricSeries, MetricStat};

use super::errors;
use super::minute_cache::{MinuteCache, fingerprint};
use super::sources::{Generated, classify, function_values, table_values};
use super::state::{SimFunctionState, SimState, TableRecord};
use super::stats::Agg;
use super::traffic::{FunctionMinute, function_minute, minute_of, minute_start, table_minute};

pub(crate) const MAX_QUERIES: usize = 500;
pub(crate) const MAX_DATAPOINTS: usize = 100_800;
pub(crate) const MAX_PUT_DATA: usize = 1_000;
/// CloudWatch keeps raw (sub-hour) values for 15 days; older ones cannot be read at fine periods
/// anyway, so the store drops them.
const RETENTION: Duration = Duration::from_secs(15 * 24 * 3_600);
/// Bounds so a runaway writer cannot exhaust memory.
const MAX_VALUES_PER_METRIC: usize = 50_000;
const MAX_METRICS: usize = 100_000;

/// Values written with PutMetricData, by metric, each series sorted by time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "Vec<StoredSeries>", into = "Vec<StoredSeries>")]
pub struct MetricStore {
    pub series: BTreeMap<MetricId, Vec<(SystemTime, f64)>>,
}

/// `MetricId` is not a string, so JSON stores the map as a list.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredSeries {
    metric: MetricId,
    points: Vec<(SystemTime, f64)>,
}

impl From<Vec<StoredSeries>> for MetricStore {
    fn from(v: Vec<StoredSeries>) -> Self {
        Self {
            series: v.into_iter().map(|s| (s.metric, s.points)).collect(),
        }
    }
}

impl From<MetricStore> for Vec<StoredSeries> {
    fn from(m: MetricStore) -> Self {
        m.series
            .into_iter()
            .map(|(metric, points)| StoredSeries { metric, points })
            .collect()
    }
}

impl MetricStore {
    /// Validates and stores one PutMetricData call, all or nothing, as AWS does.
    pub(crate) fn put(
        &mut self,
        op: Op,
        namespace: &str,
        data: &[MetricDatum],
        now: SystemTime,
    ) -> CloudResult<()> {
        if namespace.is_empty() || namespace.len() > 255 || namespace.starts_with("AWS/") {
            return Err(errors::invalid(
                op,
                format!(
                    "namespace {namespace:?} is not allowed (empty, too long, or reserved AWS/)"
                ),
            ));
        }
        if data.is_empty() || data.len() > MAX_PUT_DATA {
            return Err(errors::invalid(
                op,
                format!("{} values: PutMetricData takes 1 to 1,000", data.len()),
            ));
        }
        for d in data {
            if d.metric.namespace != namespace {
                return Err(errors::invalid(
                    op,
                    format!("metric {} is not in namespace {namespace}", d.metric.name),
                ));
            }
            if d.metric.name.is_empty() || d.metric.dimensions.len() > 30 {
                return Err(errors::invalid(
                    op,
                    "metric name empty or more than 30 dimensions",
                ));
            }
            if !d.value.is_finite() {
                return Err(errors::invalid(
                    op,
                    format!(
                        "value {} of {} is not a finite number",
                        d.value, d.metric.name
                    ),
                ));
            }
            let too_old = now
                .checked_sub(Duration::from_secs(14 * 24 * 3_600))
                .is_some_and(|limit| d.timestamp < limit);
            if too_old || d.timestamp > now + Duration::from_secs(2 * 3_600) {
                return Err(errors::invalid(
                    op,
                    "timestamps must be within the last two weeks and the next two hours",
                ));
            }
        }
        let new_metrics: BTreeSet<&MetricId> = data
            .iter()
            .map(|d| &d.metric)
            .filter(|m| !self.series.contains_key(*m))
            .collect();
        if self.series.len() + new_metrics.len() > MAX_METRICS {
            return Err(errors::limit(
                op,
                format!("the simulated account holds at most {MAX_METRICS} custom metrics"),
            ));
        }
        let horizon = now.checked_sub(RETENTION);
        for d in data {
            let points = self.series.entry(d.metric.clone()).or_default();
            let at = points.partition_point(|(t, _)| *t <= d.timestamp);
            points.insert(at, (d.timestamp, d.value));
            if let Some(h) = horizon {
                let old = points.partition_point(|(t, _)| *t < h);
                points.drain(..old);
            }
            if points.len() > MAX_VALUES_PER_METRIC {
                let excess = points.len() - MAX_VALUES_PER_METRIC;
                points.drain(..excess);
            }
        }
        Ok(())
    }
}

/// Everything GetMetricData needs, copied out of the state so evaluation runs unlocked.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub seed: u64,
    pub now: SystemTime,
    pub unreserved: u32,
    pub functions: BTreeMap<String, SimFunctionState>,
    pub tables: BTreeMap<String, TableRecord>,
    pub custom: BTreeMap<MetricId, Vec<(SystemTime, f64)>>,
}

impl Snapshot {
    pub(crate) fn take(state: &SimState, queries: &[MetricQuery], now: SystemTime) -> Self {
        let mut snap = Snapshot {
            seed: state.seed,
            now,
            unreserved: state.unreserved(),
            functions: BTreeMap::new(),
            tables: BTreeMap::new(),
            custom: BTreeMap::new(),
        };
        for q in queries {
            let id = &q.stat.metric;
            match classify(id) {
                Some(Generated::Function { name, .. }) if state.functions.contains_key(&name) => {
                    if let Some(f) = state.functions.get(&name) {
                        snap.functions.insert(name, f.clone());
                    }
                }
                Some(Generated::Table { name, index, .. })
                    if state
                        .tables
                        .get(&name)
                        .is_some_and(|t| index.as_ref().is_none_or(|i| t.indexes.contains(i))) =>
                {
                    if let Some(t) = state.tables.get(&name) {
                        snap.tables.insert(name, t.clone());
                    }
                }
                Some(Generated::Model { model_id, .. }) => {
                    for f in state.functions.values() {
                        if f.traffic.tokens.iter().any(|(m, _, _)| *m == model_id) {
                            snap.functions.insert(f.name.clone(), f.clone());
                        }
                    }
                }
                _ => {
                    if let Some(points) = state.custom_metrics.series.get(id) {
                        snap.custom.insert(id.clone(), points.clone());
                    }
                }
            }
        }
        snap
    }
}

fn valid_stat(stat: &MetricStat) -> bool {
    matches!(
        stat.stat.as_str(),
        "Sum" | "Average" | "Minimum" | "Maximum" | "SampleCount"
    ) || stat.percentile().is_some()
}

fn valid_period(period_s: u32) -> bool {
    period_s > 0 && (period_s.is_multiple_of(60) || matches!(period_s, 1 | 5 | 10 | 30))
}

/// Checks a GetMetricData request the way CloudWatch does before reading anything.
pub(crate) fn validate(
    op: Op,
    queries: &[MetricQuery],
    start: SystemTime,
    end: SystemTime,
) -> CloudResult<()> {
    if queries.is_empty() || queries.len() > MAX_QUERIES {
        return Err(errors::invalid(
            op,
            format!(
                "{} queries: GetMetricData takes 1 to {MAX_QUERIES}",
                queries.len()
            ),
        ));
    }
    if start >= end {
        return Err(errors::invalid(op, "StartTime must be before EndTime"));
    }
    let mut ids = BTreeSet::new();
    for q in queries {
        let well_formed = q.id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && q.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && q.id.len() <= 255;
        if !well_formed {
            return Err(errors::invalid(
                op,
                format!(
                    "query id {:?} must start with a lower-case letter and be alphanumeric",
                    q.id
                ),
            ));
        }
        if !ids.insert(q.id.as_str()) {
            return Err(errors::invalid(
                op,
                format!("duplicate query id {:?}", q.id),
            ));
        }
        if !valid_period(q.stat.period_s) {
            return Err(errors::invalid(
                op,
                format!(
                    "period {} must be 1, 5, 10, 30 or a multiple of 60",
                    q.stat.period_s
                ),
            ));
        }
        if !valid_stat(&q.stat) {
            return Err(errors::invalid(
                op,
                format!("statistic {:?} is not supported", q.stat.stat),
            ));
        }
        if q.stat.metric.namespace.is_empty() || q.stat.metric.name.is_empty() {
            return Err(errors::invalid(
                op,
                format!("query {} names no metric", q.id),
            ));
        }
    }
    Ok(())
}

/// A statistic of a bucket's values; `None` when it has none or the statistic is undefined
/// for them (percentiles of a metric published only as aggregates).
pub(crate) fn statistic(agg: &Agg, stat: &MetricStat) -> Option<f64> {
    if agg.count <= 0.0 {
        return None;
    }
    match stat.stat.as_str() {
        "Sum" => Some(agg.sum),
        "Average" => Some(agg.sum / agg.count),
        "Minimum" => Some(agg.min),
        "Maximum" => Some(agg.max),
        "SampleCount" => Some(agg.count),
        _ => stat.percentile().and_then(|p| agg.percentile(p)),
    }
}

/// The bucket start times of a query, oldest first: CloudWatch rounds the start down to the
/// minute and steps by the period.
fn buckets(start: SystemTime, end: SystemTime, period: Duration) -> Vec<SystemTime> {
    let first = minute_start(minute_of(start));
    let mut out = Vec::new();
    let mut b = first;
    while b < end {
        out.push(b);
        b += period;
    }
    out
}

/// Evaluates every query over `[start, end)`, then returns the page `next` points at.
pub(crate) fn evaluate(
    op: Op,
    cache: &Mutex<MinuteCache>,
    snap: &Snapshot,
    queries: &[MetricQuery],
    start: SystemTime,
    end: SystemTime,
    next: Option<&str>,
) -> CloudResult<MetricDataPage> {
    let offset = match next {
        None => 0,
        Some(token) => token
            .strip_prefix("GetMetricData.")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| errors::invalid(op, format!("invalid NextToken {token:?}")))?,
    };
    let all = evaluate_all(cache, snap, queries, start, end);
    paginate(all, offset)
}

fn evaluate_all(
    cache: &Mutex<MinuteCache>,
    snap: &Snapshot,
    queries: &[MetricQuery],
    start: SystemTime,
    end: SystemTime,
) -> Vec<MetricSeries> {
    // Only complete minutes exist: nothing from the future, nor from the minute still running.
    let end = end.min(minute_start(minute_of(snap.now)));
    let generated: Vec<Option<Generated>> =
        queries.iter().map(|q| classify(&q.stat.metric)).collect();
    // Queries on one function share its minutes: evaluate them together and keep that
    // function's minutes at hand (the shared cache costs a fingerprint and a lock per lookup).
    let mut order: Vec<usize> = (0..queries.len()).collect();
    order.sort_by_key(|i| match &generated[*i] {
        Some(Generated::Function { name, .. }) => Some(name.as_str()),
        _ => None,
    });
    let mut local: HashMap<u64, Arc<FunctionMinute>> = HashMap::new();
    let mut local_for: Option<&str> = None;
    let mut out: Vec<Option<MetricSeries>> = vec![None; queries.len()];
    for i in order {
        let q = &queries[i];
        let with_distribution = q.stat.percentile().is_some();
        let mut period_s = u64::from(q.stat.period_s);
        let mut from = start;
        if generated[i].is_some() {
            // Generated metrics are 1-minute metrics, kept as long as CloudWatch keeps each
            // resolution.
            period_s = period_s.max(60);
            if let Some(oldest) = snap.now.checked_sub(retention_for(period_s)) {
                from = from.max(oldest);
            }
        }
        let period = Duration::from_secs(period_s);
        let mut points = Vec::new();
        let bucket_starts = if from < end {
            buckets(from, end, period)
        } else {
            Vec::new()
        };
        for b in bucket_starts {
            let b_end = (b + period).min(end);
            let agg = match &generated[i] {
                Some(Generated::Function {
                    name,
                    metric,
                    qualifier,
                    executed_version,
                }) => snap.functions.get(name).map(|f| {
                    let mut agg = Agg::default();
                    if qualifier.as_ref().is_some_and(|q| !f.has_qualifier(q)) {
                        return agg;
                    }
                    if local_for != Some(name.as_str()) {
                        local.clear();
                        local_for = Some(name.as_str());
                    }
                    for m in bucket_minutes(b, b_end) {
                        let fm = local
                            .entry(m)
                            .or_insert_with(|| cached_minute(cache, snap, f, m));
                        let (q, v) = (qualifier.as_deref(), executed_version.as_deref());
                        if let Some(v) = function_values(fm, *metric, q, v, with_distribution) {
                            agg.merge(v);
                        }
                    }
                    agg
                }),
                Some(Generated::Model { model_id, output }) => {
                    let mut agg = Agg::default();
                    let mut any = false;
                    for f in snap.functions.values() {
                        let Some(&(_, input, out)) =
                            f.traffic.tokens.iter().find(|(m, _, _)| m == model_id)
                        else {
                            continue;
                        };
                        let per = if *output { out } else { input };
                        for m in bucket_minutes(b, b_end) {
                            let fm = cached_minute(cache, snap, f, m);
                            if fm.invocations > 0 {
                                let n = fm.invocations as f64;
                                agg.merge(Agg::counter(per * n, n, per, per));
                                any = true;
                            }
                        }
                    }
                    any.then_some(agg)
                }
                Some(Generated::Table {
                    name,
                    index,
                    metric,
                }) => snap
                    .tables
                    .get(name)
                    .filter(|t| index.as_ref().is_none_or(|i| t.indexes.contains(i)))
                    .map(|t| {
                        let mut agg = Agg::default();
                        for m in bucket_minutes(b, b_end) {
                            if let Some(v) =
                                table_values(&table_minute(snap.seed, name, t, m), *metric)
                            {
                                agg.merge(v);
                            }
                        }
                        agg
                    }),
                None => None,
            };
            let agg = agg.or_else(|| {
                let stored = snap.custom.get(&q.stat.metric)?;
                let lo = stored.partition_point(|(t, _)| *t < b);
                let hi = stored.partition_point(|(t, _)| *t < b_end.min(snap.now));
                Agg::values(stored.get(lo..hi)?.iter().map(|(_, v)| *v).collect())
            });
            if let Some(v) = agg.as_ref().and_then(|a| statistic(a, &q.stat)) {
                points.push((b, v));
            }
        }
        points.reverse();
        out[i] = Some(MetricSeries {
            id: q.id.clone(),
            points,
            complete: true,
        });
    }
    out.into_iter().flatten().collect()
}

/// One function minute, from the shared cache when an identical one was evaluated before. The
/// lock is held only for the lookup and the insert, never while evaluating.
fn cached_minute(
    cache: &Mutex<MinuteCache>,
    snap: &Snapshot,
    f: &SimFunctionState,
    minute: u64,
) -> Arc<FunctionMinute> {
    let fp = fingerprint(snap.seed, f, snap.unreserved, minute);
    let lock = || cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(hit) = lock().get(minute, fp) {
        return hit;
    }
    let fresh = Arc::new(function_minute(snap.seed, f, snap.unreserved, minute));
    lock().put(minute, fp, fresh.clone());
    fresh
}

/// How far back CloudWatch serves datapoints of a period: 1-minute data for 15 days, 5-minute
/// data for 63 days, hourly data for 455 days.
fn retention_for(period_s: u64) -> Duration {
    let days = match period_s {
        0..300 => 15,
        300..3_600 => 63,
        _ => 455,
    };
    Duration::from_secs(days * 24 * 3_600)
}

/// The whole minutes inside `[from, to)`.
fn bucket_minutes(from: SystemTime, to: SystemTime) -> impl Iterator<Item = u64> {
    let first = minute_of(from);
    let last = minute_of(to); // exclusive: `to` is on a minute boundary or clipped to one
    first..last.max(first)
}

/// Splits the flattened datapoints of all series into pages of at most `MAX_DATAPOINTS`.
fn paginate(all: Vec<MetricSeries>, offset: usize) -> CloudResult<MetricDataPage> {
    let total: usize = all.iter().map(|s| s.points.len()).sum();
    let page_end = (offset + MAX_DATAPOINTS).min(total);
    let mut series = Vec::new();
    let mut seen = 0usize;
    for s in all {
        let (s_start, s_end) = (seen, seen + s.points.len());
        seen = s_end;
        let empty_on_first = s.points.is_empty() && offset == 0;
        if !empty_on_first && (s_end <= offset || s_start >= page_end) {
            continue;
        }
        let lo = offset.saturating_sub(s_start).min(s.points.len());
        let hi = page_end.saturating_sub(s_start).min(s.points.len());
        series.push(MetricSeries {
            id: s.id,
            points: s.points.get(lo..hi).map(<[_]>::to_vec).unwrap_or_default(),
            complete: s_end <= page_end,
        });
    }
    let next = (page_end < total).then(|| format!("GetMetricData.{page_end}"));
    Ok(MetricDataPage { series, next })
}
