//! Metric reads: every controller's queries merged into GetMetricData calls of up to 500
//! queries (CloudWatch bills per metric requested, not per call), each query re-read only when
//! its refresh is due, so a datapoint is paid for once. Windows end `observe.metrics_delay` in
//! the past, because CloudWatch data settles late. Every metric requested is counted in
//! `trimtab_cloudwatch_metrics_requested_total`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::cloud::Op;
use crate::engine::error_chain;
use crate::model::{Desired, MetricQuery, MetricRead, Observed, Page};

use super::exec::Delta;
use super::paging::paginate;
use super::{METRIC_QUERIES_PER_CALL, Observer};

type Points = Vec<(SystemTime, f64)>;

#[derive(Debug, Default)]
pub(super) struct MetricCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<MetricRead, (SystemTime, Points)>,
    /// Asked for this cycle; the rest are dropped at its end.
    requested: HashSet<MetricRead>,
}

impl MetricCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets what nobody asked for this cycle.
    pub(super) fn retain_requested(&self) {
        let mut inner = self.lock();
        let requested = std::mem::take(&mut inner.requested);
        inner.entries.retain(|k, _| requested.contains(k));
    }
}

impl Observer {
    pub(super) async fn read_metrics(
        &self,
        desired: &Desired,
        _o: &Observed,
        reads: &[MetricRead],
    ) -> Result<Vec<Delta>, super::ObserveError> {
        if reads.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.gov.clock().now();
        let mut out: Vec<(MetricRead, Points)> = Vec::new();
        // Due reads, grouped by window length: one time range per GetMetricData call.
        let mut due: BTreeMap<u32, Vec<MetricRead>> = BTreeMap::new();
        {
            let mut cache = self.metrics.lock();
            for read in reads {
                cache.requested.insert(read.clone());
                let fresh = cache.entries.get(read).filter(|(at, _)| {
                    now.duration_since(*at).unwrap_or(Duration::MAX)
                        < Duration::from_secs(u64::from(read.refresh_s))
                });
                match fresh {
                    Some((_, points)) => out.push((read.clone(), points.clone())),
                    None => due.entry(read.window_s).or_default().push(read.clone()),
                }
            }
        }
        let end = now - desired.observe.metrics_delay;
        for (window_s, group) in due {
            let start = end - Duration::from_secs(u64::from(window_s));
            for batch in group.chunks(METRIC_QUERIES_PER_CALL) {
                let queries: Vec<MetricQuery> = batch
                    .iter()
                    .enumerate()
                    .map(|(i, r)| MetricQuery {
                        id: format!("m{i}"),
                        stat: r.stat.clone(),
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
                        tracing::warn!(error = %error_chain(&e), "cannot read metrics this cycle");
                        // Stale figures are better than none; they are read again next cycle.
                        let cache = self.metrics.lock();
                        for read in batch {
                            if let Some((_, points)) = cache.entries.get(read) {
                                out.push((read.clone(), points.clone()));
                            }
                        }
                        continue;
                    }
                };
                let mut by_index: Vec<Points> = vec![Vec::new(); batch.len()];
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
                    cache.entries.insert(read.clone(), (now, points.clone()));
                    out.push((read.clone(), points));
                }
            }
        }
        Ok(vec![Delta::Metrics(out)])
    }
}
