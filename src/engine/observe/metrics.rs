//! Metric reads: every controller's batches merged into GetMetricData calls of up to 500
//! queries (CloudWatch bills per metric requested, not per call), each batch re-read only when
//! its refresh is due, so a datapoint is paid for once; a metric two batches share is read
//! once. Windows end `observe.metrics_delay` in the past, because CloudWatch data settles late.
//! Every metric requested is counted in `trimtab_cloudwatch_metrics_requested_total`.
//!
//! A cycle whose batches are all fresh costs a lookup per batch and shares the previous
//! snapshot: nothing is copied. The cache and the snapshots are one map, shared: it is copied
//! only when new figures arrive while an observation still holds it, and between cycles the
//! process keeps one copy, not a cache and a snapshot beside it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::cloud::Op;
use crate::engine::error_chain;
use crate::model::{Desired, MetricBatch, MetricMap, MetricQuery, MetricRead, Observed, Page};

use super::exec::Delta;
use super::paging::paginate;
use super::{METRIC_QUERIES_PER_CALL, Observer};

#[derive(Debug, Default)]
pub(super) struct MetricCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// When each batch was last read.
    batches: HashMap<MetricBatch, SystemTime>,
    /// Every metric of those batches: what snapshots see, copied on write.
    entries: Arc<MetricMap>,
    /// Read during this cycle, so that two batches sharing a metric read it once; emptied
    /// (and its memory returned) when a cycle starts and when it ends.
    read_this_cycle: HashSet<MetricRead, foldhash::fast::RandomState>,
    /// Asked for this cycle; the rest are dropped at its end.
    requested: HashSet<MetricBatch>,
}

