//! Tag rules shared by every taggable resource: AWS's limits (50 tags, key ≤ 128 and value
//! ≤ 256 characters, no `aws:` prefix) applied the same way everywhere.

use crate::cloud::{CloudResult, Op};
use crate::model::Tags;

use super::errors;

pub(crate) const MAX_TAGS: usize = 50;

/// Checks `new` tags on their own (as on a create call).
pub(crate) fn check(op: Op, new: &Tags) -> CloudResult<()> {
    for (k, v) in new {
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(errors::invalid(
                op,
                format!("tag {k:?}: keys must be 1-128 characters and values at most 256"),
            ));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(errors::invalid(
                op,
                format!("tag key {k:?} uses the reserved aws: prefix"),
            ));
        }
    }
    if new.len() > MAX_TAGS {
        return Err(errors::invalid(
            op,
            format!("{} tags: at most {MAX_TAGS}", new.len()),
        ));
    }
    Ok(())
}

/// Adds `new` to `existing` (TagResource overwrites values of existing keys), within the limits.
pub(crate) fn merge(op: Op, existing: &mut Tags, new: &Tags) -> CloudResult<()> {
    let mut merged = existing.clone();
    merged.extend(new.iter().map(|(k, v)| (k.clone(), v.clone())));
    check(op, &merged)?;
    *existing = merged;
    Ok(())
}

pub(crate) fn remove(existing: &mut Tags, keys: &[String]) {
    for k in keys {
        existing.remove(k.as_str());
    }
}

/// The Resource Groups Tagging API over the account's taggable resources: alarms, functions
/// and topics, by ARN. Like AWS, only resources that carry tags are returned, and those the
/// index has not caught up with ([`super::state::SimState::tag_index_behind`]) are left out.
#[async_trait::async_trait]
impl crate::cloud::TaggingApi for super::SimAccount {
    async fn get_resources(
        &self,
        arns: &[String],
        next: Option<&str>,
    ) -> CloudResult<crate::model::Page<(String, Tags)>> {
        self.call(Op::GetResources, |cx| {
            if arns.is_empty() || arns.len() > crate::cloud::TAGGING_ARNS_PER_CALL {
                return Err(cx.invalid(format!(
                    "ResourceARNList takes 1 to {} ARNs, got {}",
                    crate::cloud::TAGGING_ARNS_PER_CALL,
                    arns.len()
                )));
            }
            if next.is_some() {
                return Err(cx.invalid("PaginationToken cannot be combined with ResourceARNList"));
            }
            let mut found = Vec::new();
            for arn in arns {
                if cx.st.tag_index_behind.contains(arn) {
                    continue;
                }
                let tags = if let Some(name) = super::alarms::name_from_arn(cx, arn) {
                    cx.st.alarms.get(name).map(|a| &a.spec.tags)
                } else if let Some(name) = cx.st.function_from_arn(arn) {
                    cx.st.functions.get(name).map(|f| &f.tags)
                } else {
                    cx.st.topics.get(arn).map(|t| &t.tags)
                };
                if let Some(tags) = tags.filter(|t| !t.is_empty()) {
                    found.push((arn.clone(), tags.clone()));
                }
            }
            Ok(crate::model::Page::last(found))
        })
        .await
    }
}
