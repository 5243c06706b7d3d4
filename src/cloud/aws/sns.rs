//! `SnsApi` over aws-sdk-sns: the notification topic alarms send to, its email subscriptions
//! and its ownership tags.

use async_trait::async_trait;
use aws_sdk_sns::types::Tag;

use super::error::from_sdk;
use super::{invalid_input, missing};
use crate::cloud::{CloudResult, Op, SnsApi};
use crate::model::{Page, Subscription, Tags};

pub(crate) struct AwsSns {
    client: aws_sdk_sns::Client,
}

impl AwsSns {
    pub(crate) fn new(client: aws_sdk_sns::Client) -> Self {
        Self { client }
    }
}

fn sdk_tags(op: Op, tags: &Tags) -> CloudResult<Vec<Tag>> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k.as_str())
                .value(v.as_str())
                .build()
                .map_err(|e| invalid_input(op, e))
        })
        .collect()
}

#[async_trait]
impl SnsApi for AwsSns {
    async fn list_topics(&self, next: Option<&str>) -> CloudResult<Page<String>> {
        // ListTopics has no page-size parameter; AWS returns up to 100 per page.
        let out = self
            .client
            .list_topics()
            .set_next_token(next.map(str::to_owned))
            .send()
            .await
            .map_err(|e| from_sdk(Op::ListTopics, e))?;
        Ok(Page {
            items: out
                .topics()
                .iter()
                .filter_map(|t| t.topic_arn().map(str::to_owned))
                .collect(),
            next: out.next_token().map(str::to_owned),
        })
    }

    async fn create_topic(&self, name: &str, tags: &Tags) -> CloudResult<String> {
        const OP: Op = Op::CreateTopic;
        // CreateTopic is idempotent for an existing topic with the same attributes and tags;
        // AWS rejects it (InvalidParameter) if the tags differ, which surfaces as Invalid.
        let out = self
            .client
            .create_topic()
            .name(name)
            .set_tags((!tags.is_empty()).then(|| sdk_tags(OP, tags)).transpose()?)
            .send()
            .await
            .map_err(|e| from_sdk(OP, e))?;
        out.topic_arn()
            .map(str::to_owned)
            .ok_or_else(|| missing(OP, "TopicArn"))
    }

    async fn list_subscriptions_by_topic(
        &self,
        topic_arn: &str,
        next: Option<&str>,
    ) -> CloudResult<Page<Subscription>> {
        let out = self
            .client
            .list_subscriptions_by_topic()
            .topic_arn(topic_arn)
            .set_next_token(next.map(str::to_owned))
            .send()
            .await
            .map_err(|e| from_sdk(Op::ListSubscriptionsByTopic, e))?;
        Ok(Page {
            items: out
                .subscriptions()
                .iter()
                .map(|s| Subscription {
                    arn: s.subscription_arn().unwrap_or_default().to_owned(),
                    protocol: s.protocol().unwrap_or_default().to_owned(),
                    endpoint: s.endpoint().unwrap_or_default().to_owned(),
                })
                .collect(),
            next: out.next_token().map(str::to_owned),
        })
    }

    async fn subscribe(&self, topic_arn: &str, protocol: &str, endpoint: &str) -> CloudResult<()> {
        self.client
            .subscribe()
            .topic_arn(topic_arn)
            .protocol(protocol)
            .endpoint(endpoint)
            .send()
            .await
            .map_err(|e| from_sdk(Op::Subscribe, e))?;
        Ok(())
    }

    async fn list_tags_for_resource(&self, arn: &str) -> CloudResult<Tags> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| from_sdk(Op::SnsListTagsForResource, e))?;
        Ok(out
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect())
    }

    async fn tag_resource(&self, arn: &str, tags: &Tags) -> CloudResult<()> {
        const OP: Op = Op::SnsTagResource;
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(sdk_tags(OP, tags)?))
            .send()
            .await
            .map_err(|e| from_sdk(OP, e))?;
        Ok(())
    }
}
