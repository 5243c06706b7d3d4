//! Performing one round of reads: grouped by family, each family in the fewest calls, every
//! family of the round concurrently. Results come back as [`Delta`]s the observer applies.

use std::collections::{BTreeMap, BTreeSet};

use crate::cloud::{CloudResult, ErrorKind, Op};
use crate::model::{
    AccountConcurrency, Alias, FunctionDetail, MetricBatch, MetricId, Observed, ObservedAlarm,
    ObservedRule, ObservedScalingPolicy, ObservedTopic, Permission, Read, RuleTarget,
    ScalableNamespace, ScalableTarget,
};

use super::paging::{call_each, paginate, paginate_each};
use super::{ObserveError, Observer, bulk_tags};
use crate::controllers::shared::ownership::carries_marker;
use crate::engine::error_chain;
use crate::model::Desired;
use crate::model::Need;

/// DescribeScalableTargets takes at most this many resource ids.
const TARGET_IDS_PER_CALL: usize = 50;

/// What one read found, to be applied to the snapshot.
pub(super) enum Delta {
    Function(String, CloudResult<FunctionDetail>),
    /// A function whose re-verification a bulk tag read settled: no marker of trimtab's.
    Unmarked(String),
    AccountSettings(CloudResult<AccountConcurrency>),
    Alarms(BTreeMap<String, ObservedAlarm>),
    Topics(Vec<ObservedTopic>),
    Targets(Vec<ScalableTarget>),
    Policies(Vec<ObservedScalingPolicy>),
    Rules(Vec<ObservedRule>),
    RuleTargets(String, Vec<RuleTarget>),
    Aliases(String, CloudResult<Vec<Alias>>),
    ProvisionedConfigs(
        String,
        CloudResult<Vec<crate::model::ProvisionedConcurrency>>,
    ),
    TargetTags(String, CloudResult<crate::model::Tags>),
    Policy(String, CloudResult<Vec<Permission>>),
    Version(String, String, CloudResult<crate::model::FunctionSummary>),
    /// The cache's snapshot: every metric read this cycle (and possibly more, asked for
    /// earlier in the cycle).
    Metrics(std::sync::Arc<crate::model::reads::MetricMap>),
    MetricNames((String, String), BTreeSet<MetricId>),
    Dashboard(String, CloudResult<Option<String>>),
}

type Batch = Result<Vec<Delta>, ObserveError>;

/// A round's reads, by family.
#[derive(Default)]
struct Round {
    functions: Vec<String>,
    /// Functions asked for only as re-verifications.
    verify_functions: Vec<String>,
    account_settings: bool,
    alarms: Vec<String>,
    topics: Vec<String>,
    namespaces: Vec<ScalableNamespace>,
    target_ids: BTreeMap<ScalableNamespace, Vec<String>>,
    policies: Vec<(ScalableNamespace, String)>,
    rules: Vec<String>,
    rule_targets: Vec<String>,
    aliases: Vec<String>,
    provisioned: Vec<String>,
    target_tags: Vec<String>,
    permissions: Vec<String>,
    versions: Vec<(String, String)>,
    metrics: Vec<MetricBatch>,
    metric_names: Vec<(String, String)>,
    dashboards: Vec<String>,
}

impl Round {
    fn new(todo: Vec<(Read, Need)>) -> Self {
        let mut r = Round::default();
        for (read, need) in todo {
            match read {
                Read::Function(name) if need == Need::Verify => r.verify_functions.push(name),
                Read::Function(name) => r.functions.push(name),
                Read::AccountSettings => r.account_settings = true,
                Read::Alarms { prefix } => r.alarms.push(prefix),
                Read::Topic { name } => r.topics.push(name),
                Read::ScalableTargets(ns) => r.namespaces.push(ns),
                Read::ScalableTarget {
                    namespace,
                    resource_id,
                } => r.target_ids.entry(namespace).or_default().push(resource_id),
                Read::ScalingPolicies {
                    namespace,
                    resource_id,
                } => r.policies.push((namespace, resource_id)),
                Read::Rules { prefix } => r.rules.push(prefix),
                Read::RuleTargets { rule } => r.rule_targets.push(rule),
                Read::Aliases { function } => r.aliases.push(function),
                Read::ProvisionedConfigs { function } => r.provisioned.push(function),
                Read::TargetTags { arn } => r.target_tags.push(arn),
                Read::Policy { function } => r.permissions.push(function),
                Read::Version { function, version } => r.versions.push((function, version)),
                Read::Metrics(m) => r.metrics.push(m),
                Read::MetricNames { namespace, name } => r.metric_names.push((namespace, name)),
                Read::Dashboard { name } => r.dashboards.push(name),
            }
        }
        r
    }
}

