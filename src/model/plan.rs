//! The plan: every change trimtab intends to make, each with a reason, and every change it
//! refuses to make, each with a reason too. `trimtab plan` prints exactly this; `apply` executes
//! exactly this.

use serde::Serialize;

use super::Tags;
use super::alarm::AlarmSpec;
use super::events::{Rule, RuleTarget};
use super::lambda::{FunctionConfigUpdate, Permission, VersionWeight};
use super::scaling::{ScalableDimension, ScalableTarget, ScalingPolicy};

/// When a change runs. Every change of a phase finishes before the next phase starts; within a
/// phase, changes to different resources run concurrently. The phases say what a change may
/// rely on, not which controller made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Resources others point at by ARN, such as a notification topic.
    Foundation,
    /// What hangs on a foundation resource, such as a topic's subscriptions.
    Wiring,
    /// Alarms, which notify the foundation topic.
    Monitoring,
    /// Prerequisites of capacity changes: aliases, scalable targets, rules, ownership markers.
    Prepare,
    /// New settings built on what `Prepare` made: policies, rule targets, permissions, values.
    Build,
    /// Removal of what is no longer wanted, only after every build has finished, so a function
    /// is never left without warm capacity in between.
    Teardown,
}

impl Phase {
    pub const ALL: [Phase; 6] = [
        Phase::Foundation,
        Phase::Wiring,
        Phase::Monitoring,
        Phase::Prepare,
        Phase::Build,
        Phase::Teardown,
    ];
}

/// A value a write needs that may only exist once an earlier write of the same apply has run:
/// the explicit form of "known after apply".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TopicArn {
    Known(String),
    /// The ARN of the topic of this name, created by a `CreateTopic` in an earlier phase.
    CreatedBy(String),
}

/// What one write touches. Two changes touching the same resource never run at once.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKey {
    Alarm(String),
    Topic(String),
    Function(String),
    /// An Application Auto Scaling scalable resource: its target and its policies.
    Scalable(String),
    Rule(String),
    /// A custom metric trimtab publishes, by namespace and name.
    Metric(String),
    Dashboard(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    Topic,
    Subscription,
    Alarm,
    ReservedConcurrency,
    Alias,
    ProvisionedConcurrency,
    ScalableTarget,
    ScalingPolicy,
    Rule,
    RuleTarget,
    Permission,
    FunctionConfig,
    Canary,
    /// A datapoint of a metric trimtab computes and publishes (the cost per student).
    MetricData,
    Dashboard,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 15] = [
        ResourceKind::Topic,
        ResourceKind::Subscription,
        ResourceKind::Alarm,
        ResourceKind::ReservedConcurrency,
        ResourceKind::Alias,
        ResourceKind::ProvisionedConcurrency,
        ResourceKind::ScalableTarget,
        ResourceKind::ScalingPolicy,
        ResourceKind::Rule,
        ResourceKind::RuleTarget,
        ResourceKind::Permission,
        ResourceKind::FunctionConfig,
        ResourceKind::Canary,
        ResourceKind::MetricData,
        ResourceKind::Dashboard,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Topic => "topic",
            ResourceKind::Subscription => "subscription",
            ResourceKind::Alarm => "alarm",
            ResourceKind::ReservedConcurrency => "reserved_concurrency",
            ResourceKind::Alias => "alias",
            ResourceKind::ProvisionedConcurrency => "provisioned_concurrency",
            ResourceKind::ScalableTarget => "scalable_target",
            ResourceKind::ScalingPolicy => "scaling_policy",
            ResourceKind::Rule => "rule",
            ResourceKind::RuleTarget => "rule_target",
            ResourceKind::Permission => "permission",
            ResourceKind::FunctionConfig => "function_config",
            ResourceKind::Canary => "canary",
            ResourceKind::MetricData => "metric_data",
            ResourceKind::Dashboard => "dashboard",
        }
    }
}

impl std::fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    pub const ALL: [Action; 3] = [Action::Create, Action::Update, Action::Delete];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }

    pub fn sigil(self) -> char {
        match self {
            Action::Create => '+',
            Action::Update => '~',
            Action::Delete => '-',
        }
    }
}

/// One changed field of an update, rendered for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldDiff {
    pub field: String,
    pub old: String,
    pub new: String,
}

