//! The HTTP contract (`API.md`) without a framework: every route's status codes, bodies and
//! headers are decided here, once, so the adapters only translate their framework's request
//! into an [`HttpRequest`] and an [`HttpResponse`] back.
//!
//! An adapter hands the core what it finds on the wire: the TCP peer address, the request's
//! headers (through [`RequestHeaders`]), the content type, the user agent and the body. The
//! core applies the configuration to them itself: the client IP policy
//! ([`AuthConfig::client_ip`](crate::AuthConfig::client_ip), see [`client_ip`]) and the token
//! header and scheme (`transport`).
//!
//! * `routes.rs`: the route table [`ROUTES`] and the dispatch of a [`Route`];
//! * `guards.rs`: the guards ([`Auth::guard`], [`Requirement`]) and credential parsing
//!   (`Bearer`, another configured scheme, HTTP Basic);
//! * [`client_ip`]: which address a request counts as coming from;
//! * `response.rs`: the response shape ([`HttpResponse`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use auth_core::http::{HttpRequest, Route};
//! use auth_core::testkit::TestKit;
//!
//! let kit = TestKit::new();
//! let req = HttpRequest {
//!     content_type: Some("application/json"),
//!     body: br#"{"phone":"+15551234567"}"#,
//!     ..HttpRequest::default()
//! };
//! let res = kit.auth.handle(Route::Register, &req).await;
//! assert_eq!(res.status, 201);
//! assert!(res.body.contains("user_id"));
//! # }
//! ```

use std::borrow::Cow;
use std::net::IpAddr;

use crate::Auth;
use crate::api::ClientInfo;

pub mod client_ip;
mod guards;
mod response;
mod routes;

pub use guards::Requirement;
pub use response::HttpResponse;
pub use routes::{ROUTES, Route};

/// The headers of a request, as the core reads them: the token header (`transport.header`)
/// and, from a trusted proxy, the proxy header of the client IP policy. Adapters implement it
/// over their framework's header map; a slice of `(name, value)` pairs implements it too
/// (for tests and direct callers).
pub trait RequestHeaders: Sync {
    /// Line `index` (0 is the first) of the header `name`, matched case-insensitively, or
    /// `None` past the last line. A value that is not UTF-8 is converted lossily, so that a
    /// garbled header still counts as sent (a bad token, never no token).
    fn line(&self, name: &str, index: usize) -> Option<Cow<'_, str>>;
}

impl RequestHeaders for [(&str, &str)] {
    fn line(&self, name: &str, index: usize) -> Option<Cow<'_, str>> {
        self.iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .nth(index)
            .map(|(_, v)| Cow::Borrowed(*v))
    }
}

impl<const N: usize> RequestHeaders for [(&str, &str); N] {
    fn line(&self, name: &str, index: usize) -> Option<Cow<'_, str>> {
        self.as_slice().line(name, index)
    }
}

/// What an adapter extracts from a request.
#[derive(Clone, Copy)]
pub struct HttpRequest<'a> {
    /// The TCP peer's address; `None` when unknown (per-IP limits then use one shared
    /// bucket, and a warning is logged once). The client IP is derived from it by
    /// [`AuthConfig::client_ip`](crate::AuthConfig::client_ip).
    pub peer: Option<IpAddr>,
    /// The request's headers: the core reads the token header and the proxy header.
    pub headers: &'a dyn RequestHeaders,
    /// The path parameter of a route that has one ([`Route::param`]: the session id of
    /// `DELETE /sessions/{session_id}`, the user id of `GET /users/{user_id}`).
    pub path_param: Option<&'a str>,
    /// The `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// The `User-Agent` header.
    pub user_agent: Option<&'a str>,
    /// The raw body (adapters cap it at [`MAX_BODY_BYTES`](crate::api::MAX_BODY_BYTES) and
    /// answer [`HttpResponse::error`] of
    /// [`AuthError::PayloadTooLarge`](crate::AuthError::PayloadTooLarge) beyond).
    pub body: &'a [u8],
}

/// No headers at all.
const NO_HEADERS: &[(&str, &str); 0] = &[];

impl Default for HttpRequest<'_> {
    fn default() -> Self {
        Self {
            peer: None,
            headers: NO_HEADERS,
            path_param: None,
            content_type: None,
            user_agent: None,
            body: &[],
        }
    }
}

impl std::fmt::Debug for HttpRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Headers and bodies may carry credentials.
        f.debug_struct("HttpRequest")
            .field("peer", &self.peer)
            .field("path_param", &self.path_param)
            .field("content_type", &self.content_type)
            .field("user_agent", &self.user_agent)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// The client IP of a request from `peer` with `headers`, by the configured policy.
    pub(crate) fn client_ip(
        &self,
        peer: Option<IpAddr>,
        headers: &dyn RequestHeaders,
    ) -> Option<IpAddr> {
        self.inner.config.client_ip.client_ip_of(peer, headers)
    }

    /// The client of a request: its IP (by the policy) and user agent.
    pub(crate) fn client_info(&self, req: &HttpRequest<'_>) -> ClientInfo {
        ClientInfo::new(self.client_ip(req.peer, req.headers), req.user_agent)
    }
}
