//! # auth-reliability
//!
//! Faults under load and soak runs against the example server (`examples/axum-server`, binary
//! `example-axum`), on loopback only, each bounded in time. Every scenario prints one JSON
//! line (`{"scenario", "passed", ...figures}`) and a human summary, and exits non-zero when a
//! promise was violated:
//!
//! * `redis-outage`: its own `redis-server` SIGKILLed, then SIGSTOPped, under a load of
//!   guarded requests, refreshes and SMS logins: every request during the outage answers 503
//!   `store_unavailable` within the hang bound, and the server answers 200 again within the
//!   recovery bound once Redis is back, without a restart;
//! * `postgres-outage`: its own PostgreSQL stopped at once and started again, its
//!   connections terminated, then every process of it SIGSTOPped, under the same load: 503
//!   `store_unavailable` during the outage (a cut connection costs at most one request), and
//!   200 again within the recovery bound, without a restart;
//! * `sqlite-crash`: the server SIGKILLed in the middle of a stream of registrations, SMS
//!   logins, rotations and logouts on SQLite, several times: after each restart every
//!   acknowledged write is there and `PRAGMA integrity_check` is `ok`;
//! * `disk-full`: the SQLite file on a small tmpfs that is then filled: writes answer 503
//!   `store_unavailable`, never 500, reads go on, nothing is corrupted, and the server works
//!   again once space is back, without a restart;
//! * `soak`: a fixed request rate with a mix of all flows on SQLite and on Redis, sampling the
//!   server's RSS; fails on any unexpected answer or an RSS that keeps growing.
//!
//! `scripts/reliability.sh` builds the binaries and runs them all.

mod api;
mod flows;
mod ids;
mod outbox;
mod pacer;
mod postgres;
mod procs;
mod record;
mod report;
mod scenarios;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};

use crate::procs::ServerSpec;
use crate::report::Report;

/// Faults under load and soak runs against the example server.
#[derive(Parser)]
#[command(name = "auth-reliability", version)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    scenario: Scenario,
}

/// Options of every scenario.
#[derive(clap::Args, Clone)]
pub(crate) struct Common {
    /// The example server binary (default: `example-axum` beside this binary).
    #[arg(long, global = true)]
    server_bin: Option<PathBuf>,
    /// The redis-server binary to start (its own instance, on a free port).
    #[arg(long, global = true, default_value = "redis-server")]
    redis_server: PathBuf,
    /// The directory of PostgreSQL's server programs (`initdb`, `pg_ctl`) for
    /// `postgres-outage` (default: the newest `/usr/lib/postgresql/*/bin`, else the `PATH`).
    #[arg(long, global = true)]
    pg_bin: Option<PathBuf>,
    /// Also append the JSON line of each scenario to this file.
    #[arg(long, global = true)]
    json_out: Option<PathBuf>,
    /// Keep the scenario's temporary directory (database, logs, outboxes) and print its path.
    #[arg(long, global = true)]
    keep: bool,
    /// A request answered later than this is a hang, a violation (seconds).
    #[arg(long, global = true, default_value_t = 5.0)]
    hang_secs: f64,
}

#[derive(Subcommand)]
enum Scenario {
    /// Redis SIGKILLed, then SIGSTOPped, under load.
    RedisOutage(scenarios::redis_outage::Args),
    /// PostgreSQL stopped, its connections terminated, then SIGSTOPped, under load.
    PostgresOutage(scenarios::postgres_outage::Args),
    /// The server SIGKILLed mid-stream on SQLite, several times.
    SqliteCrash(scenarios::sqlite_crash::Args),
    /// The SQLite file's filesystem full, then freed.
    DiskFull(scenarios::disk_full::Args),
    /// A fixed rate of every flow, RSS sampled.
    Soak(scenarios::soak::Args),
}

/// What a scenario gets: the options and a fresh working directory.
pub(crate) struct Env {
    pub(crate) common: Common,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) server_bin: PathBuf,
}

impl Env {
    fn new(common: Common, name: &str) -> Result<Self> {
        let server_bin = match &common.server_bin {
            Some(path) => path.clone(),
            None => std::env::current_exe()?
                .parent()
                .context("no directory around this binary")?
                .join("example-axum"),
        };
        anyhow::ensure!(
            server_bin.is_file(),
            "no server binary at {} (build it: cargo build -p example-axum, or pass --server-bin)",
            server_bin.display()
        );
        let dir = tempfile::Builder::new()
            .prefix(&format!("auth-reliability-{name}."))
            .tempdir()?;
        Ok(Self {
            common,
            dir,
            server_bin,
        })
    }

    /// The working directory.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The hang bound.
    pub(crate) fn hang(&self) -> Duration {
        Duration::from_secs_f64(self.common.hang_secs)
    }

    /// How long a client waits for an answer before giving up: past the hang bound, so a
    /// hang is measured rather than cut short.
    pub(crate) fn client_timeout(&self) -> Duration {
        self.hang() * 2 + Duration::from_secs(1)
    }

    /// A server spec with its files under `sub` of the working directory (`db` may lie
    /// elsewhere, as on the disk-full scenario's tmpfs).
    pub(crate) fn server_spec(&self, sub: &str, redis_url: Option<String>) -> Result<ServerSpec> {
        let dir = self.path().join(sub);
        std::fs::create_dir_all(&dir)?;
        Ok(ServerSpec {
            binary: self.server_bin.clone(),
            db: dir.join("auth.db"),
            redis_url,
            database_url: None,
            sms_outbox: dir.join("sms.jsonl"),
            mail_outbox: dir.join("mail.jsonl"),
            log: dir.join("server.log"),
            secret: random_secret(),
        })
    }
}

/// 64 random hex digits, the `AUTH_JWT_SECRET` of a run.
fn random_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("auth-reliability: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the scenario; whether every promise held.
async fn run(cli: Cli) -> Result<bool> {
    let common = cli.common.clone();
    let name = match &cli.scenario {
        Scenario::RedisOutage(_) => "redis-outage",
        Scenario::PostgresOutage(_) => "postgres-outage",
        Scenario::SqliteCrash(_) => "sqlite-crash",
        Scenario::DiskFull(_) => "disk-full",
        Scenario::Soak(_) => "soak",
    };
    let env = Env::new(common.clone(), name)?;
    let mut passed = true;
    let mut done = |report: Report| -> Result<()> {
        report.print(common.json_out.as_deref())?;
        passed &= report.passed();
        Ok(())
    };
    match cli.scenario {
        Scenario::RedisOutage(args) => done(scenarios::redis_outage::run(&env, &args).await?)?,
        Scenario::PostgresOutage(args) => {
            done(scenarios::postgres_outage::run(&env, &args).await?)?;
        }
        Scenario::SqliteCrash(args) => done(scenarios::sqlite_crash::run(&env, &args).await?)?,
        Scenario::DiskFull(args) => done(scenarios::disk_full::run(&env, &args).await?)?,
        Scenario::Soak(args) => scenarios::soak::run(&env, &args, &mut done).await?,
    }
    if common.keep || !passed {
        let kept = env.dir.keep();
        println!("   files (database, logs, outboxes): {}", kept.display());
    }
    Ok(passed)
}
