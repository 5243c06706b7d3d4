//! Observe, capacity side: what the reserved-concurrency, cold-start and table-scaling
//! controllers need, read as cheaply as the account's quotas allow.
//!
//! - GetFunction (its own 100 req/s quota) for every in-scope function: tags (trimtab's
//!   ownership markers live there) and reserved concurrency, which ListFunctions lacks.
//! - GetAccountSettings once, only when reserved concurrency is in play.
//! - Application Auto Scaling: Lambda targets listed per namespace (to find trimtab's targets
//!   for functions that left the config), DynamoDB targets by resource id; policies read per
//!   resource only for targets that matter.
//! - ListAliases (the shared Lambda control plane) only for critical functions whose provisioned
//!   concurrency is not yet in place; once the scalable target exists, the alias does too.
//! - EventBridge: trimtab's warm-up rules by name prefix, and their targets.
//! - GetPolicy (15 req/s) only where a warm-up is incomplete, plus a small rotating share of the
//!   complete ones each cycle, so every permission is re-verified about once per
//!   `observe.tag_cache_ttl` without a burst.
//!
//! A failed listing fails the observation (pruning from a partial view is unsafe); a failed
//! per-function read marks that function unknown, which the controllers leave alone.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;

use crate::cloud::{CloudError, ErrorKind, Op};
use crate::controllers::names::{
    TAG_PROVISIONED, TAG_RESERVED, TAG_WARMUP, lambda_resource_id, parse_lambda_resource_id,
    provisioned_policy_name, table_resource_id, warmup_rule_name, warmup_rule_prefix,
};
use crate::controllers::scope::{RuleMatch, rule_for};
use crate::model::{
    BillingMode, Desired, Observed, ObservedScalingPolicy, ScalableNamespace, Tier,
};

use super::error_chain;
use super::observe::{ObserveError, Observer, call_each, paginate, paginate_each};

/// DescribeScalableTargets takes at most this many resource ids.
const TARGET_IDS_PER_CALL: usize = 50;

fn tier_of(desired: &Desired, observed: &Observed, name: &str) -> Option<Tier> {
    let tags = observed.functions.get(name).and_then(|f| f.tags());
    match rule_for(&desired.functions, name, tags) {
        RuleMatch::Rule(rule) => Some(rule.tier),
        _ => None,
    }
}

fn marker<'a>(observed: &'a Observed, function: &str, key: &str) -> Option<&'a String> {
    observed.functions.get(function)?.tags()?.get(key)
}

impl Observer {
    pub(super) async fn capacity(
        &self,
        desired: &Desired,
        observed: &mut Observed,
    ) -> Result<(), ObserveError> {
        let wanted = self.wanted_details(desired, observed);
        self.function_details(observed, wanted).await;
        self.account_settings(desired, observed).await?;
        self.lambda_scaling(desired, observed).await?;
        self.warmup_rules(desired, observed).await?;
        // Functions whose rule asks for nothing, but for which the listings show something
        // trimtab built (moved to batch, say): read them now, so it is torn down this cycle.
        let evidence = self.evidence_of_trimtab(desired, observed);
        self.function_details(observed, evidence).await;
        self.table_scaling(observed).await?;
        self.aliases(desired, observed).await;
        self.permissions(desired, observed).await;
        Ok(())
    }

