//! The plan: every change trimtab intends to make, each with a reason, and every change it
//! refuses to make, each with a reason too. `trimtab plan` prints exactly this; `apply` executes
//! exactly this.

use serde::Serialize;

use super::Tags;
use super::alarm::AlarmSpec;
use super::events::{Rule, RuleTarget};
use super::lambda::{FunctionConfigUpdate, Permission};
use super::scaling::{ScalableDimension, ScalableTarget, ScalingPolicy};

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
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 12] = [
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
        topic_arn: String,
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
    /// Changes run phase by phase (0 first); within a phase, in any order and concurrently.
    /// Used where one resource needs another: a topic before the alarms that notify it, a new
    /// cold-start strategy before the old one is removed.
    pub phase: u8,
    pub writes: Vec<Write>,
}

/// A change trimtab will not make, and why (not owned, refused by a guard, missing input).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub kind: ResourceKind,
    pub id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub refusals: Vec<Refusal>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn extend(&mut self, other: Plan) {
        self.changes.extend(other.changes);
        self.refusals.extend(other.refusals);
    }

    /// Stable order for display and execution: phase, kind, id.
    pub fn sort(&mut self) {
        self.changes.sort_by(|a, b| {
            (a.phase, a.kind, &a.id, a.action).cmp(&(b.phase, b.kind, &b.id, b.action))
        });
        self.refusals
            .sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    }

    pub fn write_count(&self) -> usize {
        self.changes.iter().map(|c| c.writes.len()).sum()
    }
}
