//! The HTTP contract (`API.md`) without a framework: every route's status codes, bodies and
//! headers are decided here, once, so the adapters only translate their framework's request
//! into an [`HttpRequest`] and an [`HttpResponse`] back.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use auth_core::http::{HttpRequest, Route};
//! use auth_core::testkit::TestKit;
//!
//! let kit = TestKit::new();
//! let req = HttpRequest {
//!     content_type: Some("application/json"),
//!     body: br#"{"phone":"+15551234567"}"#,
//!     ..HttpRequest::default()
//! };
//! let res = kit.auth.handle(Route::Register, &req).await;
//! assert_eq!(res.status, 201);
//! assert!(res.body.contains("user_id"));
//! # }
//! ```

use serde::Serialize;

use crate::api::{
    self, ChangePasswordRequest, ClientInfo, EmailChangeRequest, LoginOutcome, LoginRequest,
    PasswordResetConfirm, PasswordResetRequest, PhoneChangeRequest, RefreshRequest,
    RegisterRequest, TokenRequest, VerifySmsRequest,
};
use crate::secret::Password;
use crate::token::access::Principal;
use crate::{Auth, AuthError};

/// One route of the contract. Path parameters travel inside the variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// `POST /register`
    Register,
    /// `POST /login`
    Login,
    /// `POST /verify_sms`
    VerifySms,
    /// `POST /refresh`
    Refresh,
    /// `POST /logout`
    Logout,
    /// `POST /logout_all_other_sessions`
    LogoutAllOtherSessions,
    /// `GET /sessions`
    ListSessions,
    /// `DELETE /sessions/{session_id}`
    RevokeSession(&'a str),
    /// `GET /me`
    Me,
    /// `PATCH /me`
    UpdateMe,
    /// `GET /users/{user_id}`
    GetUser(&'a str),
    /// `POST /password`
    ChangePassword,
    /// `POST /password/reset`
    PasswordReset,
    /// `POST /password/reset/confirm`
    PasswordResetConfirm,
    /// `POST /activate`
    Activate,
    /// `POST /phone`
    ChangePhone,
    /// `POST /phone/confirm`
    ConfirmPhone,
    /// `POST /email`
    ChangeEmail,
    /// `POST /email/confirm`
    ConfirmEmail,
}

/// The method and path (relative to the mount prefix) of every route, for adapters that
/// build their routing table from data, and for tests.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/register"),
    ("POST", "/login"),
    ("POST", "/verify_sms"),
    ("POST", "/refresh"),
    ("POST", "/logout"),
    ("POST", "/logout_all_other_sessions"),
    ("GET", "/sessions"),
    ("DELETE", "/sessions/{session_id}"),
    ("GET", "/me"),
    ("PATCH", "/me"),
    ("GET", "/users/{user_id}"),
    ("POST", "/password"),
    ("POST", "/password/reset"),
    ("POST", "/password/reset/confirm"),
    ("POST", "/activate"),
    ("POST", "/phone"),
    ("POST", "/phone/confirm"),
    ("POST", "/email"),
    ("POST", "/email/confirm"),
];

/// What an adapter extracts from a request.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest<'a> {
    /// The `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// The value of the token header: `Authorization` by default, or the header named by
    /// [`Auth::token_header`] (`transport.header`).
    pub authorization: Option<&'a str>,
    /// The raw body (adapters cap it at [`api::MAX_BODY_BYTES`] and answer
    /// [`HttpResponse::error`] of [`AuthError::PayloadTooLarge`] beyond).
    pub body: &'a [u8],
    /// Client IP and user agent.
    pub client: ClientInfo,
}

/// What an adapter writes back.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers to set besides `Content-Type` (e.g. `Retry-After`, `Cache-Control`).
    pub headers: Vec<(&'static str, String)>,
    /// JSON text; empty for 204.
    pub body: String,
}

