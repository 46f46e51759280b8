//! A broken store is `StoreError::Unavailable` — never a panic, never `Ok` for a write — and
//! the core turns it into `store_unavailable`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use auth_core::api::{ClientInfo, RegisterRequest};
use auth_core::ids::UserId;
use auth_core::store::{ChallengeStore, CounterStore, Failures, SessionStore, UserStore};
use auth_core::testkit::{FakeSms, ManualClock, TestKit};
use auth_core::{Auth, AuthError, Store, StoreError};
use rusqlite::Connection;
use store_sqlite::{SqliteOptions, SqliteStore};

use common::{challenge, next_refresh, now, session, user_with_phone};

/// Reads check that the database file is still there at most once a second (writes always).
const READ_CHECK_WINDOW: Duration = Duration::from_millis(1100);

fn unavailable<T: std::fmt::Debug>(what: &str, result: Result<T, StoreError>) -> String {
    match result {
        Err(StoreError::Unavailable(message)) => message,
        other => panic!("{what}: expected Err(Unavailable), got {other:?}"),
    }
}

/// One failure of `key` now, expiring in an hour.
async fn add_failure(store: &SqliteStore, key: &str) -> Result<Failures, StoreError> {
    let t = now();
    store
        .add_failure(key, t, t + chrono::Duration::hours(1))
        .await
}

/// Every kind of call fails with `Unavailable` (reads and writes).
async fn every_call_is_unavailable(store: &SqliteStore) {
    let t = now();
    let s = session(UserId::new_random(), t);
    let _ = unavailable(
        "create_user",
        store.create_user(&user_with_phone("+15550000100")).await,
    );
    let _ = unavailable("insert_session", store.insert_session(&s).await);
    let _ = unavailable(
        "rotate_refresh",
        store.rotate_refresh(s.id, 0, &next_refresh(1, t), t).await,
    );
    let _ = unavailable(
        "insert_challenge",
        store.insert_challenge(&challenge("+15550000100", t)).await,
    );
    let _ = unavailable("hit_counter", store.hit_counter("k", t, t).await);
    let _ = unavailable("add_failure", add_failure(store, "k").await);
    let _ = unavailable("purge_expired", store.purge_expired(t).await);
    let _ = unavailable("session", store.session(s.id).await);
    let _ = unavailable("user_by_id", store.user_by_id(UserId::new_random()).await);
    let _ = unavailable("failures", store.failures("k", now()).await);
}

#[test]
fn opening_in_a_missing_directory_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let _ = unavailable(
        "open",
        SqliteStore::open(dir.path().join("missing").join("auth.db")),
    );
}

#[test]
fn opening_a_file_that_is_not_a_database_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.db");
    std::fs::write(&path, vec![0x5a; 8192]).unwrap();
    let _ = unavailable("open", SqliteStore::open(&path));
}

/// Makes `path` unwritable: `chmod a-w`, and, where that does not stop us (root), the
/// immutable attribute. Undone on drop. `None` when neither works here.
struct ReadOnly(PathBuf, bool);

impl ReadOnly {
    fn make(path: &Path) -> Option<Self> {
        let writable = || std::fs::OpenOptions::new().write(true).open(path).is_ok();
        let mut perms = std::fs::metadata(path).unwrap().permissions();
        perms.set_readonly(true);
        std::fs::set_permissions(path, perms).unwrap();
        if !writable() {
            return Some(Self(path.to_owned(), false));
        }
        let chattr = Command::new("chattr").arg("+i").arg(path).status();
        if chattr.is_ok_and(|s| s.success()) && !writable() {
            return Some(Self(path.to_owned(), true));
        }
        None
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        if self.1 {
            let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
        }
        if let Ok(meta) = std::fs::metadata(&self.0) {
            let mut perms = meta.permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            let _ = std::fs::set_permissions(&self.0, perms);
        }
    }
}

