//! What the simulated account holds: every resource, as plain data with public fields so tests
//! can act "as another party" (create unowned resources, introduce drift, inspect results).
//! Resources that AWS scopes to a parent live inside it (aliases, versions, provisioned
//! concurrency and policy statements inside their function; targets inside their rule;
//! subscriptions inside their topic). Everything here is serialisable; the traffic model's
//! datapoints are not stored at all, they are regenerated from the seed.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::model::{
    AlarmSpec, AlarmState, Architecture, BillingMode, Permission, ProvisionedStatus, Rule,
    RuleTarget, ScalableTarget, ScalingPolicy, Tags, UpdateStatus,
};

use super::metrics::MetricStore;
use super::stats::mix;

pub const ACCOUNT_ID: &str = "123456789012";
/// Lambda's default regional concurrency limit.
pub const ACCOUNT_CONCURRENCY_LIMIT: u32 = 1_000;
/// Lambda keeps this much concurrency unreserved, whatever functions reserve.
pub const MIN_UNRESERVED: u32 = 100;
/// How long `LastUpdateStatus` stays `InProgress` after UpdateFunctionConfiguration.
pub const UPDATE_IN_PROGRESS_FOR: Duration = Duration::from_secs(5);
/// How long provisioned concurrency takes to become READY (or FAILED).
pub const PROVISIONING_TAKES: Duration = Duration::from_secs(120);

/// The whole simulated account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimState {
    pub region: String,
    pub account_id: String,
    /// Seed of the traffic model; kept with the state so a reloaded account replays the same
    /// traffic.
    pub seed: u64,
    pub concurrency_limit: u32,
    pub functions: BTreeMap<String, SimFunctionState>,
    pub alarms: BTreeMap<String, AlarmRecord>,
    pub dashboards: BTreeMap<String, String>,
    /// By topic ARN.
    pub topics: BTreeMap<String, TopicRecord>,
    pub scalable_targets: Vec<ScalableTarget>,
    pub scaling_policies: Vec<PolicyRecord>,
    pub rules: BTreeMap<String, RuleRecord>,
    pub tables: BTreeMap<String, TableRecord>,
    /// Values written with PutMetricData.
    pub custom_metrics: MetricStore,
    /// Source of the unique ids AWS would generate (policy and subscription uuids).
    pub next_id: u64,
    /// Items of lease tables: (table, name) → (holder, expires at Unix ms, token).
    #[serde(default)]
    pub leases: BTreeMap<String, (String, u64, u64)>,
    /// Resources (by ARN) the Resource Groups Tagging API's index has not caught up with yet:
    /// GetResources leaves them out, as AWS's eventually consistent index may for a while.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub tag_index_behind: std::collections::BTreeSet<String>,
}

/// A Lambda function with everything AWS scopes to it, plus its traffic model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimFunctionState {
    pub name: String,
    pub memory_mb: u32,
    pub timeout_s: u32,
    pub architecture: Architecture,
    pub runtime: Option<String>,
    pub tags: Tags,
    pub reserved_concurrency: Option<u32>,
    pub last_update_status: UpdateStatus,
    /// When an in-progress update completes.
    pub update_done_at: Option<SystemTime>,
    /// Bumped by every configuration change, so PublishVersion knows whether `$LATEST` changed.
    pub revision: u64,
    /// Bumped by every code deployment; the code's hash is derived from it.
    #[serde(default)]
    pub code: u64,
    pub versions: BTreeMap<u32, VersionRecord>,
    pub aliases: BTreeMap<String, AliasRecord>,
    /// By qualifier.
    pub provisioned: BTreeMap<String, ProvisionedRecord>,
    /// Resource-policy statements, each carrying its qualifier.
    pub permissions: Vec<Permission>,
    pub traffic: TrafficProfile,
    /// Configurations in force before the current one, oldest first, each with the time it was
    /// replaced, so metrics for past minutes use the configuration of the time.
    pub history: Vec<PastConfig>,
}

