//! What controllers ask the engine to read. A controller says *what* it needs to see; the engine
//! merges every controller's requests, reads each thing once, in the fewest calls AWS allows
//! (pages, batches of ids, 500 metric queries a call), and records what it read, so a
//! controller can tell "read and absent" from "not read".
//!
//! Reading is a fixpoint: the engine asks every controller for its reads, performs the new
//! ones, and asks again with the grown snapshot, until nobody asks for anything new. A
//! controller whose read depends on another (the policies of the targets a listing found)
//! simply asks for it once the listing is [`ReadLog::did`].

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::metrics::MetricStat;
use super::scaling::ScalableNamespace;

/// One thing to read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Read {
    /// GetFunction: configuration, tags and reserved concurrency of one in-scope function.
    Function(String),
    /// GetAccountSettings: the account's concurrency limit and unreserved pool.
    AccountSettings,
    /// DescribeAlarms: every alarm whose name starts with the prefix, with its tags.
    Alarms { prefix: String },
    /// ListTopics, keeping the topic of this name, with its tags and subscriptions.
    Topic { name: String },
    /// DescribeScalableTargets: every target of a namespace.
    ScalableTargets(ScalableNamespace),
    /// DescribeScalableTargets by resource id (batched, 50 ids a call).
    ScalableTarget {
        namespace: ScalableNamespace,
        resource_id: String,
    },
    /// ListTagsForResource of one scalable target, by its ARN: its ownership tag.
    TargetTags { arn: String },
    /// DescribeScalingPolicies of one scalable resource.
    ScalingPolicies {
        namespace: ScalableNamespace,
        resource_id: String,
    },
    /// ListRules on the default bus by name prefix.
    Rules { prefix: String },
    /// ListTargetsByRule.
    RuleTargets { rule: String },
    /// ListAliases of one function.
    Aliases { function: String },
    /// ListProvisionedConcurrencyConfigs of one function: what is allocated on each alias.
    ProvisionedConfigs { function: String },
    /// GetPolicy: the resource-policy statements of one function.
    Policy { function: String },
    /// GetFunctionConfiguration of one published version (immutable once published).
    Version { function: String, version: String },
    /// Metrics over a window (GetMetricData, 500 queries a call), asked for as one batch so
    /// that thousands of them cost one request a cycle while they are fresh.
    Metrics(MetricBatch),
    /// ListMetrics of every series of one metric name that had data in the last two weeks.
    MetricNames { namespace: String, name: String },
    /// GetDashboard: one CloudWatch dashboard's body, or that it does not exist.
    Dashboard { name: String },
}

impl Read {
    /// A cheap ordering key (family, then name, or the fingerprint for metric reads), so a
    /// round's reads go out in a stable order without comparing metric statistics.
    pub fn order_key(&self) -> (&'static str, u64, &str) {
        let name = match self {
            Read::Function(s) => s.as_str(),
            Read::Alarms { prefix } | Read::Rules { prefix } => prefix,
            Read::Topic { name } => name,
            Read::ScalableTarget { resource_id, .. }
            | Read::ScalingPolicies { resource_id, .. } => resource_id,
            Read::RuleTargets { rule } => rule,
            Read::TargetTags { arn } => arn,
            Read::Aliases { function }
            | Read::ProvisionedConfigs { function }
            | Read::Policy { function }
            | Read::Version { function, .. } => function,
            Read::MetricNames { name, .. } => name,
            Read::Dashboard { name } => name,
            Read::AccountSettings | Read::ScalableTargets(_) | Read::Metrics(_) => "",
        };
        let number = match self {
            Read::Metrics(m) => m.0.fingerprint.0,
            Read::ScalableTargets(ns) | Read::ScalableTarget { namespace: ns, .. } => *ns as u64,
            _ => 0,
        };
        (self.family(), number, name)
    }

