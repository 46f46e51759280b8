//! How every route reads its body: malformed JSON, content types, missing and unknown fields,
//! empty bodies, the 16 KiB limit. This is where adapters differ most easily.

use reqwest::Method;
use serde_json::json;

use crate::client::{Ctx, PREFIX};
use crate::raw;

/// The routes that take a JSON body and need no token.
const PUBLIC_JSON_ROUTES: [&str; 8] = [
    "/register",
    "/login",
    "/verify_sms",
    "/refresh",
    "/password/reset",
    "/password/reset/confirm",
    "/activate",
    "/email/confirm",
];

/// The routes that take a JSON body and an access token.
const TOKEN_JSON_ROUTES: [(Method, &str); 5] = [
    (Method::POST, "/password"),
    (Method::PATCH, "/me"),
    (Method::POST, "/phone"),
    (Method::POST, "/phone/confirm"),
    (Method::POST, "/email"),
];

/// Malformed JSON, a JSON array, a scalar, trailing garbage, invalid UTF-8, deep nesting:
/// 400 `invalid_request` on every JSON route, never a 500.
pub async fn malformed_json(ctx: &Ctx) {
    let tokens = ctx.sms_user("+15551230001").await;
    let nested = format!("{{\"profile\":{}", "[".repeat(8000));
    let bodies: Vec<Vec<u8>> = vec![
        b"{\"phone\":".to_vec(),
        b"{phone: +15551230001}".to_vec(),
        b"[{\"phone\":\"+15551230002\"}]".to_vec(),
        b"[]".to_vec(),
        b"null".to_vec(),
        b"\"+15551230002\"".to_vec(),
        b"42".to_vec(),
        b"{\"phone\":\"+15551230002\"} trailing".to_vec(),
        b"{\"phone\":\"+15551230002\"}{}".to_vec(),
        b"{\"phone\":\"\xff\xfe+1555\"}".to_vec(),
        b"\xef\xbb\xbf{\"phone\":\"+15551230002\"}".to_vec(),
        nested.into_bytes(),
    ];
    for route in PUBLIC_JSON_ROUTES {
        for body in &bodies {
            ctx.route(Method::POST, route)
                .body(Some("application/json"), body.clone())
                .send()
                .await
                .error(400, "invalid_request");
        }
    }
    for (method, route) in TOKEN_JSON_ROUTES {
        for body in &bodies {
            ctx.route(method.clone(), route)
                .bearer(&tokens.access)
                .body(Some("application/json"), body.clone())
                .send()
                .await
                .error(400, "invalid_request");
        }
    }
}

/// A JSON body needs `Content-Type: application/json` (parameters and case allowed):
/// a missing or other content type is 400 `invalid_request`.
pub async fn content_types(ctx: &Ctx) {
    let body = json!({ "phone": "+15551230001" }).to_string().into_bytes();
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/jsonp"),
        Some("json"),
        Some(""),
    ] {
        for route in PUBLIC_JSON_ROUTES {
            let res = ctx
                .route(Method::POST, route)
                .body(ct, body.clone())
                .send()
                .await;
            assert_eq!(
                res.status,
                400,
                "POST {route} with content-type {ct:?}: {}",
                String::from_utf8_lossy(&res.body)
            );
            res.error(400, "invalid_request");
        }
    }
    let tokens = ctx.sms_user("+15551230009").await;
    for ct in [None, Some("text/plain")] {
        for (method, route) in TOKEN_JSON_ROUTES {
            ctx.route(method, route)
                .bearer(&tokens.access)
                .body(ct, b"{}".to_vec())
                .send()
                .await
                .error(400, "invalid_request");
        }
    }
    // Parameters and letter case do not matter.
    let res = ctx
        .route(Method::POST, "/register")
        .body(Some("application/json; charset=utf-8"), body)
        .send()
        .await;
    res.json_with(201);
    let res = ctx
        .route(Method::POST, "/login")
        .body(
            Some("Application/JSON"),
            json!({ "phone": "+15551230001" }).to_string().into_bytes(),
        )
        .send()
        .await;
    res.json_with(202);
}