/// How a function is used and how it performs (see `traffic`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrafficProfile {
    pub peak_rps: f64,
    pub cpu_ms: f64,
    pub io_ms: f64,
    pub parallelism: f64,
    pub error_rate: f64,
    pub used_memory_mb: u32,
    /// Median duration (ms) at given memory sizes, replacing the cpu/io formula when set.
    #[serde(default)]
    pub curve: Vec<(u32, f64)>,
    /// Lognormal shape of per-invocation durations; `None` for a seeded 0.25–0.45.
    #[serde(default)]
    pub spread: Option<f64>,
    /// Lognormal shape of the memory each invocation uses.
    #[serde(default = "default_memory_sigma")]
    pub used_memory_sigma: f64,
    /// Whether the Lambda Insights extension publishes `LambdaInsights` metrics.
    #[serde(default = "default_insights")]
    pub insights: bool,
    /// The alias callers invoke, whose routing decides which version serves; `None` for
    /// `$LATEST`.
    #[serde(default)]
    pub invoked_via: Option<String>,
    /// Amazon Bedrock tokens per invocation: (model id, input, output).
    #[serde(default)]
    pub tokens: Vec<(String, f64, f64)>,
}

fn default_memory_sigma() -> f64 {
    0.03
}

fn default_insights() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastConfig {
    pub until: SystemTime,
    pub memory_mb: u32,
    pub reserved_concurrency: Option<u32>,
    /// Whether the change that ended this configuration recycled the execution environments
    /// (a configuration update does; reserving concurrency does not).
    pub recycled: bool,
    #[serde(default)]
    pub timeout_s: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionRecord {
    pub memory_mb: u32,
    pub revision: u64,
    #[serde(default = "default_timeout")]
    pub timeout_s: u32,
    #[serde(default)]
    pub code: u64,
}

fn default_timeout() -> u32 {
    3
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AliasRecord {
    pub function_version: String,
    /// A second version and the share of the alias's invocations it serves.
    #[serde(default)]
    pub routing: Option<(String, f64)>,
    /// Earlier configurations, oldest first, each with the time it was replaced, so metrics
    /// for past minutes split traffic as it was split then.
    #[serde(default)]
    pub history: Vec<PastAlias>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PastAlias {
    pub until: SystemTime,
    pub function_version: String,
    pub routing: Option<(String, f64)>,
}

impl AliasRecord {
    pub fn new(function_version: String) -> Self {
        Self {
            function_version,
            routing: None,
            history: Vec::new(),
        }
    }

    /// The (version, routing) in force at `t`.
    pub fn at(&self, t: SystemTime) -> (&str, Option<&(String, f64)>) {
        self.history
            .iter()
            .find(|p| p.until > t)
            .map(|p| (p.function_version.as_str(), p.routing.as_ref()))
            .unwrap_or((self.function_version.as_str(), self.routing.as_ref()))
    }

    /// Whether the alias changed in `[from, to)` (the versions it sends to start cold).
    pub fn changed_within(&self, from: SystemTime, to: SystemTime) -> bool {
        self.history.iter().any(|p| p.until >= from && p.until < to)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvisionedRecord {
    pub requested: u32,
    /// What keeps serving while a changed request is in progress.
    pub allocated_before: u32,
    pub status: ProvisionedStatus,
    pub status_reason: Option<String>,
    /// When the allocation settles.
    pub settles_at: SystemTime,
    /// Decided when requested: the reason it will fail, if the pool cannot hold it.
    pub will_fail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmRecord {
    pub arn: String,
    /// `spec.tags` holds the alarm's tags (changed only by Tag/UntagResource after creation).
    pub spec: AlarmSpec,
    pub state: AlarmState,
    pub updated_at: SystemTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicRecord {
    pub name: String,
    pub tags: Tags,
    pub subscriptions: Vec<SubscriptionRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    /// The ARN it will have once confirmed.
    pub arn: String,
    pub protocol: String,
    pub endpoint: String,
    pub confirmed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyRecord {
    pub arn: String,
    pub policy: ScalingPolicy,
    /// The `TargetTracking-*` alarms Application Auto Scaling created for it.
    pub alarm_names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleRecord {
    pub arn: String,
    pub rule: Rule,
    pub tags: Tags,
    /// By target id.
    pub targets: BTreeMap<String, RuleTarget>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableRecord {
    pub billing_mode: BillingMode,
    pub read_capacity: u64,
    pub write_capacity: u64,
    pub indexes: Vec<String>,
    pub peak_reads: f64,
    pub peak_writes: f64,
}

impl SimState {
    pub fn empty(region: &str, seed: u64) -> Self {
        Self {
            region: region.to_string(),
            account_id: ACCOUNT_ID.to_string(),
            seed,
            concurrency_limit: ACCOUNT_CONCURRENCY_LIMIT,
            functions: BTreeMap::new(),
            alarms: BTreeMap::new(),
            dashboards: BTreeMap::new(),
            topics: BTreeMap::new(),
            scalable_targets: Vec::new(),
            scaling_policies: Vec::new(),
            rules: BTreeMap::new(),
            tables: BTreeMap::new(),
            custom_metrics: MetricStore::default(),
            next_id: 1,
            leases: BTreeMap::new(),
            tag_index_behind: Default::default(),
        }
    }

    /// Moves time-driven transitions forward to `now`: finished function updates, settled
    /// provisioned concurrency. Called before every operation and every `with_state`, so state
    /// never depends on whether anyone looked in between.
    pub fn settle(&mut self, now: SystemTime) {
        for f in self.functions.values_mut() {
            if f.last_update_status == UpdateStatus::InProgress
                && f.update_done_at.is_some_and(|t| t <= now)
            {
                f.last_update_status = UpdateStatus::Successful;
                f.update_done_at = None;
            }
            for pc in f.provisioned.values_mut() {
                if pc.status == ProvisionedStatus::InProgress && pc.settles_at <= now {
                    match pc.will_fail.take() {
                        Some(reason) => {
                            pc.status = ProvisionedStatus::Failed;
                            pc.status_reason = Some(reason);
                        }
                        None => pc.status = ProvisionedStatus::Ready,
                    }
                }
            }
        }
    }

    /// A fresh AWS-style uuid, unique within this account (persisted counter) and reproducible.
    pub fn new_uuid(&mut self) -> String {
        let id = self.next_id;
        self.next_id += 1;
        let a = mix(self.seed ^ id);
        let b = mix(a ^ 0xA5A5);
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            0x8000 | (b >> 48 & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    /// Concurrency not reserved by any function.
    pub fn unreserved(&self) -> u32 {
        let reserved: u64 = self
            .functions
            .values()
            .filter_map(|f| f.reserved_concurrency)
            .map(u64::from)
            .sum();
        u32::try_from(u64::from(self.concurrency_limit).saturating_sub(reserved)).unwrap_or(0)
    }

    pub fn function_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{name}",
            self.region, self.account_id
        )
    }

    pub fn alarm_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:cloudwatch:{}:{}:alarm:{name}",
            self.region, self.account_id
        )
    }

    pub fn topic_arn(&self, name: &str) -> String {
        format!("arn:aws:sns:{}:{}:{name}", self.region, self.account_id)
    }

    pub fn rule_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:events:{}:{}:rule/{name}",
            self.region, self.account_id
        )
    }

    pub fn table_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:dynamodb:{}:{}:table/{name}",
            self.region, self.account_id
        )
    }

    /// The function name inside a function ARN of this account and region.
    pub fn function_from_arn<'a>(&self, arn: &'a str) -> Option<&'a str> {
        let prefix = format!(
            "arn:aws:lambda:{}:{}:function:",
            self.region, self.account_id
        );
        arn.strip_prefix(&prefix).filter(|n| !n.contains(':'))
    }
}

impl SimFunctionState {
    /// Memory and reserved concurrency in force at `t`.
    pub fn config_at(&self, t: SystemTime) -> (u32, Option<u32>) {
        self.history
            .iter()
            .find(|p| p.until > t)
            .map(|p| (p.memory_mb, p.reserved_concurrency))
            .unwrap_or((self.memory_mb, self.reserved_concurrency))
    }

    /// The revision id AWS would report for the current configuration.
    /// The hash of code deployment `code` of this function.
    pub fn code_sha256(&self, code: u64) -> String {
        let h = mix(super::stats::hash_str(&self.name) ^ code.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        format!("{h:016x}")
    }

    pub fn revision_id(&self) -> String {
        let h = mix(super::stats::hash_str(&self.name) ^ self.revision);
        format!(
            "{:08x}-{:04x}-{:04x}",
            h >> 32,
            (h >> 16) & 0xffff,
            h & 0xffff
        )
    }

    /// What serves the function's invocations at `t`: (version, share, memory, timeout) per
    /// serving version. `$LATEST` alone unless callers go through an alias that exists.
    pub fn serving_at(&self, t: SystemTime) -> Vec<(String, f64, u32, u32)> {
        let latest = |share: f64| {
            let (memory, _) = self.config_at(t);
            ("$LATEST".to_string(), share, memory, self.timeout_at(t))
        };
        let Some(alias) = self
            .traffic
            .invoked_via
            .as_ref()
            .and_then(|a| self.aliases.get(a))
        else {
            return vec![latest(1.0)];
        };
        let version =
            |v: &str, share: f64| match v.parse::<u32>().ok().and_then(|n| self.versions.get(&n)) {
                Some(rec) => (v.to_string(), share, rec.memory_mb, rec.timeout_s),
                None => latest(share),
            };
        let (primary, routing) = alias.at(t);
        match routing {
            Some((extra, w)) if *w > 0.0 => {
                let w = w.clamp(0.0, 1.0);
                vec![version(primary, 1.0 - w), version(extra, w)]
            }
            _ => vec![version(primary, 1.0)],
        }
    }

    /// The timeout in force at `t` (timeouts change only with the configuration).
    pub fn timeout_at(&self, t: SystemTime) -> u32 {
        self.history
            .iter()
            .find(|p| p.until > t)
            .and_then(|p| p.timeout_s)
            .unwrap_or(self.timeout_s)
    }

    /// Records the current configuration as replaced at `now`, before a change.
    pub fn remember_config(&mut self, now: SystemTime, recycled: bool) {
        self.history.push(PastConfig {
            until: now,
            memory_mb: self.memory_mb,
            reserved_concurrency: self.reserved_concurrency,
            recycled,
            timeout_s: Some(self.timeout_s),
        });
    }

    /// Whether environments were recycled in `[from, to)` (every next invocation starts cold):
    /// a configuration change, or a change of the alias callers go through.
    pub fn recycled_within(&self, from: SystemTime, to: SystemTime) -> bool {
        let config = self
            .history
            .iter()
            .any(|p| p.recycled && p.until >= from && p.until < to);
        match self
            .traffic
            .invoked_via
            .as_ref()
            .and_then(|a| self.aliases.get(a))
        {
            // Through an alias, `$LATEST` matters only if the alias points at it.
            Some(alias) => {
                alias.changed_within(from, to) || (config && alias.at(from).0 == "$LATEST")
            }
            None => config,
        }
    }

    /// Whether the qualifier names an existing alias or published version.
    pub fn has_qualifier(&self, qualifier: &str) -> bool {
        self.aliases.contains_key(qualifier)
            || qualifier
                .parse::<u32>()
                .is_ok_and(|v| self.versions.contains_key(&v))
    }

    /// Provisioned concurrency serving traffic at `t`, per qualifier (only the current configs
    /// are known; deleted ones are forgotten).
    pub fn provisioned_at(&self, t: SystemTime) -> Vec<(&str, u32)> {
        self.provisioned
            .iter()
            .map(|(q, pc)| {
                let settled_ok = pc.will_fail.is_none() && pc.status != ProvisionedStatus::Failed;
                let n = if pc.settles_at <= t && settled_ok {
                    pc.requested
                } else {
                    pc.allocated_before
                };
                (q.as_str(), n)
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}
