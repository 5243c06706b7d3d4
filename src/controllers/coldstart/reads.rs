//! What the cold-start controller needs read, as cheaply as the account's quotas allow:
//!
//! - GetFunction (its own 100 req/s quota) now for critical and standard functions, and as a
//!   re-verification for the rest (their tags would show a marker a tier change left behind);
//!   and now for any function the listings show trimtab built something for;
//! - Application Auto Scaling: every Lambda target (at most 500 in an account), to find
//!   trimtab's provisioned concurrency even for functions that left the config, and the
//!   policies on each (trimtab's policy name is how its targets are recognised);
//! - ListAliases (the shared Lambda control plane) only for critical functions whose scalable
//!   target does not exist yet: once the target exists, so does the alias;
//! - EventBridge: trimtab's warm-up rules by name prefix, and their targets;
//! - GetPolicy (15 req/s) now where a warm-up is incomplete, and as a re-verification where it
//!   is complete.

use crate::model::{Desired, Observed, Read, Reads, ScalableDimension, ScalableNamespace, Tier};

use crate::controllers::shared::names::{lambda_resource_id, parse_lambda_resource_id};
use crate::controllers::shared::scope::{RuleMatch, rule_for};

use super::Settings;
use super::names::{
    TAG_PROVISIONED, TAG_WARMUP, provisioned_policy_name, warmup_rule_name, warmup_rule_prefix,
};

pub(super) fn reads(desired: &Desired, settings: &Settings, o: &Observed, reads: &mut Reads) {
    let prefix = &desired.ownership.name_prefix;
    let prune = desired.ownership.prune;
    let lambda_targets = Read::ScalableTargets(ScalableNamespace::Lambda);
    let warmup_prefix = warmup_rule_prefix(prefix);
    let rules = Read::Rules {
        prefix: warmup_prefix.clone(),
    };
    // Each function's tier and tags, worked out once.
    let tiers: Vec<(&String, Option<Tier>, Option<&crate::model::Tags>)> = o
        .functions
        .iter()
        .map(|(name, f)| {
            let tier = match rule_for(&desired.functions, name, f.tags()) {
                RuleMatch::Rule(rule) => Some(rule.tier),
                _ => None,
            };
            (name, tier, f.tags())
        })
        .collect();

    // Once the rotation is decided, asking to verify more would only defer them.
    let verify = !o.reads.rotated("function");
    for &(name, tier, tags) in &tiers {
        if tags.is_some() {
            continue;
        }
        match tier {
            Some(Tier::Critical | Tier::Standard) => reads.now(Read::Function(name.clone())),
            _ if verify => reads.verify(Read::Function(name.clone())),
            _ => {}
        }
    }

    let marked = |tags: Option<&crate::model::Tags>, key: &str| tags.is_some_and(|t| t.contains_key(key));
    let provisioned_in_play = tiers.iter().any(|&(_, tier, tags)| {
        tier == Some(Tier::Critical) || marked(tags, TAG_PROVISIONED)
    });
    if prune || provisioned_in_play {
        reads.now(lambda_targets.clone());
    }
    let warmup_in_play = tiers
        .iter()
        .any(|&(_, tier, tags)| tier == Some(Tier::Standard) || marked(tags, TAG_WARMUP));
    if prune || warmup_in_play {
        reads.now(rules.clone());
    }

    // Policies of every Lambda target whose function is not unknown.
    let mut policies_done = o.reads.did(&lambda_targets);
    if policies_done {
        for t in o
            .scalable_targets
            .iter()
            .filter(|t| t.dimension == ScalableDimension::LambdaProvisionedConcurrency)
        {
            let Some((function, _)) = parse_lambda_resource_id(&t.resource_id) else {
                continue;
            };
            if o.unknown_functions.contains(function) {
                continue;
            }
            let read = Read::ScalingPolicies {
                namespace: ScalableNamespace::Lambda,
                resource_id: t.resource_id.clone(),
            };
            policies_done &= o.reads.did(&read);
            reads.now(read);
        }
    }

    let mut targets_done = o.reads.did(&rules);
    if targets_done {
        for rule in o.rules.keys() {
            let read = Read::RuleTargets { rule: rule.clone() };
            targets_done &= o.reads.did(&read);
            reads.now(read);
        }
    }

    // Functions whose rule asks for nothing, but for which the listings show something trimtab
    // built (moved to batch, say): read them now, so it is torn down this cycle. The policies
    // and rules are few; each names its function (a shortened warm-up rule name does not, so
    // those are matched by recomputing the names of the functions not read).
    if policies_done && o.reads.did(&rules) {
        let unread = |name: &str| {
            o.functions.get(name).is_some_and(|f| f.detail.is_none())
                && !o.unknown_functions.contains(name)
        };
        let pc_prefix = provisioned_policy_name(prefix, "");
        let mut evidence: Vec<&str> = o
            .scaling_policies
            .iter()
            .filter_map(|p| p.policy.name.strip_prefix(&pc_prefix))
            .chain(o.rules.keys().filter_map(|r| r.strip_prefix(&warmup_prefix)))
            .filter(|name| unread(name))
            .collect();
        let shortened = o
            .rules
            .keys()
            .any(|r| r.starts_with(&warmup_prefix) && r.len() == super::names::RULE_NAME_MAX);
        if shortened {
            evidence.extend(
                o.functions
                    .keys()
                    .filter(|name| unread(name))
                    .filter(|name| o.rules.contains_key(&warmup_rule_name(prefix, name)))
                    .map(String::as_str),
            );
        }
        for name in evidence {
            // Only a name the policy or rule belongs to: `pc-a-b` is `a-b`'s, not `a`'s.
            let policy = provisioned_policy_name(prefix, name);
            let built = o.scaling_policies.iter().any(|p| p.policy.name == policy)
                || o.rules.contains_key(&warmup_rule_name(prefix, name));
            if built {
                reads.now(Read::Function(name.to_string()));
            }
        }
    }

    // Aliases of critical functions whose provisioned concurrency is not in place yet.
    if o.reads.did(&lambda_targets) {
        for &(name, tier, _) in &tiers {
            if tier != Some(Tier::Critical) || o.unknown_functions.contains(name) {
                continue;
            }
            let rid = lambda_resource_id(name, &settings.alias);
            if !o.scalable_targets.iter().any(|t| t.resource_id == rid) {
                reads.now(Read::Aliases {
                    function: name.clone(),
                });
            }
        }
    }

    // Warm-up permissions: now where the warm-up is incomplete, re-verified where complete.
    if targets_done {
        for &(name, tier, tags) in &tiers {
            if tier != Some(Tier::Standard) || o.unknown_functions.contains(name) {
                continue;
            }
            let rule = warmup_rule_name(prefix, name);
            let built = tags.and_then(|t| t.value(TAG_WARMUP)) == Some(rule.as_str())
                && o.rules.contains_key(&rule)
                && o.rule_targets.get(&rule).is_some_and(|t| !t.is_empty());
            let read = Read::Policy {
                function: name.clone(),
            };
            if built {
                reads.verify(read);
            } else {
                reads.now(read);
            }
        }
    }
}
