//! Password reset by SMS and phone number change.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::api::{ChangePasswordRequest, LoginOutcome, LoginRequest};
use auth_core::sms::SmsKind;
use auth_core::{AuthError, Password};
use common::*;

async fn with_password(kit: &auth_core::testkit::TestKit) -> auth_core::UserId {
    let user = register_phone(kit, PHONE).await;
    let pair = sms_login(kit, PHONE).await;
    let p = kit
        .auth
        .authenticate(pair.access_token.expose())
        .await
        .unwrap();
    kit.auth
        .change_password(
            &p,
            ChangePasswordRequest {
                old_password: None,
                new_password: PASSWORD.into(),
            },
            &client(),
        )
        .await
        .unwrap();
    user
}

#[tokio::test]
async fn reset_by_sms_sets_the_password_and_revokes_every_session() {
    let kit = kit_with(|c| c.sms.resend_cooldown_secs = 0);
    let user = with_password(&kit).await;
    let a = sms_login(&kit, PHONE).await;
    let ch = kit
        .auth
        .request_password_reset_sms(&to_phone("+1 555 123 4567"), &client())
        .await
        .unwrap();
    let sms = kit.sms.sent().pop().unwrap();
    assert_eq!(sms.kind, SmsKind::PasswordResetCode);
    assert!(sms.text.contains("reset"));
    let code = sms.code.unwrap();
    let id = ch.challenge_id.to_string();
    // A weak new password does not burn the code.
    let e = kit
        .auth
        .confirm_password_reset_sms(cid(&id), &code, &"short".into(), &client())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "weak_password");
    let e = kit
        .auth
        .confirm_password_reset_sms(
            cid(&id),
            &wrong(&code),
            &"a fresh long passphrase".into(),
            &client(),
        )
        .await
        .unwrap_err();
    assert_eq!(e, AuthError::InvalidCode);
    kit.auth
        .confirm_password_reset_sms(
            cid(&id),
            &code,
            &"a fresh long passphrase".into(),
            &client(),
        )
        .await
        .unwrap();
    assert_eq!(
        kit.auth
            .authenticate(a.access_token.expose())
            .await
            .unwrap_err(),
        AuthError::TokenRevoked
    );
    assert!(kit.auth.user_sessions(user).await.unwrap().is_empty());
    // Once only.
    let e = kit
        .auth
        .confirm_password_reset_sms(
            cid(&id),
            &code,
            &"another long passphrase".into(),
            &client(),
        )
        .await
        .unwrap_err();
    assert_eq!(e, AuthError::ChallengeConsumed);
    // The new password works, the old one does not; a reset code is no login code.
    let u = kit.auth.find_user(user).await.unwrap().unwrap();
    let name = auth_core::Username::parse("resetuser").unwrap();
    let mut u2 = u.clone();
    u2.username = Some(name.clone());
    auth_core::store::UserStore::update_user(&kit.store, &u2)
        .await
        .unwrap();
    let login = |pw: &str| LoginRequest {
        username: Some("resetuser".into()),
        password: Some(Password::new(pw)),
        ..Default::default()
    };
    assert!(matches!(
        kit.auth
            .login(
                login("a fresh long passphrase")
                    .parse(kit.auth.config())
                    .unwrap(),
                &client()
            )
            .await
            .unwrap(),
        LoginOutcome::LoggedIn(_)
    ));
    assert_eq!(
        kit.auth
            .login(login(PASSWORD).parse(kit.auth.config()).unwrap(), &client())
            .await
            .unwrap_err(),
        AuthError::InvalidCredentials
    );
    let ch = kit
        .auth
        .request_password_reset_sms(&to_phone(PHONE), &client())
        .await
        .unwrap();
    let code = kit.sms.last_code_for(PHONE).unwrap();
    let e = kit
        .auth
        .verify_sms(ch.challenge_id, &code, &client())
        .await
        .unwrap_err();
    assert_eq!(e, AuthError::InvalidCode, "a reset challenge cannot log in");
}

