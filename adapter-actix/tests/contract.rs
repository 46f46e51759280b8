//! The shared HTTP contract suite (`contract-tests`) against this adapter, over a real socket:
//! one actix-web server per check on 127.0.0.1, stopped when the check drops it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use actix_web::{App, HttpServer, web};
use contract_tests::{TestServer, run_contract_suite};

/// Starts an actix-web server (one worker) for `auth` on an ephemeral port. The server runs
/// as a task of the test's tokio runtime (actix-web 4 needs no actix `System` for that: each
/// worker gets its own thread and runtime); its handle stops it when the check is done.
async fn spawn(auth: auth_core::Auth) -> TestServer {
    let auth = web::Data::new(auth);
    let server =
        HttpServer::new(move || App::new().app_data(auth.clone()).configure(common::mount))
            .workers(1)
            .disable_signals()
            .bind(("127.0.0.1", 0))
            .expect("bind 127.0.0.1:0");
    let addr = *server.addrs().first().expect("a bound address");
    let server = server.run();
    let handle = server.handle();
    let _task = tokio::spawn(server);
    TestServer::new(addr, move || {
        // Sends the stop command at once; the server task ends by itself.
        drop(handle.stop(false));
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_contract() {
    run_contract_suite(spawn).await;
}
