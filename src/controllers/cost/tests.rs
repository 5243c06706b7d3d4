//! The cost model against hand-computed figures, and the controller's publish/read-back cycle.

use std::time::Duration;

use super::model::{FunctionUsage, TableUsage, Usage, estimate};
use super::settings::{HAIKU_3, SONNET_35, Settings};
use crate::model::{Architecture, Prices};

/// Dollars, untaxed: the model's arithmetic alone.
fn usd() -> Settings {
    Settings {
        currency: "USD".into(),
        usd_rate: 1.0,
        gst: 0.0,
        ..Settings::default()
    }
}

fn day() -> Usage {
    Usage {
        window: Duration::from_secs(86_400),
        students_source: "test".into(),
        ..Usage::default()
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * b.abs().max(1.0)
}

fn function(arch: Architecture, memory_mb: u32, invocations: f64, mean_ms: f64) -> FunctionUsage {
    FunctionUsage {
        architecture: arch,
        memory_mb,
        invocations,
        duration_ms: invocations * mean_ms,
        provisioned: 0,
    }
}

#[test]
fn each_component_matches_a_hand_computed_figure() {
    let p = Prices::default();
    // (what, usage, component, dollars a month), a day of usage × 30.
    let haiku = format!("bedrock:{HAIKU_3}");
    let cases: Vec<(&str, Usage, &str, f64)> = vec![
        (
            // 1 M invocations × 1 GB × 0.5 s = 500,000 GB-s × $0.0000166667 + $0.20, × 30.
            "x86 lambda",
            Usage {
                functions: vec![function(Architecture::X86_64, 1024, 1e6, 500.0)],
                ..day()
            },
            "lambda",
            (500_000.0 * 0.000_016_666_7 + 0.20) * 30.0,
        ),
        (
            // The same on arm64: $0.0000133334 per GB-s.
            "arm64 lambda",
            Usage {
                functions: vec![function(Architecture::Arm64, 1024, 1e6, 500.0)],
                ..day()
            },
            "lambda",
            (500_000.0 * 0.000_013_333_4 + 0.20) * 30.0,
        ),
        (
            // 2 instances × 2 GB × 86,400 s × $0.0000041667, × 30.
            "provisioned concurrency",
            Usage {
                functions: vec![FunctionUsage {
                    provisioned: 2,
                    ..function(Architecture::X86_64, 2048, 0.0, 0.0)
                }],
                ..day()
            },
            "provisioned_concurrency",
            2.0 * 2.0 * 86_400.0 * 0.000_004_166_7 * 30.0,
        ),
        (
            // 4 M reads × $0.125/M + 1 M writes × $0.625/M, × 30.
            "on-demand table",
            Usage {
                tables: vec![TableUsage::OnDemand {
                    read_units: 4e6,
                    write_units: 1e6,
                }],
                ..day()
            },
            "dynamodb",
            (0.5 + 0.625) * 30.0,
        ),
        (
            // 20 RCU × 24 h × $0.00013 + 10 WCU × 24 h × $0.00065, × 30.
            "provisioned table",
            Usage {
                tables: vec![TableUsage::Provisioned {
                    name: "orders".into(),
                    rcu_hours: Some(20.0 * 24.0),
                    wcu_hours: Some(10.0 * 24.0),
                }],
                ..day()
            },
            "dynamodb",
            (20.0 * 24.0 * 0.000_13 + 10.0 * 24.0 * 0.000_65) * 30.0,
        ),
        (
            // The table and its index: (5 + 5) RCU and (5 + 5) WCU over the day.
            "provisioned table with an index",
            Usage {
                tables: ["orders", "orders/index/by-customer"]
                    .map(|name| TableUsage::Provisioned {
                        name: name.into(),
                        rcu_hours: Some(5.0 * 24.0),
                        wcu_hours: Some(5.0 * 24.0),
                    })
                    .to_vec(),
                ..day()
            },
            "dynamodb",
            (10.0 * 24.0 * 0.000_13 + 10.0 * 24.0 * 0.000_65) * 30.0,
        ),
        (
            // 100 M input × $0.25/M + 20 M output × $1.25/M, × 30.
            "haiku tokens",
            Usage {
                tokens: [(HAIKU_3.to_string(), (1e8, 2e7))].into(),
                ..day()
            },
            &haiku,
            (25.0 + 25.0) * 30.0,
        ),
        (
            // Already monthly: 30 alarms × $0.10 + 2 metrics × $0.30.
            "cloudwatch",
            Usage {
                alarms: 30,
                published_metrics: 2,
                ..day()
            },
            "cloudwatch",
            3.6,
        ),
        (
            // 720,000 metrics a month × $0.01 per 1,000.
            "trimtab's reads",
            Usage {
                metrics_requested_per_month: 720_000.0,
                ..day()
            },
            "trimtab",
            7.2,
        ),
    ];
    for (what, usage, component, want) in &cases {
        let r = estimate(usage, &p, &usd());
        let got = r.component(component).unwrap_or_else(|| panic!("{what}: no {component}"));
        assert!(close(got, *want), "{what}: {got} ≠ {want}");
        assert!(close(r.total_monthly, *want), "{what}: the total is the one component");
    }
}

#[test]
fn warm_ups_are_shown_apart_and_taken_out_of_lambda() {
    let base = Usage {
        functions: vec![function(Architecture::X86_64, 1024, 1e6, 500.0)],
        ..day()
    };
    let lambda = estimate(&base, &Prices::default(), &usd()).total_monthly;
    let with = Usage {
        warmups_monthly: Some(1.5),
        ..base
    };
    let r = estimate(&with, &Prices::default(), &usd());
    assert!(close(r.component("warmups").unwrap(), 1.5));
    assert!(close(r.component("lambda").unwrap(), lambda - 1.5));
    assert!(close(r.total_monthly, lambda), "the total is unchanged");
}

#[test]
fn the_means_are_set_against_what_right_sizing_would_save() {
    let usage = Usage {
        functions: vec![FunctionUsage {
            provisioned: 1,
            ..function(Architecture::X86_64, 1024, 1e6, 500.0)
        }],
        warmups_monthly: Some(2.0),
        alarms: 10,
        right_sizing_available: Some(50.0),
        ..day()
    };
    let r = estimate(&usage, &Prices::default(), &usd());
    let means: f64 = ["warmups", "provisioned_concurrency", "cloudwatch", "trimtab"]
        .iter()
        .filter_map(|c| r.component(c))
        .sum();
    assert!(close(r.means_monthly, means));
    assert!(r.means_monthly > 2.0 + 1.0);
    assert_eq!(r.right_sizing_available, Some(50.0));
}

#[test]
fn currency_tax_and_students_scale_the_total() {
    let usage = Usage {
        functions: vec![function(Architecture::X86_64, 1024, 1e6, 500.0)],
        students: Some(1_000.0),
        ..day()
    };
    let dollars = estimate(&usage, &Prices::default(), &usd()).total_monthly;
    let inr = estimate(&usage, &Prices::default(), &Settings::default());
    assert_eq!(inr.currency, "INR");
    assert!(close(inr.total_monthly, dollars * 84.0 * 1.18));
    assert!(close(inr.per_student_monthly.unwrap(), inr.total_monthly / 1_000.0));
    // A week of usage projects to the same month as a day of a seventh of it.
    let week = Usage {
        window: Duration::from_secs(7 * 86_400),
        functions: vec![function(Architecture::X86_64, 1024, 7e6, 500.0)],
        ..usage.clone()
    };
    assert!(close(estimate(&week, &Prices::default(), &usd()).total_monthly, dollars));
}

#[test]
fn zero_students_give_no_per_student_figure_and_say_so() {
    let usage = Usage {
        functions: vec![function(Architecture::X86_64, 128, 10.0, 10.0)],
        students: Some(0.0),
        ..day()
    };
    let r = estimate(&usage, &Prices::default(), &usd());
    assert_eq!(r.per_student_monthly, None);
    assert!(r.warnings.iter().any(|w| w.contains("no active students")), "{r:?}");
}

#[test]
fn a_model_without_a_price_is_a_warning_not_a_silent_zero() {
    let usage = Usage {
        tokens: [
            ("meta.llama3-8b-instruct-v1:0".to_string(), (1e6, 1e5)),
            (HAIKU_3.to_string(), (0.0, 0.0)),
        ]
        .into(),
        ..day()
    };
    let r = estimate(&usage, &Prices::default(), &usd());
    assert!(r.component("bedrock:meta.llama3-8b-instruct-v1:0").is_none());
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("meta.llama3-8b-instruct-v1:0") && w.contains("no price")),
        "{r:?}"
    );
}

