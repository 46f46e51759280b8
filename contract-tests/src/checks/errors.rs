//! Unknown paths, wrong methods, outages, and garbage a client may send.

use reqwest::Method;
use serde_json::json;

use crate::client::{Ctx, OTHER_PASSWORD, PASSWORD, PREFIX};
use crate::raw;

/// Every path under the prefix that is not a route (yet): 404 `{"error":"not_found"}` as JSON,
/// never the framework's HTML or plain-text page.
///
/// Not checked, because the contract does not say and frameworks differ: a trailing slash
/// (`/login/`) and empty segments (`//login`).
pub async fn unknown_paths(ctx: &Ctx) {
    let paths = [
        "/nope",
        "/users",
        "/users/9b2f3f7e-5d1c-4a8e-9f00-1234567890ab/extra",
        "/password/reset/nope",
        "/activate/x",
        "/phone/confirm/x",
        "/email/x",
        "/me/extra",
        "/sessions/a/b",
        "/%FF",
        "",
    ];
    for path in paths {
        for method in [Method::GET, Method::POST] {
            let res = ctx
                .request(method.clone(), &format!("{PREFIX}{path}"))
                .json(&json!({}))
                .send()
                .await;
            res.error(404, "not_found");
        }
    }
}

/// A known path with the wrong method: 404 `not_found` with the contract's JSON error body,
/// from every adapter alike (the contract lists no 405, and rocket routes by method and path
/// together).
pub async fn wrong_methods(ctx: &Ctx) {
    let tokens = ctx.sms_user("+15551230001").await;
    let cases = [
        (Method::GET, "/register"),
        (Method::GET, "/login"),
        (Method::PUT, "/login"),
        (Method::GET, "/verify_sms"),
        (Method::GET, "/refresh"),
        (Method::GET, "/logout"),
        (Method::DELETE, "/logout_all_other_sessions"),
        (Method::POST, "/sessions"),
        (
            Method::GET,
            "/sessions/9b2f3f7e-5d1c-4a8e-9f00-1234567890ab",
        ),
        (Method::POST, "/me"),
        (Method::DELETE, "/me"),
        (Method::PUT, "/me"),
        (Method::POST, "/users/9b2f3f7e-5d1c-4a8e-9f00-1234567890ab"),
        (
            Method::DELETE,
            "/users/9b2f3f7e-5d1c-4a8e-9f00-1234567890ab",
        ),
        (Method::GET, "/password"),
        (Method::GET, "/password/reset"),
        (Method::PUT, "/password/reset/confirm"),
        (Method::GET, "/activate"),
        (Method::GET, "/phone"),
        (Method::DELETE, "/phone/confirm"),
        (Method::GET, "/email"),
        (Method::GET, "/email/confirm"),
    ];
    for (method, route) in cases {
        let res = ctx
            .route(method, route)
            .bearer(&tokens.access)
            .json(&json!({}))
            .send()
            .await;
        res.error(404, "not_found");
    }
    // The real route still answers.
    ctx.me(&tokens.access).await.json_with(200);
}

/// The password hashing pool full (every thread busy, every place in its queue taken): 429
/// `rate_limited` with a `Retry-After` at once from every route that needs a hash or a
/// verification, known or unknown account alike; never a 500. Counts no attempt: the
/// right password logs in as soon as the pool is free again.
pub async fn hashing_saturated(ctx: &Ctx) {
    let email = "hana@example.com";
    ctx.register_email(email, PASSWORD).await;
    let tokens = ctx.password_login(email, PASSWORD).await;
    let held = ctx.kit.saturate_password_hashing().await;
    for body in [
        json!({ "email": email, "password": PASSWORD }),
        json!({ "email": email, "password": OTHER_PASSWORD }),
        json!({ "email": "nobody@example.com", "password": PASSWORD }),
    ] {
        let res = ctx.post_json("/login", &body).await;
        res.error(429, "rate_limited");
        res.retry_after(1);
    }
    let res = ctx
        .post_json(
            "/register",
            &json!({ "email": "ines@example.com", "password": PASSWORD }),
        )
        .await;
    res.error(429, "rate_limited");
    res.retry_after(1);
    let res = ctx
        .route(Method::POST, "/password")
        .bearer(&tokens.access)
        .json(&json!({ "old_password": PASSWORD, "new_password": OTHER_PASSWORD }))
        .send()
        .await;
    res.error(429, "rate_limited");
    res.retry_after(1);
    // Everything else still answers.
    ctx.me(&tokens.access).await.json_with(200);
    held.release().await;
    ctx.password_login(email, PASSWORD).await;
}

