//! Table-driven tests of the reserved-concurrency controller.

use super::*;
use crate::controllers::fixtures::{
    apply, desired, function_rule, observed, with_detail, with_details,
};
use crate::model::{AccountConcurrency, Phase, Tier};

/// The reserved-concurrency controller's plan with the settings in `d`.
fn plan(d: &Desired, o: &Observed) -> Plan {
    super::plan(d, &d.controllers.concurrency, o)
}

const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:api";

fn account(limit: u32, unreserved: u32) -> Option<AccountConcurrency> {
    Some(AccountConcurrency { limit, unreserved })
}

/// `api` reserves `api`, `worker-*` reserve `workers`, `worker-b` (own rule) reserves `b`.
fn wanting(api: Option<u32>, workers: Option<u32>, b: Option<u32>) -> Desired {
    let mut d = desired();
    d.functions[0].settings.concurrency = api;
    d.functions[1].settings.concurrency = workers;
    let mut rule_b = function_rule("worker-b", Tier::Batch);
    rule_b.settings.concurrency = b;
    d.functions.insert(0, rule_b);
    d
}

fn ids(plan: &Plan) -> Vec<(&str, Action, Phase)> {
    plan.changes
        .iter()
        .map(|c| (c.id.as_str(), c.action, c.phase))
        .collect()
}

#[test]
fn converges_from_empty_marker_first() {
    let d = wanting(Some(50), Some(10), None);
    let mut o = with_details(observed());
    o.account_concurrency = account(1000, 1000);
    let plan = plan(&d, &o);
    assert_eq!(
        ids(&plan),
        vec![
            ("api", Action::Create, Phase::Build),
            ("worker-a", Action::Create, Phase::Build)
        ]
    );
    assert_eq!(
        plan.changes[0].writes,
        vec![
            Write::TagFunction {
                arn: ARN.into(),
                tags: Tags::from([(TAG_RESERVED.to_string(), "50".to_string())]),
            },
            Write::PutFunctionConcurrency {
                function: "api".into(),
                reserved: 50
            },
        ]
    );
    assert!(plan.refusals.is_empty(), "{plan:#?}");

    let after = apply(&o, &plan);
    assert_eq!(after.account_concurrency, account(1000, 940));
    let again = self::plan(&d, &after);
    assert!(
        again.changes.is_empty() && again.refusals.is_empty(),
        "{again:#?}"
    );
}

#[test]
fn each_case_of_desired_live_and_marker() {
    struct Case {
        name: &'static str,
        want: Option<u32>,
        live: Option<u32>,
        marker: Option<&'static str>,
        action: Option<Action>,
        writes: Vec<Write>,
        reason: &'static str,
    }
    let tag = |v: &str| Write::TagFunction {
        arn: ARN.into(),
        tags: Tags::from([(TAG_RESERVED.to_string(), v.to_string())]),
    };
    let put = |n| Write::PutFunctionConcurrency {
        function: "api".into(),
        reserved: n,
    };
    let untag = Write::UntagFunction {
        arn: ARN.into(),
        keys: vec![TAG_RESERVED.into()],
    };
    let delete = Write::DeleteFunctionConcurrency {
        function: "api".into(),
    };
    let cases = vec![
        Case {
            name: "set from nothing",
            want: Some(50),
            live: None,
            marker: None,
            action: Some(Action::Create),
            writes: vec![tag("50"), put(50)],
            reason: "none reserved now",
        },
        Case {
            name: "in sync",
            want: Some(50),
            live: Some(50),
            marker: Some("50"),
            action: None,
            writes: vec![],
            reason: "",
        },
        Case {
            name: "same value someone else set",
            want: Some(50),
            live: Some(50),
            marker: None,
            action: None,
            writes: vec![],
            reason: "",
        },
        Case {
            name: "override another value",
            want: Some(50),
            live: Some(80),
            marker: None,
            action: Some(Action::Update),
            writes: vec![tag("50"), put(50)],
            reason: "80 reserved now",
        },
        Case {
            name: "crash after marker",
            want: Some(50),
            live: Some(20),
            marker: Some("50"),
            action: Some(Action::Update),
            writes: vec![tag("50"), put(50)],
            reason: "20 reserved now",
        },
        Case {
            name: "ours, no longer wanted",
            want: None,
            live: Some(50),
            marker: Some("50"),
            action: Some(Action::Delete),
            writes: vec![delete, untag.clone()],
            reason: "trimtab reserved 50",
        },
        Case {
            name: "changed by someone since",
            want: None,
            live: Some(70),
            marker: Some("50"),
            action: Some(Action::Update),
            writes: vec![untag.clone()],
            reason: "someone else changed it",
        },
        Case {
            name: "value gone, marker left",
            want: None,
            live: None,
            marker: Some("50"),
            action: Some(Action::Update),
            writes: vec![untag],
            reason: "nothing is reserved now",
        },
        Case {
            name: "someone else's value",
            want: None,
            live: Some(70),
            marker: None,
            action: None,
            writes: vec![],
            reason: "",
        },
        Case {
            name: "nothing anywhere",
            want: None,
            live: None,
            marker: None,
            action: None,
            writes: vec![],
            reason: "",
        },
    ];
    for c in cases {
        let d = wanting(c.want, None, None);
        let tags: Vec<(&str, &str)> = c.marker.map(|m| (TAG_RESERVED, m)).into_iter().collect();
        let mut o = with_detail(observed(), "api", &tags, c.live);
        o.account_concurrency = account(1000, 900);
        let plan = plan(&d, &o);
        assert!(plan.refusals.is_empty(), "{}: {plan:#?}", c.name);
        match c.action {
            None => assert!(plan.changes.is_empty(), "{}: {plan:#?}", c.name),
            Some(action) => {
                let [change] = plan.changes.as_slice() else {
                    panic!("{}: one change expected: {plan:#?}", c.name)
                };
                assert_eq!(
                    (change.kind, change.id.as_str(), change.action),
                    (ResourceKind::ReservedConcurrency, "api", action),
                    "{}",
                    c.name
                );
                assert_eq!(change.writes, c.writes, "{}", c.name);
                assert!(
                    change.reason.contains(c.reason),
                    "{}: {}",
                    c.name,
                    change.reason
                );
            }
        }
    }
}

