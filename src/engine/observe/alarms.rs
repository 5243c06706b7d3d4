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
        let plan = self
            .tags
            .plan(listed, now, desired.interval, desired.observe.tag_cache_ttl);
        let mut alarms: BTreeMap<String, ObservedAlarm> = plan
            .known
            .into_iter()
            .map(|a| (a.spec.name.clone(), a))
            .collect();
        // In bulk first; what the tagging index does not return (someone else's untagged alarm,
        // or one tagged too recently for the index) is read one by one, since its absence
        // there proves nothing.
        let mut to_read = plan.to_read;
        let mut read = Vec::new();
        if to_read.len() >= bulk_tags::WORTH_IT {
            let mut bulk = self
                .bulk_tags(to_read.iter().map(|a| a.arn.clone()).collect())
                .await;
            let mut rest = Vec::new();
            for alarm in to_read {
                match bulk.found.remove(&alarm.arn) {
                    Some(tags) => read.push((alarm, Ok(tags))),
                    None => rest.push(alarm),
                }
            }
            to_read = rest;
        }
        let cw = &self.cloud.cloudwatch;
        read.extend(
            call_each(&self.gov, Op::CwListTagsForResource, to_read, |alarm| {
                let cw = cw.clone();
                async move { cw.list_tags_for_resource(&alarm.arn).await }
            })
            .await,
        );
        for (mut alarm, tags) in read {
            match tags {
                Ok(tags) => {
                    self.tags.store(&alarm, &tags, now);
                    alarm.spec.tags = tags;
                }
                // Tags unknown: leave them empty, which reads as "not owned". The alarm is then
                // left alone this cycle, the safe side of not knowing.
                Err(e) => {
                    tracing::warn!(alarm = %alarm.spec.name, error = %error_chain(&e), "cannot read alarm tags; treating it as not owned this cycle");
                }
            }
            alarms.insert(alarm.spec.name.clone(), alarm);
        }
        self.tags
            .retain(&alarms.values().map(|a| a.arn.as_str()).collect());
        Ok(alarms)
    }
}
