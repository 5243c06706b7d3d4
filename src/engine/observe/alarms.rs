//! Alarms: DescribeAlarms pages (100 each) filtered by trimtab's name prefix, so other people's
//! alarms are never even read. Their tags (not in DescribeAlarms) come through a cache (see
//! `tag_cache`) from the tagging API in bulk, and from ListTagsForResource for the few the
//! bulk read does not vouch for.

use std::collections::BTreeMap;

use crate::cloud::Op;
use crate::engine::error_chain;
use crate::model::{Desired, ObservedAlarm};

use super::paging::{call_each, paginate};
use super::{ObserveError, Observer, bulk_tags};

impl Observer {
    pub(super) async fn alarms(
        &self,
        desired: &Desired,
        prefix: &str,
    ) -> Result<BTreeMap<String, ObservedAlarm>, ObserveError> {
        let cw = self.cloud.cloudwatch.clone();
        let listed = paginate(&self.gov, Op::DescribeAlarms, |next| {
            let cw = cw.clone();
            let prefix = prefix.to_string();
            async move { cw.describe_alarms(Some(&prefix), next.as_deref()).await }
        })
        .await
        .map_err(|source| ObserveError::DescribeAlarms {
            prefix: prefix.to_string(),
            source,
        })?;

        let now = self.gov.clock().now();
        // Built from the whole listing at once (full nodes; inserted one by one in name order,
        // its nodes would be half empty), the last of any repeated name kept; then the tags
        // filled in where known, in place.
        let mut alarms: BTreeMap<String, ObservedAlarm> = listed
            .into_iter()
            .map(|a| (a.spec.name.clone(), a))
            .collect();
        let mut to_read = self.tags.plan(
            alarms.values_mut(),
            now,
            desired.interval,
            desired.observe.tag_cache_ttl,
        );
        // In bulk first; what the tagging index does not return (someone else's untagged alarm,
        // or one tagged too recently for the index) is read one by one, since its absence
        // there proves nothing.
        let mut read = Vec::new();
        if to_read.len() >= bulk_tags::WORTH_IT {
            let mut bulk = self
                .bulk_tags(to_read.iter().map(|r| r.arn.clone()).collect())
                .await;
            let mut rest = Vec::new();
            for r in to_read {
                match bulk.found.remove(&r.arn) {
                    Some(tags) => read.push((r, Ok(tags))),
                    None => rest.push(r),
                }
            }
            to_read = rest;
        }
        let cw = &self.cloud.cloudwatch;
        read.extend(
            call_each(&self.gov, Op::CwListTagsForResource, to_read, |r| {
                let cw = cw.clone();
                async move { cw.list_tags_for_resource(&r.arn).await }
            })
            .await,
        );
        for (r, tags) in read {
            let Some(alarm) = alarms.get_mut(&r.name) else {
                continue;
            };
            match tags {
                Ok(tags) => {
                    self.tags.store(alarm, &tags, now);
                    alarm.spec.tags = tags;
                }
                // Tags unknown: left as they were. Empty, they read as "not owned" and the
                // alarm is left alone this cycle, the safe side of not knowing; an expired
                // entry keeps the tags the cache last verified, as past the re-verification
                // budget, and is read again next cycle.
                Err(e) if alarm.spec.tags.is_empty() => {
                    tracing::warn!(alarm = %r.name, error = %error_chain(&e), "cannot read alarm tags; treating it as not owned this cycle");
                }
                Err(e) => {
                    tracing::warn!(alarm = %r.name, error = %error_chain(&e), "cannot re-verify alarm tags; keeping the cached ones, read again next cycle");
                }
            }
        }
        Ok(alarms)
    }
}
