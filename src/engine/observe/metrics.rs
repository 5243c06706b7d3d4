//! Metric reads: every controller's batches merged into GetMetricData calls of up to 500
//! queries (CloudWatch bills per metric requested, not per call), each batch re-read only when
//! its refresh is due, so a datapoint is paid for once; a metric two batches share is read
//! once. Windows end `observe.metrics_delay` in the past, because CloudWatch data settles late.
//! Every metric requested is counted in `trimtab_cloudwatch_metrics_requested_total`.
//!
//! A cycle whose batches are all fresh costs a lookup per batch and shares the previous
//! snapshot: nothing is copied.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::cloud::Op;
use crate::engine::error_chain;
use crate::model::{Desired, MetricBatch, MetricPoints, MetricQuery, MetricRead, Observed, Page};

use super::exec::Delta;
use super::paging::paginate;
use super::{METRIC_QUERIES_PER_CALL, Observer};

type Points = MetricPoints;

#[derive(Debug, Default)]
pub(super) struct MetricCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// When each batch was last read.
    batches: HashMap<MetricBatch, SystemTime>,
    /// Every metric of those batches, with when it was read.
    entries: HashMap<MetricRead, (SystemTime, Points)>,
    /// Asked for this cycle; the rest are dropped at its end.
    requested: HashSet<MetricBatch>,
    /// What snapshots see, rebuilt only when `entries` changed.
    snapshot: Arc<HashMap<MetricRead, Points>>,
    dirty: bool,
}

impl MetricCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets the batches nobody asked for this cycle, and their metrics.
    pub(super) fn retain_requested(&self) {
        let mut inner = self.lock();
        let requested = std::mem::take(&mut inner.requested);
        if inner.batches.len() == requested.len() {
            return;
        }
        inner.batches.retain(|b, _| requested.contains(b));
        let keep: HashSet<&MetricRead> = requested.iter().flat_map(|b| b.reads()).collect();
        let before = inner.entries.len();
        let entries = std::mem::take(&mut inner.entries);
        inner.entries = entries
            .into_iter()
            .filter(|(k, _)| keep.contains(k))
            .collect();
        inner.dirty |= inner.entries.len() != before;
    }

    fn snapshot(inner: &mut Inner) -> Arc<HashMap<MetricRead, Points>> {
        if inner.dirty {
            inner.snapshot = Arc::new(
                inner
                    .entries
                    .iter()
                    .map(|(k, (_, p))| (k.clone(), p.clone()))
                    .collect(),
            );
            inner.dirty = false;
        }
        inner.snapshot.clone()
    }
}

/// `t` rounded down to a multiple of `period_s` since the epoch.
fn align_down(t: SystemTime, period_s: u32) -> SystemTime {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let period = u64::from(period_s.max(1));
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs - secs % period)
}

impl Observer {
    pub(super) async fn read_metrics(
        &self,
        desired: &Desired,
        _o: &Observed,
        batches: &[MetricBatch],
    ) -> Result<Vec<Delta>, super::ObserveError> {
        if batches.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.gov.clock().now();
        // The metrics of due batches not already read this cycle, by window and period: one
        // time range per GetMetricData call.
        let mut due: BTreeMap<(u32, u32), Vec<MetricRead>> = BTreeMap::new();
        let mut due_batches = Vec::new();
        {
            let mut cache = self.metrics.lock();
            let mut seen: HashSet<&MetricRead> = HashSet::new();
            for batch in batches {
                cache.requested.insert(batch.clone());
                let fresh = cache.batches.get(batch).is_some_and(|at| {
                    now.duration_since(*at).unwrap_or(Duration::MAX)
                        < Duration::from_secs(u64::from(batch.refresh_s()))
                });
                if fresh {
                    continue;
                }
                due_batches.push(batch.clone());
                for read in batch.reads() {
                    let read_now = cache.entries.get(read).is_some_and(|(at, _)| *at == now);
                    if !read_now && seen.insert(read) {
                        due.entry((read.window_s(), read.stat().period_s))
                            .or_default()
                            .push(read.clone());
                    }
                }
            }
        }
        let mut failed = false;
        let settled = now - desired.observe.metrics_delay;
        for ((window_s, period_s), group) in due {
            // Windows end on a period boundary, so every period read is whole and two reads
            // of the same period agree on its bounds.
            let end = align_down(settled, period_s);
            let start = end - Duration::from_secs(u64::from(window_s));
            for batch in group.chunks(METRIC_QUERIES_PER_CALL) {
                let queries: Vec<MetricQuery> = batch
                    .iter()
                    .enumerate()
                    .map(|(i, r)| MetricQuery {
                        id: format!("m{i}"),
                        stat: r.stat().clone(),
                    })
                    .collect();
                let cw = self.cloud.cloudwatch.clone();
                let pages = paginate(&self.gov, Op::GetMetricData, |next| {
                    let (cw, qs) = (cw.clone(), queries.clone());
                    async move {
                        cw.get_metric_data(&qs, start, end, next.as_deref())
                            .await
                            .map(|p| Page {
                                items: p.series,
                                next: p.next,
                            })
                    }
                })
                .await;
                let series = match pages {
                    Ok(series) => {
                        // Each page repeats the batch's queries; CloudWatch bills per metric.
                        self.gov.telemetry().record_metrics_requested(batch.len());
                        series
                    }
                    Err(e) => {
                        // Stale figures (if any) stay and the batch is read again next cycle.
                        tracing::warn!(error = %error_chain(&e), "cannot read metrics this cycle");
                        failed = true;
                        continue;
                    }
                };
                let mut by_index: Vec<Vec<(SystemTime, f64)>> = vec![Vec::new(); batch.len()];
                for s in series {
                    if let Some(i) = s.id.strip_prefix('m').and_then(|n| n.parse::<usize>().ok())
                        && let Some(points) = by_index.get_mut(i)
                    {
                        points.extend(s.points);
                    }
                }
                let mut cache = self.metrics.lock();
                for (read, mut points) in batch.iter().zip(by_index) {
                    points.sort_by_key(|(t, _)| *t);
                    cache.entries.insert(read.clone(), (now, Arc::new(points)));
                }
                cache.dirty = true;
            }
        }
        let mut cache = self.metrics.lock();
        if !failed {
            for batch in due_batches {
                cache.batches.insert(batch, now);
            }
        }
        Ok(vec![Delta::Metrics(MetricCache::snapshot(&mut cache))])
    }
}
