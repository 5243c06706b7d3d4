//! `EventsApi` on the simulated account: rules on the default bus (PutRule replaces the whole
//! rule; tags apply on create only), their targets (≤ 5 per rule, ≤ 10 per PutTargets call),
//! and rule tags.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::cloud::{CloudResult, EventsApi, Op};
use crate::model::{ObservedRule, Page, Rule, RuleTarget, Tags};

use super::state::RuleRecord;
use super::{Cx, SimAccount, paging, tagging};

const MAX_RULES: usize = 300;
const MAX_TARGETS_PER_RULE: usize = 5;
const MAX_PUT_TARGETS: usize = 10;

fn valid_rule_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// `rate(N unit)` or `cron(six fields)`, as far as a shape check goes.
fn valid_schedule(expr: &str) -> bool {
    if let Some(body) = expr.strip_prefix("rate(").and_then(|s| s.strip_suffix(')')) {
        let mut parts = body.split_whitespace();
        let n = parts.next().and_then(|n| n.parse::<u32>().ok());
        let unit = parts.next();
        return match (n, unit, parts.next()) {
            (Some(1), Some("minute" | "hour" | "day"), None) => true,
            (Some(n), Some("minutes" | "hours" | "days"), None) => n > 1,
            _ => false,
        };
    }
    if let Some(body) = expr.strip_prefix("cron(").and_then(|s| s.strip_suffix(')')) {
        return body.split_whitespace().count() == 6;
    }
    false
}

fn rule<'s>(cx: &'s mut Cx<'_>, name: &str) -> CloudResult<&'s mut RuleRecord> {
    let not_found = cx.not_found(format!("Rule {name} does not exist on EventBus default."));
    cx.st.rules.get_mut(name).ok_or(not_found)
}

fn rule_by_arn<'s>(cx: &'s mut Cx<'_>, arn: &str) -> CloudResult<&'s mut RuleRecord> {
    let not_found = cx.not_found(format!("Rule {arn} does not exist."));
    cx.st
        .rules
        .values_mut()
        .find(|r| r.arn == arn)
        .ok_or(not_found)
}

#[async_trait]
impl EventsApi for SimAccount {
    async fn list_rules(
        &self,
        prefix: Option<&str>,
        next: Option<&str>,
    ) -> CloudResult<Page<ObservedRule>> {
        self.call(Op::ListRules, |cx| {
            let items = cx
                .st
                .rules
                .iter()
                .filter(|(n, _)| prefix.is_none_or(|p| n.starts_with(p)))
                .map(|(n, r)| (n.clone(), r));
            let page = paging::page(cx.op, items, next, paging::LIST_RULES)?;
            Ok(Page {
                items: page
                    .items
                    .into_iter()
                    .map(|r| ObservedRule {
                        arn: r.arn.clone(),
                        rule: r.rule.clone(),
                    })
                    .collect(),
                next: page.next,
            })
        })
        .await
    }

    async fn put_rule(&self, r: &Rule, tags: &Tags) -> CloudResult<String> {
        self.call(Op::PutRule, |cx| {
            if !valid_rule_name(&r.name) {
                return Err(cx.invalid(format!(
                    "rule name {:?} must be 1-64 of [.-_A-Za-z0-9]",
                    r.name
                )));
            }
            match &r.schedule_expression {
                None => {
                    return Err(cx.invalid(
                        "Parameter(s) EventPattern or ScheduleExpression must be specified.",
                    ));
                }
                Some(e) if !valid_schedule(e) => {
                    return Err(
                        cx.invalid(format!("Parameter ScheduleExpression is not valid: {e}"))
                    );
                }
                Some(_) => {}
            }
            if r.description
                .as_ref()
                .is_some_and(|d| d.chars().count() > 512)
            {
                return Err(cx.invalid("Description is longer than 512 characters"));
            }
            if let Some(existing) = cx.st.rules.get_mut(&r.name) {
                existing.rule = r.clone();
                return Ok(existing.arn.clone());
            }
            if cx.st.rules.len() >= MAX_RULES {
                return Err(cx.limit(format!(
                    "The requested resource exceeds the maximum number allowed ({MAX_RULES} rules)."
                )));
            }
            tagging::check(cx.op, tags)?;
            let arn = cx.st.rule_arn(&r.name);
            cx.st.rules.insert(
                r.name.clone(),
                RuleRecord {
                    arn: arn.clone(),
                    rule: r.clone(),
                    tags: tags.clone(),
                    targets: BTreeMap::new(),
                },
            );
            Ok(arn)
        })
        .await
    }

    async fn delete_rule(&self, name: &str) -> CloudResult<()> {
        self.call(Op::DeleteRule, |cx| {
            // Deleting a missing rule succeeds; deleting one with targets does not.
            let has_targets = cx.st.rules.get(name).is_some_and(|r| !r.targets.is_empty());
            if has_targets {
                return Err(cx.invalid("Rule can't be deleted since it has targets."));
            }
            cx.st.rules.remove(name);
            Ok(())
        })
        .await
    }

    async fn list_targets_by_rule(
        &self,
        rule_name: &str,
        next: Option<&str>,
    ) -> CloudResult<Page<RuleTarget>> {
        self.call(Op::ListTargetsByRule, |cx| {
            let op = cx.op;
            let r = rule(cx, rule_name)?;
            let items = r.targets.iter().map(|(id, t)| (id.clone(), t.clone()));
            paging::page(op, items, next, paging::LIST_TARGETS_BY_RULE)
        })
        .await
    }

