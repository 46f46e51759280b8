//! What a credential change does to everything issued before it: SMS codes and emailed tokens
//! of the account stop working after a password change or reset and after a phone or email
//! change; and setting a first password needs a recent login.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::api::{ChallengeSent, ChangePasswordRequest};
use auth_core::store::UserStore as _;
use auth_core::testkit::TestKit;
use auth_core::token::access::Principal;
use auth_core::{AuthError, OneTimeCode, Password};
use common::*;

const EMAIL: &str = "nina@example.com";
const NEW_PHONE: &str = "+15557654321";

fn kit_without_cooldowns() -> TestKit {
    kit_with(|c| {
        c.sms.resend_cooldown_secs = 0;
        c.accounts.mail_cooldown_secs = 0;
    })
}

async fn principal(kit: &TestKit, access_token: &str) -> Principal {
    kit.auth.authenticate(access_token).await.unwrap()
}

/// An email account with a password and a phone, signed in by password.
async fn email_account_with_phone(kit: &TestKit) -> Principal {
    let user = register_email(kit, EMAIL).await;
    let mut u = kit.store.user_by_id(user).await.unwrap().unwrap();
    u.phone = Some(auth_core::Phone::parse(PHONE, false).unwrap());
    kit.store.update_user(&u).await.unwrap();
    let pair = sms_login(kit, PHONE).await;
    principal(kit, pair.access_token.expose()).await
}

async fn change_password(
    kit: &TestKit,
    p: &Principal,
    old: Option<&str>,
    new: &str,
) -> Result<(), AuthError> {
    kit.auth
        .change_password(
            p,
            ChangePasswordRequest {
                old_password: old.map(Password::new),
                new_password: new.into(),
            },
            &client(),
        )
        .await
}

/// An attempt to set a password with an SMS reset code; its error.
async fn reset_by_sms(kit: &TestKit, challenge: &ChallengeSent, code: &OneTimeCode) -> AuthError {
    kit.auth
        .confirm_password_reset_sms(
            challenge.challenge_id,
            code,
            &"an attackers passphrase here".into(),
            &client(),
        )
        .await
        .unwrap_err()
}

