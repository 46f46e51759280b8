//! The contract's routes as an axum [`Router`] to `nest` under the app's prefix, built from the
//! core's route table [`ROUTES`]. Every route is served by the same three steps: read the
//! request ([`serve`]), call [`Auth::handle`](auth_core::Auth::handle), convert
//! ([`ContractResponse`]).

use auth_core::AuthError;
use auth_core::api::MAX_BODY_BYTES;
use auth_core::http::{HttpRequest, HttpResponse, ROUTES, Route};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{DefaultBodyLimit, FromRef, FromRequestParts, RawPathParams, Request, State};
use axum::http::Method;
use axum::http::header::{CONTENT_TYPE, USER_AGENT};
use axum::routing::{MethodFilter, on};

use crate::AuthState;
use crate::request::{Headers, header_text, peer, read_body};
use crate::response::ContractResponse;

/// The auth routes of the contract, for [`Router::nest`] under the prefix of your choice
/// (`/api/auth` in `API.md`): every route of [`auth_core::http::ROUTES`].
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
    let mut router = Router::new();
    for &(method, path, id) in ROUTES {
        let Some(filter) = method_filter(method) else {
            // The table is the core's; a method axum cannot route would fail the adapter's
            // route-table test.
            continue;
        };
        router = router.route(
            path,
            on(
                filter,
                move |State(state): State<AuthState>, req: Request| serve(state, id, req),
            ),
        );
    }
    router
        // After the routes: it applies to the routes added so far.
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// The axum method filter of a method of the route table.
fn method_filter(method: &str) -> Option<MethodFilter> {
    let method = Method::from_bytes(method.as_bytes()).ok()?;
    MethodFilter::try_from(method).ok()
}

/// Serves the route `id`: reads the peer, the path parameter and (for a route that takes
/// one) the body, lets the core answer.
async fn serve(state: AuthState, id: Route, req: Request) -> ContractResponse {
    let (mut parts, body) = req.into_parts();
    let peer = peer(&parts);
    let param = match id.param() {
        Some(name) => capture(
            RawPathParams::from_request_parts(&mut parts, &state).await,
            name,
        ),
        None => String::new(),
    };
    let body = if id.takes_body() {
        match read_body(&mut parts, body, &state).await {
            Ok(body) => body,
            Err(res) => return res,
        }
    } else {
        Bytes::new()
    };
    let headers = Headers(&parts.headers);
    let req = HttpRequest {
        peer,
        headers: &headers,
        path_param: id.param().map(|_| param.as_str()),
        content_type: header_text(&parts.headers, CONTENT_TYPE),
        user_agent: header_text(&parts.headers, USER_AGENT),
        body: &body,
    };
    ContractResponse(state.auth().handle(id, &req).await)
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

/// Any path under the prefix that is not a route.
async fn not_found() -> ContractResponse {
    ContractResponse(HttpResponse::error(&AuthError::NotFound))
}

/// A route's path with a method it does not serve: the contract's 404 (it has no 405).
async fn method_not_allowed() -> ContractResponse {
    ContractResponse(HttpResponse::error(&AuthError::NotFound))
}
