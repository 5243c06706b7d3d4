//! One function's step, as a state machine over (marker, what the account shows). Every
//! transition is decided from what is observed, never from memory, so a crash between any two
//! writes is finished or undone by the next cycle:
//!
//! | marker | account | next |
//! |---|---|---|
//! | none, settled | serves the marker's size | idle: a new step may begin |
//! | change (`$LATEST`) | `$LATEST` at the new size | watch; promote (tag) or roll back (tag, update) |
//! | change (alias) | `$LATEST` at the new size, alias unrouted | publish and route the canary weight |
//! | change (alias) | alias routes to a version at the new size | watch; promote (tag, route) or roll back (tag, route, update) |
//! | change | still at the old size | the change never happened: idle |
//! | settled | alias still routes to the new version | finish the promotion (route) |
//! | rolled back | still at the failed size | finish the rollback |
//! | any | anything else | someone else changed it: stand back |
//!
//! The marker is always written first: a crash after it and before the configuration write
//! leaves a marker the account does not match in a way the table recognises.

use std::time::{Duration, SystemTime};

use crate::model::{FunctionConfigUpdate, Tags, Write};

use super::marker::{Config, Marker, Phase, TAG};
use super::settings::Effective;
use super::signals::Totals;

/// What an alias looks like, for a function invoked through one.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasView {
    pub name: String,
    pub primary: String,
    /// `None` until the version's configuration has been read.
    pub primary_config: Option<Config>,
    pub primary_code: Option<String>,
    /// A second version, its weight, and its configuration when read.
    pub routing: Option<(String, f64, Option<Config>)>,
}

/// What the function looks like now.
#[derive(Debug, Clone, PartialEq)]
pub struct Live {
    pub arn: String,
    pub latest: Config,
    pub revision: Option<String>,
    pub code: Option<String>,
    /// `LastUpdateStatus` is `InProgress`: configuration writes would fail with 409.
    pub updating: bool,
    pub alias: Option<AliasView>,
}

impl Live {
    /// The configuration serving the callers: the alias's version, or `$LATEST`.
    pub fn serving(&self) -> Option<Config> {
        match &self.alias {
            Some(a) => a.primary_config,
            None => Some(self.latest),
        }
    }
}

/// A step's figures since it began: the new size's, and in an alias canary the stable
/// version's over the same minutes.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Watch {
    pub new: Totals,
    pub stable: Option<Totals>,
}

/// What to do about one function.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Nothing in flight; the account matches the marker. A new step may begin.
    Idle,
    /// A step is being watched and is fine so far.
    Watching { requeue: Duration, note: String },
    /// Something must finish first (an update in progress, a version not yet read).
    Wait {
        reason: String,
        requeue: Option<Duration>,
    },
    /// Someone else changed the function: stand back.
    Foreign { reason: String },
    Act {
        writes: Vec<Write>,
        reason: String,
        requeue: Option<Duration>,
        /// `true` for a rollback (the plan counts them).
        rollback: bool,
    },
}

/// How soon to look again while a step's writes settle.
pub const SETTLE: Duration = Duration::from_secs(15);
/// A step with too little traffic is judged after this long whatever it has served.
pub const LONGEST_WATCH: Duration = Duration::from_secs(24 * 3_600);
/// Fewest invocations a starved step is judged on; below it, it is undone.
const FEWEST: f64 = 10.0;

pub fn tag(arn: &str, marker: &Marker) -> Write {
    Write::TagFunction {
        arn: arn.to_string(),
        tags: Tags::from([(TAG.to_string(), marker.format())]),
    }
}

pub fn update(function: &str, to: Config, from: Config, revision: Option<&str>) -> Write {
    Write::UpdateFunctionConfiguration {
        function: function.to_string(),
        update: FunctionConfigUpdate {
            memory_mb: (to.memory_mb != from.memory_mb).then_some(to.memory_mb),
            timeout_s: (to.timeout_s != from.timeout_s).then_some(to.timeout_s),
            revision_id: revision.map(str::to_string),
        },
    }
}

