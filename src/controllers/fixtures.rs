//! Test fixtures: a complete `Desired` and `Observed` built by hand, so controller tests do not
//! depend on the config parser.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::controllers::alarms::{
    AlarmDefaults, AlarmRule, ApplicationAlarms, CacheHitAlarm, CustomMetricAlarm,
};
use crate::controllers::notifications;
use crate::controllers::registry;
use crate::model::*;

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";
pub const TOPIC_ARN: &str = "arn:aws:sns:us-east-1:123456789012:trimtab-alerts";

pub fn rule(threshold: f64) -> AlarmRule {
    AlarmRule {
        enabled: true,
        threshold,
        period_s: 60,
        evaluation_periods: 3,
        datapoints_to_alarm: 3,
        treat_missing_data: MissingData::NotBreaching,
    }
}

pub fn desired() -> Desired {
    Desired {
        interval: Duration::from_secs(60),
        jitter: 0.1,
        cloud: CloudSettings {
            backend: Backend::Simulated,
            region: REGION.into(),
            endpoint_url: None,
            rate_limits: BTreeMap::new(),
            simulated: SimSettings::default(),
        },
        ownership: Ownership {
            tag_key: "managed-by".into(),
            tag_value: "trimtab".into(),
            name_prefix: "trimtab-".into(),
            prune: true,
            adopt: Vec::new(),
            max_deletions: 20,
            allow_mass_deletion: false,
        },
        functions: vec![
            FunctionRule {
                matcher: FunctionMatch::Name("api".into()),
                tier: Tier::Critical,
                settings: Default::default(),
            },
            FunctionRule {
                matcher: FunctionMatch::Selector {
                    name_prefix: Some("worker-".into()),
                    tags: Tags::new(),
                },
                tier: Tier::Batch,
                settings: Default::default(),
            },
        ],
        tables: vec![TableEntry {
            name: "sessions".into(),
            settings: Default::default(),
        }],
        observe: ObserveSettings {
            metrics: false,
            metrics_window: Duration::from_secs(900),
            metrics_delay: Duration::from_secs(180),
            tag_cache_ttl: Duration::from_secs(3600),
        },
        executor: ExecutorSettings::default(),
        control_plane_budget: crate::config::defaults::CONTROL_PLANE_BUDGET,
        prices: Prices::default(),
        lease: None,
        controllers: registry::Settings {
            notifications: notifications::Settings::Managed {
                name: "alerts".into(),
                emails: vec!["ops@example.com".into()],
            },
            alarms: crate::controllers::alarms::Settings {
                defaults: AlarmDefaults {
                    duration: rule(3000.0),
                    duration_statistic: "p95".into(),
                    error_rate: rule(5.0),
                    throttles: rule(10.0),
                    dynamodb_throttles: rule(5.0),
                },
                application: ApplicationAlarms {
                    cache_hit_rate: Some(CacheHitAlarm {
                        rule: AlarmRule {
                            treat_missing_data: MissingData::NotBreaching,
                            ..rule(40.0)
                        },
                        namespace: "VoiceLearning".into(),
                        hit_metric: "CacheHits".into(),
                        miss_metric: "CacheMisses".into(),
                        dimensions: Vec::new(),
                    }),
                    cost_per_student: Some(CustomMetricAlarm {
                        rule: rule(15.0),
                        namespace: "VoiceLearning".into(),
                        metric: "CostPerStudentMonthly".into(),
                        statistic: "Maximum".into(),
                        dimensions: Vec::new(),
                    }),
                    model_mix: None,
                },
            },
            concurrency: Default::default(),
            cold_start: crate::controllers::coldstart::settings::defaults(),
            table_scaling: crate::controllers::table_scaling::defaults(),
            alarm_data: crate::controllers::alarm_data::Settings {
                enabled: true,
                recheck: crate::controllers::alarm_data::RECHECK,
            },
            right_sizing: Default::default(),
            cost: Default::default(),
            dashboard: Default::default(),
        },
    }
}

pub fn function(name: &str) -> ObservedFunction {
    ObservedFunction {
        summary: FunctionSummary {
            name: name.into(),
            arn: format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"),
            memory_mb: 1024,
            timeout_s: 30,
            architecture: Architecture::X86_64,
            runtime: Some("nodejs22.x".into()),
            last_update_status: UpdateStatus::Successful,
            revision_id: None,
            code_sha256: None,
            layers: Vec::new(),
        },
        detail: None,
    }
}

