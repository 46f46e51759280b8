//! # contract-tests
//!
//! The one HTTP-level test suite of the contract (`API.md`), written once and run by every
//! adapter (axum, actix-web, rocket) against a real server on `127.0.0.1`. A difference between
//! adapters is a failing check.
//!
//! An adapter's test calls [`run_contract_suite`] with a closure that starts its framework's
//! server for a given [`auth_core::Auth`] and returns a [`TestServer`]. For every check the
//! suite builds a fresh [`auth_core::testkit::TestKit`] (memory store, fake SMS outbox,
//! manual clock, cheap argon2), starts a server for it, and talks HTTP to it.
//!
//! ## What the server under test must serve
//! * the auth routes of the contract under `/api/auth`; every other path under `/api/auth`
//!   answers the contract's JSON `404 {"error":"not_found",…}`;
//! * `GET /api/hello`, protected by the adapter's required-user guard: `200 {"user_id":"<id>"}`;
//! * `GET /api/maybe`, with the optional-user guard: `200 {"user_id":"<id>"}` with a valid
//!   token, `200 {"user_id":null}` without one;
//! * `GET /api/admin`, protected by the role guard for the role `admin`:
//!   `200 {"user_id":"<id>"}`.
//!
//! Guard rejections are the contract's JSON errors. The client IP must be the TCP peer address
//! (neither `X-Forwarded-For` nor `Forwarded` is trusted by default).
//!
//! ## Running a subset
//! Set `CONTRACT_CHECK` to a substring of check names (see [`CHECKS`]) to run only those, e.g.
//! `CONTRACT_CHECK=refresh cargo test -p adapter-axum --test contract`.
//!
//! ## Example
//! ```no_run
//! # async fn start_my_framework(auth: auth_core::Auth) -> (std::net::SocketAddr, impl FnOnce() + Send + 'static) {
//! #     let _ = auth;
//! #     (std::net::SocketAddr::from(([127, 0, 0, 1], 8080)), || {})
//! # }
//! # async fn test() {
//! use contract_tests::{TestServer, run_contract_suite};
//!
//! run_contract_suite(|auth| async move {
//!     let (addr, stop) = start_my_framework(auth).await;
//!     TestServer::new(addr, stop)
//! })
//! .await;
//! # }
//! ```

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

pub mod checks;
mod client;
pub mod raw;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use auth_core::AuthConfig;
use auth_core::testkit::TestKit;

pub use checks::CHECKS;
pub use client::{Ctx, OTHER_PASSWORD, PASSWORD, PREFIX, Req, Res, Tokens};

/// A running server under test; dropping it stops the server.
pub struct TestServer {
    addr: SocketAddr,
    // A `Mutex` only to make `TestServer` `Sync`; `stop` runs once, from `Drop`.
    stop: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl TestServer {
    /// `addr`: where it listens (127.0.0.1:port); `stop`: called once on drop.
    pub fn new(addr: SocketAddr, stop: impl FnOnce() + Send + 'static) -> Self {
        Self {
            addr,
            stop: Mutex::new(Some(Box::new(stop))),
        }
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let stop = self
            .stop
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(stop) = stop {
            stop();
        }
    }
}

/// The future of one check.
pub type CheckFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One named check of the suite.
#[derive(Clone, Copy)]
pub struct Check {
    /// Its name, printed when it fails (and matched by `CONTRACT_CHECK`).
    pub name: &'static str,
    /// The configuration of the [`TestKit`] it runs against.
    pub config: fn() -> AuthConfig,
    /// The check itself.
    pub run: fn(Ctx) -> CheckFuture,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check").field("name", &self.name).finish()
    }
}

/// The longest one check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs every contract check. For each check it builds a fresh TestKit (with the config the
/// check needs), calls `spawn(kit.auth.clone())`, and talks HTTP to the returned server.
/// Panics naming the failed check.
///
/// Every check runs even when an earlier one failed; the final panic lists all failures.
/// Needs a tokio runtime (each check runs in its own task, so a panic is attributed to it).
pub async fn run_contract_suite<F, Fut>(spawn: F)
where
    F: Fn(auth_core::Auth) -> Fut,
    Fut: Future<Output = TestServer>,
{
    let filter = std::env::var("CONTRACT_CHECK").ok();
    let mut failures: Vec<(&'static str, String)> = Vec::new();
    let mut ran = 0usize;
    for check in CHECKS {
        if filter.as_deref().is_some_and(|f| !check.name.contains(f)) {
            continue;
        }
        ran += 1;
        let kit = TestKit::with_config((check.config)());
        let server = spawn(kit.auth.clone()).await;
        if let Err(e) = wait_until_listening(server.addr()).await {
            failures.push((
                check.name,
                format!("the server did not accept connections: {e}"),
            ));
            continue;
        }
        let ctx = Ctx::new(kit, server);
        let task = tokio::spawn((check.run)(ctx));
        let abort = task.abort_handle();
        match tokio::time::timeout(CHECK_TIMEOUT, task).await {
            Ok(Ok(())) => eprintln!("contract check {} ... ok", check.name),
            Ok(Err(e)) => {
                let message = match e.try_into_panic() {
                    Ok(payload) => panic_text(payload.as_ref()),
                    Err(e) => e.to_string(),
                };
                eprintln!("contract check {} ... FAILED", check.name);
                failures.push((check.name, message));
            }
            Err(_) => {
                abort.abort();
                eprintln!("contract check {} ... TIMED OUT", check.name);
                failures.push((check.name, format!("timed out after {CHECK_TIMEOUT:?}")));
            }
        }
    }
    assert!(ran > 0, "CONTRACT_CHECK={filter:?} matches no check");
    if !failures.is_empty() {
        let list: Vec<String> = failures
            .iter()
            .map(|(name, message)| format!("  {name}: {message}"))
            .collect();
        panic!(
            "{} of {ran} contract checks failed:\n{}",
            failures.len(),
            list.join("\n")
        );
    }
    eprintln!("contract suite: {ran} checks passed");
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panicked".to_owned()
    }
}

/// Waits until something accepts connections on `addr` (some frameworks bind after their
/// launch future returns).
async fn wait_until_listening(addr: SocketAddr) -> std::io::Result<()> {
    let mut last = None;
    for _ in 0..250 {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(_) => return Ok(()),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no attempt")))
}