fn route(function: &str, alias: &str, version: &str) -> Write {
    Write::RouteAlias {
        function: function.to_string(),
        alias: alias.to_string(),
        version: version.to_string(),
        routing: None,
    }
}

fn config_text(c: Config) -> String {
    format!("{} MB / {} s", c.memory_mb, c.timeout_s)
}

/// The verdict on a watched step.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Promote(String),
    RollBack(String),
    Continue(Duration),
}

/// What a step is judged against: the figures before it (or, in an alias canary, the stable
/// version's over the same minutes), what the model predicted, and whether it cut memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expectation {
    pub baseline_errors: f64,
    pub baseline_ms: Option<f64>,
    pub expected_ms: Option<f64>,
    pub cut: bool,
}

impl Expectation {
    pub fn of(m: &Marker) -> Self {
        Self {
            baseline_errors: m.baseline_errors.unwrap_or(0.0),
            baseline_ms: m.baseline_ms,
            expected_ms: m.expected_ms,
            cut: m.config.memory_mb < m.from.memory_mb,
        }
    }
}

/// Judges a step from its figures. Errors are checked as soon as a few show up; latency once
/// the step has served `canary_min_invocations`; it is promoted once the window has passed
/// too. A step starved of traffic is judged on what it has after a day, and undone if that is
/// next to nothing.
///
/// Latency undoes a step that made things worse: one that breaches the objective and is slower
/// than before, or a cut that is slower than predicted and has lost the objective's headroom.
/// A step up that helps but does not yet meet the objective is kept (the next one goes further).
pub fn judge(watch: &Watch, x: Expectation, s: &Effective<'_>, elapsed: Duration) -> Verdict {
    let g = s.global;
    let new = &watch.new;
    let n = new.invocations;
    let base = watch.stable.map_or(x.baseline_errors, |t| t.error_rate());
    let before_ms = watch.stable.and_then(|t| t.objective_ms).or(x.baseline_ms);
    if n > 0.0 && new.errors >= 3.0 {
        let p = base.max(1.0 / n);
        let allowed = base + g.error_tolerance + 3.0 * (p * (1.0 - p) / n).sqrt();
        if new.error_rate() > allowed {
            return Verdict::RollBack(format!(
                "error rate {:.2} % against {:.2} % before",
                new.error_rate() * 100.0,
                base * 100.0
            ));
        }
    }
    let starved = elapsed >= LONGEST_WATCH.max(g.canary_window);
    let enough = n >= g.canary_min_invocations as f64 || (starved && n >= FEWEST);
    if enough && let Some(obj) = new.objective_ms {
        let slower = before_ms.is_none_or(|b| obj > b * (1.0 + g.latency_tolerance));
        if obj > s.threshold_ms && slower {
            return Verdict::RollBack(format!(
                "{} {obj:.0} ms breaches the objective ({} ≤ {:.0} ms) and is slower than before{}",
                s.statistic,
                s.statistic,
                s.threshold_ms,
                before_ms.map_or(String::new(), |b| format!(" ({b:.0} ms)"))
            ));
        }
        let goal = s.threshold_ms * (1.0 - g.headroom);
        if x.cut
            && obj > goal
            && let Some(exp) = x.expected_ms
            && obj > exp * (1.0 + g.latency_tolerance)
        {
            return Verdict::RollBack(format!(
                "{} {obj:.0} ms is more than {:.0} % above the {exp:.0} ms predicted, within {:.0} % of the objective",
                s.statistic,
                g.latency_tolerance * 100.0,
                g.headroom * 100.0
            ));
        }
    }
    if enough && (elapsed >= g.canary_window || starved) {
        return Verdict::Promote(format!(
            "served {n:.0} invocations over {:.0} min within the objective and error tolerance",
            elapsed.as_secs_f64() / 60.0
        ));
    }
    if starved {
        return Verdict::RollBack(format!(
            "served only {n:.0} invocations in {:.0} h: too little traffic to judge",
            elapsed.as_secs_f64() / 3_600.0
        ));
    }
    let remaining = g.canary_window.saturating_sub(elapsed);
    Verdict::Continue(
        remaining
            .min(super::signals::WATCH_PERIOD)
            .max(Duration::from_secs(60)),
    )
}

