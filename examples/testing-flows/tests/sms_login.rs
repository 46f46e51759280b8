//! SMS login, driven through `Auth` directly: the fake SMS gives the test the code, the manual
//! clock makes time pass.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use auth_core::testkit::TestKit;
use common::{PHONE, client, parse_phone, register, signed_in, start_login, verify, wrong};

#[tokio::test]
async fn logs_in_with_the_code_from_the_fake_sms() {
    let kit = TestKit::new();
    let tokens = signed_in(&kit, PHONE).await;

    let sms = kit.sms.sent();
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].to.as_str(), PHONE);
    assert!(sms[0].text.starts_with("Your login code is "));

    let me = kit
        .auth
        .authenticate(tokens.access_token.expose())
        .await
        .unwrap();
    assert_eq!(me.user_id, tokens.user_id);
    assert_eq!(me.session_id, Some(tokens.session_id));
}

#[tokio::test]
async fn a_code_expires_after_ten_minutes() {
    let kit = TestKit::new();
    register(&kit, PHONE).await;

    // Just before the 10 minutes are up, the code works.
    let (challenge_id, code) = start_login(&kit, PHONE).await;
    kit.clock.advance(Duration::from_secs(599));
    assert!(verify(&kit, &challenge_id, code.expose()).await.is_ok());

    // At 10 minutes it has expired: 410 code_expired, and the right code does not help.
    let (challenge_id, code) = start_login(&kit, PHONE).await;
    kit.clock.advance(Duration::from_secs(600));
    let err = verify(&kit, &challenge_id, code.expose())
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (410, "code_expired"));
}

#[tokio::test]
async fn five_wrong_codes_burn_the_challenge() {
    let kit = TestKit::new();
    register(&kit, PHONE).await;
    let (challenge_id, code) = start_login(&kit, PHONE).await;

    for _ in 0..5 {
        let err = verify(&kit, &challenge_id, &wrong(&code))
            .await
            .unwrap_err();
        assert_eq!((err.status(), err.code()), (401, "invalid_code"));
    }
    // Burned: even the right code is refused, with no Retry-After (start a new login).
    let err = verify(&kit, &challenge_id, code.expose())
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (429, "too_many_attempts"));
    assert_eq!(err.retry_after_secs(), None);

    // A new login, once the resend cooldown has passed, works.
    kit.clock.advance(Duration::from_secs(60));
    let (challenge_id, code) = start_login(&kit, PHONE).await;
    assert!(verify(&kit, &challenge_id, code.expose()).await.is_ok());
}

#[tokio::test]
async fn a_code_works_once() {
    let kit = TestKit::new();
    register(&kit, PHONE).await;
    let (challenge_id, code) = start_login(&kit, PHONE).await;
    assert!(verify(&kit, &challenge_id, code.expose()).await.is_ok());
    let err = verify(&kit, &challenge_id, code.expose())
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (410, "challenge_consumed"));
}

#[tokio::test]
async fn a_second_sms_waits_for_the_resend_cooldown() {
    let kit = TestKit::new();
    register(&kit, PHONE).await;
    start_login(&kit, PHONE).await;

    let err = kit
        .auth
        .start_sms_login(&parse_phone(PHONE), &client())
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (429, "rate_limited"));
    assert_eq!(err.retry_after_secs(), Some(60));
    assert_eq!(kit.sms.count(), 1);

    kit.clock.advance(Duration::from_secs(60));
    assert!(
        kit.auth
            .start_sms_login(&parse_phone(PHONE), &client())
            .await
            .is_ok()
    );
    assert_eq!(kit.sms.count(), 2);
}

#[tokio::test]
async fn an_unknown_phone_gets_the_same_answer_and_no_sms() {
    let kit = TestKit::new();
    let sent = kit
        .auth
        .start_sms_login(&parse_phone("+15550009999"), &client())
        .await
        .unwrap();
    assert_eq!((sent.expires_in, sent.resend_in), (600, 60));
    assert_eq!(kit.sms.count(), 0);
    // Whatever code is tried, it is just wrong.
    let err = verify(&kit, &sent.challenge_id.to_string(), "123456")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_code");
}

#[tokio::test]
async fn the_apps_own_settings_are_tested_the_same_way() {
    // Build the kit around your configuration: here 8-digit codes, 3 tries, 2 minutes.
    let mut config = TestKit::config();
    config.sms.code_length = 8;
    config.sms.max_attempts = 3;
    config.sms.code_ttl_secs = 120;
    let kit = TestKit::with_config(config);
    register(&kit, PHONE).await;

    let (challenge_id, code) = start_login(&kit, PHONE).await;
    assert_eq!(code.expose().len(), 8);
    for _ in 0..3 {
        verify(&kit, &challenge_id, &wrong(&code))
            .await
            .unwrap_err();
    }
    let err = verify(&kit, &challenge_id, code.expose())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "too_many_attempts");

    kit.clock.advance(Duration::from_secs(60));
    let (challenge_id, code) = start_login(&kit, PHONE).await;
    kit.clock.advance(Duration::from_secs(120));
    let err = verify(&kit, &challenge_id, code.expose())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "code_expired");
}
