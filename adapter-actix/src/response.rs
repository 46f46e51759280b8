//! The core's [`HttpResponse`](CoreResponse) written as an actix-web response.

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use auth_core::http::HttpResponse as CoreResponse;

/// Status and headers as the core decided them, plus `Content-Type: application/json` when
/// there is a body.
pub(crate) fn into_actix(res: CoreResponse) -> actix_web::HttpResponse {
    let status = StatusCode::from_u16(res.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut out = actix_web::HttpResponse::build(status);
    for (name, value) in &res.headers {
        // The core only sets valid headers; one that is not is dropped rather than turned
        // into an actix-web error page.
        match (
            HeaderName::try_from(*name),
            HeaderValue::try_from(value.as_str()),
        ) {
            (Ok(name), Ok(value)) => {
                out.append_header((name, value));
            }
            _ => tracing::error!(header = name, "the core produced an invalid header"),
        }
    }
    if res.is_empty() {
        out.finish()
    } else {
        out.insert_header((
            CONTENT_TYPE,
            HeaderValue::from_static(CoreResponse::CONTENT_TYPE),
        ));
        out.body(res.body)
    }
}
