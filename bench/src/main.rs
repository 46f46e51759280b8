//! # auth-bench
//!
//! The moving parts of `scripts/bench.sh` (issue 7), one binary with six subcommands:
//!
//! * `serve`: one adapter (`--framework axum|actix|rocket`) on `127.0.0.1:<port>` with the
//!   auth routes under `/api/auth` and three variants of one trivial route — `/bench/plain`
//!   (unguarded), `/bench/raw` (a hand-written `jsonwebtoken::decode` in the handler, the
//!   floor) and `/bench/guarded` (the adapter's `AuthUser`) — on the store of `--store`, with
//!   `access.mode = "stateless"` from `--stateless` and the session cache from
//!   `--session-cache-ms`. Before it listens it seeds users and sessions and
//!   writes the fixture the wrk scripts read (`bench/wrk/*.lua`).
//! * `in-process`: the same three route variants of each adapter called in process (no
//!   socket), interleaved round by round, so the guard's own cost shows apart from the
//!   network's noise.
//! * `scale`: `authenticate` and refresh latency with few vs many sessions in a store.
//! * `redis-clear`: deletes the keys the other subcommands left under a Redis prefix.
//! * `pg-clear`: drops the PostgreSQL schemas the other subcommands left.
//! * `report`: turns the collected results into `BENCHMARKS.md`.
//!

mod apps;
mod in_process;
mod postgres;
mod raw;
mod report;
mod scale;
mod servers;
mod setup;
mod stats;

use clap::{Parser, Subcommand};

/// Benchmarks of auth-core, its adapters and its stores. Run them all with `scripts/bench.sh`.
#[derive(Debug, Parser)]
#[command(name = "auth-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serves one adapter for the load generator.
    Serve(servers::ServeArgs),
    /// Times the route variants of every adapter in process, interleaved.
    InProcess(in_process::InProcessArgs),
    /// Measures authenticate and refresh with few vs many sessions in a store.
    Scale(scale::ScaleArgs),
    /// Deletes every key under a Redis prefix.
    RedisClear(setup::RedisClearArgs),
    /// Drops every benchmark schema (a prefix and a UUID) in PostgreSQL.
    PgClear(postgres::PgClearArgs),
    /// Writes BENCHMARKS.md from the results of one run.
    Report(Box<report::ReportArgs>),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Serve(args) => servers::serve(args),
        Command::InProcess(args) => in_process::run(args),
        Command::Scale(args) => scale::run(args),
        Command::RedisClear(args) => setup::redis_clear(args),
        Command::PgClear(args) => postgres::pg_clear(args),
        Command::Report(args) => report::run(*args),
    }
}
