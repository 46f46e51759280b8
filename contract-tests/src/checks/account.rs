//! `GET /me` and `POST /password`.

use reqwest::Method;
use serde_json::json;

use crate::client::{Ctx, OTHER_PASSWORD, PASSWORD};

/// `GET /me`: exactly the contract's fields; the phone in E.164; `login_count` counts logins,
/// not refreshes.
pub async fn me(ctx: &Ctx) {
    let res = ctx
        .post_json(
            "/register",
            &json!({
                "phone": "+1 555 123 0001",
                "username": "Frank_9",
                "profile": { "display_name": "Frank" },
            }),
        )
        .await;
    let user_id = res.json_with(201)["user_id"].clone();
    let first = ctx.sms_login("+15551230001").await;
    ctx.advance(61);
    let second = ctx.sms_login("+15551230001").await;
    ctx.refresh(&second.refresh).await.tokens();
    ctx.get("/api/auth/me", None)
        .await
        .error(401, "missing_token");
    ctx.me("garbage").await.error(401, "invalid_token");
    let res = ctx.me(&first.access).await;
    let v = res.json_with(200);
    res.keys(
        &v,
        &[
            "user_id",
            "phone",
            "email",
            "username",
            "roles",
            "profile",
            "created_at",
            "last_login_at",
            "login_count",
        ],
    );
    assert_eq!(v["user_id"], user_id);
    assert_eq!(v["phone"], json!("+15551230001"));
    assert_eq!(v["email"], json!(null));
    assert_eq!(v["username"], json!("frank_9"));
    assert_eq!(v["roles"], json!([]));
    assert_eq!(v["profile"], json!({ "display_name": "Frank" }));
    assert!(
        v["created_at"].is_string(),
        "created_at: {}",
        v["created_at"]
    );
    assert!(
        v["last_login_at"].is_string(),
        "last_login_at: {}",
        v["last_login_at"]
    );
    assert_eq!(v["login_count"], json!(2), "two logins, one refresh");
}

/// `POST /password`: a wrong `old_password` is 401 `invalid_credentials`, a weak new one 422;
/// success is 204, every other session is revoked, and only the new password logs in.
pub async fn change_password(ctx: &Ctx) {
    let email = "gina@example.com";
    ctx.register_email(email, PASSWORD).await;
    let a = ctx.password_login(email, PASSWORD).await;
    let b = ctx.password_login(email, PASSWORD).await;
    let post = |bearer: Option<&str>, body: serde_json::Value| {
        let mut req = ctx.route(Method::POST, "/password").json(&body);
        if let Some(token) = bearer {
            req = req.bearer(token);
        }
        req.send()
    };
    post(
        None,
        json!({ "old_password": PASSWORD, "new_password": OTHER_PASSWORD }),
    )
    .await
    .error(401, "missing_token");
    post(
        Some(&a.access),
        json!({ "old_password": OTHER_PASSWORD, "new_password": OTHER_PASSWORD }),
    )
    .await
    .error(401, "invalid_credentials");
    post(
        Some(&a.access),
        json!({ "old_password": PASSWORD, "new_password": "short" }),
    )
    .await
    .error(422, "weak_password");
    post(Some(&a.access), json!({ "new_password": OTHER_PASSWORD }))
        .await
        .error(400, "invalid_request");
    post(
        Some(&a.access),
        json!({ "old_password": PASSWORD, "new_password": OTHER_PASSWORD }),
    )
    .await
    .no_content();
    ctx.me(&b.access).await.error(401, "token_revoked");
    ctx.me(&a.access).await.json_with(200);
    ctx.post_json("/login", &json!({ "email": email, "password": PASSWORD }))
        .await
        .error(401, "invalid_credentials");
    ctx.password_login(email, OTHER_PASSWORD).await;
}

/// An SMS account sets its first password without `old_password`, then logs in with it.
pub async fn first_password(ctx: &Ctx) {
    let res = ctx
        .post_json(
            "/register",
            &json!({ "phone": "+15551230001", "username": "hank" }),
        )
        .await;
    res.json_with(201);
    let tokens = ctx.sms_login("+15551230001").await;
    ctx.route(Method::POST, "/password")
        .bearer(&tokens.access)
        .json(&json!({ "old_password": PASSWORD, "new_password": PASSWORD }))
        .send()
        .await
        .error(400, "invalid_request");
    ctx.route(Method::POST, "/password")
        .bearer(&tokens.access)
        .json(&json!({ "new_password": PASSWORD }))
        .send()
        .await
        .no_content();
    ctx.me(&tokens.access).await.json_with(200);
    ctx.post_json(
        "/login",
        &json!({ "username": "hank", "password": PASSWORD }),
    )
    .await
    .tokens();
}
