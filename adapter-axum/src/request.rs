//! Reading what the core needs from an axum request: the TCP peer (through
//! [`ConnectInfo`](axum::extract::ConnectInfo)), the headers (the core reads the token header
//! and, from trusted proxies, the proxy header itself), the content type, the user agent and,
//! for routes with a body, the body bytes, capped at [`MAX_BODY_BYTES`].

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

use auth_core::AuthError;
use auth_core::api::MAX_BODY_BYTES;
use auth_core::http::{HttpResponse, RequestHeaders};
use axum::body::{Body, Bytes};
use axum::extract::connect_info::MockConnectInfo;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{ConnectInfo, FromRequest, Request};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_LENGTH;
use axum::http::request::Parts;

use crate::response::ContractResponse;

/// An axum header map as the core reads it. A value that is not text is passed on lossily, so
/// the core sees that it was sent: a garbled token header is a bad token (401), never taken
/// for no header, which the optional-user guard would serve as an anonymous visitor. The
/// standard library's fast UTF-8 check runs first; the lossy conversion only when it fails.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Headers<'h>(pub(crate) &'h HeaderMap);

impl RequestHeaders for Headers<'_> {
    fn line(&self, name: &str, index: usize) -> Option<Cow<'_, str>> {
        let bytes = self.0.get_all(name).iter().nth(index)?.as_bytes();
        Some(match std::str::from_utf8(bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(bytes),
        })
    }
}

/// A header's value, when present and text.
pub(crate) fn header_text(
    headers: &HeaderMap,
    name: impl axum::http::header::AsHeaderName,
) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The TCP peer's address, when the app is served with
/// `into_make_service_with_connect_info::<SocketAddr>()` (or a `MockConnectInfo`), as
/// [`ConnectInfo`]'s extractor finds it, without building its rejection when there is none.
pub(crate) fn peer(parts: &Parts) -> Option<IpAddr> {
    let ext = &parts.extensions;
    ext.get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .or_else(|| {
            ext.get::<MockConnectInfo<SocketAddr>>()
                .map(|MockConnectInfo(addr)| addr.ip())
        })
}

/// The buffered body. A body over [`MAX_BODY_BYTES`] (by `Content-Length` or while reading)
/// is the contract's 413. The extensions (with the body limit) go with the body.
pub(crate) async fn read_body<S: Send + Sync>(
    parts: &mut Parts,
    body: Body,
    state: &S,
) -> Result<Bytes, ContractResponse> {
    // Refuse an announced oversize body at once instead of reading up to the limit.
    let announced = header_text(&parts.headers, CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|len| usize::try_from(len).map_or(true, |len| len > MAX_BODY_BYTES)) {
        return Err(ContractResponse(HttpResponse::error(
            &AuthError::PayloadTooLarge,
        )));
    }
    let mut req = Request::new(body);
    std::mem::swap(req.extensions_mut(), &mut parts.extensions);
    Bytes::from_request(req, state)
        .await
        .map_err(|rejection| ContractResponse(HttpResponse::error(&body_error(&rejection))))
}

/// The contract's error for a body that could not be read.
fn body_error(rejection: &BytesRejection) -> AuthError {
    match rejection {
        BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
            AuthError::PayloadTooLarge
        }
        _ => AuthError::invalid_request(format!(
            "the request body could not be read (at most {MAX_BODY_BYTES} bytes)"
        )),
    }
}
