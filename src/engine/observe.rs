//! Observe: read the account into one [`Observed`] snapshot per cycle, in as few calls as AWS
//! allows, reading only what the desired state needs.
//!
//! - Functions: ListFunctions pages (50 each); GetFunction (its own 100 req/s quota, never the
//!   shared control plane) only for functions a tag selector might match.
//! - Alarms: DescribeAlarms pages (100 each) filtered by trimtab's name prefix, so other people's
//!   alarms are never even read. Their tags (not in DescribeAlarms) come from ListTagsForResource,
//!   cached (see `tag_cache`).
//! - Metrics: GetMetricData in batches of ≤ 500 queries, once per `metrics_window` (each
//!   datapoint is paid for once), counted in `trimtab_cloudwatch_metrics_requested_total`.
//!
//! A failed listing fails the observation (a partial alarm list could make pruning delete what it
//! should not); a failed per-resource read marks just that resource unknown.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures::StreamExt;

use crate::cloud::{Cloud, CloudError, CloudResult, ErrorKind, Op};
use crate::controllers::notifications::topic_name;
use crate::controllers::scope::{RuleMatch, rule_for};
use crate::model::{
    Desired, Dimension, FunctionMetrics, MetricId, MetricQuery, MetricStat, Notifications,
    Observed, ObservedAlarm, ObservedFunction, ObservedTopic, Page,
};

use super::governor::Governor;
use super::tag_cache::TagCache;

