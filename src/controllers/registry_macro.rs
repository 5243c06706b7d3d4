//! The `registry!` macro behind the one list of controllers in `controllers/mod.rs`. From
//! `field: module::Type` lines it declares each controller's module and generates the
//! `registry` module: the settings structs that hold each controller's configuration
//! (globally, per function rule, per table), the memory the engine keeps for each, and the
//! calls that read their settings, gather their reads and run their plans in list order.

macro_rules! registry {
    ($($field:ident: $module:ident :: $name:ident),+ $(,)?) => {
        $(pub mod $module;)+

        /// Generated from the list of controllers: one field per controller in every struct.
        ///
        /// Order matters once: a controller that consumes a [`Fact`](super::Fact) comes after
        /// the one that publishes it (the alarms need the notification topic). Plans are sorted
        /// afterwards, so the order changes nothing else.
        pub mod registry {
            use std::time::Duration;

            use super::{Controller, Cx, EntryCx, Facts, Outcome, Planned, Registered, SettingsCx};
            use crate::model::{Desired, Observed, Plan, Reads};

            registry!(@generate $($field: super::$module::$name),+);
        }
    };
    (@generate $($field:ident: $ty:ty),+) => {
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

        /// What every controller remembers between cycles, and the shared reads' memos.
        #[derive(Debug, Default)]
        pub struct Memory {
            $(pub $field: <$ty as Controller>::Memory,)+
            pub usage: crate::controllers::shared::usage::Memo,
        }

        /// The registered controllers' names, in order.
        pub const NAMES: &[&str] = &[$(<$ty as Controller>::NAME),+];

        /// Every (controller, note code) a plan may carry.
        pub fn note_codes() -> Vec<(&'static str, &'static str)> {
            let mut all = Vec::new();
            $(
                for code in <$ty as Controller>::NOTE_CODES {
                    all.push((<$ty as Controller>::NAME, *code));
                }
            )+
            all
        }

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
        pub fn reads(desired: &Desired, observed: &Observed, memory: &mut Memory, reads: &mut Reads) {
            let facts = Facts::default();
            $(
                <$ty as Controller>::reads(
                    &Cx::<$ty>::new(desired, observed, &facts),
                    &mut memory.$field,
                    reads,
                );
            )+
            crate::controllers::shared::usage::reads(desired, observed, &mut memory.usage, reads);
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
            let missing_facts = facts.missing();
            if !missing_facts.is_empty() {
                tracing::error!(?missing_facts, "a controller asked for a fact no earlier controller published: check the registry order");
            }
            Outcome { plan, requeue, missing_facts }
        }
    };
}
