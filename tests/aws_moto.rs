//! The AWS adapters through the real SDK, over real HTTP, against moto (CloudWatch through the
//! CBOR bridge). Each test runs its own server, so tests are independent and run in parallel.
//! State is checked twice where it matters: through trimtab's ports, and independently with
//! boto3.
//!
//! Not covered here, because moto cannot (see shared/TESTING.md): provisioned concurrency,
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
        assert!(got.arn.ends_with(&format!(":alarm:{}", want.name)), "{}", got.arn);
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
        avg.points.iter().all(|(t, _)| *t >= base && *t < base + 5 * minute),
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
        cw.get_dashboard("trimtab-main").await.expect("get").as_deref(),
        Some(body)
    );
    cw.delete_dashboards(&["trimtab-main".into()])
        .await
        .expect("delete");
    assert_eq!(cw.get_dashboard("trimtab-main").await.expect("get"), None);
}
