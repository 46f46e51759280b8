//! Password login: `POST /login {"email" or "username", "password"}`.

use serde_json::json;

use crate::client::{Ctx, OTHER_PASSWORD, PASSWORD};

const EMAIL: &str = "dana@example.com";

/// 200 token pair by email and by username; a wrong password and an unknown account give the
/// same 401 `invalid_credentials`.
pub async fn full_flow(ctx: &Ctx) {
    let res = ctx
        .post_json(
            "/register",
            &json!({ "email": EMAIL, "password": PASSWORD, "username": "dana" }),
        )
        .await;
    let user_id = res.json_with(201)["user_id"].clone();
    ctx.activate(EMAIL).await;
    let by_email = ctx.password_login(EMAIL, PASSWORD).await;
    assert_eq!(json!(by_email.user_id), user_id);
    let by_username = ctx
        .post_json(
            "/login",
            &json!({ "username": "dana", "password": PASSWORD }),
        )
        .await
        .tokens();
    assert_eq!(by_username.user_id, by_email.user_id);
    assert_ne!(
        by_username.session_id, by_email.session_id,
        "every login is a new session"
    );
    ctx.me(&by_email.access).await.json_with(200);
    for body in [
        json!({ "email": EMAIL, "password": OTHER_PASSWORD }),
        json!({ "username": "dana", "password": OTHER_PASSWORD }),
        json!({ "email": "nobody@example.com", "password": PASSWORD }),
        json!({ "username": "nobody", "password": PASSWORD }),
    ] {
        ctx.post_json("/login", &body)
            .await
            .error(401, "invalid_credentials");
    }
    ctx.post_json(
        "/login",
        &json!({ "email": "not an email", "password": PASSWORD }),
    )
    .await
    .error(400, "invalid_request");
}

/// A disabled account: 403 `account_disabled` only after the right password; a wrong one
/// is still 401 `invalid_credentials`.
pub async fn disabled_account(ctx: &Ctx) {
    let user_id = ctx.register_email(EMAIL, PASSWORD).await;
    let tokens = ctx.password_login(EMAIL, PASSWORD).await;
    ctx.auth()
        .disable_user(user_id.parse().expect("a user id"))
        .await
        .expect("disable_user");
    ctx.me(&tokens.access).await.error(401, "token_revoked");
    ctx.post_json(
        "/login",
        &json!({ "email": EMAIL, "password": OTHER_PASSWORD }),
    )
    .await
    .error(401, "invalid_credentials");
    ctx.post_json("/login", &json!({ "email": EMAIL, "password": PASSWORD }))
        .await
        .error(403, "account_disabled");
}
