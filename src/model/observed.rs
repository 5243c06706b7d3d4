//! One cycle's snapshot of the account: everything the controllers may look at, read in bulk
//! by `engine::observe`. Controllers never call the cloud themselves.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;

use super::Tags;
use super::alarm::ObservedAlarm;
use super::dynamodb::TableInfo;
use super::events::{ObservedRule, RuleTarget};
use super::lambda::{AccountConcurrency, Alias, Permission, ProvisionedConcurrency};
use super::lambda::{FunctionDetail, FunctionSummary};
use super::metrics::MetricId;
use super::reads::{MetricMap, ReadLog};
use super::scaling::{ObservedScalingPolicy, ScalableTarget};
use super::sns::Subscription;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observed {
    pub at: SystemTime,
    pub region: String,
    /// Taken from any ARN seen this cycle; needed to name topics before they exist.
    pub account_id: Option<String>,
    /// In-scope functions only (those some function rule matches), by name.
    pub functions: BTreeMap<String, ObservedFunction>,
    /// Desired tables that exist, by name.
    pub tables: BTreeMap<String, TableInfo>,
    /// Desired tables that do not exist.
    pub missing_tables: Vec<String>,
    /// Alarms whose names carry the ownership prefix, plus any desired alarm found by name.
    pub alarms: BTreeMap<String, ObservedAlarm>,
    /// SNS topics by ARN, with their tags when trimtab needed them.
    pub topics: BTreeMap<String, ObservedTopic>,
    /// Datapoints of the metrics controllers asked for (oldest first), possibly read in an
    /// earlier cycle and kept until their refresh is due.
    #[serde(skip)]
    pub metrics: Arc<MetricMap>,
    /// ListMetrics results: every series of (namespace, metric name) with data in the last two
    /// weeks.
    pub metric_names: BTreeMap<(String, String), BTreeSet<MetricId>>,
    /// Functions whose state could not be read this cycle (e.g. GetFunction kept failing).
    /// Controllers neither change nor prune anything belonging to them: not knowing is not
    /// the same as "gone".
    pub unknown_functions: BTreeSet<String>,
    /// Desired tables whose state could not be read this cycle.
    pub unknown_tables: BTreeSet<String>,
    /// GetAccountSettings, read when reserved concurrency is desired or was set by trimtab.
    pub account_concurrency: Option<AccountConcurrency>,
    /// Scalable targets in the Lambda namespace for in-scope functions, and in the DynamoDB
    /// namespace for desired tables and their indexes.
    pub scalable_targets: Vec<ScalableTarget>,
    /// Tags of the scalable targets whose tags were read this cycle, by ARN.
    pub target_tags: BTreeMap<String, super::Tags>,
    /// Scaling policies on those targets (whoever made them).
    pub scaling_policies: Vec<ObservedScalingPolicy>,
    /// Aliases of the functions whose aliases were read this cycle (critical functions whose
    /// provisioned concurrency is not yet in place), by function.
    pub aliases: BTreeMap<String, Vec<Alias>>,
    /// EventBridge rules whose names carry the ownership prefix, by name.
    pub rules: BTreeMap<String, ObservedRule>,
    /// Targets of those rules, by rule name.
    pub rule_targets: BTreeMap<String, Vec<RuleTarget>>,
    /// Provisioned concurrency configurations of the functions whose configurations were read
    /// this cycle, by function.
    pub provisioned: BTreeMap<String, Vec<ProvisionedConcurrency>>,
    /// Resource-policy statements of the functions whose policy was read this cycle.
    pub permissions: BTreeMap<String, Vec<Permission>>,
    /// Configurations of the published versions read this cycle, by (function, version).
    pub versions: BTreeMap<(String, String), FunctionSummary>,
    /// CloudWatch dashboards read this cycle: their bodies, `None` when read and absent.
    pub dashboards: BTreeMap<String, Option<String>>,
    /// What was read this cycle, so "read and absent" is never confused with "not read".
    #[serde(skip)]
    pub reads: ReadLog,
}

impl Observed {
    pub fn empty(at: SystemTime, region: impl Into<String>) -> Self {
        Self {
            at,
            region: region.into(),
            account_id: None,
            functions: BTreeMap::new(),
            tables: BTreeMap::new(),
            missing_tables: Vec::new(),
            alarms: BTreeMap::new(),
            topics: BTreeMap::new(),
            metrics: Arc::default(),
            metric_names: BTreeMap::new(),
            unknown_functions: BTreeSet::new(),
            unknown_tables: BTreeSet::new(),
            account_concurrency: None,
            scalable_targets: Vec::new(),
            scaling_policies: Vec::new(),
            target_tags: BTreeMap::new(),
            aliases: BTreeMap::new(),
            rules: BTreeMap::new(),
            rule_targets: BTreeMap::new(),
            provisioned: BTreeMap::new(),
            permissions: BTreeMap::new(),
            versions: BTreeMap::new(),
            dashboards: BTreeMap::new(),
            reads: ReadLog::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObservedFunction {
    pub summary: FunctionSummary,
    /// Present when GetFunction was called for it this cycle.
    pub detail: Option<FunctionDetail>,
}

impl ObservedFunction {
    pub fn tags(&self) -> Option<&Tags> {
        self.detail.as_ref().map(|d| &d.tags)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObservedTopic {
    pub arn: String,
    pub tags: Option<Tags>,
    /// Read only for the topic trimtab manages.
    pub subscriptions: Option<Vec<Subscription>>,
}
