//! Record builders shared by the integration tests (each test file includes it as a module).
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::indexing_slicing
)]

use auth_core::User;
use auth_core::challenge::{Challenge, ChallengePurpose};
use auth_core::ids::{ChallengeId, SessionId, UserId};
use auth_core::phone::Phone;
use auth_core::secret::SecretHash;
use auth_core::session::{RefreshState, Session, SessionStatus};
use chrono::{DateTime, Duration, SubsecRound as _, Utc};

pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

pub fn user_with_phone(phone: &str) -> User {
    let mut user = User::new(UserId::new_random(), now());
    user.phone = Some(Phone::parse(phone, false).unwrap());
    user
}

pub fn session(user: UserId, at: DateTime<Utc>) -> Session {
    Session {
        id: SessionId::new_random(),
        user_id: user,
        created_at: at,
        last_used_at: at,
        expires_at: at + Duration::days(30),
        ip: Some("203.0.113.7".parse().unwrap()),
        user_agent: Some(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
             Chrome/124.0 Safari/537.36"
                .to_owned(),
        ),
        refresh: RefreshState {
            generation: 0,
            hash: SecretHash::from_bytes(rand_bytes()),
            issued_at: at,
        },
        status: SessionStatus::Active,
    }
}

pub fn challenge(phone: &str, at: DateTime<Utc>) -> Challenge {
    Challenge {
        id: ChallengeId::new_random(),
        purpose: ChallengePurpose::Login,
        phone: Phone::parse(phone, false).unwrap(),
        user_id: None,
        code_hash: SecretHash::from_bytes(rand_bytes()),
        created_at: at,
        expires_at: at + Duration::minutes(10),
        attempts: 0,
        consumed_at: None,
    }
}

pub fn next_refresh(generation: u64, at: DateTime<Utc>) -> RefreshState {
    RefreshState {
        generation,
        hash: SecretHash::from_bytes(rand_bytes()),
        issued_at: at,
    }
}

/// 32 pseudo-random bytes (distinct per call), without pulling in a RNG crate.
pub fn rand_bytes() -> [u8; 32] {
    let a = *uuid::Uuid::new_v4().as_bytes();
    let b = *uuid::Uuid::new_v4().as_bytes();
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(&a);
    out[16..].copy_from_slice(&b);
    out
}
