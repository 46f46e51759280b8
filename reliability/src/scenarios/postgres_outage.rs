//! `postgres-outage`: the example server on its own PostgreSQL (`DATABASE_URL`, the store's
//! default timeouts: pool wait 2 s, connect 2 s, statement 5 s) under the load of
//! [`store_outage`](super::store_outage), and three faults, each under the load:
//! * `stop`: `pg_ctl stop -m immediate` (every connection cut, like a crash), then a start on
//!   the same port and data directory: an outage;
//! * `terminate`: every connection of the server's database terminated with
//!   `pg_terminate_backend` from a connection of our own, the server itself up: at most one
//!   503 per cut pooled connection, 200 again at once;
//! * `freeze`: every PostgreSQL process SIGSTOPped (a server that hangs: connections stay
//!   open, nothing answers), then SIGCONTinued: an outage whose requests are bounded by the
//!   store's timeouts (`--freeze-bound-secs`) rather than the hang bound.
//!
//! The server is never restarted; the promises are those of
//! [`store_outage`](super::store_outage).

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use nix::sys::signal::Signal;
use serde_json::{Map, json};

use crate::Env;
use crate::postgres::Postgres;
use crate::report::Report;
use crate::scenarios::store_outage::{Expect, Fault, LoadArgs, Run};

/// Options of `postgres-outage`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(flatten)]
    load: LoadArgs,
    /// Seconds PostgreSQL stays down after `pg_ctl stop -m immediate`.
    #[arg(long, default_value_t = 4.0)]
    down_secs: f64,
    /// Seconds every PostgreSQL process stays stopped (SIGSTOP) before SIGCONT; 0 leaves this
    /// fault out.
    #[arg(long, default_value_t = 5.0)]
    freeze_secs: f64,
    /// No request may take longer while PostgreSQL is frozen (seconds): a call waits for the
    /// statement timeout (5 s), or for a pooled connection (2 s) and then a new one (connect
    /// timeout 2 s), so a request answers 503 after up to 9 s.
    #[arg(long, default_value_t = 9.5)]
    freeze_bound_secs: f64,
}

/// Runs the scenario.
pub(crate) async fn run(env: &Env, args: &Args) -> Result<Report> {
    let mut report = Report::new("postgres-outage");
    let mut postgres = Postgres::start(env.common.pg_bin.as_deref(), &env.path().join("postgres"))
        .await
        .context("starting PostgreSQL")?;
    let mut spec = env.server_spec("server", None)?;
    spec.database_url = Some(postgres.url());
    let run = Run::start(env, spec, &args.load).await?;

    // Stopped at once, then started again on the same port and data directory.
    let began = Instant::now();
    postgres.stop_immediate().await?;
    let down = Instant::now();
    run.pause(args.down_secs).await;
    let back = Instant::now();
    let up = postgres.spawn().await.context("restarting PostgreSQL")?;
    let mut faults = vec![Fault::outage(env, "stop", began, down, back, up)];
    run.after().await;

    // Every connection of the server's database terminated, the server up.
    let began = Instant::now();
    let cut = postgres.terminate_connections().await?;
    let done = Instant::now();
    report.check(
        cut.pooled > 0,
        "terminate: no pooled connection of the server was found to terminate",
    );
    let mut figures = Map::new();
    let _ = figures.insert("connections_cut".into(), json!(cut.all));
    let _ = figures.insert("pooled_connections_cut".into(), json!(cut.pooled));
    faults.push(Fault {
        figures,
        expect: Expect::Cut { pooled: cut.pooled },
        ..Fault::outage(env, "terminate", began, began, done, done)
    });
    run.after().await;

    if args.freeze_secs > 0.0 {
        // SIGSTOP: a server that hangs, then SIGCONT.
        let began = Instant::now();
        let processes = postgres.signal_all(Signal::SIGSTOP)?;
        // Every process is stopped only once the last one got the signal.
        let down = Instant::now();
        run.pause(args.freeze_secs).await;
        let back = Instant::now();
        let _ = postgres.signal_all(Signal::SIGCONT)?;
        let bound = Duration::from_secs_f64(args.freeze_bound_secs);
        let mut figures = Map::new();
        let _ = figures.insert("processes_stopped".into(), json!(processes));
        let _ = figures.insert("latency_bound_ms".into(), json!(bound.as_millis() as u64));
        faults.push(Fault {
            bound,
            figures,
            ..Fault::outage(env, "freeze", began, down, back, back)
        });
        run.after().await;
    }
    run.finish(env, report, "PostgreSQL", &faults).await
}
