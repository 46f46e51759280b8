//! The pipeline reads the clock once per action: every step of a flow (limits, challenge,
//! session, tokens) sees the same instant.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use auth_core::api::{ChangePasswordRequest, RegisterRequest};
use auth_core::testkit::{FakeMail, FakeSms, ManualClock, MemoryStore, TestKit};
use auth_core::{Auth, Clock, LoginIdentifier, Password};
use chrono::{DateTime, Utc};
use common::{PASSWORD, PHONE, client, to_email, to_phone};

/// A manual clock that counts how often it is read.
#[derive(Clone)]
struct CountingClock {
    clock: ManualClock,
    reads: Arc<AtomicUsize>,
}

impl Clock for CountingClock {
    fn now(&self) -> DateTime<Utc> {
        let _ = self.reads.fetch_add(1, Ordering::SeqCst);
        self.clock.now()
    }
}

#[tokio::test]
async fn every_action_reads_the_clock_once() {
    let clock = CountingClock {
        clock: ManualClock::new(),
        reads: Arc::new(AtomicUsize::new(0)),
    };
    let sms = FakeSms::new();
    let mut config = TestKit::config();
    config.accounts.require_email_activation = false;
    let store = MemoryStore::new();
    let auth = Auth::builder(config)
        .store(store.clone())
        .one_time_tokens(store)
        .sms(sms.clone())
        .mail(FakeMail::new())
        .clock(clock.clone())
        .build()
        .unwrap();
    let reads = || clock.reads.load(Ordering::SeqCst);
    let c = client();

    let before = reads();
    auth.register(
        RegisterRequest {
            phone: Some(PHONE.into()),
            ..Default::default()
        }
        .parse(auth.config())
        .unwrap(),
        &c,
    )
    .await
    .unwrap();
    assert_eq!(reads() - before, 1, "register");

    let before = reads();
    let sent = auth.start_sms_login(&to_phone(PHONE), &c).await.unwrap();
    assert_eq!(reads() - before, 1, "start_sms_login");

    let code = sms.last_code_for(PHONE).unwrap();
    let before = reads();
    let pair = auth.verify_sms(sent.challenge_id, &code, &c).await.unwrap();
    assert_eq!(reads() - before, 1, "verify_sms");

    let before = reads();
    let pair = auth.refresh(pair.refresh_token.expose(), &c).await.unwrap();
    assert_eq!(reads() - before, 1, "refresh");

    let principal = auth.authenticate(pair.access_token.expose()).await.unwrap();
    let before = reads();
    auth.change_password(
        &principal,
        ChangePasswordRequest {
            old_password: None,
            new_password: Password::new(PASSWORD),
        },
        &c,
    )
    .await
    .unwrap();
    assert_eq!(reads() - before, 1, "change_password");

    auth.register(
        RegisterRequest {
            email: Some("ada@example.com".into()),
            password: Some(PASSWORD.into()),
            ..Default::default()
        }
        .parse(auth.config())
        .unwrap(),
        &c,
    )
    .await
    .unwrap();
    let before = reads();
    auth.login_with_password(
        &LoginIdentifier::Email(to_email("ada@example.com")),
        &Password::new(PASSWORD),
        &c,
    )
    .await
    .unwrap();
    assert_eq!(reads() - before, 1, "login_with_password");
}
