//! The daemon: a cycle every `interval` (± jitter), a config reload on SIGHUP or when the file
//! changes (an invalid new config is reported and the last good one keeps running), and a
//! bounded shutdown: the first SIGTERM/SIGINT stops new work and lets in-flight writes finish
//! within the grace period; a second signal exits at once.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::Watcher;
use rand::Rng;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config;
use crate::model::Desired;
use crate::server;
use crate::telemetry::Telemetry;

use super::status::{Heartbeat, StatusBoard};
use super::{Engine, error_chain};
use crate::app::{Account, ConnectError, connect};

/// Exit code after a second stop signal: the conventional 128 + SIGINT.
pub const EXIT_FORCED: i32 = 130;

#[derive(Debug, Clone)]
pub struct DaemonOptions {
    pub config_path: PathBuf,
    pub listen: SocketAddr,
    pub grace: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Server(#[from] server::ServerError),
    #[error("setting up metrics")]
    Telemetry(#[from] crate::telemetry::TelemetryError),
    #[error("installing signal handlers")]
    Signals(#[source] std::io::Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReloadCause {
    Signal,
    FileChanged,
}

impl ReloadCause {
    fn as_str(self) -> &'static str {
        match self {
            ReloadCause::Signal => "SIGHUP",
            ReloadCause::FileChanged => "file changed",
        }
    }
}

/// Sleep before the next cycle: `interval × (1 ± jitter)`.
pub fn jittered(interval: Duration, jitter: f64) -> Duration {
    let jitter = jitter.clamp(0.0, 0.99);
    if jitter == 0.0 {
        return interval;
    }
    let factor = 1.0 + rand::rng().random_range(-jitter..=jitter);
    interval.mul_f64(factor)
}

/// How long to wait after a cycle that took `elapsed`, so cycles start `interval × (1 ± jitter)`
/// apart.
pub fn next_pause(interval: Duration, jitter: f64, elapsed: Duration) -> Duration {
    jittered(interval, jitter).saturating_sub(elapsed)
}

/// The pause before the next cycle when a controller asked to be looked at again within
/// `requeue` of the last cycle's start (a canary window ending): the earlier of the two, never
/// less than a second, so a controller cannot spin the loop.
pub fn with_requeue(pause: Duration, requeue: Option<Duration>, elapsed: Duration) -> Duration {
    match requeue {
        Some(r) => pause.min(r.saturating_sub(elapsed).max(MIN_REQUEUE)),
        None => pause,
    }
}

/// How long a changed config file must stay unchanged before it is loaded.
pub const CONFIG_SETTLE: Duration = Duration::from_secs(2);
/// How long a file that keeps changing is waited for before it is read anyway (a parse error
/// then keeps the last good configuration).
const SETTLE_AT_MOST: Duration = Duration::from_secs(30);

/// Waits until the file has not changed (no event, same bytes) for [`CONFIG_SETTLE`].
async fn settle(path: &Path, events: &mut mpsc::Receiver<ReloadCause>, cancel: &CancellationToken) {
    let started = std::time::Instant::now();
    let mut last = config::read_text(path).ok();
    loop {
        tokio::select! {
            () = tokio::time::sleep(CONFIG_SETTLE) => {}
            () = cancel.cancelled() => return,
        }
        let mut quiet = true;
        while events.try_recv().is_ok() {
            quiet = false;
        }
        let now = config::read_text(path).ok();
        if (quiet && now == last) || started.elapsed() >= SETTLE_AT_MOST {
            return;
        }
        last = now;
    }
}

/// The shortest pause a requeue can ask for.
pub const MIN_REQUEUE: Duration = Duration::from_secs(1);

/// Watches the config file's directory (editors replace files by renaming) and reports changes
/// to the file itself.
fn watch_config(path: &Path, tx: mpsc::Sender<ReloadCause>) -> Option<notify::RecommendedWatcher> {
    let file_name = path.file_name()?.to_owned();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && !event.kind.is_access()
            && event.paths.iter().any(|p| {
                p.file_name() == Some(file_name.as_os_str())
                        // A Kubernetes ConfigMap volume swaps a `..data` symlink (and
                        // `..2026_…` directories) instead of touching the file itself.
                        || p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with(".."))
            })
        {
            let _ = tx.try_send(ReloadCause::FileChanged);
        }
    })
    .map_err(|e| tracing::warn!(error = %e, "cannot watch the config file; reload with SIGHUP"))
    .ok()?;
    watcher
        .watch(&dir, notify::RecursiveMode::NonRecursive)
        .map_err(|e| tracing::warn!(error = %e, dir = %dir.display(), "cannot watch the config directory; reload with SIGHUP"))
        .ok()?;
    Some(watcher)
}