/// One write call. A change is a short ordered list of these.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Write {
    PutMetricAlarm {
        alarm: AlarmSpec,
    },
    TagAlarm {
        arn: String,
        tags: Tags,
    },
    UntagAlarm {
        arn: String,
        keys: Vec<String>,
    },
    DeleteAlarms {
        names: Vec<String>,
    },
    CreateTopic {
        name: String,
        tags: Tags,
    },
    Subscribe {
        topic_arn: TopicArn,
        protocol: String,
        endpoint: String,
    },
    PutFunctionConcurrency {
        function: String,
        reserved: u32,
    },
    DeleteFunctionConcurrency {
        function: String,
    },
    TagFunction {
        arn: String,
        tags: Tags,
    },
    UntagFunction {
        arn: String,
        keys: Vec<String>,
    },
    /// Publish a version of `$LATEST` and point a new alias at it.
    PublishAndCreateAlias {
        function: String,
        alias: String,
    },
    PutProvisionedConcurrency {
        function: String,
        qualifier: String,
        requested: u32,
    },
    /// Not a write: waits (bounded) until provisioned concurrency on the qualifier is READY, and
    /// fails the change if it is FAILED or does not become ready in time. Guards the removal of
    /// an old cold-start strategy, so a function is never left without warm capacity.
    AwaitProvisionedConcurrency {
        function: String,
        qualifier: String,
    },
    DeleteProvisionedConcurrency {
        function: String,
        qualifier: String,
    },
    RegisterScalableTarget {
        target: ScalableTarget,
    },
    DeregisterScalableTarget {
        resource_id: String,
        dimension: ScalableDimension,
    },
    PutScalingPolicy {
        policy: ScalingPolicy,
    },
    DeleteScalingPolicy {
        name: String,
        resource_id: String,
        dimension: ScalableDimension,
    },
    PutRule {
        rule: Rule,
        tags: Tags,
    },
    DeleteRule {
        name: String,
    },
    PutTargets {
        rule: String,
        targets: Vec<RuleTarget>,
    },
    RemoveTargets {
        rule: String,
        ids: Vec<String>,
    },
    AddPermission {
        function: String,
        permission: Permission,
    },
    RemovePermission {
        function: String,
        statement_id: String,
        qualifier: Option<String>,
    },
    UpdateFunctionConfiguration {
        function: String,
        update: FunctionConfigUpdate,
    },
    /// Publish `$LATEST` as a version (only if still at `revision_id`) and route `weight` of
    /// the alias's invocations to it, `primary` keeping the rest: a canary. Without a weight,
    /// the alias points at the new version outright (an emergency).
    PublishAndRoute {
        function: String,
        alias: String,
        primary: String,
        weight: Option<f64>,
        revision_id: Option<String>,
    },
    /// Point an alias at `version`, with an optional weighted second version (promote a canary
    /// with `routing: None` and the canary as `version`; roll back with the old one).
    RouteAlias {
        function: String,
        alias: String,
        version: String,
        routing: Option<VersionWeight>,
    },
    /// Datapoints of trimtab's own metrics, one PutMetricData call per namespace (at most
    /// 1,000 datapoints a call).
    PutMetricData {
        namespace: String,
        data: Vec<super::MetricDatum>,
    },
    PutDashboard {
        name: String,
        body: String,
    },
    DeleteDashboard {
        name: String,
    },
}

fn function_of_arn(arn: &str) -> String {
    arn.split_once(":function:")
        .map(|(_, rest)| rest.split(':').next().unwrap_or(rest).to_string())
        .unwrap_or_else(|| arn.to_string())
}

fn topic_name_of(arn: &TopicArn) -> String {
    match arn {
        TopicArn::Known(arn) => arn.rsplit(':').next().unwrap_or(arn).to_string(),
        TopicArn::CreatedBy(name) => name.clone(),
    }
}

