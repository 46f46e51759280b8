//! [`AuthRejection`]: an [`AuthError`] as actix-web sees it, so that a rejected guard (and any
//! handler returning `Result<_, AuthRejection>`) answers with the contract's JSON error,
//! never actix-web's plain-text error page.

use actix_web::ResponseError;
use actix_web::http::StatusCode;
use auth_core::AuthError;
use auth_core::http::HttpResponse as CoreResponse;

use crate::response::into_actix;

/// The error of the guards ([`crate::AuthUser`], [`crate::MaybeUser`], [`crate::RequireRole`]).
///
/// Its [`ResponseError`] impl writes the contract's error response: the status the core gives
/// the error, `{"error","message"}`, `Cache-Control: no-store` and `Retry-After` where the
/// core sets one. Handlers can return it too (`?` converts an [`AuthError`]):
///
/// ```
/// use adapter_actix::AuthRejection;
/// use auth_core::AuthError;
///
/// async fn handler() -> Result<&'static str, AuthRejection> {
///     Err(AuthError::NotFound)?
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRejection(pub AuthError);

impl AuthRejection {
    /// The core error behind the rejection.
    pub fn into_inner(self) -> AuthError {
        self.0
    }
}

impl From<AuthError> for AuthRejection {
    fn from(err: AuthError) -> Self {
        Self(err)
    }
}

impl std::fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for AuthRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl ResponseError for AuthRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        into_actix(CoreResponse::error(&self.0))
    }
}