/// An account with functions `api`, `worker-a` and `other` (out of scope), table `sessions`,
/// and the managed topic with its subscription, but no alarms.
pub fn observed() -> Observed {
    let mut o = Observed::empty(
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_571_200),
        REGION,
    );
    o.account_id = Some(ACCOUNT.into());
    for name in ["api", "worker-a"] {
        o.functions.insert(name.into(), function(name));
    }
    o.tables.insert(
        "sessions".into(),
        TableInfo {
            name: "sessions".into(),
            arn: format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/sessions"),
            billing_mode: BillingMode::PayPerRequest,
            read_capacity: None,
            write_capacity: None,
            indexes: Vec::new(),
        },
    );
    o.topics.insert(
        TOPIC_ARN.into(),
        ObservedTopic {
            arn: TOPIC_ARN.into(),
            tags: Some(
                [("managed-by".to_string(), "trimtab".to_string())]
                    .into_iter()
                    .collect(),
            ),
            subscriptions: Some(vec![Subscription {
                arn: "PendingConfirmation".into(),
                protocol: "email".into(),
                endpoint: "ops@example.com".into(),
            }]),
        },
    );
    o
}

/// Records `alarms` as existing in the account exactly as specified (tags included).
pub fn with_alarms(mut o: Observed, alarms: impl IntoIterator<Item = AlarmSpec>) -> Observed {
    for spec in alarms {
        o.alarms.insert(
            spec.name.clone(),
            ObservedAlarm {
                arn: format!("arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{}", spec.name),
                spec,
                state: AlarmState::Ok,
                updated_at: None,
            },
        );
    }
    o
}

// ---- Capacity fixtures: function details, rules, tables, and a reference model of apply. ----

/// A rule naming one function.
pub fn function_rule(name: &str, tier: Tier) -> FunctionRule {
    FunctionRule {
        matcher: FunctionMatch::Name(name.into()),
        tier,
        settings: Default::default(),
    }
}

pub fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Records `name` as read with GetFunction: these tags and this reserved concurrency (the
/// function is added to the account if it is not there yet).
pub fn with_detail(
    mut o: Observed,
    name: &str,
    tag_pairs: &[(&str, &str)],
    reserved: Option<u32>,
) -> Observed {
    let f = o
        .functions
        .entry(name.to_string())
        .or_insert_with(|| function(name));
    f.detail = Some(FunctionDetail {
        summary: f.summary.clone(),
        tags: tags(tag_pairs),
        reserved_concurrency: reserved,
    });
    o
}

/// Every function of the account read with GetFunction, untagged and without reserved
/// concurrency.
pub fn with_details(mut o: Observed) -> Observed {
    let names: Vec<String> = o.functions.keys().cloned().collect();
    for name in names {
        o = with_detail(o, &name, &[], None);
    }
    o
}

/// A PROVISIONED table with these global secondary indexes.
pub fn provisioned_table(name: &str, indexes: &[&str]) -> TableInfo {
    TableInfo {
        name: name.into(),
        arn: format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"),
        billing_mode: BillingMode::Provisioned,
        read_capacity: Some(5),
        write_capacity: Some(5),
        indexes: indexes.iter().map(|i| i.to_string()).collect(),
    }
}

fn function_by_arn<'a>(o: &'a mut Observed, arn: &str) -> Option<&'a mut ObservedFunction> {
    o.functions.values_mut().find(|f| f.summary.arn == arn)
}

fn detail_mut<'a>(o: &'a mut Observed, name: &str) -> Option<&'a mut FunctionDetail> {
    o.functions.get_mut(name)?.detail.as_mut()
}

