//! [`AuthResponse`]: the core's [`HttpResponse`] as a Rocket [`Responder`].

use std::io::Cursor;

use auth_core::AuthError;
use auth_core::http::HttpResponse;
use rocket::http::{ContentType, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};

/// A response of the HTTP contract, written by Rocket exactly as the core decided it: the
/// status, the core's headers (`Cache-Control`, `Retry-After`), and for a non-empty body
/// `Content-Type: application/json`.
///
/// Every route of [`routes`](crate::routes()) and the [`catchers`](crate::catchers()) answer
/// with it; your own handlers can too, e.g. to answer an [`AuthError`] the same way:
///
/// ```
/// use adapter_rocket::AuthResponse;
/// use auth_core::AuthError;
///
/// #[rocket::get("/reports")]
/// fn reports() -> Result<&'static str, AuthResponse> {
///     Err(AuthError::NotFound.into())
/// }
/// # let _ = rocket::routes![reports];
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResponse(pub HttpResponse);

impl From<HttpResponse> for AuthResponse {
    fn from(res: HttpResponse) -> Self {
        Self(res)
    }
}

impl From<AuthError> for AuthResponse {
    fn from(err: AuthError) -> Self {
        Self(HttpResponse::error(&err))
    }
}

impl<'r> Responder<'r, 'static> for AuthResponse {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let HttpResponse {
            status,
            headers,
            body,
        } = self.0;
        let mut res = Response::build();
        res.status(Status::new(status));
        for (name, value) in headers {
            res.raw_header(name, value);
        }
        if !body.is_empty() {
            res.header(ContentType::JSON)
                .sized_body(body.len(), Cursor::new(body));
        }
        res.ok()
    }
}
