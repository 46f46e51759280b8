//! Several `RedisStore`s on one prefix behave like one store: data written by one client is
//! read back by a new one, and the compare-and-set operations have exactly one winner across
//! tasks and across instances (separate connections, as separate app processes would have).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use auth_core::account::{Email, User, UserStatus, Username};
use auth_core::api::{ClientInfo, RegisterRequest};
use auth_core::challenge::{Challenge, ChallengePurpose};
use auth_core::ids::{ChallengeId, SessionId, UserId};
use auth_core::phone::Phone;
use auth_core::secret::SecretHash;
use auth_core::session::{RefreshState, RevokeReason, Session, SessionStatus};
use auth_core::store::{
    ChallengeStore, CounterStore, SessionStore, StoreError, UniqueField, UserStore,
};
use auth_core::testkit::{FakeSms, TestKit};
use auth_core::{Auth, SystemClock};
use chrono::{Duration, Utc};
use store_redis::RedisStore;
use tokio::sync::Barrier;

fn random_phone() -> Phone {
    let digits: u32 = rand_digits();
    Phone::parse(&format!("+1555{digits:07}"), false).unwrap()
}

fn rand_digits() -> u32 {
    (uuid::Uuid::new_v4().as_u128() % 10_000_000) as u32
}

fn session_of(user: UserId) -> Session {
    let now = Utc::now();
    Session {
        id: SessionId::new_random(),
        user_id: user,
        created_at: now,
        last_used_at: now,
        expires_at: now + Duration::hours(1),
        ip: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))),
        user_agent: Some("multi-instance-test".to_owned()),
        refresh: RefreshState {
            generation: 0,
            hash: SecretHash::from_bytes([7; 32]),
            issued_at: now,
        },
        status: SessionStatus::Active,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn data_survives_a_new_client() {
    common::with_fresh_prefix("survives", |prefix| async move {
        let now = Utc::now();
        let mut user = User::new(UserId::new_random(), now);
        user.phone = Some(random_phone());
        user.email = Some(Email::parse(&format!("{}@example.com", uuid::Uuid::new_v4())).unwrap());
        user.username = Some(Username::parse("survivor").unwrap());
        user.roles = vec!["admin".to_owned()];
        user.profile = serde_json::json!({ "name": "Ada", "n": [1, 2.5, null], "tiny": 1.0715660391465826e-75 });
        user.status = UserStatus::Active;
        let session = session_of(user.id);
        let challenge = Challenge {
            id: ChallengeId::new_random(),
            purpose: ChallengePurpose::Login,
            phone: user.phone.clone().unwrap(),
            user_id: Some(user.id),
            code_hash: SecretHash::from_bytes([3; 32]),
            created_at: now,
            expires_at: now + Duration::minutes(10),
            attempts: 1,
            consumed_at: None,
        };

        {
            let first = common::store_at(&prefix).await;
            first.create_user(&user).await.unwrap();
            first.insert_session(&session).await.unwrap();
            first.insert_challenge(&challenge).await.unwrap();
            first
                .hit_counter("ip:192.0.2.1", now + Duration::minutes(1), now)
                .await
                .unwrap();
            assert_eq!(
                first
                    .add_failure("phone:x", now, now + Duration::hours(1))
                    .await
                    .unwrap()
                    .count,
                1
            );
        } // the first client and its connection are gone

        let second = common::store_at(&prefix).await;
        assert_eq!(
            second.user_by_id(user.id).await.unwrap(),
            Some(user.clone())
        );
        assert_eq!(
            second
                .user_by_phone(user.phone.as_ref().unwrap())
                .await
                .unwrap(),
            Some(user.clone())
        );
        assert_eq!(
            second
                .user_by_email(user.email.as_ref().unwrap())
                .await
                .unwrap(),
            Some(user.clone())
        );
        assert_eq!(
            second.session(session.id).await.unwrap(),
            Some(session.clone())
        );
        assert_eq!(
            second.sessions_of_user(user.id).await.unwrap(),
            vec![session.clone()]
        );
        assert_eq!(
            second.challenge(challenge.id).await.unwrap(),
            Some(challenge.clone())
        );
        assert_eq!(
            second
                .hit_counter("ip:192.0.2.1", now + Duration::minutes(5), now)
                .await
                .unwrap()
                .count,
            2
        );
        assert_eq!(
            second
                .failures("phone:x", now)
                .await
                .unwrap()
                .map(|f| f.count),
            Some(1)
        );

        // Another prefix is another store.
        let elsewhere = common::store_at(&common::fresh_prefix("elsewhere")).await;
        assert_eq!(elsewhere.user_by_id(user.id).await.unwrap(), None);

        assert!(second.clear_prefix().await.unwrap() >= 6);
        assert_eq!(second.user_by_id(user.id).await.unwrap(), None);
    })
    .await;
}