#[test]
fn the_cheap_model_share_counts_tokens() {
    let usage = Usage {
        tokens: [
            (HAIKU_3.to_string(), (900.0, 50.0)),
            (SONNET_35.to_string(), (40.0, 10.0)),
        ]
        .into(),
        ..day()
    };
    let r = estimate(&usage, &Prices::default(), &usd());
    assert!(close(r.cheap_model_share.unwrap(), 95.0));
}

#[test]
fn capacity_without_data_is_named_not_priced_as_zero() {
    let usage = Usage {
        tables: vec![TableUsage::Provisioned {
            name: "orders/index/by-customer".into(),
            rcu_hours: None,
            wcu_hours: Some(24.0),
        }],
        ..day()
    };
    let r = estimate(&usage, &Prices::default(), &usd());
    assert!(
        r.warnings
            .iter()
            .any(|w| w.starts_with("orders/index/by-customer: no ProvisionedRead")),
        "{:?}",
        r.warnings
    );
    assert!(close(r.total_monthly, 24.0 * 0.000_65 * 30.0));
}

#[test]
fn realised_and_available_savings_are_both_reported() {
    let usage = Usage {
        right_sizing_available: Some(50.0),
        right_sizing_realised: Some(20.0),
        ..day()
    };
    let r = estimate(&usage, &Prices::default(), &usd());
    assert_eq!(r.right_sizing_realised, Some(20.0));
    let text = crate::engine::render::cost_text(&r);
    assert!(
        text.contains("right-sizing: saves 20.00 USD a month already, 50.00 more to take"),
        "{text}"
    );
}

