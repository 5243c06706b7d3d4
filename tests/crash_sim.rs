//! Crash safety: a process killed at any write of a large apply leaves an account that the next
//! process finishes, with nothing lost, duplicated or wrongly disowned, and whose `plan` then
//! says "no changes" truthfully: the account, listed independently of trimtab, is the account a
//! clean run makes.
//!
//! The kill is a fault that lets the first `k` writes through and fails every write after
//! (no write reaches the account after the crash point, as in `kill -9`); the restart is a
//! fresh engine with empty memory on the same account. `k` runs over every write of the
//! clean apply.

mod support;

use serde_json::{Value, json};
use support::sim::Harness;

/// Every kind trimtab writes: a topic and subscription, alarms, reserved and provisioned
/// concurrency with its alias and scalable target, a warm-up rule with its target and
/// permission, table and index auto scaling, and the dashboard.
const CONFIG: &str = r#"
interval = "60s"

[cloud]
backend = "simulated"
region = "eu-west-1"

[notifications]
topic = "alerts"
emails = ["oncall@example.com"]

[cold_start]
manage_alias = true

[observe]
metrics = false

[cost]
enabled = false

# Metric-driven controllers are covered elsewhere; here only what is written matters.
[alarm_data]
enabled = false

[[functions]]
name = "api"
tier = "critical"
reserved_concurrency = 20

[[functions]]
name = "search"
tier = "standard"

[[functions]]
name = "batch"
tier = "batch"

[[tables]]
name = "sessions"

[simulated]
seed = 11

[[simulated.functions]]
name = "api"
memory_mb = 1024

[[simulated.functions]]
name = "search"

[[simulated.functions]]
name = "batch"

[[simulated.tables]]
name = "sessions"
billing_mode = "provisioned"
indexes = ["by-user"]
read_capacity = 10
write_capacity = 10
"#;

/// The account as AWS would list it, leaving out what AWS names with fresh ids (ARN suffixes,
/// Application Auto Scaling's own alarms) and what only time changes.
fn listing(h: &Harness) -> Value {
    h.sim.with_state(|st| {
        let functions: Vec<Value> = st
            .functions
            .values()
            .map(|f| {
                json!({
                    "name": f.name,
                    "memory": f.memory_mb,
                    "reserved": f.reserved_concurrency,
                    "tags": f.tags,
                    "aliases": f.aliases.keys().collect::<Vec<_>>(),
                    "provisioned": f.provisioned.iter().map(|(q, p)| (q.clone(), p.requested)).collect::<Vec<_>>(),
                    "permissions": f.permissions.iter().map(|p| p.statement_id.clone()).collect::<Vec<_>>(),
                })
            })
            .collect();
        let alarms: Vec<Value> = st
            .alarms
            .values()
            .filter(|a| !a.spec.name.starts_with("TargetTracking-"))
            .map(|a| json!({"name": a.spec.name, "threshold": a.spec.threshold, "tags": a.spec.tags}))
            .collect();
        let topics: Vec<Value> = st
            .topics
            .values()
            .map(|t| {
                json!({
                    "name": t.name,
                    "tags": t.tags,
                    "subscriptions": t.subscriptions.iter().map(|s| s.endpoint.clone()).collect::<Vec<_>>(),
                })
            })
            .collect();
        let rules: Vec<Value> = st
            .rules
            .values()
            .map(|r| json!({"rule": r.rule, "tags": r.tags, "targets": r.targets.keys().collect::<Vec<_>>()}))
            .collect();
        let targets: Vec<Value> = st
            .scalable_targets
            .iter()
            .map(|t| json!([t.resource_id, t.dimension, t.min_capacity, t.max_capacity, t.tags]))
            .collect();
        let policies: Vec<Value> = st
            .scaling_policies
            .iter()
            .map(|p| json!([p.policy.name, p.policy.resource_id, p.policy.target_value, p.alarm_names.len()]))
            .collect();
        json!({
            "functions": functions,
            "alarms": alarms,
            "topics": topics,
            "rules": rules,
            "targets": targets,
            "policies": policies,
            "dashboards": st.dashboards.keys().collect::<Vec<_>>(),
        })
    })
}