/// 64 tasks, half on each of two store instances, rotate the same session from the same
/// generation, for 20 generations in a row: every round has exactly one winner, and the
/// stored state is the winner's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_rotation_wins_across_tasks_and_instances() {
    common::with_fresh_prefix("rotation", |prefix| async move {
        let a = common::store_at(&prefix).await;
        let b = common::store_at(&prefix).await;
        let session = session_of(UserId::new_random());
        a.insert_session(&session).await.unwrap();

        const TASKS: usize = 64;
        for generation in 0..20_u64 {
            let barrier = Arc::new(Barrier::new(TASKS));
            let mut handles = Vec::new();
            for i in 0..TASKS {
                let store = if i % 2 == 0 { a.clone() } else { b.clone() };
                let barrier = Arc::clone(&barrier);
                let mut hash = [0_u8; 32];
                hash[0] = i as u8;
                hash[1] = generation as u8;
                let next = RefreshState {
                    generation: generation + 1,
                    hash: SecretHash::from_bytes(hash),
                    issued_at: Utc::now(),
                };
                handles.push(tokio::spawn(async move {
                    let _ = barrier.wait().await;
                    let won = store
                        .rotate_refresh(session.id, generation, &next, next.issued_at)
                        .await
                        .unwrap();
                    won.then_some(next)
                }));
            }
            let mut winners = Vec::new();
            for handle in handles {
                if let Some(next) = handle.await.unwrap() {
                    winners.push(next);
                }
            }
            assert_eq!(winners.len(), 1, "generation {generation}: {winners:?}");
            let stored = b.session(session.id).await.unwrap().unwrap();
            assert_eq!(stored.refresh, winners[0]);
            assert_eq!(stored.last_used_at, winners[0].issued_at);
        }
    })
    .await;
}

/// Two instances (each with its own connection) register the same phone at the same moment,
/// many times over: each time exactly one wins and the other gets `Conflict(Phone)`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_registration_of_a_phone_wins_across_instances() {
    common::with_fresh_prefix("register", |prefix| async move {
        let a = common::store_at(&prefix).await;
        let b = common::store_at(&prefix).await;

        for round in 0..50 {
            let phone = random_phone();
            let barrier = Arc::new(Barrier::new(2));
            let attempt = |store: RedisStore| {
                let barrier = Arc::clone(&barrier);
                let mut user = User::new(UserId::new_random(), Utc::now());
                user.phone = Some(phone.clone());
                tokio::spawn(async move {
                    let _ = barrier.wait().await;
                    (user.id, store.create_user(&user).await)
                })
            };
            let (first, second) = (attempt(a.clone()), attempt(b.clone()));
            let results = [first.await.unwrap(), second.await.unwrap()];
            let winners: Vec<UserId> = results
                .iter()
                .filter(|(_, r)| r.is_ok())
                .map(|(id, _)| *id)
                .collect();
            assert_eq!(winners.len(), 1, "round {round}: {results:?}");
            assert!(
                results
                    .iter()
                    .any(|(_, r)| *r == Err(StoreError::Conflict(UniqueField::Phone))),
                "round {round}: {results:?}"
            );
            let holder = a.user_by_phone(&phone).await.unwrap().unwrap();
            assert_eq!(holder.id, winners[0]);
            for (id, result) in &results {
                if result.is_err() {
                    assert_eq!(b.user_by_id(*id).await.unwrap(), None);
                }
            }
        }
    })
    .await;
}

/// Two app instances (two `Auth`s, each on its own `RedisStore`, same prefix and secret):
/// a user registered through one logs in through the other, and a refresh token presented
/// to both at once rotates exactly once (the losers get the same new token via the grace
/// window), after which logging out on one is seen by the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_auth_instances_share_users_and_sessions() {
    common::with_fresh_prefix("auth", |prefix| async move {
        let sms = FakeSms::new();
        let instance = |store: RedisStore| {
            Auth::builder(TestKit::config())
                .store(store)
                .sms(sms.clone())
                .clock(SystemClock)
                .build()
                .unwrap()
        };
        let a = instance(common::store_at(&prefix).await);
        let b = instance(common::store_at(&prefix).await);
        let client = ClientInfo::default();
        let phone = random_phone();

        let _ = a
            .register(
                RegisterRequest {
                    phone: Some(phone.as_str().to_owned()),
                    ..Default::default()
                }
                .parse(a.config())
                .unwrap(),
                &client,
            )
            .await
            .unwrap();
        let sent = b.start_sms_login(&phone, &client).await.unwrap();
        let code = sms.last_code_for(phone.as_str()).unwrap();
        let tokens = a
            .verify_sms(sent.challenge_id, &code, &client)
            .await
            .unwrap();
        let _ = b.authenticate(tokens.access_token.expose()).await.unwrap();

        let refresh = tokens.refresh_token.expose().to_owned();
        let mut handles = Vec::new();
        for i in 0..16 {
            let auth = if i % 2 == 0 { a.clone() } else { b.clone() };
            let refresh = refresh.clone();
            handles.push(tokio::spawn(async move {
                auth.refresh(&refresh, &ClientInfo::default()).await
            }));
        }
        let mut new_tokens = Vec::new();
        for handle in handles {
            new_tokens.push(
                handle
                    .await
                    .unwrap()
                    .unwrap()
                    .refresh_token
                    .expose()
                    .to_owned(),
            );
        }
        new_tokens.sort();
        new_tokens.dedup();
        assert_eq!(
            new_tokens.len(),
            1,
            "every caller gets the one rotated token"
        );
        let session = a.store().session(tokens.session_id).await.unwrap().unwrap();
        assert_eq!(
            session.refresh.generation, 1,
            "exactly one rotation took effect"
        );

        let principal = a.authenticate(tokens.access_token.expose()).await.unwrap();
        a.logout(&principal, &client).await.unwrap();
        assert!(b.authenticate(tokens.access_token.expose()).await.is_err());
        let revoked = b.store().session(tokens.session_id).await.unwrap().unwrap();
        assert!(matches!(
            revoked.status,
            SessionStatus::Revoked {
                reason: RevokeReason::Logout,
                ..
            }
        ));
    })
    .await;
}
