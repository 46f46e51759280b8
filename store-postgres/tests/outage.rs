//! Outages: the server stopped and started again (a private server of the test's own),
//! connections killed on the server, a statement that gets no answer in time. Every failure
//! is `StoreError::Unavailable` within the configured timeouts, and the same store works
//! again once the server is back, without a restart.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::{Duration, Instant};

use auth_core::ids::{SessionId, UserId};
use auth_core::secret::SecretHash;
use auth_core::session::{RefreshState, Session, SessionStatus};
use auth_core::store::{CounterStore as _, SessionStore as _, UserStore as _};
use auth_core::{StoreError, User};
use chrono::{SubsecRound as _, Utc};
use store_postgres::{PgStore, PgStoreConfig};

use common::PrivatePostgres;

fn quick(config: PgStoreConfig) -> PgStoreConfig {
    config
        .connect_timeout(Duration::from_secs(1))
        .pool_wait_timeout(Duration::from_secs(1))
        .statement_timeout(Duration::from_secs(2))
        .pool_size(4)
}

/// The most a call may take with [`quick`]'s timeouts (pool wait + connect + statement),
/// plus slack for a loaded machine.
const BOUND: Duration = Duration::from_secs(6);

fn new_user() -> User {
    User::new(UserId::new_random(), Utc::now().trunc_subsecs(3))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_fails_calls_and_the_store_recovers_when_it_is_back() {
    let mut server = PrivatePostgres::start();
    let store = PgStore::connect(quick(PgStoreConfig::new(server.url())))
        .await
        .unwrap();
    let user = new_user();
    store.create_user(&user).await.unwrap();

    server.stop();
    for _ in 0..3 {
        let started = Instant::now();
        let read = store.user_by_id(user.id).await;
        assert!(matches!(read, Err(StoreError::Unavailable(_))), "{read:?}");
        let write = store.create_user(&new_user()).await;
        assert!(
            matches!(write, Err(StoreError::Unavailable(_))),
            "{write:?}"
        );
        let now = Utc::now();
        let hit = store
            .hit_counter("k", now + chrono::Duration::minutes(1), now)
            .await;
        assert!(matches!(hit, Err(StoreError::Unavailable(_))), "{hit:?}");
        assert!(started.elapsed() < BOUND, "took {:?}", started.elapsed());
    }

    server.restart();
    let back = common::eventually(Duration::from_secs(10), || async {
        store.user_by_id(user.id).await.is_ok()
    })
    .await;
    assert!(back, "the store did not recover after the server came back");
    assert_eq!(store.user_by_id(user.id).await.unwrap(), Some(user));
    let other = new_user();
    store.create_user(&other).await.unwrap();
    assert_eq!(store.user_by_id(other.id).await.unwrap(), Some(other));
}

/// `connect` fails while the server is down; `connect_lazy` starts anyway, fails its calls,
/// and migrates and works once the server is up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_lazy_starts_without_the_server() {
    let mut server = PrivatePostgres::start();
    server.stop();
    let config = quick(PgStoreConfig::new(server.url()));

    let started = Instant::now();
    let refused = PgStore::connect(config.clone()).await;
    assert!(
        matches!(refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
    assert!(started.elapsed() < BOUND);

    let store = PgStore::connect_lazy(config).unwrap();
    let down = store.user_by_id(UserId::new_random()).await;
    assert!(matches!(down, Err(StoreError::Unavailable(_))), "{down:?}");

    server.restart();
    let user = new_user();
    let up = common::eventually(Duration::from_secs(10), || async {
        store.create_user(&user).await.is_ok()
    })
    .await;
    assert!(up, "the lazy store did not start working");
    assert_eq!(store.schema_version().await.unwrap(), 2);
    assert_eq!(store.user_by_id(user.id).await.unwrap(), Some(user));
}

/// Every connection of the pool killed on the (shared) server with `pg_terminate_backend`:
/// at most one call per killed connection fails, with `Unavailable`, and then every call
/// works on new connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_connections_are_replaced() {
    common::with_fresh_schema(|schema| async move {
        let app = format!("outage-{}", &schema[schema.len() - 12..]);
        let store = PgStore::connect(quick(common::config(&schema)).application_name(&app))
            .await
            .unwrap();
        let user = new_user();
        store.create_user(&user).await.unwrap();
        // Open all four connections: four calls at once.
        let calls: Vec<_> = (0..4)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.sessions_of_user(user.id).await })
            })
            .collect();
        for call in calls {
            let _ = call.await.unwrap().unwrap();
        }

        let raw = common::raw().await;
        let killed: i64 = raw
            .query_one(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE application_name = $1) AS t",
                &[&app],
            )
            .await
            .unwrap()
            .get(0);
        assert!(killed >= 1, "no connection of the store found");

        let mut failures = 0;
        let mut results = Vec::new();
        for _ in 0..20 {
            let result = store.user_by_id(user.id).await;
            match &result {
                Ok(found) => assert_eq!(found.as_ref(), Some(&user)),
                Err(StoreError::Unavailable(_)) => failures += 1,
                Err(e) => panic!("unexpected {e:?}"),
            }
            results.push(result.is_ok());
        }
        // At most one failed call per connection the pool can hold (4): the count of
        // terminated backends is a snapshot and was seen one short of the calls that
        // failed once in a CI run (a connection opened while the terminate ran).
        assert!(
            failures <= killed.max(4),
            "{failures} failures for {killed} killed connections (pool of 4)"
        );
        assert!(results[10..].iter().all(|ok| *ok), "{results:?}");
        let live: i64 = raw
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                &[&app],
            )
            .await
            .unwrap()
            .get(0);
        assert!(live >= 1, "the store opened no new connection");
    })
    .await;
}

/// A statement that gets no answer in time (a row lock held elsewhere): `Unavailable` once
/// the statement timeout has passed, and that connection is not reused while it still waits;
/// when the lock goes, the same call works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_without_an_answer_times_out() {
    common::with_fresh_schema(|schema| async move {
        let store = PgStore::connect(
            common::config(&schema)
                .statement_timeout(Duration::from_millis(500))
                .pool_size(2),
        )
        .await
        .unwrap();
        let now = Utc::now().trunc_subsecs(3);
        let user = new_user();
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
                hash: SecretHash::from_bytes([1; 32]),
                issued_at: now,
            },
            status: SessionStatus::Active,
        };
        store.insert_session(&session).await.unwrap();
        let next = RefreshState {
            generation: 1,
            hash: SecretHash::from_bytes([2; 32]),
            issued_at: now,
        };

        let mut locker = common::raw().await;
        let tx = locker.transaction().await.unwrap();
        let _ = tx
            .execute(
                &format!("SELECT 1 FROM \"{schema}\".sessions WHERE id = $1 FOR UPDATE"),
                &[&session.id.as_uuid()],
            )
            .await
            .unwrap();
        for _ in 0..3 {
            let started = Instant::now();
            let blocked = store.rotate_refresh(session.id, 0, &next, now).await;
            assert!(
                matches!(blocked, Err(StoreError::Unavailable(_))),
                "{blocked:?}"
            );
            let took = started.elapsed();
            assert!(
                took >= Duration::from_millis(400) && took < Duration::from_secs(3),
                "took {took:?}"
            );
        }
        // Reads do not wait on the lock.
        assert!(store.session(session.id).await.unwrap().is_some());
        tx.rollback().await.unwrap();

        assert!(
            store
                .rotate_refresh(session.id, 0, &next, now)
                .await
                .unwrap()
        );
        assert_eq!(
            store.session(session.id).await.unwrap().unwrap().refresh,
            next
        );
    })
    .await;
}