fn spawn_signal_handler(
    cancel: CancellationToken,
    reload: mpsc::Sender<ReloadCause>,
) -> Result<(), RunError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(RunError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(RunError::Signals)?;
    let mut hup = signal(SignalKind::hangup()).map_err(RunError::Signals)?;
    tokio::spawn(async move {
        loop {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
                _ = hup.recv() => {
                    let _ = reload.try_send(ReloadCause::Signal);
                    continue;
                }
            };
            if cancel.is_cancelled() {
                tracing::warn!(signal = name, "second stop signal: exiting now");
                std::process::exit(EXIT_FORCED);
            }
            tracing::info!(
                signal = name,
                "stopping: no new work; in-flight writes may finish"
            );
            cancel.cancel();
        }
    });
    Ok(())
}

struct Daemon {
    opts: DaemonOptions,
    clock: Arc<dyn Clock>,
    telemetry: Telemetry,
    status: StatusBoard,
    account: Account,
    desired: Desired,
    generation: u64,
    /// The text of the config in force, so a touch without a change is not a reload.
    loaded_text: Option<String>,
    engine: Engine,
    /// The earliest next look the last cycle's controllers asked for.
    requeue: Option<Duration>,
    /// The leader lease, with `[lease]`; without it this process is the only writer.
    lease: Option<Arc<super::lease::Lease>>,
    /// A reload that could not read the file (a transient I/O error, a ConfigMap mid-swap):
    /// tried again after `RELOAD_RETRY`, as no further file event may come.
    retry_reload: Option<ReloadCause>,
}

/// How long after a failed read a reload is tried again.
const RELOAD_RETRY: Duration = Duration::from_secs(5);

impl Daemon {
    fn reload(&mut self, cause: ReloadCause) -> bool {
        let path = &self.opts.config_path;
        let text = config::read_text(path).ok();
        if cause == ReloadCause::FileChanged && text.is_some() && text == self.loaded_text {
            return false;
        }
        self.retry_reload = None;
        match config::load(path) {
            Ok(new) => {
                if new.cloud != self.desired.cloud {
                    tracing::warn!(
                        "the [cloud] section changed; it takes effect on restart, everything else now"
                    );
                }
                let mut new = new;
                new.cloud = self.desired.cloud.clone();
                // Same engine: caches, adapted rates and controllers' memory carry on.
                self.engine.reconfigure(&new);
                self.desired = new;
                self.generation += 1;
                self.loaded_text = text;
                self.telemetry
                    .config_reloads
                    .with_label_values(&["success"])
                    .inc();
                self.telemetry.config_generation.set(self.generation as i64);
                self.status
                    .set_config(self.generation, self.desired.interval);
                tracing::info!(
                    generation = self.generation,
                    cause = cause.as_str(),
                    "configuration reloaded"
                );
                true
            }
            Err(e) => {
                if matches!(e, config::ConfigError::Read { .. }) {
                    self.retry_reload = Some(cause);
                }
                self.telemetry
                    .config_reloads
                    .with_label_values(&["failure"])
                    .inc();
                let message = e.to_string();
                tracing::error!(cause = cause.as_str(), error = %message, generation = self.generation, "new configuration is invalid; keeping the last good one");
                self.status.record_error("config reload", message);
                self.loaded_text = text;
                false
            }
        }
    }

