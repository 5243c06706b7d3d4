//! A cache of alarm tags, which DescribeAlarms does not return and ListTagsForResource reads one
//! alarm per call. At 3,000 alarms, re-reading every tag every cycle would cost 3,000 calls per
//! cycle; this cache brings the steady state to a small, constant trickle:
//!
//! - an entry is trusted while the alarm's `AlarmConfigurationUpdatedTimestamp` is unchanged;
//! - tags trimtab itself just wrote (on create, or with TagResource) are seeded, so the cycle
//!   after a large convergence does not read them all back;
//! - entries older than the TTL are re-verified, but spread out: at most `ceil(alarms ×
//!   interval / ttl)` per cycle (oldest first), so an hourly TTL never becomes an hourly burst.
//!
//! It is only a cache: a restart empties it and costs one read per alarm, never a wrong decision
//! (unknown tags read as "not owned", the safe side).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::model::{ObservedAlarm, Tags};

#[derive(Debug, Clone)]
struct Entry {
    updated_at: Option<SystemTime>,
    fetched_at: SystemTime,
    tags: Tags,
    /// Listed (or stored) since the last sweep: entries not listed are forgotten by
    /// [`TagCache::sweep`].
    listed: bool,
}

impl Entry {
    /// `alarm`'s `tags`, known as of `now`, marked as listed.
    fn fetched(alarm: &ObservedAlarm, tags: &Tags, now: SystemTime) -> Self {
        Entry {
            updated_at: alarm.updated_at,
            fetched_at: now,
            tags: tags.clone(),
            listed: true,
        }
    }
}

/// Keyed by alarm ARN. The ARNs share a long prefix (partition, region, account), which an
/// ordered map compares byte by byte and SipHash reads in full; foldhash reads it once, fast.
type ByArn = HashMap<String, Entry, foldhash::fast::RandomState>;

#[derive(Debug, Default)]
pub struct TagCache {
    by_arn: Mutex<ByArn>,
    /// Tags written by trimtab for alarms it created, by name, with when they were written,
    /// until the alarm is next observed.
    seeded: Mutex<HashMap<String, (SystemTime, Tags)>>,
}

/// An alarm whose tags must be read, by ARN (what the tag APIs take) and name (its key in the
/// observation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToRead {
    pub arn: String,
    pub name: String,
}

/// Allowance for the difference between trimtab's clock and AWS's when comparing an alarm's
/// configuration timestamp with the time trimtab wrote it.
pub const CLOCK_SKEW: Duration = Duration::from_secs(30);