/// Decides what to do about a function whose marker is `marker` (`None`: untouched).
pub fn next(
    function: &str,
    marker: Option<&Marker>,
    live: &Live,
    watch: Option<&Watch>,
    s: &Effective<'_>,
    now: SystemTime,
) -> Next {
    let Some(m) = marker else {
        return Next::Idle;
    };
    match m.phase {
        Phase::Settled | Phase::RolledBack => at_rest(function, m, live),
        Phase::Change if m.stable.is_some() => alias_step(function, m, live, watch, s, now),
        Phase::Change => latest_step(function, m, live, watch, s, now),
    }
}

fn foreign(what: &str, seen: Config, expected: Config) -> Next {
    Next::Foreign {
        reason: format!(
            "{what} is {} but trimtab set {}: someone else changed it",
            config_text(seen),
            config_text(expected)
        ),
    }
}

/// A settled or rolled-back function: the account should serve the marker's configuration;
/// a promotion or rollback interrupted half-way is finished.
fn at_rest(function: &str, m: &Marker, live: &Live) -> Next {
    let failed = m.failed.map(|(mb, _)| mb);
    match &live.alias {
        Some(a) => {
            let Some(primary) = a.primary_config else {
                return Next::Wait {
                    reason: format!("reading version {} of {}", a.primary, a.name),
                    requeue: None,
                };
            };
            match &a.routing {
                Some((version, _, cfg)) => {
                    let Some(cfg) = cfg else {
                        return Next::Wait {
                            reason: format!("reading version {version}"),
                            requeue: None,
                        };
                    };
                    if m.phase == Phase::Settled && *cfg == m.config {
                        return Next::Act {
                            writes: vec![route(function, &a.name, version)],
                            reason: format!(
                                "finishing the promotion of version {version} ({})",
                                config_text(m.config)
                            ),
                            requeue: Some(SETTLE),
                            rollback: false,
                        };
                    }
                    if m.phase == Phase::RolledBack
                        && primary == m.config
                        && failed == Some(cfg.memory_mb)
                    {
                        return Next::Act {
                            writes: vec![route(function, &a.name, &a.primary)],
                            reason: format!("finishing the rollback of version {version}"),
                            requeue: Some(SETTLE),
                            rollback: true,
                        };
                    }
                    Next::Foreign {
                        reason: format!(
                            "{} routes {:.0} % to version {version}, which trimtab did not publish",
                            a.name,
                            a.routing.as_ref().map_or(0.0, |r| r.1 * 100.0)
                        ),
                    }
                }
                None if primary == m.config => {
                    if m.phase == Phase::RolledBack
                        && failed == Some(live.latest.memory_mb)
                        && !live.updating
                    {
                        // The alias is back; `$LATEST` still has the failed size.
                        return Next::Act {
                            writes: vec![update(
                                function,
                                m.config,
                                live.latest,
                                live.revision.as_deref(),
                            )],
                            reason: format!(
                                "finishing the rollback: $LATEST back to {}",
                                config_text(m.config)
                            ),
                            requeue: Some(SETTLE),
                            rollback: true,
                        };
                    }
                    Next::Idle
                }
                None => foreign(&format!("{} (version {})", a.name, a.primary), primary, m.config),
            }
        }
        None if live.latest == m.config => Next::Idle,
        None if m.phase == Phase::RolledBack && failed == Some(live.latest.memory_mb) => {
            if live.updating {
                return Next::Wait {
                    reason: "an update is in progress".into(),
                    requeue: Some(SETTLE),
                };
            }
            Next::Act {
                writes: vec![update(
                    function,
                    m.config,
                    live.latest,
                    live.revision.as_deref(),
                )],
                reason: format!("finishing the rollback to {}", config_text(m.config)),
                requeue: Some(SETTLE),
                rollback: true,
            }
        }
        None => foreign("$LATEST", live.latest, m.config),
    }
}