/// Cycles until a cycle plans nothing (at most `max`); how many it took.
async fn converge(h: &Harness, max: usize) -> usize {
    for n in 1..=max {
        let r = h.cycle().await;
        if r.plan.changes.is_empty() {
            return n;
        }
    }
    panic!("did not converge in {max} cycles");
}

/// The kill points `k ≡ part (mod PARTS)` of the clean apply's writes; the parts run as
/// separate tests, so in parallel.
const PARTS: u64 = 2;

async fn kill_points(part: u64) {
    // The clean run: how many writes the first apply makes, and the account it leaves.
    let clean = Harness::new(CONFIG);
    clean.sim.reset_counters();
    clean.cycle().await;
    let writes = clean.sim.counters().write_calls();
    let clean_cycles = converge(&clean, 10).await;
    let want = listing(&clean);
    assert!(writes >= 30, "a large apply: {writes} writes");

    let mut trials = 0;
    for k in (part..writes).step_by(PARTS as usize) {
        let mut h = Harness::new(CONFIG);
        // The process that dies: every write after the k-th fails, as if it had been killed.
        h.faults.crash_after_writes(Some(k));
        h.cycle().await;
        // The next process: empty memory, the same account, no fault.
        h.faults.crash_after_writes(None);
        h.engine = h.fresh_engine();
        let cycles = converge(&h, clean_cycles + 3).await;
        assert!(
            cycles <= clean_cycles + 1,
            "crash after write {k}: {cycles} cycles to converge (clean: {clean_cycles})"
        );
        // A third process's plan: nothing to do, nothing refused, and it is true.
        h.engine = h.fresh_engine();
        let plan = h.plan().await;
        assert!(
            plan.changes.is_empty() && plan.refusals.is_empty(),
            "crash after write {k}: plan after convergence: {plan:#?}"
        );
        assert_eq!(
            listing(&h),
            want,
            "crash after write {k}: the account differs from a clean run's"
        );
        trials += 1;
    }
    eprintln!(
        "{trials} kill points (k ≡ {part} mod {PARTS}) over a {writes}-write apply: all converged in one apply, plans clean and true"
    );
}

#[tokio::test]
async fn a_crash_at_any_even_write_is_finished_by_the_next_process() {
    kill_points(0).await;
}

#[tokio::test]
async fn a_crash_at_any_odd_write_is_finished_by_the_next_process() {
    kill_points(1).await;
}

/// "No changes" after a restart is verified, not inferred: the first observation of a process
/// reads everything it manages, not the daemon's rotating share. Warm-up permissions removed
/// behind trimtab's back on 8 of 12 functions are all in the next process's first plan.
#[tokio::test]
async fn the_first_plan_of_a_process_verifies_everything_it_manages() {
    let mut config = String::from(
        r#"
interval = "60s"

[cloud]
backend = "simulated"
region = "eu-west-1"

[observe]
metrics = false

[cost]
enabled = false

[alarm_data]
enabled = false

[[functions]]
name_prefix = "w-"
tier = "standard"

[simulated]
seed = 3
"#,
    );
    for i in 0..12 {
        config.push_str(&format!("\n[[simulated.functions]]\nname = \"w-{i:02}\"\n"));
    }
    let mut h = Harness::new(&config);
    converge(&h, 5).await;
    h.sim.with_state(|st| {
        for (i, f) in st.functions.values_mut().enumerate() {
            if i < 8 {
                f.permissions.clear();
            }
        }
    });
    h.engine = h.fresh_engine();
    let plan = h.plan().await;
    let repairs = plan
        .changes
        .iter()
        .filter(|c| c.kind == trimtab::model::ResourceKind::Permission)
        .count();
    assert_eq!(repairs, 8, "{plan:#?}");
}
