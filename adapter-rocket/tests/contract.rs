//! The shared HTTP contract suite (`contract-tests`) against a real Rocket server on
//! 127.0.0.1: the auth routes under `/api/auth`, and `/api/hello`, `/api/maybe`, `/api/admin`
//! behind the adapter's three guards.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{Ipv4Addr, SocketAddr};

use adapter_rocket::{AuthUser, MaybeUser, RequireRole, Role};
use auth_core::Auth;
use contract_tests::{TestServer, run_contract_suite};
use rocket::config::{Config, LogLevel, Shutdown};
use rocket::fairing::AdHoc;
use rocket::get;
use rocket::http::ContentType;

struct Admin;

impl Role for Admin {
    const NAME: &'static str = "admin";
}

fn user_id_json(user_id: Option<String>) -> (ContentType, String) {
    let body = serde_json::json!({ "user_id": user_id }).to_string();
    (ContentType::JSON, body)
}

#[get("/hello")]
fn hello(user: AuthUser) -> (ContentType, String) {
    user_id_json(Some(user.user_id.to_string()))
}

#[get("/maybe")]
fn maybe(user: MaybeUser) -> (ContentType, String) {
    user_id_json(user.0.map(|p| p.user_id.to_string()))
}

#[get("/admin")]
fn admin(user: RequireRole<Admin>) -> (ContentType, String) {
    user_id_json(Some(user.user_id.to_string()))
}

/// Launches Rocket for `auth` on a free port of 127.0.0.1, in the test's runtime; returns
/// once it listens.
async fn spawn(auth: Auth) -> TestServer {
    let config = Config {
        address: Ipv4Addr::LOCALHOST.into(),
        // Rocket binds port 0 to a free port and reports it in `config()` at liftoff.
        port: 0,
        log_level: LogLevel::Off,
        cli_colors: false,
        shutdown: Shutdown {
            ctrlc: false,
            #[cfg(unix)]
            signals: Default::default(),
            grace: 1,
            mercy: 1,
            ..Shutdown::default()
        },
        ..Config::debug_default()
    };
    let (port_tx, port_rx) = tokio::sync::oneshot::channel();
    let rocket = rocket::custom(config)
        .manage(auth)
        .mount("/api/auth", adapter_rocket::routes())
        .mount("/api", rocket::routes![hello, maybe, admin])
        .register("/", adapter_rocket::catchers())
        .attach(AdHoc::on_liftoff("report the bound port", |rocket| {
            Box::pin(async move {
                let _ = port_tx.send(rocket.config().port);
            })
        }))
        .ignite()
        .await
        .unwrap();
    let shutdown = rocket.shutdown();
    drop(tokio::spawn(async move {
        if let Err(e) = rocket.launch().await {
            panic!("rocket failed: {e}");
        }
    }));
    let port = port_rx.await.expect("rocket lifted off");
    TestServer::new(SocketAddr::from((Ipv4Addr::LOCALHOST, port)), move || {
        shutdown.notify()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract() {
    run_contract_suite(spawn).await;
}
