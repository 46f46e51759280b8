//! The store traits of `auth-core` for [`PgStore`] (all of them, so it is a `Store` and a
//! `OneTimeTokenStore`): each method takes a pooled connection, runs the SQL of its table's
//! module within the statement timeout and maps the outcome (see `store.rs`).

use std::net::IpAddr;

use auth_core::account::{Email, User, Username};
use auth_core::challenge::Challenge;
use auth_core::email_token::EmailToken;
use auth_core::ids::{ChallengeId, SessionId, UserId};
use auth_core::phone::Phone;
use auth_core::secret::SecretHash;
use auth_core::session::{RefreshState, RevokeReason, Session, SessionOwner};
use auth_core::store::{
    ChallengeStore, Counter, CounterStore, Failures, OneTimeTokenStore, SessionStore, StoreError,
    UserStore,
};
use chrono::{DateTime, Utc};

use crate::PgStore;
use crate::users::Lookup;
use crate::{challenges, counters, email_tokens, purge, sessions, users};

#[async_trait::async_trait]
impl UserStore for PgStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        on_conn!(self, |c| users::create(&c, user))
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        on_conn!(self, |c| users::find(&c, Lookup::Id(id)))
    }

    async fn user_by_phone(&self, phone: &Phone) -> Result<Option<User>, StoreError> {
        on_conn!(self, |c| users::find(&c, Lookup::Phone(phone)))
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        on_conn!(self, |c| users::find(&c, Lookup::Email(email)))
    }

    async fn user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        on_conn!(self, |c| users::find(&c, Lookup::Username(username)))
    }

    async fn update_user(&self, user: &User) -> Result<bool, StoreError> {
        on_conn!(self, |c| users::update(&c, user))
    }

    async fn record_login(
        &self,
        id: UserId,
        at: DateTime<Utc>,
        ip: Option<IpAddr>,
    ) -> Result<bool, StoreError> {
        on_conn!(self, |c| users::record_login(&c, id, at, ip))
    }
}

#[async_trait::async_trait]
impl ChallengeStore for PgStore {
    async fn insert_challenge(&self, challenge: &Challenge) -> Result<(), StoreError> {
        on_conn!(self, |c| challenges::insert(&c, challenge))
    }

    async fn challenge(&self, id: ChallengeId) -> Result<Option<Challenge>, StoreError> {
        on_conn!(self, |c| challenges::get_one(&c, id))
    }

    async fn claim_challenge_attempt(
        &self,
        id: ChallengeId,
        max_attempts: u32,
    ) -> Result<Option<u32>, StoreError> {
        on_conn!(self, |c| challenges::claim_attempt(&c, id, max_attempts))
    }

    async fn consume_challenge(
        &self,
        id: ChallengeId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        on_conn!(self, |c| challenges::consume(&c, id, at))
    }

    async fn purge_expired_challenges(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        on_conn!(self, |c| purge::delete(&c, purge::CHALLENGES, now))
    }
}

#[async_trait::async_trait]
impl OneTimeTokenStore for PgStore {
    async fn insert_email_token(&self, token: &EmailToken) -> Result<(), StoreError> {
        on_conn!(self, |c| email_tokens::insert(&c, token))
    }

    async fn email_token(&self, hash: &SecretHash) -> Result<Option<EmailToken>, StoreError> {
        on_conn!(self, |c| email_tokens::get_one(&c, hash))
    }

    async fn consume_email_token(
        &self,
        hash: &SecretHash,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        on_conn!(self, |c| email_tokens::consume(&c, hash, at))
    }

    async fn purge_expired_email_tokens(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        on_conn!(self, |c| purge::delete(&c, purge::EMAIL_TOKENS, now))
    }
}

#[async_trait::async_trait]
impl SessionStore for PgStore {
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        on_conn!(self, |c| sessions::insert(&c, session))
    }

    async fn session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        on_conn!(self, |c| sessions::get_one(&c, id))
    }

    async fn session_with_owner(
        &self,
        id: SessionId,
        _claimed_user: Option<UserId>,
    ) -> Result<Option<(Session, Option<SessionOwner>)>, StoreError> {
        // The hot path: every authenticated request when sessions are checked. One statement
        // follows the session to its user, so the token's claimed user is not needed.
        on_conn!(self, |c| sessions::with_owner(&c, id))
    }

    async fn rotate_refresh(
        &self,
        id: SessionId,
        expected_generation: u64,
        next: &RefreshState,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        on_conn!(self, |c| sessions::rotate(
            &c,
            id,
            expected_generation,
            next,
            now
        ))
    }

    async fn revoke_session(
        &self,
        id: SessionId,
        at: DateTime<Utc>,
        reason: RevokeReason,
    ) -> Result<bool, StoreError> {
        on_conn!(self, |c| sessions::revoke(&c, id, at, reason))
    }

    async fn sessions_of_user(&self, user: UserId) -> Result<Vec<Session>, StoreError> {
        on_conn!(self, |c| sessions::of_user(&c, user))
    }

    async fn revoke_user_sessions(
        &self,
        user: UserId,
        except: Option<SessionId>,
        at: DateTime<Utc>,
        reason: RevokeReason,
    ) -> Result<u64, StoreError> {
        on_conn!(self, |c| sessions::revoke_all_of_user(
            &c, user, except, at, reason
        ))
    }

    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        on_conn!(self, |c| purge::delete(&c, purge::SESSIONS, now))
    }
}

#[async_trait::async_trait]
impl CounterStore for PgStore {
    async fn hit_counter(
        &self,
        key: &str,
        window_ends: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Counter, StoreError> {
        on_conn!(self, |c| counters::hit(&c, key, window_ends, now))
    }

    async fn add_failure(
        &self,
        key: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Failures, StoreError> {
        on_conn!(self, |c| counters::add_failure(&c, key, at, expires_at))
    }

    async fn failures(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Failures>, StoreError> {
        on_conn!(self, |c| counters::failures(&c, key, now))
    }

    async fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        on_conn!(self, |c| counters::clear_failures(&c, key))
    }

    async fn purge_expired_counters(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        on_conn!(self, |c| purge::counters(&c, now))
    }
}
