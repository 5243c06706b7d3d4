//! Controllers: each one a type implementing [`Controller`], in a folder of its own, registered
//! in one list (the `registry!` below, which generates [`registry`]). A controller declares
//!
//! - its settings: its own config section (and its keys on each `[[functions]]` rule and
//!   `[[tables]]` entry), read and validated with the same `FILE:LINE:COL` diagnostics as every
//!   other key;
//! - what it needs observed ([`Controller::reads`]), which the engine merges with every other
//!   controller's needs and reads in the fewest calls;
//! - its plan ([`Controller::plan`]): a pure function of (settings, observed, its remembered
//!   state, now) returning changes with reasons, refusals with reasons, notes, and when it
//!   wants to be looked at again.
//!
//! No I/O and no clock: whatever a controller needs to know arrives in its arguments, which is
//! what makes `trimtab plan` trustworthy and controllers testable with tables of cases. What a
//! controller must remember across a restart lives in AWS (ownership markers as tags), read back
//! through the normal observation; its in-memory [`Controller::Memory`] only has to survive
//! config reloads, and is rebuilt from AWS after a restart.

#[macro_use]
mod registry_macro;
pub mod shared;

// The controllers, in planning order: adding one is its folder and one line here.
registry! {
    notifications: notifications::Notifications,
    alarms: alarms::Alarms,
    concurrency: concurrency::Concurrency,
    cold_start: coldstart::ColdStart,
    table_scaling: table_scaling::TableScaling,
    alarm_data: alarm_data::AlarmData,
    right_sizing: rightsizing::RightSizing,
    cost: cost::Cost,
    dashboard: dashboard::Dashboard,
}

#[cfg(test)]
pub(crate) mod fixtures;

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt::Debug;
use std::time::{Duration, SystemTime};

use crate::config::read::{Diags, Section, Sections};
use crate::model::{
    Desired, FunctionRule, Observed, Ownership, Plan, Reads, TableEntry, Tags, Tier,
};

use registry::{RuleSettings, TableSettings};
use shared::scope::{RuleMatch, rule_for};

/// What a controller's settings reader gets: the file's sections (a section may be shared by
/// several readers; each takes its own keys) and the diagnostics collector.
pub struct SettingsCx<'a, 'i, 't> {
    pub(crate) sections: &'a mut Sections<'i>,
    pub(crate) d: &'a mut Diags<'t>,
    /// The shared `[ownership]` settings, for names built from the prefix.
    pub ownership: &'a Ownership,
}

/// What a controller's per-resource reader gets: the `[[functions]]` rule's or `[[tables]]`
/// entry's table, the diagnostics collector, and what the framework read of the entry.
pub struct EntryCx<'a, 'i, 't> {
    pub(crate) section: &'a mut Section<'i>,
    pub(crate) d: &'a mut Diags<'t>,
    /// The rule's tier; `None` when it is written but invalid (already reported), so checks
    /// that depend on it are skipped.
    pub tier: Option<Tier>,
    /// Whether `tier` is written (otherwise it is the default).
    pub tier_written: bool,
}

/// A value one controller's plan hands to the controllers after it (the notification topic the
/// alarms point at). The dependency is explicit: the consumer names the type it needs, and the
/// registry test checks that an earlier controller publishes it.
pub trait Fact: Any + Send + Sync {}

/// The facts published so far this planning pass.
#[derive(Default)]
pub struct Facts {
    by_type: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
    /// Facts asked for before anyone published them: a registry-order bug.
    missing: std::sync::Mutex<Vec<&'static str>>,
}

impl Facts {
    pub fn publish<F: Fact>(&mut self, fact: F) {
        self.by_type.insert(TypeId::of::<F>(), Box::new(fact));
    }

    pub fn get<F: Fact>(&self) -> Option<&F> {
        let found = self
            .by_type
            .get(&TypeId::of::<F>())
            .and_then(|b| b.downcast_ref::<F>());
        if found.is_none() {
            self.missing
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(std::any::type_name::<F>());
        }
        found
    }

