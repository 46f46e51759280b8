//! Compare-and-set under contention: many tasks on one store, and two `SqliteStore`s (as two
//! processes would be) on one file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;

use auth_core::StoreError;
use auth_core::ids::UserId;
use auth_core::store::{SessionStore, UniqueField, UserStore};
use store_sqlite::SqliteStore;

use common::{next_refresh, now, session, user_with_phone};

/// Rotates generation 0 of one session from `tasks` tasks spread over `stores`; returns how
/// many won, after checking the stored state is the winner's.
async fn race_rotation(stores: &[SqliteStore], tasks: usize) -> usize {
    let t = now();
    let s = session(UserId::new_random(), t);
    stores[0].insert_session(&s).await.unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(tasks));
    let handles: Vec<_> = (0..tasks)
        .map(|i| {
            let store = stores[i % stores.len()].clone();
            let barrier = Arc::clone(&barrier);
            let next = next_refresh(1, t + chrono::Duration::milliseconds(i as i64));
            tokio::spawn(async move {
                let _ = barrier.wait().await;
                let won = store.rotate_refresh(s.id, 0, &next, next.issued_at).await;
                (won, next)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for h in handles {
        let (won, next) = h.await.unwrap();
        if won.unwrap() {
            winners.push(next);
        }
    }
    for store in stores {
        let stored = store.session(s.id).await.unwrap().unwrap();
        assert_eq!(
            Some(&stored.refresh),
            winners.first(),
            "the winner's state is stored"
        );
    }
    winners.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_rotation_wins_among_many_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("auth.db")).unwrap();
    for _ in 0..10 {
        assert_eq!(race_rotation(std::slice::from_ref(&store), 64).await, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_rotation_wins_across_two_stores_on_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.db");
    let stores = [
        SqliteStore::open(&path).unwrap(),
        SqliteStore::open(&path).unwrap(),
    ];
    for _ in 0..10 {
        assert_eq!(race_rotation(&stores, 64).await, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_rotation_wins_in_memory() {
    let store = SqliteStore::open_in_memory().unwrap();
    assert_eq!(race_rotation(std::slice::from_ref(&store), 64).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_phone_is_registered_once_across_two_stores_on_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.db");
    let stores = [
        SqliteStore::open(&path).unwrap(),
        SqliteStore::open(&path).unwrap(),
    ];
    let handles: Vec<_> = (0..32)
        .map(|i| {
            let store = stores[i % 2].clone();
            tokio::spawn(async move { store.create_user(&user_with_phone("+15550000009")).await })
        })
        .collect();
    let mut ok = 0;
    for h in handles {
        match h.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::Conflict(UniqueField::Phone)) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok, 1);
}

/// Revoking all of a user's sessions while their refreshes race: afterwards no session of
/// the user can rotate, and every rotation that won happened before the revocation.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revoke_all_stops_every_later_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.db");
    let a = SqliteStore::open(&path).unwrap();
    let b = SqliteStore::open(&path).unwrap();
    let t = now();
    let user = UserId::new_random();
    let mut ids = Vec::new();
    for _ in 0..8 {
        let s = session(user, t);
        a.insert_session(&s).await.unwrap();
        ids.push(s.id);
    }
    let rotations: Vec<_> = ids
        .iter()
        .map(|&id| {
            let b = b.clone();
            tokio::spawn(async move {
                let mut generation = 0;
                while b
                    .rotate_refresh(id, generation, &next_refresh(generation + 1, t), t)
                    .await
                    .unwrap()
                {
                    generation += 1;
                }
                generation
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let revoked = a
        .revoke_user_sessions(user, None, t, auth_core::session::RevokeReason::Admin)
        .await
        .unwrap();
    assert_eq!(revoked, 8);
    for (id, h) in ids.iter().zip(rotations) {
        let last = h.await.unwrap();
        let stored = a.session(*id).await.unwrap().unwrap();
        assert_eq!(
            stored.refresh.generation, last,
            "no rotation after the revocation"
        );
        assert!(
            !a.rotate_refresh(*id, last, &next_refresh(last + 1, t), t)
                .await
                .unwrap()
        );
    }
    assert!(a.sessions_of_user(user).await.unwrap().is_empty());
}

/// The per-request session check reads on the calling thread from its own connections, each
/// with a cache of its answers: a revocation, a role change or a disabled account committed
/// through another store on the same file (another process) must show on the very next check,
/// never a stale snapshot or a cached answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_check_sees_other_connections_commits_at_once() {
    use auth_core::UserStatus;
    use auth_core::session::{RevokeReason, Session, SessionOwner, SessionStatus};

    // Every quick reader answers (they take turns) and has the answer cached before each change.
    let rounds = 2 * store_sqlite::SqliteOptions::default().quick_readers.max(1);
    async fn checks(
        checker: &SqliteStore,
        id: auth_core::ids::SessionId,
        rounds: usize,
    ) -> Vec<(Session, Option<SessionOwner>)> {
        let mut seen = Vec::new();
        for _ in 0..rounds {
            seen.push(checker.session_with_owner(id, None).await.unwrap().unwrap());
        }
        seen
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.db");
    let checker = SqliteStore::open(&path).unwrap();
    let writer = SqliteStore::open(&path).unwrap();
    let t = now();
    let mut user = user_with_phone("+15550109001");
    user.roles = vec!["admin".to_owned()];
    writer.create_user(&user).await.unwrap();
    let s = session(user.id, t);
    writer.insert_session(&s).await.unwrap();

    for (_, owner) in checks(&checker, s.id, rounds).await {
        assert_eq!(owner.unwrap().roles, vec!["admin".to_owned()]);
    }
    user.roles.clear();
    assert!(writer.update_user(&user).await.unwrap());
    for (_, owner) in checks(&checker, s.id, rounds).await {
        assert_eq!(owner.unwrap().roles, Vec::<String>::new());
    }

    user.status = UserStatus::Disabled;
    assert!(writer.update_user(&user).await.unwrap());
    for (_, owner) in checks(&checker, s.id, rounds).await {
        assert_eq!(owner.unwrap().status, UserStatus::Disabled);
    }

    assert!(
        writer
            .revoke_session(s.id, t, RevokeReason::Logout)
            .await
            .unwrap()
    );
    for (found, _) in checks(&checker, s.id, rounds).await {
        assert!(matches!(found.status, SessionStatus::Revoked { .. }));
    }

    // A session whose user is gone (no such user row) is found without an owner.
    let orphan = session(UserId::new_random(), t);
    writer.insert_session(&orphan).await.unwrap();
    let (found, owner) = checker
        .session_with_owner(orphan.id, Some(orphan.user_id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, orphan);
    assert_eq!(owner, None);
}
