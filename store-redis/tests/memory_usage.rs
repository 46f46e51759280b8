//! Measures what a session costs in Redis (`MEMORY USAGE <key> SAMPLES 0` on every session
//! key and per-user set) and keeps the crate docs honest with an upper bound. Run with
//! `cargo test -p store-redis --test memory_usage -- --nocapture` to see the numbers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::{IpAddr, Ipv4Addr};

use auth_core::account::{Email, User};
use auth_core::ids::{SessionId, UserId};
use auth_core::password::PasswordHash;
use auth_core::phone::Phone;
use auth_core::secret::SecretHash;
use auth_core::session::{RefreshState, Session, SessionStatus};
use auth_core::store::{SessionStore, UserStore};
use chrono::{Duration, SubsecRound as _, Utc};

const USER_AGENT: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
                          (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

async fn memory_usage(conn: &mut redis::aio::MultiplexedConnection, key: &str) -> u64 {
    redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(key)
        .arg("SAMPLES")
        .arg(0)
        .query_async::<Option<u64>>(conn)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{key} does not exist"))
}

/// Inserts `users * per_user` realistic sessions and returns the average bytes per session
/// of the session hashes and of the per-user sets.
async fn measure(users: usize, per_user: usize) -> (u64, u64) {
    // A short prefix, close to the default `auth:` (this one is 5 bytes longer).
    let prefix = format!("m{}:", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let store = common::store_at(&prefix).await;
    let mut raw = common::raw_connection().await;
    let now = Utc::now().trunc_subsecs(3);

    let (mut session_bytes, mut set_bytes) = (0, 0);
    for u in 0..users {
        let user = UserId::new_random();
        for s in 0..per_user {
            let session = Session {
                id: SessionId::new_random(),
                user_id: user,
                created_at: now,
                last_used_at: now + Duration::minutes(5),
                expires_at: now + Duration::days(30),
                ip: Some(IpAddr::V4(Ipv4Addr::new(
                    198,
                    51,
                    (u % 250) as u8,
                    (s % 250) as u8,
                ))),
                user_agent: Some(USER_AGENT.to_owned()),
                refresh: RefreshState {
                    generation: 12,
                    hash: SecretHash::from_bytes(rand_bytes()),
                    issued_at: now + Duration::minutes(5),
                },
                status: SessionStatus::Active,
            };
            store.insert_session(&session).await.unwrap();
            session_bytes +=
                memory_usage(&mut raw, &format!("{prefix}session:{}", session.id)).await;
        }
        set_bytes += memory_usage(&mut raw, &format!("{prefix}user-sessions:{user}")).await;
    }
    store.clear_prefix().await.unwrap();
    let n = (users * per_user) as u64;
    (session_bytes / n, set_bytes / n)
}

fn rand_bytes() -> [u8; 32] {
    let mut out = [0; 32];
    let a = uuid::Uuid::new_v4().into_bytes();
    let b = uuid::Uuid::new_v4().into_bytes();
    out[..16].copy_from_slice(&a);
    out[16..].copy_from_slice(&b);
    out
}

/// Average bytes of a user with phone, email and password: its hash plus its two index keys.
async fn measure_users(n: usize) -> (u64, u64) {
    let prefix = format!("m{}:", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let store = common::store_at(&prefix).await;
    let mut raw = common::raw_connection().await;
    let (mut hash_bytes, mut index_bytes) = (0, 0);
    for i in 0..n {
        let mut user = User::new(UserId::new_random(), Utc::now());
        let phone = format!("+1555{:07}", 1_000_000 + i);
        user.phone = Some(Phone::parse(&phone, false).unwrap());
        user.email = Some(Email::parse(&format!("user{i}@example.com")).unwrap());
        user.password_hash = Some(PasswordHash::from_phc(
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
             RdescudvJCsgt3ub+b+dWRWJTmaaJObG+b+dWRWJTmaa",
        ));
        user.profile = serde_json::json!({ "display_name": format!("User {i}") });
        store.create_user(&user).await.unwrap();
        let _ = store
            .record_login(user.id, Utc::now(), Some(IpAddr::V4(Ipv4Addr::LOCALHOST)))
            .await
            .unwrap();
        hash_bytes += memory_usage(&mut raw, &format!("{prefix}user:{}", user.id)).await;
        index_bytes += memory_usage(&mut raw, &format!("{prefix}phone:{phone}")).await;
        index_bytes += memory_usage(&mut raw, &format!("{prefix}email:user{i}@example.com")).await;
    }
    store.clear_prefix().await.unwrap();
    (hash_bytes / n as u64, index_bytes / n as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_per_session() {
    let mut raw = common::raw_connection().await;
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut raw)
        .await
        .unwrap();
    let version = info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap_or("?")
        .to_owned();

    let (hash_1, set_1) = measure(1000, 1).await;
    let (hash_10, set_10) = measure(100, 10).await;
    println!("Redis {version}, 1000 sessions, MEMORY USAGE <key> SAMPLES 0, bytes per session:");
    println!(
        "  1000 users x 1 session:  session {hash_1}, user set {set_1}, total {}",
        hash_1 + set_1
    );
    println!(
        "  100 users x 10 sessions: session {hash_10}, user set {set_10}, total {}",
        hash_10 + set_10
    );

    let (user_hash, user_indexes) = measure_users(100).await;
    println!("  a user with phone, email, password: hash {user_hash}, index keys {user_indexes}");

    // The crate docs quote these numbers; fail loudly if the layout grows a lot.
    assert!(hash_1 < 700, "a session record grew to {hash_1} bytes");
    assert!(
        hash_1 + set_1 < 1000,
        "a session with its own user set takes {} bytes",
        hash_1 + set_1
    );
    assert!(set_10 < 200, "a member of a user set takes {set_10} bytes");
}
