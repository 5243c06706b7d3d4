//! The AWS adapters through the real SDK, over real HTTP, against moto (CloudWatch through the
//! CBOR bridge). Each test runs its own server, so tests are independent and run in parallel.
//! State is checked twice where it matters: through trimtab's ports, and independently with
//! boto3.
//!
//! Not covered here, because moto cannot (see docs/TESTING.md): provisioned concurrency,
//! Lambda's 409 "update in progress", ListFunctions paging, percentile values and metric math
//! in GetMetricData. Those are covered by the aws-smithy-mocks tests in `src/cloud/aws/` and by
//! the simulated account.
//!
//! Run: `scripts/setup-test-env && cargo test --test aws_moto`.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use serde_json::json;
use support::moto::{ACCOUNT, MotoServer, REGION};
use trimtab::cloud::{CloudWatchApi, ErrorKind};
use trimtab::model::*;

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn lambda_metric(name: &str, function: &str) -> MetricId {
    MetricId::new(
        "AWS/Lambda",
        name,
        vec![Dimension::new("FunctionName", function)],
    )
}

fn alarm(name: &str, metric: AlarmMetric) -> AlarmSpec {
    AlarmSpec {
        name: name.to_owned(),
        description: format!("{name}, by trimtab"),
        metric,
        comparison: Comparison::GreaterThanThreshold,
        threshold: 800.0,
        evaluation_periods: 5,
        datapoints_to_alarm: 3,
        treat_missing_data: MissingData::NotBreaching,
        actions_enabled: true,
        alarm_actions: vec![format!("arn:aws:sns:{REGION}:{ACCOUNT}:trimtab-alerts")],
        ok_actions: vec![],
        insufficient_data_actions: vec![],
        tags: tags(&[("managed-by", "trimtab")]),
    }
}

/// Reads every page of alarms with `prefix`.
async fn all_alarms(cw: &dyn CloudWatchApi, prefix: &str) -> (Vec<ObservedAlarm>, usize) {
    let mut alarms = Vec::new();
    let mut next = None;
    let mut pages = 0;
    loop {
        let page = cw
            .describe_alarms(Some(prefix), next.as_deref())
            .await
            .expect("describe_alarms");
        pages += 1;
        alarms.extend(page.items);
        match page.next {
            Some(token) => next = Some(token),
            None => return (alarms, pages),
        }
    }
}

#[tokio::test]
async fn cloudwatch_alarms_round_trip() {
    let moto = MotoServer::start();
    let cloud = moto.cloud().await;
    let cw = &cloud.cloudwatch;

    let p95 = alarm(
        "trimtab-api-p95",
        AlarmMetric::Single(MetricStat {
            metric: MetricId::new(
                "AWS/Lambda",
                "Duration",
                vec![
                    Dimension::new("Resource", "api:live"),
                    Dimension::new("FunctionName", "api"),
                ],
            ),
            period_s: 60,
            stat: "p95".into(),
        }),
    );
    let errors = alarm(
        "trimtab-api-errors",
        AlarmMetric::Single(MetricStat {
            metric: lambda_metric("Errors", "api"),
            period_s: 300,
            stat: "Sum".into(),
        }),
    );
    let mut math = alarm(
        "trimtab-api-error-rate",
        AlarmMetric::Math(vec![
            MathQuery::Stat {
                id: "e".into(),
                stat: MetricStat {
                    metric: lambda_metric("Errors", "api"),
                    period_s: 300,
                    stat: "Sum".into(),
                },
                return_data: false,
            },
            MathQuery::Stat {
                id: "i".into(),
                stat: MetricStat {
                    metric: lambda_metric("Invocations", "api"),
                    period_s: 300,
                    stat: "Sum".into(),
                },
                return_data: false,
            },
            MathQuery::Expression {
                id: "rate".into(),
                expression: "100 * e / MAX([i, 1])".into(),
                label: Some("error %".into()),
                return_data: true,
            },
        ]),
    );
    math.threshold = 5.0;
    for spec in [&p95, &errors, &math] {
        cw.put_metric_alarm(spec).await.expect("put_metric_alarm");
    }

    // Through our port: every field comes back as we wrote it (tags are read separately).
    let (observed, _) = all_alarms(cw.as_ref(), "trimtab-api-").await;
    assert_eq!(observed.len(), 3, "{observed:#?}");
    for want in [&p95, &errors, &math] {
        let got = observed
            .iter()
            .find(|a| a.spec.name == want.name)
            .unwrap_or_else(|| panic!("{} missing", want.name));
        let mut want = want.clone();
        want.tags.clear();
        assert_eq!(got.spec, want);
        // (moto starts new alarms in OK where AWS starts them in INSUFFICIENT_DATA.)
        assert!(got.updated_at.is_some());
        assert!(
            got.arn.ends_with(&format!(":alarm:{}", want.name)),
            "{}",
            got.arn
        );
    }

    // Independently: the percentile went into ExtendedStatistic, not Statistic.
    let raw = moto.boto3(
        r#"
a = client("cloudwatch").describe_alarms(AlarmNames=["trimtab-api-p95"])["MetricAlarms"][0]
emit({"stat": a.get("Statistic"), "ext": a.get("ExtendedStatistic"),
      "dims": [d["Name"] for d in a["Dimensions"]]})
"#,
    );
    assert_eq!(raw["stat"], json!(null));
    assert_eq!(raw["ext"], json!("p95"));

    // Tags: set on creation, then changed through TagResource/UntagResource.
    let arn = &observed
        .iter()
        .find(|a| a.spec.name == p95.name)
        .expect("p95 alarm")
        .arn;
    assert_eq!(
        cw.list_tags_for_resource(arn).await.expect("list tags"),
        tags(&[("managed-by", "trimtab")])
    );
    cw.tag_resource(arn, &tags(&[("team", "payments")]))
        .await
        .expect("tag");
    cw.untag_resource(arn, &["managed-by".to_owned()])
        .await
        .expect("untag");
    assert_eq!(
        cw.list_tags_for_resource(arn).await.expect("list tags"),
        tags(&[("team", "payments")])
    );
    let raw = moto.boto3(&format!(
        r#"emit(client("cloudwatch").list_tags_for_resource(ResourceARN="{arn}")["Tags"])"#
    ));
    assert_eq!(raw, json!([{"Key": "team", "Value": "payments"}]));

    // Delete; unknown names are ignored.
    cw.delete_alarms(&[p95.name.clone(), "trimtab-never-existed".into()])
        .await
        .expect("delete");
    let (left, _) = all_alarms(cw.as_ref(), "trimtab-api-").await;
    let names: BTreeSet<_> = left.iter().map(|a| a.spec.name.as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from(["trimtab-api-errors", "trimtab-api-error-rate"])
    );

    // Errors through the bridge keep their code: an unknown alarm is NotFound...
    let err = cw
        .tag_resource(
            &format!("arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:trimtab-nope"),
            &tags(&[("a", "b")]),
        )
        .await
        .expect_err("unknown alarm");
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    assert_eq!(err.code.as_deref(), Some("ResourceNotFoundException"));
    // ...and a dashboard body that is not JSON is Invalid.
    let err = cw
        .put_dashboard("trimtab-bad", "{not json")
        .await
        .expect_err("invalid body");
    assert_eq!(err.kind, ErrorKind::Invalid, "{err}");
}

