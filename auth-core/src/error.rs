//! The one error type of the library: every failure a client can cause or meet, each with a
//! stable machine-readable code and the HTTP status the contract (`API.md`) gives it.
//!
//! Adapters never choose a status themselves: they call [`AuthError::status`],
//! [`AuthError::code`] and [`AuthError::retry_after_secs`] and write [`ErrorBody`].

use std::time::Duration;

use serde::Serialize;

/// A failed operation, as a client sees it.
///
/// The `Display` text is the human-readable message; it never contains a secret (password,
/// code or token) nor says whether an account exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// 400: malformed JSON, wrong content type, missing or unknown field, bad phone/email format.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// 413: the request body is larger than the limit.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// 401: no credentials were sent.
    #[error("no access token was sent")]
    MissingToken,
    /// 401: wrong password or unknown account (deliberately indistinguishable).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// 401: the one-time code is wrong (or the challenge is unknown).
    #[error("invalid code")]
    InvalidCode,
    /// 401: the token is malformed, forged, of the wrong type or unknown.
    #[error("invalid token")]
    InvalidToken,
    /// 401: the token (or its session) has expired.
    #[error("the token has expired")]
    TokenExpired,
    /// 401: the session behind the token was revoked (logout, password change, admin).
    #[error("the token has been revoked")]
    TokenRevoked,
    /// 401: an already-rotated refresh token was presented again; the session is now revoked.
    #[error("refresh token reuse detected; the session has been revoked")]
    RefreshTokenReused,
    /// 403: authenticated, but lacking the required role.
    #[error("forbidden")]
    Forbidden,
    /// 403: the account is disabled.
    #[error("the account is disabled")]
    AccountDisabled,
    /// 403: the account must be activated first.
    #[error("the account must be activated first")]
    ActivationRequired,
    /// 404: no such resource (or not the caller's).
    #[error("not found")]
    NotFound,
    /// 409: the phone, email or username is already registered.
    #[error("already registered")]
    AlreadyRegistered,
    /// 410: the code or one-time token has expired.
    #[error("the code has expired")]
    CodeExpired,
    /// 410: the code or one-time token was already used.
    #[error("the code has already been used")]
    ChallengeConsumed,
    /// 422: the password fails the policy; the message says why.
    #[error("weak password: {0}")]
    WeakPassword(String),
    /// 429: a rate limit (cooldown, send cap, throttle) was hit; retry after the given time.
    #[error("rate limited")]
    RateLimited {
        /// When the client may try again.
        retry_after: Duration,
    },
    /// 429: too many wrong attempts. `retry_after` is `None` when waiting does not help
    /// (a burned challenge: start a new login; a locked account: an admin must reset it).
    #[error("too many attempts")]
    TooManyAttempts {
        /// When the client may try again, if waiting helps at all.
        retry_after: Option<Duration>,
    },
    /// 503: the store could not be reached; the operation failed closed.
    #[error("the store is unavailable")]
    StoreUnavailable,
    /// 503: the SMS could not be sent.
    #[error("the SMS could not be sent")]
    SmsUnavailable,
    /// 503: the mail could not be sent (not in API.md v1, which predates email flows; the
    /// analogue of `sms_unavailable`).
    #[error("the mail could not be sent")]
    MailUnavailable,
    /// 500: neither the store's nor the client's fault: a response or token that could not be
    /// serialized or signed, password hashing that could not run, a misconfiguration. The
    /// detail is logged (`tracing::error!`) where the error is made, never sent to the client.
    #[error("the server failed to answer the request")]
    Internal,
    /// 4xx: an app hook vetoed the action, with its own status and code.
    #[error("{}", .0.message())]
    Vetoed(crate::hooks::Veto),
}

