//! Alarms that can never fire: a managed alarm watching a metric CloudWatch has no data for.
//! An alarm on a dimension set AWS never publishes, or on an application metric nobody
//! publishes, sits in OK (or INSUFFICIENT_DATA) forever, and nobody notices. This controller
//! makes no writes; it says so in the plan, in `/status`, and in `trimtab_plan_notes`.
//!
//! ListMetrics lists only metrics that received data in the last two weeks, so "not listed"
//! means "no data for two weeks" (or never). One paginated call per metric name returns every
//! series of that name (500 a page), so checking every alarm costs a few calls per metric
//! name, not one per alarm; each name is re-listed once per `alarm_data.recheck` (6 h by
//! default), spread over cycles, and the results are remembered in between. After a restart
//! the memory is empty, so the first cycle checks everything.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, SystemTime};

use crate::config::read::{Opt, check};
use crate::model::{MetricId, Note, Observed, Read, Reads};

use super::alarms::is_owned;
use super::{Controller, Cx, Planned, SettingsCx};

/// Checks that every metric a managed alarm watches has data.
pub struct AlarmData;

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub enabled: bool,
    /// How long a ListMetrics result is trusted before the metric name is listed again.
    pub recheck: Duration,
}

pub const RECHECK: Duration = Duration::from_secs(6 * 3600);

/// What ListMetrics said of each (namespace, metric name), and when. Hashed: every owned
/// alarm's metrics are looked up every cycle, and in an ordered set each lookup compared the
/// same namespace and name a dozen times over (a tenth of a steady plan at 1,000 functions).
#[derive(Debug, Default)]
pub struct Memory {
    listed: BTreeMap<(String, String), (SystemTime, Listed)>,
}

type Listed = HashSet<MetricId, foldhash::fast::RandomState>;

/// The note's code, for counting.
pub const NO_DATA: &str = "metric_without_data";

/// The metrics the managed alarms watch, by (namespace, metric name), each with its alarm.
type Watched<'a> = BTreeMap<(&'a str, &'a str), Vec<(&'a str, &'a MetricId)>>;

fn watched<'a>(cx: &Cx<'a, AlarmData>) -> Watched<'a> {
    let mut by_name: Watched<'a> = BTreeMap::new();
    for (alarm, metric) in owned_metrics(cx) {
        by_name
            .entry((metric.namespace.as_str(), metric.name.as_str()))
            .or_default()
            .push((alarm, metric));
    }
    by_name
}

/// Every metric a managed alarm watches, with the alarm's name.
fn owned_metrics<'a>(cx: &Cx<'a, AlarmData>) -> impl Iterator<Item = (&'a str, &'a MetricId)> {
    let desired = cx.desired;
    cx.observed
        .alarms
        .values()
        .filter(move |alarm| is_owned(desired, alarm))
        .flat_map(|alarm| {
            let name = alarm.spec.name.as_str();
            alarm.spec.metric.metrics().map(move |m| (name, m))
        })
}

fn listing<'m>(memory: &'m Memory, key: (&str, &str)) -> Option<&'m (SystemTime, Listed)> {
    memory
        .listed
        .range((key.0.to_string(), key.1.to_string())..)
        .next()
        .filter(|(k, _)| k.0 == key.0 && k.1 == key.1)
        .map(|(_, v)| v)
}

fn due(memory: &Memory, key: (&str, &str), now: SystemTime, recheck: Duration) -> bool {
    listing(memory, key)
        .is_none_or(|(at, _)| now.duration_since(*at).unwrap_or(Duration::MAX) >= recheck)
}

