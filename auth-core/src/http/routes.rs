//! The route table and dispatch: [`ROUTES`] lists every route of the contract (method, path,
//! [`Route`]) once, for the adapters' routing and their tests, and `dispatch` serves a route: parse the body, call the flow, shape the
//! answer.

use crate::api::{
    self, ChangePasswordRequest, ClientInfo, EmailChangeRequest, LoginOutcome, LoginRequest,
    PasswordResetConfirm, PasswordResetRequest, PhoneChangeRequest, RefreshRequest,
    RegisterRequest, TokenRequest, VerifySmsRequest,
};
use crate::{Auth, AuthError};

use super::{HttpRequest, HttpResponse};

/// One route of the contract: what [`ROUTES`] maps a method and a path to. The path
/// parameter of the two routes that have one travels in
/// [`HttpRequest::path_param`](super::HttpRequest::path_param).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
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
    RevokeSession,
    /// `GET /me`
    Me,
    /// `PATCH /me`
    UpdateMe,
    /// `GET /users/{user_id}`
    GetUser,
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

/// Every route of the contract: method, path (relative to the mount prefix, a path
/// parameter written `{name}`) and [`Route`]. Adapters build their routing from it or
/// test that they serve each one, so a route added here and missing in an adapter fails
/// that adapter's tests.
pub const ROUTES: &[(&str, &str, Route)] = &[
    ("POST", "/register", Route::Register),
    ("POST", "/login", Route::Login),
    ("POST", "/verify_sms", Route::VerifySms),
    ("POST", "/refresh", Route::Refresh),
    ("POST", "/logout", Route::Logout),
    (
        "POST",
        "/logout_all_other_sessions",
        Route::LogoutAllOtherSessions,
    ),
    ("GET", "/sessions", Route::ListSessions),
    ("DELETE", "/sessions/{session_id}", Route::RevokeSession),
    ("GET", "/me", Route::Me),
    ("PATCH", "/me", Route::UpdateMe),
    ("GET", "/users/{user_id}", Route::GetUser),
    ("POST", "/password", Route::ChangePassword),
    ("POST", "/password/reset", Route::PasswordReset),
    (
        "POST",
        "/password/reset/confirm",
        Route::PasswordResetConfirm,
    ),
    ("POST", "/activate", Route::Activate),
    ("POST", "/phone", Route::ChangePhone),
    ("POST", "/phone/confirm", Route::ConfirmPhone),
    ("POST", "/email", Route::ChangeEmail),
    ("POST", "/email/confirm", Route::ConfirmEmail),
];

impl Route {
    /// The name of the route's path parameter (`session_id`, `user_id`), if it has one.
    pub fn param(self) -> Option<&'static str> {
        match self {
            Self::RevokeSession => Some("session_id"),
            Self::GetUser => Some("user_id"),
            _ => None,
        }
    }

    /// Whether the route reads a request body (a JSON one; `/refresh` may also have none).
    /// The others ignore any body, so an adapter need not read it.
    pub fn takes_body(self) -> bool {
        !matches!(
            self,
            Self::Logout
                | Self::LogoutAllOtherSessions
                | Self::ListSessions
                | Self::RevokeSession
                | Self::Me
                | Self::GetUser
        )
    }
}

impl Auth {
    /// Serves one route of the contract.
    pub async fn handle(&self, route: Route, req: &HttpRequest<'_>) -> HttpResponse {
        let client = self.client_info(req);
        match self.dispatch(route, req, &client).await {
            Ok(res) => res,
            Err(err) => HttpResponse::error(&err),
        }
    }

