//! A simulated account, an engine on it and a virtual clock: what every engine-level test
//! starts from.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use trimtab::clock::ManualClock;
use trimtab::cloud::faults::FaultInjector;
use trimtab::cloud::sim::SimAccount;
use trimtab::cloud::{Cloud, CloudWatchApi};
use trimtab::config;
use trimtab::engine::{CycleReport, Engine};
use trimtab::model::{Desired, Plan};
use trimtab::telemetry::Telemetry;

pub struct Harness {
    pub clock: Arc<ManualClock>,
    pub sim: Arc<SimAccount>,
    /// Faults injected in front of the account (`[simulated.faults]`, or set by the test).
    pub faults: Arc<FaultInjector>,
    pub engine: Engine,
    pub desired: Desired,
}

pub fn parse(text: &str) -> Desired {
    config::parse(text, "test.toml").unwrap_or_else(|e| panic!("test config is invalid:\n{e}"))
}

impl Harness {
    pub fn new(text: &str) -> Self {
        let desired = parse(text);
        let clock = Arc::new(ManualClock::at_epoch());
        let sim = SimAccount::new(
            &desired.cloud.simulated,
            &desired.cloud.region,
            clock.clone(),
        )
        .expect("sim");
        let faults = FaultInjector::new(
            desired.cloud.simulated.faults.clone(),
            desired.cloud.simulated.seed,
            clock.clone(),
        );
        let engine = Self::engine_on(faults.wrap(sim.cloud()), &clock, &desired);
        Self {
            clock,
            sim,
            faults,
            engine,
            desired,
        }
    }

    /// The account as the engine sees it: behind the fault injector.
    pub fn cloud(&self) -> Cloud {
        self.faults.wrap(self.sim.cloud())
    }

    fn engine_on(cloud: Cloud, clock: &Arc<ManualClock>, desired: &Desired) -> Engine {
        Engine::new(
            cloud,
            clock.clone(),
            Telemetry::new().expect("telemetry"),
            desired,
        )
    }

    /// A fresh engine (empty caches, new metrics) on the same account, as after a restart.
    pub fn fresh_engine(&self) -> Engine {
        Self::engine_on(self.cloud(), &self.clock, &self.desired)
    }

    /// Puts a wrapper (a failure injector, say) in front of the account's CloudWatch.
    pub fn with_cloudwatch(
        mut self,
        wrap: impl FnOnce(Arc<dyn CloudWatchApi>) -> Arc<dyn CloudWatchApi>,
    ) -> Self {
        let mut cloud = self.cloud();
        cloud.cloudwatch = wrap(cloud.cloudwatch.clone());
        self.engine = Self::engine_on(cloud, &self.clock, &self.desired);
        self
    }

    /// A new desired state, as a reload brings it: the same engine, reconfigured.
    pub fn reconfigure(&mut self, text: &str) {
        self.desired = parse(text);
        self.engine.reconfigure(&self.desired);
    }

    /// One interval later, one cycle. Panics if nothing could be planned.
    pub async fn cycle(&self) -> CycleReport {
        self.clock.advance(self.desired.interval);
        self.engine
            .cycle(&self.desired, &CancellationToken::new())
            .await
            .unwrap_or_else(|e| panic!("cycle failed: {}", trimtab::engine::error_chain(&e)))
    }

    pub async fn plan(&self) -> Plan {
        self.engine.plan(&self.desired).await.expect("plan").1
    }
}
