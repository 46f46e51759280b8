//! The emailed one-time tokens: `POST /activate`, password reset by email
//! (`/password/reset` + `/password/reset/confirm {"token"}`), email change (`POST /email` +
//! `/email/confirm`). Tokens come from the kit's mail outbox.

use reqwest::Method;
use serde_json::json;

use crate::client::{Ctx, OTHER_PASSWORD, PASSWORD, registered};

const EMAIL: &str = "lena@example.com";

/// Registration mails an activation token: before `POST /activate` a correct password gets
/// 403 `activation_required` (a wrong one still 401); the token works once (then 410
/// `challenge_consumed`), an unknown one is 401 `invalid_token`, an expired one 410
/// `code_expired`.
pub async fn activation(ctx: &Ctx) {
    let res = ctx
        .post_json(
            "/register",
            &json!({ "email": EMAIL, "password": PASSWORD }),
        )
        .await;
    registered(&res, true);
    ctx.post_json(
        "/login",
        &json!({ "email": EMAIL, "password": OTHER_PASSWORD }),
    )
    .await
    .error(401, "invalid_credentials");
    ctx.post_json("/login", &json!({ "email": EMAIL, "password": PASSWORD }))
        .await
        .error(403, "activation_required");
    let token = ctx.mail_token_for(EMAIL);
    for garbage in ["garbage", "", &format!("{token}x")] {
        ctx.post_json("/activate", &json!({ "token": garbage }))
            .await
            .error(401, "invalid_token");
    }
    ctx.post_json("/activate", &json!({ "token": token }))
        .await
        .no_content();
    ctx.post_json("/activate", &json!({ "token": token }))
        .await
        .error(410, "challenge_consumed");
    ctx.password_login(EMAIL, PASSWORD).await;
    // An expired link.
    let other = "mia@example.com";
    let res = ctx
        .post_json(
            "/register",
            &json!({ "email": other, "password": PASSWORD }),
        )
        .await;
    registered(&res, true);
    let token = ctx.mail_token_for(other);
    ctx.advance(48 * 3600 + 1);
    ctx.post_json("/activate", &json!({ "token": token }))
        .await
        .error(410, "code_expired");
}

/// `POST /password/reset {"email"}`: 202 `{}` whether or not the address has an account (only
/// an account gets a mail), 429 `rate_limited` with `Retry-After` when repeated at once;
/// `/password/reset/confirm {"token","new_password"}`: 422 for a weak password (the token stays
/// usable), then 204 and every session revoked; the token works once.
pub async fn password_reset_by_email(ctx: &Ctx) {
    ctx.register_email(EMAIL, PASSWORD).await;
    let session = ctx.password_login(EMAIL, PASSWORD).await;
    ctx.advance(61);
    let mails = ctx.kit.mail.count();
    let res = ctx
        .post_json("/password/reset", &json!({ "email": "nobody@example.com" }))
        .await;
    assert_eq!(res.json_with(202), json!({}));
    assert_eq!(ctx.kit.mail.count(), mails, "no mail to an unknown address");
    let res = ctx
        .post_json("/password/reset", &json!({ "email": EMAIL }))
        .await;
    assert_eq!(res.json_with(202), json!({}));
    assert_eq!(ctx.kit.mail.count(), mails + 1, "a mail to the account");
    for email in [EMAIL, "nobody@example.com"] {
        let res = ctx
            .post_json("/password/reset", &json!({ "email": email }))
            .await;
        res.error(429, "rate_limited");
        res.retry_after(60);
    }
    let token = ctx.mail_token_for(EMAIL);
    let confirm = |token: &str, password: &str| {
        ctx.route(Method::POST, "/password/reset/confirm")
            .json(&json!({ "token": token, "new_password": password }))
            .send()
    };
    confirm(&token, "short").await.error(422, "weak_password");
    confirm("garbage", OTHER_PASSWORD)
        .await
        .error(401, "invalid_token");
    confirm(&token, OTHER_PASSWORD).await.no_content();
    confirm(&token, OTHER_PASSWORD)
        .await
        .error(410, "challenge_consumed");
    ctx.me(&session.access).await.error(401, "token_revoked");
    ctx.refresh(&session.refresh)
        .await
        .error(401, "token_revoked");
    ctx.post_json("/login", &json!({ "email": EMAIL, "password": PASSWORD }))
        .await
        .error(401, "invalid_credentials");
    ctx.password_login(EMAIL, OTHER_PASSWORD).await;
    // An expired link (30 minutes).
    ctx.advance(61);
    ctx.post_json("/password/reset", &json!({ "email": EMAIL }))
        .await
        .json_with(202);
    let token = ctx.mail_token_for(EMAIL);
    ctx.advance(1801);
    confirm(&token, PASSWORD).await.error(410, "code_expired");
}

/// `POST /email`: 202 `{}` and a token mailed to the new address (the current password is
/// required: 400 without it, 401 `invalid_credentials` when wrong; 409 for a taken address);
/// `POST /email/confirm {"token"}`: 204, then the account logs in with the new address; the
/// token works once.
pub async fn change_email(ctx: &Ctx) {
    ctx.register_email(EMAIL, PASSWORD).await;
    ctx.register_email("taken@example.com", PASSWORD).await;
    let tokens = ctx.password_login(EMAIL, PASSWORD).await;
    let new = "lena.new@example.com";
    let post = |bearer: Option<&str>, body: serde_json::Value| {
        let mut req = ctx.route(Method::POST, "/email").json(&body);
        if let Some(token) = bearer {
            req = req.bearer(token);
        }
        req.send()
    };
    post(None, json!({ "email": new, "password": PASSWORD }))
        .await
        .error(401, "missing_token");
    post(Some(&tokens.access), json!({ "email": new }))
        .await
        .error(400, "invalid_request");
    post(
        Some(&tokens.access),
        json!({ "email": new, "password": OTHER_PASSWORD }),
    )
    .await
    .error(401, "invalid_credentials");
    post(
        Some(&tokens.access),
        json!({ "email": "taken@example.com", "password": PASSWORD }),
    )
    .await
    .error(409, "already_registered");
    let res = post(
        Some(&tokens.access),
        json!({ "email": new, "password": PASSWORD }),
    )
    .await;
    assert_eq!(res.json_with(202), json!({}));
    let token = ctx.mail_token_for(new);
    ctx.post_json("/email/confirm", &json!({ "token": "garbage" }))
        .await
        .error(401, "invalid_token");
    ctx.post_json("/email/confirm", &json!({ "token": token }))
        .await
        .no_content();
    ctx.post_json("/email/confirm", &json!({ "token": token }))
        .await
        .error(410, "challenge_consumed");
    let me = ctx.me(&tokens.access).await.json_with(200);
    assert_eq!(me["email"], json!(new));
    ctx.password_login(new, PASSWORD).await;
    ctx.post_json("/login", &json!({ "email": EMAIL, "password": PASSWORD }))
        .await
        .error(401, "invalid_credentials");
}
