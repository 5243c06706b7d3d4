//! Function and table rules: which resources trimtab manages, how (tier), and their alarm,
//! concurrency, cold-start and scaling overrides. Function rules come out in precedence order, explicit names first and selectors
//! after them in file order, because a function takes the first rule that matches it.

use std::collections::BTreeMap;

use super::alarms::{self, override_rule};
use super::capacity;
use super::check;
use super::defaults;
use super::diag::Diags;
use super::raw::{RawFunction, RawTable, S};
use super::walk::Pairs;
use crate::model::{
    AlarmDefaults, ColdStartSettings, FunctionAlarmOverrides, FunctionMatch, FunctionRule,
    TableAlarmOverrides, TableEntry, TableScaling, Tags,
};

fn tags(d: &mut Diags<'_>, v: &Option<S<Pairs<String>>>, path: &str) -> Tags {
    let mut out = Tags::new();
    for (key, value) in v.iter().flat_map(|t| t.get_ref()) {
        if !check::is_tag_key(key.get_ref()) {
            let msg = format!(
                "`{path}`: tag key \"{}\" must be 1 to 128 characters and not start with \"aws:\"",
                key.get_ref()
            );
            d.error(&key.span(), msg);
        } else if value.get_ref().chars().count() > 256 {
            d.error(
                &value.span(),
                format!("`{path}.{}` must be at most 256 characters", key.get_ref()),
            );
        } else {
            out.insert(key.get_ref().clone(), value.get_ref().clone());
        }
    }
    out
}

/// Remembers the first line each key was seen on, to report duplicates against it.
struct Seen(BTreeMap<String, usize>);

impl Seen {
    /// The line of the first occurrence, if `key` was seen before.
    fn first(&mut self, d: &Diags<'_>, key: String, offset: usize) -> Option<usize> {
        match self.0.get(&key) {
            Some(line) => Some(*line),
            None => {
                self.0.insert(key, d.line_of(offset));
                None
            }
        }
    }
}

fn matcher(
    d: &mut Diags<'_>,
    f: &RawFunction,
    names: &mut Seen,
    selectors: &mut Seen,
) -> Option<FunctionMatch> {
    if let Some(name) = &f.name {
        for (key, span) in [
            ("name_prefix", f.name_prefix.as_ref().map(S::span)),
            ("tags", f.tags.as_ref().map(S::span)),
        ] {
            if let Some(span) = span {
                let msg = format!(
                    "`functions.{key}` cannot be combined with `name`: `name` selects exactly one function"
                );
                d.error(&span, msg);
            }
        }
        let valid = check::text(d, &f.name, check::is_function_name, |s| {
            format!(
                "`functions.name` \"{s}\" is not a Lambda function name: use 1 to 64 letters, digits, `-` or `_`"
            )
        })?;
        if let Some(line) = names.first(d, valid.clone(), name.span().start) {
            d.error(
                &name.span(),
                format!("duplicate function `{valid}`: already listed on line {line}"),
            );
            return None;
        }
        return Some(FunctionMatch::Name(valid));
    }

    let prefix = check::text(d, &f.name_prefix, check::is_function_name, |s| {
        format!(
            "`functions.name_prefix` \"{s}\" is not a function name prefix: use 1 to 64 letters, digits, `-` or `_`"
        )
    });
    let tag_set = tags(d, &f.tags, "functions.tags");
    if f.name_prefix.is_none() && tag_set.is_empty() {
        // Point at `tags = {}` if written, else at the rule's header.
        let at = f.tags.as_ref().map_or(f.offset, |t| t.span().start);
        d.error_at(
            at,
            "empty selector in [[functions]]: set `name`, or `name_prefix` and/or `tags`",
        );
        return None;
    }
    if f.name_prefix.is_some() && prefix.is_none() {
        return None;
    }
    let key = format!("{prefix:?} {tag_set:?}");
    if let Some(line) = selectors.first(d, key, f.offset) {
        let msg = format!(
            "duplicate selector: the same `name_prefix` and `tags` as the rule on line {line}, which always matches first"
        );
        d.error_at(f.offset, msg);
        return None;
    }
    Some(FunctionMatch::Selector {
        name_prefix: prefix,
        tags: tag_set,
    })
}

pub(crate) fn functions(
    d: &mut Diags<'_>,
    raw: &[RawFunction],
    globals: &AlarmDefaults,
    cold_start: &ColdStartSettings,
) -> Vec<FunctionRule> {
    let (mut names, mut selectors) = (Seen(BTreeMap::new()), Seen(BTreeMap::new()));
    let (mut by_name, mut by_selector) = (Vec::new(), Vec::new());
    for f in raw {
        let matcher = matcher(d, f, &mut names, &mut selectors);
        let overrides = FunctionAlarmOverrides {
            duration: override_rule(d, &f.duration, &alarms::DURATION, &globals.duration),
            error_rate: override_rule(d, &f.error_rate, &alarms::ERROR_RATE, &globals.error_rate),
            throttles: override_rule(d, &f.throttles, &alarms::THROTTLES, &globals.throttles),
        };
        // A wrong tier is already reported; checks that depend on the tier skip it.
        let tier = match (&f.tier, f.tier_written) {
            (Some(t), _) => Some(*t.get_ref()),
            (None, false) => Some(defaults::TIER),
            (None, true) => None,
        };
        let (reserved_concurrency, cold_start) = capacity::function(d, f, tier, cold_start);
        let Some(matcher) = matcher else { continue };
        let rule = FunctionRule {
            tier: tier.unwrap_or(defaults::TIER),
            alarms: overrides,
            matcher,
            reserved_concurrency,
            cold_start,
        };
        match rule.matcher {
            FunctionMatch::Name(_) => by_name.push(rule),
            FunctionMatch::Selector { .. } => by_selector.push(rule),
        }
    }
    by_name.extend(by_selector);
    by_name
}

pub(crate) fn tables(
    d: &mut Diags<'_>,
    raw: &[RawTable],
    globals: &AlarmDefaults,
    scaling: &TableScaling,
) -> Vec<TableEntry> {
    let mut names = Seen(BTreeMap::new());
    let mut out = Vec::new();
    for t in raw {
        let throttles = override_rule(
            d,
            &t.throttles,
            &alarms::DYNAMODB_THROTTLES,
            &globals.dynamodb_throttles,
        );
        let table_scaling = capacity::table(d, &t.scaling, scaling);
        let Some(name) = &t.name else {
            d.error_at(t.offset, "missing key `name` in [[tables]]");
            continue;
        };
        let Some(valid) = check::text(d, &t.name, check::is_table_name, |s| {
            format!(
                "`tables.name` \"{s}\" is not a DynamoDB table name: use 3 to 255 letters, digits, `_`, `-` or `.`"
            )
        }) else {
            continue;
        };
        if let Some(line) = names.first(d, valid.clone(), name.span().start) {
            d.error(
                &name.span(),
                format!("duplicate table `{valid}`: already listed on line {line}"),
            );
            continue;
        }
        out.push(TableEntry {
            name: valid,
            alarms: TableAlarmOverrides { throttles },
            scaling: table_scaling,
        });
    }
    out
}
