//! Observe: read the account into one [`Observed`] snapshot per cycle, in as few calls as AWS
//! allows, reading only what some controller asked for.
//!
//! The engine knows AWS, not controllers. The framework reads what every controller shares
//! (the functions in scope, the desired tables); then every controller says what it needs
//! ([`crate::model::Reads`]), the engine reads the union once, and asks again with the grown
//! snapshot until nobody asks for anything new. Requests for the same thing from several
//! controllers cost one read; per-id reads are batched (DescribeScalableTargets 50 ids,
//! GetMetricData 500 queries a call).
//!
//! Re-verifications ([`Need::Verify`]) are spread over cycles: each cycle reads
//! ⌈candidates × interval / `observe.tag_cache_ttl`⌉ of a family, continuing where the last
//! cycle stopped, so every one is re-read about once per TTL without a burst. A full
//! verification ([`Verification::Full`]) reads them all.
//!
//! A failed listing fails the observation (pruning from a partial view is unsafe); a failed
//! per-resource read marks just that resource unknown, which the controllers leave alone.

mod alarms;
mod bulk_tags;
mod exec;
mod framework;
mod metrics;
pub mod paging;
pub mod tag_cache;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::cloud::{Cloud, CloudError, ErrorKind};
use crate::controllers::registry;
use crate::model::{Desired, Need, Observed, Read, Reads};

use super::error_chain;
use super::governor::Governor;
use exec::Delta;
use tag_cache::TagCache;

pub use paging::{READ_CONCURRENCY, call_each, paginate, paginate_each};

/// GetMetricData's limit of queries per call.
pub const METRIC_QUERIES_PER_CALL: usize = 500;

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
    #[error("listing EventBridge rules with prefix {prefix:?}")]
    ListRules {
        prefix: String,
        #[source]
        source: CloudError,
    },
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
    #[error("listing CloudWatch metrics {metric}")]
    ListMetrics {
        /// `namespace/name`.
        metric: String,
        #[source]
        source: CloudError,
    },
}

/// How much re-verification this observation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Spread re-verifications over cycles (the daemon's steady state).
    Rotate,
    /// Read everything believed complete, too (`plan` and `apply` from the command line, the
    /// daemon's first cycle after a start).
    Full,
}