    /// The family a read belongs to, for rotation and for grouping calls.
    pub fn family(&self) -> &'static str {
        match self {
            Read::Function(_) => "function",
            Read::AccountSettings => "account_settings",
            Read::Alarms { .. } => "alarms",
            Read::Topic { .. } => "topic",
            Read::ScalableTargets(_) => "scalable_targets",
            Read::ScalableTarget { .. } => "scalable_target",
            Read::ScalingPolicies { .. } => "scaling_policies",
            Read::Rules { .. } => "rules",
            Read::RuleTargets { .. } => "rule_targets",
            Read::Aliases { .. } => "aliases",
            Read::ProvisionedConfigs { .. } => "provisioned_configs",
            Read::TargetTags { .. } => "target_tags",
            Read::Policy { .. } => "policy",
            Read::Version { .. } => "version",
            Read::Metrics(_) => "metrics",
            Read::MetricNames { .. } => "metric_names",
            Read::Dashboard { .. } => "dashboard",
        }
    }
}

/// A metric read over the last `window_s` seconds (ending `observe.metrics_delay` ago, as
/// CloudWatch data settles late). The engine keeps the result and reads it again only once
/// `refresh_s` has passed: each datapoint is paid for once, not every cycle.
///
/// Thousands of these are asked for every cycle and looked up several times each, so the
/// statistic is shared and a 128-bit fingerprint of the whole read (two independent SipHashes)
/// is computed once: hashing and equality cost two integers. Two different reads with the same
/// 128-bit fingerprint would be a SipHash collision, which at 10^4 reads a cycle is not a risk
/// anyone can measure (about 10^-30).
#[derive(Debug, Clone)]
pub struct MetricRead {
    stat: Arc<MetricStat>,
    window_s: u32,
    refresh_s: u32,
    fingerprint: (u64, u64),
}

impl MetricRead {
    pub fn new(stat: MetricStat, window_s: u32, refresh_s: u32) -> Self {
        let hash = |salt: u64| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (salt, &stat, window_s, refresh_s).hash(&mut h);
            h.finish()
        };
        let fingerprint = (hash(0), hash(0x9e37_79b9_7f4a_7c15));
        Self {
            stat: Arc::new(stat),
            window_s,
            refresh_s,
            fingerprint,
        }
    }

    pub fn stat(&self) -> &MetricStat {
        &self.stat
    }

    pub fn window_s(&self) -> u32 {
        self.window_s
    }

    pub fn refresh_s(&self) -> u32 {
        self.refresh_s
    }
}

impl PartialEq for MetricRead {
    fn eq(&self, other: &Self) -> bool {
        self.fingerprint == other.fingerprint
    }
}

impl Eq for MetricRead {}

impl Hash for MetricRead {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.fingerprint.0);
    }
}

impl PartialOrd for MetricRead {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// By fingerprint: stable across runs (the hashers' keys are fixed), and consistent with `==`.
impl Ord for MetricRead {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.fingerprint.cmp(&other.fingerprint)
    }
}

/// Metric reads asked for together, all over the same window and refreshed together. Equal
/// (and hashed) by a fingerprint of its members, so a controller that memoises its batch
/// costs the engine one comparison a cycle.
#[derive(Debug, Clone)]
pub struct MetricBatch(Arc<BatchInner>);

#[derive(Debug)]
struct BatchInner {
    reads: Vec<MetricRead>,
    window_s: u32,
    refresh_s: u32,
    fingerprint: (u64, u64),
}

impl MetricBatch {
    /// A batch of statistics read over the last `window_s`, refreshed every `refresh_s`.
    pub fn new(stats: impl IntoIterator<Item = MetricStat>, window_s: u32, refresh_s: u32) -> Self {
        Self::of(
            stats
                .into_iter()
                .map(|s| MetricRead::new(s, window_s, refresh_s))
                .collect(),
            window_s,
            refresh_s,
        )
    }