impl AuthError {
    /// The stable snake_case code of this error, as written in the `error` field.
    pub fn code(&self) -> &str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::PayloadTooLarge => "payload_too_large",
            Self::MissingToken => "missing_token",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidCode => "invalid_code",
            Self::InvalidToken => "invalid_token",
            Self::TokenExpired => "token_expired",
            Self::TokenRevoked => "token_revoked",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::Forbidden => "forbidden",
            Self::AccountDisabled => "account_disabled",
            Self::ActivationRequired => "activation_required",
            Self::NotFound => "not_found",
            Self::AlreadyRegistered => "already_registered",
            Self::CodeExpired => "code_expired",
            Self::ChallengeConsumed => "challenge_consumed",
            Self::WeakPassword(_) => "weak_password",
            Self::RateLimited { .. } => "rate_limited",
            Self::TooManyAttempts { .. } => "too_many_attempts",
            Self::StoreUnavailable => "store_unavailable",
            Self::SmsUnavailable => "sms_unavailable",
            Self::MailUnavailable => "mail_unavailable",
            Self::Internal => "internal_error",
            Self::Vetoed(veto) => veto.code(),
        }
    }

    /// The HTTP status code the contract gives this error.
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidRequest(_) => 400,
            Self::PayloadTooLarge => 413,
            Self::MissingToken
            | Self::InvalidCredentials
            | Self::InvalidCode
            | Self::InvalidToken
            | Self::TokenExpired
            | Self::TokenRevoked
            | Self::RefreshTokenReused => 401,
            Self::Forbidden | Self::AccountDisabled | Self::ActivationRequired => 403,
            Self::NotFound => 404,
            Self::AlreadyRegistered => 409,
            Self::CodeExpired | Self::ChallengeConsumed => 410,
            Self::WeakPassword(_) => 422,
            Self::RateLimited { .. } | Self::TooManyAttempts { .. } => 429,
            Self::StoreUnavailable | Self::SmsUnavailable | Self::MailUnavailable => 503,
            Self::Internal => 500,
            Self::Vetoed(veto) => veto.status(),
        }
    }

    /// The value of the `Retry-After` header, in whole seconds (rounded up, at least 1),
    /// when the response should carry one.
    pub fn retry_after_secs(&self) -> Option<u64> {
        let wait = match self {
            Self::RateLimited { retry_after } => Some(*retry_after),
            Self::TooManyAttempts { retry_after } => *retry_after,
            _ => None,
        }?;
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Some(secs.max(1))
    }

    /// The JSON body of the error response.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.code().to_owned(),
            message: self.to_string(),
        }
    }

    /// Shorthand for [`AuthError::InvalidRequest`].
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::InvalidRequest(message.into())
    }
}

/// The JSON body of every error response: `{"error": "<code>", "message": "<text>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorBody {
    /// The stable machine-readable code.
    pub error: String,
    /// Human-readable text.
    pub message: String,
}

impl From<crate::store::StoreError> for AuthError {
    fn from(err: crate::store::StoreError) -> Self {
        match err {
            crate::store::StoreError::Conflict(_) => Self::AlreadyRegistered,
            crate::store::StoreError::Unavailable(reason) => {
                tracing::error!(%reason, "store unavailable");
                Self::StoreUnavailable
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_are_500_and_tell_no_detail() {
        let e = AuthError::Internal;
        assert_eq!((e.code(), e.status()), ("internal_error", 500));
        assert_eq!(e.retry_after_secs(), None);
        assert_eq!(
            e.body(),
            ErrorBody {
                error: "internal_error".to_owned(),
                message: "the server failed to answer the request".to_owned(),
            }
        );
    }

    #[test]
    fn retry_after_rounds_up_and_is_at_least_one_second() {
        let e = AuthError::RateLimited {
            retry_after: Duration::from_millis(1500),
        };
        assert_eq!(e.retry_after_secs(), Some(2));
        let e = AuthError::RateLimited {
            retry_after: Duration::ZERO,
        };
        assert_eq!(e.retry_after_secs(), Some(1));
        let e = AuthError::TooManyAttempts { retry_after: None };
        assert_eq!(e.retry_after_secs(), None);
        assert_eq!(AuthError::InvalidCode.retry_after_secs(), None);
    }

    #[test]
    fn codes_and_statuses_follow_the_contract() {
        let cases = [
            (AuthError::invalid_request("x"), "invalid_request", 400),
            (AuthError::PayloadTooLarge, "payload_too_large", 413),
            (AuthError::MissingToken, "missing_token", 401),
            (AuthError::RefreshTokenReused, "refresh_token_reused", 401),
            (AuthError::ActivationRequired, "activation_required", 403),
            (AuthError::NotFound, "not_found", 404),
            (AuthError::AlreadyRegistered, "already_registered", 409),
            (AuthError::ChallengeConsumed, "challenge_consumed", 410),
            (
                AuthError::WeakPassword("short".into()),
                "weak_password",
                422,
            ),
            (
                AuthError::TooManyAttempts { retry_after: None },
                "too_many_attempts",
                429,
            ),
            (AuthError::SmsUnavailable, "sms_unavailable", 503),
            (AuthError::Internal, "internal_error", 500),
        ];
        for (err, code, status) in cases {
            assert_eq!(err.code(), code);
            assert_eq!(err.status(), status);
            assert_eq!(err.body().error, code);
        }
    }
}
