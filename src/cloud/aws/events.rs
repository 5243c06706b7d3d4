//! `EventsApi` over aws-sdk-eventbridge: scheduled warm-up rules on the default bus, their
//! targets and tags.

use async_trait::async_trait;
use aws_sdk_eventbridge::types::{RuleState as SdkRuleState, Tag, Target};

use super::error::{classify, from_sdk};
use super::{invalid_input, missing};
use crate::cloud::{CloudError, CloudResult, EventsApi, Op};
use crate::model::{ObservedRule, Page, Rule, RuleState, RuleTarget, Tags};

/// The most ListRules and ListTargetsByRule accept as `Limit`.
const PAGE_LIMIT: i32 = 100;

pub(crate) struct AwsEvents {
    client: aws_sdk_eventbridge::Client,
}

impl AwsEvents {
    pub(crate) fn new(client: aws_sdk_eventbridge::Client) -> Self {
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

/// PutTargets and RemoveTargets answer 200 even when entries fail; the failures are in the body.
/// One failed entry fails the call, classified by the first entry's code, so the executor
/// retries the whole (idempotent) call.
fn partial_failure<'a>(
    op: Op,
    count: i32,
    entries: impl Iterator<Item = (Option<&'a str>, Option<&'a str>, Option<&'a str>)>,
) -> CloudResult<()> {
    if count == 0 {
        return Ok(());
    }
    let entries: Vec<_> = entries.collect();
    let (code, first_message) = entries
        .first()
        .map(|(_, code, message)| (*code, *message))
        .unwrap_or((None, None));
    let detail = entries
        .iter()
        .map(|(id, code, message)| {
            format!(
                "{}: {} {}",
                id.unwrap_or("?"),
                code.unwrap_or("?"),
                message.unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let mut err = CloudError::new(
        classify(code, first_message, None),
        op,
        format!("{count} entries failed: {detail}"),
    );
    if let Some(code) = code {
        err = err.with_code(code);
    }
    Err(err)
}

#[async_trait]
impl EventsApi for AwsEvents {
    async fn list_rules(
        &self,
        prefix: Option<&str>,
        next: Option<&str>,
    ) -> CloudResult<Page<ObservedRule>> {
        const OP: Op = Op::ListRules;
        let out = self
            .client
            .list_rules()
            .set_name_prefix(prefix.map(str::to_owned))
            .set_next_token(next.map(str::to_owned))
            .limit(PAGE_LIMIT)
            .send()
            .await
            .map_err(|e| from_sdk(OP, e))?;
        let items = out
            .rules()
            .iter()
            .map(|r| {
                Ok(ObservedRule {
                    arn: r
                        .arn()
                        .ok_or_else(|| missing(OP, "Rules[].Arn"))?
                        .to_owned(),
                    rule: Rule {
                        name: r
                            .name()
                            .ok_or_else(|| missing(OP, "Rules[].Name"))?
                            .to_owned(),
                        schedule_expression: r.schedule_expression().map(str::to_owned),
                        description: r.description().map(str::to_owned),
                        state: match r.state() {
                            Some(SdkRuleState::Disabled) => RuleState::Disabled,
                            // ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS is enabled too.
                            _ => RuleState::Enabled,
                        },
                    },
                })
            })
            .collect::<CloudResult<Vec<_>>>()?;
        Ok(Page {
            items,
            next: out.next_token().map(str::to_owned),
        })
    }

    async fn put_rule(&self, rule: &Rule, tags: &Tags) -> CloudResult<String> {
        const OP: Op = Op::PutRule;
        let out = self
            .client
            .put_rule()
            .name(&rule.name)
            .set_schedule_expression(rule.schedule_expression.clone())
            .set_description(rule.description.clone())
            .state(match rule.state {
                RuleState::Enabled => SdkRuleState::Enabled,
                RuleState::Disabled => SdkRuleState::Disabled,
            })
            .set_tags((!tags.is_empty()).then(|| sdk_tags(OP, tags)).transpose()?)
            .send()
            .await
            .map_err(|e| from_sdk(OP, e))?;
        out.rule_arn()
            .map(str::to_owned)
            .ok_or_else(|| missing(OP, "RuleArn"))
    }

    async fn delete_rule(&self, name: &str) -> CloudResult<()> {
        self.client
            .delete_rule()
            .name(name)
            .send()
            .await
            .map_err(|e| from_sdk(Op::DeleteRule, e))?;
        Ok(())
    }

    async fn list_targets_by_rule(
        &self,
        rule: &str,
        next: Option<&str>,
    ) -> CloudResult<Page<RuleTarget>> {
        let out = self
            .client
            .list_targets_by_rule()
            .rule(rule)
            .set_next_token(next.map(str::to_owned))
            .limit(PAGE_LIMIT)
            .send()
            .await
            .map_err(|e| from_sdk(Op::ListTargetsByRule, e))?;
        Ok(Page {
            items: out
                .targets()
                .iter()
                .map(|t| RuleTarget {
                    id: t.id().to_owned(),
                    arn: t.arn().to_owned(),
                    input: t.input().map(str::to_owned),
                })
                .collect(),
            next: out.next_token().map(str::to_owned),
        })
    }

    async fn put_targets(&self, rule: &str, targets: &[RuleTarget]) -> CloudResult<()> {
        const OP: Op = Op::PutTargets;
        let targets = targets
            .iter()
            .map(|t| {
                Target::builder()
                    .id(&t.id)
                    .arn(&t.arn)
                    .set_input(t.input.clone())
                    .build()
                    .map_err(|e| invalid_input(OP, e))
            })
            .collect::<CloudResult<Vec<_>>>()?;
        let out = self
            .client
            .put_targets()
            .rule(rule)
            .set_targets(Some(targets))
            .send()
            .await
            .map_err(|e| from_sdk(OP, e))?;
        partial_failure(
            OP,
            out.failed_entry_count(),
            out.failed_entries()
                .iter()
                .map(|e| (e.target_id(), e.error_code(), e.error_message())),
        )
    }

    async fn remove_targets(&self, rule: &str, ids: &[String]) -> CloudResult<()> {
        const OP: Op = Op::RemoveTargets;
        let out = self
            .client
            .remove_targets()
            .rule(rule)
            .set_ids(Some(ids.to_vec()))
            .send()
            .await
            .map_err(|e| from_sdk(OP, e))?;
        partial_failure(
            OP,
            out.failed_entry_count(),
            out.failed_entries()
                .iter()
                .map(|e| (e.target_id(), e.error_code(), e.error_message())),
        )
    }

    async fn list_tags_for_resource(&self, arn: &str) -> CloudResult<Tags> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| from_sdk(Op::EventsListTagsForResource, e))?;
        Ok(out
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect())
    }

    async fn tag_resource(&self, arn: &str, tags: &Tags) -> CloudResult<()> {
        const OP: Op = Op::EventsTagResource;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::ErrorKind;

    #[test]
    fn failed_entries_fail_the_call() {
        assert!(partial_failure(Op::PutTargets, 0, std::iter::empty()).is_ok());
        let err = partial_failure(
            Op::PutTargets,
            1,
            [(
                Some("warm"),
                Some("ConcurrentModificationException"),
                Some("busy"),
            )]
            .into_iter(),
        )
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Conflict);
        assert_eq!(err.code.as_deref(), Some("ConcurrentModificationException"));
        assert!(err.message.contains("warm"), "{}", err.message);
    }
}
