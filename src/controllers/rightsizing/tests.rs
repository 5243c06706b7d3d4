//! The recommender's cases and the step state machine's, each a table.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::model::{Architecture, Prices, Write};

use super::canary::{self, AliasView, Expectation, Live, Next, Verdict, Watch};
use super::learn::{Learned, Period, Served};
use super::marker::{Config, Marker, Phase as MarkerPhase};
use super::recommend::{Advice, Emergency, Inputs, Insufficient, recommend};
use super::settings::{Optimise, RuleSettings, Settings};
use super::signals::Totals;

const HOUR: Duration = Duration::from_secs(3_600);
/// The duration distribution's p95 over its mean (lognormal, sigma 0.3).
const SHAPE: f64 = 1.6;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_764_806_400)
}

/// A function's traffic, for the recommender: what it served at each size.
#[derive(Clone)]
struct Fn {
    /// (memory, mean duration ms, hours), oldest first; the last is the current size.
    sizes: Vec<(u32, f64, u64)>,
    per_hour: f64,
    cpu_ms: Option<f64>,
    memory_used_mb: Option<f64>,
    errors_per_hour: f64,
    timeout_s: u32,
    /// Hours ago an out-of-memory kill (or a timeout) showed.
    oom_hours_ago: Option<u64>,
}

impl Fn {
    fn new(sizes: &[(u32, f64, u64)]) -> Self {
        Self {
            sizes: sizes.to_vec(),
            per_hour: 1_000.0,
            cpu_ms: None,
            memory_used_mb: None,
            errors_per_hour: 0.0,
            timeout_s: 30,
            oom_hours_ago: None,
        }
    }

    fn insights(mut self, cpu_ms: f64, memory_used_mb: f64) -> Self {
        self.cpu_ms = Some(cpu_ms);
        self.memory_used_mb = Some(memory_used_mb);
        self
    }

    fn learned(&self) -> Learned {
        let mut l = Learned::default();
        let total: u64 = self.sizes.iter().map(|s| s.2).sum();
        let mut h = 0;
        for &(mb, mean, hours) in &self.sizes {
            for _ in 0..hours {
                let start = now() - HOUR * (total - h) as u32;
                let ago = total - h;
                let oom = self.oom_hours_ago == Some(ago);
                let p = Period {
                    invocations: self.per_hour,
                    errors: self.errors_per_hour + if oom { 5.0 } else { 0.0 },
                    objective_ms: Some(mean * SHAPE),
                    p99_ms: Some(mean * 2.0),
                    max_ms: Some(mean * 3.0),
                    mean_ms: Some(mean),
                    memory_used_mb: if oom {
                        Some(f64::from(mb))
                    } else {
                        self.memory_used_mb
                    },
                    cpu_ms: self.cpu_ms,
                    ..Period::empty(start, HOUR)
                };
                l.fold(
                    &p,
                    Served {
                        memory_mb: Some(mb),
                        timeout_s: Some(self.timeout_s),
                    },
                    Duration::from_secs(3 * 86_400),
                );
                h += 1;
            }
        }
        l
    }

    fn current(&self) -> Config {
        Config {
            memory_mb: self.sizes.last().map_or(128, |s| s.0),
            timeout_s: self.timeout_s,
        }
    }
}

fn advise(f: &Fn, settings: &Settings) -> Result<Advice, Insufficient> {
    advise_from(f, settings, None)
}

fn advise_from(f: &Fn, settings: &Settings, original_mb: Option<u32>) -> Result<Advice, Insufficient> {
    let learned = f.learned();
    let e = settings.effective(&RuleSettings::default(), None);
    let prices = Prices::default();
    recommend(&Inputs {
        settings: &e,
        current: f.current(),
        learned: &learned,
        now: now(),
        prices: &prices,
        architecture: Architecture::X86_64,
        insights: f.cpu_ms.is_some(),
        failed: None,
        since_change: UNIX_EPOCH,
        original_mb,
    })
}