impl Controller for AlarmData {
    const NAME: &'static str = "alarm_data";
    const NOTE_CODES: &'static [&'static str] = &[NO_DATA];
    type Settings = Settings;
    type RuleSettings = ();
    type TableSettings = ();
    type Memory = Memory;

    fn settings(cx: &mut SettingsCx<'_, '_, '_>) -> Settings {
        let d = &mut *cx.d;
        let s = cx.sections.get(d, "alarm_data");
        let enabled: Opt<bool> = s.bool(d, "enabled");
        let recheck = s.duration(d, "recheck");
        let recheck = check::duration(
            d,
            &recheck,
            "alarm_data.recheck",
            Duration::from_secs(60),
            Duration::from_secs(7 * 86_400),
        );
        Settings {
            enabled: enabled.is_none_or(|e| *e.get_ref()),
            recheck: recheck.unwrap_or(RECHECK),
        }
    }

    /// The alarms first; then the metric names whose last listing is older than `recheck`,
    /// at most ⌈names × interval / recheck⌉ a cycle once each has been listed (all of them
    /// while memory is empty, as after a restart).
    fn reads(cx: &Cx<'_, Self>, memory: &mut Memory, reads: &mut Reads) {
        if !cx.settings.enabled {
            return;
        }
        let alarms = Read::Alarms {
            prefix: cx.desired.ownership.name_prefix.clone(),
        };
        if !cx.observed.reads.did(&alarms) {
            reads.now(alarms);
            return;
        }
        // The (namespace, metric name) keys alone: a few distinct ones among thousands of
        // alarms, gathered in a hash set and then put in order.
        let mut names: Vec<(&str, &str)> = owned_metrics(cx)
            .map(|(_, m)| (m.namespace.as_str(), m.name.as_str()))
            .collect::<HashSet<_, foldhash::fast::RandomState>>()
            .into_iter()
            .collect();
        names.sort_unstable();
        let recheck = cx.settings.recheck;
        let share = ((names.len() as f64 * cx.desired.interval.as_secs_f64()
            / recheck.as_secs_f64().max(1.0))
        .ceil() as usize)
            .max(1);
        let mut stale: Vec<((&str, &str), Option<SystemTime>)> = names
            .iter()
            .filter(|k| due(memory, **k, cx.now, recheck))
            .map(|k| (*k, listing(memory, *k).map(|(at, _)| *at)))
            .collect();
        // Never listed first, then the oldest.
        stale.sort_by_key(|(_, at)| *at);
        let never = stale.iter().filter(|(_, at)| at.is_none()).count();
        for ((namespace, name), _) in stale.into_iter().take(share.max(never)) {
            reads.now(Read::MetricNames {
                namespace: namespace.to_string(),
                name: name.to_string(),
            });
        }
    }

    fn plan(cx: &Cx<'_, Self>, memory: &mut Memory, out: &mut Planned) {
        if !cx.settings.enabled {
            return;
        }
        remember(cx.observed, memory);
        let watched = watched(cx);
        // Names no alarm watches any more are forgotten.
        memory
            .listed
            .retain(|k, _| watched.contains_key(&(k.0.as_str(), k.1.as_str())));
        for ((namespace, name), alarms) in watched {
            let Some((at, listed)) = listing(memory, (namespace, name)) else {
                continue;
            };
            for (alarm, metric) in alarms {
                if listed.contains(metric) {
                    continue;
                }
                let dims: Vec<String> = metric
                    .dimensions
                    .iter()
                    .map(|d| format!("{}={}", d.name, d.value))
                    .collect();
                let dims = if dims.is_empty() {
                    "no dimensions".to_string()
                } else {
                    dims.join(",")
                };
                out.plan.notes.push(Note {
                    controller: Self::NAME,
                    code: NO_DATA,
                    id: alarm.to_string(),
                    message: format!(
                        "watches {namespace}/{name} [{dims}], which has had no data in the last two weeks (ListMetrics, {}): the alarm cannot fire on it; check the dimensions, or that it is published",
                        humantime::format_rfc3339_seconds(*at)
                    ),
                });
            }
        }
    }
}

/// Takes this cycle's ListMetrics results into memory.
fn remember(observed: &Observed, memory: &mut Memory) {
    for (key, ids) in &observed.metric_names {
        memory
            .listed
            .insert(key.clone(), (observed.at, ids.iter().cloned().collect()));
    }
}

#[cfg(test)]
mod tests;