#[test]
fn releases_run_a_phase_before_increases() {
    let d = wanting(Some(100), None, Some(30));
    let o = with_detail(
        with_detail(observed(), "api", &[], None),
        "worker-b",
        &[(TAG_RESERVED, "80")],
        Some(80),
    );
    let mut o = o;
    o.account_concurrency = account(1000, 500);
    let plan = plan(&d, &o);
    let phase = |id: &str| plan.changes.iter().find(|c| c.id == id).map(|c| c.phase);
    assert_eq!(phase("worker-b"), Some(Phase::Prepare));
    assert_eq!(phase("api"), Some(Phase::Build));
}

#[test]
fn budget_guard_refuses_every_increase_and_keeps_decreases() {
    let d = wanting(Some(200), Some(100), Some(30));
    let base = with_detail(
        with_detail(
            with_detail(observed(), "api", &[], None),
            "worker-a",
            &[],
            None,
        ),
        "worker-b",
        &[(TAG_RESERVED, "50")],
        Some(50),
    );
    struct Case {
        name: &'static str,
        unreserved: u32,
        refused: Option<&'static str>,
    }
    let cases = [
        Case {
            name: "below the floor",
            unreserved: 330,
            refused: Some(
                "reserving 300 more (api +200, worker-a +100) while releasing 20 (worker-b −20) would leave 50 of 1000 unreserved, below the floor of 100",
            ),
        },
        Case {
            name: "exactly the floor",
            unreserved: 380,
            refused: None,
        },
    ];
    for c in cases {
        let mut o = base.clone();
        o.account_concurrency = account(1000, c.unreserved);
        let plan = plan(&d, &o);
        match c.refused {
            Some(reason) => {
                assert_eq!(
                    ids(&plan),
                    vec![("worker-b", Action::Update, Phase::Prepare)],
                    "{}",
                    c.name
                );
                let refused: Vec<(&str, &str)> = plan
                    .refusals
                    .iter()
                    .map(|r| (r.id.as_str(), r.reason.as_str()))
                    .collect();
                assert_eq!(
                    refused,
                    vec![("api", reason), ("worker-a", reason)],
                    "{}",
                    c.name
                );
            }
            None => {
                assert_eq!(plan.changes.len(), 3, "{}: {plan:#?}", c.name);
                assert!(plan.refusals.is_empty(), "{}", c.name);
            }
        }
    }

    // Increases only: the issue's own example.
    let d = wanting(Some(200), Some(100), None);
    let mut o = with_detail(
        with_detail(observed(), "api", &[], None),
        "worker-a",
        &[],
        None,
    );
    o.account_concurrency = account(1000, 350);
    let plan = plan(&d, &o);
    assert!(plan.changes.is_empty());
    assert_eq!(
        plan.refusals[0].reason,
        "reserving 300 more (api +200, worker-a +100) would leave 50 of 1000 unreserved, below the floor of 100"
    );
}

#[test]
fn unread_account_settings_refuse_increases_only() {
    let d = wanting(Some(200), None, Some(30));
    let o = with_detail(
        with_detail(observed(), "api", &[], None),
        "worker-b",
        &[(TAG_RESERVED, "50")],
        Some(50),
    );
    let plan = plan(&d, &o);
    assert_eq!(
        ids(&plan),
        vec![("worker-b", Action::Update, Phase::Prepare)]
    );
    let [refusal] = plan.refusals.as_slice() else {
        panic!("{plan:#?}")
    };
    assert_eq!(refusal.id, "api");
    assert!(
        refusal.reason.contains("GetAccountSettings"),
        "{}",
        refusal.reason
    );
    assert!(
        refusal.reason.contains("floor of 100"),
        "{}",
        refusal.reason
    );
}

#[test]
fn unread_or_unknown_functions_are_left_alone() {
    let d = wanting(Some(50), Some(10), None);
    // `api` unread (no detail), `worker-a` read but unknown (a later read failed).
    let mut o = with_detail(observed(), "worker-a", &[(TAG_RESERVED, "5")], Some(5));
    o.unknown_functions.insert("worker-a".into());
    o.account_concurrency = account(1000, 1000);
    assert_eq!(plan(&d, &o), Plan::default());
}
