//! One writer among replicas: a lease in a DynamoDB table of the account (`[lease]`).
//!
//! An ECS rolling deployment runs the old and the new task side by side. Each process tries to
//! take the lease with one conditional UpdateItem (free, expired, or already its own) and renews
//! it every third of its TTL. The holder may write until a local deadline, counted on the
//! monotonic clock from *before* its last successful renewal was sent, less a fifth of the TTL
//! for clock skew between replicas; past that deadline every write is refused before it is
//! made (the fence), renewed or not. A standby observes and plans, serves `/status` and
//! `/metrics`, and writes nothing. A clean shutdown expires the lease at once, so the other
//! process takes over on its next renewal instead of after the TTL.
//!
//! Safety rests on replicas' wall clocks agreeing within a fifth of the TTL (6 s of the
//! default 30 s): the other replica takes over when the stored expiry is behind *its* clock.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::cloud::{Cloud, Op};
use crate::model::LeaseSettings;
use crate::telemetry::Telemetry;

use super::error_chain;
use super::governor::Governor;
use super::status::StatusBoard;

pub struct Lease {
    cloud: Cloud,
    gov: Governor,
    settings: LeaseSettings,
    holder: String,
    /// Until when this process may write (monotonic); `None`: not the holder.
    until: Mutex<Option<Instant>>,
    token: AtomicU64,
    telemetry: Telemetry,
    status: StatusBoard,
}

/// This process's name in the lease: the host (the ECS task's), the pid, and a random part,
/// so a restarted process never mistakes its predecessor's lease for its own.
fn holder_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    format!(
        "{host}/{}/{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

impl Lease {
    pub fn new(
        cloud: Cloud,
        gov: Governor,
        settings: LeaseSettings,
        telemetry: Telemetry,
        status: StatusBoard,
    ) -> Self {
        Self {
            cloud,
            gov,
            settings,
            holder: holder_id(),
            until: Mutex::new(None),
            token: AtomicU64::new(0),
            telemetry,
            status,
        }
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Whether this process may write now.
    pub fn holds(&self) -> bool {
        self.until
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|t| Instant::now() < t)
    }

    /// One attempt to take or renew the lease; whether it is held afterwards.
    pub async fn renew(&self, clock: &dyn Clock) -> bool {
        let sent = Instant::now();
        let now_ms = clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let ttl = self.settings.ttl;
        let expires_ms = now_ms + ttl.as_millis() as u64;
        let (table, name, holder) = (&self.settings.table, &self.settings.name, &self.holder);
        let db = &self.cloud.dynamodb;
        let result = self
            .gov
            .call(Op::AcquireLease, || {
                db.acquire_lease(table, name, holder, now_ms, expires_ms)
            })
            .await;
        let was = self.holds();
        match result {
            Ok(Some(token)) => {
                *self.until.lock().unwrap_or_else(|p| p.into_inner()) = Some(sent + ttl - ttl / 5);
                let before = self.token.swap(token, Ordering::Relaxed);
                if !was {
                    tracing::info!(
                        holder,
                        token,
                        previous_token = before,
                        "lease acquired: this process is the writer"
                    );
                }
            }
            Ok(None) => {
                *self.until.lock().unwrap_or_else(|p| p.into_inner()) = None;
                if was {
                    tracing::warn!(
                        holder,
                        "lease taken by another replica: standing by, writing nothing"
                    );
                }
            }
            // The deadline stands: a lease that cannot be renewed runs out, and writes stop.
            Err(e) => {
                tracing::warn!(holder, error = %error_chain(&e), "cannot renew the lease");
            }
        }
        let holds = self.holds();
        self.show(holds);
        holds
    }

    /// `trimtab_leader` and `/status`'s role, after each attempt and on release.
    fn show(&self, holds: bool) {
        self.telemetry.leader.set(i64::from(holds));
        self.status
            .set_role(if holds { "leader" } else { "standby" });
    }

    /// Gives the lease up at once (a clean shutdown), so another replica need not wait it out.
    pub async fn release(&self) {
        if !self.holds() {
            return;
        }
        *self.until.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.show(false);
        let (table, name, holder) = (&self.settings.table, &self.settings.name, &self.holder);
        let db = &self.cloud.dynamodb;
        match self
            .gov
            .call(Op::ReleaseLease, || db.release_lease(table, name, holder))
            .await
        {
            Ok(()) => tracing::info!(holder, "lease released"),
            Err(e) => {
                tracing::warn!(holder, error = %error_chain(&e), "cannot release the lease; it expires by itself")
            }
        }
    }

    /// Renews every third of the TTL until `stop`.
    pub async fn keep(&self, clock: &dyn Clock, stop: CancellationToken) {
        let every = self.settings.ttl / 3;
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            self.renew(clock).await;
        }
    }

    pub fn ttl(&self) -> Duration {
        self.settings.ttl
    }
}