/// A `$LATEST` change in flight.
fn latest_step(
    function: &str,
    m: &Marker,
    live: &Live,
    watch: Option<&Watch>,
    s: &Effective<'_>,
    now: SystemTime,
) -> Next {
    if live.latest == m.from && live.latest != m.config {
        // The marker was written but the change never made (a crash, a refused update).
        return Next::Idle;
    }
    if live.latest != m.config {
        return foreign("$LATEST", live.latest, m.config);
    }
    if live.updating {
        return Next::Wait {
            reason: "the change is being applied".into(),
            requeue: Some(SETTLE),
        };
    }
    let arn = &live.arn;
    if m.emergency {
        return Next::Act {
            writes: vec![tag(arn, &m.settle(now))],
            reason: format!("emergency change to {} applied", config_text(m.config)),
            requeue: None,
            rollback: false,
        };
    }
    let Some(watch) = watch else {
        return Next::Wait {
            reason: "reading the change's metrics".into(),
            requeue: Some(SETTLE),
        };
    };
    let elapsed = now.duration_since(m.at).unwrap_or_default();
    match judge(watch, Expectation::of(m), s, elapsed) {
        Verdict::Promote(why) => Next::Act {
            writes: vec![tag(arn, &m.settle(now))],
            reason: format!("{} kept: {why}", config_text(m.config)),
            requeue: None,
            rollback: false,
        },
        Verdict::RollBack(why) => Next::Act {
            writes: vec![
                tag(arn, &m.roll_back(now)),
                update(function, m.from, live.latest, live.revision.as_deref()),
            ],
            reason: format!("rolling back to {}: {why}", config_text(m.from)),
            requeue: Some(SETTLE),
            rollback: true,
        },
        Verdict::Continue(requeue) => Next::Watching {
            requeue,
            note: format!(
                "watching {} for {:.0} of {:.0} min ({:.0} invocations)",
                config_text(m.config),
                elapsed.as_secs_f64() / 60.0,
                s.global.canary_window.as_secs_f64() / 60.0,
                watch.new.invocations
            ),
        },
    }
}

