//! The contract's routes: each handler reads the request (peer, headers, raw body), calls
//! [`Auth::handle`] and writes the [`AuthResponse`]. The core checks content types, parses
//! bodies and decides every status; nothing here knows about tokens or codes.
//!
//! No route uses Rocket's `format = "json"` nor a `Json<T>` data guard: both would answer
//! a wrong content type or a malformed body with Rocket's own status before the core could
//! answer the contract's 400 `invalid_request`.

use std::net::IpAddr;

use auth_core::api::MAX_BODY_BYTES;
use auth_core::http::{HttpRequest, Route};
use auth_core::{Auth, AuthError};
use rocket::data::{ByteUnit, Data};
use rocket::http::HeaderMap;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};
use rocket::{delete, get, patch, post};

use crate::AuthResponse;
use crate::guards::{Headers, auth_missing, fail, managed_auth, peer};

#[post("/register", data = "<body>")]
async fn register(req: Incoming<'_>, body: Data<'_>) -> AuthResponse {
    req.serve_with_body(Route::Register, body).await
}

#[post("/login", data = "<body>")]
async fn login(req: Incoming<'_>, body: Data<'_>) -> AuthResponse {
    req.serve_with_body(Route::Login, body).await
}

#[post("/verify_sms", data = "<body>")]
async fn verify_sms(req: Incoming<'_>, body: Data<'_>) -> AuthResponse {
    req.serve_with_body(Route::VerifySms, body).await
}

#[post("/refresh", data = "<body>")]
async fn refresh(req: Incoming<'_>, body: Data<'_>) -> AuthResponse {
    req.serve_with_body(Route::Refresh, body).await
}

#[post("/logout", data = "<body>")]
async fn logout(req: Incoming<'_>, body: Data<'_>) -> AuthResponse {
    req.serve_with_body(Route::Logout, body).await
}

#[post("/logout_all_other_sessions", data = "<body>")]
async fn logout_all_other_sessions(req: Incoming<'_>, body: Data<'_>) -> AuthResponse {
    req.serve_with_body(Route::LogoutAllOtherSessions, body)
        .await
}

#[get("/sessions")]
async fn list_sessions(req: Incoming<'_>) -> AuthResponse {
    req.serve(Route::ListSessions, b"").await
}

#[delete("/sessions/<session_id>")]
async fn revoke_session(req: Incoming<'_>, session_id: &str) -> AuthResponse {
    req.serve_param(Route::RevokeSession, session_id).await
}

#[get("/me")]
async fn me(req: Incoming<'_>) -> AuthResponse {
    req.serve(Route::Me, b"").await
}

#[patch("/me", data = "<body>")]
async fn update_me(req: Incoming<'_>, body: Data<'_>) -> AuthResponse {
    req.serve_with_body(Route::UpdateMe, body).await
}

#[get("/users/<user_id>")]
async fn get_user(req: Incoming<'_>, user_id: &str) -> AuthResponse {
    req.serve_param(Route::GetUser, user_id).await
}

#[post("/password", data = "<body>")]
async fn change_password(req: Incoming<'_>, body: Data<'_>) -> AuthResponse {
    req.serve_with_body(Route::ChangePassword, body).await
}

#[post("/password/reset", data = "<body>")]
async fn password_reset(req: Incoming<'_>, body: Data<'_>) -> AuthResponse {
    req.serve_with_body(Route::PasswordReset, body).await
}

#[post("/password/reset/confirm", data = "<body>")]
async fn password_reset_confirm(req: Incoming<'_>, body: Data<'_>) -> AuthResponse {
    req.serve_with_body(Route::PasswordResetConfirm, body).await
}

#[post("/activate", data = "<body>")]
async fn activate(req: Incoming<'_>, body: Data<'_>) -> AuthResponse {
    req.serve_with_body(Route::Activate, body).await
}

#[post("/phone", data = "<body>")]
async fn change_phone(req: Incoming<'_>, body: Data<'_>) -> AuthResponse {
    req.serve_with_body(Route::ChangePhone, body).await
}

#[post("/phone/confirm", data = "<body>")]
async fn confirm_phone(req: Incoming<'_>, body: Data<'_>) -> AuthResponse {
    req.serve_with_body(Route::ConfirmPhone, body).await
}

#[post("/email", data = "<body>")]
async fn change_email(req: Incoming<'_>, body: Data<'_>) -> AuthResponse {
    req.serve_with_body(Route::ChangeEmail, body).await
}

#[post("/email/confirm", data = "<body>")]
async fn confirm_email(req: Incoming<'_>, body: Data<'_>) -> AuthResponse {
    req.serve_with_body(Route::ConfirmEmail, body).await
}

/// Every route of the contract ([`auth_core::http::ROUTES`]), relative to the mount prefix.
pub(crate) fn all() -> Vec<rocket::Route> {
    rocket::routes![
        register,
        login,
        verify_sms,
        refresh,
        logout,
        logout_all_other_sessions,
        list_sessions,
        revoke_session,
        me,
        update_me,
        get_user,
        change_password,
        password_reset,
        password_reset_confirm,
        activate,
        change_phone,
        confirm_phone,
        change_email,
        confirm_email,
    ]
}

/// The [`Auth`] and what the core needs from a request besides its body.
struct Incoming<'r> {
    auth: &'r Auth,
    peer: Option<IpAddr>,
    headers: &'r HeaderMap<'r>,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Incoming<'r> {
    type Error = AuthError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AuthError> {
        let auth = match managed_auth(req) {
            Ok(auth) => auth,
            Err(err) => return fail(req, err),
        };
        Outcome::Success(Self {
            auth,
            peer: peer(req),
            headers: req.headers(),
        })
    }
}

// A route launches only with an `Auth` managed, as with `&State<Auth>`.
impl Sentinel for Incoming<'_> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        auth_missing(rocket)
    }
}

impl Incoming<'_> {
    /// Reads the body (at most [`MAX_BODY_BYTES`]; beyond, 413) and serves `route`.
    async fn serve_with_body(self, route: Route, body: Data<'_>) -> AuthResponse {
        // One byte more than allowed, to tell "exactly the limit" from "over it".
        let limit = ByteUnit::from(MAX_BODY_BYTES.saturating_add(1));
        match body.open(limit).into_bytes().await {
            Ok(bytes) if bytes.is_complete() && bytes.len() <= MAX_BODY_BYTES => {
                self.serve(route, &bytes).await
            }
            Ok(_) => AuthError::PayloadTooLarge.into(),
            Err(err) => {
                tracing::debug!(error = %err, "reading a request body failed");
                AuthError::invalid_request("the request body could not be read").into()
            }
        }
    }

    /// Serves `route` with its path parameter.
    async fn serve_param(self, route: Route, param: &str) -> AuthResponse {
        self.serve_request(route, Some(param), b"").await
    }

    async fn serve(self, route: Route, body: &[u8]) -> AuthResponse {
        self.serve_request(route, None, body).await
    }

    async fn serve_request(
        self,
        route: Route,
        path_param: Option<&str>,
        body: &[u8],
    ) -> AuthResponse {
        let req = HttpRequest {
            peer: self.peer,
            headers: &Headers(self.headers),
            path_param,
            content_type: self.headers.get_one("Content-Type"),
            user_agent: self.headers.get_one("User-Agent"),
            body,
        };
        AuthResponse(self.auth.handle(route, &req).await)
    }
}
