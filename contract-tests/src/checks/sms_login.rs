//! SMS login: `POST /login {"phone"}` then `POST /verify_sms`, with every way it can fail.

use serde_json::json;

use crate::client::Ctx;

const PHONE: &str = "+15551230001";

/// 202 challenge, 200 token pair with `no-store`; the code works once (410
/// `challenge_consumed`).
pub async fn full_flow(ctx: &Ctx) {
    let user_id = ctx.register_phone(PHONE).await;
    let challenge = ctx.start_sms_login(PHONE).await;
    assert_eq!(ctx.kit.sms.count(), 1, "one SMS was sent");
    let code = ctx.code_for(PHONE);
    let tokens = ctx.verify_sms(&challenge, &code).await.tokens();
    assert_eq!(tokens.user_id, user_id);
    ctx.verify_sms(&challenge, &code)
        .await
        .error(410, "challenge_consumed");
    ctx.me(&tokens.access).await.json_with(200);
}

/// An unknown phone gets the same 202 (and the same cooldown), no SMS is sent, and any code
/// fails as `invalid_code`.
pub async fn unknown_phone(ctx: &Ctx) {
    let challenge = ctx.start_sms_login(PHONE).await;
    assert_eq!(ctx.kit.sms.count(), 0, "no SMS goes to an unknown phone");
    ctx.verify_sms(&challenge, "123456")
        .await
        .error(401, "invalid_code");
    let res = ctx.post_json("/login", &json!({ "phone": PHONE })).await;
    res.error(429, "rate_limited");
    res.retry_after(60);
}

/// Wrong codes: 401 `invalid_code`; after 5 of them the challenge is burned and even the right
/// code answers 429 `too_many_attempts` without `Retry-After`.
pub async fn wrong_codes_burn_the_challenge(ctx: &Ctx) {
    ctx.register_phone(PHONE).await;
    let challenge = ctx.start_sms_login(PHONE).await;
    let code = ctx.code_for(PHONE);
    let wrong: String = code
        .chars()
        .map(|c| match c {
            '9' => '0',
            c => char::from(c as u8 + 1),
        })
        .collect();
    for _ in 0..5 {
        ctx.verify_sms(&challenge, &wrong)
            .await
            .error(401, "invalid_code")
            .no_retry_after();
    }
    let res = ctx.verify_sms(&challenge, &code).await;
    res.error(429, "too_many_attempts").no_retry_after();
    let res = ctx.verify_sms(&challenge, &wrong).await;
    res.error(429, "too_many_attempts").no_retry_after();
}

/// A code used after its 10 minutes: 410 `code_expired`.
pub async fn expired_code(ctx: &Ctx) {
    ctx.register_phone(PHONE).await;
    let challenge = ctx.start_sms_login(PHONE).await;
    let code = ctx.code_for(PHONE);
    ctx.advance(601);
    ctx.verify_sms(&challenge, &code)
        .await
        .error(410, "code_expired");
}

/// An unknown challenge is 401 `invalid_code`; a malformed challenge id or code is 400.
pub async fn bad_challenges(ctx: &Ctx) {
    ctx.register_phone(PHONE).await;
    let challenge = ctx.start_sms_login(PHONE).await;
    let code = ctx.code_for(PHONE);
    ctx.verify_sms("9b2f3f7e-5d1c-4a8e-9f00-1234567890ab", &code)
        .await
        .error(401, "invalid_code");
    ctx.verify_sms("not-a-challenge", &code)
        .await
        .error(400, "invalid_request");
    for bad_code in ["12ab56", "123", "1234567890123", ""] {
        ctx.verify_sms(&challenge, bad_code)
            .await
            .error(400, "invalid_request");
    }
    // None of that burned the challenge.
    ctx.verify_sms(&challenge, &code).await.tokens();
}

/// The resend cooldown and the hourly cap: 429 `rate_limited` with a `Retry-After` in seconds.
pub async fn rate_limits(ctx: &Ctx) {
    ctx.register_phone(PHONE).await;
    ctx.start_sms_login(PHONE).await;
    let res = ctx.post_json("/login", &json!({ "phone": PHONE })).await;
    res.error(429, "rate_limited");
    res.retry_after(60);
    // The same number written differently is the same phone.
    let res = ctx
        .post_json("/login", &json!({ "phone": "+1 555-123-0001" }))
        .await;
    res.error(429, "rate_limited");
    for _ in 0..4 {
        ctx.advance(61);
        ctx.start_sms_login(PHONE).await;
    }
    assert_eq!(ctx.kit.sms.count(), 5);
    ctx.advance(61);
    let res = ctx.post_json("/login", &json!({ "phone": PHONE })).await;
    res.error(429, "rate_limited");
    let wait = res.retry_after(3600);
    assert!(
        wait > 60,
        "the hourly cap, not the cooldown: Retry-After {wait}"
    );
}

/// The SMS provider failing: 503 `sms_unavailable`.
pub async fn sms_unavailable(ctx: &Ctx) {
    ctx.register_phone(PHONE).await;
    ctx.kit.sms.set_failing(true);
    ctx.post_json("/login", &json!({ "phone": PHONE }))
        .await
        .error(503, "sms_unavailable");
    ctx.kit.sms.set_failing(false);
}

/// A disabled account: its tokens are revoked at once, and a new SMS login ends in 403
/// `account_disabled`.
pub async fn disabled_account(ctx: &Ctx) {
    let tokens = ctx.sms_user(PHONE).await;
    let user_id = tokens.user_id.parse().expect("a user id");
    ctx.auth()
        .disable_user(user_id)
        .await
        .expect("disable_user");
    ctx.me(&tokens.access).await.error(401, "token_revoked");
    ctx.refresh(&tokens.refresh)
        .await
        .error(401, "token_revoked");
    ctx.advance(61);
    let challenge = ctx.start_sms_login(PHONE).await;
    let code = ctx.code_for(PHONE);
    ctx.verify_sms(&challenge, &code)
        .await
        .error(403, "account_disabled");
}
