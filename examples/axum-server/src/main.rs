//! The example server on axum: `cargo run -p example-axum`.
//!
//! Serves the auth routes under `/api/auth` and three routes that show the guards:
//! `GET /api/hello` (a signed-in user is required), `GET /api/maybe` (the user is optional)
//! and `GET /api/admin` (the `admin` role is required). Settings come from the environment
//! (see `example_support::Settings`); by default it stores everything in `./auth.db` and
//! listens on `127.0.0.1:8080`.

use std::net::SocketAddr;
use std::time::Instant;

use adapter_axum::{AuthState, AuthUser, MaybeUser, RequireRole, role};
use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use example_support::{ExampleApp, responses};

role!(Admin = "admin");

/// A signed-in user is required (401 otherwise).
async fn hello(user: AuthUser) -> impl IntoResponse {
    Json(responses::hello(user.user_id()))
}

/// The user is optional: no token is `None`; a bad token is still 401.
async fn maybe(user: MaybeUser) -> impl IntoResponse {
    Json(responses::maybe(user.user_id()))
}

/// The `admin` role is required (401 without a token, 403 without the role).
async fn admin(admin: RequireRole<Admin>) -> impl IntoResponse {
    Json(responses::admin(admin.user_id()))
}

/// One log line per request: method, path, status, latency.
async fn log_requests(request: Request, next: Next) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    example_support::log_request(
        method.as_str(),
        &path,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

fn app(state: AuthState) -> Router {
    Router::new()
        .nest("/api/auth", adapter_axum::routes())
        .route("/api/hello", get(hello))
        .route("/api/maybe", get(maybe))
        .route("/api/admin", get(admin))
        .layer(middleware::from_fn(log_requests))
        .with_state(state)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let example = ExampleApp::start().await?;
    let listener = tokio::net::TcpListener::bind(example.settings().bind).await?;
    example_support::log_listening(listener.local_addr()?);
    let router = app(AuthState::new(example.auth()));
    // With the peer address, so sessions record the client IP.
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(example_support::shutdown_signal())
    .await?;
    example.stopped();
    Ok(())
}
