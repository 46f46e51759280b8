//! What the store reports when rows are not what it wrote (edited by hand, damaged) and
//! when a unique field collides, and that it never shows the password of its URL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use auth_core::ids::{SessionId, UserId};
use auth_core::store::{SessionStore as _, UserStore as _};
use auth_core::{StoreError, User};
use chrono::{SubsecRound as _, Utc};
use store_postgres::{PgStore, PgStoreConfig};

/// Each corruption makes the lookup fail with `Unavailable` naming table and column; none
/// panics, none reads as a different record or as no record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_rows_are_unavailable_not_panics() {
    common::with_fresh_schema(|schema| async move {
        let store = common::store_in(&schema).await;
        let raw = common::raw().await;
        let cases = [
            ("status = 'bogus'", "`status`"),
            ("roles = 'not json'", "`roles`"),
            ("profile = '{'", "`profile`"),
            ("phone = 'not a phone'", "`phone`"),
            ("login_count = -1", "`login_count`"),
            ("current_login_ip = '10.0.0.0/8'", "`current_login_ip`"),
        ];
        for (set, column) in cases {
            let user = User::new(UserId::new_random(), Utc::now().trunc_subsecs(3));
            store.create_user(&user).await.unwrap();
            let _ = raw
                .execute(
                    &format!("UPDATE \"{schema}\".users SET {set} WHERE id = $1"),
                    &[&user.id.as_uuid()],
                )
                .await
                .unwrap();
            match store.user_by_id(user.id).await {
                Err(StoreError::Unavailable(message)) => {
                    assert!(message.contains("`users`"), "{set}: {message}");
                    assert!(message.contains(column), "{set}: {message}");
                }
                other => panic!("{set}: expected Unavailable, got {other:?}"),
            }
        }
    })
    .await;
}

/// A session whose owner row was deleted reads with no owner; a session row with a broken
/// hash is `Unavailable` through the per-request check too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_check_reports_missing_owners_and_corrupt_rows() {
    common::with_fresh_schema(|schema| async move {
        let store = common::store_in(&schema).await;
        let raw = common::raw().await;
        let now = Utc::now().trunc_subsecs(3);
        let user = User::new(UserId::new_random(), now);
        store.create_user(&user).await.unwrap();
        let session = auth_core::session::Session {
            id: SessionId::new_random(),
            user_id: user.id,
            created_at: now,
            last_used_at: now,
            expires_at: now + chrono::Duration::hours(1),
            ip: None,
            user_agent: None,
            refresh: auth_core::session::RefreshState {
                generation: 0,
                hash: auth_core::secret::SecretHash::from_bytes([1; 32]),
                issued_at: now,
            },
            status: auth_core::session::SessionStatus::Active,
        };
        store.insert_session(&session).await.unwrap();
        let _ = raw
            .execute(
                &format!("DELETE FROM \"{schema}\".users WHERE id = $1"),
                &[&user.id.as_uuid()],
            )
            .await
            .unwrap();
        assert_eq!(
            store.session_with_owner(session.id, None).await.unwrap(),
            Some((session.clone(), None))
        );
        let _ = raw
            .execute(
                &format!("UPDATE \"{schema}\".sessions SET refresh_hash = '\\x01' WHERE id = $1"),
                &[&session.id.as_uuid()],
            )
            .await
            .unwrap();
        assert!(matches!(
            store.session_with_owner(session.id, None).await,
            Err(StoreError::Unavailable(m)) if m.contains("`refresh_hash`")
        ));
    })
    .await;
}

/// A table dropped under a running store: its calls fail with `Unavailable`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_table_is_unavailable() {
    common::with_fresh_schema(|schema| async move {
        let store = common::store_in(&schema).await;
        common::raw()
            .await
            .batch_execute(&format!("DROP TABLE \"{schema}\".users CASCADE"))
            .await
            .unwrap();
        let result = store.user_by_id(UserId::new_random()).await;
        assert!(
            matches!(&result, Err(StoreError::Unavailable(m)) if m.contains("users")),
            "{result:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn debug_output_never_shows_the_password() {
    let config = PgStoreConfig::new("postgres://app:hunter2@127.0.0.1:1/db").schema("auth");
    let store = PgStore::connect_lazy(config.clone()).unwrap();
    for shown in [format!("{config:?}"), format!("{store:?}")] {
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
    // Nor does the error of a failed connection.
    let err = store.user_by_id(UserId::new_random()).await.unwrap_err();
    assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
}
