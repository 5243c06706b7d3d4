//! The durable record of what right-sizing did to a function: one tag on the function,
//! `trimtab:rightsizing`, written *before* each step's configuration change, so a restart at
//! any point finds the step in flight and finishes or undoes it.
//!
//! The value is space-separated `key=value` words (Lambda tag values allow letters, digits,
//! spaces and `_ . : / = + - @`, at most 256 characters):
//!
//! ```text
//! v1 ph=canary mem=768 to=20 from=1024/30 at=1764806400 st=7 bp=812 be=0.001 ep=905 h=1024@0/768@1764806400
//! ```
//!
//! - `ph`: `change` (a `$LATEST` change being watched, or an alias canary being prepared or
//!   watched), `settled`, or `rolledback`;
//! - `mem`/`to`: the memory (MB) and timeout (s) trimtab stands behind (the new ones while a
//!   step is in flight); `from`: the previous memory/timeout, restored on a rollback;
//! - `at`: when the phase began (Unix seconds); `st`: the alias's stable version during an
//!   alias canary;
//! - `bp`/`be`: the baseline objective statistic (ms) and error rate before the change; `ep`:
//!   the objective statistic predicted at the new size;
//! - `fail`: the last size whose canary failed, and when (`512@1764806400`);
//! - `em`: `1` when the step was an emergency (out of memory, timeouts);
//! - `o`: the memory the function had before trimtab's first step, what its realised saving is
//!   measured against (older markers: the size `h` says served before trimtab knew);
//! - `h`: the sizes the function has served, each with when it began (`0`: before trimtab
//!   knew), oldest first, so a restart can tell which hours of history belong to which size.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The tag's key.
pub const TAG: &str = "trimtab:rightsizing";
/// Past sizes kept in `h` (with the current one).
const HISTORY: usize = 5;
/// A history entry for a time two sizes served at once (an alias canary).
const MIXED: u32 = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// A step is in flight: on `$LATEST` it is being watched; on an alias, the canary is being
    /// prepared (`$LATEST` updated, not yet published) or watched.
    Change,
    Settled,
    RolledBack,
}

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Phase::Change => "change",
            Phase::Settled => "settled",
            Phase::RolledBack => "rolledback",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "change" => Phase::Change,
            "settled" => Phase::Settled,
            "rolledback" => Phase::RolledBack,
            _ => return None,
        })
    }
}

/// A memory size and timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    pub memory_mb: u32,
    pub timeout_s: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub phase: Phase,
    /// What trimtab stands behind: the new configuration while a step is in flight.
    pub config: Config,
    /// What was there before the step.
    pub from: Config,
    pub at: SystemTime,
    /// The alias's stable version while an alias canary is in flight.
    pub stable: Option<String>,
    pub baseline_ms: Option<f64>,
    pub baseline_errors: Option<f64>,
    pub expected_ms: Option<f64>,
    pub failed: Option<(u32, SystemTime)>,
    pub emergency: bool,
    /// The memory before trimtab's first step.
    pub original_mb: Option<u32>,
    /// Sizes served, oldest first, each with when it began serving all traffic.
    pub history: Vec<(u32, SystemTime)>,
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn time(s: &str) -> Option<SystemTime> {
    s.parse::<u64>()
        .ok()
        .map(|n| UNIX_EPOCH + Duration::from_secs(n))
}

fn config(s: &str) -> Option<Config> {
    let (m, t) = s.split_once('/')?;
    Some(Config {
        memory_mb: m.parse().ok()?,
        timeout_s: t.parse().ok()?,
    })
}

fn size_at(s: &str) -> Option<(u32, SystemTime)> {
    let (m, t) = s.split_once('@')?;
    Some((m.parse().ok()?, time(t)?))
}

fn number(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0)
}