impl MetricCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A cycle starts: nothing has been read in it yet.
    pub(super) fn begin_cycle(&self) {
        self.lock().read_this_cycle = HashSet::default();
    }

    /// The cycle's reads are done: forgets the batches nobody asked for in it, and their
    /// metrics.
    pub(super) fn retain_requested(&self) {
        let mut inner = self.lock();
        inner.read_this_cycle = HashSet::default();
        let requested = std::mem::take(&mut inner.requested);
        if inner.batches.len() == requested.len() {
            return;
        }
        inner.batches.retain(|b, _| requested.contains(b));
        let keep: HashSet<&MetricRead> = requested.iter().flat_map(|b| b.reads()).collect();
        if inner.entries.keys().all(|k| keep.contains(k)) {
            return;
        }
        // A new map rather than a copy to trim: the observation in hand holds this one.
        let kept = inner
            .entries
            .iter()
            .filter(|(k, _)| keep.contains(k))
            .map(|(k, p)| (k.clone(), p.clone()))
            .collect();
        inner.entries = Arc::new(kept);
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
                    if !cache.read_this_cycle.contains(read) && seen.insert(read) {
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
                let cache = &mut *cache;
                // Copied here only if an observation of this cycle still holds the map.
                let entries = Arc::make_mut(&mut cache.entries);
                for (read, mut points) in batch.iter().zip(by_index) {
                    points.sort_by_key(|(t, _)| *t);
                    entries.insert(read.clone(), Arc::new(points));
                    cache.read_this_cycle.insert(read.clone());
                }
            }
        }
        let mut cache = self.metrics.lock();
        if !failed {
            for batch in due_batches {
                cache.batches.insert(batch, now);
            }
        }
        Ok(vec![Delta::Metrics(cache.entries.clone())])
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::cloud::sim::SimAccount;
    use crate::engine::governor::Governor;
    use crate::engine::observe::tag_cache::TagCache;
    use crate::model::{Dimension, MetricId, MetricStat, SimSettings};
    use crate::telemetry::Telemetry;

    fn read(name: &str) -> MetricRead {
        let metric = MetricId::new(
            "AWS/Lambda",
            name,
            vec![Dimension::new("FunctionName", "checkout")],
        );
        MetricRead::new(
            MetricStat {
                metric,
                period_s: 300,
                stat: "Sum".into(),
            },
            3600,
            600,
        )
    }

    fn snapshot(delta: Vec<Delta>) -> Arc<MetricMap> {
        match delta.into_iter().next() {
            Some(Delta::Metrics(m)) => m,
            _ => panic!("expected one metrics delta"),
        }
    }

    /// Two batches sharing a metric read it once, in one round or in two of the same cycle;
    /// fresh batches cost no call and share the previous snapshot; a batch nobody asks for any
    /// more is forgotten with its metrics; new figures go into a copy while an observation
    /// holds the map, in place otherwise; a cycle that ended without its bookkeeping does not
    /// keep the next from reading what is due.
    #[tokio::test]
    async fn reads_each_metric_once_and_copies_only_on_write() {
        let clock = Arc::new(ManualClock::at_epoch());
        let desired = crate::controllers::fixtures::desired();
        let sim = SimAccount::new(&SimSettings::default(), "us-east-1", clock.clone())
            .unwrap_or_else(|e| panic!("{e}"));
        let telemetry = Telemetry::new().unwrap_or_else(|e| panic!("{e}"));
        let gov = Governor::new(
            clock.clone(),
            telemetry.clone(),
            BTreeMap::new(),
            Default::default(),
        );
        let observer = Observer::new(sim.cloud(), gov, Arc::new(TagCache::default()));
        let o = Observed::empty(clock.now(), "us-east-1");
        let (a, b, c) = (read("Invocations"), read("Errors"), read("Throttles"));
        let first = MetricBatch::of(vec![a.clone(), b.clone()], 3600, 600);
        let second = MetricBatch::of(vec![b.clone(), c.clone()], 3600, 600);
        let requested = || telemetry.metrics_requested.get();
        let round = |batches: Vec<MetricBatch>| {
            let (observer, desired, o) = (&observer, &desired, &o);
            async move {
                let got = observer
                    .read_metrics(desired, o, &batches)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                snapshot(got)
            }
        };
        let cycle = |batches: Vec<MetricBatch>| {
            let (observer, round) = (&observer, &round);
            async move {
                observer.metrics.begin_cycle();
                let got = round(batches).await;
                observer.metrics.retain_requested();
                got
            }
        };

        let one = cycle(vec![first.clone(), second.clone()]).await;
        assert_eq!(requested(), 3, "b is shared by both batches: read once");
        assert_eq!(one.len(), 3);

        clock.advance(Duration::from_secs(60));
        let two = cycle(vec![first.clone(), second.clone()]).await;
        assert_eq!(requested(), 3, "fresh batches make no call");
        assert!(
            Arc::ptr_eq(&one, &two),
            "and share the snapshot: nothing copied"
        );

        let three = cycle(vec![first.clone()]).await;
        assert_eq!(requested(), 3);
        assert!(three.contains_key(&b), "still fresh, still read by `first`");
        let four = cycle(vec![first.clone()]).await;
        assert!(
            !four.contains_key(&c) && four.len() == 2,
            "`second` was not asked for last cycle: its own metric is forgotten"
        );

        // Past the refresh `first` is read again into a copy: `one` (an observation's) still
        // holds the map.
        clock.advance(Duration::from_secs(600));
        let five = cycle(vec![first.clone()]).await;
        assert_eq!(requested(), 5);
        assert!(!Arc::ptr_eq(&four, &five));
        assert!(!Arc::ptr_eq(&one[&a], &five[&a]), "new figures");
        assert_eq!(five.len(), 2);
        drop((one, two, three, four));
        // Nobody else holds the map now: the next write goes into it in place.
        clock.advance(Duration::from_secs(600));
        let before = Arc::as_ptr(&five);
        drop(five);
        let six = cycle(vec![first.clone()]).await;
        assert_eq!(requested(), 7);
        assert_eq!(Arc::as_ptr(&six), before, "written in place, not copied");
        drop(six);

        // Two rounds of one cycle: `b`, read in the first, is not read again for `second`.
        clock.advance(Duration::from_secs(600));
        observer.metrics.begin_cycle();
        round(vec![first.clone()]).await;
        assert_eq!(requested(), 9);
        let both = round(vec![second]).await;
        observer.metrics.retain_requested();
        assert_eq!(requested(), 10, "only `c` in the second round");
        assert_eq!(both.len(), 3);

        // A cycle that ends without its bookkeeping (its observation failed): the next one
        // still reads what is due.
        clock.advance(Duration::from_secs(600));
        observer.metrics.begin_cycle();
        round(vec![first.clone()]).await;
        assert_eq!(requested(), 12);
        clock.advance(Duration::from_secs(600));
        observer.metrics.begin_cycle();
        round(vec![first]).await;
        assert_eq!(requested(), 14);
    }
}
