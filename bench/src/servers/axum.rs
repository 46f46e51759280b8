//! The axum server: `adapter_axum::routes()` under `/api/auth`, the three route variants, and
//! `axum::serve` on a multi-threaded tokio runtime with connect info (client IPs).

use std::net::SocketAddr;

use adapter_axum::{AuthState, AuthUser};
use axum::Router;
use axum::extract::{FromRef, Request, State};
use axum::http::{StatusCode, header};
use axum::routing::get;

use super::{ServeArgs, prepare};
use crate::raw::RawDecoder;

#[derive(Clone)]
struct AppState {
    auth: AuthState,
    raw: RawDecoder,
}

impl FromRef<AppState> for AuthState {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

impl FromRef<AppState> for RawDecoder {
    fn from_ref(state: &AppState) -> Self {
        state.raw.clone()
    }
}

async fn plain() -> &'static str {
    "ok"
}

/// The hand-written decode in the handler. It takes the whole request to read the header in
/// place: the `HeaderMap` extractor would clone every header first.
async fn raw(State(raw): State<RawDecoder>, request: Request) -> Result<String, StatusCode> {
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    raw.user_of(authorization).ok_or(StatusCode::UNAUTHORIZED)
}

async fn guarded(user: AuthUser) -> String {
    user.user_id.to_string()
}

pub(super) fn run(args: ServeArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let bench = prepare(&args).await?;
        let app = Router::new()
            .nest("/api/auth", adapter_axum::routes())
            .route("/bench/plain", get(plain))
            .route("/bench/raw", get(raw))
            .route("/bench/guarded", get(guarded))
            .with_state(AppState {
                auth: AuthState::new(bench.auth),
                raw: bench.raw,
            });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await?;
        Ok(())
    })
}
