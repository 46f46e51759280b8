//! Data survives reopening; the schema is versioned and migrated exactly once; the store
//! cleans up expired records by itself.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use auth_core::Store;
use auth_core::ids::UserId;
use auth_core::session::RevokeReason;
use auth_core::store::{ChallengeStore, CounterStore, SessionStore, UserStore};
use chrono::{Duration, SubsecRound as _, Utc};
use rusqlite::Connection;
use store_sqlite::{SqliteOptions, SqliteStore, StoreError};

use common::{challenge, next_refresh, now, session, user_with_phone};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.db");
    let t = now();
    let user = user_with_phone("+15550000001");
    let s = session(user.id, t);
    let c = challenge("+15550000001", t);
    {
        let store = SqliteStore::open(&path).unwrap();
        store.create_user(&user).await.unwrap();
        store.insert_session(&s).await.unwrap();
        store.insert_challenge(&c).await.unwrap();
        assert!(
            store
                .rotate_refresh(s.id, 0, &next_refresh(1, t), t)
                .await
                .unwrap()
        );
        assert_eq!(
            store
                .add_failure("k", t, t + Duration::hours(1))
                .await
                .unwrap()
                .count,
            1
        );
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.user_by_id(user.id).await.unwrap(), Some(user.clone()));
    assert_eq!(
        store
            .user_by_phone(user.phone.as_ref().unwrap())
            .await
            .unwrap()
            .map(|u| u.id),
        Some(user.id)
    );
    let stored = store.session(s.id).await.unwrap().unwrap();
    assert_eq!(stored.refresh.generation, 1);
    assert_eq!(store.challenge(c.id).await.unwrap(), Some(c));
    assert_eq!(
        store.failures("k", t).await.unwrap().map(|f| f.count),
        Some(1)
    );
    // The rotated generation is what a second rotation must expect.
    assert!(
        !store
            .rotate_refresh(s.id, 0, &next_refresh(1, t), t)
            .await
            .unwrap()
    );
    assert!(
        store
            .rotate_refresh(s.id, 1, &next_refresh(2, t), t)
            .await
            .unwrap()
    );
}

fn migrations(path: &std::path::Path) -> Vec<(i64, i64)> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT version, applied_at FROM schema_migrations ORDER BY version")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_version_is_recorded_and_migrations_run_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.db");
    let store = SqliteStore::open(&path).unwrap();
    let version = store.schema_version().await.unwrap();
    assert!(version >= 1);
    drop(store);

    let user_version: i64 = Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(user_version, version);
    let applied = migrations(&path);
    assert_eq!(
        applied.iter().map(|(v, _)| *v).collect::<Vec<_>>(),
        (1..=version).collect::<Vec<_>>(),
        "one log row per migration"
    );

    // Reopening (twice, and concurrently) runs nothing again: same log, same version.
    let a = SqliteStore::open(&path).unwrap();
    let b = SqliteStore::open(&path).unwrap();
    assert_eq!(a.schema_version().await.unwrap(), version);
    assert_eq!(b.schema_version().await.unwrap(), version);
    assert_eq!(migrations(&path), applied);
}

#[tokio::test]
async fn two_stores_opening_a_fresh_file_at_once_migrate_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.db");
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || SqliteStore::open(path).map(|_| ()))
        })
        .collect();
    for open in opens {
        open.join().unwrap().unwrap();
    }
    let version = SqliteStore::open(&path)
        .unwrap()
        .schema_version()
        .await
        .unwrap();
    let applied: Vec<i64> = migrations(&path).iter().map(|(v, _)| *v).collect();
    assert_eq!(
        applied,
        (1..=version).collect::<Vec<_>>(),
        "each migration ran once"
    );
}