#[test]
fn the_saving_already_realised_is_measured_against_the_size_before_the_first_step() {
    let d = Settings::default();
    let week = 7 * 24;
    // Served at 1,024 MB for a week, then at 512 MB: an I/O-bound function barely slowed.
    let f = Fn::new(&[
        (1_024, mean(900.0, 10.0, 1_024), week),
        (512, mean(900.0, 10.0, 512), week),
    ])
    .insights(10.0, 90.0);
    let a = advise_from(&f, &d, Some(1_024)).unwrap_or_else(|e| panic!("{e}"));
    let realised = a.realised_saving.unwrap_or_else(|| panic!("no realised saving"));
    // The same invocations at the observed durations of each size, priced per invocation.
    let p = Prices::default();
    let per_invocation = |mb: f64, ms: f64| {
        p.lambda_requests_per_million / 1e6 + mb / 1_024.0 * ms / 1_000.0 * p.lambda_gb_second_x86
    };
    let now_cost = a.current.monthly_cost.unwrap_or_default();
    let want = now_cost
        * (per_invocation(1_024.0, mean(900.0, 10.0, 1_024))
            / per_invocation(512.0, mean(900.0, 10.0, 512))
            - 1.0);
    assert!(
        (realised - want).abs() < 0.05 * want,
        "realised {realised} ≠ {want}"
    );
    // Never stepped, or back where it began: nothing realised.
    assert_eq!(advise_from(&f, &d, None).unwrap().realised_saving, None);
    assert_eq!(advise_from(&f, &d, Some(512)).unwrap().realised_saving, None);
}

/// Mean duration of `io + cpu × 1769 / min(m, 1769)`.
fn mean(io: f64, cpu: f64, mb: u32) -> f64 {
    io + cpu * 1_769.0 / f64::from(mb).min(1_769.0)
}

#[test]
fn recommender_cases() {
    let d = Settings::default();
    let two_weeks = 14 * 24;
    struct Case {
        name: &'static str,
        f: Fn,
        check: fn(&Advice) -> bool,
    }
    let cases = [
        Case {
            name: "I/O-bound (a model API call) goes near the memory floor",
            f: Fn::new(&[(1_024, mean(900.0, 10.0, 1_024), two_weeks)]).insights(10.0, 90.0),
            check: |a| a.target.memory_mb <= 192 && a.step.memory_mb == 512,
        },
        Case {
            name: "CPU-bound single-threaded stays at or below one vCPU",
            f: Fn::new(&[
                (3_008, mean(20.0, 800.0, 3_008), two_weeks / 2),
                (1_769, mean(20.0, 800.0, 1_769), two_weeks / 2),
            ])
            .insights(800.0, 300.0),
            check: |a| a.target.memory_mb <= 1_769 && a.target.memory_mb >= 640,
        },
        Case {
            name: "near the latency objective: no cut",
            f: Fn::new(&[(1_024, mean(0.0, 1_000.0, 1_024) * 1.0, two_weeks)])
                .insights(1_000.0 * 1_024.0 / 1_769.0, 200.0),
            check: |a| a.step.memory_mb >= 1_024,
        },
        Case {
            name: "near the memory peak: no cut below peak plus margin",
            f: Fn::new(&[(1_024, mean(500.0, 5.0, 1_024), two_weeks)]).insights(5.0, 800.0),
            check: |a| a.target.memory_mb >= 840 && a.step.memory_mb >= 840,
        },
        Case {
            name: "without Lambda Insights, a cut is at most the blind step",
            f: Fn::new(&[(1_024, mean(900.0, 10.0, 1_024), two_weeks)]),
            check: |a| a.step.memory_mb >= 768 && a.step.memory_mb < 1_024,
        },
        Case {
            name: "breaching the objective: more memory",
            f: Fn::new(&[(512, mean(100.0, 1_000.0, 512), two_weeks)]).insights(1_000.0, 200.0),
            check: |a| a.breach && a.step.memory_mb > 512 && a.step_latency_ms <= 3_000.0,
        },
    ];
    for c in cases {
        let a = advise(&c.f, &d).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert!(
            (c.check)(&a),
            "{}: target {} step {} ({}; {})",
            c.name,
            a.target.memory_mb,
            a.step.memory_mb,
            a.reason,
            a.evidence
        );
    }
}