impl std::fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Bodies may carry tokens.
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl HttpResponse {
    /// The content type of every non-empty body.
    pub const CONTENT_TYPE: &'static str = "application/json";

    fn json(status: u16, value: &impl Serialize) -> Self {
        match serde_json::to_string(value) {
            Ok(body) => Self {
                status,
                headers: vec![("cache-control", "no-store".to_owned())],
                body,
            },
            Err(e) => {
                tracing::error!(error = %e, "serializing a response failed");
                Self::error(&AuthError::Internal)
            }
        }
    }

    fn no_content() -> Self {
        Self {
            status: 204,
            headers: vec![("cache-control", "no-store".to_owned())],
            body: String::new(),
        }
    }

    /// The contract's error response: status, `{"error","message"}`, `Retry-After` on 429s
    /// that have one, `Cache-Control: no-store`.
    pub fn error(err: &AuthError) -> Self {
        let body = serde_json::to_string(&err.body())
            .unwrap_or_else(|_| format!("{{\"error\":\"{}\",\"message\":\"\"}}", err.code()));
        let mut headers = vec![("cache-control", "no-store".to_owned())];
        if let Some(secs) = err.retry_after_secs() {
            headers.push(("retry-after", secs.to_string()));
        }
        Self {
            status: err.status(),
            headers,
            body,
        }
    }

    /// Whether the body is empty (204).
    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
    }
}

impl From<AuthError> for HttpResponse {
    fn from(err: AuthError) -> Self {
        Self::error(&err)
    }
}

// How adapters determine the client IP: defined in `client_ip.rs`, re-exported here where
// adapters have always found it.
pub use crate::client_ip::{ClientIpPolicy, ForwardingHeaders, ProxyHeader};

/// What a guard requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement<'a> {
    /// A valid access token (401 otherwise).
    User,
    /// No token means no user; a token that is sent must be valid (401 otherwise).
    OptionalUser,
    /// A valid access token carrying this role (401 without a valid token, 403 without the role).
    Role(&'a str),
}

impl Auth {
    /// The guard logic every adapter's extractors share. `Ok(None)` only for
    /// [`Requirement::OptionalUser`] without an `Authorization` header.
    pub async fn guard(
        &self,
        authorization: Option<&str>,
        requirement: Requirement<'_>,
    ) -> Result<Option<Principal>, AuthError> {
        let Some(header) = authorization else {
            return match requirement {
                Requirement::OptionalUser => Ok(None),
                _ => Err(AuthError::MissingToken),
            };
        };
        let principal = match self.basic_credentials(header) {
            // Boxed: the password check's future (argon2 on a blocking thread) is large, and
            // unboxed it would make every guard's future as large, copied on each request.
            Some((identifier, password)) => {
                Box::pin(self.authenticate_basic(&identifier, &password)).await?
            }
            None => self.authenticate(self.token_from_header(header)?).await?,
        };
        if let Requirement::Role(role) = requirement
            && !principal.has_role(role)
        {
            return Err(AuthError::Forbidden);
        }
        Ok(Some(principal))
    }

    /// The required-user guard: the principal of a valid token in the token header (or, with
    /// `transport.basic_auth`, of HTTP Basic credentials).
    pub async fn require_user(&self, token_header: Option<&str>) -> Result<Principal, AuthError> {
        self.guard(token_header, Requirement::User)
            .await?
            .ok_or(AuthError::MissingToken)
    }

