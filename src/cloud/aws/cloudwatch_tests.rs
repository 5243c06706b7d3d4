//! CloudWatch adapter tests at the level of modeled SDK inputs and outputs (aws-smithy-mocks):
//! what the adapter asks for, and how it reads what AWS answers.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
use aws_sdk_cloudwatch::operation::put_metric_alarm::PutMetricAlarmOutput;
use aws_sdk_cloudwatch::types::MetricDataResult;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;

use super::*;

fn dim(name: &str, value: &str) -> SdkDimension {
    SdkDimension::builder().name(name).value(value).build()
}

fn p95_alarm() -> MetricAlarm {
    MetricAlarm::builder()
        .alarm_name("trimtab-api-p95")
        .alarm_arn("arn:aws:cloudwatch:us-east-1:123456789012:alarm:trimtab-api-p95")
        .namespace("AWS/Lambda")
        .metric_name("Duration")
        // Deliberately out of order: MetricId sorts them.
        .dimensions(dim("Resource", "api:live"))
        .dimensions(dim("FunctionName", "api"))
        .extended_statistic("p95")
        .period(60)
        .evaluation_periods(5)
        .datapoints_to_alarm(3)
        .threshold(800.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .actions_enabled(true)
        .alarm_actions("arn:aws:sns:us-east-1:123456789012:ops")
        .state_value(StateValue::Alarm)
        .alarm_configuration_updated_timestamp(DateTime::from_secs(1_800_000_000))
        .build()
}

fn math_alarm() -> MetricAlarm {
    let errors = SdkStat::builder()
        .metric(
            Metric::builder()
                .namespace("AWS/Lambda")
                .metric_name("Errors")
                .dimensions(dim("FunctionName", "api"))
                .build(),
        )
        .period(300)
        .stat("Sum")
        .build();
    MetricAlarm::builder()
        .alarm_name("trimtab-api-error-rate")
        .alarm_arn("arn:aws:cloudwatch:us-east-1:123456789012:alarm:trimtab-api-error-rate")
        .metrics(
            MetricDataQuery::builder()
                .id("e")
                .metric_stat(errors)
                .return_data(false)
                .build(),
        )
        .metrics(
            MetricDataQuery::builder()
                .id("rate")
                .expression("100 * e / MAX([e, 1])")
                .label("error %")
                .build(),
        )
        .evaluation_periods(1)
        .threshold(5.0)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
        .state_value(StateValue::Ok)
        .build()
}

#[tokio::test]
async fn describe_alarms_maps_single_extended_and_math_alarms() {
    let anomaly = MetricAlarm::builder()
        .alarm_name("someone-elses-band")
        .alarm_arn("arn:aws:cloudwatch:us-east-1:123456789012:alarm:band")
        .threshold_metric_id("ad1")
        .comparison_operator(ComparisonOperator::LessThanLowerOrGreaterThanUpperThreshold)
        .evaluation_periods(1)
        .build();
    let rule = mock!(Client::describe_alarms)
        .match_requests(|r| {
            r.max_records() == Some(100)
                && r.alarm_name_prefix() == Some("trimtab-")
                && r.next_token() == Some("page-2")
        })
        .then_output(move || {
            DescribeAlarmsOutput::builder()
                .metric_alarms(p95_alarm())
                .metric_alarms(math_alarm())
                .metric_alarms(anomaly.clone())
                .next_token("page-3")
                .build()
        });
    let cw = AwsCloudWatch::new(mock_client!(aws_sdk_cloudwatch, [&rule]));

    let page = cw
        .describe_alarms(Some("trimtab-"), Some("page-2"))
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(page.next.as_deref(), Some("page-3"));
    assert_eq!(
        page.items.len(),
        2,
        "the anomaly-band alarm is not modelled"
    );

    let p95 = &page.items[0];
    assert_eq!(p95.state, AlarmState::Alarm);
    assert_eq!(
        p95.updated_at,
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000))
    );
    let AlarmMetric::Single(stat) = &p95.spec.metric else {
        panic!("single-metric alarm expected: {:?}", p95.spec.metric)
    };
    assert_eq!(stat.stat, "p95");
    assert_eq!(
        stat.metric,
        MetricId::new(
            "AWS/Lambda",
            "Duration",
            vec![
                Dimension::new("FunctionName", "api"),
                Dimension::new("Resource", "api:live")
            ]
        )
    );
    assert_eq!(stat.metric.dimensions[0].name, "FunctionName");
    assert_eq!(p95.spec.treat_missing_data, MissingData::NotBreaching);
    assert_eq!(
        (p95.spec.evaluation_periods, p95.spec.datapoints_to_alarm),
        (5, 3)
    );
    assert_eq!(p95.spec.description, "");

    let math = &page.items[1];
    assert_eq!(math.state, AlarmState::Ok);
    // AWS's defaults for what the alarm was created without.
    assert_eq!(math.spec.datapoints_to_alarm, 1);
    assert_eq!(math.spec.treat_missing_data, MissingData::Missing);
    let AlarmMetric::Math(queries) = &math.spec.metric else {
        panic!("metric-math alarm expected")
    };
    assert!(matches!(
        &queries[0],
        MathQuery::Stat { id, stat, return_data: false } if id == "e" && stat.stat == "Sum" && stat.period_s == 300
    ));
    assert!(matches!(
        &queries[1],
        MathQuery::Expression { id, label: Some(l), return_data: true, .. } if id == "rate" && l == "error %"
    ));
}