    /// Runs one cycle; after shutdown begins, waits at most the grace period for it.
    async fn cycle(&mut self, cancel: &CancellationToken) {
        let started = self.clock.now();
        let wall = std::time::Instant::now();
        if let Some(lease) = &self.lease
            && !lease.holds()
        {
            // A standby: observe and plan, so /status and /metrics show the account, and
            // write nothing.
            match self.engine.plan(&self.desired).await {
                Ok((_, plan)) => {
                    tracing::info!(
                        planned = plan.changes.len(),
                        "standby: planned, not applied (another replica holds the lease)"
                    );
                    self.status.standby(&plan, started, wall.elapsed());
                }
                Err(e) => {
                    let message = error_chain(&e);
                    tracing::error!(error = %message, "standby: observing failed");
                    self.status.cycle_failed(started, wall.elapsed(), message);
                }
            }
            return;
        }
        let cycle = self.engine.cycle(&self.desired, cancel);
        tokio::pin!(cycle);
        let grace = self.opts.grace;
        let result = tokio::select! {
            r = &mut cycle => r,
            () = async { cancel.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!(grace_s = grace.as_secs(), "grace period over; abandoning in-flight writes");
                return;
            }
        };
        match result {
            Ok(report) => {
                tracing::info!(
                    outcome = report.outcome(),
                    planned = report.plan.changes.len(),
                    applied = report.apply.applied(),
                    failed = report.apply.failed(),
                    refused = report.plan.refusals.len(),
                    duration_ms = report.duration.as_millis() as u64,
                    "cycle finished"
                );
                self.status.cycle_completed(&report);
                self.requeue = report.requeue;
            }
            Err(e) => {
                let message = error_chain(&e);
                tracing::error!(error = %message, "cycle failed");
                self.status.cycle_failed(started, wall.elapsed(), message);
            }
        }
        if let Some(sim) = &self.account.sim
            && let Err(e) = sim.save()
        {
            tracing::warn!(error = %error_chain(&e), "cannot save the simulated account");
        }
    }
}

