//! `TaggingApi` over aws-sdk-resourcegroupstagging: the tags of up to 100 resources of any
//! service in one GetResources call, which is how a fresh process learns what it owns without
//! one ListTagsForResource per alarm.

use async_trait::async_trait;

use super::error::from_sdk;
use crate::cloud::{CloudResult, Op, TaggingApi};
use crate::model::{Page, Tags};

pub(crate) struct AwsTagging {
    client: aws_sdk_resourcegroupstagging::Client,
}

impl AwsTagging {
    pub(crate) fn new(client: aws_sdk_resourcegroupstagging::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl TaggingApi for AwsTagging {
    async fn get_resources(
        &self,
        arns: &[String],
        next: Option<&str>,
    ) -> CloudResult<Page<(String, Tags)>> {
        // AWS answers an ARN list in one response; emulators may still page it, so a token is
        // followed when one comes back.
        let out = self
            .client
            .get_resources()
            .set_resource_arn_list(Some(arns.to_vec()))
            .set_pagination_token(next.map(str::to_owned))
            .send()
            .await
            .map_err(|e| from_sdk(Op::GetResources, e))?;
        let items = out
            .resource_tag_mapping_list()
            .iter()
            .filter_map(|m| {
                let arn = m.resource_arn()?.to_string();
                let tags: Tags = m
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect();
                Some((arn, tags))
            })
            .collect();
        Ok(Page {
            items,
            next: out
                .pagination_token()
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
        })
    }
}