fn spec(metric: AlarmMetric) -> AlarmSpec {
    AlarmSpec {
        name: "trimtab-x".into(),
        description: "why".into(),
        metric,
        comparison: Comparison::GreaterThanThreshold,
        threshold: 1.0,
        evaluation_periods: 3,
        datapoints_to_alarm: 2,
        treat_missing_data: MissingData::NotBreaching,
        actions_enabled: true,
        alarm_actions: vec!["arn:aws:sns:us-east-1:1:t".into()],
        ok_actions: vec![],
        insufficient_data_actions: vec![],
        tags: [("managed-by".to_owned(), "trimtab".to_owned())].into(),
    }
}

fn stat(name: &str, statistic: &str) -> MetricStat {
    MetricStat {
        metric: MetricId::new(
            "AWS/Lambda",
            name,
            vec![Dimension::new("FunctionName", "api")],
        ),
        period_s: 60,
        stat: statistic.into(),
    }
}

#[tokio::test]
async fn put_metric_alarm_puts_percentiles_in_extended_statistic() {
    let extended = mock!(Client::put_metric_alarm)
        .match_requests(|r| {
            r.extended_statistic() == Some("p95")
                && r.statistic().is_none()
                && r.metrics().is_empty()
                && r.treat_missing_data() == Some("notBreaching")
                && r.datapoints_to_alarm() == Some(2)
                && r.tags().len() == 1
        })
        .then_output(|| PutMetricAlarmOutput::builder().build());
    let standard = mock!(Client::put_metric_alarm)
        .match_requests(|r| {
            r.statistic() == Some(&Statistic::Sum)
                && r.extended_statistic().is_none()
                && r.dimensions().len() == 1
        })
        .then_output(|| PutMetricAlarmOutput::builder().build());
    let math = mock!(Client::put_metric_alarm)
        .match_requests(|r| {
            r.metric_name().is_none()
                && r.metrics().len() == 2
                && r.metrics()[0].metric_stat().and_then(|s| s.stat()) == Some("Sum")
                && r.metrics()[1].expression() == Some("e * 2")
        })
        .then_output(|| PutMetricAlarmOutput::builder().build());
    let cw = AwsCloudWatch::new(mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::MatchAny,
        [&extended, &standard, &math]
    ));

    cw.put_metric_alarm(&spec(AlarmMetric::Single(stat("Duration", "p95"))))
        .await
        .unwrap();
    cw.put_metric_alarm(&spec(AlarmMetric::Single(stat("Errors", "Sum"))))
        .await
        .unwrap();
    cw.put_metric_alarm(&spec(AlarmMetric::Math(vec![
        MathQuery::Stat {
            id: "e".into(),
            stat: stat("Errors", "Sum"),
            return_data: false,
        },
        MathQuery::Expression {
            id: "x".into(),
            expression: "e * 2".into(),
            label: None,
            return_data: true,
        },
    ])))
    .await
    .unwrap();
    assert_eq!(
        (extended.num_calls(), standard.num_calls(), math.num_calls()),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn get_metric_data_reads_series_and_partial_status() {
    let rule = mock!(Client::get_metric_data)
        .match_requests(|r| {
            r.metric_data_queries().len() == 2
                && r.scan_by() == Some(&ScanBy::TimestampDescending)
                && r.metric_data_queries()[1]
                    .metric_stat()
                    .and_then(|s| s.stat())
                    == Some("p95")
        })
        .then_output(|| {
            GetMetricDataOutput::builder()
                .metric_data_results(
                    MetricDataResult::builder()
                        .id("inv")
                        .timestamps(DateTime::from_secs(120))
                        .timestamps(DateTime::from_secs(60))
                        .values(4.0)
                        .values(2.0)
                        .status_code(StatusCode::PartialData)
                        .build(),
                )
                // What moto answers for a percentile: nothing.
                .metric_data_results(
                    MetricDataResult::builder()
                        .id("p95")
                        .status_code(StatusCode::Complete)
                        .build(),
                )
                .next_token("more")
                .build()
        });
    let cw = AwsCloudWatch::new(mock_client!(aws_sdk_cloudwatch, [&rule]));
    let queries = [
        MetricQuery {
            id: "inv".into(),
            stat: stat("Invocations", "Sum"),
        },
        MetricQuery {
            id: "p95".into(),
            stat: stat("Duration", "p95"),
        },
    ];
    let page = cw
        .get_metric_data(
            &queries,
            SystemTime::UNIX_EPOCH,
            SystemTime::UNIX_EPOCH + Duration::from_secs(600),
            None,
        )
        .await
        .unwrap();
    assert_eq!(page.next.as_deref(), Some("more"));
    assert_eq!(page.series.len(), 2);
    assert!(!page.series[0].complete);
    assert_eq!(
        page.series[0].points,
        vec![
            (SystemTime::UNIX_EPOCH + Duration::from_secs(120), 4.0),
            (SystemTime::UNIX_EPOCH + Duration::from_secs(60), 2.0)
        ]
    );
    assert!(page.series[1].complete);
    assert!(page.series[1].points.is_empty());
}
