//! `CloudWatchApi` over aws-sdk-cloudwatch: metric alarms (single-metric and metric math), their
//! tags, GetMetricData / PutMetricData, and dashboards.

use std::time::SystemTime;

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension as SdkDimension, Metric, MetricAlarm, MetricDataQuery,
    MetricDatum as SdkDatum, MetricStat as SdkStat, ScanBy, StandardUnit, StateValue, Statistic,
    StatusCode, Tag,
};

use super::error::from_sdk;
use super::{from_aws_time, missing, to_aws_time, to_i32, to_u32};
use crate::cloud::{CloudResult, CloudWatchApi, ErrorKind, Op};
use crate::model::{
    AlarmMetric, AlarmSpec, AlarmState, Comparison, Dimension, MathQuery, MetricDataPage,
    MetricDatum, MetricId, MetricQuery, MetricSeries, MetricStat, MissingData, ObservedAlarm, Page,
    Tags,
};

/// The most DescribeAlarms accepts as `MaxRecords`.
const ALARMS_PAGE: i32 = 100;

pub(crate) struct AwsCloudWatch {
    client: aws_sdk_cloudwatch::Client,
}

impl AwsCloudWatch {
    pub(crate) fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        Self { client }
    }
}

fn sdk_dimensions(dims: &[Dimension]) -> Vec<SdkDimension> {
    dims.iter()
        .map(|d| {
            SdkDimension::builder()
                .name(d.name.as_str())
                .value(d.value.as_str())
                .build()
        })
        .collect()
}

fn metric_id(namespace: &str, name: &str, dims: &[SdkDimension]) -> MetricId {
    MetricId::new(
        namespace,
        name,
        dims.iter()
            .map(|d| Dimension::new(d.name().unwrap_or_default(), d.value().unwrap_or_default()))
            .collect(),
    )
}

fn sdk_stat(stat: &MetricStat) -> SdkStat {
    SdkStat::builder()
        .metric(
            Metric::builder()
                .namespace(stat.metric.namespace.as_str())
                .metric_name(stat.metric.name.as_str())
                .set_dimensions(Some(sdk_dimensions(&stat.metric.dimensions)))
                .build(),
        )
        .period(to_i32(stat.period_s))
        .stat(stat.stat.as_str())
        .build()
}

fn domain_stat(stat: &SdkStat) -> Option<MetricStat> {
    let metric = stat.metric()?;
    Some(MetricStat {
        metric: metric_id(
            metric.namespace()?,
            metric.metric_name()?,
            metric.dimensions(),
        ),
        period_s: to_u32(stat.period()?),
        stat: stat.stat()?.into(),
    })
}

fn math_query(q: &MetricDataQuery) -> Option<MathQuery> {
    let id = q.id()?.to_owned();
    // AWS's default for ReturnData is true.
    let return_data = q.return_data().unwrap_or(true);
    if let Some(expression) = q.expression() {
        return Some(MathQuery::Expression {
            id,
            expression: expression.to_owned(),
            label: q.label().map(str::to_owned),
            return_data,
        });
    }
    Some(MathQuery::Stat {
        id,
        stat: domain_stat(q.metric_stat()?)?,
        return_data,
    })
}

fn sdk_math_query(q: &MathQuery) -> MetricDataQuery {
    match q {
        MathQuery::Stat {
            id,
            stat,
            return_data,
        } => MetricDataQuery::builder()
            .id(id)
            .metric_stat(sdk_stat(stat))
            .return_data(*return_data)
            .build(),
        MathQuery::Expression {
            id,
            expression,
            label,
            return_data,
        } => MetricDataQuery::builder()
            .id(id)
            .expression(expression)
            .set_label(label.clone())
            .return_data(*return_data)
            .build(),
    }
}