/// A missing required field, an unknown field, a field of the wrong type: 400
/// `invalid_request`.
pub async fn missing_and_unknown_fields(ctx: &Ctx) {
    let tokens = ctx.sms_user("+15551230001").await;
    let cases = [
        ("/login", json!({})),
        ("/login", json!({ "email": "a@example.com" })),
        (
            "/login",
            json!({ "password": "correct horse battery staple 1987" }),
        ),
        (
            "/login",
            json!({ "phone": "+15551230001", "password": "correct horse battery staple 1987" }),
        ),
        (
            "/login",
            json!({ "email": "a@example.com", "username": "abc", "password": "x" }),
        ),
        ("/login", json!({ "phone": "+15551230001", "extra": true })),
        ("/login", json!({ "phone": ["+15551230001"] })),
        ("/verify_sms", json!({ "code": "123456" })),
        (
            "/verify_sms",
            json!({ "challenge_id": "00000000-0000-4000-8000-000000000000" }),
        ),
        (
            "/verify_sms",
            json!({ "challenge_id": "00000000-0000-4000-8000-000000000000", "code": "123456", "x": 1 }),
        ),
        (
            "/verify_sms",
            json!({ "challenge_id": "00000000-0000-4000-8000-000000000000", "code": 123456 }),
        ),
        ("/refresh", json!({ "refresh_token": "x", "extra": 1 })),
        ("/refresh", json!({ "token": "x" })),
        ("/refresh", json!({ "refresh_token": 42 })),
        ("/password/reset", json!({})),
        (
            "/password/reset",
            json!({ "email": "a@example.com", "phone": "+15551230001" }),
        ),
        (
            "/password/reset",
            json!({ "email": "a@example.com", "x": 1 }),
        ),
        ("/password/reset/confirm", json!({ "token": "x" })),
        (
            "/password/reset/confirm",
            json!({ "new_password": "correct horse battery staple 1987" }),
        ),
        (
            "/password/reset/confirm",
            json!({ "token": "x", "challenge_id": "00000000-0000-4000-8000-000000000000", "code": "123456", "new_password": "correct horse battery staple 1987" }),
        ),
        ("/activate", json!({})),
        ("/activate", json!({ "token": "x", "extra": 1 })),
        ("/activate", json!({ "token": 5 })),
        ("/email/confirm", json!({})),
        (
            "/email/confirm",
            json!({ "token": "x", "email": "a@example.com" }),
        ),
    ];
    for (route, body) in &cases {
        let res = ctx.post_json(route, body).await;
        assert_eq!(
            res.status,
            400,
            "POST {route} {body}: {}",
            String::from_utf8_lossy(&res.body)
        );
        res.error(400, "invalid_request");
    }
    let token_cases = [
        ("/password", json!({})),
        ("/password", json!({ "old_password": "x" })),
        (
            "/password",
            json!({ "new_password": "correct horse battery staple 1987", "extra": 1 }),
        ),
        ("/password", json!({ "new_password": 5 })),
        ("/phone", json!({})),
        ("/phone", json!({ "phone": "+15551230002", "extra": 1 })),
        ("/phone", json!({ "phone": "not a phone" })),
        ("/phone/confirm", json!({ "code": "123456" })),
        (
            "/phone/confirm",
            json!({ "challenge_id": "00000000-0000-4000-8000-000000000000" }),
        ),
        ("/email", json!({})),
        ("/email", json!({ "email": "not an email" })),
        ("/email", json!({ "email": "new@example.com", "extra": 1 })),
    ];
    for (route, body) in &token_cases {
        let res = ctx
            .route(Method::POST, route)
            .bearer(&tokens.access)
            .json(body)
            .send()
            .await;
        assert_eq!(
            res.status,
            400,
            "POST {route} {body}: {}",
            String::from_utf8_lossy(&res.body)
        );
        res.error(400, "invalid_request");
    }
}

/// No body (with or without a JSON content type) where one is required: 400.
pub async fn empty_bodies(ctx: &Ctx) {
    for route in PUBLIC_JSON_ROUTES {
        if route == "/refresh" {
            // No body is fine there: the token may come in the header.
            continue;
        }
        ctx.route(Method::POST, route)
            .send()
            .await
            .error(400, "invalid_request");
        ctx.route(Method::POST, route)
            .body(Some("application/json"), Vec::new())
            .send()
            .await
            .error(400, "invalid_request");
        ctx.route(Method::POST, route)
            .body(Some("application/json"), b"  \r\n ".to_vec())
            .send()
            .await
            .error(400, "invalid_request");
    }
}

/// Bodies over 16 KiB: 413 `payload_too_large` (JSON, whatever the content type, with a
/// `Content-Length` or chunked); exactly 16 KiB is accepted.
pub async fn size_limit(ctx: &Ctx) {
    let tokens = ctx.sms_user("+15551230001").await;
    let limit = auth_core::api::MAX_BODY_BYTES;
    let big = padded(
        &json!({ "phone": "+15551230002" }).to_string(),
        limit + 1024,
    );
    for route in PUBLIC_JSON_ROUTES {
        ctx.route(Method::POST, route)
            .body(Some("application/json"), big.clone())
            .send()
            .await
            .error(413, "payload_too_large");
    }
    for (method, route) in TOKEN_JSON_ROUTES {
        ctx.route(method, route)
            .bearer(&tokens.access)
            .body(Some("application/json"), big.clone())
            .send()
            .await
            .error(413, "payload_too_large");
    }
    ctx.route(Method::POST, "/register")
        .body(Some("text/plain"), big.clone())
        .send()
        .await
        .error(413, "payload_too_large");
    // One byte over the limit.
    ctx.route(Method::POST, "/register")
        .body(Some("application/json"), padded("{}", limit + 1))
        .send()
        .await
        .error(413, "payload_too_large");
    // Exactly at the limit: accepted.
    let exact = padded(&json!({ "phone": "+15551230003" }).to_string(), limit);
    ctx.route(Method::POST, "/register")
        .body(Some("application/json"), exact)
        .send()
        .await
        .json_with(201);
    // Chunked, so the size is only known while reading.
    let mut request = format!(
        "POST {PREFIX}/register HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        ctx.addr()
    )
    .into_bytes();
    for chunk in big.chunks(4096) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let res = raw::exchange(ctx.addr(), &request)
        .await
        .unwrap_or_else(|e| panic!("chunked 17 KiB POST /register: {e}"))
        .unwrap_or_else(|| panic!("chunked 17 KiB POST /register: no answer"));
    assert_eq!(
        res.status,
        413,
        "chunked 17 KiB POST /register: {}",
        String::from_utf8_lossy(&res.body)
    );
    let v: serde_json::Value = serde_json::from_slice(&res.body).unwrap_or_else(|e| {
        panic!(
            "chunked 17 KiB: not JSON ({e}): {}",
            String::from_utf8_lossy(&res.body)
        )
    });
    assert_eq!(v["error"], json!("payload_too_large"));
    assert!(
        res.header("content-type")
            .is_some_and(|ct| ct.starts_with("application/json")),
        "chunked 17 KiB: content-type {:?}",
        res.header("content-type")
    );
}

/// `json` followed by spaces up to `len` bytes.
fn padded(json: &str, len: usize) -> Vec<u8> {
    let mut body = json.as_bytes().to_vec();
    body.resize(len.max(body.len()), b' ');
    body
}
