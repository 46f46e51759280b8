//! [`configure`]: the contract's routes as actix-web resources, each handler a translation:
//! read the request, call [`Auth::handle`](auth_core::Auth::handle), write the response.

use actix_web::{HttpRequest, HttpResponse, web};
use auth_core::AuthError;
use auth_core::http::{HttpRequest as CoreRequest, HttpResponse as CoreResponse, Route};

use crate::request::{auth_of, client_info, content_type, read_body, token_header};
use crate::response::into_actix;

/// Registers the routes of the HTTP contract (`API.md`) on a [`web::ServiceConfig`], to be
/// mounted under the prefix of the app's choice with [`Scope::configure`](actix_web::Scope::configure):
///
/// ```no_run
/// use actix_web::{App, HttpServer, web};
/// # fn make_auth() -> auth_core::Auth { auth_core::testkit::TestKit::new().auth }
///
/// # async fn run() -> std::io::Result<()> {
/// let auth = web::Data::new(make_auth()); // built once, shared by every worker
/// HttpServer::new(move || {
///     App::new()
///         .app_data(auth.clone())
///         .service(web::scope("/api/auth").configure(adapter_actix::configure))
/// })
/// .bind(("127.0.0.1", 8080))?
/// .run()
/// .await
/// # }
/// ```
///
/// The handlers find the [`Auth`](auth_core::Auth) as `web::Data<auth_core::Auth>` and, if
/// the app registered one, a `web::Data<`[`ClientIpPolicy`](auth_core::client_ip::ClientIpPolicy)`>`
/// (without one the client IP is the TCP peer and the proxy headers are ignored).
///
/// Besides the routes it sets the scope's default service, so that a path under the prefix
/// that is not a route, or a route called with another method, answers the contract's JSON
/// 404 (`not_found`; the contract has no 405) instead of actix-web's empty 404/405. Call it on a [`Scope`](actix_web::Scope):
/// on the [`App`](actix_web::App) itself that default would become the whole app's.
///
/// Bodies are read up to [`MAX_BODY_BYTES`](auth_core::api::MAX_BODY_BYTES) (16 KiB); a larger
/// one answers 413 `payload_too_large`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(post("/register", register))
        .service(post("/login", login))
        .service(post("/verify_sms", verify_sms))
        .service(post("/refresh", refresh))
        .service(post("/logout", logout))
        .service(post(
            "/logout_all_other_sessions",
            logout_all_other_sessions,
        ))
        .service(resource("/sessions").route(web::get().to(list_sessions)))
        .service(resource("/sessions/{session_id}").route(web::delete().to(revoke_session)))
        .service(
            resource("/me")
                .route(web::get().to(me))
                .route(web::patch().to(update_me)),
        )
        .service(resource("/users/{user_id}").route(web::get().to(get_user)))
        .service(post("/password", change_password))
        .service(post("/password/reset", password_reset))
        .service(post("/password/reset/confirm", password_reset_confirm))
        .service(post("/activate", activate))
        .service(post("/phone", change_phone))
        .service(post("/phone/confirm", confirm_phone))
        .service(post("/email", change_email))
        .service(post("/email/confirm", confirm_email))
        .default_service(web::to(not_found));
}

/// A resource whose other methods answer the contract's JSON 404 (the contract has no 405).
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(not_found))
}

/// A resource served by `handler` for `POST` (and the contract's 404 for other methods).
fn post<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    resource(path).route(web::post().to(handler))
}

/// The contract's JSON 404 for everything under the prefix that is not a route.
async fn not_found() -> HttpResponse {
    into_actix(CoreResponse::error(&AuthError::NotFound))
}

/// Reads the request, lets the core serve `route`, writes its answer.
async fn serve(req: &HttpRequest, payload: web::Payload, route: Route<'_>) -> HttpResponse {
    let auth = match auth_of(req) {
        Ok(auth) => auth,
        Err(err) => return into_actix(CoreResponse::error(&err)),
    };
    let body = match read_body(req, payload).await {
        Ok(body) => body,
        Err(err) => return into_actix(CoreResponse::error(&err)),
    };
    let content_type = content_type(req);
    let authorization = token_header(req, &auth);
    let core_req = CoreRequest {
        content_type: content_type.as_deref(),
        authorization: authorization.as_deref(),
        body: &body,
        client: client_info(req),
    };
    into_actix(auth.handle(route, &core_req).await)
}

async fn register(req: HttpRequest, body: web::Payload) -> HttpResponse {
    serve(&req, body, Route::Register).await
}

async fn login(req: HttpRequest, body: web::Payload) -> HttpResponse {
    serve(&req, body, Route::Login).await
}

async fn verify_sms(req: HttpRequest, body: web::Payload) -> HttpResponse {
    serve(&req, body, Route::VerifySms).await
}

async fn refresh(req: HttpRequest, body: web::Payload) -> HttpResponse {
    serve(&req, body, Route::Refresh).await
}

async fn logout(req: HttpRequest, body: web::Payload) -> HttpResponse {
    serve(&req, body, Route::Logout).await
}

async fn logout_all_other_sessions(req: HttpRequest, body: web::Payload) -> HttpResponse {
    serve(&req, body, Route::LogoutAllOtherSessions).await
}

async fn list_sessions(req: HttpRequest, body: web::Payload) -> HttpResponse {
    serve(&req, body, Route::ListSessions).await
}

async fn revoke_session(req: HttpRequest, body: web::Payload) -> HttpResponse {
    let id = req
        .match_info()
        .get("session_id")
        .unwrap_or_default()
        .to_owned();
    serve(&req, body, Route::RevokeSession(&id)).await
}

async fn me(req: HttpRequest, body: web::Payload) -> HttpResponse {
    serve(&req, body, Route::Me).await
}

async fn change_password(req: HttpRequest, body: web::Payload) -> HttpResponse {
    serve(&req, body, Route::ChangePassword).await
}

async fn update_me(req: HttpRequest, body: web::Payload) -> HttpResponse {
    serve(&req, body, Route::UpdateMe).await
}

async fn get_user(req: HttpRequest, body: web::Payload) -> HttpResponse {
    let id = req
        .match_info()
        .get("user_id")
        .unwrap_or_default()
        .to_owned();
    serve(&req, body, Route::GetUser(&id)).await
}

async fn password_reset(req: HttpRequest, body: web::Payload) -> HttpResponse {
    serve(&req, body, Route::PasswordReset).await
}

async fn password_reset_confirm(req: HttpRequest, body: web::Payload) -> HttpResponse {
    serve(&req, body, Route::PasswordResetConfirm).await
}

async fn activate(req: HttpRequest, body: web::Payload) -> HttpResponse {
    serve(&req, body, Route::Activate).await
}

async fn change_phone(req: HttpRequest, body: web::Payload) -> HttpResponse {
    serve(&req, body, Route::ChangePhone).await
}

async fn confirm_phone(req: HttpRequest, body: web::Payload) -> HttpResponse {
    serve(&req, body, Route::ConfirmPhone).await
}

async fn change_email(req: HttpRequest, body: web::Payload) -> HttpResponse {
    serve(&req, body, Route::ChangeEmail).await
}

async fn confirm_email(req: HttpRequest, body: web::Payload) -> HttpResponse {
    serve(&req, body, Route::ConfirmEmail).await
}
