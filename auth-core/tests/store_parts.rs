//! The store split by record, as the builder and the service see it: the emailed-token store
//! is needed only with a mail sender, a store of the four `Store` traits alone serves an
//! SMS-only app, and `Auth::purge_expired` purges every store the service holds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::api::RegisterRequest;
use auth_core::testkit::{FakeMail, FakeSms, ManualClock, MemoryStore, TestKit};
use auth_core::{Auth, AuthError, Clock as _, ConfigError, Password, Store as _};
use common::*;

#[test]
fn a_mail_sender_without_a_token_store_is_a_configuration_error() {
    let err = Auth::builder(TestKit::config())
        .store(MemoryStore::new())
        .sms(FakeSms::new())
        .mail(FakeMail::new())
        .build()
        .unwrap_err();
    match err {
        ConfigError::Invalid(message) => assert!(
            message.contains("AuthBuilder::one_time_tokens"),
            "the message names the method to call: {message}"
        ),
        other => panic!("expected ConfigError::Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn without_mail_no_token_store_is_needed_and_emailed_tokens_are_unknown() {
    let store = MemoryStore::new();
    let auth = Auth::builder(TestKit::config())
        .store(store.clone())
        .sms(FakeSms::new())
        .clock(ManualClock::new())
        .build()
        .unwrap();
    auth.register(
        RegisterRequest {
            phone: Some(PHONE.into()),
            ..Default::default()
        }
        .parse(auth.config())
        .unwrap(),
        &client(),
    )
    .await
    .unwrap();
    assert_eq!(
        auth.activate("not-a-token-anyone-was-sent", &client())
            .await
            .unwrap_err(),
        AuthError::InvalidToken
    );
    assert_eq!(
        auth.resend_activation(&to_email("alice@example.com"))
            .await
            .unwrap_err()
            .code(),
        "invalid_request"
    );
}

#[tokio::test]
async fn auth_purge_expired_purges_the_emailed_tokens_too() {
    let kit = kit();
    kit.auth
        .register(
            reg(
                &kit.auth,
                RegisterRequest {
                    email: Some("alice@example.com".into()),
                    password: Some(Password::new(PASSWORD)),
                    ..Default::default()
                },
            ),
            &client(),
        )
        .await
        .unwrap();
    let token = kit.mail.last_token_for("alice@example.com").unwrap();
    kit.clock.advance(secs(48 * 3600));
    // `Store::purge_expired` purges the records of a `Store` only: the token stays (expired).
    kit.store.purge_expired(kit.clock.now()).await.unwrap();
    assert_eq!(
        kit.auth.activate(&token, &client()).await.unwrap_err(),
        AuthError::CodeExpired
    );
    assert!(kit.auth.purge_expired().await.unwrap() >= 1);
    assert_eq!(
        kit.auth.activate(&token, &client()).await.unwrap_err(),
        AuthError::InvalidToken,
        "a purged token is unknown"
    );
}
