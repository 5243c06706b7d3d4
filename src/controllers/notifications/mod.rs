//! The notification topic: either someone else's (trimtab only points alarms at it) or one
//! trimtab creates and owns, with email subscriptions. It tells the alarms controller where
//! their actions go ([`AlarmTopic`]).
//!
//! Removing an email from the config does not unsubscribe it: an SNS email subscription is
//! confirmed by a person, and silently dropping someone from alerts is worse than an extra mail.
//! The plan says so instead.

mod settings;

use crate::model::{
    Action, Change, Desired, Observed, Phase, Plan, Read, Reads, Refusal, ResourceKind, TopicArn,
    Write,
};

use super::shared::ownership::may_change;
use super::{Controller, Cx, Fact, Planned, SettingsCx};

pub use settings::Notifications as Settings;

/// The notification topic and its email subscriptions.
pub struct Notifications;

/// Where alarm actions point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicRef {
    /// No notifications configured: alarms get no actions.
    None,
    Known(String),
    /// The topic's ARN cannot be known yet; alarms wait for the next cycle.
    Pending(String),
}

/// Published for the alarms controller: where its alarms' actions point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmTopic(pub TopicRef);

impl Fact for AlarmTopic {}

impl Controller for Notifications {
    const NAME: &'static str = "notifications";
    type Settings = Settings;
    type RuleSettings = ();
    type TableSettings = ();
    type Memory = ();

    fn settings(cx: &mut SettingsCx<'_, '_, '_>) -> Settings {
        settings::read(cx)
    }

    fn reads(cx: &Cx<'_, Self>, _: &mut (), reads: &mut Reads) {
        if let Settings::Managed { name, .. } = cx.settings {
            reads.now(Read::Topic {
                name: topic_name(cx.desired, name),
            });
        }
    }

    fn plan(cx: &Cx<'_, Self>, _: &mut (), out: &mut Planned) {
        let (plan, topic) = plan(cx.desired, cx.settings, cx.observed);
        out.plan = plan;
        out.facts.publish(AlarmTopic(topic));
    }
}

/// The full name of the managed topic.
pub fn topic_name(desired: &Desired, name: &str) -> String {
    format!("{}{}", desired.ownership.name_prefix, name)
}

fn find_topic<'a>(observed: &'a Observed, name: &str) -> Option<&'a crate::model::ObservedTopic> {
    observed
        .topics
        .values()
        .find(|t| t.arn.rsplit(':').next() == Some(name))
}

/// Plans the topic and its subscriptions, and says where alarm actions should point.
pub fn plan(desired: &Desired, settings: &Settings, observed: &Observed) -> (Plan, TopicRef) {
    let mut plan = Plan::default();
    let (name, emails) = match settings {
        Settings::None => return (plan, TopicRef::None),
        Settings::Existing { topic_arn } => return (plan, TopicRef::Known(topic_arn.clone())),
        Settings::Managed { name, emails } => (topic_name(desired, name), emails),
    };
    let own = &desired.ownership;
    plan.managed.push((ResourceKind::Topic, name.clone()));
    let Some(topic) = find_topic(observed, &name) else {
        let mut tags = crate::model::Tags::new();
        tags.insert(own.tag_key.as_str().into(), own.tag_value.as_str().into());
        plan.changes.push(Change {
            kind: ResourceKind::Topic,
            id: name.clone(),
            action: Action::Create,
            diffs: Vec::new(),
            reason: "notifications.topic is managed by trimtab and does not exist".into(),
            phase: Phase::Foundation,
            writes: vec![Write::CreateTopic {
                name: name.clone(),
                tags,
            }],
        });
        let arn = observed
            .account_id
            .as_ref()
            .map(|account| format!("arn:aws:sns:{}:{account}:{name}", observed.region));
        for email in emails {
            plan.changes.push(subscribe(&name, arn.as_deref(), email));
        }
        let topic_ref = match arn {
            Some(arn) => TopicRef::Known(arn),
            None => TopicRef::Pending(format!(
                "topic {name} is created first; its ARN is known after apply"
            )),
        };
        return (plan, topic_ref);
    };

    let marked = topic.tags.as_ref().is_some_and(|t| own.owns(t));
    let owned = may_change(own, marked, &name);
    if !owned {
        plan.refusals.push(Refusal {
            kind: ResourceKind::Topic,
            id: name.clone(),
            reason: format!(
                "topic exists but is not owned by trimtab (no {}={} tag): alarms will notify it, but its subscriptions are left alone",
                own.tag_key, own.tag_value
            ),
        });
        return (plan, TopicRef::Known(topic.arn.clone()));
    }
    let subscribed: Vec<&str> = topic
        .subscriptions
        .iter()
        .flatten()
        .filter(|s| s.protocol == "email")
        .map(|s| s.endpoint.as_str())
        .collect();
    for email in emails.iter().filter(|e| !subscribed.contains(&e.as_str())) {
        plan.changes.push(subscribe(&name, Some(&topic.arn), email));
    }
    for extra in subscribed
        .iter()
        .filter(|s| !emails.iter().any(|e| e == *s))
    {
        plan.refusals.push(Refusal {
            kind: ResourceKind::Subscription,
            id: format!("{name}/{extra}"),
            reason: "subscribed but not in notifications.emails; trimtab never unsubscribes people: remove it in the SNS console if intended".into(),
        });
    }
    (plan, TopicRef::Known(topic.arn.clone()))
}

fn subscribe(topic: &str, arn: Option<&str>, email: &str) -> Change {
    Change {
        kind: ResourceKind::Subscription,
        id: format!("{topic}/{email}"),
        action: Action::Create,
        diffs: Vec::new(),
        reason: format!(
            "{email} is in notifications.emails and not subscribed (they must confirm by email)"
        ),
        phase: Phase::Wiring,
        writes: vec![Write::Subscribe {
            // Unknown until the topic is created in an earlier phase of the same apply.
            topic_arn: arn.map_or_else(
                || TopicArn::CreatedBy(topic.to_string()),
                |a| TopicArn::Known(a.to_string()),
            ),
            protocol: "email".into(),
            endpoint: email.to_string(),
        }],
    }
}
