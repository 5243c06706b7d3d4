//! A simulated account, an engine on it and a virtual clock: what every engine-level test
//! starts from.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use trimtab::clock::ManualClock;
use trimtab::cloud::sim::SimAccount;
use trimtab::cloud::{Cloud, CloudWatchApi};
use trimtab::config;
use trimtab::engine::{CycleReport, Engine};
use trimtab::model::{Desired, Plan};
use trimtab::telemetry::Telemetry;

pub struct Harness {
    pub clock: Arc<ManualClock>,
    pub sim: Arc<SimAccount>,
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
        let engine = Self::engine_on(sim.cloud(), &clock, &desired);
        Self {
            clock,
            sim,
            engine,
            desired,
        }
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
        Self::engine_on(self.sim.cloud(), &self.clock, &self.desired)
    }

    /// Puts a wrapper (a failure injector, say) in front of the account's CloudWatch.
    pub fn with_cloudwatch(
        mut self,
        wrap: impl FnOnce(Arc<dyn CloudWatchApi>) -> Arc<dyn CloudWatchApi>,
    ) -> Self {
        let mut cloud = self.sim.cloud();
        cloud.cloudwatch = wrap(cloud.cloudwatch.clone());
        self.engine = Self::engine_on(cloud, &self.clock, &self.desired);
        self
    }

    /// A new desired state, as a reload would bring.
    pub fn reconfigure(&mut self, text: &str) {
        self.desired = parse(text);
        self.engine = self.fresh_engine();
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