/// Reads the account. Holds only caches that are safe to lose, and the rotation cursors.
#[derive(Debug)]
pub struct Observer {
    pub(super) cloud: Cloud,
    pub(super) gov: Governor,
    tags: Arc<TagCache>,
    metrics: metrics::MetricCache,
    /// Where each family's re-verification rotation continues next cycle.
    cursors: Mutex<HashMap<&'static str, usize>>,
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
            metrics: metrics::MetricCache::default(),
            cursors: Mutex::new(HashMap::new()),
        }
    }

    /// The rate limiter and call accounting every read goes through.
    pub fn governor(&self) -> &Governor {
        &self.gov
    }

    pub async fn observe(
        &self,
        desired: &Desired,
        memory: &mut registry::Memory,
        verification: Verification,
    ) -> Result<Observed, ObserveError> {
        let now = self.gov.clock().now();
        let mut o = Observed::empty(now, desired.cloud.region.clone());
        self.metrics.begin_cycle();

        // The framework's reads and the controllers' first ones (those that need nothing read
        // before them: listings by prefix) go together.
        let mut first = Reads::default();
        registry::reads(desired, &o, memory, &mut first);
        let todo = self.select(desired, &mut o, first, verification);
        let (shared, deltas) =
            tokio::join!(self.framework(desired), self.execute(desired, &o, todo));
        shared.apply(&mut o)?;
        for delta in deltas? {
            self.apply(&mut o, delta);
        }
        loop {
            let mut reads = Reads::default();
            registry::reads(desired, &o, memory, &mut reads);
            let todo = self.select(desired, &mut o, reads, verification);
            if todo.is_empty() {
                break;
            }
            for delta in self.execute(desired, &o, todo).await? {
                self.apply(&mut o, delta);
            }
        }
        self.metrics.retain_requested();
        o.account_id = o
            .functions
            .values()
            .map(|f| f.summary.arn.as_str())
            .chain(o.alarms.values().map(|a| a.arn.as_str()))
            .chain(o.topics.keys().map(String::as_str))
            .chain(o.tables.values().map(|t| t.arn.as_str()))
            .find_map(account_of);
        Ok(o)
    }

    /// The reads of this round not read yet, after the re-verification rotation. Records them
    /// (and the deferred ones) in the snapshot's read log.
    fn select(
        &self,
        desired: &Desired,
        o: &mut Observed,
        reads: Reads,
        verification: Verification,
    ) -> Vec<(Read, Need)> {
        let mut todo = Vec::new();
        let mut verify: BTreeMap<&'static str, Vec<Read>> = BTreeMap::new();
        for (read, need) in reads.wants {
            if o.reads.did(&read) {
                continue;
            }
            match need {
                Need::Now => todo.push((read, Need::Now)),
                // Settled earlier this cycle (by the rotation, or found unmarked in bulk).
                Need::Verify if o.reads.deferred(&read) => {}
                Need::Verify if verification == Verification::Full => {
                    todo.push((read, Need::Verify))
                }
                Need::Verify => verify.entry(read.family()).or_default().push(read),
            }
        }
        for (family, mut candidates) in verify {
            // A family's rotation is decided once a cycle, over what it asks for then; what it
            // asks for to verify later in the cycle waits for the next.
            if !o.reads.rotate(family) {
                candidates.into_iter().for_each(|r| o.reads.defer(r));
                continue;
            }
            // The rotation walks the candidates in a stable order, whatever the hashing.
            candidates.sort_unstable_by(|a, b| a.order_key().cmp(&b.order_key()));
            let ttl = desired.observe.tag_cache_ttl.as_secs_f64().max(1.0);
            let n = candidates.len();
            let share = ((n as f64 * desired.interval.as_secs_f64() / ttl).ceil() as usize).min(n);
            let start = {
                let mut cursors = self.cursors.lock().unwrap_or_else(|p| p.into_inner());
                let cursor = cursors.entry(family).or_default();
                let start = *cursor % n.max(1);
                *cursor = cursor.wrapping_add(share);
                start
            };
            let chosen: std::collections::HashSet<usize> =
                (0..share).map(|i| (start + i) % n).collect();
            for (i, read) in candidates.into_iter().enumerate() {
                if chosen.contains(&i) {
                    todo.push((read, Need::Verify));
                } else {
                    o.reads.defer(read);
                }
            }
        }
        for (read, need) in &todo {
            // A function's re-verification may be settled by a bulk tag read instead (see
            // `exec::read_functions`); it is recorded when its outcome is applied.
            if !(*need == Need::Verify && matches!(read, Read::Function(_))) {
                o.reads.record(read.clone());
            }
        }
        todo.sort_unstable_by(|(a, _), (b, _)| a.order_key().cmp(&b.order_key()));
        todo
    }

    fn unknown_function(&self, o: &mut Observed, function: &str, what: &str, e: &CloudError) {
        tracing::warn!(function, read = what, error = %error_chain(e), "cannot read function state; leaving its resources alone this cycle");
        o.unknown_functions.insert(function.to_string());
    }

    fn apply(&self, o: &mut Observed, delta: Delta) {
        if let Delta::Function(name, _) = &delta {
            o.reads.record(Read::Function(name.clone()));
        }
        match delta {
            // Its tags, read in bulk, carry no marker of trimtab's: nothing to verify.
            Delta::Unmarked(name) => o.reads.defer(Read::Function(name)),
            Delta::Function(name, Ok(detail)) => {
                if let Some(f) = o.functions.get_mut(&name) {
                    f.summary = detail.summary.clone();
                    f.detail = Some(detail);
                }
            }
            // Deleted since it was listed: simply gone.
            Delta::Function(name, Err(e)) if e.kind == ErrorKind::NotFound => {
                o.functions.remove(&name);
            }
            Delta::Function(name, Err(e)) => self.unknown_function(o, &name, "GetFunction", &e),
            Delta::AccountSettings(Ok(settings)) => o.account_concurrency = Some(settings),
            // The budget guard refuses every increase it cannot prove safe; everything else
            // proceeds: one unreadable setting must not block the cycle.
            Delta::AccountSettings(Err(e)) => {
                tracing::warn!(error = %error_chain(&e), "cannot read the account's concurrency settings; reserved concurrency increases are refused this cycle");
            }
            Delta::Alarms(alarms) if o.alarms.is_empty() => o.alarms = alarms,
            Delta::Alarms(alarms) => o.alarms.extend(alarms),
            Delta::Topics(topics) => {
                o.topics
                    .extend(topics.into_iter().map(|t| (t.arn.clone(), t)));
            }
            Delta::Targets(targets) => o.scalable_targets.extend(targets),
            Delta::Policies(policies) => o.scaling_policies.extend(policies),
            Delta::Rules(rules) => {
                o.rules
                    .extend(rules.into_iter().map(|r| (r.rule.name.clone(), r)));
            }
            Delta::RuleTargets(rule, targets) => {
                o.rule_targets.insert(rule, targets);
            }
            Delta::Aliases(function, Ok(aliases)) => {
                o.aliases.insert(function, aliases);
            }
            Delta::TargetTags(arn, Ok(tags)) => {
                o.target_tags.insert(arn, tags);
            }
            // Deregistered since it was described: no tags, and nothing to own.
            Delta::TargetTags(arn, Err(e)) if e.kind == ErrorKind::NotFound => {
                o.target_tags.insert(arn, crate::model::Tags::new());
            }
            // Unread: its ownership stays unknown, and the controllers leave it alone.
            Delta::TargetTags(arn, Err(e)) => {
                tracing::warn!(arn, error = %error_chain(&e), "cannot read a scalable target's tags; leaving it alone this cycle");
            }
            Delta::ProvisionedConfigs(function, Ok(configs)) => {
                o.provisioned.insert(function, configs);
            }
            // Deleted since it was listed: nothing is allocated to it any more.
            Delta::ProvisionedConfigs(function, Err(e)) if e.kind == ErrorKind::NotFound => {
                o.provisioned.insert(function, Vec::new());
            }
            Delta::ProvisionedConfigs(function, Err(e)) => {
                self.unknown_function(o, &function, "ListProvisionedConcurrencyConfigs", &e)
            }
            Delta::Aliases(function, Err(e)) => {
                self.unknown_function(o, &function, "ListAliases", &e)
            }
            Delta::Policy(function, Ok(statements)) => {
                o.permissions.insert(function, statements);
            }
            Delta::Policy(function, Err(e)) => self.unknown_function(o, &function, "GetPolicy", &e),
            Delta::Version(function, version, Ok(summary)) => {
                o.versions.insert((function, version), summary);
            }
            // Deleted: read and absent.
            Delta::Version(_, _, Err(e)) if e.kind == ErrorKind::NotFound => {}
            Delta::Version(function, _, Err(e)) => {
                self.unknown_function(o, &function, "GetFunctionConfiguration", &e)
            }
            // The metric cache only grows within a cycle (it forgets at the cycle's end), so
            // each snapshot holds every earlier one of the cycle: the newest replaces them,
            // and the observation never keeps a second full map beside the cache's.
            Delta::Metrics(snapshot) => o.metrics = snapshot,
            Delta::MetricNames(key, ids) => {
                o.metric_names.insert(key, ids);
            }
            Delta::Dashboard(name, Ok(body)) => {
                o.dashboards.insert(name, body);
            }
            // Not read: the dashboard controller sees no entry and changes nothing.
            Delta::Dashboard(name, Err(e)) => {
                tracing::warn!(dashboard = %name, error = %e, "GetDashboard failed");
            }
        }
    }
}
