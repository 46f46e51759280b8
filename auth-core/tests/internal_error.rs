//! `internal_error`: what is neither the store's nor the client's fault answers 500 with a
//! stable code and a message that tells nothing of the cause.
#![allow(clippy::unwrap_used)]

use auth_core::AuthError;
use auth_core::http::HttpResponse;

#[test]
fn internal_errors_answer_500_without_detail() {
    let res = HttpResponse::error(&AuthError::Internal);
    assert_eq!(res.status, 500);
    let body: serde_json::Value = serde_json::from_str(&res.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "error": "internal_error",
            "message": "the server failed to answer the request",
        })
    );
    assert!(
        !res.headers.iter().any(|(name, _)| *name == "retry-after"),
        "{:?}",
        res.headers
    );
}