    /// In-scope functions to read with GetFunction before the listings: those whose rule needs
    /// their state (critical, standard, reserved concurrency), plus a rotating share of the rest
    /// so each is re-read about once per `observe.tag_cache_ttl` (that is how a marker left by a
    /// setting the config no longer asks for is found). Batch functions with nothing to manage
    /// cost no call in most cycles.
    fn wanted_details(&self, desired: &Desired, observed: &Observed) -> Vec<String> {
        let mut wanted = Vec::new();
        let mut rest = Vec::new();
        for (name, f) in &observed.functions {
            if f.detail.is_some() {
                continue;
            }
            let needs = match rule_for(&desired.functions, name, None) {
                RuleMatch::Rule(rule) => {
                    rule.tier != Tier::Batch || rule.reserved_concurrency.is_some()
                }
                _ => false,
            };
            if needs {
                wanted.push(name.clone())
            } else {
                rest.push(name.clone())
            }
        }
        let ttl = desired.observe.tag_cache_ttl.as_secs_f64().max(1.0);
        let share = ((rest.len() as f64 * desired.interval.as_secs_f64() / ttl).ceil() as usize)
            .min(rest.len());
        if share > 0 {
            let start = self.detail_cursor.fetch_add(share, Ordering::Relaxed) % rest.len();
            wanted.extend(rest.iter().cycle().skip(start).take(share).cloned());
        }
        wanted
    }

    /// In-scope functions not read yet that carry trimtab's provisioned-concurrency policy or
    /// warm-up rule.
    fn evidence_of_trimtab(&self, desired: &Desired, observed: &Observed) -> Vec<String> {
        let prefix = &desired.ownership.name_prefix;
        observed
            .functions
            .iter()
            .filter(|(_, f)| f.detail.is_none())
            .map(|(name, _)| name)
            .filter(|name| {
                let policy = provisioned_policy_name(prefix, name);
                observed
                    .scaling_policies
                    .iter()
                    .any(|p| p.policy.name == policy)
                    || observed.rules.contains_key(&warmup_rule_name(prefix, name))
            })
            .cloned()
            .collect()
    }

    async fn function_details(&self, observed: &mut Observed, missing: Vec<String>) {
        let lambda = &self.cloud.lambda;
        let results = call_each(&self.gov, Op::GetFunction, missing, |name| {
            let lambda = lambda.clone();
            async move { lambda.get_function(&name).await }
        })
        .await;
        for (name, result) in results {
            match result {
                Ok(detail) => {
                    if let Some(f) = observed.functions.get_mut(&name) {
                        f.summary = detail.summary.clone();
                        f.detail = Some(detail);
                    }
                }
                Err(e) if e.kind == ErrorKind::NotFound => {
                    observed.functions.remove(&name);
                }
                Err(e) => self.unknown(observed, &name, "GetFunction", &e),
            }
        }
    }

    fn unknown(&self, observed: &mut Observed, function: &str, what: &str, e: &CloudError) {
        tracing::warn!(function, read = what, error = %error_chain(e), "cannot read function state; leaving its capacity alone this cycle");
        observed.unknown_functions.insert(function.to_string());
    }

    /// When it cannot be read, the budget guard refuses every increase (it cannot prove them
    /// safe) while everything else proceeds: one unreadable setting must not block the cycle.
    async fn account_settings(
        &self,
        desired: &Desired,
        observed: &mut Observed,
    ) -> Result<(), ObserveError> {
        let wanted = desired
            .functions
            .iter()
            .any(|r| r.reserved_concurrency.is_some())
            || observed
                .functions
                .values()
                .any(|f| f.tags().is_some_and(|t| t.contains_key(TAG_RESERVED)));
        if wanted {
            let lambda = &self.cloud.lambda;
            match self
                .gov
                .call(Op::GetAccountSettings, || lambda.get_account_settings())
                .await
            {
                Ok(settings) => observed.account_concurrency = Some(settings),
                Err(e) => {
                    tracing::warn!(error = %error_chain(&e), "cannot read the account's concurrency settings; reserved concurrency increases are refused this cycle");
                }
            }
        }
        Ok(())
    }

    async fn policies_for(
        &self,
        namespace: ScalableNamespace,
        resource_ids: &BTreeSet<String>,
    ) -> Result<Vec<ObservedScalingPolicy>, ObserveError> {
        let aas = &self.cloud.autoscaling;
        let pages = paginate_each(
            &self.gov,
            Op::DescribeScalingPolicies,
            resource_ids.iter().cloned(),
            |id, next| {
                let aas = aas.clone();
                async move {
                    aas.describe_scaling_policies(namespace, Some(&id), next.as_deref())
                        .await
                }
            },
        )
        .await;
        let mut out = Vec::new();
        for (_, page) in pages {
            out.extend(page.map_err(ObserveError::ScalingPolicies)?);
        }
        Ok(out)
    }

