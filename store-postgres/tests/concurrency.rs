//! Compare-and-set under real concurrency across app instances: several `PgStore`s on one
//! schema (separate pools, as separate processes would have), many tasks each, racing on one
//! record. Exactly one winner where the contract says so; no lost increment.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use auth_core::account::User;
use auth_core::challenge::{Challenge, ChallengePurpose};
use auth_core::ids::{ChallengeId, SessionId, UserId};
use auth_core::phone::Phone;
use auth_core::secret::SecretHash;
use auth_core::session::{RefreshState, RevokeReason, Session, SessionStatus};
use auth_core::store::{
    ChallengeStore as _, CounterStore as _, SessionStore as _, StoreError, UniqueField,
    UserStore as _,
};
use chrono::{DateTime, Duration, SubsecRound as _, Utc};
use store_postgres::PgStore;
use tokio::sync::Barrier;

const INSTANCES: usize = 3;
const TASKS: usize = 48;

async fn instances(schema: &str) -> Vec<PgStore> {
    let mut stores = Vec::new();
    for _ in 0..INSTANCES {
        stores.push(
            PgStore::connect(common::config(schema).pool_size(8))
                .await
                .unwrap(),
        );
    }
    stores
}

/// Runs `call(store, i)` in `TASKS` tasks spread over the stores, released together.
async fn race<T, F, Fut>(stores: &[PgStore], call: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(PgStore, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(TASKS));
    let call = Arc::new(call);
    let handles: Vec<_> = (0..TASKS)
        .map(|i| {
            let store = stores[i % stores.len()].clone();
            let barrier = Arc::clone(&barrier);
            let call = Arc::clone(&call);
            tokio::spawn(async move {
                let _ = barrier.wait().await;
                call(store, i).await
            })
        })
        .collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

fn phone() -> Phone {
    let digits = (uuid::Uuid::new_v4().as_u128() % 10_000_000) as u32;
    Phone::parse(&format!("+1555{digits:07}"), false).unwrap()
}

fn session_of(user: UserId, at: DateTime<Utc>) -> Session {
    Session {
        id: SessionId::new_random(),
        user_id: user,
        created_at: at,
        last_used_at: at,
        expires_at: at + Duration::hours(1),
        ip: None,
        user_agent: None,
        refresh: RefreshState {
            generation: 0,
            hash: SecretHash::from_bytes([0; 32]),
            issued_at: at,
        },
        status: SessionStatus::Active,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_rotation_wins_and_no_hit_is_lost() {
    common::with_fresh_schema(|schema| async move {
        let stores = instances(&schema).await;
        let at = now();
        let user = User::new(UserId::new_random(), at);
        stores[0].create_user(&user).await.unwrap();
        let session = session_of(user.id, at);
        stores[0].insert_session(&session).await.unwrap();

        // Refresh rotation: one winner of generation 0 → 1.
        let id = session.id;
        let wins = race(&stores, move |store, i| async move {
            let next = RefreshState {
                generation: 1,
                hash: SecretHash::from_bytes([u8::try_from(i).unwrap(); 32]),
                issued_at: at,
            };
            store.rotate_refresh(id, 0, &next, at).await.unwrap()
        })
        .await;
        assert_eq!(wins.iter().filter(|w| **w).count(), 1, "{wins:?}");
        let stored = stores[1].session(id).await.unwrap().unwrap();
        assert_eq!(stored.refresh.generation, 1);

        // Rate-limit hits: every count from 1 to TASKS exactly once.
        let key = format!("hits:{}", uuid::Uuid::new_v4());
        let counts = race(&stores, {
            let key = key.clone();
            move |store, _| {
                let key = key.clone();
                async move {
                    store
                        .hit_counter(&key, at + Duration::minutes(1), at)
                        .await
                        .unwrap()
                        .count
                }
            }
        })
        .await;
        let distinct: BTreeSet<u64> = counts.into_iter().collect();
        assert_eq!(distinct, (1..=TASKS as u64).collect());

        // Failures: likewise.
        let key = format!("fails:{}", uuid::Uuid::new_v4());
        let counts = race(&stores, {
            let key = key.clone();
            move |store, _| {
                let key = key.clone();
                async move {
                    store
                        .add_failure(&key, at, at + Duration::minutes(15))
                        .await
                        .unwrap()
                        .count
                }
            }
        })
        .await;
        let distinct: BTreeSet<u32> = counts.into_iter().collect();
        assert_eq!(distinct, (1..=TASKS as u32).collect());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn challenges_give_bounded_attempts_and_one_consumption() {
    common::with_fresh_schema(|schema| async move {
        let stores = instances(&schema).await;
        let at = now();
        let challenge = Challenge {
            id: ChallengeId::new_random(),
            purpose: ChallengePurpose::Login,
            phone: phone(),
            user_id: None,
            code_hash: SecretHash::from_bytes([5; 32]),
            created_at: at,
            expires_at: at + Duration::minutes(10),
            attempts: 0,
            consumed_at: None,
        };
        stores[0].insert_challenge(&challenge).await.unwrap();
        let id = challenge.id;
        let claims = race(&stores, move |store, _| async move {
            store.claim_challenge_attempt(id, 5).await.unwrap()
        })
        .await;
        let granted: BTreeSet<u32> = claims.into_iter().flatten().collect();
        assert_eq!(granted, (1..=5).collect());

        let consumed = race(&stores, move |store, _| async move {
            store.consume_challenge(id, at).await.unwrap()
        })
        .await;
        assert_eq!(consumed.iter().filter(|c| **c).count(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_registration_per_phone() {
    common::with_fresh_schema(|schema| async move {
        let stores = instances(&schema).await;
        let phone = phone();
        let results = race(&stores, move |store, _| {
            let phone = phone.clone();
            async move {
                let mut user = User::new(UserId::new_random(), now());
                user.phone = Some(phone);
                store.create_user(&user).await
            }
        })
        .await;
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
        for result in results.iter().filter(|r| r.is_err()) {
            assert_eq!(result, &Err(StoreError::Conflict(UniqueField::Phone)));
        }
    })
    .await;
}

/// Logout-everywhere racing refreshes: once `revoke_user_sessions` has returned, no session
/// it revoked rotates any more, whatever rotations were in flight: a rotation that starts
/// after it returned never wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_rotation_after_revoking_all_sessions() {
    common::with_fresh_schema(|schema| async move {
        let stores = instances(&schema).await;
        let at = now();
        let user = User::new(UserId::new_random(), at);
        stores[0].create_user(&user).await.unwrap();
        let mut sessions = Vec::new();
        for _ in 0..8 {
            let s = session_of(user.id, at);
            stores[0].insert_session(&s).await.unwrap();
            sessions.push(s.id);
        }
        let sessions = Arc::new(sessions);
        let revoked_done = Arc::new(AtomicBool::new(false));
        let user_id = user.id;
        let outcomes = race(&stores, {
            let sessions = Arc::clone(&sessions);
            let revoked_done = Arc::clone(&revoked_done);
            move |store, i| {
                let sessions = Arc::clone(&sessions);
                let revoked_done = Arc::clone(&revoked_done);
                async move {
                    if i == TASKS / 2 {
                        // Let the rotations get going first.
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        let n = store
                            .revoke_user_sessions(user_id, None, at, RevokeReason::RevokedByUser)
                            .await
                            .unwrap();
                        revoked_done.store(true, Ordering::SeqCst);
                        return (n, 0);
                    }
                    let id = sessions[i % sessions.len()];
                    let mut late_wins = 0;
                    let mut generation = 0;
                    for _ in 0..200 {
                        let started_after = revoked_done.load(Ordering::SeqCst);
                        let next = RefreshState {
                            generation: generation + 1,
                            hash: SecretHash::from_bytes([1; 32]),
                            issued_at: at,
                        };
                        let won = store
                            .rotate_refresh(id, generation, &next, at)
                            .await
                            .unwrap();
                        if won && started_after {
                            late_wins += 1;
                        }
                        // The next expected generation, whoever rotated.
                        generation = store.session(id).await.unwrap().unwrap().refresh.generation;
                        if started_after {
                            break;
                        }
                    }
                    (0, late_wins)
                }
            }
        })
        .await;
        assert_eq!(outcomes.iter().map(|(n, _)| n).sum::<u64>(), 8);
        assert_eq!(
            outcomes.iter().map(|(_, late)| late).sum::<u32>(),
            0,
            "a rotation started after the revocation returned won"
        );
        for id in sessions.iter() {
            let s = stores[2].session(*id).await.unwrap().unwrap();
            assert!(matches!(s.status, SessionStatus::Revoked { .. }));
        }
        assert!(
            stores[1]
                .sessions_of_user(user.id)
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}
