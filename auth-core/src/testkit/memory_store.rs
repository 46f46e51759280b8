//! A real, concurrent in-memory store of every record (all the traits of [`crate::store`]):
//! one mutex over plain maps, so every method is trivially atomic. Good for tests and single-process demos; nothing survives a restart.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::account::{Email, User, Username};
use crate::challenge::Challenge;
use crate::email_token::EmailToken;
use crate::ids::{ChallengeId, SessionId, UserId};
use crate::phone::Phone;
use crate::secret::SecretHash;
use crate::session::{RefreshState, RevokeReason, Session, SessionOwner, SessionStatus};
use crate::store::{
    ChallengeStore, Counter, CounterStore, Failures, OneTimeTokenStore, SessionStore, StoreError,
    UniqueField, UserStore,
};

/// In-memory store. Clones share the same data. [`MemoryStore::set_unavailable`] simulates an
/// outage.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    unavailable: bool,
    users: HashMap<UserId, User>,
    by_phone: HashMap<String, UserId>,
    by_email: HashMap<String, UserId>,
    by_username: HashMap<String, UserId>,
    challenges: HashMap<ChallengeId, Challenge>,
    email_tokens: HashMap<SecretHash, EmailToken>,
    sessions: HashMap<SessionId, Session>,
    counters: HashMap<String, Counter>,
    failures: HashMap<String, Failures>,
    /// Writes that changed (or may have changed) the data, for [`MemoryStore::writes`].
    writes: u64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every following call fail with [`StoreError::Unavailable`] (`true`) or work
    /// again (`false`).
    pub fn set_unavailable(&self, unavailable: bool) {
        self.guard().unavailable = unavailable;
    }

    /// How many sessions are stored (any state).
    pub fn session_count(&self) -> usize {
        self.guard().sessions.len()
    }

    /// How many writes have changed the stored data so far (successful inserts, updates,
    /// compare-and-sets that won, counter hits, purges): compare it before and after a call to
    /// prove that two paths do the same store work.
    pub fn writes(&self) -> u64 {
        self.guard().writes
    }

    /// How many challenges are stored (any state).
    pub fn challenge_count(&self) -> usize {
        self.guard().challenges.len()
    }

    fn guard(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        let guard = self.guard();
        if guard.unavailable {
            return Err(StoreError::Unavailable(
                "memory store set unavailable".to_owned(),
            ));
        }
        Ok(guard)
    }
}

/// The user fields with a unique index.
#[derive(Debug, Clone, Copy)]
enum IndexedField {
    Phone,
    Email,
    Username,
}

impl From<IndexedField> for UniqueField {
    fn from(f: IndexedField) -> Self {
        match f {
            IndexedField::Phone => Self::Phone,
            IndexedField::Email => Self::Email,
            IndexedField::Username => Self::Username,
        }
    }
}

impl State {
    /// The indexed unique keys of a user.
    fn unique_keys(user: &User) -> Vec<(IndexedField, String)> {
        let mut keys = Vec::new();
        keys.extend(
            user.phone
                .as_ref()
                .map(|p| (IndexedField::Phone, p.as_str().to_owned())),
        );
        keys.extend(
            user.email
                .as_ref()
                .map(|e| (IndexedField::Email, e.as_str().to_owned())),
        );
        keys.extend(
            user.username
                .as_ref()
                .map(|u| (IndexedField::Username, u.as_str().to_owned())),
        );
        keys
    }

    fn index(&mut self, field: IndexedField) -> &mut HashMap<String, UserId> {
        match field {
            IndexedField::Phone => &mut self.by_phone,
            IndexedField::Email => &mut self.by_email,
            IndexedField::Username => &mut self.by_username,
        }
    }

    fn check_unique(&mut self, user: &User) -> Result<(), StoreError> {
        for (field, key) in Self::unique_keys(user) {
            if self
                .index(field)
                .get(&key)
                .is_some_and(|owner| *owner != user.id)
            {
                return Err(StoreError::Conflict(field.into()));
            }
        }
        Ok(())
    }

    fn unindex(&mut self, user: &User) {
        for (field, key) in Self::unique_keys(user) {
            self.index(field).remove(&key);
        }
    }

