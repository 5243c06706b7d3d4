//! `[notifications]`: `topic_arn` names a topic someone else owns; `topic` (+ `emails`) a topic
//! trimtab creates and owns.

use crate::config::read::check;
use crate::controllers::SettingsCx;

#[derive(Debug, Clone, PartialEq)]
pub enum Notifications {
    /// Alarms get no actions.
    None,
    /// Alarm actions go to a topic someone else owns.
    Existing { topic_arn: String },
    /// trimtab creates and owns the topic (named `name_prefix + name`) and its email subscriptions.
    Managed { name: String, emails: Vec<String> },
}

pub(super) fn read(cx: &mut SettingsCx<'_, '_, '_>) -> Notifications {
    let d = &mut *cx.d;
    let s = cx.sections.get(d, "notifications");
    let topic_arn = s.string(d, "topic_arn");
    let topic = s.string(d, "topic");
    let raw_emails = s.strings(d, "emails");
    let prefix = &cx.ownership.name_prefix;

    let mut emails = Vec::new();
    for email in raw_emails.iter().flat_map(|e| e.get_ref()) {
        if check::is_email(email.get_ref()) {
            emails.push(email.get_ref().clone());
        } else {
            let msg = format!(
                "`notifications.emails`: \"{}\" is not a valid email address",
                email.get_ref()
            );
            d.error(&email.span(), msg);
        }
    }
    if let (Some(emails), None) = (&raw_emails, &topic) {
        let msg = if topic_arn.is_some() {
            "`notifications.emails` needs `topic`: trimtab subscribes emails only to a topic it creates; subscribe them to `topic_arn` yourself"
        } else {
            "`notifications.emails` needs `topic`: the name of the topic trimtab creates for them"
        };
        d.error(&emails.span(), msg);
    }
    match (&topic_arn, &topic) {
        (Some(arn), Some(topic)) => {
            let later = arn.span().start.max(topic.span().start);
            d.error_at(
                later,
                "[notifications] sets both `topic_arn` (an existing topic) and `topic` (a topic trimtab creates); keep one",
            );
            Notifications::None
        }
        (Some(_), None) => {
            let arn = check::text(d, &topic_arn, check::is_topic_arn, |s| {
                format!(
                    "`notifications.topic_arn` \"{s}\" is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"
                )
            });
            arn.map_or(Notifications::None, |topic_arn| Notifications::Existing {
                topic_arn,
            })
        }
        (None, Some(_)) => {
            let name = check::text(
                d,
                &topic,
                |s| check::is_topic_name(&format!("{prefix}{s}")),
                |s| {
                    format!(
                        "`notifications.topic` \"{s}\": the topic name \"{prefix}{s}\" (name_prefix + topic) may contain only letters, digits, `-` and `_`, at most 256"
                    )
                },
            );
            name.map_or(Notifications::None, |name| Notifications::Managed {
                name,
                emails,
            })
        }
        (None, None) => Notifications::None,
    }
}