    async fn dispatch(
        &self,
        route: Route,
        req: &HttpRequest<'_>,
        client: &ClientInfo,
    ) -> Result<HttpResponse, AuthError> {
        match route {
            Route::Register => {
                let account = json_body::<RegisterRequest>(req)?.parse(&self.inner.config)?;
                Ok(HttpResponse::json(
                    201,
                    &self.register(account, client).await?,
                ))
            }
            Route::Login => match self
                .login(
                    json_body::<LoginRequest>(req)?.parse(&self.inner.config)?,
                    client,
                )
                .await?
            {
                LoginOutcome::ChallengeSent(sent) => Ok(HttpResponse::json(202, &sent)),
                LoginOutcome::LoggedIn(pair) => Ok(HttpResponse::json(200, &pair)),
            },
            Route::VerifySms => {
                let body: VerifySmsRequest = json_body(req)?;
                let pair = self
                    .verify_sms(body.challenge_id.parse()?, &body.code, client)
                    .await?;
                Ok(HttpResponse::json(200, &pair))
            }
            Route::Refresh => {
                let from_body = if body_is_empty(req) {
                    None
                } else {
                    json_body::<RefreshRequest>(req)?.refresh_token
                };
                let token = match (&from_body, self.token_header_value(req.headers)) {
                    (Some(t), _) => t.expose().to_owned(),
                    (None, Some(header)) => self.token_from_header(&header)?.to_owned(),
                    (None, None) => return Err(AuthError::MissingToken),
                };
                Ok(HttpResponse::json(
                    200,
                    &self.refresh(&token, client).await?,
                ))
            }
            Route::Logout => {
                let p = self.principal(req).await?;
                self.logout(&p, client).await?;
                Ok(HttpResponse::no_content())
            }
            Route::LogoutAllOtherSessions => {
                let p = self.principal(req).await?;
                Ok(HttpResponse::json(
                    200,
                    &self.logout_all_other_sessions(&p, client).await?,
                ))
            }
            Route::ListSessions => {
                let p = self.principal(req).await?;
                Ok(HttpResponse::json(
                    200,
                    &self.list_sessions(&p, client).await?,
                ))
            }
            Route::RevokeSession => {
                let id = req.path_param.unwrap_or_default();
                let p = self.principal(req).await?;
                let id = id.parse().map_err(|_| AuthError::NotFound)?;
                self.revoke_own_session(&p, id, client).await?;
                Ok(HttpResponse::no_content())
            }
            Route::Me => {
                let p = self.principal(req).await?;
                Ok(HttpResponse::json(200, &self.me(&p, client).await?))
            }
            Route::UpdateMe => {
                let p = self.principal(req).await?;
                let patch: serde_json::Value = json_body(req)?;
                Ok(HttpResponse::json(
                    200,
                    &self.update_profile(&p, &patch, client).await?,
                ))
            }
            Route::GetUser => {
                let id = req.path_param.unwrap_or_default();
                self.principal(req).await?;
                let id = id.parse().map_err(|_| AuthError::NotFound)?;
                Ok(HttpResponse::json(
                    200,
                    &self.public_profile(id, client).await?,
                ))
            }
            Route::PasswordReset => {
                let body: PasswordResetRequest = json_body(req)?;
                match (body.email, body.phone) {
                    (Some(email), None) => {
                        self.request_password_reset_email(&crate::Email::parse(&email)?, client)
                            .await?;
                        Ok(HttpResponse::json(202, &serde_json::json!({})))
                    }
                    (None, Some(phone)) => {
                        let phone = crate::Phone::parse(
                            &phone,
                            self.inner.config.sms.strict_phone_validation,
                        )?;
                        let sent = self.request_password_reset_sms(&phone, client).await?;
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
                            client,
                        )
                        .await?;
                    }
                    (None, Some(id), Some(code)) => {
                        self.confirm_password_reset_sms(
                            id.parse()?,
                            &code,
                            &body.new_password,
                            client,
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
                self.activate(body.token.expose(), client).await?;
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
                    .request_phone_change(&p, &phone, body.password.as_ref(), client)
                    .await?;
                Ok(HttpResponse::json(202, &sent))
            }
            Route::ConfirmPhone => {
                let p = self.principal(req).await?;
                let body: VerifySmsRequest = json_body(req)?;
                self.confirm_phone_change(&p, body.challenge_id.parse()?, &body.code, client)
                    .await?;
                Ok(HttpResponse::no_content())
            }
            Route::ChangeEmail => {
                let p = self.principal(req).await?;
                let body: EmailChangeRequest = json_body(req)?;
                let email = crate::Email::parse(&body.email)?;
                self.request_email_change(&p, &email, body.password.as_ref(), client)
                    .await?;
                Ok(HttpResponse::json(202, &serde_json::json!({})))
            }
            Route::ConfirmEmail => {
                let body: TokenRequest = json_body(req)?;
                self.confirm_email_change(body.token.expose(), client)
                    .await?;
                Ok(HttpResponse::no_content())
            }
            Route::ChangePassword => {
                let p = self.principal(req).await?;
                let body: ChangePasswordRequest = json_body(req)?;
                self.change_password(&p, body, client).await?;
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
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::testkit::TestKit;

    fn post(body: &[u8]) -> HttpRequest<'_> {
        HttpRequest {
            content_type: Some("application/json"),
            body,
            ..HttpRequest::default()
        }
    }

    #[tokio::test]
    async fn sms_login_over_the_contract() {
        let kit = TestKit::new();
        let a = &kit.auth;
        let r = a
            .handle(Route::Register, &post(br#"{"phone":"+15551234567"}"#))
            .await;
        assert_eq!(r.status, 201);
        let r = a
            .handle(Route::Login, &post(br#"{"phone":"+15551234567"}"#))
            .await;
        assert_eq!(r.status, 202);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        let code = kit.sms.last_code_for("+15551234567").unwrap();
        let body = serde_json::json!({"challenge_id": v["challenge_id"], "code": code.expose()})
            .to_string();
        let r = a.handle(Route::VerifySms, &post(body.as_bytes())).await;
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
                    headers: &[("authorization", bearer.as_str())],
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
                    headers: &[("authorization", rt.as_str())],
                    ..Default::default()
                },
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = a
            .handle(
                Route::Logout,
                &HttpRequest {
                    headers: &[("authorization", bearer.as_str())],
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
                    headers: &[("authorization", bearer.as_str())],
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
        let r = a.handle(Route::Register, &post(&big)).await;
        assert_eq!(
            (r.status, r.body.contains("payload_too_large")),
            (413, true)
        );
        let r = a.handle(Route::Refresh, &HttpRequest::default()).await;
        assert_eq!((r.status, r.body.contains("missing_token")), (401, true));
        a.handle(Route::Login, &post(br#"{"phone":"+15551234567"}"#))
            .await;
        let r = a
            .handle(Route::Login, &post(br#"{"phone":"+15551234567"}"#))
            .await;
        assert_eq!(r.status, 429);
        assert!(r.headers.contains(&("retry-after", "60".to_owned())));
    }
}
