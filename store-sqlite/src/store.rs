//! The store traits of `auth-core` for [`SqliteStore`] (all of them, so it is a `Store` and a
//! `OneTimeTokenStore`): each method moves its arguments into one closure that runs on
//! a connection (see `pool.rs`) and calls the SQL of its table's module.

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

use crate::SqliteStore;
use crate::users::Lookup;
use crate::{challenges, counters, email_tokens, purge, sessions, users};

#[async_trait::async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let user = user.clone();
        self.write(move |c| users::create(c, &user)).await
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.read(move |c| users::find(c, Lookup::Id, &id.as_uuid().as_bytes().as_slice()))
            .await
    }

    async fn user_by_phone(&self, phone: &Phone) -> Result<Option<User>, StoreError> {
        let phone = phone.as_str().to_owned();
        self.read(move |c| users::find(c, Lookup::Phone, &phone))
            .await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let email = email.as_str().to_owned();
        self.read(move |c| users::find(c, Lookup::Email, &email))
            .await
    }

    async fn user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        let username = username.as_str().to_owned();
        self.read(move |c| users::find(c, Lookup::Username, &username))
            .await
    }

    async fn update_user(&self, user: &User) -> Result<bool, StoreError> {
        let user = user.clone();
        self.write(move |c| users::update(c, &user)).await
    }

    async fn record_login(
        &self,
        id: UserId,
        at: DateTime<Utc>,
        ip: Option<IpAddr>,
    ) -> Result<bool, StoreError> {
        self.saw(at);
        self.write(move |c| users::record_login(c, id, at, ip))
            .await
    }
}

#[async_trait::async_trait]
impl ChallengeStore for SqliteStore {
    async fn insert_challenge(&self, challenge: &Challenge) -> Result<(), StoreError> {
        let challenge = challenge.clone();
        self.write(move |c| challenges::insert(c, &challenge)).await
    }

    async fn challenge(&self, id: ChallengeId) -> Result<Option<Challenge>, StoreError> {
        self.read(move |c| challenges::get(c, id)).await
    }

    async fn claim_challenge_attempt(
        &self,
        id: ChallengeId,
        max_attempts: u32,
    ) -> Result<Option<u32>, StoreError> {
        self.write(move |c| challenges::claim_attempt(c, id, max_attempts))
            .await
    }

    async fn consume_challenge(
        &self,
        id: ChallengeId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.saw(at);
        self.write(move |c| challenges::consume(c, id, at)).await
    }

    async fn purge_expired_challenges(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.purge(now, purge::CHALLENGES).await
    }
}

#[async_trait::async_trait]
impl OneTimeTokenStore for SqliteStore {
    async fn insert_email_token(&self, token: &EmailToken) -> Result<(), StoreError> {
        let token = token.clone();
        self.write(move |c| email_tokens::insert(c, &token)).await
    }

    async fn email_token(&self, hash: &SecretHash) -> Result<Option<EmailToken>, StoreError> {
        let hash = *hash;
        self.read(move |c| email_tokens::get(c, &hash)).await
    }

    async fn consume_email_token(
        &self,
        hash: &SecretHash,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.saw(at);
        let hash = *hash;
        self.write(move |c| email_tokens::consume(c, &hash, at))
            .await
    }

    async fn purge_expired_email_tokens(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.purge(now, purge::EMAIL_TOKENS).await
    }
}

#[async_trait::async_trait]
impl SessionStore for SqliteStore {
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        let session = session.clone();
        self.write(move |c| sessions::insert(c, &session)).await
    }

    async fn session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        self.read(move |c| sessions::get(c, id)).await
    }

    async fn session_with_owner(
        &self,
        id: SessionId,
        _claimed_user: Option<UserId>,
    ) -> Result<Option<(Session, Option<SessionOwner>)>, StoreError> {
        // The hot path: every authenticated request when sessions are checked. One statement
        // follows the session to its user, so the token's claimed user is not needed.
        self.inner
            .pool
            .read_now(move |c, cache| match cache {
                Some(cache) => cache.check(c, id),
                None => sessions::with_owner(c, id),
            })
            .await
    }

    async fn rotate_refresh(
        &self,
        id: SessionId,
        expected_generation: u64,
        next: &RefreshState,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.saw(now);
        let next = *next;
        self.write(move |c| sessions::rotate(c, id, expected_generation, &next, now))
            .await
    }

    async fn revoke_session(
        &self,
        id: SessionId,
        at: DateTime<Utc>,
        reason: RevokeReason,
    ) -> Result<bool, StoreError> {
        self.saw(at);
        self.write(move |c| sessions::revoke(c, id, at, reason))
            .await
    }

    async fn sessions_of_user(&self, user: UserId) -> Result<Vec<Session>, StoreError> {
        self.read(move |c| sessions::of_user(c, user)).await
    }

    async fn revoke_user_sessions(
        &self,
        user: UserId,
        except: Option<SessionId>,
        at: DateTime<Utc>,
        reason: RevokeReason,
    ) -> Result<u64, StoreError> {
        self.saw(at);
        self.write(move |c| sessions::revoke_all_of_user(c, user, except, at, reason))
            .await
    }

    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.purge(now, purge::SESSIONS).await
    }
}

#[async_trait::async_trait]
impl CounterStore for SqliteStore {
    async fn hit_counter(
        &self,
        key: &str,
        window_ends: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Counter, StoreError> {
        self.saw(now);
        let key = key.to_owned();
        self.write(move |c| counters::hit(c, &key, window_ends, now))
            .await
    }

    async fn add_failure(
        &self,
        key: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Failures, StoreError> {
        self.saw(at);
        let key = key.to_owned();
        self.write(move |c| counters::add_failure(c, &key, at, expires_at))
            .await
    }

    async fn failures(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Failures>, StoreError> {
        let key = key.to_owned();
        self.read(move |c| counters::failures(c, &key, now)).await
    }

    async fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.write(move |c| counters::clear_failures(c, &key)).await
    }

    async fn purge_expired_counters(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.purge(now, purge::COUNTERS).await
    }
}
