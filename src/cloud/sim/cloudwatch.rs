//! `CloudWatchApi` on the simulated account: alarms (via `alarms`), alarm tags, metric reads
//! and writes (via `metrics`), and dashboards.

use std::time::SystemTime;

use async_trait::async_trait;

use crate::cloud::{CloudResult, CloudWatchApi, Op};
use crate::model::{
    AlarmSpec, MetricDataPage, MetricDatum, MetricQuery, ObservedAlarm, Page, Tags,
};

use super::metrics::{self, Snapshot};
use super::{Cx, SimAccount, alarms, lock, tagging};

fn alarm_tags<'s>(cx: &'s mut Cx<'_>, arn: &str) -> CloudResult<&'s mut Tags> {
    let name = alarms::name_from_arn(cx, arn)
        .ok_or_else(|| {
            cx.invalid(format!(
                "{arn:?} is not a CloudWatch alarm ARN of this account"
            ))
        })?
        .to_string();
    let not_found = cx.not_found(format!("alarm {name} does not exist"));
    cx.st
        .alarms
        .get_mut(&name)
        .map(|a| &mut a.spec.tags)
        .ok_or(not_found)
}

fn check_dashboard_name(cx: &Cx<'_>, name: &str) -> CloudResult<()> {
    let ok = (1..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(cx.invalid(format!(
            "dashboard name {name:?} must be 1-255 of [A-Za-z0-9_-]"
        )))
    }
}

#[async_trait]
impl CloudWatchApi for SimAccount {
    async fn describe_alarms(
        &self,
        prefix: Option<&str>,
        next: Option<&str>,
    ) -> CloudResult<Page<ObservedAlarm>> {
        self.call(Op::DescribeAlarms, |cx| alarms::describe(cx, prefix, next))
            .await
    }

    async fn put_metric_alarm(&self, alarm: &AlarmSpec) -> CloudResult<()> {
        self.call(Op::PutMetricAlarm, |cx| alarms::put(cx, alarm))
            .await
    }

    async fn delete_alarms(&self, names: &[String]) -> CloudResult<()> {
        self.call(Op::DeleteAlarms, |cx| alarms::delete(cx, names))
            .await
    }

    async fn list_tags_for_resource(&self, arn: &str) -> CloudResult<Tags> {
        self.call(Op::CwListTagsForResource, |cx| {
            alarm_tags(cx, arn).map(|t| t.clone())
        })
        .await
    }

    async fn tag_resource(&self, arn: &str, tags: &Tags) -> CloudResult<()> {
        self.call(Op::CwTagResource, |cx| {
            let op = cx.op;
            tagging::merge(op, alarm_tags(cx, arn)?, tags)
        })
        .await
    }

    async fn untag_resource(&self, arn: &str, keys: &[String]) -> CloudResult<()> {
        self.call(Op::CwUntagResource, |cx| {
            tagging::remove(alarm_tags(cx, arn)?, keys);
            Ok(())
        })
        .await
    }

    async fn get_metric_data(
        &self,
        queries: &[MetricQuery],
        start: SystemTime,
        end: SystemTime,
        next: Option<&str>,
    ) -> CloudResult<MetricDataPage> {
        let op = Op::GetMetricData;
        self.admit(op).await?;
        // Evaluation can be heavy (a day of minutes for 500 queries), so it runs on a snapshot
        // outside the lock.
        let now = self.now();
        let result = metrics::validate(op, queries, start, end).and_then(|()| {
            let snap = {
                let mut st = lock(&self.state);
                st.settle(now);
                Snapshot::take(&st, queries, now)
            };
            metrics::evaluate(op, &snap, queries, start, end, next)
        });
        if result.is_err() {
            self.record_failure(op);
        }
        result
    }

    async fn put_metric_data(&self, namespace: &str, data: &[MetricDatum]) -> CloudResult<()> {
        self.call(Op::PutMetricData, |cx| {
            let (op, now) = (cx.op, cx.now);
            cx.st.custom_metrics.put(op, namespace, data, now)
        })
        .await
    }

    async fn put_dashboard(&self, name: &str, body: &str) -> CloudResult<()> {
        self.call(Op::PutDashboard, |cx| {
            check_dashboard_name(cx, name)?;
            let parsed: serde_json::Value = serde_json::from_str(body)
                .map_err(|e| cx.invalid(format!("DashboardBody is not valid JSON: {e}")))?;
            if !parsed
                .get("widgets")
                .is_some_and(serde_json::Value::is_array)
            {
                return Err(cx.invalid("DashboardBody must be an object with a widgets array"));
            }
            cx.st.dashboards.insert(name.to_string(), body.to_string());
            Ok(())
        })
        .await
    }

    async fn get_dashboard(&self, name: &str) -> CloudResult<Option<String>> {
        self.call(Op::GetDashboard, |cx| {
            Ok(cx.st.dashboards.get(name).cloned())
        })
        .await
    }

    async fn delete_dashboards(&self, names: &[String]) -> CloudResult<()> {
        self.call(Op::DeleteDashboards, |cx| {
            // CloudWatch deletes none when any named dashboard is missing.
            if let Some(missing) = names.iter().find(|n| !cx.st.dashboards.contains_key(*n)) {
                return Err(cx.not_found(format!("dashboard {missing} does not exist")));
            }
            for n in names {
                cx.st.dashboards.remove(n);
            }
            Ok(())
        })
        .await
    }
}