    async fn put_targets(&self, rule_name: &str, targets: &[RuleTarget]) -> CloudResult<()> {
        self.call(Op::PutTargets, |cx| {
            if targets.is_empty() || targets.len() > MAX_PUT_TARGETS {
                return Err(cx.invalid(format!(
                    "{} targets: PutTargets takes 1 to {MAX_PUT_TARGETS}",
                    targets.len()
                )));
            }
            for t in targets {
                let id_ok = (1..=64).contains(&t.id.len())
                    && t.id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
                if !id_ok || !t.arn.starts_with("arn:") {
                    return Err(cx.invalid(format!("target {:?}: invalid Id or Arn", t.id)));
                }
                if let Some(input) = &t.input
                    && serde_json::from_str::<serde_json::Value>(input).is_err()
                {
                    return Err(cx.invalid(format!("target {}: Input is not valid JSON", t.id)));
                }
            }
            let limit = cx.limit(format!(
                "The requested resource exceeds the maximum number allowed ({MAX_TARGETS_PER_RULE} targets per rule)."
            ));
            let r = rule(cx, rule_name)?;
            let mut after = r.targets.clone();
            for t in targets {
                after.insert(t.id.clone(), t.clone());
            }
            if after.len() > MAX_TARGETS_PER_RULE {
                return Err(limit);
            }
            r.targets = after;
            Ok(())
        })
        .await
    }

    async fn remove_targets(&self, rule_name: &str, ids: &[String]) -> CloudResult<()> {
        self.call(Op::RemoveTargets, |cx| {
            let r = rule(cx, rule_name)?;
            for id in ids {
                r.targets.remove(id);
            }
            Ok(())
        })
        .await
    }

    async fn list_tags_for_resource(&self, arn: &str) -> CloudResult<Tags> {
        self.call(Op::EventsListTagsForResource, |cx| {
            Ok(rule_by_arn(cx, arn)?.tags.clone())
        })
        .await
    }

    async fn tag_resource(&self, arn: &str, tags: &Tags) -> CloudResult<()> {
        self.call(Op::EventsTagResource, |cx| {
            let op = cx.op;
            tagging::merge(op, &mut rule_by_arn(cx, arn)?.tags, tags)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::account;
    use crate::cloud::ErrorKind;
    use crate::model::{Rule, RuleState, RuleTarget, Tags};

    fn rule(name: &str, schedule: &str) -> Rule {
        Rule {
            name: name.into(),
            schedule_expression: Some(schedule.into()),
            description: None,
            state: RuleState::Enabled,
        }
    }

    fn target(id: &str) -> RuleTarget {
        RuleTarget {
            id: id.into(),
            arn: "arn:aws:lambda:ap-south-1:123456789012:function:api".into(),
            input: Some(r#"{"warmup":true}"#.into()),
        }
    }

    #[tokio::test]
    async fn put_rule_replaces_the_rule_but_keeps_its_creation_tags() {
        let (acct, _clock) = account(vec![]);
        let events = acct.cloud().events;
        let owned: Tags = [("managed-by".to_string(), "trimtab".to_string())].into();
        let arn = events
            .put_rule(&rule("trimtab-warm", "rate(5 minutes)"), &owned)
            .await;
        let arn = arn.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            arn,
            "arn:aws:events:ap-south-1:123456789012:rule/trimtab-warm"
        );
        let again = events
            .put_rule(&rule("trimtab-warm", "rate(1 minute)"), &Tags::new())
            .await;
        assert_eq!(again.ok().as_deref(), Some(arn.as_str()));
        assert_eq!(events.list_tags_for_resource(&arn).await.ok(), Some(owned));
        let rules = events
            .list_rules(Some("trimtab-"), None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            rules.items[0].rule.schedule_expression.as_deref(),
            Some("rate(1 minute)")
        );
        for bad in [
            "rate(1 minutes)",
            "rate(0 minutes)",
            "every 5 minutes",
            "cron(0 12 * * ?)",
        ] {
            let e = events.put_rule(&rule("r", bad), &Tags::new()).await.err();
            assert_eq!(e.map(|e| e.kind), Some(ErrorKind::Invalid), "{bad}");
        }
    }

    #[tokio::test]
    async fn targets_are_limited_and_a_rule_with_targets_cannot_be_deleted() {
        let (acct, _clock) = account(vec![]);
        let events = acct.cloud().events;
        assert!(
            events
                .put_rule(&rule("warm", "rate(5 minutes)"), &Tags::new())
                .await
                .is_ok()
        );
        let eleven: Vec<RuleTarget> = (0..11).map(|i| target(&format!("t{i}"))).collect();
        assert_eq!(
            events
                .put_targets("warm", &eleven)
                .await
                .err()
                .map(|e| e.kind),
            Some(ErrorKind::Invalid)
        );
        let six = &eleven[..6];
        assert_eq!(
            events.put_targets("warm", six).await.err().map(|e| e.kind),
            Some(ErrorKind::Other)
        );
        assert!(events.put_targets("warm", &eleven[..5]).await.is_ok());
        assert!(
            events.put_targets("warm", &eleven[..2]).await.is_ok(),
            "same ids replace"
        );
        let listed = events
            .list_targets_by_rule("warm", None)
            .await
            .map(|p| p.items.len());
        assert_eq!(listed.ok(), Some(5));
        assert_eq!(
            events.delete_rule("warm").await.err().map(|e| e.kind),
            Some(ErrorKind::Invalid)
        );
        let ids: Vec<String> = (0..5).map(|i| format!("t{i}")).collect();
        assert!(events.remove_targets("warm", &ids).await.is_ok());
        assert!(events.delete_rule("warm").await.is_ok());
        assert!(
            events.delete_rule("warm").await.is_ok(),
            "deleting a missing rule succeeds"
        );
        let gone = events.list_targets_by_rule("warm", None).await.err();
        assert_eq!(gone.map(|e| e.kind), Some(ErrorKind::NotFound));
    }
}
