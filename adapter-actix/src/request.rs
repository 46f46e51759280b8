//! What the adapter reads from an actix-web request: the shared [`Auth`], the headers the
//! core looks at, the client (IP and user agent) and the body, capped at
//! [`MAX_BODY_BYTES`].

use std::borrow::Cow;

use actix_web::http::header::{
    AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, FORWARDED, HeaderMap, HeaderName, USER_AGENT,
    X_FORWARDED_FOR,
};
use actix_web::{HttpRequest, web};
use auth_core::api::{ClientInfo, MAX_BODY_BYTES};
use auth_core::client_ip::{ClientIpPolicy, ForwardingHeaders, join_lines};
use auth_core::{Auth, AuthError};

/// The [`Auth`] the app registered with `app_data(web::Data::new(auth))`.
///
/// Without one the app is misconfigured: that is logged and answered as the store being
/// unavailable (503), the contract's answer when the server cannot serve, rather than with
/// actix-web's plain-text 500.
pub(crate) fn auth_of(req: &HttpRequest) -> Result<web::Data<Auth>, AuthError> {
    req.app_data::<web::Data<Auth>>().cloned().ok_or_else(|| {
        tracing::error!(
            "adapter-actix: no `web::Data<auth_core::Auth>` in app data; \
             register it with `App::app_data(web::Data::new(auth))`"
        );
        AuthError::StoreUnavailable
    })
}

/// A header as text. A value that is not valid UTF-8 is passed on lossily, so the core sees
/// that something was sent (a garbled `Authorization` header is a bad token, not none).
pub(crate) fn header(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    headers.get(name).map(|v| text(v.as_bytes()))
}

/// `bytes` as text, checked with the standard library's fast UTF-8 validation first and
/// converted lossily only when that fails.
fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// The header tokens come in: `Authorization`, or the one the app configured
/// (`transport.header`, see [`Auth::token_header`]).
pub(crate) fn token_header(req: &HttpRequest, auth: &Auth) -> Option<String> {
    if auth
        .token_header()
        .eq_ignore_ascii_case(AUTHORIZATION.as_str())
    {
        return header(req.headers(), &AUTHORIZATION);
    }
    let name = HeaderName::from_bytes(auth.token_header().as_bytes()).ok()?;
    header(req.headers(), &name)
}

/// The client IP (by the app's [`ClientIpPolicy`], registered as `web::Data`; without one,
/// the default: the TCP peer, proxy headers ignored) and the user agent.
pub(crate) fn client_info(req: &HttpRequest) -> ClientInfo {
    let peer = req.peer_addr().map(|addr| addr.ip());
    let default = ClientIpPolicy::default();
    let policy = req
        .app_data::<web::Data<ClientIpPolicy>>()
        .map_or(&default, |policy| policy.get_ref());
    let forwarded = header_lines(req.headers(), &FORWARDED);
    let x_forwarded_for = header_lines(req.headers(), &X_FORWARDED_FOR);
    let ip = policy.client_ip_from(
        peer,
        ForwardingHeaders {
            forwarded: forwarded.as_deref(),
            x_forwarded_for: x_forwarded_for.as_deref(),
        },
    );
    let user_agent = header(req.headers(), &USER_AGENT);
    ClientInfo::new(ip, user_agent.as_deref())
}

/// Every line of a list header, joined with `,`; a line that is not text converted lossily
/// (the core then reads it as garbage, never as no header).
fn header_lines<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<Cow<'h, str>> {
    join_lines(
        headers
            .get_all(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes())),
    )
}

/// The content type, as sent.
pub(crate) fn content_type(req: &HttpRequest) -> Option<String> {
    header(req.headers(), &CONTENT_TYPE)
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