    /// `Basic <base64(identifier:password)>`, when `transport.basic_auth` is on.
    fn basic_credentials(&self, header: &str) -> Option<(String, Password)> {
        use base64::Engine as _;
        if !self.inner.config.transport.basic_auth {
            return None;
        }
        let (scheme, encoded) = header.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|raw| String::from_utf8(raw).ok())
            // Malformed Basic credentials are wrong credentials, not a missing token.
            .unwrap_or_default();
        let (identifier, password) = decoded.split_once(':').unwrap_or(("", ""));
        Some((identifier.to_owned(), Password::new(password)))
    }

    /// The (lower-case) name of the header clients send tokens in: `authorization` unless
    /// `transport.header` says otherwise. Adapters put its value in
    /// [`HttpRequest::authorization`].
    pub fn token_header(&self) -> &str {
        &self.inner.config.transport.header
    }

    /// The token in a token header's value, following `transport.scheme` (`Bearer <token>` by
    /// default). `missing_token` when the scheme is another or the token empty.
    pub fn token_from_header<'v>(&self, value: &'v str) -> Result<&'v str, AuthError> {
        match &self.inner.config.transport.scheme {
            Some(scheme) => {
                let (given, token) = value
                    .trim()
                    .split_once(' ')
                    .ok_or(AuthError::MissingToken)?;
                let token = token.trim();
                if !given.eq_ignore_ascii_case(scheme) || token.is_empty() {
                    return Err(AuthError::MissingToken);
                }
                Ok(token)
            }
            None => {
                let token = value.trim();
                if token.is_empty() {
                    return Err(AuthError::MissingToken);
                }
                Ok(token)
            }
        }
    }

    /// Serves one route of the contract.
    pub async fn handle(&self, route: Route<'_>, req: &HttpRequest<'_>) -> HttpResponse {
        match self.dispatch(route, req).await {
            Ok(res) => res,
            Err(err) => HttpResponse::error(&err),
        }
    }

    /// The caller of an auth route: access tokens only (HTTP Basic is for the app's own
    /// routes).
    async fn principal(&self, req: &HttpRequest<'_>) -> Result<Principal, AuthError> {
        let header = req.authorization.ok_or(AuthError::MissingToken)?;
        self.authenticate(self.token_from_header(header)?).await
    }

    async fn dispatch(
        &self,
        route: Route<'_>,
        req: &HttpRequest<'_>,
    ) -> Result<HttpResponse, AuthError> {
        match route {
            Route::Register => {
                let body: RegisterRequest = json_body(req)?;
                Ok(HttpResponse::json(
                    201,
                    &self.register(body, &req.client).await?,
                ))
            }
            Route::Login => match self
                .login(
                    json_body::<LoginRequest>(req)?.parse(&self.inner.config)?,
                    &req.client,
                )
                .await?
            {
                LoginOutcome::ChallengeSent(sent) => Ok(HttpResponse::json(202, &sent)),
                LoginOutcome::LoggedIn(pair) => Ok(HttpResponse::json(200, &pair)),
            },
            Route::VerifySms => {
                let body: VerifySmsRequest = json_body(req)?;
                let pair = self
                    .verify_sms(body.challenge_id.parse()?, &body.code, &req.client)
                    .await?;
                Ok(HttpResponse::json(200, &pair))
            }
            Route::Refresh => {
                let from_body = if body_is_empty(req) {
                    None
                } else {
                    json_body::<RefreshRequest>(req)?.refresh_token
                };
                let token = match (&from_body, req.authorization) {
                    (Some(t), _) => t.expose().to_owned(),
                    (None, Some(header)) => self.token_from_header(header)?.to_owned(),
                    (None, None) => return Err(AuthError::MissingToken),
                };
                Ok(HttpResponse::json(
                    200,
                    &self.refresh(&token, &req.client).await?,
                ))
            }
            Route::Logout => {
                let p = self.principal(req).await?;
                self.logout(&p, &req.client).await?;
                Ok(HttpResponse::no_content())
            }
            Route::LogoutAllOtherSessions => {
                let p = self.principal(req).await?;
                Ok(HttpResponse::json(
                    200,
                    &self.logout_all_other_sessions(&p, &req.client).await?,
                ))
            }
            Route::ListSessions => {
                let p = self.principal(req).await?;
                Ok(HttpResponse::json(
                    200,
                    &self.list_sessions(&p, &req.client).await?,
                ))
            }
            Route::RevokeSession(id) => {
                let p = self.principal(req).await?;
                let id = id.parse().map_err(|_| AuthError::NotFound)?;
                self.revoke_own_session(&p, id, &req.client).await?;
                Ok(HttpResponse::no_content())
            }
            Route::Me => {
                let p = self.principal(req).await?;
                Ok(HttpResponse::json(200, &self.me(&p, &req.client).await?))
            }
            Route::UpdateMe => {
                let p = self.principal(req).await?;
                let patch: serde_json::Value = json_body(req)?;
                Ok(HttpResponse::json(
                    200,
                    &self.update_profile(&p, &patch, &req.client).await?,
                ))
            }
            Route::GetUser(id) => {
                self.principal(req).await?;
                let id = id.parse().map_err(|_| AuthError::NotFound)?;
                Ok(HttpResponse::json(
                    200,
                    &self.public_profile(id, &req.client).await?,
                ))
            }
            Route::PasswordReset => {
                let body: PasswordResetRequest = json_body(req)?;
                match (body.email, body.phone) {
                    (Some(email), None) => {
                        self.request_password_reset_email(
                            &crate::Email::parse(&email)?,
                            &req.client,
                        )
                        .await?;
                        Ok(HttpResponse::json(202, &serde_json::json!({})))
                    }
                    (None, Some(phone)) => {
                        let phone = crate::Phone::parse(
                            &phone,
                            self.inner.config.sms.strict_phone_validation,
                        )?;
                        let sent = self.request_password_reset_sms(&phone, &req.client).await?;
                        Ok(HttpResponse::json(202, &sent))
                    }
                    _ => Err(AuthError::invalid_request(
                        "send exactly one of email or phone",
                    )),
                }
            }
            Route::PasswordResetConfirm => {
                let body: PasswordResetConfirm = json_body(req)?;
                match (body.token, body.challenge_id, body.code) {
                    (Some(token), None, None) => {
                        self.confirm_password_reset_email(
                            token.expose(),
                            &body.new_password,
                            &req.client,
                        )
                        .await?;
                    }
                    (None, Some(id), Some(code)) => {
                        self.confirm_password_reset_sms(
                            id.parse()?,
                            &code,
                            &body.new_password,
                            &req.client,
                        )
                        .await?;
                    }
                    _ => {
                        return Err(AuthError::invalid_request(
                            "send {\"token\",\"new_password\"} or {\"challenge_id\",\"code\",\"new_password\"}",
                        ));
                    }
                }
                Ok(HttpResponse::no_content())
            }
            Route::Activate => {
                let body: TokenRequest = json_body(req)?;
                self.activate(body.token.expose(), &req.client).await?;
                Ok(HttpResponse::no_content())
            }
            Route::ChangePhone => {
                let p = self.principal(req).await?;
                let body: PhoneChangeRequest = json_body(req)?;
                let phone = crate::Phone::parse(
                    &body.phone,
                    self.inner.config.sms.strict_phone_validation,
                )?;
                let sent = self
                    .request_phone_change(&p, &phone, body.password.as_ref(), &req.client)
                    .await?;
                Ok(HttpResponse::json(202, &sent))
            }
            Route::ConfirmPhone => {
                let p = self.principal(req).await?;
                let body: VerifySmsRequest = json_body(req)?;
                self.confirm_phone_change(&p, body.challenge_id.parse()?, &body.code, &req.client)
                    .await?;
                Ok(HttpResponse::no_content())
            }
            Route::ChangeEmail => {
                let p = self.principal(req).await?;
                let body: EmailChangeRequest = json_body(req)?;
                let email = crate::Email::parse(&body.email)?;
                self.request_email_change(&p, &email, body.password.as_ref(), &req.client)
                    .await?;
                Ok(HttpResponse::json(202, &serde_json::json!({})))
            }
            Route::ConfirmEmail => {
                let body: TokenRequest = json_body(req)?;
                self.confirm_email_change(body.token.expose(), &req.client)
                    .await?;
                Ok(HttpResponse::no_content())
            }
            Route::ChangePassword => {
                let p = self.principal(req).await?;
                let body: ChangePasswordRequest = json_body(req)?;
                self.change_password(&p, body, &req.client).await?;
                Ok(HttpResponse::no_content())
            }
        }
    }
}