impl TagCache {
    /// Records tags trimtab wrote when creating an alarm at `written_at`.
    pub fn seed_created(&self, name: &str, tags: &Tags, written_at: SystemTime) {
        self.seeded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), (written_at, tags.clone()));
    }

    /// Records tags trimtab added to an existing alarm with TagResource.
    pub fn merge_tagged(&self, arn: &str, tags: &Tags) {
        if let Some(entry) = self
            .by_arn
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(arn)
        {
            entry
                .tags
                .extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }

    /// Fills in the tags of the listed alarms it knows (cached or seeded), in place, and returns
    /// those whose tags must be read: the unknown ones, then the expired ones,
    /// oldest first, at most `ceil(alarms × interval / ttl)` of them (an expired alarm past that
    /// budget keeps its cached tags and is verified in a later cycle). Marks every listed
    /// alarm's entry as listed, for [`TagCache::sweep`].
    pub fn plan<'a, I>(
        &self,
        listed: I,
        now: SystemTime,
        interval: Duration,
        ttl: Duration,
    ) -> Vec<ToRead>
    where
        I: IntoIterator<Item = &'a mut ObservedAlarm>,
        I::IntoIter: ExactSizeIterator,
    {
        let listed = listed.into_iter();
        let mut cache = self.by_arn.lock().unwrap_or_else(|p| p.into_inner());
        let mut seeded = self.seeded.lock().unwrap_or_else(|p| p.into_inner());
        let budget = if ttl.is_zero() {
            usize::MAX
        } else {
            ((listed.len() as f64 * interval.as_secs_f64() / ttl.as_secs_f64()).ceil() as usize)
                .max(1)
        };
        let mut to_read = Vec::new();
        let mut expired: Vec<(SystemTime, ToRead)> = Vec::new();
        for alarm in listed {
            let name = &alarm.spec.name;
            let this = || ToRead {
                arn: alarm.arn.clone(),
                name: name.clone(),
            };
            match cache.get_mut(&alarm.arn) {
                Some(e) if e.updated_at == alarm.updated_at => {
                    e.listed = true;
                    alarm.spec.tags = e.tags.clone();
                    if now.duration_since(e.fetched_at).unwrap_or(Duration::MAX) >= ttl {
                        expired.push((e.fetched_at, this()));
                    }
                    continue;
                }
                Some(e) => e.listed = true,
                None => {}
            }
            // A seed is trusted only if nobody reconfigured the alarm after trimtab wrote it.
            match seeded.remove(name).filter(|(written_at, _)| {
                alarm
                    .updated_at
                    .is_some_and(|u| u <= *written_at + CLOCK_SKEW)
            }) {
                Some((_, tags)) => {
                    cache.insert(alarm.arn.clone(), Entry::fetched(alarm, &tags, now));
                    alarm.spec.tags = tags;
                }
                None => to_read.push(this()),
            }
        }
        // Stable: among equally old entries, name order.
        expired.sort_by_key(|(fetched, _)| *fetched);
        to_read.extend(expired.into_iter().take(budget).map(|(_, r)| r));
        to_read
    }

    /// Records tags read from AWS.
    pub fn store(&self, alarm: &ObservedAlarm, tags: &Tags, now: SystemTime) {
        self.by_arn
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(alarm.arn.clone(), Entry::fetched(alarm, tags, now));
    }

    /// Clears the marks of a listing that did not finish (one prefix listed, the next
    /// failed): the next sweep then keeps only what a complete listing marks.
    pub fn unmark(&self) {
        self.by_arn
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values_mut()
            .for_each(|e| e.listed = false);
    }

    /// Forgets the alarms no [`TagCache::plan`] listed since the last sweep (they no longer
    /// exist), and starts the next listing afresh. Called once every prefix has been listed.
    pub fn sweep(&self) {
        self.by_arn
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, e| std::mem::take(&mut e.listed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        AlarmMetric, AlarmSpec, AlarmState, Comparison, MetricId, MetricStat, MissingData,
    };

    fn alarm(i: usize) -> ObservedAlarm {
        ObservedAlarm {
            arn: format!("arn:alarm:a{i}"),
            spec: AlarmSpec {
                name: format!("a{i}"),
                description: String::new(),
                metric: AlarmMetric::Single(MetricStat {
                    metric: MetricId::new("N", "M", vec![]),
                    period_s: 60,
                    stat: "Sum".into(),
                }),
                comparison: Comparison::GreaterThanThreshold,
                threshold: 1.0,
                evaluation_periods: 1,
                datapoints_to_alarm: 1,
                treat_missing_data: MissingData::Missing,
                actions_enabled: true,
                alarm_actions: vec![],
                ok_actions: vec![],
                insufficient_data_actions: vec![],
                tags: Tags::new(),
            },
            state: AlarmState::Ok,
            updated_at: Some(SystemTime::UNIX_EPOCH),
        }
    }

    fn listed(alarms: &[ObservedAlarm]) -> Vec<ObservedAlarm> {
        alarms.to_vec()
    }

    fn names(v: &[ToRead]) -> Vec<&str> {
        v.iter().map(|r| r.name.as_str()).collect()
    }

    #[test]
    fn seeded_tags_need_no_read_and_expiry_is_spread_over_cycles() {
        let cache = TagCache::default();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let tags = Tags::from([("managed-by".to_string(), "trimtab".to_string())]);
        let alarms: Vec<ObservedAlarm> = (0..120).map(alarm).collect();
        for a in &alarms[..100] {
            cache.seed_created(&a.spec.name, &tags, SystemTime::UNIX_EPOCH);
        }
        // Reconfigured by someone after trimtab created it: the seed is not trusted.
        let mut alarms = alarms;
        alarms[99].updated_at = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(3600));
        let (minute, hour) = (Duration::from_secs(60), Duration::from_secs(3600));
        let mut map = listed(&alarms);
        let to_read = cache.plan(map.iter_mut(), t0, minute, hour);
        assert_eq!(to_read.len(), 21);
        let read = names(&to_read);
        assert!(read.contains(&"a99"));
        assert!(
            map.iter()
                .all(|a| (a.spec.tags == tags) != read.contains(&a.spec.name.as_str())),
            "tags filled in exactly for the alarms not to be read"
        );
        for a in map.iter().filter(|a| read.contains(&a.spec.name.as_str())) {
            cache.store(a, &tags, t0);
        }
        cache.sweep();
        let mut map = listed(&alarms);
        assert!(
            cache
                .plan(map.iter_mut(), t0 + minute, minute, hour)
                .is_empty()
        );
        assert!(map.iter().all(|a| a.spec.tags == tags));
        cache.sweep();
        // After the TTL, 120 alarms × 60 s / 3600 s = 2 per cycle are re-verified; the others
        // keep their cached tags until their turn.
        let mut map = listed(&alarms);
        let to_read = cache.plan(map.iter_mut(), t0 + hour, minute, hour);
        assert_eq!(to_read.len(), 2);
        assert!(map.iter().all(|a| a.spec.tags == tags));
        cache.sweep();
        // A configuration change invalidates the entry at once.
        let mut changed = alarms.clone();
        changed[5].updated_at = Some(t0 + hour);
        let to_read = cache.plan(&mut listed(&changed), t0 + minute, minute, hour);
        assert_eq!(names(&to_read), ["a5"]);
        cache.sweep();
    }

    #[test]
    fn the_oldest_expired_are_read_first_and_unlisted_alarms_are_forgotten() {
        let cache = TagCache::default();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let tags = Tags::from([("managed-by", "trimtab")]);
        let alarms: Vec<ObservedAlarm> = (0..4).map(alarm).collect();
        // Fetched at different times, the newest first in name order.
        for (i, a) in alarms.iter().enumerate() {
            cache.store(a, &tags, t0 - Duration::from_secs(10 * i as u64));
        }
        cache.sweep();
        let (minute, ttl) = (Duration::from_secs(60), Duration::from_secs(120));
        // 4 alarms × 60 s / 120 s: two of the four expired ones, the two oldest.
        let to_read = cache.plan(&mut listed(&alarms), t0 + ttl, minute, ttl);
        assert_eq!(names(&to_read), ["a3", "a2"]);
        cache.sweep();
        // a0 is no longer listed: forgotten, so listed again it must be read.
        let to_read = cache.plan(&mut listed(&alarms[1..]), t0, minute, ttl);
        assert!(to_read.is_empty());
        cache.sweep();
        let to_read = cache.plan(&mut listed(&alarms), t0, minute, ttl);
        assert_eq!(names(&to_read), ["a0"]);
        for a in &alarms {
            cache.store(a, &tags, t0);
        }
        cache.sweep();
        // Two listings (two prefixes) before one sweep: both halves are remembered.
        assert!(
            cache
                .plan(&mut listed(&alarms[..2]), t0, minute, ttl)
                .is_empty()
        );
        assert!(
            cache
                .plan(&mut listed(&alarms[2..]), t0, minute, ttl)
                .is_empty()
        );
        cache.sweep();
        assert!(cache.plan(&mut listed(&alarms), t0, minute, ttl).is_empty());
        cache.sweep();
        // A listing that did not finish: its marks are cleared, so the next complete listing
        // alone decides what is kept.
        assert!(
            cache
                .plan(&mut listed(&alarms[..2]), t0, minute, ttl)
                .is_empty()
        );
        cache.unmark();
        assert!(
            cache
                .plan(&mut listed(&alarms[1..]), t0, minute, ttl)
                .is_empty()
        );
        cache.sweep();
        let to_read = cache.plan(&mut listed(&alarms), t0, minute, ttl);
        assert_eq!(names(&to_read), ["a0"]);
    }
}
