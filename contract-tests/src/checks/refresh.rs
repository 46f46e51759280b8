//! `POST /refresh`: rotation, the two ways to send the token, the grace window, reuse, expiry.

use reqwest::Method;
use serde_json::json;

use crate::client::Ctx;

const PHONE: &str = "+15551230001";

/// The body's `refresh_token` gives a new pair for the same session; so does
/// `Authorization: Bearer <refresh>` with no body and no content type; the body wins over the
/// header.
pub async fn rotates(ctx: &Ctx) {
    let first = ctx.sms_user(PHONE).await;
    let second = ctx.refresh(&first.refresh).await.tokens();
    assert_ne!(second.refresh, first.refresh, "the refresh token rotates");
    assert_eq!(second.session_id, first.session_id);
    assert_eq!(second.user_id, first.user_id);
    ctx.me(&second.access).await.json_with(200);
    let third = ctx
        .route(Method::POST, "/refresh")
        .bearer(&second.refresh)
        .send()
        .await
        .tokens();
    assert_ne!(third.refresh, second.refresh);
    assert_eq!(third.session_id, first.session_id);
    let fourth = ctx
        .route(Method::POST, "/refresh")
        .header("authorization", "Bearer not-a-refresh-token")
        .json(&json!({ "refresh_token": third.refresh }))
        .send()
        .await
        .tokens();
    assert_eq!(fourth.session_id, first.session_id);
    ctx.me(&fourth.access).await.json_with(200);
}

/// No token: 401 `missing_token`; a garbage or access token: 401 `invalid_token`.
pub async fn errors(ctx: &Ctx) {
    let tokens = ctx.sms_user(PHONE).await;
    ctx.route(Method::POST, "/refresh")
        .send()
        .await
        .error(401, "missing_token");
    ctx.post_json("/refresh", &json!({}))
        .await
        .error(401, "missing_token");
    ctx.route(Method::POST, "/refresh")
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .error(401, "missing_token");
    for garbage in ["garbage", "a.b.c", tokens.access.as_str()] {
        ctx.refresh(garbage).await.error(401, "invalid_token");
        ctx.route(Method::POST, "/refresh")
            .bearer(garbage)
            .send()
            .await
            .error(401, "invalid_token");
    }
    let forged = forge(&tokens.refresh);
    ctx.refresh(&forged).await.error(401, "invalid_token");
    // The real token still works.
    ctx.refresh(&tokens.refresh).await.tokens();
}

/// Within 10 s of a rotation the old token gets the same new refresh token (and a working
/// access token); after that it is reuse: 401 `refresh_token_reused`, and the whole session
/// is dead.
pub async fn grace_window_then_reuse(ctx: &Ctx) {
    let first = ctx.sms_user(PHONE).await;
    let second = ctx.refresh(&first.refresh).await.tokens();
    ctx.advance(5);
    let again = ctx.refresh(&first.refresh).await.tokens();
    assert_eq!(
        again.refresh, second.refresh,
        "within the grace window the same new refresh token comes back"
    );
    ctx.me(&again.access).await.json_with(200);
    ctx.advance(6);
    ctx.refresh(&first.refresh)
        .await
        .error(401, "refresh_token_reused");
    ctx.refresh(&second.refresh)
        .await
        .error(401, "refresh_token_reused");
    ctx.me(&second.access).await.error(401, "token_revoked");
}

/// Several refreshes with the same token at the same time: every one gets 200 with the same
/// new refresh token.
pub async fn racing_refreshes(ctx: &Ctx) {
    let first = ctx.sms_user(PHONE).await;
    let url = ctx.url("/api/auth/refresh");
    let body = json!({ "refresh_token": first.refresh }).to_string();
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let http = ctx.http().clone();
            let (url, body) = (url.clone(), body.clone());
            tokio::spawn(async move {
                let res = http
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("POST /refresh");
                let status = res.status().as_u16();
                let body = res.bytes().await.expect("a body");
                (status, body)
            })
        })
        .collect();
    let mut refreshed: Vec<String> = Vec::new();
    for task in tasks {
        let (status, body) = task.await.expect("the request task");
        assert_eq!(
            status,
            200,
            "racing POST /refresh: {}",
            String::from_utf8_lossy(&body)
        );
        let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        refreshed.push(v["refresh_token"].as_str().expect("a token").to_owned());
    }
    assert!(
        refreshed.windows(2).all(|w| w[0] == w[1]),
        "every racing refresh got the same new refresh token"
    );
    assert_ne!(refreshed[0], first.refresh);
    ctx.refresh(&refreshed[0]).await.tokens();
}

/// An access token past its 10 minutes: 401 `token_expired` (the refresh token still works);
/// a session idle for more than 14 days: 401 `token_expired` on refresh.
pub async fn expiry(ctx: &Ctx) {
    let first = ctx.sms_user(PHONE).await;
    ctx.advance(606);
    ctx.me(&first.access).await.error(401, "token_expired");
    let second = ctx.refresh(&first.refresh).await.tokens();
    ctx.me(&second.access).await.json_with(200);
    ctx.advance(15 * 24 * 3600);
    ctx.refresh(&second.refresh)
        .await
        .error(401, "token_expired");
}

/// A well-formed refresh token of the same session with another secret.
fn forge(token: &str) -> String {
    match token.rsplit_once('.') {
        Some((head, secret)) => {
            let other = if secret.starts_with('A') { "B" } else { "A" };
            format!("{head}.{}", other.repeat(secret.len()))
        }
        None => format!("{token}x"),
    }
}