/// Runs the daemon until a stop signal. `desired` was loaded and validated by the caller
/// before anything was bound.
pub async fn run(
    opts: DaemonOptions,
    desired: Desired,
    clock: Arc<dyn Clock>,
) -> Result<(), RunError> {
    let telemetry = Telemetry::new()?;
    telemetry.config_generation.set(1);
    let heartbeat = Heartbeat::default();
    let status = StatusBoard::new(
        clock.clone(),
        heartbeat.clone(),
        opts.config_path.display().to_string(),
        desired.interval,
    );
    status.set_identity(desired.cloud.backend, &desired.cloud.region);
    // Signals first: a SIGHUP or SIGTERM during start-up (loading credentials can take seconds)
    // must not fall through to the default action and kill the process uncleanly.
    let cancel = CancellationToken::new();
    let (reload_tx, mut reload_rx) = mpsc::channel(8);
    spawn_signal_handler(cancel.clone(), reload_tx.clone())?;
    let listener = server::bind(opts.listen).await?;
    let account = connect(&desired, clock.clone()).await?;
    let server_stop = CancellationToken::new();
    let server_task = tokio::spawn(server::serve(
        listener,
        status.clone(),
        telemetry.clone(),
        server_stop.clone(),
    ));
    tracing::info!(listen = %opts.listen, backend = ?desired.cloud.backend, interval_s = desired.interval.as_secs_f64(), "trimtab running");

    let _watcher = watch_config(&opts.config_path, reload_tx);

    let mut engine = Engine::new(
        account.cloud.clone(),
        clock.clone(),
        telemetry.clone(),
        &desired,
    )
    .with_heartbeat(heartbeat.clone());
    // One writer among replicas: with `[lease]`, writes wait for the lease (checked before each
    // one), renewed in the background every third of its TTL.
    let lease_stop = CancellationToken::new();
    let lease = match &desired.lease {
        None => {
            telemetry.leader.set(1);
            status.set_role("single");
            None
        }
        Some(settings) => {
            let lease = Arc::new(super::lease::Lease::new(
                account.cloud.clone(),
                engine.governor().clone(),
                settings.clone(),
                telemetry.clone(),
                status.clone(),
            ));
            let held = lease.renew(clock.as_ref()).await;
            tracing::info!(holder = lease.holder(), table = %settings.table, held, "leader election on a DynamoDB lease");
            let gate = lease.clone();
            engine =
                engine.with_write_gate(super::apply::WriteGate(Arc::new(move || gate.holds())));
            let keeper = lease.clone();
            let (clock, stop) = (clock.clone(), lease_stop.clone());
            tokio::spawn(async move { keeper.keep(clock.as_ref(), stop).await });
            Some(lease)
        }
    };
    let mut daemon = Daemon {
        loaded_text: config::read_text(&opts.config_path).ok(),
        opts,
        clock,
        telemetry,
        status,
        account,
        desired,
        generation: 1,
        engine,
        requeue: None,
        lease,
        retry_reload: None,
    };

    while !cancel.is_cancelled() {
        let started = daemon.clock.now();
        daemon.cycle(&cancel).await;
        // `interval` is from the start of one cycle to the start of the next; a cycle that
        // overran it is followed at once by the next.
        let elapsed = daemon
            .clock
            .now()
            .duration_since(started)
            .unwrap_or_default();
        let pause = with_requeue(
            next_pause(daemon.desired.interval, daemon.desired.jitter, elapsed),
            daemon.requeue,
            elapsed,
        );
        let clock = daemon.clock.clone();
        let sleep = clock.sleep(pause);
        tokio::pin!(sleep);
        loop {
            let retry = daemon.retry_reload;
            tokio::select! {
                () = &mut sleep => break,
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(RELOAD_RETRY), if retry.is_some() => {
                    if let Some(cause) = retry
                        && daemon.reload(cause)
                    {
                        break;
                    }
                }
                Some(cause) = reload_rx.recv() => {
                    if cause == ReloadCause::FileChanged {
                        // A file being written (in parts, or by a slow copy) is read only once
                        // it has stopped changing for CONFIG_SETTLE: half a file that happens
                        // to parse would otherwise become the desired state, and prune.
                        settle(&daemon.opts.config_path, &mut reload_rx, &cancel).await;
                    } else {
                        while reload_rx.try_recv().is_ok() {}
                    }
                    if daemon.reload(cause) {
                        break;
                    }
                }
            }
        }
    }
    lease_stop.cancel();
    if let Some(lease) = &daemon.lease {
        lease.release().await;
    }
    tracing::info!("stopped");
    server_stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(2), server_task).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_bounds() {
        let interval = Duration::from_secs(60);
        for _ in 0..1000 {
            let d = jittered(interval, 0.1);
            assert!(
                d >= Duration::from_secs(54) && d <= Duration::from_secs(66),
                "{d:?}"
            );
        }
        assert_eq!(jittered(interval, 0.0), interval);
    }

    #[test]
    fn a_requeue_brings_the_next_cycle_forward_but_never_spins() {
        let minute = Duration::from_secs(60);
        let pause = next_pause(minute, 0.0, Duration::from_secs(10));
        assert_eq!(
            with_requeue(pause, None, Duration::from_secs(10)),
            Duration::from_secs(50)
        );
        assert_eq!(
            with_requeue(
                pause,
                Some(Duration::from_secs(30)),
                Duration::from_secs(10)
            ),
            Duration::from_secs(20)
        );
        assert_eq!(
            with_requeue(pause, Some(Duration::from_secs(5)), Duration::from_secs(10)),
            MIN_REQUEUE
        );
        assert_eq!(
            with_requeue(
                pause,
                Some(Duration::from_secs(600)),
                Duration::from_secs(10)
            ),
            Duration::from_secs(50)
        );
    }

    #[test]
    fn cycles_are_scheduled_start_to_start() {
        let interval = Duration::from_secs(60);
        assert_eq!(
            next_pause(interval, 0.0, Duration::from_secs(32)),
            Duration::from_secs(28)
        );
        assert_eq!(
            next_pause(interval, 0.0, Duration::from_secs(90)),
            Duration::ZERO
        );
    }
}
