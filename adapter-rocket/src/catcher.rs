//! The JSON catcher: every error Rocket answers itself (no route matched, a guard failed, a
//! body Rocket could not read) gets the contract's `{"error","message"}` body instead of
//! Rocket's HTML page.

use auth_core::AuthError;
use auth_core::http::HttpResponse;
use rocket::catch;
use rocket::http::Status;
use rocket::request::Request;

use crate::AuthResponse;
use crate::guards::guard_failure;

#[catch(default)]
fn json_error(status: Status, req: &Request<'_>) -> AuthResponse {
    error_response(status, req)
}

/// The catcher of this crate.
pub(crate) fn all() -> Vec<rocket::Catcher> {
    rocket::catchers![json_error]
}

/// What the [`catchers`](crate::catchers()) answer for a request that failed with `status`:
/// the [`AuthError`] a guard of this crate failed with, else the contract's error for the
/// status (404 `not_found`, 413 `payload_too_large`, 400 `invalid_request`, …).
///
/// Call it from your own catcher if you register one where the guards are used:
///
/// ```
/// use adapter_rocket::{AuthResponse, error_response};
/// use rocket::http::Status;
/// use rocket::Request;
///
/// #[rocket::catch(default)]
/// fn my_catcher(status: Status, req: &Request<'_>) -> AuthResponse {
///     // ... log, count, ...
///     error_response(status, req)
/// }
/// # let _ = rocket::catchers![my_catcher];
/// ```
pub fn error_response(status: Status, req: &Request<'_>) -> AuthResponse {
    if let Some(err) = guard_failure(req, status) {
        return err.into();
    }
    if let Some(err) = error_for_status(status) {
        return err.into();
    }
    // The statuses the contract has no error of; the codes are those the other adapters
    // and the contract suite use.
    match status.code {
        500.. => {
            // A handler panicked, say: never a client's doing.
            tracing::error!(status = status.code, "a request failed inside the server");
            framework_error(status, INTERNAL_ERROR_BODY)
        }
        _ => {
            // A 422 from an app's own `Json` guard, …: the contract's client error, under
            // Rocket's status.
            let mut res = HttpResponse::error(&AuthError::invalid_request(status.reason_lossy()));
            res.status = status.code;
            res.into()
        }
    }
}

fn framework_error(status: Status, body: &str) -> AuthResponse {
    AuthResponse(HttpResponse {
        status: status.code,
        headers: vec![("cache-control", "no-store".to_owned())],
        body: body.to_owned(),
    })
}

/// The contract's error for a status Rocket answers by itself.
fn error_for_status(status: Status) -> Option<AuthError> {
    Some(match status.code {
        400 => AuthError::invalid_request("the request could not be understood"),
        401 => AuthError::MissingToken,
        403 => AuthError::Forbidden,
        404 => AuthError::NotFound,
        405 => AuthError::NotFound,
        413 => AuthError::PayloadTooLarge,
        503 => AuthError::StoreUnavailable,
        _ => return None,
    })
}

const INTERNAL_ERROR_BODY: &str =
    r#"{"error":"internal_error","message":"the server failed to answer the request"}"#;