/// An attempt to set a password with an emailed reset token; its error.
async fn reset_by_email(kit: &TestKit, token: &str) -> AuthError {
    kit.auth
        .confirm_password_reset_email(token, &"an attackers passphrase".into(), &client())
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_password_change_kills_earlier_reset_codes_login_codes_and_emailed_tokens() {
    let kit = kit_without_cooldowns();
    let p = email_account_with_phone(&kit).await;
    // Issued before the change: an SMS reset code, an SMS login code, an emailed reset link.
    let reset = kit
        .auth
        .request_password_reset_sms(&to_phone(PHONE), &client())
        .await
        .unwrap();
    let reset_code = kit.sms.last_code_for(PHONE).unwrap();
    let (login_id, login_code) = start(&kit, PHONE).await;
    kit.auth
        .request_password_reset_email(&to_email(EMAIL), &client())
        .await
        .unwrap();
    let reset_link = kit.mail.last_token_for(EMAIL).unwrap();

    kit.clock.advance(secs(1));
    change_password(&kit, &p, Some(PASSWORD), "a changed passphrase entirely")
        .await
        .unwrap();

    assert_eq!(
        reset_by_sms(&kit, &reset, &reset_code).await,
        AuthError::CodeExpired
    );
    let e = kit
        .auth
        .verify_sms(cid(&login_id), &login_code, &client())
        .await
        .unwrap_err();
    assert_eq!(e, AuthError::CodeExpired);
    assert_eq!(
        reset_by_email(&kit, &reset_link).await,
        AuthError::CodeExpired
    );

    // What is issued after the change works.
    kit.clock.advance(secs(1));
    sms_login(&kit, PHONE).await;
}

#[tokio::test]
async fn a_password_reset_kills_the_other_outstanding_reset_and_email_change_tokens() {
    let kit = kit_without_cooldowns();
    let p = email_account_with_phone(&kit).await;
    kit.auth
        .request_email_change(
            &p,
            &to_email("nina.new@example.com"),
            Some(&PASSWORD.into()),
            &client(),
        )
        .await
        .unwrap();
    let change_link = kit.mail.last_token_for("nina.new@example.com").unwrap();
    kit.auth
        .request_password_reset_email(&to_email(EMAIL), &client())
        .await
        .unwrap();
    let reset_link = kit.mail.last_token_for(EMAIL).unwrap();
    let first = kit
        .auth
        .request_password_reset_sms(&to_phone(PHONE), &client())
        .await
        .unwrap();
    let first_code = kit.sms.last_code_for(PHONE).unwrap();
    let second = kit
        .auth
        .request_password_reset_sms(&to_phone(PHONE), &client())
        .await
        .unwrap();
    let second_code = kit.sms.last_code_for(PHONE).unwrap();

    kit.clock.advance(secs(1));
    kit.auth
        .confirm_password_reset_sms(
            second.challenge_id,
            &second_code,
            &"the owners new passphrase".into(),
            &client(),
        )
        .await
        .unwrap();

    assert_eq!(
        reset_by_sms(&kit, &first, &first_code).await,
        AuthError::CodeExpired
    );
    assert_eq!(
        reset_by_email(&kit, &reset_link).await,
        AuthError::CodeExpired
    );
    let e = kit
        .auth
        .confirm_email_change(&change_link, &client())
        .await
        .unwrap_err();
    assert_eq!(e, AuthError::CodeExpired);
    let user = kit.store.user_by_id(p.user_id).await.unwrap().unwrap();
    assert_eq!(
        user.email.unwrap().as_str(),
        EMAIL,
        "the email did not change"
    );
}

#[tokio::test]
async fn a_phone_change_kills_codes_sent_to_the_old_number() {
    let kit = kit_without_cooldowns();
    let p = email_account_with_phone(&kit).await;
    let reset = kit
        .auth
        .request_password_reset_sms(&to_phone(PHONE), &client())
        .await
        .unwrap();
    let reset_code = kit.sms.last_code_for(PHONE).unwrap();
    let change = kit
        .auth
        .request_phone_change(&p, &to_phone(NEW_PHONE), Some(&PASSWORD.into()), &client())
        .await
        .unwrap();
    let change_code = kit.sms.last_code_for(NEW_PHONE).unwrap();
    kit.clock.advance(secs(1));
    kit.auth
        .confirm_phone_change(&p, change.challenge_id, &change_code, &client())
        .await
        .unwrap();
    assert_eq!(
        reset_by_sms(&kit, &reset, &reset_code).await,
        AuthError::CodeExpired
    );
}

#[tokio::test]
async fn a_first_password_needs_a_recent_login() {
    let kit = kit_without_cooldowns();
    register_phone(&kit, PHONE).await;
    let old = sms_login(&kit, PHONE).await;
    let other = sms_login(&kit, PHONE).await;
    // A token of a session logged in 16 minutes ago (say, stolen): refreshed, but not recent.
    kit.clock.advance(secs(16 * 60));
    let refreshed = kit
        .auth
        .refresh(old.refresh_token.expose(), &client())
        .await
        .unwrap();
    let stale = principal(&kit, refreshed.access_token.expose()).await;
    let e = change_password(&kit, &stale, None, PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(e, AuthError::Forbidden);
    let user = kit.store.user_by_id(stale.user_id).await.unwrap().unwrap();
    assert!(user.password_hash.is_none(), "no password was set");
    // The owner's other session was not logged out.
    let other_refreshed = kit
        .auth
        .refresh(other.refresh_token.expose(), &client())
        .await
        .unwrap();
    assert!(
        kit.auth
            .authenticate(other_refreshed.access_token.expose())
            .await
            .is_ok()
    );
    // A fresh login may set it.
    let fresh = sms_login(&kit, PHONE).await;
    let fresh = principal(&kit, fresh.access_token.expose()).await;
    change_password(&kit, &fresh, None, PASSWORD).await.unwrap();
    let user = kit.store.user_by_id(fresh.user_id).await.unwrap().unwrap();
    assert!(user.password_hash.is_some());
}

#[tokio::test]
async fn a_logged_out_session_cannot_set_a_first_password_even_stateless() {
    let kit = kit_with(|c| c.access.mode = auth_core::config::AccessMode::Stateless);
    register_phone(&kit, PHONE).await;
    let pair = sms_login(&kit, PHONE).await;
    let p = principal(&kit, pair.access_token.expose()).await;
    kit.auth.logout(&p, &client()).await.unwrap();
    // Stateless: the access token still verifies after the logout…
    let p = principal(&kit, pair.access_token.expose()).await;
    // …but its session is no proof of a recent login any more.
    let e = change_password(&kit, &p, None, PASSWORD).await.unwrap_err();
    assert_eq!(e, AuthError::TokenRevoked);
    let user = kit.store.user_by_id(p.user_id).await.unwrap().unwrap();
    assert!(user.password_hash.is_none());
}