#[tokio::test]
async fn cloudwatch_describe_alarms_pages() {
    let moto = MotoServer::start();
    let cloud = moto.cloud().await;
    // Seeded with boto3, so only the reads are ours.
    moto.boto3(
        r#"
cw = client("cloudwatch")
for i in range(105):
    cw.put_metric_alarm(AlarmName=f"trimtab-page-{i:03}", Namespace="AWS/Lambda",
        MetricName="Errors", Dimensions=[{"Name": "FunctionName", "Value": f"f{i}"}],
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold")
cw.put_metric_alarm(AlarmName="other-alarm", Namespace="AWS/Lambda", MetricName="Errors",
    Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1.0,
    ComparisonOperator="GreaterThanThreshold")
emit(True)
"#,
    );
    let (alarms, pages) = all_alarms(cloud.cloudwatch.as_ref(), "trimtab-page-").await;
    let names: BTreeSet<_> = alarms.iter().map(|a| a.spec.name.clone()).collect();
    assert_eq!(names.len(), 105, "no duplicates, none missing");
    assert_eq!(alarms.len(), 105);
    assert!(names.iter().all(|n| n.starts_with("trimtab-page-")));
    // moto 5.2.5 ignores MaxRecords and answers with one page; AWS would take two. The loop
    // above follows tokens either way, and the unit tests check that MaxRecords=100 is sent.
    assert!(pages >= 1);
}

#[tokio::test]
async fn cloudwatch_metric_data_and_dashboards() {
    let moto = MotoServer::start();
    let cloud = moto.cloud().await;
    let cw = &cloud.cloudwatch;

    // Whole minutes, in the recent past, so periods line up.
    let now = SystemTime::now();
    let minute = Duration::from_secs(60);
    let base = SystemTime::UNIX_EPOCH
        + Duration::from_secs(
            now.duration_since(SystemTime::UNIX_EPOCH)
                .expect("clock after 1970")
                .as_secs()
                / 60
                * 60,
        )
        - 10 * minute;
    // 300 values in one call: large enough that the SDK gzips the body.
    let data: Vec<MetricDatum> = (0..300)
        .map(|i| MetricDatum {
            metric: lambda_metric("Invocations", "api"),
            timestamp: base + (i % 5) * minute,
            value: 1.0,
            unit: Some("Count".into()),
        })
        .chain((0..5).map(|i| MetricDatum {
            metric: lambda_metric("Duration", "api"),
            timestamp: base + i * minute,
            value: 100.0 * f64::from(i + 1),
            unit: Some("Milliseconds".into()),
        }))
        .collect();
    cw.put_metric_data("AWS/Lambda", &data)
        .await
        .expect("put_metric_data");

    let queries = vec![
        MetricQuery {
            id: "inv".into(),
            stat: MetricStat {
                metric: lambda_metric("Invocations", "api"),
                period_s: 60,
                stat: "Sum".into(),
            },
        },
        MetricQuery {
            id: "avg".into(),
            stat: MetricStat {
                metric: lambda_metric("Duration", "api"),
                period_s: 60,
                stat: "Average".into(),
            },
        },
    ];
    let page = cw
        .get_metric_data(&queries, base - minute, base + 10 * minute, None)
        .await
        .expect("get_metric_data");
    let series = |id: &str| {
        page.series
            .iter()
            .find(|s| s.id == id)
            .unwrap_or_else(|| panic!("series {id} missing: {page:?}"))
    };
    let inv = series("inv");
    assert!(inv.complete);
    assert_eq!(inv.points.iter().map(|(_, v)| v).sum::<f64>(), 300.0);
    assert_eq!(inv.points.len(), 5);
    assert!(inv.points.iter().all(|(_, v)| *v == 60.0));
    let avg = series("avg");
    let mut values: Vec<f64> = avg.points.iter().map(|(_, v)| *v).collect();
    values.sort_by(f64::total_cmp);
    assert_eq!(values, vec![100.0, 200.0, 300.0, 400.0, 500.0]);
    assert!(
        avg.points
            .iter()
            .all(|(t, _)| *t >= base && *t < base + 5 * minute),
        "timestamps survive the CBOR round trip: {:?}",
        avg.points
    );

    // Percentiles: moto computes none. Over a metric without raw values it answers an empty
    // series; over one with values, moto 5.2.5 fails with a 500 while serialising its own None.
    // Either way the adapter must come back with a value or a classified error, not a panic.
    let p95 = |metric: MetricId| MetricQuery {
        id: "p95".into(),
        stat: MetricStat {
            metric,
            period_s: 60,
            stat: "p95".into(),
        },
    };
    let empty = cw
        .get_metric_data(
            &[p95(lambda_metric("Duration", "idle"))],
            base - minute,
            base + 10 * minute,
            None,
        )
        .await
        .expect("p95 over no data");
    assert_eq!(empty.series.len(), 1);
    assert!(empty.series[0].points.is_empty());
    match cw
        .get_metric_data(
            &[p95(lambda_metric("Duration", "api"))],
            base - minute,
            base + 10 * minute,
            None,
        )
        .await
    {
        Ok(page) => assert!(page.series.iter().all(|s| s.points.is_empty())),
        Err(e) => assert_eq!(e.kind, ErrorKind::Transient, "{e}"),
    }

    // Dashboards: absent is None, not an error.
    assert_eq!(cw.get_dashboard("trimtab-main").await.expect("get"), None);
    let body = r#"{"widgets":[]}"#;
    cw.put_dashboard("trimtab-main", body).await.expect("put");
    assert_eq!(
        cw.get_dashboard("trimtab-main")
            .await
            .expect("get")
            .as_deref(),
        Some(body)
    );
    cw.delete_dashboards(&["trimtab-main".into()])
        .await
        .expect("delete");
    assert_eq!(cw.get_dashboard("trimtab-main").await.expect("get"), None);
}

#[tokio::test]
async fn lambda_functions_concurrency_versions_and_permissions() {
    let moto = MotoServer::start();
    let cloud = moto.cloud().await;
    let lambda = &cloud.lambda;
    let arn = moto.boto3(
        r#"emit(make_function("trimtab-t-api", memory=256, timeout=10, tags={"managed-by": "trimtab"}))"#,
    );
    let arn = arn.as_str().expect("function ARN").to_owned();
    moto.boto3(r#"emit(make_function("trimtab-t-bare"))"#);

    // ListFunctions (moto ignores paging, so one page; paging is covered by mock tests).
    let page = lambda.list_functions(None).await.expect("list_functions");
    let api = page
        .items
        .iter()
        .find(|f| f.name == "trimtab-t-api")
        .expect("listed");
    assert_eq!(api.arn, arn);
    assert_eq!((api.memory_mb, api.timeout_s), (256, 10));
    assert_eq!(api.runtime.as_deref(), Some("python3.12"));
    assert_eq!(api.architecture, Architecture::X86_64);
    assert_eq!(api.last_update_status, UpdateStatus::Successful);
    assert_eq!(page.items.len(), 2);

    // GetFunction: tags and reserved concurrency; reserved concurrency put and deleted.
    let detail = lambda.get_function("trimtab-t-api").await.expect("get");
    assert_eq!(detail.tags, tags(&[("managed-by", "trimtab")]));
    assert_eq!(detail.reserved_concurrency, None);
    lambda
        .put_function_concurrency("trimtab-t-api", 5)
        .await
        .expect("put concurrency");
    let detail = lambda.get_function("trimtab-t-api").await.expect("get");
    assert_eq!(detail.reserved_concurrency, Some(5));
    lambda
        .delete_function_concurrency("trimtab-t-api")
        .await
        .expect("delete concurrency");
    let detail = lambda.get_function("trimtab-t-api").await.expect("get");
    assert_eq!(detail.reserved_concurrency, None);

    // GetAccountSettings is not in moto 5.2.5 (a 404 page); the mock tests cover its mapping.

    // Tags.
    lambda
        .tag_resource(&arn, &tags(&[("team", "payments")]))
        .await
        .expect("tag");
    lambda
        .untag_resource(&arn, &["managed-by".to_owned()])
        .await
        .expect("untag");
    let raw = moto.boto3(&format!(
        r#"emit(client("lambda").list_tags(Resource="{arn}")["Tags"])"#
    ));
    assert_eq!(raw, json!({"team": "payments"}));

    // Versions and aliases.
    let version = lambda
        .publish_version("trimtab-t-api", None)
        .await
        .expect("publish");
    assert_eq!(version, "1");
    let alias = lambda
        .create_alias("trimtab-t-api", "live", &version)
        .await
        .expect("alias");
    assert_eq!(alias.name, "live");
    assert_eq!(alias.function_version, "1");
    assert!(
        alias.arn.ends_with(":function:trimtab-t-api:live"),
        "{}",
        alias.arn
    );
    let aliases = lambda
        .list_aliases("trimtab-t-api", None)
        .await
        .expect("aliases");
    assert_eq!(aliases.items, vec![alias.clone()]);

    // Resource-policy permissions.
    assert!(
        lambda
            .get_policy("trimtab-t-api", None)
            .await
            .expect("no policy yet")
            .is_empty()
    );
    let permission = Permission {
        statement_id: "trimtab-warmup".into(),
        action: "lambda:InvokeFunction".into(),
        principal: "events.amazonaws.com".into(),
        source_arn: Some(format!(
            "arn:aws:events:{REGION}:{ACCOUNT}:rule/trimtab-warm-api"
        )),
        qualifier: None,
    };
    lambda
        .add_permission("trimtab-t-api", &permission)
        .await
        .expect("add permission");
    assert_eq!(
        lambda
            .get_policy("trimtab-t-api", None)
            .await
            .expect("policy"),
        vec![permission.clone()]
    );
    lambda
        .remove_permission("trimtab-t-api", "trimtab-warmup", None)
        .await
        .expect("remove permission");
    assert!(
        lambda
            .get_policy("trimtab-t-api", None)
            .await
            .expect("policy")
            .is_empty()
    );

    // Right-sizing writes.
    lambda
        .update_function_configuration(
            "trimtab-t-api",
            &FunctionConfigUpdate {
                memory_mb: Some(1024),
                timeout_s: Some(20),
                ..Default::default()
            },
        )
        .await
        .expect("update");
    let raw = moto.boto3(
        r#"
c = client("lambda").get_function_configuration(FunctionName="trimtab-t-api")
emit([c["MemorySize"], c["Timeout"], c.get("RevisionId")])
"#,
    );
    assert_eq!((&raw[0], &raw[1]), (&json!(1024), &json!(20)));
    // The revision id trimtab reads is AWS's (moto 5.2.5 keeps none, so both are empty here;
    // the 412 on a stale one is covered with aws-smithy-mocks), and a canary is PublishVersion
    // with it, then UpdateAlias routing a weight to the new version.
    let detail = lambda.get_function("trimtab-t-api").await.expect("get");
    assert_eq!(detail.summary.revision_id.as_deref(), raw[2].as_str());
    let canary = lambda
        .publish_version("trimtab-t-api", detail.summary.revision_id.as_deref())
        .await
        .expect("publish with revision");
    assert_eq!(canary, "2");
    // A published version's own configuration and code, as the canary is checked against.
    let version = lambda
        .get_function_configuration("trimtab-t-api", &canary)
        .await
        .expect("version configuration");
    assert_eq!((version.memory_mb, version.timeout_s), (1024, 20));
    let raw = moto.boto3(
        r#"emit(client("lambda").get_function_configuration(FunctionName="trimtab-t-api", Qualifier="2").get("CodeSha256"))"#,
    );
    assert_eq!(version.code_sha256.as_deref(), raw.as_str());
    assert!(!version.has_insights(), "no Lambda Insights layer here");
    let routing = VersionWeight {
        version: canary.clone(),
        weight: 0.1,
    };
    let routed = lambda
        .update_alias("trimtab-t-api", "live", "1", Some(&routing))
        .await
        .expect("route");
    assert_eq!(routed.routing, Some(routing.clone()));
    let raw = moto.boto3(
        r#"emit(client("lambda").get_alias(FunctionName="trimtab-t-api", Name="live").get("RoutingConfig"))"#,
    );
    assert_eq!(raw, json!({"AdditionalVersionWeights": {"2": 0.1}}));
    let listed = lambda
        .list_aliases("trimtab-t-api", None)
        .await
        .expect("aliases");
    assert_eq!(listed.items[0].routing, Some(routing));
    // Promote: the alias serves the canary alone.
    let promoted = lambda
        .update_alias("trimtab-t-api", "live", &canary, None)
        .await
        .expect("promote");
    assert_eq!(
        (promoted.function_version.as_str(), promoted.routing),
        ("2", None)
    );

    let err = lambda
        .get_function("trimtab-t-missing")
        .await
        .expect_err("missing function");
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    assert_eq!(err.code.as_deref(), Some("ResourceNotFoundException"));
}

const CREATE_TABLES: &str = r#"
ddb = client("dynamodb")
ddb.create_table(TableName="trimtab-t-orders", BillingMode="PROVISIONED",
    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                          {"AttributeName": "customer", "AttributeType": "S"}],
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 7},
    GlobalSecondaryIndexes=[{"IndexName": "by-customer",
        "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
        "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}])
ddb.create_table(TableName="trimtab-t-events", BillingMode="PAY_PER_REQUEST",
    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
emit(True)
"#;

#[tokio::test]
async fn dynamodb_describe_table() {
    let moto = MotoServer::start();
    let cloud = moto.cloud().await;
    moto.boto3(CREATE_TABLES);

    let orders = cloud
        .dynamodb
        .describe_table("trimtab-t-orders")
        .await
        .expect("orders");
    assert_eq!(orders.name, "trimtab-t-orders");
    assert!(
        orders.arn.ends_with(":table/trimtab-t-orders"),
        "{}",
        orders.arn
    );
    assert_eq!(orders.billing_mode, BillingMode::Provisioned);
    assert_eq!(
        (orders.read_capacity, orders.write_capacity),
        (Some(5), Some(7))
    );
    assert_eq!(orders.indexes, vec!["by-customer".to_owned()]);

    let events = cloud
        .dynamodb
        .describe_table("trimtab-t-events")
        .await
        .expect("events");
    assert_eq!(events.billing_mode, BillingMode::PayPerRequest);
    assert_eq!((events.read_capacity, events.write_capacity), (None, None));
    assert!(events.indexes.is_empty());

    let err = cloud
        .dynamodb
        .describe_table("trimtab-t-missing")
        .await
        .expect_err("missing table");
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    assert_eq!(err.code.as_deref(), Some("ResourceNotFoundException"));

    // The harness's reset really empties moto.
    moto.reset();
    let err = cloud
        .dynamodb
        .describe_table("trimtab-t-orders")
        .await
        .expect_err("gone after reset");
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
}

#[tokio::test]
async fn autoscaling_targets_and_target_tracking_policies() {
    let moto = MotoServer::start();
    let cloud = moto.cloud().await;
    let aas = &cloud.autoscaling;
    moto.boto3(CREATE_TABLES);

    let table_target = ScalableTarget {
        resource_id: "table/trimtab-t-orders".into(),
        dimension: ScalableDimension::TableRead,
        min_capacity: 5,
        max_capacity: 50,
        tags: [("managed-by".to_string(), "trimtab".to_string())].into(),
        arn: None,
    };
    // moto does not check that the alias exists (AWS would).
    let pc_target = ScalableTarget {
        resource_id: "function:trimtab-t-api:live".into(),
        dimension: ScalableDimension::LambdaProvisionedConcurrency,
        min_capacity: 1,
        max_capacity: 10,
        tags: Default::default(),
        arn: None,
    };
    aas.register_scalable_target(&table_target)
        .await
        .expect("register table");
    aas.register_scalable_target(&pc_target)
        .await
        .expect("register lambda");

    let ddb = aas
        .describe_scalable_targets(ScalableNamespace::DynamoDb, &[], None)
        .await
        .expect("describe ddb");
    // Described with its ARN (which ListTagsForResource takes) and without tags, as AWS does.
    // (moto 5.2.5 accepts Tags in RegisterScalableTarget but neither keeps nor lists them.)
    let arn = ddb.items[0].arn.clone().unwrap_or_default();
    assert!(arn.starts_with("arn:aws:application-autoscaling:"), "{arn}");
    let bare = |t: &ScalableTarget| ScalableTarget {
        arn: None,
        tags: Default::default(),
        ..t.clone()
    };
    assert_eq!(
        ddb.items.iter().map(bare).collect::<Vec<_>>(),
        vec![bare(&table_target)]
    );
    let lambda = aas
        .describe_scalable_targets(
            ScalableNamespace::Lambda,
            &["function:trimtab-t-api:live".to_owned()],
            None,
        )
        .await
        .expect("describe lambda");
    assert_eq!(
        lambda.items.iter().map(bare).collect::<Vec<_>>(),
        vec![pc_target.clone()]
    );

    let read_policy = ScalingPolicy {
        name: "trimtab-orders-read".into(),
        resource_id: table_target.resource_id.clone(),
        dimension: ScalableDimension::TableRead,
        predefined_metric: "DynamoDBReadCapacityUtilization".into(),
        target_value: 70.0,
        scale_in_cooldown_s: Some(60),
        scale_out_cooldown_s: Some(30),
        disable_scale_in: false,
    };
    let pc_policy = ScalingPolicy {
        name: "trimtab-api-pc".into(),
        resource_id: pc_target.resource_id.clone(),
        dimension: ScalableDimension::LambdaProvisionedConcurrency,
        predefined_metric: "LambdaProvisionedConcurrencyUtilization".into(),
        target_value: 0.7,
        scale_in_cooldown_s: None,
        scale_out_cooldown_s: None,
        disable_scale_in: true,
    };
    aas.put_scaling_policy(&read_policy).await.expect("put ddb");
    aas.put_scaling_policy(&pc_policy)
        .await
        .expect("put lambda");

    let policies = aas
        .describe_scaling_policies(ScalableNamespace::DynamoDb, None, None)
        .await
        .expect("describe policies");
    assert_eq!(policies.items.len(), 1);
    let observed = &policies.items[0];
    assert_eq!(observed.policy, read_policy);
    assert!(!observed.arn.is_empty());
    assert!(
        !observed.alarm_names.is_empty()
            && observed
                .alarm_names
                .iter()
                .all(|n| n.starts_with("TargetTracking-")),
        "{:?}",
        observed.alarm_names
    );
    let lambda_policies = aas
        .describe_scaling_policies(
            ScalableNamespace::Lambda,
            Some("function:trimtab-t-api:live"),
            None,
        )
        .await
        .expect("describe lambda policies");
    assert_eq!(lambda_policies.items.len(), 1);
    assert_eq!(lambda_policies.items[0].policy, pc_policy);

    // The alarms Application Auto Scaling made are visible to CloudWatch (through the bridge),
    // under the names the policy reports: that is how trimtab knows to leave them alone.
    let (alarms, _) = all_alarms(cloud.cloudwatch.as_ref(), "TargetTracking-").await;
    let alarm_names: BTreeSet<_> = alarms.iter().map(|a| a.spec.name.clone()).collect();
    for name in &observed.alarm_names {
        assert!(alarm_names.contains(name), "{name} not in {alarm_names:?}");
    }

    aas.delete_scaling_policy(
        &read_policy.name,
        &read_policy.resource_id,
        read_policy.dimension,
    )
    .await
    .expect("delete policy");
    aas.deregister_scalable_target(&table_target.resource_id, table_target.dimension)
        .await
        .expect("deregister");
    let ddb = aas
        .describe_scalable_targets(ScalableNamespace::DynamoDb, &[], None)
        .await
        .expect("describe ddb");
    assert!(ddb.items.is_empty());
    let policies = aas
        .describe_scaling_policies(ScalableNamespace::DynamoDb, None, None)
        .await
        .expect("describe policies");
    assert!(policies.items.is_empty());

    // AWS answers ObjectNotFoundException (NotFound) here; moto says ValidationException.
    let err = aas
        .delete_scaling_policy(
            "trimtab-nope",
            "table/trimtab-t-orders",
            ScalableDimension::TableRead,
        )
        .await
        .expect_err("unknown policy");
    assert!(
        matches!(err.kind, ErrorKind::NotFound | ErrorKind::Invalid),
        "{err}"
    );
    assert!(!err.kind.is_retryable());
}

#[tokio::test]
async fn eventbridge_rules_targets_and_tags() {
    let moto = MotoServer::start();
    let cloud = moto.cloud().await;
    let events = &cloud.events;

    let rule = Rule {
        name: "trimtab-warm-api".into(),
        schedule_expression: Some("rate(5 minutes)".into()),
        description: Some("keeps api warm".into()),
        state: RuleState::Enabled,
    };
    let arn = events
        .put_rule(&rule, &tags(&[("managed-by", "trimtab")]))
        .await
        .expect("put_rule");
    assert!(arn.ends_with(":rule/trimtab-warm-api"), "{arn}");
    // Someone else's rule, outside the prefix.
    moto.boto3(
        r#"client("events").put_rule(Name="other-rule", ScheduleExpression="rate(1 hour)"); emit(True)"#,
    );

    let page = events
        .list_rules(Some("trimtab-"), None)
        .await
        .expect("list_rules");
    assert_eq!(
        page.items,
        vec![ObservedRule {
            arn: arn.clone(),
            rule: rule.clone()
        }]
    );

    // PutRule replaces the rule.
    let disabled = Rule {
        state: RuleState::Disabled,
        ..rule.clone()
    };
    assert_eq!(
        events
            .put_rule(&disabled, &Tags::new())
            .await
            .expect("update"),
        arn
    );
    let page = events
        .list_rules(Some("trimtab-"), None)
        .await
        .expect("list_rules");
    assert_eq!(page.items[0].rule.state, RuleState::Disabled);

    let target = RuleTarget {
        id: "warm".into(),
        arn: format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:api"),
        input: Some(r#"{"warmup":true}"#.into()),
    };
    events
        .put_targets(&rule.name, std::slice::from_ref(&target))
        .await
        .expect("put_targets");
    let targets = events
        .list_targets_by_rule(&rule.name, None)
        .await
        .expect("list targets");
    assert_eq!(targets.items, vec![target.clone()]);

    assert_eq!(
        events.list_tags_for_resource(&arn).await.expect("tags"),
        tags(&[("managed-by", "trimtab")])
    );
    events
        .tag_resource(&arn, &tags(&[("team", "payments")]))
        .await
        .expect("tag");
    assert_eq!(
        events.list_tags_for_resource(&arn).await.expect("tags"),
        tags(&[("managed-by", "trimtab"), ("team", "payments")])
    );

    events
        .remove_targets(&rule.name, &["warm".to_owned()])
        .await
        .expect("remove targets");
    assert!(
        events
            .list_targets_by_rule(&rule.name, None)
            .await
            .expect("list targets")
            .items
            .is_empty()
    );
    events.delete_rule(&rule.name).await.expect("delete");
    assert!(
        events
            .list_rules(Some("trimtab-"), None)
            .await
            .expect("list_rules")
            .items
            .is_empty()
    );
    let raw = moto.boto3(r#"emit([r["Name"] for r in client("events").list_rules()["Rules"]])"#);
    assert_eq!(raw, json!(["other-rule"]));
}

#[tokio::test]
async fn sns_topics_subscriptions_and_tags() {
    let moto = MotoServer::start();
    let cloud = moto.cloud().await;
    let sns = &cloud.sns;

    let owned = tags(&[("managed-by", "trimtab")]);
    let arn = sns
        .create_topic("trimtab-alerts", &owned)
        .await
        .expect("create");
    assert_eq!(
        arn,
        format!("arn:aws:sns:{REGION}:{ACCOUNT}:trimtab-alerts")
    );
    // Idempotent.
    assert_eq!(
        sns.create_topic("trimtab-alerts", &owned)
            .await
            .expect("create again"),
        arn
    );
    let topics = sns.list_topics(None).await.expect("list");
    assert_eq!(topics.items, vec![arn.clone()]);

    sns.subscribe(&arn, "email", "oncall@example.com")
        .await
        .expect("subscribe");
    let subs = sns
        .list_subscriptions_by_topic(&arn, None)
        .await
        .expect("subscriptions");
    assert_eq!(subs.items.len(), 1);
    assert_eq!(subs.items[0].protocol, "email");
    assert_eq!(subs.items[0].endpoint, "oncall@example.com");
    assert!(!subs.items[0].arn.is_empty());

    assert_eq!(sns.list_tags_for_resource(&arn).await.expect("tags"), owned);
    sns.tag_resource(&arn, &tags(&[("team", "payments")]))
        .await
        .expect("tag");
    let raw = moto.boto3(&format!(
        r#"emit(sorted((t["Key"], t["Value"]) for t in client("sns").list_tags_for_resource(ResourceArn="{arn}")["Tags"]))"#
    ));
    assert_eq!(
        raw,
        json!([["managed-by", "trimtab"], ["team", "payments"]])
    );

    let err = sns
        .list_subscriptions_by_topic(&format!("arn:aws:sns:{REGION}:{ACCOUNT}:nope"), None)
        .await
        .expect_err("missing topic");
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
}

/// The standard `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_CLOUDWATCH` variables, rather than
/// `connect_with`'s overrides, route each client. Environment variables are process-wide, so
/// this runs the check in a child process of this test binary with its own environment.
#[tokio::test]
async fn standard_endpoint_variables_route_each_client() {
    let moto = MotoServer::start();
    moto.boto3(CREATE_TABLES);
    let exe = std::env::current_exe().expect("test binary path");
    let out = std::process::Command::new(exe)
        .args(["env_endpoint_child", "--exact", "--ignored", "--nocapture"])
        .envs(moto.sdk_env())
        .env("TRIMTAB_ENV_ENDPOINT_CHILD", "1")
        .output()
        .expect("run the child test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
#[ignore = "run by standard_endpoint_variables_route_each_client, in a child process"]
async fn env_endpoint_child() {
    if std::env::var_os("TRIMTAB_ENV_ENDPOINT_CHILD").is_none() {
        eprintln!(
            "env_endpoint_child only runs under standard_endpoint_variables_route_each_client"
        );
        return;
    }
    let settings = CloudSettings {
        backend: Backend::Aws,
        region: REGION.into(),
        endpoint_url: None,
        rate_limits: Default::default(),
        simulated: SimSettings::default(),
    };
    let cloud = trimtab::cloud::aws::connect(&settings)
        .await
        .expect("connect");
    // CloudWatch only works through the bridge (AWS_ENDPOINT_URL_CLOUDWATCH)...
    cloud
        .cloudwatch
        .describe_alarms(None, None)
        .await
        .expect("CloudWatch through AWS_ENDPOINT_URL_CLOUDWATCH");
    // ...and the others reach moto (AWS_ENDPOINT_URL): the table seeded there is found.
    let table = cloud
        .dynamodb
        .describe_table("trimtab-t-orders")
        .await
        .expect("DynamoDB through AWS_ENDPOINT_URL");
    assert_eq!(table.billing_mode, BillingMode::Provisioned);
    cloud
        .lambda
        .list_functions(None)
        .await
        .expect("Lambda through AWS_ENDPOINT_URL");
}

#[tokio::test]
async fn list_metrics_through_the_sdk_and_faults_in_front_of_the_adapters() {
    use std::sync::Arc;
    use trimtab::clock::{Clock, SystemClock};
    use trimtab::cloud::Op;
    use trimtab::cloud::faults::FaultInjector;

    let moto = MotoServer::start();
    let cloud = moto.cloud().await;
    let now = SystemTime::now() - Duration::from_secs(120);
    let datum = |function: &str| MetricDatum {
        metric: lambda_metric("Errors", function),
        timestamp: now,
        value: 0.0,
        unit: Some("Count".into()),
    };
    cloud
        .cloudwatch
        .put_metric_data("AWS/Lambda", &[datum("api"), datum("worker")])
        .await
        .expect("put_metric_data");
    let page = cloud
        .cloudwatch
        .list_metrics("AWS/Lambda", "Errors", None)
        .await
        .expect("list_metrics");
    let listed: BTreeSet<MetricId> = page.items.into_iter().collect();
    assert_eq!(
        listed,
        BTreeSet::from([
            lambda_metric("Errors", "api"),
            lambda_metric("Errors", "worker")
        ])
    );
    let none = cloud
        .cloudwatch
        .list_metrics("AWS/Lambda", "Throttles", None)
        .await
        .expect("list_metrics");
    assert!(none.items.is_empty());

    // The same fault injector the simulated account uses, in front of the AWS adapters.
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let faults = FaultInjector::new(
        SimFaults {
            failing_operations: vec!["ListMetrics".into()],
            ..SimFaults::default()
        },
        7,
        clock,
    );
    let faulty = faults.wrap(cloud.clone());
    let e = faulty
        .cloudwatch
        .list_metrics("AWS/Lambda", "Errors", None)
        .await
        .err()
        .map(|e| (e.kind, e.code));
    assert_eq!(e, Some((ErrorKind::Other, Some("InjectedFault".into()))));
    // A crash point: no write after it reaches moto, as boto3 confirms.
    faults.set(SimFaults::default());
    faults.crash_after_writes(Some(1));
    for name in ["trimtab-crash-a", "trimtab-crash-b"] {
        let spec = alarm(
            name,
            AlarmMetric::Single(MetricStat {
                metric: lambda_metric("Errors", "api"),
                period_s: 60,
                stat: "Sum".into(),
            }),
        );
        let _ = faulty.cloudwatch.put_metric_alarm(&spec).await;
    }
    assert_eq!(faults.injected().get(&Op::PutMetricAlarm), Some(&1));
    let names = moto.boto3(
        r#"
cw = client("cloudwatch")
emit(sorted(a["AlarmName"] for a in cw.describe_alarms(AlarmNamePrefix="trimtab-crash")["MetricAlarms"]))
"#,
    );
    assert_eq!(names, json!(["trimtab-crash-a"]));
}

/// GetResources by ARN list: every tagged resource asked about comes back with all its tags,
/// untagged ones and ones not asked about do not, across services and across the pages moto
/// splits a list of 100 into.
#[tokio::test]
async fn tagging_get_resources_by_arn_list() {
    let moto = MotoServer::start();
    let cloud = moto.cloud().await;
    let owned = tags(&[("managed-by", "trimtab")]);
    let mut arns = Vec::new();
    let mut expected = std::collections::BTreeMap::new();
    for i in 0..90 {
        let mut spec = alarm(
            &format!("trimtab-bulk-{i:03}"),
            AlarmMetric::Single(MetricStat {
                metric: lambda_metric("Errors", "api"),
                period_s: 60,
                stat: "Sum".into(),
            }),
        );
        // Every third alarm untagged (someone else's, or a copy made in the console).
        if i % 3 == 0 {
            spec.tags = Tags::new();
        }
        cloud.cloudwatch.put_metric_alarm(&spec).await.expect("put");
        let arn = format!("arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{}", spec.name);
        if !spec.tags.is_empty() {
            expected.insert(arn.clone(), spec.tags.clone());
        }
        arns.push(arn);
    }
    let marked = tags(&[("trimtab:warmup", "rule"), ("team", "growth")]);
    let tagged_fn = moto.boto3(
        r#"emit(make_function("trimtab-bulk-fn", tags={"trimtab:warmup": "rule", "team": "growth"}))"#,
    );
    let bare_fn = moto.boto3(r#"emit(make_function("trimtab-bulk-bare"))"#);
    let tagged_fn = tagged_fn.as_str().expect("arn").to_string();
    expected.insert(tagged_fn.clone(), marked);
    arns.push(tagged_fn);
    arns.push(bare_fn.as_str().expect("arn").to_string());
    // Asked about, but not there.
    arns.push(format!(
        "arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:trimtab-gone"
    ));
    assert!(arns.len() <= trimtab::cloud::TAGGING_ARNS_PER_CALL);

    let mut found = std::collections::BTreeMap::new();
    let mut next = None;
    let mut calls = 0;
    loop {
        let page = cloud
            .tagging
            .get_resources(&arns, next.as_deref())
            .await
            .expect("GetResources");
        calls += 1;
        found.extend(page.items);
        match page.next {
            Some(token) => next = Some(token),
            None => break,
        }
    }
    assert_eq!(found, expected);
    assert!((1..=3).contains(&calls), "{calls} pages");
    // An alarm asked about alone: one call, its tags.
    let one = cloud
        .tagging
        .get_resources(&arns[1..2], None)
        .await
        .expect("GetResources");
    assert_eq!(one.items, vec![(arns[1].clone(), owned)]);
}