/// An alias canary in flight.
fn alias_step(
    function: &str,
    m: &Marker,
    live: &Live,
    watch: Option<&Watch>,
    s: &Effective<'_>,
    now: SystemTime,
) -> Next {
    let stable = m.stable.as_deref().unwrap_or_default();
    let Some(a) = &live.alias else {
        return Next::Foreign {
            reason: "the alias the canary runs on is gone".into(),
        };
    };
    let arn = &live.arn;
    if a.primary != stable {
        // Promoted already (an emergency points the alias outright), or someone deployed.
        return match (a.primary_config, &a.routing) {
            (None, _) => Next::Wait {
                reason: format!("reading version {}", a.primary),
                requeue: None,
            },
            (Some(cfg), None) if cfg == m.config => Next::Act {
                writes: vec![tag(arn, &m.settle(now))],
                reason: format!("version {} ({}) serves everything", a.primary, config_text(cfg)),
                requeue: None,
                rollback: false,
            },
            (Some(cfg), _) => foreign(&format!("{} (version {})", a.name, a.primary), cfg, m.config),
        };
    }
    match &a.routing {
        None => {
            if live.latest == m.from && live.latest != m.config {
                return Next::Idle;
            }
            if live.latest != m.config {
                return foreign("$LATEST", live.latest, m.config);
            }
            if live.updating {
                return Next::Wait {
                    reason: "the change to $LATEST is being applied".into(),
                    requeue: Some(SETTLE),
                };
            }
            if live.code.is_some() && live.code != a.primary_code {
                return Next::Foreign {
                    reason: format!(
                        "$LATEST holds code that {} (version {stable}) does not run: a deploy is under way",
                        a.name
                    ),
                };
            }
            let weight = (!m.emergency).then_some(s.global.canary_weight);
            Next::Act {
                writes: vec![Write::PublishAndRoute {
                    function: function.to_string(),
                    alias: a.name.clone(),
                    primary: stable.to_string(),
                    weight,
                    revision_id: live.revision.clone(),
                }],
                reason: match weight {
                    Some(w) => format!(
                        "publishing {} and routing {:.0} % of {} to it",
                        config_text(m.config),
                        w * 100.0,
                        a.name
                    ),
                    None => format!(
                        "emergency: publishing {} and pointing {} at it",
                        config_text(m.config),
                        a.name
                    ),
                },
                requeue: Some(SETTLE),
                rollback: false,
            }
        }
        Some((version, _, None)) => Next::Wait {
            reason: format!("reading version {version}"),
            requeue: None,
        },
        Some((version, _, Some(cfg))) if *cfg == m.config => {
            let Some(watch) = watch else {
                return Next::Wait {
                    reason: "reading the canary's metrics".into(),
                    requeue: Some(SETTLE),
                };
            };
            let elapsed = now.duration_since(m.at).unwrap_or_default();
            match judge(watch, Expectation::of(m), s, elapsed) {
                Verdict::Promote(why) => Next::Act {
                    writes: vec![tag(arn, &m.settle(now)), route(function, &a.name, version)],
                    reason: format!("promoting version {version} ({}): {why}", config_text(m.config)),
                    requeue: None,
                    rollback: false,
                },
                Verdict::RollBack(why) => Next::Act {
                    writes: vec![
                        tag(arn, &m.roll_back(now)),
                        route(function, &a.name, stable),
                        update(function, m.from, live.latest, live.revision.as_deref()),
                    ],
                    reason: format!("rolling back the canary (version {version}): {why}"),
                    requeue: Some(SETTLE),
                    rollback: true,
                },
                Verdict::Continue(requeue) => Next::Watching {
                    requeue,
                    note: format!(
                        "canary version {version} ({}) for {:.0} of {:.0} min ({:.0} invocations)",
                        config_text(m.config),
                        elapsed.as_secs_f64() / 60.0,
                        s.global.canary_window.as_secs_f64() / 60.0,
                        watch.new.invocations
                    ),
                },
            }
        }
        Some((version, weight, Some(_))) => Next::Foreign {
            reason: format!(
                "{} routes {:.0} % to version {version}, which is not the canary trimtab published",
                a.name,
                weight * 100.0
            ),
        },
    }
}

/// The writes that begin a step from `serving` to `to`.
#[allow(clippy::too_many_arguments)]
pub fn begin(
    function: &str,
    marker: &Marker,
    live: &Live,
    serving: Config,
    to: Config,
    baseline: (f64, f64),
    expected_ms: f64,
    emergency: bool,
    now: SystemTime,
) -> Result<(Vec<Write>, Marker), String> {
    if live.updating {
        return Err("an update is in progress".into());
    }
    let mut next = marker.begin(to, serving, now);
    next.baseline_ms = Some(baseline.0);
    next.baseline_errors = Some(baseline.1);
    next.expected_ms = Some(expected_ms);
    next.emergency = emergency;
    if let Some(a) = &live.alias {
        if a.routing.is_some() {
            return Err(format!("{} already routes to two versions", a.name));
        }
        if live.latest != serving {
            return Err(format!(
                "$LATEST ({}) differs from what {} serves ({}): unpublished changes",
                config_text(live.latest),
                a.name,
                config_text(serving)
            ));
        }
        if live.code.is_some() && live.code != a.primary_code {
            return Err(format!(
                "$LATEST holds code {} (version {}) does not run: unpublished changes",
                a.name, a.primary
            ));
        }
        next.stable = Some(a.primary.clone());
    }
    let writes = vec![
        tag(&live.arn, &next),
        update(function, to, live.latest, live.revision.as_deref()),
    ];
    Ok((writes, next))
}