#[tokio::test]
async fn a_read_only_file_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.db");
    drop(SqliteStore::open(&path).unwrap());
    let Some(_guard) = ReadOnly::make(&path) else {
        eprintln!("skipped: cannot make a file read-only here (root without chattr)");
        return;
    };
    let message = unavailable("open", SqliteStore::open(&path));
    assert!(message.contains("read-only"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_directory_makes_every_call_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let db_dir = dir.path().join("data");
    std::fs::create_dir(&db_dir).unwrap();
    let store = SqliteStore::open(db_dir.join("auth.db")).unwrap();
    store
        .create_user(&user_with_phone("+15550000101"))
        .await
        .unwrap();

    std::fs::remove_dir_all(&db_dir).unwrap();
    // Writes notice at once; reads within the file check's one-second window (pool.rs).
    let _ = unavailable("add_failure", add_failure(&store, "k").await);
    tokio::time::sleep(READ_CHECK_WINDOW).await;
    every_call_is_unavailable(&store).await;

    // A new, empty file in its place is not the store's database either.
    std::fs::create_dir(&db_dir).unwrap();
    std::fs::write(db_dir.join("auth.db"), b"").unwrap();
    let message = unavailable("add_failure", add_failure(&store, "k").await);
    assert!(message.contains("replaced"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_held_elsewhere_is_unavailable_after_the_busy_timeout_then_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.db");
    let mut options = SqliteOptions::default();
    options.busy_timeout = Duration::from_millis(200);
    let store = SqliteStore::open_with(&path, options).unwrap();
    let user = user_with_phone("+15550000102");
    store.create_user(&user).await.unwrap();

    let other = Connection::open(&path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let started = std::time::Instant::now();
    let _ = unavailable("add_failure", add_failure(&store, "k").await);
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "waited for the lock"
    );
    assert_eq!(
        store.failures("k", now()).await.unwrap(),
        None,
        "nothing was written"
    );
    // Reads are not blocked by a writer in WAL mode.
    assert!(store.user_by_id(user.id).await.unwrap().is_some());

    other.execute_batch("COMMIT").unwrap();
    assert_eq!(
        add_failure(&store, "k").await.unwrap().count,
        1,
        "recovers by itself"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_row_is_unavailable_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.db");
    let store = SqliteStore::open(&path).unwrap();
    let user = user_with_phone("+15550000103");
    store.create_user(&user).await.unwrap();
    let t = now();
    let s = session(user.id, t);
    store.insert_session(&s).await.unwrap();

    let raw = Connection::open(&path).unwrap();
    let id = user.id.as_uuid().as_bytes().to_vec();
    raw.execute(
        "UPDATE users SET phone = 'not a phone' WHERE id = ?1",
        [&id],
    )
    .unwrap();
    raw.execute(
        "UPDATE sessions SET user_id = x'0102' WHERE user_id = ?1",
        [&id],
    )
    .unwrap();

    let message = unavailable("user_by_id", store.user_by_id(user.id).await);
    assert!(
        message.contains("users") && message.contains("phone"),
        "{message}"
    );
    let message = unavailable("session", store.session(s.id).await);
    assert!(
        message.contains("sessions") && message.contains("user_id"),
        "{message}"
    );
}

/// The whole flow through `auth_core::Auth`: a broken store is `store_unavailable` (503).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_core_answers_store_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let db_dir = dir.path().join("data");
    std::fs::create_dir(&db_dir).unwrap();
    let path = db_dir.join("auth.db");
    let mut options = SqliteOptions::default();
    options.busy_timeout = Duration::from_millis(200);
    let store = SqliteStore::open_with(&path, options).unwrap();
    let sms = FakeSms::new();
    let clock = ManualClock::new();
    let auth = Auth::builder(TestKit::config())
        .store(store.clone())
        .sms(sms.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    let client = ClientInfo::default();

    auth.register(
        RegisterRequest {
            phone: Some("+15550000104".into()),
            ..Default::default()
        }
        .parse(auth.config())
        .unwrap(),
        &client,
    )
    .await
    .unwrap();
    let challenge = auth
        .start_sms_login(
            &auth_core::Phone::parse("+15550000104", false).unwrap(),
            &client,
        )
        .await
        .unwrap();
    let code = sms.last_code_for("+15550000104").unwrap();
    let tokens = auth
        .verify_sms(challenge.challenge_id, &code, &client)
        .await
        .unwrap();
    let refreshed = auth
        .refresh(tokens.refresh_token.expose(), &client)
        .await
        .unwrap();

    // Locked by another process: 503, then it works again once the lock is gone.
    let other = Connection::open(&path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    assert_eq!(
        auth.refresh(refreshed.refresh_token.expose(), &client)
            .await
            .unwrap_err(),
        AuthError::StoreUnavailable
    );
    other.execute_batch("COMMIT").unwrap();
    let refreshed = auth
        .refresh(refreshed.refresh_token.expose(), &client)
        .await
        .unwrap();

    // The file is gone: every flow is 503, none succeeds (reads once the file check's
    // one-second window has passed).
    std::fs::remove_dir_all(&db_dir).unwrap();
    tokio::time::sleep(READ_CHECK_WINDOW).await;
    for result in [
        auth.refresh(refreshed.refresh_token.expose(), &client)
            .await
            .map(|_| ()),
        auth.authenticate(refreshed.access_token.expose())
            .await
            .map(|_| ()),
        auth.start_sms_login(
            &auth_core::Phone::parse("+15550000104", false).unwrap(),
            &client,
        )
        .await
        .map(|_| ()),
        auth.register(
            RegisterRequest {
                phone: Some("+15550000105".into()),
                ..Default::default()
            }
            .parse(auth.config())
            .unwrap(),
            &client,
        )
        .await
        .map(|_| ()),
    ] {
        assert_eq!(result.unwrap_err(), AuthError::StoreUnavailable);
    }
}
