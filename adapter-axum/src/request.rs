//! Reading what the core needs from an axum request: headers (the token header is the one
//! [`Auth::token_header`](auth_core::Auth::token_header) names), the client (peer IP through
//! the [`ClientIpPolicy`](auth_core::client_ip::ClientIpPolicy), which reads the proxy headers
//! `Forwarded` and `X-Forwarded-For` only from trusted proxies; user agent) and, for routes with
//! a JSON body, the body bytes, capped at [`MAX_BODY_BYTES`].

use std::borrow::Cow;
use std::net::SocketAddr;

use auth_core::AuthError;
use auth_core::api::{ClientInfo, MAX_BODY_BYTES};
use auth_core::client_ip::{ForwardingHeaders, join_lines};
use auth_core::http::{HttpRequest, HttpResponse};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, FORWARDED, USER_AGENT};
use axum::http::request::Parts;

use crate::AuthState;
use crate::response::ContractResponse;

/// The `X-Forwarded-For` header.
const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// Every line of a list header, joined with `,`; a line that is not text converted lossily
/// (the core then reads it as garbage, never as no header).
fn header_lines<'h>(
    headers: &'h HeaderMap,
    name: impl axum::http::header::AsHeaderName,
) -> Option<Cow<'h, str>> {
    join_lines(
        headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes())),
    )
}

/// A header's value, when present and text.
pub(crate) fn header_text(
    headers: &HeaderMap,
    name: impl axum::http::header::AsHeaderName,
) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The token header (the one [`Auth::token_header`](auth_core::Auth::token_header) names),
/// whenever it was sent. A value that is not text is passed on lossily, so the core sees that
/// a credential was sent: a garbled header is a bad token (401), never taken for no header,
/// which the optional-user guard would serve as an anonymous visitor. The standard library's
/// fast UTF-8 check runs first; the lossy conversion only when it fails.
pub(crate) fn token_header<'h>(headers: &'h HeaderMap, name: &str) -> Option<Cow<'h, str>> {
    let bytes = headers.get(name)?.as_bytes();
    Some(match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    })
}

/// Everything but the body.
#[derive(Debug)]
pub(crate) struct Head {
    content_type: Option<String>,
    authorization: Option<String>,
    client: ClientInfo,
}

impl Head {
    /// The core's view of the request, with `body`.
    pub(crate) fn with_body<'a>(&'a self, body: &'a [u8]) -> HttpRequest<'a> {
        HttpRequest {
            content_type: self.content_type.as_deref(),
            authorization: self.authorization.as_deref(),
            body,
            client: self.client.clone(),
        }
    }
}

impl<S> FromRequestParts<S> for Head
where
    AuthState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let peer = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .ok()
            .map(|ConnectInfo(addr)| addr.ip());
        let forwarded = header_lines(&parts.headers, FORWARDED);
        let x_forwarded_for = header_lines(&parts.headers, X_FORWARDED_FOR);
        let state = AuthState::from_ref(state);
        let ip = state.client_ip_policy().client_ip_from(
            peer,
            ForwardingHeaders {
                forwarded: forwarded.as_deref(),
                x_forwarded_for: x_forwarded_for.as_deref(),
            },
        );
        Ok(Self {
            content_type: header_text(&parts.headers, CONTENT_TYPE).map(str::to_owned),
            authorization: token_header(&parts.headers, state.auth().token_header())
                .map(Cow::into_owned),
            client: ClientInfo::new(ip, header_text(&parts.headers, USER_AGENT)),
        })
    }
}

/// The head and the buffered body of a route that takes JSON. A body over
/// [`MAX_BODY_BYTES`] (by `Content-Length` or while reading) is the contract's 413.
#[derive(Debug)]
pub(crate) struct WithBody {
    pub(crate) head: Head,
    pub(crate) body: Bytes,
}

impl<S> FromRequest<S> for WithBody
where
    AuthState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ContractResponse;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let Ok(head) = Head::from_request_parts(&mut parts, state).await;
        // Refuse an announced oversize body at once instead of reading up to the limit.
        let announced =
            header_text(&parts.headers, CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
        if announced
            .is_some_and(|len| usize::try_from(len).map_or(true, |len| len > MAX_BODY_BYTES))
        {
            return Err(ContractResponse(HttpResponse::error(
                &AuthError::PayloadTooLarge,
            )));
        }
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|rejection| ContractResponse(HttpResponse::error(&body_error(&rejection))))?;
        Ok(Self { head, body })
    }
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
