//! The `trimtab` command: parse arguments, call into the library, map outcomes to exit codes.
//!
//! Exit codes: 0 success (for `plan`: no changes); 2 `plan` found pending changes; 1 an error
//! (for `apply`: a change failed); 64 (EX_USAGE) the command line is wrong; 78 (EX_CONFIG) the
//! configuration is invalid.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use tokio_util::sync::CancellationToken;

use trimtab::app::connect;
use trimtab::clock::{Clock, SystemClock};
use trimtab::config;
use trimtab::engine::runtime::{self, DaemonOptions};
use trimtab::engine::{Engine, error_chain, render};
use trimtab::model::Desired;
use trimtab::telemetry::{LogFormat, Telemetry, init_tracing};

const EXIT_ERROR: u8 = 1;
const EXIT_PENDING: u8 = 2;
const EXIT_USAGE: u8 = 64;
const EXIT_CONFIG: u8 = 78;

const EXIT_CODES: &str = "Exit codes:
  0   success (plan: the account matches the desired state)
  1   an error (apply: a change failed; cost: no estimate)
  2   plan: changes are pending
  64  the command line is wrong (EX_USAGE)
  78  the configuration is invalid, each problem as FILE:LINE:COL (EX_CONFIG)
  130 run: stopped by a second signal";

