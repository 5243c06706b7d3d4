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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastConfig {
    pub until: SystemTime,
    pub memory_mb: u32,
    pub reserved_concurrency: Option<u32>,
    /// Whether the change that ended this configuration recycled the execution environments
    /// (a configuration update does; reserving concurrency does not).
    pub recycled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionRecord {
    pub memory_mb: u32,
    pub revision: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AliasRecord {
    pub function_version: String,
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

    /// Records the current configuration as replaced at `now`, before a change.
    pub fn remember_config(&mut self, now: SystemTime, recycled: bool) {
        self.history.push(PastConfig {
            until: now,
            memory_mb: self.memory_mb,
            reserved_concurrency: self.reserved_concurrency,
            recycled,
        });
    }

    /// Whether environments were recycled in `[from, to)` (every next invocation starts cold).
    pub fn recycled_within(&self, from: SystemTime, to: SystemTime) -> bool {
        self.history
            .iter()
            .any(|p| p.recycled && p.until >= from && p.until < to)
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
