//! Corrupt or foreign data under the prefix is reported as `StoreError::Unavailable` with a
//! message naming the key, never a panic and never a made-up record.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;

use auth_core::account::User;
use auth_core::ids::{ChallengeId, SessionId, UserId};
use auth_core::phone::Phone;
use auth_core::secret::SecretHash;
use auth_core::session::{RefreshState, Session, SessionStatus};
use auth_core::store::{ChallengeStore, CounterStore, SessionStore, StoreError, UserStore};
use chrono::{DateTime, Utc};
use redis::AsyncCommands as _;

fn unavailable<T: std::fmt::Debug>(result: Result<T, StoreError>, mentions: &[&str]) {
    match result {
        Err(StoreError::Unavailable(message)) => {
            for m in mentions {
                assert!(message.contains(m), "{message:?} does not mention {m:?}");
            }
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_records_are_unavailable_with_a_clear_message() {
    common::with_fresh_prefix("corrupt", |prefix| async move {
        let store = common::store_at(&prefix).await;
        let mut raw = common::raw_connection().await;

        // A session missing most of its fields.
        let session = SessionId::new_random();
        let key = format!("{prefix}session:{session}");
        let _: () = raw.set(&key, r#"{"status":"active"}"#).await.unwrap();
        unavailable(store.session(session).await, &[&key, "user_id", "missing"]);

        // A session with a malformed timestamp, listed through its user's set.
        let user = UserId::new_random();
        let json = format!(r#"{{"status":"active","user_id":"{user}","created_at":"yesterday"}}"#);
        let _: () = raw.set(&key, json).await.unwrap();
        let _: () = raw
            .sadd(format!("{prefix}user-sessions:{user}"), session.to_string())
            .await
            .unwrap();
        unavailable(
            store.session(session).await,
            &[&key, "created_at", "malformed"],
        );
        unavailable(store.sessions_of_user(user).await, &[&key, "created_at"]);

        // A session that is not JSON: the scripts refuse it and change nothing.
        let _: () = raw.set(&key, "not json").await.unwrap();
        unavailable(store.session(session).await, &[&key, "JSON"]);
        let next = RefreshState {
            generation: 1,
            hash: SecretHash::from_bytes([0; 32]),
            issued_at: Utc::now(),
        };
        unavailable(
            store.rotate_refresh(session, 0, &next, Utc::now()).await,
            &[],
        );
        let still: String = raw.get(&key).await.unwrap();
        assert_eq!(still, "not json");
        unavailable(store.session_with_owner(session, None).await, &[]);
        unavailable(
            store
                .session_with_owner(session, Some(UserId::new_random()))
                .await,
            &[&key, "JSON"],
        );

        // A user key of the wrong type.
        let id = UserId::new_random();
        let _: () = raw
            .set(format!("{prefix}user:{id}"), "garbage")
            .await
            .unwrap();
        unavailable(store.user_by_id(id).await, &["WRONGTYPE"]);

        // A phone index pointing at a user hash with a bad status.
        let phone = Phone::parse("+15550001234", false).unwrap();
        let owner = UserId::new_random();
        let user_key = format!("{prefix}user:{owner}");
        let _: () = raw
            .hset_multiple(
                &user_key,
                &[
                    ("id", owner.to_string().as_str()),
                    ("phone", phone.as_str()),
                    ("status", "sleeping"),
                ],
            )
            .await
            .unwrap();
        let _: () = raw
            .set(
                format!("{prefix}phone:{}", phone.as_str()),
                owner.to_string(),
            )
            .await
            .unwrap();
        unavailable(store.user_by_phone(&phone).await, &[&user_key]);

        // A counter whose window end is not a timestamp: no hit is counted on top of it.
        let _: () = raw
            .hset_multiple(
                format!("{prefix}counter:k"),
                &[("count", "3"), ("resets_at", "soon")],
            )
            .await
            .unwrap();
        unavailable(
            store.hit_counter("k", Utc::now(), Utc::now()).await,
            &["corrupt record", "counter:k", "resets_at"],
        );
        let count: String = raw
            .hget(format!("{prefix}counter:k"), "count")
            .await
            .unwrap();
        assert_eq!(count, "3");

        // A challenge whose attempt count is not a number.
        let challenge = ChallengeId::new_random();
        let _: () = raw
            .hset(format!("{prefix}challenge:{challenge}"), "attempts", "many")
            .await
            .unwrap();
        unavailable(
            store.claim_challenge_attempt(challenge, 5).await,
            &["corrupt record", "attempts"],
        );
    })
    .await;
}

/// A timestamp as the store writes it (`<unix seconds>.<nanoseconds>`).
fn ts(t: DateTime<Utc>) -> String {
    format!("{}.{:09}", t.timestamp(), t.timestamp_subsec_nanos())
}

/// A failure count hash with one field malformed or missing: reading it is `Unavailable`
/// naming the key and the field, and so is counting a failure on top of it when the script
/// needs that field (`count`, `expires_at`; `last_at` is only written), which then leaves
/// the hash as it was. A key of another type is not a failure count either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_failure_count_is_unavailable() {
    common::with_fresh_prefix("corrupt-failures", |prefix| async move {
        let store = common::store_at(&prefix).await;
        let mut raw = common::raw_connection().await;
        let now = Utc::now();
        let later = now + chrono::Duration::hours(1);
        let key = format!("{prefix}failures:f");
        let good = [
            ("count", "2".to_owned()),
            ("last_at", ts(now)),
            ("expires_at", ts(later)),
        ];
        for (field, bad, read_by_add_failure) in [
            ("count", Some("lots"), true),
            ("count", Some("-1"), true),
            ("count", Some("4294967296"), true),
            ("count", None, true),
            ("expires_at", Some("soon"), true),
            ("expires_at", None, true),
            ("last_at", Some("yesterday"), false),
            ("last_at", None, false),
        ] {
            let _: () = raw.del(&key).await.unwrap();
            let _: () = raw.hset_multiple(&key, &good).await.unwrap();
            match bad {
                Some(bad) => {
                    let _: () = raw.hset(&key, field, bad).await.unwrap();
                }
                None => {
                    let _: () = raw.hdel(&key, field).await.unwrap();
                }
            }
            let before: HashMap<String, String> = raw.hgetall(&key).await.unwrap();
            unavailable(store.failures("f", now).await, &[&key, field]);
            if read_by_add_failure {
                unavailable(
                    store.add_failure("f", now, later).await,
                    &["corrupt record", &key, field],
                );
                let after: HashMap<String, String> = raw.hgetall(&key).await.unwrap();
                assert_eq!(after, before, "{field} = {bad:?}: nothing was counted");
            }
        }

        let _: () = raw.del(&key).await.unwrap();
        let _: () = raw.sadd(&key, "x").await.unwrap();
        unavailable(
            store.failures("f", now).await,
            &[&key, "not a failure count"],
        );
        unavailable(
            store.add_failure("f", now, later).await,
            &[&key, "not a failure count"],
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_owner_of_a_session_is_unavailable() {
    common::with_fresh_prefix("corrupt-owner", |prefix| async move {
        let store = common::store_at(&prefix).await;
        let mut raw = common::raw_connection().await;
        let now = Utc::now();
        let user = User::new(UserId::new_random(), now);
        store.create_user(&user).await.unwrap();
        let session = Session {
            id: SessionId::new_random(),
            user_id: user.id,
            created_at: now,
            last_used_at: now,
            expires_at: now + chrono::Duration::hours(1),
            ip: None,
            user_agent: None,
            refresh: RefreshState {
                generation: 0,
                hash: SecretHash::from_bytes([7; 32]),
                issued_at: now,
            },
            status: SessionStatus::Active,
        };
        store.insert_session(&session).await.unwrap();
        // Both ways to the owner: the script (no claimed user) and the pipeline that reads the
        // claimed user beside the session.
        for claimed in [None, Some(user.id)] {
            let (_, owner) = store
                .session_with_owner(session.id, claimed)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(owner.unwrap().user_id, user.id);
        }

        // One malformed owner field at a time, put right again before the next.
        let user_key = format!("{prefix}user:{}", user.id);
        for (field, bad, good) in [("roles", "admin", "[]"), ("status", "superuser", "active")] {
            let _: () = raw.hset(&user_key, field, bad).await.unwrap();
            for claimed in [None, Some(user.id)] {
                unavailable(
                    store.session_with_owner(session.id, claimed).await,
                    &[&user_key, field, "malformed"],
                );
            }
            let _: () = raw.hset(&user_key, field, good).await.unwrap();
        }

        // The user hash gone: the session is found, its owner is not.
        let _: () = raw.del(&user_key).await.unwrap();
        for claimed in [None, Some(user.id)] {
            let (found, owner) = store
                .session_with_owner(session.id, claimed)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(found, session);
            assert_eq!(owner, None);
        }
    })
    .await;
}
