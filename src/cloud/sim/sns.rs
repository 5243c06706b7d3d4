//! `SnsApi` on the simulated account: topics (CreateTopic is idempotent by name), their tags,
//! and subscriptions (email ones stay `PendingConfirmation` until someone confirms them).

use async_trait::async_trait;

use crate::cloud::{CloudResult, Op, SnsApi};
use crate::model::{Page, Subscription, Tags};

use super::state::{SubscriptionRecord, TopicRecord};
use super::{Cx, SimAccount, paging, tagging};

/// What ListSubscriptionsByTopic shows instead of an ARN until the endpoint confirms.
pub const PENDING_CONFIRMATION: &str = "PendingConfirmation";

/// Protocols whose endpoints must confirm before the subscription is live.
const CONFIRMED_BY_ENDPOINT: &[&str] = &["email", "email-json", "http", "https"];
const PROTOCOLS: &[&str] = &[
    "email",
    "email-json",
    "http",
    "https",
    "sqs",
    "lambda",
    "sms",
    "application",
    "firehose",
];

fn topic<'s>(cx: &'s mut Cx<'_>, arn: &str) -> CloudResult<&'s mut TopicRecord> {
    let not_found = cx.not_found(format!("Topic does not exist: {arn}"));
    cx.st.topics.get_mut(arn).ok_or(not_found)
}

