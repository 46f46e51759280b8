//! [`CachingStore`]: the app's store with the session cache in front of its session check
//! and the session events behind its revoking writes. `Auth` wraps its store in one when a
//! session cache is configured, so no flow can revoke without the cache hearing of it.

use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::cache::admits;
use super::{SessionEvent, SessionEventBus, SessionEventListener, Shared};
use crate::account::{Email, User, Username};
use crate::challenge::Challenge;
use crate::clock::Clock;
use crate::ids::{ChallengeId, SessionId, UserId};
use crate::phone::Phone;
use crate::session::{RefreshState, RevokeReason, Session, SessionOwner};
use crate::store::{
    ChallengeStore, Counter, CounterStore, Failures, SessionStore, Store, StoreError, UserStore,
};

/// The store wrapper. Every method but the ones below passes straight through:
/// * `session_with_owner` answers from the cache when it can, and caches live answers;
/// * `revoke_session`, `revoke_user_sessions` and `update_user`, when they changed
///   something, drop the stale answers here and publish the event to the other instances;
/// * `rotate_refresh` drops this session's answer here (its `last_used_at` moved).
pub(crate) struct CachingStore {
    store: Arc<dyn Store>,
    bus: Arc<dyn SessionEventBus>,
    cache: Arc<Shared>,
    clock: Arc<dyn Clock>,
    idle_timeout: chrono::Duration,
}

impl CachingStore {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        bus: Arc<dyn SessionEventBus>,
        cache: Arc<Shared>,
        clock: Arc<dyn Clock>,
        idle_timeout: chrono::Duration,
    ) -> Self {
        Self {
            store,
            bus,
            cache,
            clock,
            idle_timeout,
        }
    }

    /// Starts the bus's subscription if none is running (the first check, or after the
    /// bus's task ended).
    fn ensure_subscribed(&self) {
        if self.cache.claim_subscription() {
            let listener = SessionEventListener::new(&self.cache);
            if let Err(e) = self.bus.subscribe(listener) {
                tracing::warn!(error = %e, "session cache: cannot subscribe to session events; checks go to the store");
                self.cache.subscription_failed();
            }
        }
    }

    /// Passes a store answer on; a failure (the store is down) also empties the cache, so
    /// that an outage fails closed at once rather than when the cached answers age out.
    fn seen<T>(&self, answer: Result<T, StoreError>) -> Result<T, StoreError> {
        if matches!(answer, Err(StoreError::Unavailable(_))) {
            self.cache.clear();
        }
        answer
    }

    /// Applies `event` here, then tells the other instances. A failed publish is logged and
    /// otherwise ignored: the write it follows has happened, and the other instances' answers
    /// expire within the cache's `max_age` anyway.
    async fn changed(&self, event: SessionEvent) {
        self.cache.invalidate(event);
        if let Err(e) = self.bus.publish(event).await {
            tracing::warn!(error = %e, ?event, "session cache: publishing a session event failed; other instances may answer from their caches until max_age");
        }
    }

    /// Whether a cached or fresh answer lets a request through now.
    fn admits(&self, session: &Session, owner: &SessionOwner) -> bool {
        admits(session, owner, self.clock.now(), self.idle_timeout)
    }
}

#[async_trait]
impl UserStore for CachingStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        self.seen(self.store.create_user(user).await)
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.seen(self.store.user_by_id(id).await)
    }

    async fn user_by_phone(&self, phone: &Phone) -> Result<Option<User>, StoreError> {
        self.seen(self.store.user_by_phone(phone).await)
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        self.seen(self.store.user_by_email(email).await)
    }

    async fn user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        self.seen(self.store.user_by_username(username).await)
    }

    async fn update_user(&self, user: &User) -> Result<bool, StoreError> {
        let updated = self.seen(self.store.update_user(user).await)?;
        if updated {
            self.changed(SessionEvent::User(user.id)).await;
        }
        Ok(updated)
    }

    async fn record_login(
        &self,
        id: UserId,
        at: DateTime<Utc>,
        ip: Option<IpAddr>,
    ) -> Result<bool, StoreError> {
        self.seen(self.store.record_login(id, at, ip).await)
    }
}

