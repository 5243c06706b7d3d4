//! The one list of controllers. Adding a controller is one line here plus its folder: the macro
//! generates the settings structs that hold each controller's configuration (globally, per
//! function rule, per table), the memory the engine keeps for each, and the calls that read
//! their settings, gather their reads and run their plans in this order.
//!
//! Order matters once: a controller that consumes a [`super::Fact`] comes after the one that
//! publishes it (the alarms need the notification topic). Plans are sorted afterwards, so the
//! order changes nothing else.

use std::time::Duration;

use super::{Controller, Cx, EntryCx, Facts, Outcome, Planned, Registered, SettingsCx};
use crate::model::{Desired, Observed, Plan, Reads};

macro_rules! registry {
    ($($field:ident: $ty:ty),+ $(,)?) => {
        /// Every controller's global settings.
        #[derive(Debug, Clone)]
        pub struct Settings {
            $(pub $field: <$ty as Controller>::Settings,)+
        }

        /// Every controller's keys on one `[[functions]]` rule.
        #[derive(Debug, Clone, Default)]
        pub struct RuleSettings {
            $(pub $field: <$ty as Controller>::RuleSettings,)+
        }

        /// Every controller's keys on one `[[tables]]` entry.
        #[derive(Debug, Clone, Default)]
        pub struct TableSettings {
            $(pub $field: <$ty as Controller>::TableSettings,)+
        }

        /// What every controller remembers between cycles.
        #[derive(Debug, Default)]
        pub struct Memory {
            $(pub $field: <$ty as Controller>::Memory,)+
        }

        /// The registered controllers' names, in order.
        pub const NAMES: &[&str] = &[$(<$ty as Controller>::NAME),+];

        $(
            impl Registered for $ty {
                fn of(all: &Settings) -> &Self::Settings {
                    &all.$field
                }
                fn rule_of(all: &RuleSettings) -> &Self::RuleSettings {
                    &all.$field
                }
                fn table_of(all: &TableSettings) -> &Self::TableSettings {
                    &all.$field
                }
            }
        )+

        /// Reads every controller's settings, in registry order (struct fields are evaluated
        /// in the order written).
        pub(crate) fn read_settings(cx: &mut SettingsCx<'_, '_, '_>) -> Settings {
            Settings {
                $($field: <$ty as Controller>::settings(cx),)+
            }
        }

        /// Reads every controller's keys on one function rule.
        pub(crate) fn read_rule(cx: &mut EntryCx<'_, '_, '_>, s: &Settings) -> RuleSettings {
            RuleSettings {
                $($field: <$ty as Controller>::rule_settings(cx, &s.$field),)+
            }
        }

        /// Reads every controller's keys on one table entry.
        pub(crate) fn read_table(cx: &mut EntryCx<'_, '_, '_>, s: &Settings) -> TableSettings {
            TableSettings {
                $($field: <$ty as Controller>::table_settings(cx, &s.$field),)+
            }
        }

        /// Every controller's reads, given what has been read so far.
        pub fn reads(desired: &Desired, observed: &Observed, memory: &Memory, reads: &mut Reads) {
            let facts = Facts::default();
            $(
                <$ty as Controller>::reads(
                    &Cx::<$ty>::new(desired, observed, &facts),
                    &memory.$field,
                    reads,
                );
            )+
            super::shared::usage::reads(desired, observed, reads);
        }

        /// Every controller's plan, in registry order; facts flow forward.
        pub fn plan(desired: &Desired, observed: &Observed, memory: &mut Memory) -> Outcome {
            let mut facts = Facts::default();
            let mut plan = Plan::default();
            let mut requeue: Option<Duration> = None;
            $(
                {
                    let mut out = Planned::default();
                    <$ty as Controller>::plan(
                        &Cx::<$ty>::new(desired, observed, &facts),
                        &mut memory.$field,
                        &mut out,
                    );
                    plan.extend(out.plan);
                    requeue = match (requeue, out.requeue) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    facts.by_type.extend(out.facts.by_type);
                }
            )+
            plan.sort();
            let missing = facts.missing();
            if !missing.is_empty() {
                tracing::error!(?missing, "a controller asked for a fact no earlier controller published: check the registry order");
            }
            Outcome { plan, requeue }
        }
    };
}

registry! {
    notifications: super::notifications::Notifications,
    alarms: super::alarms::Alarms,
    concurrency: super::concurrency::Concurrency,
    cold_start: super::coldstart::ColdStart,
    table_scaling: super::table_scaling::TableScaling,

}