/// Rounds for the tag: milliseconds to 0.1, rates to four significant figures.
fn short(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

impl Marker {
    /// The marker of a function trimtab has not changed yet, serving `config` since before it
    /// looked.
    pub fn untouched(config: Config) -> Self {
        Self {
            phase: Phase::Settled,
            config,
            from: config,
            at: UNIX_EPOCH,
            stable: None,
            baseline_ms: None,
            baseline_errors: None,
            expected_ms: None,
            failed: None,
            emergency: false,
            original_mb: None,
            history: vec![(config.memory_mb, UNIX_EPOCH)],
        }
    }

    /// Parses a tag value; `None` for anything this version did not write (a person's edit, a
    /// future format), which right-sizing then treats as "not ours" rather than guess.
    pub fn parse(value: &str) -> Option<Self> {
        let mut words = value.split(' ').filter(|w| !w.is_empty());
        if words.next()? != "v1" {
            return None;
        }
        let (mut phase, mut mem, mut to, mut from, mut at) = (None, None, None, None, None);
        let mut m = Marker::untouched(Config {
            memory_mb: 0,
            timeout_s: 0,
        });
        m.history.clear();
        for word in words {
            let (k, v) = word.split_once('=')?;
            match k {
                "ph" => phase = Some(Phase::parse(v)?),
                "mem" => mem = Some(v.parse::<u32>().ok()?),
                "to" => to = Some(v.parse::<u32>().ok()?),
                "from" => from = Some(config(v)?),
                "at" => at = Some(time(v)?),
                "st" => m.stable = Some(v.to_string()),
                "bp" => m.baseline_ms = Some(number(v)?),
                "be" => m.baseline_errors = Some(number(v)?),
                "ep" => m.expected_ms = Some(number(v)?),
                "fail" => m.failed = Some(size_at(v)?),
                "em" => m.emergency = v == "1",
                "o" => m.original_mb = Some(v.parse::<u32>().ok()?),
                "h" => {
                    m.history = v.split('/').map(size_at).collect::<Option<Vec<_>>>()?;
                }
                // Unknown keys from a newer version are ignored, not fatal.
                _ => {}
            }
        }
        m.phase = phase?;
        m.config = Config {
            memory_mb: mem?,
            timeout_s: to?,
        };
        m.from = from.unwrap_or(m.config);
        m.at = at?;
        if m.history.is_empty() {
            m.history.push((m.config.memory_mb, UNIX_EPOCH));
        }
        Some(m)
    }

    pub fn format(&self) -> String {
        let mut s = format!(
            "v1 ph={} mem={} to={} from={}/{} at={}",
            self.phase.as_str(),
            self.config.memory_mb,
            self.config.timeout_s,
            self.from.memory_mb,
            self.from.timeout_s,
            secs(self.at)
        );
        if let Some(v) = &self.stable {
            let _ = write!(s, " st={v}");
        }
        for (k, v) in [
            ("bp", self.baseline_ms),
            ("be", self.baseline_errors),
            ("ep", self.expected_ms),
        ] {
            if let Some(v) = v {
                let _ = write!(s, " {k}={}", short(v));
            }
        }
        if let Some((mb, t)) = self.failed {
            let _ = write!(s, " fail={mb}@{}", secs(t));
        }
        if self.emergency {
            s.push_str(" em=1");
        }
        if let Some(mb) = self.original_mb {
            let _ = write!(s, " o={mb}");
        }
        let start = self.history.len().saturating_sub(HISTORY);
        let h: Vec<String> = self.history[start..]
            .iter()
            .map(|(mb, t)| format!("{mb}@{}", secs(*t)))
            .collect();
        let _ = write!(s, " h={}", h.join("/"));
        s
    }

    /// The memory size serving all traffic during `[start, end)`, if one did: hours that
    /// straddle a change, or fall inside an alias canary (two sizes at once), have none.
    pub fn size_during(&self, start: SystemTime, end: SystemTime) -> Option<u32> {
        let in_flight = self.phase == Phase::Change;
        // An alias canary in flight mixes two sizes from `at` on.
        if in_flight && self.stable.is_some() && end > self.at {
            return None;
        }
        // A `$LATEST` change serves the new size from `at`.
        let latest = (in_flight && self.stable.is_none()).then_some((self.config.memory_mb, self.at));
        let sizes: Vec<(u32, SystemTime)> = self.history.iter().copied().chain(latest).collect();
        let mut size = None;
        for (i, (mb, since)) in sizes.iter().enumerate() {
            let until = sizes.get(i + 1).map(|(_, t)| *t);
            if *since <= start && until.is_none_or(|u| end <= u) && *mb != MIXED {
                size = Some(*mb);
            }
        }
        size
    }

    /// The marker after a step to `to` begins at `now`.
    pub fn begin(&self, to: Config, from: Config, now: SystemTime) -> Self {
        let mut next = self.clone();
        next.phase = Phase::Change;
        next.config = to;
        next.from = from;
        next.at = now;
        next.stable = None;
        next.baseline_ms = None;
        next.baseline_errors = None;
        next.expected_ms = None;
        next.emergency = false;
        next.original_mb = self.original();
        if next.original_mb.is_none() {
            next.original_mb = Some(from.memory_mb);
        }
        next
    }

    /// The memory before trimtab's first step: written since `o` exists, otherwise the size
    /// served from before trimtab knew, while the history still reaches back that far.
    pub fn original(&self) -> Option<u32> {
        self.original_mb.or_else(|| {
            self.history
                .iter()
                .find(|(mb, since)| *since == UNIX_EPOCH && *mb != MIXED)
                .map(|(mb, _)| *mb)
        })
    }

    /// The marker once the in-flight step is promoted at `now`. A `$LATEST` change has served
    /// everything since it began; an alias canary serves everything from the promotion, two
    /// sizes at once before.
    pub fn settle(&self, now: SystemTime) -> Self {
        let mut next = self.clone();
        next.phase = Phase::Settled;
        next.at = now;
        next.stable = None;
        if self.stable.is_some() {
            next.push_history(MIXED, self.at);
            next.push_history(self.config.memory_mb, now);
        } else {
            next.push_history(self.config.memory_mb, self.at);
        }
        next
    }

    /// The marker once the in-flight step is undone at `now` (the old size serving again).
    pub fn roll_back(&self, now: SystemTime) -> Self {
        let mut next = self.clone();
        // While watched, the new size served everything (`$LATEST`), or a share (a canary).
        let during = if self.stable.is_none() {
            self.config.memory_mb
        } else {
            MIXED
        };
        next.push_history(during, self.at);
        next.phase = Phase::RolledBack;
        next.failed = Some((self.config.memory_mb, now));
        next.config = self.from;
        next.at = now;
        next.stable = None;
        next.push_history(self.from.memory_mb, now);
        next
    }

    fn push_history(&mut self, memory_mb: u32, since: SystemTime) {
        if self.history.last().is_some_and(|(mb, _)| *mb == memory_mb) {
            return;
        }
        self.history.push((memory_mb, since));
        let extra = self.history.len().saturating_sub(HISTORY);
        self.history.drain(..extra);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(s)
    }

    fn cfg(memory_mb: u32, timeout_s: u32) -> Config {
        Config {
            memory_mb,
            timeout_s,
        }
    }

    #[test]
    fn round_trips_and_fits_in_a_tag_value() {
        let mut m = Marker::untouched(cfg(10_240, 900))
            .begin(cfg(5_120, 450), cfg(10_240, 900), t(1_764_806_400));
        m.stable = Some("12345".into());
        m.baseline_ms = Some(12_345.6);
        m.baseline_errors = Some(0.001_23);
        m.expected_ms = Some(0.5);
        m.failed = Some((2_560, t(1_764_000_000)));
        m.emergency = true;
        for i in 0..6 {
            m.push_history(1_000 + i, t(1_764_000_000 + u64::from(i)));
        }
        let s = m.format();
        assert!(s.len() <= 256, "{} chars: {s}", s.len());
        assert!(
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || " _.:/=+-@".contains(c)),
            "{s}"
        );
        let back = Marker::parse(&s).unwrap();
        assert_eq!(back.format(), s);
        assert_eq!(back.history.len(), HISTORY);
        assert_eq!(back.config, cfg(5_120, 450));
        assert_eq!(back.baseline_ms, Some(12_346.0));
    }

    #[test]
    fn the_size_before_the_first_step_outlives_the_history() {
        let mut m = Marker::untouched(cfg(2_048, 30));
        assert_eq!(m.original(), Some(2_048), "untouched: where it began");
        let mut from = cfg(2_048, 30);
        for (i, mb) in [1_536, 1_024, 768, 640, 512, 448, 384].into_iter().enumerate() {
            let at = t(10_000 * (i as u64 + 1));
            m = m.begin(cfg(mb, 30), from, at).settle(at);
            from = cfg(mb, 30);
        }
        assert!(m.history.iter().all(|(mb, _)| *mb != 2_048), "history trimmed");
        let back = Marker::parse(&m.format()).unwrap();
        assert_eq!(back.original(), Some(2_048));
        // A marker written before `o`: the size from before trimtab knew, while `h` has it.
        let old = Marker::parse("v1 ph=settled mem=512 to=30 at=5 h=1024@0/512@5").unwrap();
        assert_eq!(old.original(), Some(1_024));
        let older = Marker::parse("v1 ph=settled mem=512 to=30 at=5 h=768@3/512@5").unwrap();
        assert_eq!(older.original(), None, "not known: no realised saving claimed");
    }

    #[test]
    fn what_it_did_not_write_is_not_read() {
        for bad in [
            "",
            "v2 ph=settled mem=1 to=1 at=0",
            "v1 ph=settled mem=128 at=0",
            "v1 ph=maybe mem=128 to=3 at=0",
            "v1 ph=settled mem=lots to=3 at=0",
            "v1 ph=settled mem=128 to=3 at=0 bp=-1",
            "v1 ph=settled mem=128 to=3 at=0 h=128",
            "memory 128",
        ] {
            assert_eq!(Marker::parse(bad), None, "{bad}");
        }
        assert!(Marker::parse("v1 ph=settled mem=128 to=3 at=0 later=yes").is_some());
    }

    #[test]
    fn hours_are_attributed_to_the_size_that_served_them() {
        let m = Marker::untouched(cfg(1_024, 30))
            .begin(cfg(768, 30), cfg(1_024, 30), t(10_000))
            .settle(t(10_000));
        assert_eq!(m.size_during(t(0), t(3_600)), Some(1_024));
        assert_eq!(m.size_during(t(6_400), t(10_000)), Some(1_024));
        assert_eq!(m.size_during(t(9_000), t(12_600)), None, "straddles");
        assert_eq!(m.size_during(t(10_000), t(13_600)), Some(768));
        // An alias canary mixes sizes until it settles.
        let mut c = m.begin(cfg(512, 30), cfg(768, 30), t(20_000));
        c.stable = Some("3".into());
        assert_eq!(c.size_during(t(20_000), t(23_600)), None);
        assert_eq!(c.size_during(t(16_000), t(19_600)), Some(768));
        let done = c.settle(t(30_000));
        // A `$LATEST` change serves its size from the moment it is made.
        let direct = m.begin(cfg(512, 30), cfg(768, 30), t(20_000));
        assert_eq!(direct.size_during(t(20_000), t(23_600)), Some(512));
        assert_eq!(direct.settle(t(30_000)).size_during(t(20_000), t(23_600)), Some(512));
        let undone = direct.roll_back(t(30_000));
        assert_eq!(undone.size_during(t(20_000), t(23_600)), Some(512));
        assert_eq!(undone.size_during(t(30_000), t(33_600)), Some(768));
        assert_eq!(done.size_during(t(20_000), t(23_600)), None, "canary hours");
        assert_eq!(done.size_during(t(30_000), t(33_600)), Some(512));
        let back = c.roll_back(t(25_000));
        assert_eq!(back.config, cfg(768, 30));
        assert_eq!(back.failed, Some((512, t(25_000))));
        assert_eq!(back.size_during(t(20_000), t(23_600)), None, "canary hours");
        assert_eq!(back.size_during(t(25_000), t(28_600)), Some(768));
    }
}