#[async_trait]
impl SessionStore for CachingStore {
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        self.seen(self.store.insert_session(session).await)
    }

    async fn session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        self.seen(self.store.session(id).await)
    }

    async fn session_with_owner(
        &self,
        id: SessionId,
        claimed_user: Option<UserId>,
    ) -> Result<Option<(Session, Option<SessionOwner>)>, StoreError> {
        self.ensure_subscribed();
        if let Some((session, owner)) = self.cache.get(id)
            && self.admits(&session, &owner)
        {
            return Ok(Some((session, Some(owner))));
        }
        let ticket = self.cache.ticket();
        let answer = self.seen(self.store.session_with_owner(id, claimed_user).await)?;
        if let (Some(ticket), Some((session, Some(owner)))) = (ticket, &answer)
            && session.id == id
            && self.admits(session, owner)
        {
            self.cache.insert(ticket, session.clone(), owner.clone());
        }
        Ok(answer)
    }

    async fn rotate_refresh(
        &self,
        id: SessionId,
        expected_generation: u64,
        next: &RefreshState,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let rotated = self.seen(
            self.store
                .rotate_refresh(id, expected_generation, next, now)
                .await,
        )?;
        if rotated {
            self.cache.invalidate(SessionEvent::Session(id));
        }
        Ok(rotated)
    }

    async fn revoke_session(
        &self,
        id: SessionId,
        at: DateTime<Utc>,
        reason: RevokeReason,
    ) -> Result<bool, StoreError> {
        let revoked = self.seen(self.store.revoke_session(id, at, reason).await)?;
        if revoked {
            self.changed(SessionEvent::Session(id)).await;
        }
        Ok(revoked)
    }

    async fn sessions_of_user(&self, user: UserId) -> Result<Vec<Session>, StoreError> {
        self.seen(self.store.sessions_of_user(user).await)
    }

    async fn revoke_user_sessions(
        &self,
        user: UserId,
        except: Option<SessionId>,
        at: DateTime<Utc>,
        reason: RevokeReason,
    ) -> Result<u64, StoreError> {
        let revoked = self.seen(
            self.store
                .revoke_user_sessions(user, except, at, reason)
                .await,
        )?;
        if revoked > 0 {
            self.changed(SessionEvent::User(user)).await;
        }
        Ok(revoked)
    }

    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.seen(self.store.purge_expired_sessions(now).await)
    }
}

#[async_trait]
impl ChallengeStore for CachingStore {
    async fn insert_challenge(&self, challenge: &Challenge) -> Result<(), StoreError> {
        self.seen(self.store.insert_challenge(challenge).await)
    }

    async fn challenge(&self, id: ChallengeId) -> Result<Option<Challenge>, StoreError> {
        self.seen(self.store.challenge(id).await)
    }

    async fn claim_challenge_attempt(
        &self,
        id: ChallengeId,
        max_attempts: u32,
    ) -> Result<Option<u32>, StoreError> {
        self.seen(self.store.claim_challenge_attempt(id, max_attempts).await)
    }

    async fn consume_challenge(
        &self,
        id: ChallengeId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.seen(self.store.consume_challenge(id, at).await)
    }

    async fn purge_expired_challenges(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.seen(self.store.purge_expired_challenges(now).await)
    }
}

#[async_trait]
impl CounterStore for CachingStore {
    async fn hit_counter(
        &self,
        key: &str,
        window_ends: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Counter, StoreError> {
        self.seen(self.store.hit_counter(key, window_ends, now).await)
    }

    async fn add_failure(
        &self,
        key: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Failures, StoreError> {
        self.seen(self.store.add_failure(key, at, expires_at).await)
    }

    async fn failures(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Failures>, StoreError> {
        self.seen(self.store.failures(key, now).await)
    }

    async fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        self.seen(self.store.clear_failures(key).await)
    }

    async fn purge_expired_counters(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.seen(self.store.purge_expired_counters(now).await)
    }
}