    async fn lambda_scaling(
        &self,
        desired: &Desired,
        observed: &mut Observed,
    ) -> Result<(), ObserveError> {
        let alias = &desired.cold_start.alias;
        let relevant: BTreeSet<String> = observed
            .functions
            .keys()
            .filter_map(|name| {
                if let Some(marked) = marker(observed, name, TAG_PROVISIONED) {
                    return Some(lambda_resource_id(name, marked));
                }
                (tier_of(desired, observed, name) == Some(Tier::Critical))
                    .then(|| lambda_resource_id(name, alias))
            })
            .collect();
        if relevant.is_empty() && !desired.ownership.prune {
            return Ok(());
        }
        let aas = self.cloud.autoscaling.clone();
        let targets = paginate(&self.gov, Op::DescribeScalableTargets, |next| {
            let aas = aas.clone();
            async move {
                aas.describe_scalable_targets(ScalableNamespace::Lambda, &[], next.as_deref())
                    .await
            }
        })
        .await
        .map_err(ObserveError::ScalableTargets)?;
        // Policies of every Lambda target (AAS allows at most 500): trimtab's policy name on a
        // target is how its own provisioned concurrency is recognised, for functions in scope
        // (whatever their tier now) and for functions that left the config.
        let ids: BTreeSet<String> = targets
            .iter()
            .filter(|t| {
                parse_lambda_resource_id(&t.resource_id)
                    .is_some_and(|(function, _)| !observed.unknown_functions.contains(function))
            })
            .map(|t| t.resource_id.clone())
            .collect();
        let policies = self.policies_for(ScalableNamespace::Lambda, &ids).await?;
        observed.scalable_targets.extend(targets);
        observed.scaling_policies.extend(policies);
        Ok(())
    }

    async fn table_scaling(&self, observed: &mut Observed) -> Result<(), ObserveError> {
        let ids: Vec<String> = observed
            .tables
            .values()
            .filter(|t| t.billing_mode == BillingMode::Provisioned)
            .flat_map(|t| {
                std::iter::once(table_resource_id(&t.name, None)).chain(
                    t.indexes
                        .iter()
                        .map(|i| table_resource_id(&t.name, Some(i))),
                )
            })
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let aas = self.cloud.autoscaling.clone();
        for chunk in ids.chunks(TARGET_IDS_PER_CALL) {
            let targets = paginate(&self.gov, Op::DescribeScalableTargets, |next| {
                let (aas, chunk) = (aas.clone(), chunk.to_vec());
                async move {
                    aas.describe_scalable_targets(
                        ScalableNamespace::DynamoDb,
                        &chunk,
                        next.as_deref(),
                    )
                    .await
                }
            })
            .await
            .map_err(ObserveError::ScalableTargets)?;
            observed.scalable_targets.extend(targets);
        }
        let with_targets: BTreeSet<String> = observed
            .scalable_targets
            .iter()
            .filter(|t| t.dimension.namespace() == ScalableNamespace::DynamoDb)
            .map(|t| t.resource_id.clone())
            .collect();
        let policies = self
            .policies_for(ScalableNamespace::DynamoDb, &with_targets)
            .await?;
        observed.scaling_policies.extend(policies);
        Ok(())
    }