    /// Type names of facts asked for that nobody had published.
    pub fn missing(&self) -> Vec<&'static str> {
        self.missing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// What one controller's plan produced.
#[derive(Default)]
pub struct Planned {
    pub plan: Plan,
    /// Look at this controller again within this long, even if the interval is longer (a
    /// canary whose window ends sooner, say). `None`: the interval is fine.
    pub requeue: Option<Duration>,
    pub facts: Facts,
}

impl Planned {
    /// Asks for the next cycle within `after`; the earliest request wins.
    pub fn requeue(&mut self, after: Duration) {
        self.requeue = Some(self.requeue.map_or(after, |r| r.min(after)));
    }
}

/// One controller. Implemented by a unit type in the controller's own folder and registered
/// with one line in [`registry`].
pub trait Controller: Sized + 'static {
    /// Its name in logs, notes and `/status`.
    const NAME: &'static str;
    /// The codes of the notes it may write, so `trimtab_plan_notes` has every series from
    /// the start (a bounded label set).
    const NOTE_CODES: &'static [&'static str] = &[];
    /// Its global settings, read from its own config section.
    type Settings: Debug + Clone + Send + Sync;
    /// Its keys on a `[[functions]]` rule.
    type RuleSettings: Debug + Clone + Default + Send + Sync;
    /// Its keys on a `[[tables]]` entry.
    type TableSettings: Debug + Clone + Default + Send + Sync;
    /// What it remembers from one cycle to the next. Survives config reloads (the engine keeps
    /// it), not restarts: anything a restart must not lose is written to AWS and observed back.
    type Memory: Debug + Default + Send + Sync;

    fn settings(cx: &mut SettingsCx<'_, '_, '_>) -> Self::Settings;

    fn rule_settings(
        _cx: &mut EntryCx<'_, '_, '_>,
        _settings: &Self::Settings,
    ) -> Self::RuleSettings {
        Self::RuleSettings::default()
    }

    fn table_settings(
        _cx: &mut EntryCx<'_, '_, '_>,
        _settings: &Self::Settings,
    ) -> Self::TableSettings {
        Self::TableSettings::default()
    }

    /// What it needs read, given what is read so far this cycle. Called again after each round
    /// of reads until no controller asks for anything new. The memory is mutable only so that
    /// requests can be memoised (building thousands of metric reads every round costs CPU);
    /// what the controller remembers of the account belongs in [`Controller::plan`].
    fn reads(_cx: &Cx<'_, Self>, _memory: &mut Self::Memory, _reads: &mut Reads) {}

    /// The plan: changes with reasons, refusals, notes, and when to look again.
    fn plan(cx: &Cx<'_, Self>, memory: &mut Self::Memory, out: &mut Planned);
}

/// How the registry finds one controller's part of the generated settings structs.
pub trait Registered: Controller {
    fn of(all: &registry::Settings) -> &Self::Settings;
    fn rule_of(all: &RuleSettings) -> &Self::RuleSettings;
    fn table_of(all: &TableSettings) -> &Self::TableSettings;
}

/// What a controller sees when it reads or plans.
pub struct Cx<'a, C: Controller> {
    pub desired: &'a Desired,
    pub settings: &'a C::Settings,
    pub observed: &'a Observed,
    pub now: SystemTime,
    facts: &'a Facts,
}

impl<'a, C: Registered> Cx<'a, C> {
    pub fn new(desired: &'a Desired, observed: &'a Observed, facts: &'a Facts) -> Self {
        Self {
            desired,
            settings: C::of(&desired.controllers),
            observed,
            now: observed.at,
            facts,
        }
    }

    /// This controller's settings on a function rule.
    pub fn rule_settings(&self, rule: &'a FunctionRule) -> &'a C::RuleSettings {
        C::rule_of(&rule.settings)
    }

    /// This controller's settings on a table entry.
    pub fn table_settings(&self, entry: &'a TableEntry) -> &'a C::TableSettings {
        C::table_of(&entry.settings)
    }

    /// The rule governing a function, given its tags when known.
    pub fn rule_for(&self, name: &str, tags: Option<&Tags>) -> RuleMatch<'a> {
        rule_for(&self.desired.functions, name, tags)
    }

    /// The observed functions a rule governs (by name order), each with its rule.
    pub fn functions_in_scope(
        &self,
    ) -> impl Iterator<
        Item = (
            &'a str,
            &'a crate::model::ObservedFunction,
            &'a FunctionRule,
        ),
    > + '_ {
        self.observed
            .functions
            .iter()
            .filter_map(|(name, f)| match self.rule_for(name, f.tags()) {
                RuleMatch::Rule(r) => Some((name.as_str(), f, r)),
                _ => None,
            })
    }

    /// A fact an earlier controller published this pass.
    pub fn fact<F: Fact>(&self) -> Option<&'a F> {
        self.facts.get::<F>()
    }
}

/// The whole plan of one cycle (every controller, in registry order), with the earliest
/// requeue any controller asked for.
pub struct Outcome {
    pub plan: Plan,
    pub requeue: Option<Duration>,
    /// Facts a controller asked for that no earlier controller had published: a registry
    /// order bug, logged, and checked by the tests.
    pub missing_facts: Vec<&'static str>,
}

/// Plans every controller with fresh memory: what `trimtab plan` does, and what tests use.
pub fn plan(desired: &Desired, observed: &Observed) -> Plan {
    registry::plan(desired, observed, &mut registry::Memory::default()).plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fact_a_controller_needs_is_published_before_it_plans() {
        let out = registry::plan(
            &fixtures::desired(),
            &fixtures::observed(),
            &mut registry::Memory::default(),
        );
        assert!(out.missing_facts.is_empty(), "{:?}", out.missing_facts);
        assert!(!out.plan.changes.is_empty());
    }

    #[test]
    fn the_earliest_requeue_wins() {
        let mut p = Planned::default();
        assert_eq!(p.requeue, None);
        p.requeue(Duration::from_secs(300));
        p.requeue(Duration::from_secs(60));
        p.requeue(Duration::from_secs(120));
        assert_eq!(p.requeue, Some(Duration::from_secs(60)));
    }

    #[test]
    fn a_fact_nobody_published_is_recorded_as_missing() {
        #[derive(Debug)]
        struct Nobody;
        impl Fact for Nobody {}
        let facts = Facts::default();
        assert!(facts.get::<Nobody>().is_none());
        assert_eq!(facts.missing().len(), 1);
    }
}
