//! Right-sizing on the simulated account, in virtual time: functions converge near the
//! cheapest size that meets their objective (the oracle, from the traffic model's true
//! curve), through canaries on an alias and watched changes of `$LATEST`; a converged account
//! takes no writes; a restart mid-step resumes it; a deploy is respected.

mod support;

use support::sim::Harness;
use trimtab::cloud::Op;
use trimtab::model::{ResourceKind, SizingState, Write};

const CONFIG: &str = r#"
interval = "10m"

[cloud]
backend = "simulated"
region = "ap-south-1"

[observe]
metrics = false

[table_scaling]
enabled = false

[alarms.duration]
threshold_ms = 3000

[right_sizing]
mode = "auto"
alias = "live"
canary_window = "30m"

[right_sizing.timeout]
mode = "auto"

[[functions]]
name_prefix = "app-"
tier = "batch"

[simulated]
seed = 7

# Waits on a model API: its cheapest safe size is near its memory floor.
[[simulated.functions]]
name = "app-chat"
memory_mb = 1024
timeout_s = 30
peak_rps = 20
cpu_ms = 30
io_ms = 600
used_memory_mb = 110

# CPU-bound, single-threaded, behind the alias its callers use.
[[simulated.functions]]
name = "app-render"
memory_mb = 3008
timeout_s = 30
peak_rps = 5
cpu_ms = 700
io_ms = 40
parallelism = 1
used_memory_mb = 300
invoked_via = "live"
"#;

/// The cheapest size (1 MB steps) whose true p95 meets 3 s with no out-of-memory kills to
/// speak of, and the monthly-cost ratio of `chosen` to it (per invocation: duration × memory,
/// plus the request fee).
fn regret(h: &Harness, function: &str, chosen: u32) -> (u32, f64) {
    let cost = |mb: u32| {
        let mean = h.sim.true_duration_ms(function, mb, 50.0).unwrap();
        // Median → mean of the lognormal is a constant factor; it cancels in the ratio except
        // against the request fee, which is small: price with the median.
        mean / 1_000.0 * f64::from(mb) / 1_024.0 * 0.000_016_666_7 + 0.000_000_2
    };
    let oracle = (128..=10_240)
        .filter(|mb| {
            h.sim.true_duration_ms(function, *mb, 95.0).unwrap() <= 3_000.0
                && h.sim.true_oom_share(function, *mb).unwrap() < 1e-6
        })
        .min_by(|a, b| cost(*a).total_cmp(&cost(*b)))
        .unwrap();
    (oracle, cost(chosen) / cost(oracle) - 1.0)
}

fn memory_of(h: &Harness, function: &str) -> u32 {
    h.sim.with_state(|st| {
        let f = &st.functions[function];
        match f.aliases.get("live") {
            Some(a) => {
                let v: u32 = a.function_version.parse().unwrap();
                f.versions[&v].memory_mb
            }
            None => f.memory_mb,
        }
    })
}

#[tokio::test]
async fn converges_near_the_oracle_then_leaves_the_account_alone() {
    let h = Harness::new(CONFIG);
    let mut rollbacks = 0;
    // Ten simulated days, a cycle every ten minutes.
    for _ in 0..(10 * 24 * 6) {
        let r = h.cycle().await;
        assert_eq!(r.apply.failed(), 0, "{:?}", r.apply);
        rollbacks += r
            .plan
            .changes
            .iter()
            .filter(|c| c.kind == ResourceKind::FunctionConfig && c.reason.contains("rolling back"))
            .count();
    }
    for function in ["app-chat", "app-render"] {
        let chosen = memory_of(&h, function);
        let (oracle, regret) = regret(&h, function, chosen);
        assert!(
            regret <= 0.10,
            "{function}: {chosen} MB against the oracle's {oracle} MB: {:.1} % regret",
            regret * 100.0
        );
        assert!(
            h.sim.true_duration_ms(function, chosen, 95.0).unwrap() <= 3_000.0,
            "{function} breaches its objective at {chosen} MB"
        );
    }
    assert_eq!(rollbacks, 0, "no step should have needed undoing");
    // The render function went through its alias: each step a published version.
    let versions = h
        .sim
        .with_state(|st| st.functions["app-render"].versions.len());
    assert!(versions >= 2, "{versions}");

    // Converged: a day more of cycles makes no write at all.
    h.sim.reset_counters();
    for _ in 0..(24 * 6) {
        h.cycle().await;
    }
    let c = h.sim.counters();
    assert_eq!(c.write_calls(), 0, "writes after convergence: {c:?}");
    // And recommends nothing more.
    let plan = h.plan().await;
    for r in &plan.recommendations {
        assert!(
            matches!(r.state, SizingState::Optimal),
            "{}: {:?} {}",
            r.function,
            r.state,
            r.reason
        );
    }
}