#[tokio::test]
async fn reset_for_an_unknown_phone_looks_the_same_and_sends_nothing() {
    let kit = kit();
    register_phone(&kit, PHONE).await;
    let known = kit
        .auth
        .request_password_reset_sms(&to_phone(PHONE), &client())
        .await
        .unwrap();
    let unknown = kit
        .auth
        .request_password_reset_sms(&to_phone("+15550002222"), &client())
        .await
        .unwrap();
    assert_eq!(
        (known.expires_in, known.resend_in),
        (unknown.expires_in, unknown.resend_in)
    );
    assert_eq!(kit.sms.count(), 1);
    let e = kit
        .auth
        .confirm_password_reset_sms(
            unknown.challenge_id,
            &"123456".into(),
            &PASSWORD.into(),
            &client(),
        )
        .await
        .unwrap_err();
    assert_eq!(e, AuthError::InvalidCode);
}

#[tokio::test]
async fn one_cooldown_covers_login_and_reset_sms() {
    let kit = kit();
    register_phone(&kit, PHONE).await;
    kit.auth
        .start_sms_login(&to_phone(PHONE), &client())
        .await
        .unwrap();
    let e = kit
        .auth
        .request_password_reset_sms(&to_phone(PHONE), &client())
        .await
        .unwrap_err();
    assert!(matches!(e, AuthError::RateLimited { .. }));
}

#[tokio::test]
async fn reset_codes_expire_and_burn_like_login_codes() {
    let kit = kit_with(|c| c.sms.resend_cooldown_secs = 0);
    register_phone(&kit, PHONE).await;
    let ch = kit
        .auth
        .request_password_reset_sms(&to_phone(PHONE), &client())
        .await
        .unwrap();
    let code = kit.sms.last_code_for(PHONE).unwrap();
    kit.clock.advance(secs(600));
    let e = kit
        .auth
        .confirm_password_reset_sms(ch.challenge_id, &code, &PASSWORD.into(), &client())
        .await
        .unwrap_err();
    assert_eq!(e, AuthError::CodeExpired);
    let ch = kit
        .auth
        .request_password_reset_sms(&to_phone(PHONE), &client())
        .await
        .unwrap();
    let code = kit.sms.last_code_for(PHONE).unwrap();
    for _ in 0..5 {
        let _ = kit
            .auth
            .confirm_password_reset_sms(ch.challenge_id, &wrong(&code), &PASSWORD.into(), &client())
            .await;
    }
    let e = kit
        .auth
        .confirm_password_reset_sms(ch.challenge_id, &code, &PASSWORD.into(), &client())
        .await
        .unwrap_err();
    assert_eq!(e, AuthError::TooManyAttempts { retry_after: None });
}

#[tokio::test]
async fn phone_change_with_a_recent_login_and_notice_to_the_old_number() {
    let kit = kit();
    let user = register_phone(&kit, PHONE).await;
    let pair = sms_login(&kit, PHONE).await;
    let p = kit
        .auth
        .authenticate(pair.access_token.expose())
        .await
        .unwrap();
    let new = "+15557654321";
    let ch = kit
        .auth
        .request_phone_change(&p, &to_phone(new), None, &client())
        .await
        .unwrap();
    let sms = kit.sms.sent().pop().unwrap();
    assert_eq!((sms.kind, sms.to.as_str()), (SmsKind::PhoneChangeCode, new));
    let code = sms.code.unwrap();
    let e = kit
        .auth
        .confirm_phone_change(&p, ch.challenge_id, &wrong(&code), &client())
        .await
        .unwrap_err();
    assert_eq!(e, AuthError::InvalidCode);
    kit.auth
        .confirm_phone_change(&p, ch.challenge_id, &code, &client())
        .await
        .unwrap();
    let u = kit.auth.find_user(user).await.unwrap().unwrap();
    assert_eq!(u.phone.unwrap().as_str(), new);
    let notice = kit.sms.sent().pop().unwrap();
    assert_eq!(
        (notice.kind, notice.to.as_str(), notice.code.is_none()),
        (SmsKind::Notice, PHONE, true)
    );
    // The old number is free again, the new one logs in.
    assert!(
        kit.auth
            .find_user_by_phone(&to_phone(PHONE))
            .await
            .unwrap()
            .is_none()
    );
    kit.clock.advance(secs(61));
    assert_eq!(sms_login(&kit, new).await.user_id, user);
}