fn valid_topic_name(name: &str) -> bool {
    (1..=256).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[async_trait]
impl SnsApi for SimAccount {
    async fn list_topics(&self, next: Option<&str>) -> CloudResult<Page<String>> {
        self.call(Op::ListTopics, |cx| {
            let items = cx.st.topics.keys().map(|arn| (arn.clone(), arn.clone()));
            paging::page(cx.op, items, next, paging::LIST_TOPICS)
        })
        .await
    }

    async fn create_topic(&self, name: &str, tags: &Tags) -> CloudResult<String> {
        self.call(Op::CreateTopic, |cx| {
            if !valid_topic_name(name) {
                return Err(cx.invalid(format!(
                    "topic name {name:?} must be 1-256 of [A-Za-z0-9_-]"
                )));
            }
            let arn = cx.st.topic_arn(name);
            if let Some(existing) = cx.st.topics.get(&arn) {
                // SNS returns the existing topic, but refuses a create whose tags differ.
                if !tags.is_empty() && existing.tags != *tags {
                    return Err(cx.invalid("Topic already exists with different tags"));
                }
                return Ok(arn);
            }
            tagging::check(cx.op, tags)?;
            cx.st.topics.insert(
                arn.clone(),
                TopicRecord {
                    name: name.to_string(),
                    tags: tags.clone(),
                    subscriptions: Vec::new(),
                },
            );
            Ok(arn)
        })
        .await
    }

    async fn list_subscriptions_by_topic(
        &self,
        topic_arn: &str,
        next: Option<&str>,
    ) -> CloudResult<Page<Subscription>> {
        self.call(Op::ListSubscriptionsByTopic, |cx| {
            let t = topic(cx, topic_arn)?;
            let items: Vec<(String, Subscription)> = t
                .subscriptions
                .iter()
                .map(|s| {
                    let sub = Subscription {
                        arn: if s.confirmed {
                            s.arn.clone()
                        } else {
                            PENDING_CONFIRMATION.to_string()
                        },
                        protocol: s.protocol.clone(),
                        endpoint: s.endpoint.clone(),
                    };
                    (s.arn.clone(), sub)
                })
                .collect();
            let mut items = items;
            items.sort_by(|a, b| a.0.cmp(&b.0));
            paging::page(cx.op, items, next, paging::LIST_SUBSCRIPTIONS)
        })
        .await
    }

    async fn subscribe(&self, topic_arn: &str, protocol: &str, endpoint: &str) -> CloudResult<()> {
        self.call(Op::Subscribe, |cx| {
            if !PROTOCOLS.contains(&protocol) {
                return Err(cx.invalid(format!("Invalid parameter: protocol {protocol:?}")));
            }
            if endpoint.is_empty() {
                return Err(cx.invalid("Invalid parameter: Endpoint"));
            }
            if protocol.starts_with("email") && !endpoint.contains('@') {
                return Err(cx.invalid(format!("Invalid parameter: email address {endpoint:?}")));
            }
            let id = cx.st.new_uuid();
            let t = topic(cx, topic_arn)?;
            // Subscribing the same endpoint again is a no-op (for email it re-sends the
            // confirmation), never a second subscription.
            if t.subscriptions
                .iter()
                .any(|s| s.protocol == protocol && s.endpoint == endpoint)
            {
                return Ok(());
            }
            t.subscriptions.push(SubscriptionRecord {
                arn: format!("{topic_arn}:{id}"),
                protocol: protocol.to_string(),
                endpoint: endpoint.to_string(),
                confirmed: !CONFIRMED_BY_ENDPOINT.contains(&protocol),
            });
            Ok(())
        })
        .await
    }

    async fn list_tags_for_resource(&self, arn: &str) -> CloudResult<Tags> {
        self.call(Op::SnsListTagsForResource, |cx| {
            Ok(topic(cx, arn)?.tags.clone())
        })
        .await
    }

    async fn tag_resource(&self, arn: &str, tags: &Tags) -> CloudResult<()> {
        self.call(Op::SnsTagResource, |cx| {
            let op = cx.op;
            tagging::merge(op, &mut topic(cx, arn)?.tags, tags)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::account;
    use super::PENDING_CONFIRMATION;
    use crate::cloud::ErrorKind;
    use crate::model::Tags;

    #[tokio::test]
    async fn create_topic_is_idempotent_and_email_subscriptions_wait_for_confirmation() {
        let (acct, _clock) = account(vec![]);
        let sns = acct.cloud().sns;
        let tags: Tags = [("managed-by".to_string(), "trimtab".to_string())].into();
        let arn = sns
            .create_topic("trimtab-alerts", &tags)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(arn, "arn:aws:sns:ap-south-1:123456789012:trimtab-alerts");
        assert_eq!(
            sns.create_topic("trimtab-alerts", &tags).await.ok(),
            Some(arn.clone())
        );
        let other: Tags = [("managed-by".to_string(), "someone".to_string())].into();
        let e = sns.create_topic("trimtab-alerts", &other).await.err();
        assert_eq!(
            e.map(|e| e.kind),
            Some(ErrorKind::Invalid),
            "SNS refuses different tags"
        );
        assert_eq!(
            sns.list_topics(None).await.map(|p| p.items).ok(),
            Some(vec![arn.clone()])
        );

        assert!(
            sns.subscribe(&arn, "email", "ops@example.com")
                .await
                .is_ok()
        );
        assert!(
            sns.subscribe(&arn, "email", "ops@example.com")
                .await
                .is_ok()
        );
        assert!(
            sns.subscribe(&arn, "sqs", "arn:aws:sqs:ap-south-1:123456789012:q")
                .await
                .is_ok()
        );
        let subs = sns
            .list_subscriptions_by_topic(&arn, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(subs.items.len(), 2);
        let email = subs.items.iter().find(|s| s.protocol == "email");
        assert_eq!(email.map(|s| s.arn.as_str()), Some(PENDING_CONFIRMATION));
        assert!(
            subs.items
                .iter()
                .any(|s| s.protocol == "sqs" && s.arn.starts_with(&arn))
        );
        let e = sns.subscribe(&arn, "carrier-pigeon", "x").await.err();
        assert_eq!(e.map(|e| e.kind), Some(ErrorKind::Invalid));
        let missing = sns
            .list_subscriptions_by_topic(&format!("{arn}-nope"), None)
            .await
            .err();
        assert_eq!(missing.map(|e| e.kind), Some(ErrorKind::NotFound));

        assert!(sns.tag_resource(&arn, &other).await.is_ok());
        assert_eq!(sns.list_tags_for_resource(&arn).await.ok(), Some(other));
    }
}