    fn reindex(&mut self, user: &User) {
        for (field, key) in Self::unique_keys(user) {
            self.index(field).insert(key, user.id);
        }
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        if s.users.contains_key(&user.id) {
            return Err(StoreError::Conflict(UniqueField::Id));
        }
        s.check_unique(user)?;
        s.reindex(user);
        s.users.insert(user.id, user.clone());
        s.writes += 1;
        Ok(())
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self.lock()?.users.get(&id).cloned())
    }

    async fn user_by_phone(&self, phone: &Phone) -> Result<Option<User>, StoreError> {
        let s = self.lock()?;
        Ok(s.by_phone
            .get(phone.as_str())
            .and_then(|id| s.users.get(id))
            .cloned())
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let s = self.lock()?;
        Ok(s.by_email
            .get(email.as_str())
            .and_then(|id| s.users.get(id))
            .cloned())
    }

    async fn user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        let s = self.lock()?;
        Ok(s.by_username
            .get(username.as_str())
            .and_then(|id| s.users.get(id))
            .cloned())
    }

    async fn update_user(&self, user: &User) -> Result<bool, StoreError> {
        let mut s = self.lock()?;
        let Some(old) = s.users.get(&user.id).cloned() else {
            return Ok(false);
        };
        s.check_unique(user)?;
        s.unindex(&old);
        s.reindex(user);
        let updated = User {
            created_at: old.created_at,
            login_count: old.login_count,
            last_login_at: old.last_login_at,
            last_login_ip: old.last_login_ip,
            current_login_at: old.current_login_at,
            current_login_ip: old.current_login_ip,
            ..user.clone()
        };
        s.users.insert(user.id, updated);
        s.writes += 1;
        Ok(true)
    }

    async fn record_login(
        &self,
        id: UserId,
        at: DateTime<Utc>,
        ip: Option<IpAddr>,
    ) -> Result<bool, StoreError> {
        let mut s = self.lock()?;
        let Some(u) = s.users.get_mut(&id) else {
            return Ok(false);
        };
        u.login_count += 1;
        u.last_login_at = u.current_login_at;
        u.last_login_ip = u.current_login_ip;
        u.current_login_at = Some(at);
        u.current_login_ip = ip;
        s.writes += 1;
        Ok(true)
    }
}

