//! [`HttpResponse`]: what the core answers on the wire, in the contract's shape (`API.md`):
//! a status, the headers besides `Content-Type` (`Cache-Control: no-store` always,
//! `Retry-After` on the 429s that have one) and a JSON body, errors as
//! `{"error","message"}`.

use serde::Serialize;

use crate::AuthError;

/// What an adapter writes back.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers to set besides `Content-Type` (e.g. `Retry-After`, `Cache-Control`).
    pub headers: Vec<(&'static str, String)>,
    /// JSON text; empty for 204.
    pub body: String,
}

impl std::fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Bodies may carry tokens.
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl HttpResponse {
    /// The content type of every non-empty body.
    pub const CONTENT_TYPE: &'static str = "application/json";

    /// `value` as the JSON body of a `status` answer.
    pub(crate) fn json(status: u16, value: &impl Serialize) -> Self {
        match serde_json::to_string(value) {
            Ok(body) => Self {
                status,
                headers: vec![("cache-control", "no-store".to_owned())],
                body,
            },
            Err(e) => {
                tracing::error!(error = %e, "serializing a response failed");
                Self::error(&AuthError::Internal)
            }
        }
    }

    /// 204, no body.
    pub(crate) fn no_content() -> Self {
        Self {
            status: 204,
            headers: vec![("cache-control", "no-store".to_owned())],
            body: String::new(),
        }
    }

    /// The contract's error response: status, `{"error","message"}`, `Retry-After` on 429s
    /// that have one, `Cache-Control: no-store`.
    pub fn error(err: &AuthError) -> Self {
        let body = serde_json::to_string(&err.body())
            .unwrap_or_else(|_| format!("{{\"error\":\"{}\",\"message\":\"\"}}", err.code()));
        let mut headers = vec![("cache-control", "no-store".to_owned())];
        if let Some(secs) = err.retry_after_secs() {
            headers.push(("retry-after", secs.to_string()));
        }
        Self {
            status: err.status(),
            headers,
            body,
        }
    }

    /// Whether the body is empty (204).
    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
    }
}

impl From<AuthError> for HttpResponse {
    fn from(err: AuthError) -> Self {
        Self::error(&err)
    }
}
