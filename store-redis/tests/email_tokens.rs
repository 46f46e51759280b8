//! Emailed one-time tokens (activation, password reset, email change): round trip, unique
//! hash, single use under concurrency, TTL-independent expiry through
//! `purge_expired_email_tokens`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::Email;
use auth_core::email_token::{EmailToken, EmailTokenPurpose};
use auth_core::ids::UserId;
use auth_core::secret::SecretHash;
use auth_core::store::{OneTimeTokenStore, StoreError, UniqueField};
use chrono::{Duration, SubsecRound as _, Utc};

fn token(purpose: EmailTokenPurpose, minutes: i64) -> EmailToken {
    let now = Utc::now().trunc_subsecs(3);
    let mut hash = [0_u8; 32];
    hash[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    EmailToken {
        hash: SecretHash::from_bytes(hash),
        purpose,
        user_id: UserId::new_random(),
        email: Email::parse("Someone@Example.com").unwrap(),
        created_at: now,
        expires_at: now + Duration::minutes(minutes),
        consumed_at: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn email_tokens_are_single_use_and_expire() {
    common::with_fresh_prefix("email-tokens", |prefix| async move {
        let store = common::store_at(&prefix).await;
        for purpose in [
            EmailTokenPurpose::Activation,
            EmailTokenPurpose::PasswordReset,
            EmailTokenPurpose::EmailChange,
        ] {
            let t = token(purpose, 30);
            store.insert_email_token(&t).await.unwrap();
            assert_eq!(store.email_token(&t.hash).await.unwrap(), Some(t.clone()));
            assert_eq!(
                store.insert_email_token(&t).await,
                Err(StoreError::Conflict(UniqueField::Id))
            );
        }
        let unknown = SecretHash::from_bytes([9; 32]);
        assert_eq!(store.email_token(&unknown).await.unwrap(), None);
        assert!(
            !store
                .consume_email_token(&unknown, Utc::now())
                .await
                .unwrap()
        );

        // Of 32 concurrent uses from two instances, exactly one wins; its time is stored.
        let other = common::store_at(&prefix).await;
        let t = token(EmailTokenPurpose::PasswordReset, 30);
        store.insert_email_token(&t).await.unwrap();
        let mut handles = Vec::new();
        for i in 0..32 {
            let s = if i % 2 == 0 {
                store.clone()
            } else {
                other.clone()
            };
            let at = t.created_at + Duration::milliseconds(i);
            handles.push(tokio::spawn(async move {
                (at, s.consume_email_token(&t.hash, at).await.unwrap())
            }));
        }
        let mut winners = Vec::new();
        for h in handles {
            let (at, won) = h.await.unwrap();
            if won {
                winners.push(at);
            }
        }
        assert_eq!(winners.len(), 1);
        let stored = store.email_token(&t.hash).await.unwrap().unwrap();
        assert_eq!(stored.consumed_at, Some(winners[0]));

        // purge_expired_email_tokens honours the given `now`, not Redis' clock.
        let short = token(EmailTokenPurpose::Activation, 1);
        let long = token(EmailTokenPurpose::Activation, 60);
        store.insert_email_token(&short).await.unwrap();
        store.insert_email_token(&long).await.unwrap();
        let purged = store
            .purge_expired_email_tokens(short.created_at + Duration::minutes(2))
            .await
            .unwrap();
        assert!(purged >= 1, "{purged}");
        assert_eq!(store.email_token(&short.hash).await.unwrap(), None);
        assert_eq!(store.email_token(&long.hash).await.unwrap(), Some(long));
    })
    .await;
}
