//! What controllers ask the engine to read. A controller says *what* it needs to see; the engine
//! merges every controller's requests, reads each thing once, in the fewest calls AWS allows
//! (pages, batches of ids, 500 metric queries a call), and records what it read, so a
//! controller can tell "read and absent" from "not read".
//!
//! Reading is a fixpoint: the engine asks every controller for its reads, performs the new
//! ones, and asks again with the grown snapshot, until nobody asks for anything new. A
//! controller whose read depends on another (the policies of the targets a listing found)
//! simply asks for it once the listing is [`ReadLog::did`].

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::metrics::MetricStat;
use super::scaling::ScalableNamespace;

/// One thing to read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
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
    /// GetPolicy: the resource-policy statements of one function.
    Policy { function: String },
    /// One metric over a window (GetMetricData, 500 queries a call).
    Metric(MetricRead),
    /// ListMetrics of every series of one metric name that had data in the last two weeks.
    MetricNames { namespace: String, name: String },
}

impl Read {
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
            Read::Policy { .. } => "policy",
            Read::Metric(_) => "metric",
            Read::MetricNames { .. } => "metric_names",
        }
    }
}

/// A metric read over the last `window_s` seconds (ending `observe.metrics_delay` ago, as
/// CloudWatch data settles late). The engine keeps the result and reads it again only once
/// `refresh_s` has passed: each datapoint is paid for once, not every cycle.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct MetricRead {
    pub stat: MetricStat,
    pub window_s: u32,
    pub refresh_s: u32,
}

/// How badly a controller needs a read this cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
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
    pub wants: BTreeMap<Read, Need>,
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReadLog {
    done: BTreeSet<Read>,
    deferred: BTreeSet<Read>,
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
}
