//! Logging: a `tracing` subscriber on stderr, and the one line per request every example
//! server writes.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::time::Duration;

use tracing_subscriber::EnvFilter;

/// The filter used when `RUST_LOG` is unset: our own events at `info`, and the frameworks'
/// own per-request and start-up logging quiet, so each request is one line (Rocket logs each
/// request itself, at every level, under `rocket::server::_` and `<app crate>::_`).
pub const DEFAULT_FILTER: &str = "info,rocket=warn,rocket::launch=error,rocket::server::_=off,\
     example_rocket::_=off,actix_server=warn";

/// Installs the `tracing` subscriber (stderr; `RUST_LOG` overrides [`DEFAULT_FILTER`]).
/// Events of crates that use the `log` crate (Rocket, actix-web) go through it too. Calling it
/// again does nothing.
pub fn init_tracing() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let _already_set = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Logs one finished request: method, path (without the query string), status and latency.
///
/// Nothing else from the request is logged: no header (so no `Authorization`), no query, no
/// body, so never a token, code or password.
pub fn log_request(method: &str, path: &str, status: u16, latency: Duration) {
    tracing::info!(
        target: "http",
        %method,
        %path,
        status,
        ?latency,
        "request"
    );
}

/// Logs the address the server listens on: `listening on http://127.0.0.1:8080` (the real port
/// when `AUTH_BIND` asked for port 0; the smoke test reads it from this line).
pub fn log_listening(addr: SocketAddr) {
    tracing::info!("listening on http://{addr}");
}
