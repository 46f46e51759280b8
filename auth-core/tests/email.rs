//! Email accounts: activation, password reset by emailed token, change of address.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::api::{LoginOutcome, LoginRequest, RegisterRequest};
use auth_core::mail::MailKind;
use auth_core::store::UserStore as _;
use auth_core::{AuthError, Password, UserStatus};
use common::*;

const EMAIL: &str = "mia@example.com";

async fn login(
    kit: &auth_core::testkit::TestKit,
    email: &str,
    pw: &str,
) -> Result<auth_core::api::TokenPair, AuthError> {
    let req = LoginRequest {
        email: Some(email.into()),
        password: Some(Password::new(pw)),
        ..Default::default()
    };
    match kit
        .auth
        .login(req.parse(kit.auth.config())?, &client())
        .await?
    {
        LoginOutcome::LoggedIn(p) => Ok(p),
        other => panic!("{other:?}"),
    }
}

async fn register(kit: &auth_core::testkit::TestKit) -> auth_core::UserId {
    kit.auth
        .register(
            reg(
                &kit.auth,
                RegisterRequest {
                    email: Some(EMAIL.into()),
                    password: Some(PASSWORD.into()),
                    ..Default::default()
                },
            ),
            &client(),
        )
        .await
        .unwrap()
        .user_id
}

#[tokio::test]
async fn activation_is_required_by_default_and_the_token_works_once() {
    let kit = kit();
    let user = register(&kit).await;
    let mail = kit.mail.sent().pop().unwrap();
    assert_eq!(mail.kind, MailKind::Activation);
    assert!(
        !format!("{mail:?}").contains(mail.token.as_ref().unwrap().expose()),
        "Debug hides the token"
    );
    let token = kit.mail.last_token_for(EMAIL).unwrap();
    assert!(mail.body.contains(&token));
    // The store keeps only a hash.
    assert_eq!(
        kit.auth.find_user(user).await.unwrap().unwrap().status,
        UserStatus::PendingActivation
    );
    // Wrong password: invalid_credentials, not activation_required.
    assert_eq!(
        login(&kit, EMAIL, "wrong wrong wrong wrong")
            .await
            .unwrap_err(),
        AuthError::InvalidCredentials
    );
    assert_eq!(
        login(&kit, EMAIL, PASSWORD).await.unwrap_err(),
        AuthError::ActivationRequired
    );
    kit.auth.activate(&token, &client()).await.unwrap();
    assert_eq!(
        kit.auth.activate(&token, &client()).await.unwrap_err(),
        AuthError::ChallengeConsumed
    );
    assert!(login(&kit, EMAIL, PASSWORD).await.is_ok());
    for bad in ["", "garbage", &"A".repeat(43)] {
        assert_eq!(
            kit.auth.activate(bad, &client()).await.unwrap_err(),
            AuthError::InvalidToken
        );
    }
}

#[tokio::test]
async fn activation_links_expire_and_can_be_resent() {
    let kit = kit();
    register(&kit).await;
    let token = kit.mail.last_token_for(EMAIL).unwrap();
    kit.clock.advance(secs(48 * 3600));
    assert_eq!(
        kit.auth.activate(&token, &client()).await.unwrap_err(),
        AuthError::CodeExpired
    );
    kit.auth.resend_activation(&to_email(EMAIL)).await.unwrap();
    let fresh = kit.mail.last_token_for(EMAIL).unwrap();
    assert_ne!(fresh, token);
    // Resending is rate limited per address, and the same for unknown addresses.
    assert!(matches!(
        kit.auth
            .resend_activation(&to_email(EMAIL))
            .await
            .unwrap_err(),
        AuthError::RateLimited { .. }
    ));
    kit.auth
        .resend_activation(&to_email("nobody@example.com"))
        .await
        .unwrap();
    kit.auth.activate(&fresh, &client()).await.unwrap();
}

#[tokio::test]
async fn activation_can_be_turned_off() {
    let kit = kit_with(|c| c.accounts.require_email_activation = false);
    let res = kit
        .auth
        .register(
            reg(
                &kit.auth,
                RegisterRequest {
                    email: Some(EMAIL.into()),
                    password: Some(PASSWORD.into()),
                    ..Default::default()
                },
            ),
            &client(),
        )
        .await
        .unwrap();
    assert!(!res.activation_required);
    assert_eq!(kit.mail.count(), 0);
    assert!(login(&kit, EMAIL, PASSWORD).await.is_ok());
}

#[tokio::test]
async fn reset_by_email_sets_the_password_and_revokes_sessions() {
    let kit = kit();
    register_email(&kit, EMAIL).await;
    let session = login(&kit, EMAIL, PASSWORD).await.unwrap();
    kit.clock.advance(secs(61));
    kit.auth
        .request_password_reset_email(&to_email(EMAIL), &client())
        .await
        .unwrap();
    let mail = kit.mail.sent().pop().unwrap();
    assert_eq!(mail.kind, MailKind::PasswordReset);
    let token = kit.mail.last_token_for(EMAIL).unwrap();
    // Weak password: refused, token still usable.
    let e = kit
        .auth
        .confirm_password_reset_email(&token, &"short".into(), &client())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "weak_password");
    kit.auth
        .confirm_password_reset_email(&token, &"a brand new passphrase".into(), &client())
        .await
        .unwrap();
    assert_eq!(
        kit.auth
            .authenticate(session.access_token.expose())
            .await
            .unwrap_err(),
        AuthError::TokenRevoked
    );
    assert!(login(&kit, EMAIL, "a brand new passphrase").await.is_ok());
    assert_eq!(
        kit.auth
            .confirm_password_reset_email(&token, &"yet another passphrase".into(), &client())
            .await
            .unwrap_err(),
        AuthError::ChallengeConsumed
    );
    // An activation token is no reset token.
    let e = kit
        .auth
        .confirm_password_reset_email("garbage", &PASSWORD.into(), &client())
        .await
        .unwrap_err();
    assert_eq!(e, AuthError::InvalidToken);
}