    async fn aliases(&self, desired: &Desired, observed: &mut Observed) {
        let alias = &desired.cold_start.alias;
        let has_target: BTreeSet<&str> = observed
            .scalable_targets
            .iter()
            .map(|t| t.resource_id.as_str())
            .collect();
        let needed: Vec<String> = observed
            .functions
            .keys()
            .filter(|name| !observed.unknown_functions.contains(*name))
            .filter(|name| tier_of(desired, observed, name) == Some(Tier::Critical))
            .filter(|name| !has_target.contains(lambda_resource_id(name, alias).as_str()))
            .cloned()
            .collect();
        let lambda = &self.cloud.lambda;
        let results = paginate_each(&self.gov, Op::ListAliases, needed, |name, next| {
            let lambda = lambda.clone();
            async move { lambda.list_aliases(&name, next.as_deref()).await }
        })
        .await;
        for (name, result) in results {
            match result {
                Ok(aliases) => {
                    observed.aliases.insert(name, aliases);
                }
                Err(e) => self.unknown(observed, &name, "ListAliases", &e),
            }
        }
    }

    async fn warmup_rules(
        &self,
        desired: &Desired,
        observed: &mut Observed,
    ) -> Result<(), ObserveError> {
        let any = observed.functions.keys().any(|name| {
            tier_of(desired, observed, name) == Some(Tier::Standard)
                || marker(observed, name, TAG_WARMUP).is_some()
        });
        if !any && !desired.ownership.prune {
            return Ok(());
        }
        let prefix = warmup_rule_prefix(&desired.ownership.name_prefix);
        let events = self.cloud.events.clone();
        let rules = paginate(&self.gov, Op::ListRules, |next| {
            let (events, prefix) = (events.clone(), prefix.clone());
            async move { events.list_rules(Some(&prefix), next.as_deref()).await }
        })
        .await
        .map_err(ObserveError::ListRules)?;
        let names = rules.iter().map(|r| r.rule.name.clone());
        let targets = paginate_each(&self.gov, Op::ListTargetsByRule, names, |name, next| {
            let events = events.clone();
            async move { events.list_targets_by_rule(&name, next.as_deref()).await }
        })
        .await;
        for (name, result) in targets {
            match result {
                Ok(t) => {
                    observed.rule_targets.insert(name, t);
                }
                // Deleted between the listing and now: it is gone.
                Err(e) if e.kind == ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(ObserveError::ListTargets {
                        rule: name,
                        source: e,
                    });
                }
            }
        }
        observed.rules = rules
            .into_iter()
            .map(|r| (r.rule.name.clone(), r))
            .collect();
        Ok(())
    }

    async fn permissions(&self, desired: &Desired, observed: &mut Observed) {
        let prefix = &desired.ownership.name_prefix;
        let mut incomplete = Vec::new();
        let mut complete = Vec::new();
        for name in observed.functions.keys() {
            if observed.unknown_functions.contains(name)
                || tier_of(desired, observed, name) != Some(Tier::Standard)
            {
                continue;
            }
            let rule = warmup_rule_name(prefix, name);
            let built = marker(observed, name, TAG_WARMUP) == Some(&rule)
                && observed.rules.contains_key(&rule)
                && observed
                    .rule_targets
                    .get(&rule)
                    .is_some_and(|t| !t.is_empty());
            if built {
                complete.push(name.clone())
            } else {
                incomplete.push(name.clone())
            }
        }
        // Re-verify a rotating share of the complete ones: all of them once per TTL.
        let ttl = desired.observe.tag_cache_ttl.as_secs_f64().max(1.0);
        let share = ((complete.len() as f64 * desired.interval.as_secs_f64() / ttl).ceil()
            as usize)
            .min(complete.len());
        if share > 0 {
            let start = self.permission_cursor.fetch_add(share, Ordering::Relaxed) % complete.len();
            incomplete.extend(complete.iter().cycle().skip(start).take(share).cloned());
        }
        let lambda = &self.cloud.lambda;
        let results = call_each(&self.gov, Op::GetPolicy, incomplete, |name| {
            let lambda = lambda.clone();
            async move { lambda.get_policy(&name, None).await }
        })
        .await;
        let mut permissions = BTreeMap::new();
        for (name, result) in results {
            match result {
                Ok(p) => {
                    permissions.insert(name, p);
                }
                Err(e) => self.unknown(observed, &name, "GetPolicy", &e),
            }
        }
        observed.permissions = permissions;
    }
}