/// `None` for alarms outside trimtab's model: anomaly-detection bands (`ThresholdMetricId`, band
/// comparisons), and alarm kinds without a metric. trimtab never creates those, so leaving them
/// out of the page loses nothing it could manage.
fn observed_alarm(a: &MetricAlarm) -> Option<ObservedAlarm> {
    if a.threshold_metric_id().is_some() {
        return None;
    }
    let metric = if a.metrics().is_empty() {
        let stat = match (a.statistic(), a.extended_statistic()) {
            (Some(s), _) => s.as_str().into(),
            (None, Some(ext)) => ext.into(),
            (None, None) => return None,
        };
        AlarmMetric::Single(MetricStat {
            metric: metric_id(a.namespace()?, a.metric_name()?, a.dimensions()),
            period_s: to_u32(a.period()?),
            stat,
        })
    } else {
        AlarmMetric::Math(
            a.metrics()
                .iter()
                .map(math_query)
                .collect::<Option<Vec<_>>>()?,
        )
    };
    let evaluation_periods = to_u32(a.evaluation_periods()?);
    let spec = AlarmSpec {
        name: a.alarm_name()?.to_owned(),
        description: a.alarm_description().unwrap_or_default().to_owned(),
        metric,
        comparison: Comparison::parse(a.comparison_operator()?.as_str())?,
        threshold: a.threshold()?,
        evaluation_periods,
        // Absent means "all of them", which is how AWS evaluates it.
        datapoints_to_alarm: a
            .datapoints_to_alarm()
            .map(to_u32)
            .unwrap_or(evaluation_periods),
        // AWS's default when the alarm was created without it.
        treat_missing_data: a
            .treat_missing_data()
            .and_then(MissingData::parse)
            .unwrap_or(MissingData::Missing),
        actions_enabled: a.actions_enabled().unwrap_or(true),
        alarm_actions: a.alarm_actions().to_vec(),
        ok_actions: a.ok_actions().to_vec(),
        insufficient_data_actions: a.insufficient_data_actions().to_vec(),
        tags: Tags::new(),
    };
    Some(ObservedAlarm {
        arn: a.alarm_arn()?.to_owned(),
        spec,
        state: match a.state_value() {
            Some(StateValue::Ok) => AlarmState::Ok,
            Some(StateValue::Alarm) => AlarmState::Alarm,
            _ => AlarmState::InsufficientData,
        },
        updated_at: a
            .alarm_configuration_updated_timestamp()
            .and_then(|t| SystemTime::try_from(*t).ok()),
    })
}

fn sdk_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k.as_str()).value(v.as_str()).build())
        .collect()
}

#[async_trait]
impl CloudWatchApi for AwsCloudWatch {
    async fn describe_alarms(
        &self,
        prefix: Option<&str>,
        next: Option<&str>,
    ) -> CloudResult<Page<ObservedAlarm>> {
        // Without AlarmTypes, DescribeAlarms returns metric alarms only, which is what we model.
        let out = self
            .client
            .describe_alarms()
            .set_alarm_name_prefix(prefix.map(str::to_owned))
            .set_next_token(next.map(str::to_owned))
            .max_records(ALARMS_PAGE)
            .send()
            .await
            .map_err(|e| from_sdk(Op::DescribeAlarms, e))?;
        Ok(Page {
            items: out
                .metric_alarms()
                .iter()
                .filter_map(observed_alarm)
                .collect(),
            next: out.next_token().map(str::to_owned),
        })
    }

    async fn put_metric_alarm(&self, alarm: &AlarmSpec) -> CloudResult<()> {
        let mut req = self
            .client
            .put_metric_alarm()
            .alarm_name(&alarm.name)
            .alarm_description(&alarm.description)
            .comparison_operator(ComparisonOperator::from(alarm.comparison.as_str()))
            .threshold(alarm.threshold)
            .evaluation_periods(to_i32(alarm.evaluation_periods))
            .datapoints_to_alarm(to_i32(alarm.datapoints_to_alarm))
            .treat_missing_data(alarm.treat_missing_data.as_str())
            .actions_enabled(alarm.actions_enabled)
            .set_alarm_actions(Some(alarm.alarm_actions.clone()))
            .set_ok_actions(Some(alarm.ok_actions.clone()))
            .set_insufficient_data_actions(Some(alarm.insufficient_data_actions.clone()))
            // AWS applies these on creation only; later changes go through TagResource.
            .set_tags((!alarm.tags.is_empty()).then(|| sdk_tags(&alarm.tags)));
        req = match &alarm.metric {
            AlarmMetric::Single(stat) => {
                let req = req
                    .namespace(stat.metric.namespace.as_str())
                    .metric_name(stat.metric.name.as_str())
                    .set_dimensions(Some(sdk_dimensions(&stat.metric.dimensions)))
                    .period(to_i32(stat.period_s));
                if stat.is_extended() {
                    req.extended_statistic(stat.stat.as_str())
                } else {
                    req.statistic(Statistic::from(stat.stat.as_str()))
                }
            }
            AlarmMetric::Math(queries) => {
                req.set_metrics(Some(queries.iter().map(sdk_math_query).collect()))
            }
        };
        req.send()
            .await
            .map_err(|e| from_sdk(Op::PutMetricAlarm, e))?;
        Ok(())
    }

    async fn delete_alarms(&self, names: &[String]) -> CloudResult<()> {
        self.client
            .delete_alarms()
            .set_alarm_names(Some(names.to_vec()))
            .send()
            .await
            .map_err(|e| from_sdk(Op::DeleteAlarms, e))?;
        Ok(())
    }

