//! Tags in bulk: the Resource Groups Tagging API's GetResources by ARN, 100 resources a call,
//! instead of one ListTagsForResource (alarms) or GetFunction (functions) each. At 1,000
//! functions and 3,000 alarms that is 40 calls instead of 4,000 for a fresh process.
//!
//! The tagging index is eventually consistent, so only what it *returns* is trusted: a
//! resource it leaves out may be untagged, or tagged so recently the index has not caught up
//! (a restart right after a creation). Callers read those one by one where absence would
//! decide ownership (alarms), and use absence only where it can decide nothing but "no
//! marker to verify" (see `exec::read_functions`).
//!
//! A failed call (no `tag:GetResources` permission, throttling past the retries) leaves its
//! ARNs unread, and the callers fall back to the per-resource reads for them.

use std::collections::{HashMap, HashSet};

use crate::cloud::{Op, TAGGING_ARNS_PER_CALL};
use crate::engine::error_chain;
use crate::model::Tags;

use super::Observer;
use super::paging::paginate_each;

/// What GetResources said about a set of ARNs.
#[derive(Debug, Default)]
pub(super) struct BulkTags {
    /// Returned by the index, with all their tags.
    pub found: HashMap<String, Tags>,
    /// In a call that failed: nothing is known about them.
    pub unread: HashSet<String>,
}

impl BulkTags {
    /// Whether the index was asked about `arn` and answered (returned or left it out).
    pub fn answered(&self, arn: &str) -> bool {
        !self.unread.contains(arn)
    }
}

/// Bulk reads pay off from this many resources on: one GetResources call instead of two or
/// more per-resource calls.
pub(super) const WORTH_IT: usize = 2;

impl Observer {
    pub(super) async fn bulk_tags(&self, arns: Vec<String>) -> BulkTags {
        let mut out = BulkTags::default();
        if arns.is_empty() {
            return out;
        }
        let chunks: Vec<Vec<String>> = arns
            .chunks(TAGGING_ARNS_PER_CALL)
            .map(<[String]>::to_vec)
            .collect();
        let tagging = &self.cloud.tagging;
        let results = paginate_each(&self.gov, Op::GetResources, chunks, |chunk, next| {
            let tagging = tagging.clone();
            async move { tagging.get_resources(&chunk, next.as_deref()).await }
        })
        .await;
        for (chunk, result) in results {
            match result {
                Ok(found) => {
                    let asked: HashSet<&String> = chunk.iter().collect();
                    // Only what was asked for: the index answering about anything else would
                    // be a bug of the emulator, not a fact about this account.
                    out.found
                        .extend(found.into_iter().filter(|(arn, _)| asked.contains(arn)));
                }
                Err(e) => {
                    tracing::warn!(resources = chunk.len(), error = %error_chain(&e), "cannot read tags in bulk (GetResources); reading them one by one");
                    out.unread.extend(chunk);
                }
            }
        }
        out
    }
}