#[derive(Debug, Parser)]
#[command(
    name = "trimtab",
    version,
    about = "Keeps an AWS serverless application fast and cheap: observe, plan, apply.",
    after_help = EXIT_CODES
)]
struct Cli {
    /// Log format.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "TRIMTAB_LOG_FORMAT"
    )]
    log_format: LogFormat,
    /// Log level or filter (e.g. `debug`, `trimtab=debug,info`); `RUST_LOG` applies when unset.
    #[arg(long, global = true, env = "TRIMTAB_LOG_LEVEL")]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Output {
    /// For people.
    Text,
    /// For machines.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a desired-state file; print every problem as FILE:LINE:COL: message.
    Validate {
        /// The desired-state file (TOML).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Observe the account and print what `apply` would change (exit 2 when anything would).
    Plan {
        /// The desired-state file (TOML).
        #[arg(long, short)]
        config: PathBuf,
        /// How to print the result.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Observe the account and print what the application costs: the cost per student, the
    /// monthly run rate and its breakdown, each figure with where it came from. Changes nothing.
    Cost {
        /// The desired-state file (TOML).
        #[arg(long, short)]
        config: PathBuf,
        /// How to print the result.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Exit 0 when the daemon's /healthz answers 200: the container's health check (the image
    /// has no curl). Liveness only; see the README for what to alert on.
    Healthcheck {
        /// The daemon's address.
        #[arg(long, default_value = "127.0.0.1:9090", env = "TRIMTAB_HEALTHCHECK")]
        addr: SocketAddr,
        /// How long to wait for the answer.
        #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
    /// Print a JSON Schema of the config file, for editors (taplo, Even Better TOML) and
    /// checks. Reads nothing, touches nothing.
    Schema,
    /// One cycle: observe, plan, apply; report each change as done or failed.
    Apply {
        /// The desired-state file (TOML).
        #[arg(long, short)]
        config: PathBuf,
        /// Confirm a plan that deletes more than `ownership.max_deletions` resources at once.
        #[arg(long)]
        allow_mass_deletion: bool,
        /// How to print the result.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// The daemon: a cycle every interval, serving /healthz /readyz /metrics /status.
    Run {
        /// The desired-state file (TOML).
        #[arg(long, short)]
        config: PathBuf,
        /// Where to serve /healthz, /readyz, /metrics and /status.
        #[arg(long, default_value = "0.0.0.0:9090", env = "TRIMTAB_LISTEN")]
        listen: SocketAddr,
        /// How long in-flight writes may take to finish after SIGTERM.
        #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
        grace: Duration,
    },
}

fn load(path: &std::path::Path) -> Result<Desired, ExitCode> {
    config::load(path).map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(EXIT_CONFIG)
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Plan,
    Cost,
    Apply,
}

async fn plan_or_apply(
    path: &std::path::Path,
    output: Output,
    mode: Mode,
    allow_mass_deletion: bool,
) -> ExitCode {
    let mut desired = match load(path) {
        Ok(d) => d,
        Err(code) => return code,
    };
    desired.ownership.allow_mass_deletion |= allow_mass_deletion;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let account = match connect(&desired, clock.clone()).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let telemetry = match Telemetry::new() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let engine = Engine::new(account.cloud.clone(), clock, telemetry, &desired);
    let code = if mode == Mode::Apply {
        match engine.cycle(&desired, &CancellationToken::new()).await {
            Ok(report) => {
                match output {
                    Output::Text => {
                        print!("{}", render::plan_text(&report.plan));
                        if !report.plan.changes.is_empty() {
                            println!();
                            print!("{}", render::apply_text(&report.apply));
                        }
                    }
                    Output::Json => println!(
                        "{}",
                        serde_json::to_string_pretty(&report)
                            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
                    ),
                }
                if report.apply.failed() > 0 {
                    EXIT_ERROR
                } else {
                    0
                }
            }
            Err(e) => {
                eprintln!("error: {}", error_chain(&e));
                EXIT_ERROR
            }
        }
    } else if mode == Mode::Cost {
        match engine.plan(&desired).await {
            Ok((_, plan)) => match (&plan.cost, output) {
                (Some(cost), Output::Text) => {
                    print!("{}", render::cost_text(cost));
                    0
                }
                (Some(cost), Output::Json) => {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(cost)
                            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
                    );
                    0
                }
                (None, _) => {
                    eprintln!(
                        "error: no cost estimate: the cost model is off (`cost.enabled = false`) or its reads failed (see the log)"
                    );
                    EXIT_ERROR
                }
            },
            Err(e) => {
                eprintln!("error: {}", error_chain(&e));
                EXIT_ERROR
            }
        }
    } else {
        match engine.plan(&desired).await {
            Ok((_, plan)) => {
                match output {
                    Output::Text => print!("{}", render::plan_text(&plan)),
                    Output::Json => println!("{}", render::plan_json(&plan)),
                }
                if plan.is_empty() { 0 } else { EXIT_PENDING }
            }
            Err(e) => {
                eprintln!("error: {}", error_chain(&e));
                EXIT_ERROR
            }
        }
    };
    // Only `apply` changes the account; `plan` and `cost` write nothing anywhere, not even
    // the simulated account's state file.
    if let Some(sim) = &account.sim
        && mode == Mode::Apply
        && let Err(e) = sim.save()
    {
        eprintln!("error: saving the simulated account: {}", error_chain(&e));
        return ExitCode::from(EXIT_ERROR);
    }
    ExitCode::from(code)
}

/// mimalloc, tuned and counted in `trimtab::allocator` (why: there); the system's malloc with
/// the `system-alloc` feature, for heap profilers.
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static ALLOCATOR: trimtab::allocator::Counting = trimtab::allocator::Counting;

/// One tokio worker thread unless `TOKIO_WORKER_THREADS` says otherwise (tokio reads it when
/// no count is set). trimtab waits on AWS far more than it computes, and each thread that
/// allocates keeps its own allocator pages: against moto at 1,000 functions the daemon held
/// 54.5 MiB after five cycles with two workers (this machine's core count) and 48.0 MiB with
/// one (BENCHMARKS.md, issue 11). Tokio's current-thread runtime saved 3.4 MiB more, but it
/// puts `/healthz`, `/metrics` and the lease's renewal behind every stretch of the cycle's CPU
/// (a plan, the simulated account evaluating metrics), so the cycle stays on the main thread
/// and they on the worker.
fn main() -> ExitCode {
    trimtab::allocator::tune();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        runtime.worker_threads(1);
    }
    match runtime.build() {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

async fn run() -> ExitCode {
    // Usage errors exit 64, not clap's 2, which means "changes pending" here; --help and
    // --version still print and exit 0.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let usage = e.use_stderr();
            let _ = e.print();
            return ExitCode::from(if usage { EXIT_USAGE } else { 0 });
        }
    };
    if let Err(e) = init_tracing(cli.log_format, cli.log_level.as_deref()) {
        eprintln!("error: {}", error_chain(&e));
        return ExitCode::from(EXIT_CONFIG);
    }
    match cli.command {
        Command::Validate { config } => match load(&config) {
            Ok(_) => {
                println!("{}: ok", config.display());
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Plan { config, output } => plan_or_apply(&config, output, Mode::Plan, false).await,
        Command::Cost { config, output } => plan_or_apply(&config, output, Mode::Cost, false).await,
        Command::Healthcheck { addr, timeout } => match trimtab::server::probe(addr, timeout) {
            Ok(()) => ExitCode::SUCCESS,
            Err(why) => {
                eprintln!("unhealthy: {why}");
                ExitCode::from(EXIT_ERROR)
            }
        },
        Command::Schema => {
            let schema = trimtab::config::schema::schema();
            match serde_json::to_string_pretty(&schema) {
                Ok(text) => {
                    println!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(EXIT_ERROR)
                }
            }
        }
        Command::Apply {
            config,
            output,
            allow_mass_deletion,
        } => plan_or_apply(&config, output, Mode::Apply, allow_mass_deletion).await,
        Command::Run {
            config,
            listen,
            grace,
        } => {
            let desired = match load(&config) {
                Ok(d) => d,
                Err(code) => return code,
            };
            let opts = DaemonOptions {
                config_path: config,
                listen,
                grace,
            };
            match runtime::run(opts, desired, Arc::new(SystemClock)).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %error_chain(&e), "trimtab stopped with an error");
                    eprintln!("error: {}", error_chain(&e));
                    ExitCode::from(EXIT_ERROR)
                }
            }
        }
    }
}
