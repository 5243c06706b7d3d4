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
}

#[derive(Debug, Default)]
pub struct TagCache {
    by_arn: Mutex<HashMap<String, Entry>>,
    /// Tags written by trimtab for alarms it created, by name, with when they were written,
    /// until the alarm is next observed.
    seeded: Mutex<HashMap<String, (SystemTime, Tags)>>,
}

/// Allowance for the difference between trimtab's clock and AWS's when comparing an alarm's
/// configuration timestamp with the time trimtab wrote it.
pub const CLOCK_SKEW: Duration = Duration::from_secs(30);

/// What observe should do with the alarms it listed.
#[derive(Debug, Default)]
pub struct TagPlan {
    /// Alarms whose tags are known (cached or seeded), with tags filled in.
    pub known: Vec<ObservedAlarm>,
    /// Alarms whose tags must be read.
    pub to_read: Vec<ObservedAlarm>,
}

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

    /// Splits listed alarms into known and to-read. `interval` and `ttl` set the re-verification
    /// budget.
    pub fn plan(
        &self,
        listed: Vec<ObservedAlarm>,
        now: SystemTime,
        interval: Duration,
        ttl: Duration,
    ) -> TagPlan {
        let mut cache = self.by_arn.lock().unwrap_or_else(|p| p.into_inner());
        let mut seeded = self.seeded.lock().unwrap_or_else(|p| p.into_inner());
        let budget = if ttl.is_zero() {
            usize::MAX
        } else {
            ((listed.len() as f64 * interval.as_secs_f64() / ttl.as_secs_f64()).ceil() as usize)
                .max(1)
        };
        let mut plan = TagPlan::default();
        let mut expired: Vec<(SystemTime, ObservedAlarm)> = Vec::new();
        for mut alarm in listed {
            match cache.get(&alarm.arn) {
                Some(e) if e.updated_at == alarm.updated_at => {
                    alarm.spec.tags = e.tags.clone();
                    if now.duration_since(e.fetched_at).unwrap_or(Duration::MAX) >= ttl {
                        expired.push((e.fetched_at, alarm));
                    } else {
                        plan.known.push(alarm);
                    }
                }
                // A seed is trusted only if nobody reconfigured the alarm after trimtab wrote it.
                _ => match seeded.remove(&alarm.spec.name).filter(|(written_at, _)| {
                    alarm
                        .updated_at
                        .is_some_and(|u| u <= *written_at + CLOCK_SKEW)
                }) {
                    Some((_, tags)) => {
                        cache.insert(
                            alarm.arn.clone(),
                            Entry {
                                updated_at: alarm.updated_at,
                                fetched_at: now,
                                tags: tags.clone(),
                            },
                        );
                        alarm.spec.tags = tags;
                        plan.known.push(alarm);
                    }
                    None => plan.to_read.push(alarm),
                },
            }
        }
        expired.sort_by_key(|(fetched, _)| *fetched);
        for (i, (_, alarm)) in expired.into_iter().enumerate() {
            if i < budget {
                plan.to_read.push(alarm);
            } else {
                // Still within a few cycles of its TTL; verified in a later cycle.
                plan.known.push(alarm);
            }
        }
        plan
    }

    /// Records tags read from AWS.
    pub fn store(&self, alarm: &ObservedAlarm, tags: &Tags, now: SystemTime) {
        self.by_arn
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                alarm.arn.clone(),
                Entry {
                    updated_at: alarm.updated_at,
                    fetched_at: now,
                    tags: tags.clone(),
                },
            );
    }

    /// Forgets alarms that no longer exist.
    pub fn retain(&self, live_arns: &std::collections::BTreeSet<&str>) {
        self.by_arn
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|arn, _| live_arns.contains(arn.as_str()));
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
        let plan = cache.plan(alarms.clone(), t0, minute, hour);
        assert_eq!((plan.known.len(), plan.to_read.len()), (99, 21));
        assert!(plan.known.iter().all(|a| a.spec.tags == tags));
        for a in &plan.to_read {
            cache.store(a, &tags, t0);
        }
        let plan = cache.plan(alarms.clone(), t0 + minute, minute, hour);
        assert_eq!(plan.to_read.len(), 0);
        // After the TTL, 120 alarms × 60 s / 3600 s = 2 per cycle are re-verified.
        let plan = cache.plan(alarms.clone(), t0 + hour, minute, hour);
        assert_eq!(plan.to_read.len(), 2);
        assert_eq!(plan.known.len(), 118);
        // A configuration change invalidates the entry at once.
        let mut changed = alarms.clone();
        changed[5].updated_at = Some(t0 + hour);
        let plan = cache.plan(changed, t0 + minute, minute, hour);
        assert_eq!(
            plan.to_read
                .iter()
                .map(|a| a.spec.name.as_str())
                .collect::<Vec<_>>(),
            vec!["a5"]
        );
    }
}