    async fn list_tags_for_resource(&self, arn: &str) -> CloudResult<Tags> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| from_sdk(Op::CwListTagsForResource, e))?;
        Ok(out
            .tags()
            .iter()
            .filter_map(|t| {
                Some((
                    t.key()?.to_owned(),
                    t.value().unwrap_or_default().to_owned(),
                ))
            })
            .collect())
    }

    async fn tag_resource(&self, arn: &str, tags: &Tags) -> CloudResult<()> {
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(sdk_tags(tags)))
            .send()
            .await
            .map_err(|e| from_sdk(Op::CwTagResource, e))?;
        Ok(())
    }

    async fn untag_resource(&self, arn: &str, keys: &[String]) -> CloudResult<()> {
        self.client
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(|e| from_sdk(Op::CwUntagResource, e))?;
        Ok(())
    }

    async fn get_metric_data(
        &self,
        queries: &[MetricQuery],
        start: SystemTime,
        end: SystemTime,
        next: Option<&str>,
    ) -> CloudResult<MetricDataPage> {
        const OP: Op = Op::GetMetricData;
        let out = self
            .client
            .get_metric_data()
            .set_metric_data_queries(Some(
                queries
                    .iter()
                    .map(|q| {
                        MetricDataQuery::builder()
                            .id(&q.id)
                            .metric_stat(sdk_stat(&q.stat))
                            .return_data(true)
                            .build()
                    })
                    .collect(),
            ))
            .start_time(to_aws_time(start))
            .end_time(to_aws_time(end))
            // Stated, not assumed: MetricSeries promises newest first.
            .scan_by(ScanBy::TimestampDescending)
            .set_next_token(next.map(str::to_owned))
            .send()
            .await
            .map_err(|e| from_sdk(OP, e))?;
        let series = out
            .metric_data_results()
            .iter()
            .map(|r| {
                let points = r
                    .timestamps()
                    .iter()
                    .zip(r.values())
                    .map(|(t, v)| Ok((from_aws_time(OP, t)?, *v)))
                    .collect::<CloudResult<Vec<_>>>()?;
                Ok(MetricSeries {
                    id: r
                        .id()
                        .ok_or_else(|| missing(OP, "MetricDataResults[].Id"))?
                        .to_owned(),
                    points,
                    complete: r.status_code() != Some(&StatusCode::PartialData),
                })
            })
            .collect::<CloudResult<Vec<_>>>()?;
        Ok(MetricDataPage {
            series,
            next: out.next_token().map(str::to_owned),
        })
    }

    async fn list_metrics(
        &self,
        namespace: &str,
        name: &str,
        next: Option<&str>,
    ) -> CloudResult<Page<MetricId>> {
        let out = self
            .client
            .list_metrics()
            .namespace(namespace)
            .metric_name(name)
            .set_next_token(next.map(str::to_owned))
            .send()
            .await
            .map_err(|e| from_sdk(Op::ListMetrics, e))?;
        Ok(Page {
            items: out
                .metrics()
                .iter()
                .map(|m| {
                    metric_id(
                        m.namespace().unwrap_or(namespace),
                        m.metric_name().unwrap_or(name),
                        m.dimensions(),
                    )
                })
                .collect(),
            next: out.next_token().map(str::to_owned),
        })
    }

    async fn put_metric_data(&self, namespace: &str, data: &[MetricDatum]) -> CloudResult<()> {
        let data = data
            .iter()
            .map(|d| {
                SdkDatum::builder()
                    .metric_name(d.metric.name.as_str())
                    .set_dimensions(Some(sdk_dimensions(&d.metric.dimensions)))
                    .timestamp(to_aws_time(d.timestamp))
                    .value(d.value)
                    .set_unit(d.unit.as_deref().map(StandardUnit::from))
                    .build()
            })
            .collect();
        self.client
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(data))
            .send()
            .await
            .map_err(|e| from_sdk(Op::PutMetricData, e))?;
        Ok(())
    }

    async fn put_dashboard(&self, name: &str, body: &str) -> CloudResult<()> {
        // Validation messages come back with a 200 and the dashboard saved anyway; a body AWS
        // cannot use at all fails with InvalidParameterInput instead.
        self.client
            .put_dashboard()
            .dashboard_name(name)
            .dashboard_body(body)
            .send()
            .await
            .map_err(|e| from_sdk(Op::PutDashboard, e))?;
        Ok(())
    }

    async fn get_dashboard(&self, name: &str) -> CloudResult<Option<String>> {
        match self
            .client
            .get_dashboard()
            .dashboard_name(name)
            .send()
            .await
        {
            Ok(out) => Ok(Some(out.dashboard_body().unwrap_or_default().to_owned())),
            Err(e) => {
                let err = from_sdk(Op::GetDashboard, e);
                if err.is(ErrorKind::NotFound) {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }

    async fn delete_dashboards(&self, names: &[String]) -> CloudResult<()> {
        self.client
            .delete_dashboards()
            .set_dashboard_names(Some(names.to_vec()))
            .send()
            .await
            .map_err(|e| from_sdk(Op::DeleteDashboards, e))?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "cloudwatch_tests.rs"]
mod tests;
