//! Logging: a `tracing` subscriber on stderr, written by a background thread (the request
//! lines themselves are `request_log.rs`).
//!
//! A line is formatted where it is logged and handed to a queue (`tracing-appender`'s
//! non-blocking writer); a thread of its own writes the lines to stderr. A request never waits
//! for the terminal or a pipe, unless the queue is full (128 000 lines): then it waits for
//! room rather than drop lines, so nothing logged is lost. [`LogGuard`] flushes what is queued
//! when the server stops.

use std::io::IsTerminal as _;
use std::net::SocketAddr;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// The filter used when `RUST_LOG` is unset: our own events at `info`, and the frameworks'
/// own per-request and start-up logging quiet, so each request is one line (Rocket logs each
/// request itself, at every level, under `rocket::server::_` and `<app crate>::_`).
pub const DEFAULT_FILTER: &str = "info,rocket=warn,rocket::launch=error,rocket::server::_=off,\
     example_rocket::_=off,actix_server=warn";

/// Keeps the log writer thread running; dropping it writes out the lines still queued.
/// [`crate::ExampleApp`] holds it until [`crate::ExampleApp::stopped`].
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard(#[allow(dead_code)] WorkerGuard);

impl std::fmt::Debug for LogGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogGuard")
    }
}

/// Installs the `tracing` subscriber (stderr, through a background writer; `RUST_LOG`
/// overrides [`DEFAULT_FILTER`]). Events of crates that use the `log` crate (Rocket,
/// actix-web) go through it too. Returns the guard of the writer thread; `None` when a
/// subscriber was already installed (calling it again changes nothing).
pub fn init_tracing() -> Option<LogGuard> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let ansi = std::io::stderr().is_terminal();
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("example-log-writer")
        .finish(std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi)
        .try_init()
        .ok()
        .map(|()| LogGuard(guard))
}

/// Logs the address the server listens on: `listening on http://127.0.0.1:8080` (the real port
/// when `AUTH_BIND` asked for port 0; the smoke test reads it from this line).
pub fn log_listening(addr: SocketAddr) {
    tracing::info!("listening on http://{addr}");
}