fn body_is_empty(req: &HttpRequest<'_>) -> bool {
    req.body.iter().all(u8::is_ascii_whitespace)
}

/// A JSON body: size, content type, then shape.
fn json_body<T: serde::de::DeserializeOwned>(req: &HttpRequest<'_>) -> Result<T, AuthError> {
    if req.body.len() > api::MAX_BODY_BYTES {
        return Err(AuthError::PayloadTooLarge);
    }
    api::require_json_content_type(req.content_type)?;
    api::parse_json(req.body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::TestKit;

    fn post<'a>(body: &'a [u8], auth: Option<&'a str>) -> HttpRequest<'a> {
        HttpRequest {
            content_type: Some("application/json"),
            authorization: auth,
            body,
            client: ClientInfo::default(),
        }
    }

    /// Every guarded request builds these futures and moves them through the framework's
    /// extractor and handler futures, so their size is paid on each request: the in-process
    /// benchmark measured about 0.2 µs a request when they were 432 and 248 bytes. The store
    /// and password paths are boxed to keep them small; this fails if an unboxed one creeps
    /// back in. (224 and 40 bytes with rustc 1.95; the bounds leave room for compilers.)
    #[test]
    fn the_guard_and_authenticate_futures_stay_small() {
        let kit = TestKit::new();
        let guard = kit.auth.guard(Some("Bearer x"), Requirement::User);
        let authenticate = kit.auth.authenticate("x");
        assert!(
            std::mem::size_of_val(&guard) <= 320,
            "{}",
            std::mem::size_of_val(&guard)
        );
        assert!(
            std::mem::size_of_val(&authenticate) <= 128,
            "authenticate {}",
            std::mem::size_of_val(&authenticate)
        );
    }

    #[tokio::test]
    async fn sms_login_over_the_contract() {
        let kit = TestKit::new();
        let a = &kit.auth;
        let r = a
            .handle(Route::Register, &post(br#"{"phone":"+15551234567"}"#, None))
            .await;
        assert_eq!(r.status, 201);
        let r = a
            .handle(Route::Login, &post(br#"{"phone":"+15551234567"}"#, None))
            .await;
        assert_eq!(r.status, 202);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        let code = kit.sms.last_code_for("+15551234567").unwrap();
        let body = serde_json::json!({"challenge_id": v["challenge_id"], "code": code.expose()})
            .to_string();
        let r = a
            .handle(Route::VerifySms, &post(body.as_bytes(), None))
            .await;
        assert_eq!(r.status, 200);
        assert!(
            r.headers
                .contains(&("cache-control", "no-store".to_owned()))
        );
        let pair: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(pair["token_type"], "Bearer");
        let bearer = format!("Bearer {}", pair["access_token"].as_str().unwrap());
        let r = a
            .handle(
                Route::Me,
                &HttpRequest {
                    authorization: Some(&bearer),
                    ..Default::default()
                },
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        // Refresh from the Authorization header, with no body and no content type.
        let rt = format!("Bearer {}", pair["refresh_token"].as_str().unwrap());
        let r = a
            .handle(
                Route::Refresh,
                &HttpRequest {
                    authorization: Some(&rt),
                    ..Default::default()
                },
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = a
            .handle(
                Route::Logout,
                &HttpRequest {
                    authorization: Some(&bearer),
                    ..Default::default()
                },
            )
            .await;
        assert_eq!(r.status, 204);
        assert!(r.is_empty());
        let r = a
            .handle(
                Route::Me,
                &HttpRequest {
                    authorization: Some(&bearer),
                    ..Default::default()
                },
            )
            .await;
        assert_eq!((r.status, r.body.contains("token_revoked")), (401, true));
    }

    #[tokio::test]
    async fn errors_follow_the_contract() {
        let kit = TestKit::new();
        let a = &kit.auth;
        let r = a.handle(Route::Me, &HttpRequest::default()).await;
        assert_eq!((r.status, r.body.contains("missing_token")), (401, true));
        let wrong_type = HttpRequest {
            content_type: Some("text/plain"),
            body: b"{}",
            ..Default::default()
        };
        let r = a.handle(Route::Register, &wrong_type).await;
        assert_eq!((r.status, r.body.contains("invalid_request")), (400, true));
        let big = vec![b' '; api::MAX_BODY_BYTES + 1];
        let r = a.handle(Route::Register, &post(&big, None)).await;
        assert_eq!(
            (r.status, r.body.contains("payload_too_large")),
            (413, true)
        );
        let r = a.handle(Route::Refresh, &HttpRequest::default()).await;
        assert_eq!((r.status, r.body.contains("missing_token")), (401, true));
        a.handle(Route::Login, &post(br#"{"phone":"+15551234567"}"#, None))
            .await;
        let r = a
            .handle(Route::Login, &post(br#"{"phone":"+15551234567"}"#, None))
            .await;
        assert_eq!(r.status, 429);
        assert!(r.headers.contains(&("retry-after", "60".to_owned())));
    }

    #[tokio::test]
    async fn token_transport_is_configurable() {
        let mut cfg = TestKit::config();
        cfg.transport.header = "authentication-token".to_owned();
        cfg.transport.scheme = None;
        let kit = TestKit::with_config(cfg);
        let a = &kit.auth;
        assert_eq!(a.token_header(), "authentication-token");
        assert_eq!(a.token_from_header(" tok "), Ok("tok"));
        assert_eq!(a.token_from_header(" "), Err(AuthError::MissingToken));
        a.handle(Route::Register, &post(br#"{"phone":"+15551234567"}"#, None))
            .await;
        let r = a
            .handle(Route::Login, &post(br#"{"phone":"+15551234567"}"#, None))
            .await;
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        let code = kit.sms.last_code_for("+15551234567").unwrap();
        let body = serde_json::json!({"challenge_id": v["challenge_id"], "code": code.expose()})
            .to_string();
        let r = a
            .handle(Route::VerifySms, &post(body.as_bytes(), None))
            .await;
        let pair: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        let raw = pair["access_token"].as_str().unwrap();
        let r = a
            .handle(
                Route::Me,
                &HttpRequest {
                    authorization: Some(raw),
                    ..Default::default()
                },
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let bearer = format!("Bearer {raw}");
        let r = a
            .handle(
                Route::Me,
                &HttpRequest {
                    authorization: Some(&bearer),
                    ..Default::default()
                },
            )
            .await;
        assert_eq!(r.status, 401, "the scheme is not expected here");
        let mut bad = TestKit::config();
        bad.transport.header = "bad header".to_owned();
        assert!(bad.validate().is_err());
    }

    #[tokio::test]
    async fn basic_auth_is_off_by_default_and_sessionless_when_on() {
        use base64::Engine as _;
        let basic = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        let kit = TestKit::new();
        let header = basic("ann@example.com:velvet quarry lantern mosaic");
        assert_eq!(
            kit.auth.guard(Some(&header), Requirement::User).await,
            Err(AuthError::MissingToken)
        );

        let mut cfg = TestKit::config();
        cfg.transport.basic_auth = true;
        cfg.accounts.require_email_activation = false;
        let kit = TestKit::with_config(cfg);
        let reg = br#"{"email":"ann@example.com","password":"velvet quarry lantern mosaic"}"#;
        assert_eq!(
            kit.auth
                .handle(Route::Register, &post(reg, None))
                .await
                .status,
            201
        );
        let p = kit
            .auth
            .guard(Some(&header), Requirement::User)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.session_id, None);
        assert_eq!(p.session(), Err(AuthError::MissingToken));
        for wrong in [
            basic("ann@example.com:wrong wrong wrong"),
            basic("nobody@example.com:x"),
            basic("garbage"),
            "Basic !!!".to_owned(),
        ] {
            assert_eq!(
                kit.auth.guard(Some(&wrong), Requirement::User).await,
                Err(AuthError::InvalidCredentials),
                "{wrong}"
            );
        }
        assert_eq!(
            kit.auth
                .guard(Some(&header), Requirement::Role("admin"))
                .await,
            Err(AuthError::Forbidden)
        );
        // Auth routes take access tokens only.
        let r = kit
            .auth
            .handle(
                Route::Me,
                &HttpRequest {
                    authorization: Some(&header),
                    ..Default::default()
                },
            )
            .await;
        assert_eq!(r.status, 401);
    }

    #[tokio::test]
    async fn guards() {
        let kit = TestKit::new();
        let a = &kit.auth;
        assert_eq!(a.guard(None, Requirement::OptionalUser).await, Ok(None));
        assert_eq!(
            a.guard(None, Requirement::User).await,
            Err(AuthError::MissingToken)
        );
        assert_eq!(
            a.guard(Some("Bearer x"), Requirement::OptionalUser).await,
            Err(AuthError::InvalidToken)
        );
        assert_eq!(
            a.guard(Some("Basic x"), Requirement::Role("admin")).await,
            Err(AuthError::MissingToken)
        );
    }
}
