//! Turning the core's [`HttpResponse`] and [`AuthError`] into axum responses.

use auth_core::AuthError;
use auth_core::http::HttpResponse;
use axum::body::Body;
use axum::http::StatusCode;
use axum::http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};

/// An [`HttpResponse`] of the core, as an axum response: its status, headers and body, with
/// `Content-Type: application/json` on every non-empty body.
#[derive(Debug)]
pub(crate) struct ContractResponse(pub(crate) HttpResponse);

impl IntoResponse for ContractResponse {
    fn into_response(self) -> Response {
        let HttpResponse {
            status,
            headers,
            body,
        } = self.0;
        let has_body = !body.is_empty();
        let mut res = Response::new(if has_body {
            Body::from(body)
        } else {
            Body::empty()
        });
        // The core only produces valid statuses and header names; anything else is skipped
        // rather than trusted.
        *res.status_mut() =
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        for (name, value) in headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::try_from(name),
                HeaderValue::try_from(value.as_str()),
            ) {
                let _ = res.headers_mut().insert(name, value);
            }
        }
        if has_body {
            let _ = res.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(HttpResponse::CONTENT_TYPE),
            );
        }
        res
    }
}

/// Why a guard ([`crate::AuthUser`], `Option<AuthUser>`, [`crate::RequireRole`]) refused a
/// request. As a response it is the contract's JSON error: 401 `missing_token`,
/// `invalid_token`, `token_expired`, `token_revoked`, 403 `forbidden`, 503
/// `store_unavailable`, …
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRejection(pub AuthError);

impl AuthRejection {
    /// The error behind the rejection.
    pub fn error(&self) -> &AuthError {
        &self.0
    }
}

impl From<AuthError> for AuthRejection {
    fn from(err: AuthError) -> Self {
        Self(err)
    }
}

impl std::fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for AuthRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        ContractResponse(HttpResponse::error(&self.0)).into_response()
    }
}