#[test]
fn too_little_data_recommends_nothing_and_says_how_much() {
    let d = Settings::default();
    let mut f = Fn::new(&[(1_024, 300.0, 48)]).insights(50.0, 100.0);
    f.per_hour = 10.0;
    let err = advise(&f, &d).unwrap_err();
    assert_eq!(
        err.to_string(),
        "not enough data yet (480 of 1000 invocations)"
    );
    let f = Fn::new(&[(1_024, 300.0, 12)]).insights(50.0, 100.0);
    assert!(advise(&f, &d).unwrap_err().to_string().contains("hours of history"));
}

#[test]
fn out_of_memory_gets_more_memory_at_once() {
    let d = Settings::default();
    let mut f = Fn::new(&[(128, 200.0, 14 * 24)]).insights(20.0, 110.0);
    f.oom_hours_ago = Some(2);
    let a = advise(&f, &d).unwrap();
    assert_eq!(a.emergency, Some(Emergency::OutOfMemory));
    // VPA's bump: at least 100 MB more than the peak (the size itself).
    assert!(a.step.memory_mb >= 228, "{}", a.step.memory_mb);
    // An old kill is history, not an emergency.
    f.oom_hours_ago = Some(13 * 24);
    assert_eq!(advise(&f, &d).unwrap().emergency, None);
}

#[test]
fn timeouts_follow_the_longest_duration_and_warn_about_callers() {
    let mut d = Settings::default();
    d.timeouts.caller_timeout = Some(Duration::from_secs(29));
    let mut f = Fn::new(&[(1_024, 5_000.0, 14 * 24)]).insights(100.0, 200.0);
    f.timeout_s = 300;
    let a = advise(&f, &d).unwrap();
    // Longest 15 s, p99 10 s × 1.5: 15 s.
    assert_eq!(a.timeout_s, 15, "{}", a.timeout_s);
    assert!(a.caller_warning.is_some(), "300 s > 29 s");
    // A function whose invocations reach the timeout gets more time.
    // Longest 3 s (three times the mean) against a 3 s timeout.
    let mut f = Fn::new(&[(1_024, 1_000.0, 14 * 24)]).insights(100.0, 200.0);
    f.timeout_s = 3;
    f.errors_per_hour = 2.0;
    let a = advise(&f, &d).unwrap();
    assert_eq!(a.emergency, Some(Emergency::Timeouts));
    assert!(a.timeout_s >= 6, "{}", a.timeout_s);
    assert!(a.step.memory_mb >= 1_024, "no cut in a timeout emergency");
}

#[test]
fn balanced_buys_speed_when_it_is_nearly_free() {
    // CPU-bound: duration halves as memory doubles, so cost is flat below one vCPU.
    let f = Fn::new(&[(512, mean(5.0, 600.0, 512), 14 * 24)]).insights(600.0, 200.0);
    let cost = advise(&f, &Settings::default()).unwrap();
    let b = Settings {
        optimise: Optimise::Balanced,
        ..Settings::default()
    };
    let balanced = advise(&f, &b).unwrap();
    assert!(
        balanced.target.memory_mb > cost.target.memory_mb,
        "balanced {} vs cost {}",
        balanced.target.memory_mb,
        cost.target.memory_mb
    );
}

// ---- The step state machine -------------------------------------------------------------

fn cfg(memory_mb: u32, timeout_s: u32) -> Config {
    Config {
        memory_mb,
        timeout_s,
    }
}

fn live(latest: Config) -> Live {
    Live {
        arn: "arn:aws:lambda:ap-south-1:123456789012:function:f".into(),
        latest,
        revision: Some("r1".into()),
        code: Some("c1".into()),
        updating: false,
        alias: None,
    }
}

