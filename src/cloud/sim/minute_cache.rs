//! A bounded cache of evaluated function minutes, shared across GetMetricData calls. The engine
//! re-reads a sliding window every cycle, so most minutes were evaluated by the previous call;
//! reusing them makes a simulated day of 1,000 functions cheap. Entries are keyed by a
//! fingerprint of every input of the minute (configuration in force, traffic profile,
//! provisioned concurrency, the unreserved pool), so a change by anyone simply misses; the
//! oldest minutes are evicted first, since windows move forward.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use super::state::SimFunctionState;
use super::stats::{hash_str, mix};
use super::traffic::{FunctionMinute, minute_start};

/// About two hours of 1,000 functions.
const MAX_ENTRIES: usize = 120_000;

#[derive(Debug, Default)]
pub(crate) struct MinuteCache {
    by_minute: BTreeMap<u64, HashMap<u64, Arc<FunctionMinute>>>,
    entries: usize,
}

impl MinuteCache {
    pub(crate) fn get(&self, minute: u64, fingerprint: u64) -> Option<Arc<FunctionMinute>> {
        self.by_minute.get(&minute)?.get(&fingerprint).cloned()
    }

    pub(crate) fn put(&mut self, minute: u64, fingerprint: u64, value: Arc<FunctionMinute>) {
        if self
            .by_minute
            .entry(minute)
            .or_default()
            .insert(fingerprint, value)
            .is_none()
        {
            self.entries += 1;
        }
        while self.entries > MAX_ENTRIES {
            match self.by_minute.pop_first() {
                Some((_, evicted)) => self.entries -= evicted.len(),
                None => break,
            }
        }
    }
}

/// Identifies one function minute by everything `traffic::function_minute` reads.
pub(crate) fn fingerprint(seed: u64, f: &SimFunctionState, unreserved: u32, minute: u64) -> u64 {
    let start = minute_start(minute);
    let (_, reserved) = f.config_at(start);
    let t = &f.traffic;
    let mut h = mix(seed ^ hash_str(&f.name));
    let mut add = |v: u64| h = mix(h ^ v);
    add(minute);
    for (version, share, memory, timeout) in f.serving_at(start) {
        add(hash_str(&version));
        add(share.to_bits());
        add(u64::from(memory));
        add(u64::from(timeout));
    }
    add(reserved.map_or(u64::MAX, u64::from));
    if reserved.is_none() {
        add(u64::from(unreserved));
    }
    for v in [
        t.peak_rps,
        t.cpu_ms,
        t.io_ms,
        t.parallelism,
        t.error_rate,
        t.used_memory_sigma,
        t.spread.unwrap_or(-1.0),
    ] {
        add(v.to_bits());
    }
    add(u64::from(t.used_memory_mb));
    add(u64::from(t.insights));
    add(t.invoked_via.as_deref().map_or(0, hash_str));
    for (m, d) in &t.curve {
        add(u64::from(*m));
        add(d.to_bits());
    }
    for (q, n) in f.provisioned_at(start) {
        add(hash_str(q));
        add(u64::from(n));
    }
    add(u64::from(
        f.recycled_within(start, start + Duration::from_secs(60)),
    ));
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_minutes_go_first_when_full() {
        let mut c = MinuteCache::default();
        let v = Arc::new(FunctionMinute::default());
        for m in 0..(MAX_ENTRIES as u64 / 1_000 + 2) {
            for k in 0..1_000 {
                c.put(m, k, v.clone());
            }
        }
        assert!(c.entries <= MAX_ENTRIES);
        assert!(c.get(0, 1).is_none());
        assert!(c.get(MAX_ENTRIES as u64 / 1_000 + 1, 1).is_some());
    }
}