/// The store down: 503 `store_unavailable` from every route that needs it.
pub async fn store_unavailable(ctx: &Ctx) {
    let tokens = ctx.sms_user("+15551230001").await;
    ctx.register_email("ivan@example.com", PASSWORD).await;
    ctx.advance(61);
    let challenge = ctx.start_sms_login("+15551230001").await;
    let code = ctx.code_for("+15551230001");
    ctx.kit.store.set_unavailable(true);
    let body_routes = [
        ("/register", json!({ "phone": "+15551230002" })),
        ("/login", json!({ "phone": "+15551230001" })),
        (
            "/login",
            json!({ "email": "ivan@example.com", "password": PASSWORD }),
        ),
        (
            "/verify_sms",
            json!({ "challenge_id": challenge, "code": code }),
        ),
        ("/refresh", json!({ "refresh_token": tokens.refresh })),
        ("/password/reset", json!({ "phone": "+15551230001" })),
        ("/password/reset", json!({ "email": "ivan@example.com" })),
    ];
    for (route, body) in &body_routes {
        ctx.post_json(route, body)
            .await
            .error(503, "store_unavailable");
    }
    for (method, route) in [
        (Method::GET, "/me".to_owned()),
        (Method::GET, "/sessions".to_owned()),
        (Method::POST, "/logout".to_owned()),
        (Method::POST, "/logout_all_other_sessions".to_owned()),
        (Method::DELETE, format!("/sessions/{}", tokens.session_id)),
        (Method::GET, format!("/users/{}", tokens.user_id)),
    ] {
        ctx.route(method, &route)
            .bearer(&tokens.access)
            .send()
            .await
            .error(503, "store_unavailable");
    }
    for (method, route, body) in [
        (Method::PATCH, "/me", json!({})),
        (
            Method::POST,
            "/password",
            json!({ "new_password": PASSWORD }),
        ),
    ] {
        ctx.route(method, route)
            .bearer(&tokens.access)
            .json(&body)
            .send()
            .await
            .error(503, "store_unavailable");
    }
    ctx.kit.store.set_unavailable(false);
    ctx.me(&tokens.access).await.json_with(200);
    ctx.verify_sms(&challenge, &code).await.tokens();
}

/// Garbage never gets a 5xx: headers that are not UTF-8, a 16 KiB header (served normally), a
/// header beyond any server's limit (a 4xx or a closed connection is accepted), a request
/// line that is not HTTP (a 4xx or a closed connection), a body shorter than its
/// `Content-Length` announced as huge (413).
pub async fn garbage(ctx: &Ctx) {
    let tokens = ctx.sms_user("+15551230001").await;
    // An Authorization header that is not text is no usable credential: 401, and
    // `missing_token` or `invalid_token` are both accepted (frameworks differ in whether they
    // expose such a header at all).
    let res = ctx
        .route(Method::GET, "/me")
        .header_bytes("authorization", b"Bearer \xff\xfe\xfd")
        .send()
        .await;
    res.json_with(401);
    let code = res.json()["error"].clone();
    assert!(
        code == json!("missing_token") || code == json!("invalid_token"),
        "{}: {code}",
        res.what
    );
    // A content type that is not text: not JSON.
    ctx.route(Method::POST, "/register")
        .header_bytes("content-type", b"application/json\xff")
        .body(
            None,
            json!({ "phone": "+15551230002" }).to_string().into_bytes(),
        )
        .send()
        .await
        .error(400, "invalid_request");
    // A user agent that is not text is ignored.
    ctx.route(Method::POST, "/login")
        .header_bytes("user-agent", b"agent \xff\xfe")
        .json(&json!({ "phone": "+15551230003" }))
        .send()
        .await
        .json_with(202);
    // A 16 KiB header is served normally.
    ctx.route(Method::GET, "/me")
        .bearer(&tokens.access)
        .header("x-padding", &"p".repeat(16 * 1024))
        .send()
        .await
        .json_with(200);
    // A 16 KiB bearer token is just an invalid one.
    ctx.me(&"t".repeat(16 * 1024))
        .await
        .error(401, "invalid_token");
    // 512 KiB of header: the server may refuse the request head (4xx) or close the connection.
    let res = ctx
        .route(Method::GET, "/me")
        .bearer(&tokens.access)
        .header("x-padding", &"p".repeat(512 * 1024))
        .try_send()
        .await;
    if let Ok(res) = res {
        assert!(
            (400..500).contains(&res.status),
            "a 512 KiB header: {} {}",
            res.status,
            String::from_utf8_lossy(&res.body)
        );
    }
    // Not HTTP at all.
    for junk in [
        &b"HELLO\r\n\r\n"[..],
        b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\nConnection: close\r\n\r\n{}",
    ] {
        // No answer (the server closed the connection) is accepted too.
        if let Ok(Some(res)) = raw::exchange(ctx.addr(), junk).await {
            assert!(
                (400..500).contains(&res.status),
                "{:?}: {} {}",
                String::from_utf8_lossy(junk),
                res.status,
                String::from_utf8_lossy(&res.body)
            );
        }
    }
    // A body announced as 1 MiB: refused as too large without waiting for all of it.
    let mut request = format!(
        "POST {PREFIX}/register HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\nConnection: close\r\n\r\n",
        ctx.addr()
    )
    .into_bytes();
    request.extend_from_slice(&vec![b' '; 20 * 1024]);
    let res = raw::exchange(ctx.addr(), &request)
        .await
        .unwrap_or_else(|e| panic!("POST /register announcing 1 MiB: {e}"))
        .unwrap_or_else(|| panic!("POST /register announcing 1 MiB: no answer"));
    assert_eq!(
        res.status,
        413,
        "POST /register announcing 1 MiB: {}",
        String::from_utf8_lossy(&res.body)
    );
    let v: serde_json::Value = serde_json::from_slice(&res.body).unwrap_or_default();
    assert_eq!(v["error"], json!("payload_too_large"));
    // After all that, the server still serves.
    ctx.me(&tokens.access).await.json_with(200);
}