#[test]
fn a_database_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.db");
    drop(SqliteStore::open(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 999)
        .unwrap();
    match SqliteStore::open(&path) {
        Err(StoreError::Unavailable(message)) => {
            assert!(message.contains("999"), "{message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[test]
fn memory_path_opens_a_private_database() {
    let store = SqliteStore::open(":memory:").unwrap();
    assert!(store.path().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_and_opportunistic_cleanup_delete_only_expired_records() {
    let mut options = SqliteOptions::default();
    options.cleanup_every = 10;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with(dir.path().join("auth.db"), options).unwrap();
    let t = now();
    let user = UserId::new_random();

    let mut expired = Vec::new();
    for _ in 0..5 {
        let mut s = session(user, t);
        s.expires_at = t + Duration::minutes(1);
        store.insert_session(&s).await.unwrap();
        expired.push(s.id);
    }
    let live = session(user, t);
    store.insert_session(&live).await.unwrap();
    let c = challenge("+15550000002", t);
    store.insert_challenge(&c).await.unwrap();

    // Nothing is cleaned before a caller's clock says it has expired. Half the failure counts
    // expire at +1 min, half live for a day.
    let failure_expiry = |i: usize| {
        if i.is_multiple_of(2) {
            t + Duration::minutes(1)
        } else {
            t + Duration::days(1)
        }
    };
    for i in 0..20 {
        let _ = store
            .add_failure(&format!("k{i}"), t, failure_expiry(i))
            .await
            .unwrap();
    }
    assert!(store.session(expired[0]).await.unwrap().is_some());
    assert_eq!(
        failure_rows(&store),
        20,
        "no failure count is cleaned before it expires"
    );

    // The core's clock moves past the expiry (seen through a write that carries `now`).
    let later = t + Duration::minutes(30);
    let _ = store
        .revoke_session(live.id, later, RevokeReason::Logout)
        .await
        .unwrap();
    for i in 0..20 {
        let _ = store
            .add_failure(&format!("j{i}"), later, later + Duration::days(1))
            .await
            .unwrap();
    }
    for id in &expired {
        assert_eq!(
            store.session(*id).await.unwrap(),
            None,
            "cleaned up by itself"
        );
    }
    assert!(
        store.session(live.id).await.unwrap().is_some(),
        "not expired"
    );
    assert_eq!(
        store.challenge(c.id).await.unwrap(),
        None,
        "challenge expired at +10 min"
    );
    assert_eq!(
        failure_rows(&store),
        30,
        "the 10 expired failure counts were cleaned up by themselves"
    );
    assert_eq!(
        store.failures("k1", later).await.unwrap().map(|f| f.count),
        Some(1),
        "a failure count that has not expired stays"
    );

    // The explicit purge removes the rest once they expire.
    assert_eq!(
        store.purge_expired(t + Duration::days(31)).await.unwrap(),
        1 + 30,
        "the live session and the 30 failure counts"
    );
    assert_eq!(store.session(live.id).await.unwrap(), None);
}

/// Rows in the `failures` table of the store's file, expired or not.
fn failure_rows(store: &SqliteStore) -> i64 {
    Connection::open(store.path().unwrap())
        .unwrap()
        .query_row("SELECT count(*) FROM failures", [], |r| r.get(0))
        .unwrap()
}

/// A file left by a release with schema version 3 (`fixtures/schema_v3.sql`), whose failure
/// counts never expired: opening it migrates it, each count survives with an expiry 48 hours
/// after the upgrade (then it reads as absent and the purge deletes it through the new index),
/// and its users read back with no `credentials_changed_at` until one is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_3_file_keeps_its_failure_counts_which_then_expire() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.db");
    let user = user_with_phone("+15550000003");
    {
        let old = Connection::open(&path).unwrap();
        old.execute_batch(include_str!("fixtures/schema_v3.sql"))
            .unwrap();
        old.execute(
            "INSERT INTO failures (key, count) VALUES ('login:alice', 4), ('login:bob', 1)",
            [],
        )
        .unwrap();
        old.execute(
            "INSERT INTO users (id, phone, roles, profile, status, created_at, login_count) \
             VALUES (?1, ?2, '[]', '{}', 'active', ?3, 0)",
            (
                user.id.as_uuid().as_bytes().as_slice(),
                user.phone.as_ref().unwrap().as_str(),
                user.created_at.timestamp_nanos_opt().unwrap(),
            ),
        )
        .unwrap();
    }

    // The migration stamps the old counts with its own wall clock, to the second.
    let before = Utc::now().trunc_subsecs(0);
    let store = SqliteStore::open(&path).unwrap();
    let after = Utc::now();
    assert_eq!(store.schema_version().await.unwrap(), 4);
    assert_eq!(
        migrations(&path)
            .iter()
            .map(|(v, _)| *v)
            .collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );

    let alice = store
        .failures("login:alice", after)
        .await
        .unwrap()
        .expect("the count survived the migration");
    assert_eq!(alice.count, 4);
    assert!(
        before <= alice.last_at && alice.last_at <= after,
        "last_at {} is the migration time ({before}..{after})",
        alice.last_at
    );
    assert_eq!(alice.expires_at, alice.last_at + Duration::hours(48));
    // It goes on counting until then, and the next failure sets its own expiry.
    let next = store
        .add_failure("login:alice", after, after + Duration::minutes(15))
        .await
        .unwrap();
    assert_eq!(next.count, 5);
    assert_eq!(next.expires_at, after + Duration::minutes(15));

    let bob = store
        .failures("login:bob", after)
        .await
        .unwrap()
        .map(|f| f.count);
    assert_eq!(bob, Some(1));
    assert_eq!(
        store.failures("login:bob", alice.expires_at).await.unwrap(),
        None,
        "an old count reads as absent from its expiry on"
    );
    assert_eq!(
        store
            .purge_expired(alice.expires_at - Duration::seconds(1))
            .await
            .unwrap(),
        1,
        "alice's count (expired at +15 min), not bob's"
    );
    assert_eq!(failure_rows(&store), 1);
    assert_eq!(store.purge_expired(alice.expires_at).await.unwrap(), 1);
    assert_eq!(
        failure_rows(&store),
        0,
        "bob's old count is purged at its expiry"
    );

    let conn = Connection::open(&path).unwrap();
    let plan: String = conn
        .query_row(
            "EXPLAIN QUERY PLAN DELETE FROM failures WHERE expires_at <= 0",
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("failures_expires_at"), "{plan}");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");

    let mut stored = store.user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(stored.phone, user.phone);
    assert_eq!(stored.credentials_changed_at, None);
    stored.credentials_changed_at = Some(now());
    assert!(store.update_user(&stored).await.unwrap());
    assert_eq!(store.user_by_id(user.id).await.unwrap(), Some(stored));
}

#[cfg(unix)]
#[tokio::test]
async fn a_new_database_file_is_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.db");
    let _store = SqliteStore::open(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}
