//! Function and table rules: which resources trimtab manages and how (tier). Each controller
//! reads its own keys of every entry (alarm overrides, reserved concurrency, cold-start and
//! scaling overrides). Function rules come out in precedence order, explicit names first and
//! selectors after them in file order, because a function takes the first rule that matches it.

use std::collections::BTreeMap;

use super::check;
use super::defaults;
use super::diag::Diags;
use super::raw::{self, RawFunction, S};
use super::walk::{Pairs, Sections};
use crate::controllers::EntryCx;
use crate::controllers::registry::{self, Settings};
use crate::model::{FunctionMatch, FunctionRule, TableEntry, Tags};

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
            out.insert(key.get_ref().into(), value.get_ref().into());
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

/// Reads every `[[functions]]` rule: the framework's keys, then each controller's.
pub(crate) fn functions(
    sections: &mut Sections<'_>,
    d: &mut Diags<'_>,
    controllers: &Settings,
) -> Vec<FunctionRule> {
    let (mut names, mut selectors) = (Seen(BTreeMap::new()), Seen(BTreeMap::new()));
    let (mut by_name, mut by_selector) = (Vec::new(), Vec::new());
    for mut s in sections.root().sections(d, "functions") {
        let f = raw::read_function(&mut s, d);
        // A wrong tier is already reported; checks that depend on the tier skip it.
        let tier = match (&f.tier, f.tier_written) {
            (Some(t), _) => Some(*t.get_ref()),
            (None, false) => Some(defaults::TIER),
            (None, true) => None,
        };
        let settings = registry::read_rule(
            &mut EntryCx {
                section: &mut s,
                d,
                tier,
                tier_written: f.tier_written,
            },
            controllers,
        );
        s.finish(d);
        let matcher = matcher(d, &f, &mut names, &mut selectors);
        let Some(matcher) = matcher else { continue };
        let rule = FunctionRule {
            tier: tier.unwrap_or(defaults::TIER),
            matcher,
            settings,
        };
        match rule.matcher {
            FunctionMatch::Name(_) => by_name.push(rule),
            FunctionMatch::Selector { .. } => by_selector.push(rule),
        }
    }
    by_name.extend(by_selector);
    by_name
}

/// Reads every `[[tables]]` entry: its name, then each controller's keys.
pub(crate) fn tables(
    sections: &mut Sections<'_>,
    d: &mut Diags<'_>,
    controllers: &Settings,
) -> Vec<TableEntry> {
    let mut names = Seen(BTreeMap::new());
    let mut out = Vec::new();
    for mut s in sections.root().sections(d, "tables") {
        let t = raw::read_table(&mut s, d);
        let settings = registry::read_table(
            &mut EntryCx {
                section: &mut s,
                d,
                tier: None,
                tier_written: false,
            },
            controllers,
        );
        s.finish(d);
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
            settings,
        });
    }
    out
}
