//! The contract suite (`contract-tests`) against the axum adapter, over a real socket.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;

use adapter_axum::{AuthState, AuthUser, RequireRole, role};
use axum::routing::get;
use axum::{Json, Router};
use contract_tests::{TestServer, run_contract_suite};
use serde_json::{Value, json};

role!(Admin = "admin");

async fn hello(user: AuthUser) -> Json<Value> {
    Json(json!({ "user_id": user.user_id }))
}

async fn maybe(user: Option<AuthUser>) -> Json<Value> {
    Json(json!({ "user_id": user.map(|u| u.user_id) }))
}

async fn admin(admin: RequireRole<Admin>) -> Json<Value> {
    Json(json!({ "user_id": admin.user_id }))
}

fn app(auth: auth_core::Auth) -> Router {
    Router::new()
        .nest("/api/auth", adapter_axum::routes())
        .route("/api/hello", get(hello))
        .route("/api/maybe", get(maybe))
        .route("/api/admin", get(admin))
        .with_state(AuthState::new(auth))
}

async fn spawn(auth: auth_core::Auth) -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let service = app(auth).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        axum::serve(listener, service)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .expect("the axum server");
    });
    TestServer::new(addr, move || {
        let _ = stop.send(());
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_suite() {
    run_contract_suite(spawn).await;
}