fn with_alias(mut l: Live, primary: (&str, Config), routing: Option<(&str, f64, Config)>) -> Live {
    l.alias = Some(AliasView {
        name: "live".into(),
        primary: primary.0.into(),
        primary_config: Some(primary.1),
        primary_code: Some("c1".into()),
        routing: routing.map(|(v, w, c)| (v.to_string(), w, Some(c))),
    });
    l
}

fn totals(invocations: f64, errors: f64, objective_ms: f64) -> Totals {
    Totals {
        invocations,
        errors,
        objective_ms: Some(objective_ms),
        mean_ms: Some(objective_ms / SHAPE),
    }
}

fn step(stable: Option<&str>, at: SystemTime) -> Marker {
    let mut m = Marker::untouched(cfg(1_024, 30)).begin(cfg(768, 30), cfg(1_024, 30), at);
    m.stable = stable.map(str::to_string);
    m.baseline_errors = Some(0.01);
    m.expected_ms = Some(900.0);
    m
}

fn calls(next: &Next) -> Vec<&'static str> {
    match next {
        Next::Act { writes, .. } => writes
            .iter()
            .map(|w| match w {
                Write::TagFunction { .. } => "tag",
                Write::UpdateFunctionConfiguration { .. } => "update",
                Write::PublishAndRoute { .. } => "publish",
                Write::RouteAlias { .. } => "route",
                _ => "other",
            })
            .collect(),
        Next::Idle => vec!["idle"],
        Next::Watching { .. } => vec!["watching"],
        Next::Wait { .. } => vec!["wait"],
        Next::Foreign { .. } => vec!["foreign"],
    }
}

fn tagged_phase(next: &Next) -> Option<MarkerPhase> {
    let Next::Act { writes, .. } = next else {
        return None;
    };
    writes.iter().find_map(|w| match w {
        Write::TagFunction { tags, .. } => tags
            .get(super::marker::TAG)
            .and_then(|v| Marker::parse(v))
            .map(|m| m.phase),
        _ => None,
    })
}