    /// A batch of reads built earlier (each with this window and refresh).
    pub fn of(reads: Vec<MetricRead>, window_s: u32, refresh_s: u32) -> Self {
        let mut a = std::collections::hash_map::DefaultHasher::new();
        let mut b = std::collections::hash_map::DefaultHasher::new();
        (window_s, refresh_s, reads.len()).hash(&mut a);
        0x9e37_79b9_7f4a_7c15_u64.hash(&mut b);
        for r in &reads {
            r.fingerprint.hash(&mut a);
            r.fingerprint.hash(&mut b);
        }
        Self(Arc::new(BatchInner {
            reads,
            window_s,
            refresh_s,
            fingerprint: (a.finish(), b.finish()),
        }))
    }

    pub fn reads(&self) -> &[MetricRead] {
        &self.0.reads
    }

    pub fn window_s(&self) -> u32 {
        self.0.window_s
    }

    pub fn refresh_s(&self) -> u32 {
        self.0.refresh_s
    }

    pub fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl PartialEq for MetricBatch {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.fingerprint == other.0.fingerprint
    }
}

impl Eq for MetricBatch {}

impl Hash for MetricBatch {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0.fingerprint.0);
    }
}

impl PartialOrd for MetricBatch {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for MetricBatch {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.fingerprint.cmp(&other.0.fingerprint)
    }
}

/// A metric's datapoints, oldest first, shared between the cache and the snapshots.
pub type MetricPoints = Arc<Vec<(std::time::SystemTime, f64)>>;

/// Datapoints by read. A read hashes as its SipHash fingerprint, so the map needs no second
/// SipHash over it: foldhash mixes the one integer (every controller looks metrics up here,
/// tens of thousands of times a plan at 1,000 functions).
pub type MetricMap =
    std::collections::HashMap<MetricRead, MetricPoints, foldhash::fast::RandomState>;

/// How badly a controller needs a read this cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// Re-verification of something believed complete: the daemon spreads these over cycles
    /// (each read about once per `observe.tag_cache_ttl`); a full verification reads them all.
    Verify,
    /// Needed to plan this cycle.
    Now,
}

/// The reads controllers ask for in one round; asking twice is harmless.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reads {
    pub wants: HashMap<Read, Need>,
}

impl Reads {
    pub fn now(&mut self, read: Read) {
        self.wants.insert(read, Need::Now);
    }

    pub fn verify(&mut self, read: Read) {
        self.wants.entry(read).or_insert(Need::Verify);
    }

    pub fn is_empty(&self) -> bool {
        self.wants.is_empty()
    }
}

/// What this cycle's observation has read, and what it chose not to re-verify.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadLog {
    done: HashSet<Read>,
    deferred: HashSet<Read>,
    /// Families whose re-verification rotation has been decided this cycle: asking to verify
    /// more of them now only defers it, so a controller may skip building those requests.
    rotated: HashSet<&'static str>,
}

impl ReadLog {
    /// Whether the read was performed this cycle (successfully or not: a failed per-resource
    /// read marks its resource unknown; a failed listing fails the observation).
    pub fn did(&self, read: &Read) -> bool {
        self.done.contains(read)
    }

    /// Whether the read was deferred to a later cycle by the verification rotation.
    pub fn deferred(&self, read: &Read) -> bool {
        self.deferred.contains(read) && !self.done.contains(read)
    }

    /// Read, or deliberately not read this cycle: nothing more will come of it.
    pub fn settled(&self, read: &Read) -> bool {
        self.did(read) || self.deferred(read)
    }

    pub fn record(&mut self, read: Read) {
        self.done.insert(read);
    }

    pub fn defer(&mut self, read: Read) {
        self.deferred.insert(read);
    }

    pub fn count(&self) -> usize {
        self.done.len()
    }

    /// Whether this cycle's re-verification of a [`Read::family`] is already decided.
    pub fn rotated(&self, family: &str) -> bool {
        self.rotated.contains(family)
    }

    /// Marks a family's rotation decided; `false` if it already was.
    pub fn rotate(&mut self, family: &'static str) -> bool {
        self.rotated.insert(family)
    }
}
