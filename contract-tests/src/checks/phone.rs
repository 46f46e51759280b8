//! The SMS flows besides login: password reset by SMS (`/password/reset {"phone"}` +
//! `/password/reset/confirm {"challenge_id","code"}`) and phone change (`POST /phone` +
//! `/phone/confirm`).

use reqwest::Method;
use serde_json::json;

use crate::client::{Ctx, OTHER_PASSWORD, PASSWORD, challenge_sent};

const PHONE: &str = "+15551230001";

/// `POST /password/reset {"phone"}`: the `/login` challenge shape whether or not the phone has
/// an account (only an account gets the SMS), under the same per-phone cooldown as login;
/// `/password/reset/confirm`: 401 `invalid_code` for a wrong code, 422 for a weak password (the
/// code stays usable), then 204 with every session revoked; the code works once.
pub async fn password_reset_by_sms(ctx: &Ctx) {
    let res = ctx
        .post_json("/register", &json!({ "phone": PHONE, "username": "nora" }))
        .await;
    res.json_with(201);
    let session = ctx.sms_login(PHONE).await;
    ctx.advance(61);
    let sent = ctx.kit.sms.count();
    let res = ctx
        .post_json("/password/reset", &json!({ "phone": "+15551230002" }))
        .await;
    let unknown = challenge_sent(&res);
    assert_eq!(ctx.kit.sms.count(), sent, "no SMS to an unknown phone");
    let res = ctx
        .post_json("/password/reset", &json!({ "phone": PHONE }))
        .await;
    let challenge = challenge_sent(&res);
    assert_eq!(ctx.kit.sms.count(), sent + 1);
    // One cooldown for every SMS a phone receives.
    for (route, body) in [
        ("/password/reset", json!({ "phone": PHONE })),
        ("/login", json!({ "phone": PHONE })),
    ] {
        let res = ctx.post_json(route, &body).await;
        res.error(429, "rate_limited");
        res.retry_after(60);
    }
    let code = ctx.code_for(PHONE);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let confirm = |challenge: &str, code: &str, password: &str| {
        ctx.route(Method::POST, "/password/reset/confirm")
            .json(&json!({ "challenge_id": challenge, "code": code, "new_password": password }))
            .send()
    };
    confirm(&unknown, "123456", PASSWORD)
        .await
        .error(401, "invalid_code");
    confirm(&challenge, wrong, PASSWORD)
        .await
        .error(401, "invalid_code");
    confirm(&challenge, &code, "short")
        .await
        .error(422, "weak_password");
    confirm(&challenge, &code, PASSWORD).await.no_content();
    confirm(&challenge, &code, OTHER_PASSWORD)
        .await
        .error(410, "challenge_consumed");
    ctx.me(&session.access).await.error(401, "token_revoked");
    // A reset code is no login code.
    ctx.verify_sms(&challenge, &code)
        .await
        .error(401, "invalid_code");
    ctx.post_json(
        "/login",
        &json!({ "username": "nora", "password": PASSWORD }),
    )
    .await
    .tokens();
}

/// `POST /phone`: the challenge shape, a code to the new number (409 for a number that has an
/// account, 400 for the current one); `POST /phone/confirm`: 401 `invalid_code` for a wrong
/// code, then 204 and the account's phone is the new one; the code works once. An account with
/// a password must send it (400 without, 401 `invalid_credentials` when wrong).
pub async fn change_phone(ctx: &Ctx) {
    let new = "+15551230005";
    let tokens = ctx.sms_user(PHONE).await;
    ctx.register_phone("+15551230009").await;
    let post = |route: &str, bearer: Option<&str>, body: serde_json::Value| {
        let mut req = ctx.route(Method::POST, route).json(&body);
        if let Some(token) = bearer {
            req = req.bearer(token);
        }
        req.send()
    };
    post("/phone", None, json!({ "phone": new }))
        .await
        .error(401, "missing_token");
    post(
        "/phone",
        Some(&tokens.access),
        json!({ "phone": "+15551230009" }),
    )
    .await
    .error(409, "already_registered");
    post("/phone", Some(&tokens.access), json!({ "phone": PHONE }))
        .await
        .error(400, "invalid_request");
    let res = post("/phone", Some(&tokens.access), json!({ "phone": new })).await;
    let challenge = challenge_sent(&res);
    let code = ctx.code_for(new);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    post(
        "/phone/confirm",
        None,
        json!({ "challenge_id": challenge, "code": code }),
    )
    .await
    .error(401, "missing_token");
    post(
        "/phone/confirm",
        Some(&tokens.access),
        json!({ "challenge_id": challenge, "code": wrong }),
    )
    .await
    .error(401, "invalid_code");
    post(
        "/phone/confirm",
        Some(&tokens.access),
        json!({ "challenge_id": challenge, "code": code }),
    )
    .await
    .no_content();
    post(
        "/phone/confirm",
        Some(&tokens.access),
        json!({ "challenge_id": challenge, "code": code }),
    )
    .await
    .error(410, "challenge_consumed");
    let me = ctx.me(&tokens.access).await.json_with(200);
    assert_eq!(me["phone"], json!(new));
    ctx.advance(61);
    let again = ctx.sms_login(new).await;
    assert_eq!(again.user_id, tokens.user_id, "the new number logs in");
    ctx.post_json("/login", &json!({ "phone": PHONE }))
        .await
        .json_with(202);

    // A password account proves itself with its password.
    let email = "olga@example.com";
    ctx.register_email(email, PASSWORD).await;
    let tokens = ctx.password_login(email, PASSWORD).await;
    post(
        "/phone",
        Some(&tokens.access),
        json!({ "phone": "+15551230007" }),
    )
    .await
    .error(400, "invalid_request");
    post(
        "/phone",
        Some(&tokens.access),
        json!({ "phone": "+15551230007", "password": OTHER_PASSWORD }),
    )
    .await
    .error(401, "invalid_credentials");
    let res = post(
        "/phone",
        Some(&tokens.access),
        json!({ "phone": "+15551230007", "password": PASSWORD }),
    )
    .await;
    challenge_sent(&res);
}