#[tokio::test]
async fn reset_request_for_an_unknown_address_looks_the_same() {
    let kit = kit();
    kit.auth
        .request_password_reset_email(&to_email("ghost@example.com"), &client())
        .await
        .unwrap();
    assert_eq!(kit.mail.count(), 0);
    // Limits are keyed by address, known or not.
    assert!(matches!(
        kit.auth
            .request_password_reset_email(&to_email("ghost@example.com"), &client())
            .await
            .unwrap_err(),
        AuthError::RateLimited { .. }
    ));
}

#[tokio::test]
async fn reset_tokens_expire() {
    let kit = kit();
    register_email(&kit, EMAIL).await;
    kit.clock.advance(secs(61));
    kit.auth
        .request_password_reset_email(&to_email(EMAIL), &client())
        .await
        .unwrap();
    let token = kit.mail.last_token_for(EMAIL).unwrap();
    kit.clock.advance(secs(1800));
    let e = kit
        .auth
        .confirm_password_reset_email(&token, &"a brand new passphrase".into(), &client())
        .await
        .unwrap_err();
    assert_eq!(e, AuthError::CodeExpired);
}

#[tokio::test]
async fn email_change_confirms_the_new_address_and_notifies_the_old() {
    let kit = kit();
    let user = register_email(&kit, EMAIL).await;
    let pair = login(&kit, EMAIL, PASSWORD).await.unwrap();
    let p = kit
        .auth
        .authenticate(pair.access_token.expose())
        .await
        .unwrap();
    let new = "mia.new@example.com";
    assert_eq!(
        kit.auth
            .request_email_change(
                &p,
                &to_email(new),
                Some(&"wrong wrong wrong wrong".into()),
                &client()
            )
            .await
            .unwrap_err(),
        AuthError::InvalidCredentials
    );
    kit.auth
        .request_email_change(&p, &to_email(new), Some(&PASSWORD.into()), &client())
        .await
        .unwrap();
    let sent = kit.mail.sent();
    assert!(
        sent.iter()
            .any(|m| m.kind == MailKind::Notice && m.to.as_str() == EMAIL)
    );
    assert!(
        sent.iter()
            .any(|m| m.kind == MailKind::EmailChange && m.to.as_str() == new)
    );
    // Nothing changes until the new address confirms.
    assert_eq!(
        kit.auth
            .find_user(user)
            .await
            .unwrap()
            .unwrap()
            .email
            .unwrap()
            .as_str(),
        EMAIL
    );
    let token = kit.mail.last_token_for(new).unwrap();
    kit.auth
        .confirm_email_change(&token, &client())
        .await
        .unwrap();
    assert_eq!(
        kit.auth
            .find_user(user)
            .await
            .unwrap()
            .unwrap()
            .email
            .unwrap()
            .as_str(),
        new
    );
    assert!(login(&kit, new, PASSWORD).await.is_ok());
    assert_eq!(
        login(&kit, EMAIL, PASSWORD).await.unwrap_err(),
        AuthError::InvalidCredentials
    );
    assert_eq!(
        kit.auth
            .confirm_email_change(&token, &client())
            .await
            .unwrap_err(),
        AuthError::ChallengeConsumed
    );
}

#[tokio::test]
async fn email_change_to_a_taken_address_is_409() {
    let kit = kit();
    register_email(&kit, EMAIL).await;
    register_email(&kit, "other@example.com").await;
    let pair = login(&kit, EMAIL, PASSWORD).await.unwrap();
    let p = kit
        .auth
        .authenticate(pair.access_token.expose())
        .await
        .unwrap();
    assert_eq!(
        kit.auth
            .request_email_change(
                &p,
                &to_email("other@example.com"),
                Some(&PASSWORD.into()),
                &client()
            )
            .await
            .unwrap_err(),
        AuthError::AlreadyRegistered
    );
}

#[tokio::test]
async fn without_a_mail_sender_email_flows_say_so() {
    let store = auth_core::testkit::MemoryStore::new();
    let auth = auth_core::Auth::builder(auth_core::testkit::TestKit::config())
        .store(store.clone())
        .sms(auth_core::testkit::FakeSms::new())
        .build()
        .unwrap();
    let e = auth
        .register(
            RegisterRequest {
                email: Some(EMAIL.into()),
                password: Some(PASSWORD.into()),
                ..Default::default()
            }
            .parse(auth.config())
            .unwrap(),
            &client(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid_request");
    assert!(
        auth.request_password_reset_email(&to_email(EMAIL), &client())
            .await
            .is_err()
    );
    // SMS accounts work without one.
    assert!(
        auth.register(
            RegisterRequest {
                phone: Some(PHONE.into()),
                ..Default::default()
            }
            .parse(auth.config())
            .unwrap(),
            &client()
        )
        .await
        .is_ok()
    );
    assert!(
        store
            .user_by_email(&auth_core::Email::parse(EMAIL).unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_failing_mail_provider_is_503_mail_unavailable() {
    let kit = kit();
    register_email(&kit, EMAIL).await;
    kit.clock.advance(secs(61));
    kit.mail.set_failing(true);
    let e = kit
        .auth
        .request_password_reset_email(&to_email(EMAIL), &client())
        .await
        .unwrap_err();
    assert_eq!((e.code(), e.status()), ("mail_unavailable", 503));
}