#[tokio::test]
async fn phone_change_needs_the_password_or_a_recent_login() {
    let kit = kit_with(|c| c.sms.resend_cooldown_secs = 0);
    register_phone(&kit, PHONE).await;
    let pair = sms_login(&kit, PHONE).await;
    let p = kit
        .auth
        .authenticate(pair.access_token.expose())
        .await
        .unwrap();
    kit.clock.advance(secs(901));
    let fresh = kit
        .auth
        .refresh(pair.refresh_token.expose(), &client())
        .await
        .unwrap();
    let p2 = kit
        .auth
        .authenticate(fresh.access_token.expose())
        .await
        .unwrap();
    assert_eq!(
        kit.auth
            .request_phone_change(&p2, &to_phone("+15557654321"), None, &client())
            .await
            .unwrap_err(),
        AuthError::Forbidden
    );
    let _ = p;
    // With a password, the password is required and checked.
    let kit = kit_with(|c| c.sms.resend_cooldown_secs = 0);
    with_password(&kit).await;
    let pair = sms_login(&kit, PHONE).await;
    let p = kit
        .auth
        .authenticate(pair.access_token.expose())
        .await
        .unwrap();
    assert_eq!(
        kit.auth
            .request_phone_change(&p, &to_phone("+15557654321"), None, &client())
            .await
            .unwrap_err()
            .code(),
        "invalid_request"
    );
    assert_eq!(
        kit.auth
            .request_phone_change(
                &p,
                &to_phone("+15557654321"),
                Some(&"wrong wrong wrong wrong".into()),
                &client()
            )
            .await
            .unwrap_err(),
        AuthError::InvalidCredentials
    );
    assert!(
        kit.auth
            .request_phone_change(
                &p,
                &to_phone("+15557654321"),
                Some(&PASSWORD.into()),
                &client()
            )
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn phone_change_to_a_taken_number_or_with_another_users_challenge_fails() {
    let kit = kit_with(|c| c.sms.resend_cooldown_secs = 0);
    register_phone(&kit, PHONE).await;
    register_phone(&kit, "+15550003333").await;
    let a = sms_login(&kit, PHONE).await;
    let b = sms_login(&kit, "+15550003333").await;
    let pa = kit
        .auth
        .authenticate(a.access_token.expose())
        .await
        .unwrap();
    let pb = kit
        .auth
        .authenticate(b.access_token.expose())
        .await
        .unwrap();
    assert_eq!(
        kit.auth
            .request_phone_change(&pa, &to_phone("+15550003333"), None, &client())
            .await
            .unwrap_err(),
        AuthError::AlreadyRegistered
    );
    assert_eq!(
        kit.auth
            .request_phone_change(&pa, &to_phone(PHONE), None, &client())
            .await
            .unwrap_err()
            .code(),
        "invalid_request"
    );
    let ch = kit
        .auth
        .request_phone_change(&pa, &to_phone("+15550004444"), None, &client())
        .await
        .unwrap();
    let code = kit.sms.last_code_for("+15550004444").unwrap();
    let e = kit
        .auth
        .confirm_phone_change(&pb, ch.challenge_id, &code, &client())
        .await
        .unwrap_err();
    assert_eq!(e, AuthError::InvalidCode);
    assert!(
        kit.auth
            .confirm_phone_change(&pa, ch.challenge_id, &code, &client())
            .await
            .is_ok()
    );
}