#[async_trait]
impl ChallengeStore for MemoryStore {
    async fn insert_challenge(&self, challenge: &Challenge) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        if s.challenges.contains_key(&challenge.id) {
            return Err(StoreError::Conflict(UniqueField::Id));
        }
        s.challenges.insert(challenge.id, challenge.clone());
        s.writes += 1;
        Ok(())
    }

    async fn challenge(&self, id: ChallengeId) -> Result<Option<Challenge>, StoreError> {
        Ok(self.lock()?.challenges.get(&id).cloned())
    }

    async fn claim_challenge_attempt(
        &self,
        id: ChallengeId,
        max_attempts: u32,
    ) -> Result<Option<u32>, StoreError> {
        let mut guard = self.lock()?;
        let s = &mut *guard;
        match s.challenges.get_mut(&id) {
            Some(c) if c.consumed_at.is_none() && c.attempts < max_attempts => {
                c.attempts += 1;
                s.writes += 1;
                Ok(Some(c.attempts))
            }
            _ => Ok(None),
        }
    }

    async fn consume_challenge(
        &self,
        id: ChallengeId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut s = self.lock()?;
        match s.challenges.get_mut(&id) {
            Some(c) if c.consumed_at.is_none() => {
                c.consumed_at = Some(at);
                s.writes += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn purge_expired_challenges(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut s = self.lock()?;
        let before = s.challenges.len();
        s.challenges.retain(|_, c| c.expires_at > now);
        let removed = before - s.challenges.len();
        s.writes += 1;
        Ok(removed as u64)
    }
}

#[async_trait]
impl OneTimeTokenStore for MemoryStore {
    async fn insert_email_token(&self, token: &EmailToken) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        if s.email_tokens.contains_key(&token.hash) {
            return Err(StoreError::Conflict(UniqueField::Id));
        }
        s.email_tokens.insert(token.hash, token.clone());
        s.writes += 1;
        Ok(())
    }

    async fn email_token(&self, hash: &SecretHash) -> Result<Option<EmailToken>, StoreError> {
        Ok(self.lock()?.email_tokens.get(hash).cloned())
    }

    async fn consume_email_token(
        &self,
        hash: &SecretHash,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut s = self.lock()?;
        match s.email_tokens.get_mut(hash) {
            Some(t) if t.consumed_at.is_none() => {
                t.consumed_at = Some(at);
                s.writes += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn purge_expired_email_tokens(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut s = self.lock()?;
        let before = s.email_tokens.len();
        s.email_tokens.retain(|_, t| t.expires_at > now);
        let removed = before - s.email_tokens.len();
        s.writes += 1;
        Ok(removed as u64)
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        if s.sessions.contains_key(&session.id) {
            return Err(StoreError::Conflict(UniqueField::Id));
        }
        s.sessions.insert(session.id, session.clone());
        s.writes += 1;
        Ok(())
    }

    async fn session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        Ok(self.lock()?.sessions.get(&id).cloned())
    }

    async fn session_with_owner(
        &self,
        id: SessionId,
        _claimed_user: Option<UserId>,
    ) -> Result<Option<(Session, Option<SessionOwner>)>, StoreError> {
        let s = self.lock()?;
        Ok(s.sessions.get(&id).map(|session| {
            let owner = s.users.get(&session.user_id).map(SessionOwner::of);
            (session.clone(), owner)
        }))
    }

    async fn rotate_refresh(
        &self,
        id: SessionId,
        expected_generation: u64,
        next: &RefreshState,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut s = self.lock()?;
        match s.sessions.get_mut(&id) {
            Some(sess)
                if sess.status == SessionStatus::Active
                    && sess.refresh.generation == expected_generation =>
            {
                sess.refresh = *next;
                sess.last_used_at = now;
                s.writes += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn revoke_session(
        &self,
        id: SessionId,
        at: DateTime<Utc>,
        reason: RevokeReason,
    ) -> Result<bool, StoreError> {
        let mut s = self.lock()?;
        match s.sessions.get_mut(&id) {
            Some(sess) if sess.status == SessionStatus::Active => {
                sess.status = SessionStatus::Revoked { at, reason };
                s.writes += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn sessions_of_user(&self, user: UserId) -> Result<Vec<Session>, StoreError> {
        let s = self.lock()?;
        Ok(s.sessions
            .values()
            .filter(|x| x.user_id == user && x.status == SessionStatus::Active)
            .cloned()
            .collect())
    }

    async fn revoke_user_sessions(
        &self,
        user: UserId,
        except: Option<SessionId>,
        at: DateTime<Utc>,
        reason: RevokeReason,
    ) -> Result<u64, StoreError> {
        let mut s = self.lock()?;
        let mut n = 0;
        for sess in s.sessions.values_mut() {
            if sess.user_id == user
                && sess.status == SessionStatus::Active
                && Some(sess.id) != except
            {
                sess.status = SessionStatus::Revoked { at, reason };
                n += 1;
            }
        }
        s.writes += 1;
        Ok(n)
    }

    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut s = self.lock()?;
        let before = s.sessions.len();
        s.sessions.retain(|_, x| x.expires_at > now);
        let removed = before - s.sessions.len();
        s.writes += 1;
        Ok(removed as u64)
    }
}

#[async_trait]
impl CounterStore for MemoryStore {
    async fn hit_counter(
        &self,
        key: &str,
        window_ends: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Counter, StoreError> {
        let mut guard = self.lock()?;
        let s = &mut *guard;
        let counter = s
            .counters
            .entry(key.to_owned())
            .and_modify(|c| {
                if c.resets_at <= now {
                    *c = Counter {
                        count: 1,
                        resets_at: window_ends,
                    };
                } else {
                    c.count += 1;
                }
            })
            .or_insert(Counter {
                count: 1,
                resets_at: window_ends,
            });
        s.writes += 1;
        Ok(*counter)
    }

    async fn add_failure(
        &self,
        key: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Failures, StoreError> {
        let mut guard = self.lock()?;
        let s = &mut *guard;
        let f = s.failures.entry(key.to_owned()).or_insert(Failures {
            count: 0,
            last_at: at,
            expires_at,
        });
        f.count = if f.expires_at <= at {
            1
        } else {
            f.count.saturating_add(1)
        };
        f.last_at = at;
        f.expires_at = expires_at;
        s.writes += 1;
        Ok(*f)
    }

    async fn failures(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Failures>, StoreError> {
        Ok(self
            .lock()?
            .failures
            .get(key)
            .copied()
            .filter(|f| f.expires_at > now))
    }

    async fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        s.failures.remove(key);
        s.writes += 1;
        Ok(())
    }

    async fn purge_expired_counters(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut s = self.lock()?;
        let before = s.counters.len() + s.failures.len();
        s.counters.retain(|_, c| c.resets_at > now);
        s.failures.retain(|_, f| f.expires_at > now);
        let removed = before - (s.counters.len() + s.failures.len());
        s.writes += 1;
        Ok(removed as u64)
    }
}