/// GetMetricData's limit of queries per call.
pub const METRIC_QUERIES_PER_CALL: usize = 500;
/// Concurrent per-resource reads (GetFunction, ListTagsForResource, DescribeTable).
pub(super) const READ_CONCURRENCY: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error("listing Lambda functions")]
    ListFunctions(#[source] CloudError),
    #[error("describing alarms with prefix {prefix:?}")]
    DescribeAlarms {
        prefix: String,
        #[source]
        source: CloudError,
    },
    #[error("listing SNS topics")]
    ListTopics(#[source] CloudError),
    #[error("listing Application Auto Scaling targets")]
    ScalableTargets(#[source] CloudError),
    #[error("listing Application Auto Scaling policies")]
    ScalingPolicies(#[source] CloudError),
    #[error("listing trimtab's warm-up rules")]
    ListRules(#[source] CloudError),
    #[error("listing the targets of rule {rule}")]
    ListTargets {
        rule: String,
        #[source]
        source: CloudError,
    },
    #[error("reading the subscriptions of topic {arn}")]
    ListSubscriptions {
        arn: String,
        #[source]
        source: CloudError,
    },
}

/// Reads every page of a listing, each page one governed call.
pub async fn paginate<T, F, Fut>(gov: &Governor, op: Op, mut fetch: F) -> CloudResult<Vec<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = CloudResult<Page<T>>>,
{
    let mut items = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = gov.call(op, || fetch(next.clone())).await?;
        items.extend(page.items);
        match page.next {
            Some(token) if Some(&token) != next.as_ref() => next = Some(token),
            _ => return Ok(items),
        }
    }
}

/// One governed call per key, `READ_CONCURRENCY` at a time; each key comes back with its result,
/// so one key's failure is that key's alone.
pub(super) async fn call_each<K, T, F, Fut>(
    gov: &Governor,
    op: Op,
    keys: impl IntoIterator<Item = K>,
    call: F,
) -> Vec<(K, CloudResult<T>)>
where
    K: Clone,
    F: Fn(K) -> Fut,
    Fut: Future<Output = CloudResult<T>>,
{
    let call = &call;
    futures::stream::iter(keys)
        .map(|key| async move {
            let result = gov.call(op, || call(key.clone())).await;
            (key, result)
        })
        .buffer_unordered(READ_CONCURRENCY)
        .collect()
        .await
}

/// Reads every page of one listing per key, `READ_CONCURRENCY` keys at a time, and returns each
/// key with its result, so one key's failure is that key's alone.
pub(super) async fn paginate_each<K, T, F, Fut>(
    gov: &Governor,
    op: Op,
    keys: impl IntoIterator<Item = K>,
    fetch: F,
) -> Vec<(K, CloudResult<Vec<T>>)>
where
    K: Clone,
    F: Fn(K, Option<String>) -> Fut,
    Fut: Future<Output = CloudResult<Page<T>>>,
{
    let fetch = &fetch;
    futures::stream::iter(keys)
        .map(|key| async move {
            let result = paginate(gov, op, |next| fetch(key.clone(), next)).await;
            (key, result)
        })
        .buffer_unordered(READ_CONCURRENCY)
        .collect()
        .await
}

#[derive(Debug, Clone)]
struct CachedMetrics {
    read_at: SystemTime,
    functions: BTreeSet<String>,
    metrics: BTreeMap<String, FunctionMetrics>,
}

/// Reads the account. Holds only caches that are safe to lose.
#[derive(Debug)]
pub struct Observer {
    pub(super) cloud: Cloud,
    pub(super) gov: Governor,
    tags: Arc<TagCache>,
    metrics: Mutex<Option<CachedMetrics>>,
    /// Where the rotating re-verification of warm-up permissions continues next cycle.
    pub(super) permission_cursor: std::sync::atomic::AtomicUsize,
    /// Where the rotating re-read of functions with nothing to manage continues next cycle.
    pub(super) detail_cursor: std::sync::atomic::AtomicUsize,
}

fn account_of(arn: &str) -> Option<String> {
    arn.split(':')
        .nth(4)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
}

impl Observer {
    pub fn new(cloud: Cloud, gov: Governor, tags: Arc<TagCache>) -> Self {
        Self {
            cloud,
            gov,
            tags,
            metrics: Mutex::new(None),
            permission_cursor: std::sync::atomic::AtomicUsize::new(0),
            detail_cursor: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    pub async fn observe(&self, desired: &Desired) -> Result<Observed, ObserveError> {
        let now = self.gov.clock().now();
        let mut observed = Observed::empty(now, desired.cloud.region.clone());
        let (functions, alarms, topics) = tokio::join!(
            self.functions(desired),
            self.alarms(desired),
            self.topics(desired)
        );
        let (functions, unknown_functions) = functions?;
        observed.functions = functions;
        observed.unknown_functions = unknown_functions;
        observed.alarms = alarms?;
        observed.topics = topics?;
        self.tables(desired, &mut observed).await;
        self.capacity(desired, &mut observed).await?;
        if desired.observe.metrics {
            observed.metrics = self.metrics(desired, &observed).await;
        }
        observed.account_id = observed
            .functions
            .values()
            .map(|f| f.summary.arn.as_str())
            .chain(observed.alarms.values().map(|a| a.arn.as_str()))
            .chain(observed.topics.keys().map(String::as_str))
            .chain(observed.tables.values().map(|t| t.arn.as_str()))
            .find_map(account_of);
        Ok(observed)
    }

    async fn functions(
        &self,
        desired: &Desired,
    ) -> Result<(BTreeMap<String, ObservedFunction>, BTreeSet<String>), ObserveError> {
        let mut in_scope = BTreeMap::new();
        let mut unknown = BTreeSet::new();
        if desired.functions.is_empty() {
            return Ok((in_scope, unknown));
        }
        let lambda = self.cloud.lambda.clone();
        let summaries = paginate(&self.gov, Op::ListFunctions, |next| {
            let lambda = lambda.clone();
            async move { lambda.list_functions(next.as_deref()).await }
        })
        .await
        .map_err(ObserveError::ListFunctions)?;

        let mut need_tags = Vec::new();
        for summary in summaries {
            match rule_for(&desired.functions, &summary.name, None) {
                RuleMatch::Rule(_) => {
                    in_scope.insert(
                        summary.name.clone(),
                        ObservedFunction {
                            summary,
                            detail: None,
                        },
                    );
                }
                RuleMatch::NeedsTags => need_tags.push(summary),
                RuleMatch::None => {}
            }
        }
        let lambda = &self.cloud.lambda;
        let details = call_each(&self.gov, Op::GetFunction, need_tags, |summary| {
            let lambda = lambda.clone();
            async move { lambda.get_function(&summary.name).await }
        })
        .await;
        for (summary, result) in details {
            match result {
                Ok(detail) => {
                    if let RuleMatch::Rule(_) =
                        rule_for(&desired.functions, &summary.name, Some(&detail.tags))
                    {
                        in_scope.insert(
                            summary.name.clone(),
                            ObservedFunction {
                                summary: detail.summary.clone(),
                                detail: Some(detail),
                            },
                        );
                    }
                }
                // Deleted between ListFunctions and GetFunction: simply gone.
                Err(e) if e.kind == ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(function = %summary.name, error = %crate::engine::error_chain(&e), "cannot read function; leaving its resources alone this cycle");
                    unknown.insert(summary.name.clone());
                }
            }
        }
        Ok((in_scope, unknown))
    }

    async fn alarms(
        &self,
        desired: &Desired,
    ) -> Result<BTreeMap<String, ObservedAlarm>, ObserveError> {
        let prefix = desired.ownership.name_prefix.clone();
        let cw = self.cloud.cloudwatch.clone();
        let listed = paginate(&self.gov, Op::DescribeAlarms, |next| {
            let (cw, prefix) = (cw.clone(), prefix.clone());
            async move { cw.describe_alarms(Some(&prefix), next.as_deref()).await }
        })
        .await
        .map_err(|source| ObserveError::DescribeAlarms {
            prefix: prefix.clone(),
            source,
        })?;

        let now = self.gov.clock().now();
        let plan = self
            .tags
            .plan(listed, now, desired.interval, desired.observe.tag_cache_ttl);
        let mut alarms: BTreeMap<String, ObservedAlarm> = plan
            .known
            .into_iter()
            .map(|a| (a.spec.name.clone(), a))
            .collect();
        let cw = &self.cloud.cloudwatch;
        let read = call_each(
            &self.gov,
            Op::CwListTagsForResource,
            plan.to_read,
            |alarm| {
                let cw = cw.clone();
                async move { cw.list_tags_for_resource(&alarm.arn).await }
            },
        )
        .await;
        for (mut alarm, tags) in read {
            match tags {
                Ok(tags) => {
                    self.tags.store(&alarm, &tags, now);
                    alarm.spec.tags = tags;
                }
                // Tags unknown: leave them empty, which reads as "not owned". The alarm is then
                // left alone this cycle, the safe side of not knowing.
                Err(e) => {
                    tracing::warn!(alarm = %alarm.spec.name, error = %crate::engine::error_chain(&e), "cannot read alarm tags; treating it as not owned this cycle");
                }
            }
            alarms.insert(alarm.spec.name.clone(), alarm);
        }
        self.tags
            .retain(&alarms.values().map(|a| a.arn.as_str()).collect());
        Ok(alarms)
    }

    async fn topics(
        &self,
        desired: &Desired,
    ) -> Result<BTreeMap<String, ObservedTopic>, ObserveError> {
        let Notifications::Managed { name, .. } = &desired.notifications else {
            return Ok(BTreeMap::new());
        };
        let name = topic_name(desired, name);
        let sns = self.cloud.sns.clone();
        let arns = paginate(&self.gov, Op::ListTopics, |next| {
            let sns = sns.clone();
            async move { sns.list_topics(next.as_deref()).await }
        })
        .await
        .map_err(ObserveError::ListTopics)?;
        let mut topics = BTreeMap::new();
        for arn in arns
            .into_iter()
            .filter(|a| a.rsplit(':').next() == Some(name.as_str()))
        {
            let tags = self
                .gov
                .call(Op::SnsListTagsForResource, || sns.list_tags_for_resource(&arn))
                .await
                .map_err(|e| tracing::warn!(topic = %arn, error = %crate::engine::error_chain(&e), "cannot read topic tags"))
                .ok();
            let subscriptions = paginate(&self.gov, Op::ListSubscriptionsByTopic, |next| {
                let (sns, arn) = (sns.clone(), arn.clone());
                async move { sns.list_subscriptions_by_topic(&arn, next.as_deref()).await }
            })
            .await
            .map_err(|source| ObserveError::ListSubscriptions {
                arn: arn.clone(),
                source,
            })?;
            topics.insert(
                arn.clone(),
                ObservedTopic {
                    arn,
                    tags,
                    subscriptions: Some(subscriptions),
                },
            );
        }
        Ok(topics)
    }

    async fn tables(&self, desired: &Desired, observed: &mut Observed) {
        let dynamodb = &self.cloud.dynamodb;
        let names = desired.tables.iter().map(|t| t.name.clone());
        let results = call_each(&self.gov, Op::DescribeTable, names, |name| {
            let dynamodb = dynamodb.clone();
            async move { dynamodb.describe_table(&name).await }
        })
        .await;
        for (name, result) in results {
            match result {
                Ok(info) => {
                    observed.tables.insert(name, info);
                }
                Err(e) if e.kind == ErrorKind::NotFound => observed.missing_tables.push(name),
                Err(e) => {
                    tracing::warn!(table = %name, error = %crate::engine::error_chain(&e), "cannot describe table; leaving its resources alone this cycle");
                    observed.unknown_tables.insert(name);
                }
            }
        }
        observed.missing_tables.sort();
    }

    /// Per-function summaries over the last window. Re-read once per window; in between, the
    /// previous figures are reused (they describe the same minutes).
    async fn metrics(
        &self,
        desired: &Desired,
        observed: &Observed,
    ) -> BTreeMap<String, FunctionMetrics> {
        let now = self.gov.clock().now();
        let names: BTreeSet<String> = observed.functions.keys().cloned().collect();
        let window = desired.observe.metrics_window;
        if let Some(cached) = self
            .metrics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            && cached.functions == names
            && now.duration_since(cached.read_at).unwrap_or(Duration::MAX) < window
        {
            return cached.metrics.clone();
        }
        let end = now - desired.observe.metrics_delay;
        let start = end - window;
        let queries = metric_queries(&names);
        let mut metrics: BTreeMap<String, FunctionMetrics> = BTreeMap::new();
        for batch in queries.chunks(METRIC_QUERIES_PER_CALL) {
            let cw = self.cloud.cloudwatch.clone();
            let batch_queries: Vec<MetricQuery> = batch.iter().map(|(q, _, _)| q.clone()).collect();
            let pages = paginate(&self.gov, Op::GetMetricData, |next| {
                let (cw, qs) = (cw.clone(), batch_queries.clone());
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
            // Each page repeats the batch's queries; CloudWatch bills per metric per call.
            let series = match pages {
                Ok(series) => {
                    self.gov.telemetry().record_metrics_requested(batch.len());
                    series
                }
                Err(e) => {
                    tracing::warn!(error = %crate::engine::error_chain(&e), "cannot read function metrics this cycle");
                    continue;
                }
            };
            let by_id: HashMap<&str, (&str, MetricField)> = batch
                .iter()
                .map(|(q, f, field)| (q.id.as_str(), (f.as_str(), *field)))
                .collect();
            for s in series {
                let Some((function, field)) = by_id.get(s.id.as_str()) else {
                    continue;
                };
                let entry = metrics.entry(function.to_string()).or_default();
                let values = s.points.iter().map(|(_, v)| *v);
                match field {
                    MetricField::Invocations => entry.invocations += values.sum::<f64>(),
                    MetricField::Errors => entry.errors += values.sum::<f64>(),
                    MetricField::Throttles => entry.throttles += values.sum::<f64>(),
                    MetricField::P95 => {
                        entry.duration_p95_ms = values.fold(entry.duration_p95_ms, |m, v| {
                            Some(m.map_or(v, |m: f64| m.max(v)))
                        })
                    }
                    MetricField::Average => {
                        let v: Vec<f64> = values.collect();
                        if !v.is_empty() {
                            entry.duration_avg_ms = Some(v.iter().sum::<f64>() / v.len() as f64);
                        }
                    }
                }
            }
        }
        *self.metrics.lock().unwrap_or_else(|p| p.into_inner()) = Some(CachedMetrics {
            read_at: now,
            functions: names,
            metrics: metrics.clone(),
        });
        metrics
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MetricField {
    Invocations,
    Errors,
    Throttles,
    P95,
    Average,
}

/// Five queries per function: Invocations, Errors, Throttles (Sum), Duration p95 and Average.
fn metric_queries(functions: &BTreeSet<String>) -> Vec<(MetricQuery, String, MetricField)> {
    let mut out = Vec::with_capacity(functions.len() * 5);
    for (i, name) in functions.iter().enumerate() {
        let metric =
            |m: &str| MetricId::new("AWS/Lambda", m, vec![Dimension::new("FunctionName", name)]);
        for (suffix, metric_name, stat, field) in [
            ("inv", "Invocations", "Sum", MetricField::Invocations),
            ("err", "Errors", "Sum", MetricField::Errors),
            ("thr", "Throttles", "Sum", MetricField::Throttles),
            ("p95", "Duration", "p95", MetricField::P95),
            ("avg", "Duration", "Average", MetricField::Average),
        ] {
            out.push((
                MetricQuery {
                    id: format!("f{i}_{suffix}"),
                    stat: MetricStat {
                        metric: metric(metric_name),
                        period_s: 60,
                        stat: stat.to_string(),
                    },
                },
                name.clone(),
                field,
            ));
        }
    }
    out
}
