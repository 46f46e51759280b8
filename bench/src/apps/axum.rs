//! The axum app: [`router`].

use adapter_axum::{AuthState, AuthUser};
use auth_core::Auth;
use axum::Router;
use axum::extract::{FromRef, Request, State};
use axum::http::{StatusCode, header};
use axum::routing::get;

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

/// `adapter_axum::routes()` under `/api/auth` and the three route variants.
pub(crate) fn router(auth: Auth, raw_decoder: RawDecoder) -> Router {
    Router::new()
        .nest("/api/auth", adapter_axum::routes())
        .route("/bench/plain", get(plain))
        .route("/bench/raw", get(raw))
        .route("/bench/guarded", get(guarded))
        .with_state(AppState {
            auth: AuthState::new(auth),
            raw: raw_decoder,
        })
}