/// A reference model of `apply` for the capacity writes: the account as the next observation
/// would see it after every write of `plan` succeeded. Provisioned-concurrency configs are not
/// observed, so their writes change nothing here.
pub fn apply(observed: &Observed, plan: &Plan) -> Observed {
    let mut o = observed.clone();
    let mut changes: Vec<&Change> = plan.changes.iter().collect();
    changes.sort_by_key(|c| c.phase);
    for write in changes.iter().flat_map(|c| &c.writes) {
        match write {
            Write::TagFunction { arn, tags } => {
                if let Some(d) = function_by_arn(&mut o, arn).and_then(|f| f.detail.as_mut()) {
                    d.tags.extend(tags.clone());
                }
            }
            Write::UntagFunction { arn, keys } => {
                if let Some(d) = function_by_arn(&mut o, arn).and_then(|f| f.detail.as_mut()) {
                    d.tags.retain(|k, _| !keys.iter().any(|key| key == k));
                }
            }
            Write::PutFunctionConcurrency { function, reserved } => {
                let old = detail_mut(&mut o, function)
                    .and_then(|d| d.reserved_concurrency.replace(*reserved))
                    .unwrap_or(0);
                if let Some(a) = o.account_concurrency.as_mut() {
                    a.unreserved = a.unreserved + old - reserved;
                }
            }
            Write::DeleteFunctionConcurrency { function } => {
                let old = detail_mut(&mut o, function)
                    .and_then(|d| d.reserved_concurrency.take())
                    .unwrap_or(0);
                if let Some(a) = o.account_concurrency.as_mut() {
                    a.unreserved += old;
                }
            }
            Write::PublishAndCreateAlias { function, alias } => {
                o.aliases.entry(function.clone()).or_default().push(Alias {
                    name: alias.clone(),
                    arn: format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}:{alias}"),
                    function_version: "1".into(),
                    routing: None,
                });
            }
            Write::RegisterScalableTarget { target } => {
                o.scalable_targets.retain(|t| {
                    (&t.resource_id, t.dimension) != (&target.resource_id, target.dimension)
                });
                o.scalable_targets.push(target.clone());
            }
            Write::DeregisterScalableTarget {
                resource_id,
                dimension,
            } => {
                // Deregistering a target deletes its policies too.
                o.scalable_targets
                    .retain(|t| (&t.resource_id, t.dimension) != (resource_id, *dimension));
                o.scaling_policies.retain(|p| {
                    (&p.policy.resource_id, p.policy.dimension) != (resource_id, *dimension)
                });
            }
            Write::PutScalingPolicy { policy } => {
                let key = |p: &ScalingPolicy| (p.name.clone(), p.resource_id.clone(), p.dimension);
                o.scaling_policies.retain(|p| key(&p.policy) != key(policy));
                o.scaling_policies.push(ObservedScalingPolicy {
                    arn: format!(
                        "arn:aws:autoscaling:{REGION}:{ACCOUNT}:scalingPolicy:x:resource/{}:policyName/{}",
                        policy.resource_id, policy.name
                    ),
                    policy: policy.clone(),
                    alarm_names: vec![format!("TargetTracking-{}-AlarmHigh", policy.resource_id)],
                });
            }
            Write::DeleteScalingPolicy {
                name,
                resource_id,
                dimension,
            } => o.scaling_policies.retain(|p| {
                (&p.policy.name, &p.policy.resource_id, p.policy.dimension)
                    != (name, resource_id, *dimension)
            }),
            Write::PutRule { rule, .. } => {
                o.rules.insert(
                    rule.name.clone(),
                    ObservedRule {
                        arn: format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{}", rule.name),
                        rule: rule.clone(),
                    },
                );
            }
            Write::DeleteRule { name } => {
                o.rules.remove(name);
                o.rule_targets.remove(name);
            }
            Write::PutTargets { rule, targets } => {
                let live = o.rule_targets.entry(rule.clone()).or_default();
                for t in targets {
                    live.retain(|l| l.id != t.id);
                    live.push(t.clone());
                }
            }
            Write::RemoveTargets { rule, ids } => {
                if let Some(live) = o.rule_targets.get_mut(rule) {
                    live.retain(|t| !ids.contains(&t.id));
                }
            }
            Write::AddPermission {
                function,
                permission,
            } => o
                .permissions
                .entry(function.clone())
                .or_default()
                .push(permission.clone()),
            Write::RemovePermission {
                function,
                statement_id,
                ..
            } => {
                if let Some(p) = o.permissions.get_mut(function) {
                    p.retain(|p| &p.statement_id != statement_id);
                }
            }
            _ => {}
        }
    }
    o
}