impl Write {
    /// The resource this write changes, for the executor's one-change-per-resource rule.
    pub fn resource(&self) -> ResourceKey {
        match self {
            Write::PutMetricAlarm { alarm } => ResourceKey::Alarm(alarm.name.clone()),
            // Alarm names may hold colons; the ARN is `...:alarm:NAME`.
            Write::TagAlarm { arn, .. } | Write::UntagAlarm { arn, .. } => ResourceKey::Alarm(
                arn.split_once(":alarm:")
                    .map_or_else(|| arn.clone(), |(_, n)| n.to_string()),
            ),
            Write::DeleteAlarms { names } => {
                ResourceKey::Alarm(names.first().cloned().unwrap_or_default())
            }
            Write::CreateTopic { name, .. } => ResourceKey::Topic(name.clone()),
            Write::Subscribe { topic_arn, .. } => ResourceKey::Topic(topic_name_of(topic_arn)),
            Write::TagFunction { arn, .. } | Write::UntagFunction { arn, .. } => {
                ResourceKey::Function(function_of_arn(arn))
            }
            Write::PutFunctionConcurrency { function, .. }
            | Write::DeleteFunctionConcurrency { function }
            | Write::PublishAndCreateAlias { function, .. }
            | Write::PutProvisionedConcurrency { function, .. }
            | Write::AwaitProvisionedConcurrency { function, .. }
            | Write::DeleteProvisionedConcurrency { function, .. }
            | Write::AddPermission { function, .. }
            | Write::RemovePermission { function, .. }
            | Write::UpdateFunctionConfiguration { function, .. }
            | Write::PublishAndRoute { function, .. }
            | Write::RouteAlias { function, .. } => ResourceKey::Function(function.clone()),
            Write::RegisterScalableTarget { target } => {
                ResourceKey::Scalable(target.resource_id.clone())
            }
            Write::DeregisterScalableTarget { resource_id, .. }
            | Write::DeleteScalingPolicy { resource_id, .. } => {
                ResourceKey::Scalable(resource_id.clone())
            }
            Write::PutScalingPolicy { policy } => ResourceKey::Scalable(policy.resource_id.clone()),
            Write::PutRule { rule, .. } => ResourceKey::Rule(rule.name.clone()),
            Write::DeleteRule { name } => ResourceKey::Rule(name.clone()),
            Write::PutTargets { rule, .. } | Write::RemoveTargets { rule, .. } => {
                ResourceKey::Rule(rule.clone())
            }
            Write::PutMetricData { namespace, .. } => ResourceKey::Metric(namespace.clone()),
            Write::PutDashboard { name, .. } | Write::DeleteDashboard { name } => {
                ResourceKey::Dashboard(name.clone())
            }
        }
    }
}

/// One intended change to one resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub kind: ResourceKind,
    /// The resource's name or id, unique within its kind.
    pub id: String,
    pub action: Action,
    /// For updates: every field that differs, old → new.
    pub diffs: Vec<FieldDiff>,
    pub reason: String,
    /// Changes run phase by phase; within a phase, changes to different resources run
    /// concurrently and changes to the same resource in plan order.
    pub phase: Phase,
    pub writes: Vec<Write>,
}

/// A change trimtab will not make, and why (not owned, refused by a guard, missing input).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub kind: ResourceKind,
    pub id: String,
    pub reason: String,
}

/// Something the plan wants a person to know that is neither a change nor a refusal: a
/// recommendation, a warning about what it cannot see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// The controller that wrote it.
    pub controller: &'static str,
    /// A short, stable code for counting (`metric_without_data`), bounded per controller.
    pub code: &'static str,
    /// The resource it is about.
    pub id: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub refusals: Vec<Refusal>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
    /// Right-sizing's recommendations, one per function it looked at.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recommendations: Vec<super::rightsizing::Recommendation>,
    /// The cost model's estimate, when the cost controller ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<super::cost::CostReport>,
    /// What the controllers manage, whether or not it needs a change: `/status`'s inventory.
    #[serde(skip)]
    pub managed: Vec<(ResourceKind, String)>,
}

/// Two plans are equal when they would do and say the same: the inventory is bookkeeping.
impl PartialEq for Plan {
    fn eq(&self, other: &Self) -> bool {
        self.changes == other.changes
            && self.refusals == other.refusals
            && self.notes == other.notes
            && self.recommendations == other.recommendations
            && self.cost == other.cost
    }
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn extend(&mut self, other: Plan) {
        self.changes.extend(other.changes);
        self.refusals.extend(other.refusals);
        self.notes.extend(other.notes);
        self.recommendations.extend(other.recommendations);
        self.managed.extend(other.managed);
        if other.cost.is_some() {
            self.cost = other.cost;
        }
    }

    /// Stable order for display and execution: phase, kind, id.
    pub fn sort(&mut self) {
        self.changes.sort_by(|a, b| {
            (a.phase, a.kind, &a.id, a.action).cmp(&(b.phase, b.kind, &b.id, b.action))
        });
        self.refusals
            .sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
        self.notes
            .sort_by(|a, b| (a.controller, a.code, &a.id).cmp(&(b.controller, b.code, &b.id)));
        self.recommendations
            .sort_by(|a, b| a.function.cmp(&b.function));
    }

    pub fn write_count(&self) -> usize {
        self.changes.iter().map(|c| c.writes.len()).sum()
    }
}
