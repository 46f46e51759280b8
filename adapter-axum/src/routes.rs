//! The contract's routes as an axum [`Router`] to `nest` under the app's prefix. Every handler
//! is the same three steps: extract ([`Head`] / [`WithBody`]), call
//! [`Auth::handle`](auth_core::Auth::handle), convert ([`ContractResponse`]).

use auth_core::AuthError;
use auth_core::api::MAX_BODY_BYTES;
use auth_core::http::{HttpResponse, Route};
use axum::Router;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{DefaultBodyLimit, FromRef, RawPathParams, State};
use axum::routing::{delete, get, post};

use crate::AuthState;
use crate::request::{Head, WithBody};
use crate::response::ContractResponse;

/// The auth routes of the contract, for [`Router::nest`] under the prefix of your choice
/// (`/api/auth` in `API.md`).
///
/// The router's state `S` is your app's state; the routes read [`AuthState`] from it through
/// [`FromRef`]. Paths under the prefix that are not routes answer the contract's JSON 404
/// (`not_found`), a known path with another method the same JSON 404 (the contract has no 405), and a
/// body over 16 KiB the contract's JSON 413 (`payload_too_large`).
///
/// `{prefix}/` itself (with the trailing slash) is not under the nested router in axum: it
/// reaches your app's own fallback.
///
/// The client IP comes from [`ConnectInfo<SocketAddr>`](axum::extract::ConnectInfo): serve
/// the app with `into_make_service_with_connect_info::<SocketAddr>()`. Without it sessions
/// record no IP and every request shares one "unknown" per-IP bucket (a warning says so once).
///
/// ```
/// use adapter_axum::AuthState;
/// use axum::Router;
/// use axum::extract::FromRef;
///
/// #[derive(Clone)]
/// struct AppState {
///     auth: AuthState,
///     greeting: &'static str,
/// }
///
/// impl FromRef<AppState> for AuthState {
///     fn from_ref(app: &AppState) -> AuthState {
///         app.auth.clone()
///     }
/// }
///
/// # let auth = auth_core::testkit::TestKit::new().auth;
/// let app: Router = Router::new()
///     .nest("/api/auth", adapter_axum::routes())
///     .with_state(AppState { auth: AuthState::new(auth), greeting: "hi" });
/// ```
pub fn routes<S>() -> Router<S>
where
    AuthState: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/register", post(register))
        .route("/login", post(login))
        .route("/verify_sms", post(verify_sms))
        .route("/refresh", post(refresh))
        .route("/logout", post(logout))
        .route(
            "/logout_all_other_sessions",
            post(logout_all_other_sessions),
        )
        .route("/sessions", get(list_sessions))
        .route("/sessions/{session_id}", delete(revoke_session))
        .route("/me", get(me).patch(update_me))
        .route("/users/{user_id}", get(get_user))
        .route("/password", post(change_password))
        .route("/password/reset", post(password_reset))
        .route("/password/reset/confirm", post(password_reset_confirm))
        .route("/activate", post(activate))
        .route("/phone", post(change_phone))
        .route("/phone/confirm", post(confirm_phone))
        .route("/email", post(change_email))
        .route("/email/confirm", post(confirm_email))
        // After the routes: it applies to the routes added so far.
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

async fn serve(state: &AuthState, route: Route<'_>, head: &Head, body: &[u8]) -> ContractResponse {
    ContractResponse(state.auth().handle(route, &head.with_body(body)).await)
}

async fn register(State(state): State<AuthState>, req: WithBody) -> ContractResponse {
    serve(&state, Route::Register, &req.head, &req.body).await
}

async fn login(State(state): State<AuthState>, req: WithBody) -> ContractResponse {
    serve(&state, Route::Login, &req.head, &req.body).await
}

async fn verify_sms(State(state): State<AuthState>, req: WithBody) -> ContractResponse {
    serve(&state, Route::VerifySms, &req.head, &req.body).await
}

async fn refresh(State(state): State<AuthState>, req: WithBody) -> ContractResponse {
    serve(&state, Route::Refresh, &req.head, &req.body).await
}

async fn logout(State(state): State<AuthState>, head: Head) -> ContractResponse {
    serve(&state, Route::Logout, &head, &[]).await
}

async fn logout_all_other_sessions(State(state): State<AuthState>, head: Head) -> ContractResponse {
    serve(&state, Route::LogoutAllOtherSessions, &head, &[]).await
}

async fn list_sessions(State(state): State<AuthState>, head: Head) -> ContractResponse {
    serve(&state, Route::ListSessions, &head, &[]).await
}

async fn revoke_session(
    State(state): State<AuthState>,
    params: Result<RawPathParams, RawPathParamsRejection>,
    head: Head,
) -> ContractResponse {
    let id = capture(params, "session_id");
    serve(&state, Route::RevokeSession(&id), &head, &[]).await
}

async fn me(State(state): State<AuthState>, head: Head) -> ContractResponse {
    serve(&state, Route::Me, &head, &[]).await
}

async fn update_me(State(state): State<AuthState>, req: WithBody) -> ContractResponse {
    serve(&state, Route::UpdateMe, &req.head, &req.body).await
}

async fn get_user(
    State(state): State<AuthState>,
    params: Result<RawPathParams, RawPathParamsRejection>,
    head: Head,
) -> ContractResponse {
    let id = capture(params, "user_id");
    serve(&state, Route::GetUser(&id), &head, &[]).await
}

/// The percent-decoded path capture `name`. A capture that is not UTF-8 once decoded names
/// nothing: it becomes the empty string, which the core answers with `not_found` (after
/// checking the token), like any other unknown id.
fn capture(params: Result<RawPathParams, RawPathParamsRejection>, name: &str) -> String {
    params
        .ok()
        .and_then(|params| {
            params
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_owned())
        })
        .unwrap_or_default()
}

async fn change_password(State(state): State<AuthState>, req: WithBody) -> ContractResponse {
    serve(&state, Route::ChangePassword, &req.head, &req.body).await
}

async fn password_reset(State(state): State<AuthState>, req: WithBody) -> ContractResponse {
    serve(&state, Route::PasswordReset, &req.head, &req.body).await
}

async fn password_reset_confirm(State(state): State<AuthState>, req: WithBody) -> ContractResponse {
    serve(&state, Route::PasswordResetConfirm, &req.head, &req.body).await
}

async fn activate(State(state): State<AuthState>, req: WithBody) -> ContractResponse {
    serve(&state, Route::Activate, &req.head, &req.body).await
}

async fn change_phone(State(state): State<AuthState>, req: WithBody) -> ContractResponse {
    serve(&state, Route::ChangePhone, &req.head, &req.body).await
}

async fn confirm_phone(State(state): State<AuthState>, req: WithBody) -> ContractResponse {
    serve(&state, Route::ConfirmPhone, &req.head, &req.body).await
}

async fn change_email(State(state): State<AuthState>, req: WithBody) -> ContractResponse {
    serve(&state, Route::ChangeEmail, &req.head, &req.body).await
}

async fn confirm_email(State(state): State<AuthState>, req: WithBody) -> ContractResponse {
    serve(&state, Route::ConfirmEmail, &req.head, &req.body).await
}

/// Any path under the prefix that is not a route.
async fn not_found() -> ContractResponse {
    ContractResponse(HttpResponse::error(&AuthError::NotFound))
}

/// A route's path with a method it does not serve: the contract's 404 (it has no 405).
async fn method_not_allowed() -> ContractResponse {
    ContractResponse(HttpResponse::error(&AuthError::NotFound))
}
