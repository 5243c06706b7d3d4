//! `CloudWatchApi` on the simulated account: alarms (via `alarms`), alarm tags, metric reads
//! and writes (via `metrics`), and dashboards.

use std::time::SystemTime;

use async_trait::async_trait;

use crate::cloud::{CloudResult, CloudWatchApi, Op};
use crate::model::{
    AlarmSpec, MetricDataPage, MetricDatum, MetricId, MetricQuery, ObservedAlarm, Page, Tags,
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

/// ListMetrics returns at most this many series a page.
const LIST_METRICS_PAGE: usize = 500;

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
        let result = self.cpu_measure(|| {
            metrics::validate(op, queries, start, end).and_then(|()| {
                let snap = {
                    let mut st = lock(&self.state);
                    st.settle(now);
                    Snapshot::take(&st, queries, now)
                };
                metrics::evaluate(op, &self.minutes, &snap, queries, start, end, next)
            })
        });
        if result.is_err() {
            self.record_failure(op);
        }
        result
    }

    async fn list_metrics(
        &self,
        namespace: &str,
        name: &str,
        next: Option<&str>,
    ) -> CloudResult<Page<MetricId>> {
        self.call(Op::ListMetrics, |cx| {
            let all = super::sources::listed(cx.st, namespace, name, cx.now);
            // Keyed by the series' dimensions, which are unique within one metric name.
            let mut keyed: Vec<(String, MetricId)> = all
                .into_iter()
                .map(|id| {
                    let key: Vec<String> = id
                        .dimensions
                        .iter()
                        .map(|d| format!("{}={}", d.name, d.value))
                        .collect();
                    (key.join(","), id)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.cmp(&b.0));
            super::paging::page(cx.op, keyed, next, LIST_METRICS_PAGE)
        })
        .await
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::testkit::{MINUTE, account, alarm};
    use crate::clock::Clock;
    use crate::cloud::ErrorKind;
    use crate::model::{
        AlarmMetric, Dimension, MathQuery, MetricDatum, MetricId, MetricQuery, MetricStat, Tags,
    };

    #[tokio::test]
    async fn describe_alarms_pages_by_100_and_filters_by_prefix() {
        let (acct, _clock) = account(vec![]);
        acct.with_state(|s| {
            for i in 0..250 {
                let a = alarm(&format!("trimtab-{i:03}"));
                let arn = s.alarm_arn(&a.name);
                s.alarms.insert(
                    a.name.clone(),
                    super::super::AlarmRecord {
                        arn,
                        spec: a,
                        state: crate::model::AlarmState::Ok,
                        updated_at: std::time::SystemTime::UNIX_EPOCH,
                    },
                );
            }
        });
        let cw = acct.cloud().cloudwatch;
        let (mut sizes, mut next, mut names) = (Vec::new(), None, Vec::new());
        loop {
            let p = cw.describe_alarms(Some("trimtab-"), next.as_deref()).await;
            let p = p.unwrap_or_else(|e| panic!("{e}"));
            sizes.push(p.items.len());
            assert!(
                p.items.iter().all(|a| a.spec.tags.is_empty()),
                "no tags in DescribeAlarms"
            );
            names.extend(p.items.into_iter().map(|a| a.spec.name));
            match p.next {
                Some(n) => next = Some(n),
                None => break,
            }
        }
        assert_eq!(sizes, vec![100, 100, 50]);
        assert_eq!(names.len(), 250);
        let other = cw.describe_alarms(Some("trimtab-24"), None).await;
        assert_eq!(other.map(|p| p.items.len()).ok(), Some(10));
    }

    #[tokio::test]
    async fn put_metric_alarm_ignores_tags_on_update_and_tag_resource_changes_them() {
        let (acct, clock) = account(vec![]);
        let cw = acct.cloud().cloudwatch;
        let mut a = alarm("trimtab-errors");
        assert!(cw.put_metric_alarm(&a).await.is_ok());
        let arn = acct.with_state(|s| s.alarm_arn("trimtab-errors"));
        assert_eq!(
            arn,
            "arn:aws:cloudwatch:ap-south-1:123456789012:alarm:trimtab-errors"
        );
        let first = cw
            .describe_alarms(None, None)
            .await
            .ok()
            .and_then(|p| p.items.first().cloned());

        clock.advance(MINUTE);
        a.threshold = 5.0;
        a.tags = [("owner".to_string(), "someone".to_string())].into();
        assert!(cw.put_metric_alarm(&a).await.is_ok());
        let tags = cw.list_tags_for_resource(&arn).await.unwrap_or_default();
        assert_eq!(tags, Tags::from([("managed-by", "trimtab")]));
        let second = cw
            .describe_alarms(None, None)
            .await
            .ok()
            .and_then(|p| p.items.first().cloned());
        assert_eq!(second.as_ref().map(|o| o.spec.threshold), Some(5.0));
        assert_ne!(
            first.and_then(|o| o.updated_at),
            second.and_then(|o| o.updated_at)
        );

        assert!(cw.tag_resource(&arn, &a.tags).await.is_ok());
        assert!(
            cw.untag_resource(&arn, &["managed-by".into()])
                .await
                .is_ok()
        );
        let tags = cw.list_tags_for_resource(&arn).await.unwrap_or_default();
        assert_eq!(tags, a.tags);
        let missing = cw
            .list_tags_for_resource(&arn.replace("errors", "nope"))
            .await;
        assert_eq!(missing.err().map(|e| e.kind), Some(ErrorKind::NotFound));
    }

    #[tokio::test]
    async fn invalid_alarms_are_rejected() {
        let (acct, _clock) = account(vec![]);
        let cw = acct.cloud().cloudwatch;
        let stat = |i: usize| MathQuery::Stat {
            id: format!("m{i}"),
            stat: MetricStat {
                metric: MetricId::new(
                    "AWS/Lambda",
                    "Errors",
                    vec![Dimension::new("FunctionName", format!("f{i}"))],
                ),
                period_s: 60,
                stat: "Sum".into(),
            },
            return_data: false,
        };
        let expr = MathQuery::Expression {
            id: "e".into(),
            expression: "SUM(METRICS())".into(),
            label: None,
            return_data: true,
        };
        let mut math = alarm("math");
        math.metric = AlarmMetric::Math((0..10).map(stat).chain([expr.clone()]).collect());
        assert!(
            cw.put_metric_alarm(&math).await.is_ok(),
            "10 metrics are allowed"
        );
        math.metric = AlarmMetric::Math((0..11).map(stat).chain([expr]).collect());
        let mut dta = alarm("dta");
        dta.datapoints_to_alarm = 4;
        let mut nan = alarm("nan");
        nan.threshold = f64::NAN;
        for bad in [math, dta, nan] {
            let e = cw.put_metric_alarm(&bad).await.err();
            assert_eq!(e.map(|e| e.kind), Some(ErrorKind::Invalid), "{}", bad.name);
        }
    }

    #[tokio::test]
    async fn delete_alarms_ignores_unknown_names_and_takes_at_most_100() {
        let (acct, _clock) = account(vec![]);
        let cw = acct.cloud().cloudwatch;
        assert!(cw.put_metric_alarm(&alarm("a")).await.is_ok());
        assert!(
            cw.delete_alarms(&["a".into(), "ghost".into()])
                .await
                .is_ok()
        );
        assert_eq!(acct.with_state(|s| s.alarms.len()), 0);
        let many: Vec<String> = (0..101).map(|i| format!("x{i}")).collect();
        let e = cw.delete_alarms(&many).await.err();
        assert_eq!(e.map(|e| e.kind), Some(ErrorKind::Invalid));
    }

    fn query(id: &str, metric: MetricId, period_s: u32, stat: &str) -> MetricQuery {
        MetricQuery {
            id: id.into(),
            stat: MetricStat {
                metric,
                period_s,
                stat: stat.into(),
            },
        }
    }

    #[tokio::test]
    async fn put_metric_data_is_read_back_with_every_statistic_and_never_from_the_future() {
        let (acct, clock) = account(vec![]);
        let cw = acct.cloud().cloudwatch;
        let metric = MetricId::new("Trimtab/App", "CacheHits", vec![]);
        let t0 = clock.now();
        let data: Vec<MetricDatum> = (1..=100)
            .map(|i| MetricDatum {
                metric: metric.clone(),
                timestamp: t0 - Duration::from_secs(120) + Duration::from_secs(i),
                value: f64::from(i as u32),
                unit: None,
            })
            .collect();
        assert!(cw.put_metric_data("Trimtab/App", &data).await.is_ok());
        let reserved = cw.put_metric_data("AWS/Lambda", &data).await.err();
        assert_eq!(reserved.map(|e| e.kind), Some(ErrorKind::Invalid));

        let stats = ["Sum", "Average", "Minimum", "Maximum", "SampleCount", "p90"];
        let qs: Vec<MetricQuery> = stats
            .iter()
            .enumerate()
            .map(|(i, s)| query(&format!("q{i}"), metric.clone(), 300, s))
            .collect();
        let page = cw
            .get_metric_data(
                &qs,
                t0 - Duration::from_secs(300),
                t0 + Duration::from_secs(600),
                None,
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let values: Vec<f64> = page
            .series
            .iter()
            .map(|s| s.points.first().map_or(f64::NAN, |p| p.1))
            .collect();
        assert_eq!(values, vec![5050.0, 50.5, 1.0, 100.0, 100.0, 90.0]);
        assert!(
            page.series
                .iter()
                .all(|s| s.points.iter().all(|(t, _)| *t < t0))
        );

        // A value put "now" is not readable until time passes.
        let now_datum = MetricDatum {
            metric: metric.clone(),
            timestamp: t0,
            value: 1.0,
            unit: None,
        };
        assert!(
            cw.put_metric_data("Trimtab/App", &[now_datum])
                .await
                .is_ok()
        );
        let q = [query("n", metric.clone(), 60, "SampleCount")];
        let count_at = |p: crate::model::MetricDataPage| p.series[0].points.first().map(|p| p.1);
        let page = cw.get_metric_data(&q, t0, t0 + MINUTE, None).await;
        assert_eq!(page.ok().and_then(count_at), None);
        clock.advance(MINUTE);
        let page = cw.get_metric_data(&q, t0, t0 + MINUTE, None).await;
        assert_eq!(page.ok().and_then(count_at), Some(1.0));
    }

    #[tokio::test]
    async fn get_metric_data_validates_its_request() {
        let (acct, clock) = account(vec![]);
        let cw = acct.cloud().cloudwatch;
        let m = MetricId::new("Trimtab/App", "X", vec![]);
        let t = clock.now();
        let too_many: Vec<MetricQuery> = (0..501)
            .map(|i| query(&format!("q{i}"), m.clone(), 60, "Sum"))
            .collect();
        let cases: Vec<(
            Vec<MetricQuery>,
            std::time::SystemTime,
            std::time::SystemTime,
        )> = vec![
            (too_many, t - MINUTE, t),
            (vec![query("Upper", m.clone(), 60, "Sum")], t - MINUTE, t),
            (vec![query("q", m.clone(), 45, "Sum")], t - MINUTE, t),
            (vec![query("q", m.clone(), 60, "Median")], t - MINUTE, t),
            (
                vec![
                    query("q", m.clone(), 60, "Sum"),
                    query("q", m.clone(), 60, "Sum"),
                ],
                t - MINUTE,
                t,
            ),
            (vec![query("q", m.clone(), 60, "Sum")], t, t - MINUTE),
        ];
        for (qs, start, end) in cases {
            let e = cw.get_metric_data(&qs, start, end, None).await.err();
            assert_eq!(e.map(|e| e.kind), Some(ErrorKind::Invalid));
        }
        let ok: Vec<MetricQuery> = (0..500)
            .map(|i| query(&format!("q{i}"), m.clone(), 60, "Sum"))
            .collect();
        assert!(cw.get_metric_data(&ok, t - MINUTE, t, None).await.is_ok());
    }

    #[tokio::test]
    async fn dashboards_round_trip_and_delete_fails_on_unknown_names() {
        let (acct, _clock) = account(vec![]);
        let cw = acct.cloud().cloudwatch;
        assert!(cw.put_dashboard("ops", r#"{"widgets":[]}"#).await.is_ok());
        assert!(cw.put_dashboard("bad", "not json").await.is_err());
        assert_eq!(
            cw.get_dashboard("ops").await.ok().flatten().as_deref(),
            Some(r#"{"widgets":[]}"#)
        );
        assert_eq!(cw.get_dashboard("none").await.ok(), Some(None));
        let e = cw
            .delete_dashboards(&["ops".into(), "none".into()])
            .await
            .err();
        assert_eq!(e.map(|e| e.kind), Some(ErrorKind::NotFound));
        assert!(cw.delete_dashboards(&["ops".into()]).await.is_ok());
    }
}