/// One hour's sum by binary search, and every hour's in one walk, is the filtered sum, bit for
/// bit, whatever order the series arrives in (newest first as CloudWatch returns it, oldest
/// first, or none), with repeated timestamps, hours without a point and an empty series. Hour 1
/// holds 0.1, 0.2 and 0.3, whose sum depends on the order they are added in (0.6000000000000001
/// one way, 0.6 the other), so a walk or a sort that reorders an hour's points fails.
#[test]
fn an_hours_sum_is_the_filtered_sum_in_any_order() {
    use std::time::{Duration, SystemTime};
    let t = |h: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_571_200 + h * 3600);
    let at = |points: &[(u64, f64)]| -> Vec<(SystemTime, f64)> {
        points.iter().map(|&(h, v)| (t(h), v)).collect()
    };
    let oldest_first = at(&[(0, 0.1), (1, 0.1), (1, 0.2), (1, 0.3), (3, 1e-17), (4, 3.0), (4, -0.0)]);
    let newest_first: Vec<_> = oldest_first.iter().rev().copied().collect();
    // In no order, hour 1's points apart but in their order: a stable sort keeps it.
    let none = at(&[(1, 0.1), (4, 3.0), (1, 0.2), (0, 0.1), (1, 0.3), (3, 1e-17), (4, -0.0)]);
    assert_ne!((-0.0 + 0.1 + 0.2 + 0.3f64).to_bits(), (-0.0 + 0.3 + 0.2 + 0.1f64).to_bits());
    for points in [&oldest_first, &newest_first, &none, &Vec::new()] {
        let series = super::Series::new(points);
        for hour in (0..6).map(t).map(Some).chain([None]) {
            let filtered = points
                .iter()
                .filter(|(at, _)| hour.is_none_or(|h| *at == h))
                .map(|(_, v)| v)
                .sum::<f64>()
                + 0.0;
            assert_eq!(series.sum(hour).to_bits(), filtered.to_bits(), "{points:?} {hour:?}");
        }
        // Every hour in one walk (hours with no point, and points at hours not asked for).
        for hours in [(0..6).map(t).collect::<Vec<_>>(), vec![t(1), t(2), t(4)], vec![t(3)], vec![]] {
            let sums = series.sums_by_hour(&hours);
            assert_eq!(sums.len(), hours.len());
            for (h, sum) in hours.iter().zip(sums) {
                let one = series.sum(Some(*h));
                assert_eq!(sum.to_bits(), one.to_bits(), "{points:?} {h:?} {hours:?}");
            }
        }
    }
}
