//! The program's wiring, in one place: which account a process talks to (AWS through the SDK,
//! or the embedded simulated account), with fault injection in front when configured. The
//! engine only ever sees the [`Cloud`] ports.

use std::sync::Arc;

use crate::clock::Clock;
use crate::cloud::Cloud;
use crate::cloud::faults::FaultInjector;
use crate::cloud::sim::SimAccount;
use crate::model::{Backend, Desired};

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("connecting to AWS")]
    Aws(#[source] crate::cloud::aws::AwsSetupError),
    #[error("starting the simulated account")]
    Simulated(#[source] crate::cloud::sim::SimError),
}

/// The account a process talks to, the simulated account behind it when there is one, and the
/// fault injector in front of it.
#[derive(Clone)]
pub struct Account {
    pub cloud: Cloud,
    pub sim: Option<Arc<SimAccount>>,
    pub faults: Arc<FaultInjector>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("simulated", &self.sim.is_some())
            .finish()
    }
}

/// Builds the account named by `[cloud]`: the real one through the SDK, or the simulated one;
/// `[simulated.faults]` are injected in front of either.
pub async fn connect(desired: &Desired, clock: Arc<dyn Clock>) -> Result<Account, ConnectError> {
    let (inner, sim) = match desired.cloud.backend {
        Backend::Aws => (
            crate::cloud::aws::connect(&desired.cloud)
                .await
                .map_err(ConnectError::Aws)?,
            None,
        ),
        Backend::Simulated => {
            let sim = SimAccount::new(
                &desired.cloud.simulated,
                &desired.cloud.region,
                clock.clone(),
            )
            .map_err(ConnectError::Simulated)?;
            (sim.cloud(), Some(sim))
        }
    };
    let faults = FaultInjector::new(
        desired.cloud.simulated.faults.clone(),
        desired.cloud.simulated.seed,
        clock,
    );
    Ok(Account {
        cloud: faults.wrap(inner),
        sim,
        faults,
    })
}