fn all(results: Vec<Batch>) -> Batch {
    let mut out = Vec::new();
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

impl Observer {
    pub(super) async fn execute(
        &self,
        desired: &Desired,
        o: &Observed,
        todo: Vec<(Read, Need)>,
    ) -> Batch {
        if todo.is_empty() {
            return Ok(Vec::new());
        }
        let r = Round::new(todo);
        let (a, b, c, d, e, f, g, h, i, j, k, l, m, n, o2, p, q) = tokio::join!(
            self.read_functions(desired, o, &r.functions, &r.verify_functions),
            self.read_account(r.account_settings),
            self.read_alarms(desired, &r.alarms),
            self.read_topics(&r.topics),
            self.read_namespaces(&r.namespaces),
            self.read_target_ids(&r.target_ids),
            self.read_policies(&r.policies),
            self.read_rules(&r.rules),
            self.read_rule_targets(&r.rule_targets),
            self.read_aliases(&r.aliases),
            self.read_permissions(&r.permissions),
            self.read_metrics(desired, o, &r.metrics),
            self.read_metric_names(&r.metric_names),
            self.read_versions(&r.versions),
            self.read_dashboards(&r.dashboards),
            self.read_provisioned(&r.provisioned),
            self.read_target_tags(&r.target_tags),
        );
        all(vec![a, b, c, d, e, f, g, h, i, j, k, l, m, n, o2, p, q])
    }

    /// GetFunction for the functions needed now. Those asked for only as re-verifications
    /// (which exist to find trimtab's markers on functions nothing else reads) are first looked
    /// up in bulk: one whose tags the index returns without any marker is settled; one it does
    /// not return has never been tagged, or was tagged within the index's lag, which a verify
    /// read tolerates (the next rotation reads it again); the rest are read with GetFunction.
    async fn read_functions(
        &self,
        desired: &Desired,
        o: &Observed,
        now: &[String],
        verify: &[String],
    ) -> Batch {
        let mut names = now.to_vec();
        let mut out = Vec::new();
        if verify.len() >= bulk_tags::WORTH_IT {
            let arns: Vec<(&String, Option<&str>)> = verify
                .iter()
                .map(|n| (n, o.functions.get(n).map(|f| f.summary.arn.as_str())))
                .collect();
            let bulk = self
                .bulk_tags(
                    arns.iter()
                        .filter_map(|(_, arn)| arn.map(str::to_string))
                        .collect(),
                )
                .await;
            for (name, arn) in arns {
                let settled = arn.is_some_and(|arn| {
                    bulk.answered(arn)
                        && !bulk
                            .found
                            .get(arn)
                            .is_some_and(|tags| carries_marker(&desired.ownership, tags))
                });
                if settled {
                    out.push(Delta::Unmarked(name.clone()));
                } else {
                    names.push(name.clone());
                }
            }
        } else {
            names.extend(verify.iter().cloned());
        }
        let lambda = &self.cloud.lambda;
        let results = call_each(&self.gov, Op::GetFunction, names, |name| {
            let lambda = lambda.clone();
            async move { lambda.get_function(&name).await }
        })
        .await;
        out.extend(
            results
                .into_iter()
                .map(|(name, r)| Delta::Function(name, r)),
        );
        Ok(out)
    }

    async fn read_account(&self, wanted: bool) -> Batch {
        if !wanted {
            return Ok(Vec::new());
        }
        let lambda = &self.cloud.lambda;
        let r = self
            .gov
            .call(Op::GetAccountSettings, || lambda.get_account_settings())
            .await;
        Ok(vec![Delta::AccountSettings(r)])
    }

    async fn read_alarms(&self, desired: &Desired, prefixes: &[String]) -> Batch {
        let mut out = Vec::new();
        for prefix in prefixes {
            match self.alarms(desired, prefix).await {
                Ok(alarms) => out.push(Delta::Alarms(alarms)),
                Err(e) => {
                    self.tags.unmark();
                    return Err(e);
                }
            }
        }
        // Once every prefix is listed: a sweep after each would forget the others' alarms.
        if !prefixes.is_empty() {
            self.tags.sweep();
        }
        Ok(out)
    }

    /// ListTopics, keeping the topics of these names, each with its tags (unknown when they
    /// cannot be read, which reads as "not owned") and subscriptions.
    async fn read_topics(&self, names: &[String]) -> Batch {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let sns = self.cloud.sns.clone();
        let arns = paginate(&self.gov, Op::ListTopics, |next| {
            let sns = sns.clone();
            async move { sns.list_topics(next.as_deref()).await }
        })
        .await
        .map_err(ObserveError::ListTopics)?;
        let mut topics = Vec::new();
        for arn in arns.into_iter().filter(|a| {
            names
                .iter()
                .any(|n| a.rsplit(':').next() == Some(n.as_str()))
        }) {
            let tags = self
                .gov
                .call(Op::SnsListTagsForResource, || sns.list_tags_for_resource(&arn))
                .await
                .map_err(|e| tracing::warn!(topic = %arn, error = %error_chain(&e), "cannot read topic tags"))
                .ok();
            let subscriptions = paginate(&self.gov, Op::ListSubscriptionsByTopic, |next| {
                let (sns, arn) = (sns.clone(), arn.clone());
                async move { sns.list_subscriptions_by_topic(&arn, next.as_deref()).await }
            })
            .await
            .map_err(|source| ObserveError::ListSubscriptions {
                arn: arn.clone(),
                source,
            })?;
            topics.push(ObservedTopic {
                arn,
                tags,
                subscriptions: Some(subscriptions),
            });
        }
        Ok(vec![Delta::Topics(topics)])
    }

    async fn read_namespaces(&self, namespaces: &[ScalableNamespace]) -> Batch {
        let mut out = Vec::new();
        for &ns in namespaces {
            let aas = self.cloud.autoscaling.clone();
            let targets = paginate(&self.gov, Op::DescribeScalableTargets, |next| {
                let aas = aas.clone();
                async move {
                    aas.describe_scalable_targets(ns, &[], next.as_deref())
                        .await
                }
            })
            .await
            .map_err(ObserveError::ScalableTargets)?;
            out.push(Delta::Targets(targets));
        }
        Ok(out)
    }

    async fn read_target_ids(&self, ids: &BTreeMap<ScalableNamespace, Vec<String>>) -> Batch {
        let mut out = Vec::new();
        for (&ns, ids) in ids {
            for chunk in ids.chunks(TARGET_IDS_PER_CALL) {
                let aas = self.cloud.autoscaling.clone();
                let targets = paginate(&self.gov, Op::DescribeScalableTargets, |next| {
                    let (aas, chunk) = (aas.clone(), chunk.to_vec());
                    async move {
                        aas.describe_scalable_targets(ns, &chunk, next.as_deref())
                            .await
                    }
                })
                .await
                .map_err(ObserveError::ScalableTargets)?;
                out.push(Delta::Targets(targets));
            }
        }
        Ok(out)
    }

    async fn read_policies(&self, keys: &[(ScalableNamespace, String)]) -> Batch {
        let aas = &self.cloud.autoscaling;
        let pages = paginate_each(
            &self.gov,
            Op::DescribeScalingPolicies,
            keys.iter().cloned(),
            |(ns, id), next| {
                let aas = aas.clone();
                async move {
                    aas.describe_scaling_policies(ns, Some(&id), next.as_deref())
                        .await
                }
            },
        )
        .await;
        let mut policies = Vec::new();
        for (_, page) in pages {
            policies.extend(page.map_err(ObserveError::ScalingPolicies)?);
        }
        Ok(vec![Delta::Policies(policies)])
    }

    async fn read_rules(&self, prefixes: &[String]) -> Batch {
        let mut out = Vec::new();
        for prefix in prefixes {
            let events = self.cloud.events.clone();
            let rules = paginate(&self.gov, Op::ListRules, |next| {
                let (events, prefix) = (events.clone(), prefix.clone());
                async move { events.list_rules(Some(&prefix), next.as_deref()).await }
            })
            .await
            .map_err(|source| ObserveError::ListRules {
                prefix: prefix.clone(),
                source,
            })?;
            out.push(Delta::Rules(rules));
        }
        Ok(out)
    }

    async fn read_rule_targets(&self, rules: &[String]) -> Batch {
        let events = &self.cloud.events;
        let results = paginate_each(
            &self.gov,
            Op::ListTargetsByRule,
            rules.iter().cloned(),
            |name, next| {
                let events = events.clone();
                async move { events.list_targets_by_rule(&name, next.as_deref()).await }
            },
        )
        .await;
        let mut out = Vec::new();
        for (rule, result) in results {
            match result {
                Ok(targets) => out.push(Delta::RuleTargets(rule, targets)),
                // Deleted between the listing and now: it is gone.
                Err(e) if e.kind == ErrorKind::NotFound => {}
                Err(source) => return Err(ObserveError::ListTargets { rule, source }),
            }
        }
        Ok(out)
    }

    async fn read_aliases(&self, functions: &[String]) -> Batch {
        let lambda = &self.cloud.lambda;
        let results = paginate_each(
            &self.gov,
            Op::ListAliases,
            functions.iter().cloned(),
            |name, next| {
                let lambda = lambda.clone();
                async move { lambda.list_aliases(&name, next.as_deref()).await }
            },
        )
        .await;
        Ok(results
            .into_iter()
            .map(|(name, r)| Delta::Aliases(name, r))
            .collect())
    }

    async fn read_target_tags(&self, arns: &[String]) -> Batch {
        let aas = &self.cloud.autoscaling;
        let results = call_each(
            &self.gov,
            Op::AasListTagsForResource,
            arns.iter().cloned(),
            |arn| {
                let aas = aas.clone();
                async move { aas.list_tags_for_resource(&arn).await }
            },
        )
        .await;
        Ok(results
            .into_iter()
            .map(|(arn, r)| Delta::TargetTags(arn, r))
            .collect())
    }

    async fn read_provisioned(&self, functions: &[String]) -> Batch {
        let lambda = &self.cloud.lambda;
        let results = paginate_each(
            &self.gov,
            Op::ListProvisionedConcurrencyConfigs,
            functions.iter().cloned(),
            |name, next| {
                let lambda = lambda.clone();
                async move {
                    lambda
                        .list_provisioned_concurrency_configs(&name, next.as_deref())
                        .await
                }
            },
        )
        .await;
        Ok(results
            .into_iter()
            .map(|(name, r)| Delta::ProvisionedConfigs(name, r))
            .collect())
    }

    async fn read_permissions(&self, functions: &[String]) -> Batch {
        let lambda = &self.cloud.lambda;
        let results = call_each(
            &self.gov,
            Op::GetPolicy,
            functions.iter().cloned(),
            |name| {
                let lambda = lambda.clone();
                async move { lambda.get_policy(&name, None).await }
            },
        )
        .await;
        Ok(results
            .into_iter()
            .map(|(name, r)| Delta::Policy(name, r))
            .collect())
    }

    async fn read_versions(&self, keys: &[(String, String)]) -> Batch {
        let lambda = &self.cloud.lambda;
        let results = call_each(
            &self.gov,
            Op::GetFunctionConfiguration,
            keys.iter().cloned(),
            |(function, version)| {
                let lambda = lambda.clone();
                async move { lambda.get_function_configuration(&function, &version).await }
            },
        )
        .await;
        Ok(results
            .into_iter()
            .map(|((function, version), r)| Delta::Version(function, version, r))
            .collect())
    }

    async fn read_dashboards(&self, names: &[String]) -> Batch {
        let cw = &self.cloud.cloudwatch;
        let results = call_each(&self.gov, Op::GetDashboard, names.iter().cloned(), |name| {
            let cw = cw.clone();
            async move { cw.get_dashboard(&name).await }
        })
        .await;
        Ok(results
            .into_iter()
            .map(|(name, r)| Delta::Dashboard(name, r))
            .collect())
    }

    async fn read_metric_names(&self, keys: &[(String, String)]) -> Batch {
        let mut out = Vec::new();
        for (namespace, name) in keys {
            let cw = self.cloud.cloudwatch.clone();
            let ids = paginate(&self.gov, Op::ListMetrics, |next| {
                let (cw, namespace, name) = (cw.clone(), namespace.clone(), name.clone());
                async move { cw.list_metrics(&namespace, &name, next.as_deref()).await }
            })
            .await
            .map_err(|source| ObserveError::ListMetrics {
                metric: format!("{namespace}/{name}"),
                source,
            })?;
            out.push(Delta::MetricNames(
                (namespace.clone(), name.clone()),
                ids.into_iter().collect(),
            ));
        }
        Ok(out)
    }
}
