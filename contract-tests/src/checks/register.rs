//! `POST /register`: both account kinds, uniqueness, input validation, the password policy,
//! the registration limits and `accounts.conceal_existing`.

use auth_core::AuthConfig;
use auth_core::mail::MailKind;
use auth_core::testkit::TestKit;
use serde_json::json;

use crate::client::{Ctx, OTHER_PASSWORD, PASSWORD, PREFIX, registered};

/// A phone account: 201 `{"user_id","activation_required"}`; the same number written with
/// spaces or dashes is the same account (409, and it logs into that account).
pub async fn phone_account(ctx: &Ctx) {
    let user_id = ctx.register_phone("+15551230001").await;
    ctx.post_json("/register", &json!({ "phone": "+1 555-123-0001" }))
        .await
        .error(409, "already_registered");
    let tokens = ctx.sms_login("+1 555 123 0001").await;
    assert_eq!(
        tokens.user_id, user_id,
        "a formatted number is the same account"
    );
}

/// An email account, with a username and a profile: 201 with `activation_required: true`;
/// a duplicate email or username answers 409.
pub async fn email_account(ctx: &Ctx) {
    let res = ctx
        .post_json(
            "/register",
            &json!({
                "email": "alice@example.com",
                "password": PASSWORD,
                "username": "alice",
                "profile": { "display_name": "Alice" },
            }),
        )
        .await;
    // An email account must be activated (by default).
    registered(&res, true);
    ctx.post_json(
        "/register",
        &json!({ "email": "alice@example.com", "password": PASSWORD }),
    )
    .await
    .error(409, "already_registered");
    ctx.post_json(
        "/register",
        &json!({ "email": "other@example.com", "password": PASSWORD, "username": "alice" }),
    )
    .await
    .error(409, "already_registered");
    ctx.register_email("other@example.com", PASSWORD).await;
}

/// Malformed phones and emails, wrong combinations of fields: 400 `invalid_request`.
pub async fn rejects_bad_input(ctx: &Ctx) {
    let bad = [
        json!({ "phone": "12345" }),
        json!({ "phone": "+1" }),
        json!({ "phone": "+1555123000199999999" }),
        json!({ "phone": "not a phone" }),
        json!({ "phone": "" }),
        json!({ "email": "not-an-email", "password": PASSWORD }),
        json!({ "email": "@example.com", "password": PASSWORD }),
        json!({ "email": "bob@example.com" }),
        json!({ "password": PASSWORD }),
        json!({ "phone": "+15551230001", "email": "bob@example.com", "password": PASSWORD }),
        json!({}),
        json!({ "phone": "+15551230001", "profile": "not an object" }),
        json!({ "phone": "+15551230001", "username": "a" }),
        json!({ "phone": "+15551230001", "username": "has space" }),
        json!({ "phone": 15551230001_u64 }),
        json!({ "phone": "+15551230001", "nickname": "x" }),
    ];
    for body in &bad {
        let res = ctx.post_json("/register", body).await;
        assert_eq!(
            (res.status, res.json()["error"].clone()),
            (400, json!("invalid_request")),
            "POST /register {body}: {}",
            String::from_utf8_lossy(&res.body)
        );
        res.error(400, "invalid_request");
    }
    // Nothing was created: the phone is still free.
    ctx.register_phone("+15551230001").await;
}

/// Too short, too common and too long passwords: 422 `weak_password` with a message; no
/// account is created.
pub async fn weak_passwords(ctx: &Ctx) {
    for password in [
        "short".to_owned(),
        "password1234567890".to_owned(),
        "aaaaaaaaaaaaaaaaaaaaaaaa".to_owned(),
    ] {
        let res = ctx
            .post_json(
                "/register",
                &json!({ "email": "carol@example.com", "password": password }),
            )
            .await;
        res.error(422, "weak_password");
        assert!(
            !res.json()["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "weak_password says why"
        );
    }
    let too_long = format!("{PASSWORD} {}", "zebra ".repeat(50));
    assert!(too_long.chars().count() > 256);
    let res = ctx
        .post_json(
            "/register",
            &json!({ "email": "carol@example.com", "password": too_long }),
        )
        .await;
    res.error(422, "weak_password");
    let message = res.json()["message"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        message.contains("long"),
        "the message says the password is too long: {message:?}"
    );
    ctx.register_email("carol@example.com", PASSWORD).await;
}

/// The test kit's configuration with registration limits low enough to reach: 3 per client IP
/// per hour, 2 per identifier per hour.
pub fn low_limits() -> AuthConfig {
    let mut config = TestKit::config();
    config.accounts.register_per_ip_per_hour = 3;
    config.accounts.register_per_identifier_per_hour = 2;
    config
}

/// Over the per-identifier cap a taken phone answers 429 `rate_limited` instead of 409, and
/// over the per-IP cap any registration does, each with a `Retry-After` of at most an hour;
/// after the hour the client may register again.
pub async fn rate_limits(ctx: &Ctx) {
    ctx.register_phone("+15551230001").await;
    let again = json!({ "phone": "+15551230001" });
    ctx.post_json("/register", &again)
        .await
        .error(409, "already_registered");
    let res = ctx.post_json("/register", &again).await;
    res.error(429, "rate_limited");
    res.retry_after(3600);
    let res = ctx
        .post_json("/register", &json!({ "phone": "+15551230002" }))
        .await;
    res.error(429, "rate_limited");
    res.retry_after(3600);
    ctx.advance(3600);
    ctx.register_phone("+15551230002").await;
}

/// The test kit's configuration with `accounts.conceal_existing` on.
pub fn conceal_existing() -> AuthConfig {
    let mut config = TestKit::config();
    config.accounts.conceal_existing = true;
    config
}

/// With `accounts.conceal_existing`, a taken email answers like a free one: 201
/// `{"user_id","activation_required":true}`, where the id belongs to no account (`GET
/// /users/{id}` is 404) and the stranger's password does not log in; the owner is mailed a
/// notice instead of an activation token. A taken username is still 409.
pub async fn conceal_existing_email(ctx: &Ctx) {
    let owner = ctx.register_email("alice@example.com", PASSWORD).await;
    ctx.advance(61);
    let res = ctx
        .post_json(
            "/register",
            &json!({ "email": "alice@example.com", "password": OTHER_PASSWORD }),
        )
        .await;
    let fake = registered(&res, true);
    assert_ne!(fake, owner);
    let mail = ctx.kit.mail.sent().pop().expect("a mail to the owner");
    assert_eq!(mail.kind, MailKind::RegistrationAttempt);
    assert_eq!(mail.to.as_str(), "alice@example.com");
    assert!(mail.token.is_none(), "no token in the notice");
    ctx.post_json(
        "/login",
        &json!({ "email": "alice@example.com", "password": OTHER_PASSWORD }),
    )
    .await
    .error(401, "invalid_credentials");
    let alice = ctx.password_login("alice@example.com", PASSWORD).await;
    assert_eq!(alice.user_id, owner);
    ctx.get(&format!("{PREFIX}/users/{fake}"), Some(&alice.access))
        .await
        .error(404, "not_found");
    registered(
        &ctx.post_json(
            "/register",
            &json!({ "email": "bob@example.com", "password": PASSWORD, "username": "bob" }),
        )
        .await,
        true,
    );
    ctx.post_json(
        "/register",
        &json!({ "email": "carol@example.com", "password": PASSWORD, "username": "bob" }),
    )
    .await
    .error(409, "already_registered");
}
