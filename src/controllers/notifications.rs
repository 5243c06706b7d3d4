//! The notification topic: either someone else's (trimtab only points alarms at it) or one
//! trimtab creates and owns, with email subscriptions.
//!
//! Removing an email from the config does not unsubscribe it: an SNS email subscription is
//! confirmed by a person, and silently dropping someone from alerts is worse than an extra mail.
//! The plan says so instead.

use crate::model::{
    Action, Change, Desired, Notifications, Observed, Plan, Refusal, ResourceKind, Write,
};

use super::{PHASE_SUBSCRIPTIONS, PHASE_TOPIC, TopicRef};

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
pub fn plan(desired: &Desired, observed: &Observed) -> (Plan, TopicRef) {
    let mut plan = Plan::default();
    let (name, emails) = match &desired.notifications {
        Notifications::None => return (plan, TopicRef::None),
        Notifications::Existing { topic_arn } => return (plan, TopicRef::Known(topic_arn.clone())),
        Notifications::Managed { name, emails } => (topic_name(desired, name), emails),
    };
    let own = &desired.ownership;
    let Some(topic) = find_topic(observed, &name) else {
        let mut tags = crate::model::Tags::new();
        tags.insert(own.tag_key.clone(), own.tag_value.clone());
        plan.changes.push(Change {
            kind: ResourceKind::Topic,
            id: name.clone(),
            action: Action::Create,
            diffs: Vec::new(),
            reason: "notifications.topic is managed by trimtab and does not exist".into(),
            phase: PHASE_TOPIC,
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

    let owned = topic.tags.as_ref().is_some_and(|t| own.owns(t)) || own.adopt.contains(&name);
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
        phase: PHASE_SUBSCRIPTIONS,
        writes: vec![Write::Subscribe {
            // The executor fills the ARN from the topic created in an earlier phase when unknown.
            topic_arn: arn
                .map(str::to_string)
                .unwrap_or_else(|| format!("{TOPIC_ARN_PLACEHOLDER}{topic}")),
            protocol: "email".into(),
            endpoint: email.to_string(),
        }],
    }
}

/// Stands for "the ARN of the topic named after this" until the topic exists.
pub const TOPIC_ARN_PLACEHOLDER: &str = "(known after apply):";
