//! Test fixtures: a complete `Desired` and `Observed` built by hand, so controller tests do not
//! depend on the config parser.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

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
        },
        notifications: Notifications::Managed {
            name: "alerts".into(),
            emails: vec!["ops@example.com".into()],
        },
        functions: vec![
            FunctionRule {
                matcher: FunctionMatch::Name("api".into()),
                tier: Tier::Critical,
                alarms: FunctionAlarmOverrides::default(),
                reserved_concurrency: None,
                cold_start: ColdStartOverride::default(),
            },
            FunctionRule {
                matcher: FunctionMatch::Selector {
                    name_prefix: Some("worker-".into()),
                    tags: Tags::new(),
                },
                tier: Tier::Batch,
                alarms: FunctionAlarmOverrides::default(),
                reserved_concurrency: None,
                cold_start: ColdStartOverride::default(),
            },
        ],
        tables: vec![TableEntry {
            name: "sessions".into(),
            alarms: TableAlarmOverrides::default(),
            scaling: TableScalingOverride::default(),
        }],
        alarms: AlarmDefaults {
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
        },
        observe: ObserveSettings {
            metrics: false,
            metrics_window: Duration::from_secs(900),
            metrics_delay: Duration::from_secs(180),
            tag_cache_ttl: Duration::from_secs(3600),
        },
        executor: ExecutorSettings::default(),
        capacity: crate::config::defaults::capacity(),
        cold_start: crate::config::defaults::cold_start(),
        table_scaling: crate::config::defaults::table_scaling(),
        prices: Prices::default(),
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