/// Cycles until a step is in flight for `function`, returning the cycle's plan writes.
async fn until_step(h: &Harness, function: &str) -> Vec<Write> {
    for _ in 0..200 {
        let r = h.cycle().await;
        if let Some(c) = r
            .plan
            .changes
            .iter()
            .find(|c| c.id == function && c.kind == ResourceKind::FunctionConfig)
        {
            return c.writes.clone();
        }
    }
    panic!("no step began for {function}");
}

#[tokio::test]
async fn a_restart_mid_canary_finishes_it() {
    let h = Harness::new(CONFIG);
    let writes = until_step(&h, "app-render").await;
    assert!(matches!(writes[0], Write::TagFunction { .. }), "{writes:?}");
    // Publish and route the canary, then lose the process.
    for _ in 0..3 {
        h.cycle().await;
    }
    let routed = h
        .sim
        .with_state(|st| st.functions["app-render"].aliases["live"].routing.clone());
    assert!(routed.is_some(), "the canary is routed");
    // A fresh engine (no memory) reads the marker, the alias and the versions back, and
    // finishes the canary: the alias ends on one version, the marker settled.
    let fresh = h.fresh_engine();
    let token = tokio_util::sync::CancellationToken::new();
    for _ in 0..12 {
        h.clock.advance(h.desired.interval);
        fresh.cycle(&h.desired, &token).await.expect("cycle");
    }
    let (routing, tag) = h.sim.with_state(|st| {
        let f = &st.functions["app-render"];
        (
            f.aliases["live"].routing.clone(),
            f.tags.get("trimtab:rightsizing").cloned(),
        )
    });
    assert!(routing.is_none(), "the canary was finished: {routing:?}");
    let tag = tag.expect("marker");
    assert!(
        tag.contains("ph=settled") || tag.contains("ph=rolledback"),
        "{tag}"
    );
}

#[tokio::test]
async fn a_deploy_that_changes_memory_is_respected() {
    let mut h = Harness::new(CONFIG);
    until_step(&h, "app-chat").await;
    // Let the step settle.
    for _ in 0..12 {
        h.cycle().await;
    }
    // A deploy sets memory back to what the template says.
    h.sim.with_state(|st| {
        let f = st.functions.get_mut("app-chat").unwrap();
        f.memory_mb = 1024;
        f.revision += 1;
        f.code += 1;
    });
    h.sim.reset_counters();
    let r = h.cycle().await;
    assert!(
        r.plan
            .refusals
            .iter()
            .any(|x| x.id == "app-chat" && x.reason.contains("someone else changed it")),
        "{:?}",
        r.plan.refusals
    );
    for _ in 0..50 {
        h.cycle().await;
    }
    assert_eq!(h.sim.counters().calls(Op::UpdateFunctionConfiguration), 0);
    assert_eq!(memory_of(&h, "app-chat"), 1024);
    // Listing it in `resume` takes it back, with the deployed size as the new baseline.
    h.reconfigure(&CONFIG.replace(
        "canary_window = \"30m\"",
        "canary_window = \"30m\"\nresume = [\"app-chat\"]",
    ));
    h.cycle().await;
    let tag = h
        .sim
        .with_state(|st| {
            st.functions["app-chat"]
                .tags
                .get("trimtab:rightsizing")
                .cloned()
        })
        .unwrap_or_default();
    assert!(tag.contains("mem=1024"), "{tag}");
}