/// (name, figures, time since the step, expected verdict).
type JudgeCase = (&'static str, Watch, Duration, fn(&Verdict) -> bool);
/// (name, marker, account, figures, expected calls).
type StepCase = (&'static str, Marker, Live, Option<Watch>, Vec<&'static str>);

#[test]
fn judge_promotes_rolls_back_and_waits() {
    let s = Settings::default();
    let e = s.effective(&RuleSettings::default(), None);
    let hour = Duration::from_secs(3_600);
    let good = Watch {
        new: totals(5_000.0, 50.0, 850.0),
        stable: None,
    };
    let cases: [JudgeCase; 6] = [
        ("good after the window: promote", good, hour, |v| matches!(v, Verdict::Promote(_))),
        ("good before the window: wait", good, hour / 2, |v| matches!(v, Verdict::Continue(_))),
        (
            "errors: roll back at once",
            Watch {
                new: totals(500.0, 60.0, 850.0),
                stable: None,
            },
            hour / 6,
            |v| matches!(v, Verdict::RollBack(r) if r.contains("error rate")),
        ),
        (
            "slower than predicted, near the objective: roll back",
            Watch {
                new: totals(5_000.0, 50.0, 2_900.0),
                stable: None,
            },
            hour,
            |v| matches!(v, Verdict::RollBack(r) if r.contains("predicted")),
        ),
        (
            "breaching the objective: roll back",
            Watch {
                new: totals(5_000.0, 50.0, 3_500.0),
                stable: None,
            },
            hour,
            |v| matches!(v, Verdict::RollBack(r) if r.contains("breaches")),
        ),
        (
            "a day without traffic: undone",
            Watch {
                new: totals(3.0, 0.0, 850.0),
                stable: None,
            },
            25 * hour,
            |v| matches!(v, Verdict::RollBack(r) if r.contains("too little traffic")),
        ),
    ];
    let cut = Expectation {
        baseline_errors: 0.01,
        baseline_ms: Some(800.0),
        expected_ms: Some(900.0),
        cut: true,
    };
    for (name, w, elapsed, ok) in cases {
        let v = canary::judge(&w, cut, &e, elapsed);
        assert!(ok(&v), "{name}: {v:?}");
    }
    // Slower than predicted but well within the objective: kept, and learned from.
    let w = Watch {
        new: totals(5_000.0, 50.0, 1_200.0),
        stable: None,
    };
    assert!(matches!(canary::judge(&w, cut, &e, hour), Verdict::Promote(_)));
    // A step up that helps but does not yet meet the objective is kept.
    let up = Expectation {
        baseline_ms: Some(4_500.0),
        expected_ms: Some(2_500.0),
        cut: false,
        ..cut
    };
    let w = Watch {
        new: totals(5_000.0, 50.0, 3_400.0),
        stable: None,
    };
    assert!(matches!(canary::judge(&w, up, &e, hour), Verdict::Promote(_)));
    // Against the stable version's error rate in an alias canary.
    let w = Watch {
        new: totals(1_000.0, 30.0, 850.0),
        stable: Some(totals(9_000.0, 270.0, 850.0)),
    };
    let x = Expectation {
        baseline_errors: 0.0,
        ..cut
    };
    assert!(matches!(canary::judge(&w, x, &e, hour), Verdict::Promote(_)));
}

#[test]
fn latest_step_walks_through_every_state_and_resumes_after_a_crash() {
    let s = Settings::default();
    let e = s.effective(&RuleSettings::default(), None);
    let t0 = now();
    let m = step(None, t0);
    let good = Watch {
        new: totals(5_000.0, 50.0, 850.0),
        stable: None,
    };
    let bad = Watch {
        new: totals(5_000.0, 500.0, 850.0),
        stable: None,
    };
    let later = t0 + Duration::from_secs(3_700);
    // Begin: the marker first, then the update with the revision read.
    let (writes, begun) = canary::begin(
        "f",
        &Marker::untouched(cfg(1_024, 30)),
        &live(cfg(1_024, 30)),
        cfg(1_024, 30),
        cfg(768, 30),
        (800.0, 0.01),
        900.0,
        false,
        t0,
    )
    .unwrap();
    assert!(matches!(&writes[0], Write::TagFunction { .. }));
    assert!(matches!(&writes[1], Write::UpdateFunctionConfiguration { update, .. }
        if update.memory_mb == Some(768) && update.timeout_s.is_none() && update.revision_id.as_deref() == Some("r1")));
    assert_eq!(begun.phase, MarkerPhase::Change);

    let cases: Vec<StepCase> = vec![
        ("crash after the marker: never changed, idle", m.clone(), live(cfg(1_024, 30)), None, vec!["idle"]),
        ("update in progress: wait", m.clone(), Live { updating: true, ..live(cfg(768, 30)) }, None, vec!["wait"]),
        ("applied, good: promote", m.clone(), live(cfg(768, 30)), Some(good), vec!["tag"]),
        ("applied, errors: roll back", m.clone(), live(cfg(768, 30)), Some(bad), vec!["tag", "update"]),
        ("crash after the rollback's marker: finish it", m.roll_back(later), live(cfg(768, 30)), None, vec!["update"]),
        ("rolled back: idle", m.roll_back(later), live(cfg(1_024, 30)), None, vec!["idle"]),
        ("settled: idle", m.settle(later), live(cfg(768, 30)), None, vec!["idle"]),
        ("a deploy changed it: stand back", m.settle(later), live(cfg(1_536, 30)), None, vec!["foreign"]),
        ("someone changed it mid-step: stand back", m.clone(), live(cfg(2_048, 30)), None, vec!["foreign"]),
    ];
    for (name, marker, l, w, want) in cases {
        let next = canary::next("f", Some(&marker), &l, w.as_ref(), &e, later);
        assert_eq!(calls(&next), want, "{name}: {next:?}");
    }
    let promoted = canary::next("f", Some(&m), &live(cfg(768, 30)), Some(&good), &e, later);
    assert_eq!(tagged_phase(&promoted), Some(MarkerPhase::Settled));
    let undone = canary::next("f", Some(&m), &live(cfg(768, 30)), Some(&bad), &e, later);
    assert_eq!(tagged_phase(&undone), Some(MarkerPhase::RolledBack));
}

#[test]
fn alias_canary_walks_through_every_state_and_resumes_after_a_crash() {
    let s = Settings::default();
    let e = s.effective(&RuleSettings::default(), None);
    let t0 = now();
    let later = t0 + Duration::from_secs(3_700);
    let m = step(Some("4"), t0);
    let good = Watch {
        new: totals(500.0, 5.0, 850.0),
        stable: Some(totals(4_500.0, 45.0, 700.0)),
    };
    let bad = Watch {
        new: totals(500.0, 60.0, 850.0),
        stable: Some(totals(4_500.0, 45.0, 700.0)),
    };
    let (old, new) = (cfg(1_024, 30), cfg(768, 30));
    let at = |latest: Config, routing: Option<(&str, f64, Config)>| with_alias(live(latest), ("4", old), routing);
    let cases: Vec<StepCase> = vec![
        ("crash after the marker: idle", m.clone(), at(old, None), None, vec!["idle"]),
        ("$LATEST updated: publish and route", m.clone(), at(new, None), None, vec!["publish"]),
        ("canary routed, good: promote", m.clone(), at(new, Some(("5", 0.1, new))), Some(good), vec!["tag", "route"]),
        ("canary routed, errors: roll back", m.clone(), at(new, Some(("5", 0.1, new))), Some(bad), vec!["tag", "route", "update"]),
        ("canary routed, no figures yet: wait", m.clone(), at(new, Some(("5", 0.1, new))), None, vec!["wait"]),
        ("crash after the promotion's marker: route", m.settle(later), at(new, Some(("5", 0.1, new))), None, vec!["route"]),
        ("crash after the rollback's marker: route back", m.roll_back(later), at(new, Some(("5", 0.1, new))), None, vec!["route"]),
        ("crash before $LATEST was restored: update", m.roll_back(later), at(new, None), None, vec!["update"]),
        ("rolled back: idle", m.roll_back(later), at(old, None), None, vec!["idle"]),
        ("someone else's canary: stand back", m.clone(), at(new, Some(("9", 0.2, cfg(2_048, 30)))), None, vec!["foreign"]),
        (
            "a deploy moved the alias: stand back",
            m.settle(later),
            with_alias(live(old), ("6", cfg(1_536, 30)), None),
            None,
            vec!["foreign"],
        ),
    ];
    for (name, marker, l, w, want) in cases {
        let next = canary::next("f", Some(&marker), &l, w.as_ref(), &e, later);
        assert_eq!(calls(&next), want, "{name}: {next:?}");
    }
    // Promoted by hand (or an emergency pointed the alias outright): record it.
    let moved = with_alias(live(new), ("5", new), None);
    let next = canary::next("f", Some(&m), &moved, None, &e, later);
    assert_eq!(tagged_phase(&next), Some(MarkerPhase::Settled));
    // A deploy under way: $LATEST runs code the alias does not.
    let mut deploying = at(new, None);
    deploying.code = Some("c2".into());
    assert_eq!(calls(&canary::next("f", Some(&m), &deploying, None, &e, later)), vec!["foreign"]);
    // And no canary begins over unpublished code.
    let mut unpublished = at(old, None);
    unpublished.code = Some("c2".into());
    let begun = canary::begin("f", &Marker::untouched(old), &unpublished, old, new, (800.0, 0.0), 900.0, false, t0);
    assert!(begun.unwrap_err().contains("unpublished"));
}
