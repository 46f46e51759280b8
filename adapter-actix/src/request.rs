//! What the adapter reads from an actix-web request: the shared [`Auth`], the TCP peer, the
//! headers (the core reads the token header and, from trusted proxies, the proxy header
//! itself) and the body, capped at [`MAX_BODY_BYTES`].

use std::borrow::Cow;
use std::net::IpAddr;

use actix_web::http::header::{CONTENT_LENGTH, HeaderMap, HeaderName};
use actix_web::{HttpRequest, web};
use auth_core::api::MAX_BODY_BYTES;
use auth_core::http::RequestHeaders;
use auth_core::{Auth, AuthError};

/// The [`Auth`] the app registered with `app_data(web::Data::new(auth))`.
///
/// Without one the app is misconfigured: that is logged and answered with the contract's
/// JSON 500 `internal_error`, rather than with actix-web's plain-text 500.
pub(crate) fn auth_of(req: &HttpRequest) -> Result<web::Data<Auth>, AuthError> {
    req.app_data::<web::Data<Auth>>().cloned().ok_or_else(|| {
        tracing::error!(
            "adapter-actix: no `web::Data<auth_core::Auth>` in app data; \
             register it with `App::app_data(web::Data::new(auth))`"
        );
        AuthError::Internal
    })
}

/// An actix-web header map as the core reads it. A value that is not valid UTF-8 is passed
/// on lossily, so the core sees that something was sent (a garbled `Authorization` header is
/// a bad token, not none; a garbled proxy header reads as garbage, never as no header).
#[derive(Clone, Copy)]
pub(crate) struct Headers<'h>(pub(crate) &'h HeaderMap);

impl RequestHeaders for Headers<'_> {
    fn line(&self, name: &str, index: usize) -> Option<Cow<'_, str>> {
        self.0.get_all(name).nth(index).map(|v| text(v.as_bytes()))
    }
}

/// A header's first line as text, converted lossily when it is not UTF-8.
pub(crate) fn header<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<Cow<'h, str>> {
    headers.get(name).map(|v| text(v.as_bytes()))
}

/// `bytes` as text, checked with the standard library's fast UTF-8 validation first and
/// converted lossily only when that fails.
fn text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// The TCP peer's address; `None` where actix-web has none (a Unix socket, a `TestRequest`
/// without `peer_addr`).
pub(crate) fn peer(req: &HttpRequest) -> Option<IpAddr> {
    req.peer_addr().map(|addr| addr.ip())
}

/// The whole body, at most [`MAX_BODY_BYTES`]: `payload_too_large` beyond (decided from
/// `Content-Length` before reading when the client sends one), `invalid_request` for a body
/// that cannot be read.
pub(crate) async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<web::Bytes, AuthError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return Err(AuthError::PayloadTooLarge);
    }
    match payload.to_bytes_limited(MAX_BODY_BYTES).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(_)) => Err(AuthError::invalid_request(
            "the request body could not be read",
        )),
        Err(_) => Err(AuthError::PayloadTooLarge),
    }
}
