//! [`AppStore`]: the store traits an SMS-only app needs ([`UserStore`], [`SessionStore`],
//! [`ChallengeStore`], [`CounterStore`], which make it a [`Store`](auth_core::Store)) over
//! [`AppDatabase`]. The app sends no mail, so it has no emailed tokens to keep and does not
//! implement `OneTimeTokenStore`. Each method takes the database lock once and does all its
//! checking and writing under it, so each is atomic.

use std::net::IpAddr;

use async_trait::async_trait;
use auth_core::challenge::Challenge;
use auth_core::session::{RefreshState, RevokeReason, Session, SessionStatus};
use auth_core::store::{
    ChallengeStore, Counter, CounterStore, Failures, SessionStore, UniqueField, UserStore,
};
use auth_core::{ChallengeId, Email, Phone, SessionId, StoreError, User, UserId, Username};
use chrono::{DateTime, Utc};

use crate::db::Tables;
use crate::{AccountRow, AppDatabase, row};

/// The app's store: users in its existing `users` table, sessions, SMS challenges and
/// counters in tables of their own. A [`Store`](auth_core::Store), since it implements the
/// four traits that make one.
#[derive(Debug, Clone)]
pub struct AppStore {
    db: AppDatabase,
}

impl AppStore {
    /// A store over the app's database.
    pub fn new(db: AppDatabase) -> Self {
        Self { db }
    }
}

impl Tables {
    fn user_row(&self, pred: impl Fn(&AccountRow) -> bool) -> Result<Option<User>, StoreError> {
        self.users
            .iter()
            .find(|r| pred(r))
            .map(row::read_user)
            .transpose()
    }

    /// The unique field of `user` that another row (not `user.id`'s) already holds.
    fn taken(&self, user: &User) -> Option<UniqueField> {
        let phone = user.phone.as_ref().map(Phone::as_str);
        let email = user.email.as_ref().map(Email::as_str);
        let username = user.username.as_ref().map(Username::as_str);
        let id = user.id.as_uuid();
        self.users.iter().filter(|r| r.id != id).find_map(|r| {
            if phone.is_some() && r.phone.as_deref() == phone {
                Some(UniqueField::Phone)
            } else if email.is_some() && r.email.as_deref() == email {
                Some(UniqueField::Email)
            } else if username.is_some() && r.username.as_deref() == username {
                Some(UniqueField::Username)
            } else {
                None
            }
        })
    }
}

#[async_trait]
impl UserStore for AppStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let mut t = self.db.lock();
        if t.users.iter().any(|r| r.id == user.id.as_uuid()) {
            return Err(StoreError::Conflict(UniqueField::Id));
        }
        if let Some(field) = t.taken(user) {
            return Err(StoreError::Conflict(field));
        }
        t.users.push(row::new_row(user));
        Ok(())
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.db.lock().user_row(|r| r.id == id.as_uuid())
    }

    async fn user_by_phone(&self, phone: &Phone) -> Result<Option<User>, StoreError> {
        self.db
            .lock()
            .user_row(|r| r.phone.as_deref() == Some(phone.as_str()))
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        self.db
            .lock()
            .user_row(|r| r.email.as_deref() == Some(email.as_str()))
    }

    async fn user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        self.db
            .lock()
            .user_row(|r| r.username.as_deref() == Some(username.as_str()))
    }

    async fn update_user(&self, user: &User) -> Result<bool, StoreError> {
        let mut t = self.db.lock();
        if let Some(field) = t.taken(user) {
            return Err(StoreError::Conflict(field));
        }
        match t.users.iter_mut().find(|r| r.id == user.id.as_uuid()) {
            Some(existing) => {
                // Not created_at, not the login statistics, not the app's own columns.
                row::write_fields(existing, user);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn record_login(
        &self,
        id: UserId,
        at: DateTime<Utc>,
        ip: Option<IpAddr>,
    ) -> Result<bool, StoreError> {
        let mut t = self.db.lock();
        let Some(existing) = t.users.iter_mut().find(|r| r.id == id.as_uuid()) else {
            return Ok(false);
        };
        existing.login_count = existing.login_count.saturating_add(1);
        existing.last_login_at = existing.current_login_at.take();
        existing.last_login_ip = existing.current_login_ip.take();
        existing.current_login_at = Some(at);
        existing.current_login_ip = ip.map(|ip| ip.to_string());
        Ok(true)
    }
}

#[async_trait]
impl ChallengeStore for AppStore {
    async fn insert_challenge(&self, challenge: &Challenge) -> Result<(), StoreError> {
        let mut t = self.db.lock();
        if t.challenges.contains_key(&challenge.id) {
            return Err(StoreError::Conflict(UniqueField::Id));
        }
        t.challenges.insert(challenge.id, challenge.clone());
        Ok(())
    }

    async fn challenge(&self, id: ChallengeId) -> Result<Option<Challenge>, StoreError> {
        Ok(self.db.lock().challenges.get(&id).cloned())
    }

    async fn claim_challenge_attempt(
        &self,
        id: ChallengeId,
        max_attempts: u32,
    ) -> Result<Option<u32>, StoreError> {
        let mut t = self.db.lock();
        Ok(match t.challenges.get_mut(&id) {
            Some(c) if c.consumed_at.is_none() && c.attempts < max_attempts => {
                c.attempts += 1;
                Some(c.attempts)
            }
            _ => None,
        })
    }

    async fn consume_challenge(
        &self,
        id: ChallengeId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut t = self.db.lock();
        Ok(match t.challenges.get_mut(&id) {
            Some(c) if c.consumed_at.is_none() => {
                c.consumed_at = Some(at);
                true
            }
            _ => false,
        })
    }

    async fn purge_expired_challenges(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut t = self.db.lock();
        let before = t.challenges.len();
        t.challenges.retain(|_, c| c.expires_at > now);
        Ok(u64::try_from(before - t.challenges.len()).unwrap_or(u64::MAX))
    }
}

#[async_trait]
impl SessionStore for AppStore {
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        let mut t = self.db.lock();
        if t.sessions.contains_key(&session.id) {
            return Err(StoreError::Conflict(UniqueField::Id));
        }
        t.sessions.insert(session.id, session.clone());
        Ok(())
    }

    async fn session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        Ok(self.db.lock().sessions.get(&id).cloned())
    }

    // `session_with_owner` keeps its default: `session`, then `user_by_id`. It runs on every
    // authenticated request, so override it when your database can answer both in one
    // query (a join, one script); the conformance suite checks the override.

    async fn rotate_refresh(
        &self,
        id: SessionId,
        expected_generation: u64,
        next: &RefreshState,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut t = self.db.lock();
        Ok(match t.sessions.get_mut(&id) {
            Some(s)
                if s.status == SessionStatus::Active
                    && s.refresh.generation == expected_generation =>
            {
                s.refresh = *next;
                s.last_used_at = now;
                true
            }
            _ => false,
        })
    }

    async fn revoke_session(
        &self,
        id: SessionId,
        at: DateTime<Utc>,
        reason: RevokeReason,
    ) -> Result<bool, StoreError> {
        let mut t = self.db.lock();
        Ok(match t.sessions.get_mut(&id) {
            Some(s) if s.status == SessionStatus::Active => {
                s.status = SessionStatus::Revoked { at, reason };
                true
            }
            _ => false,
        })
    }

    async fn sessions_of_user(&self, user: UserId) -> Result<Vec<Session>, StoreError> {
        // In any order: the core sorts (and drops the expired ones) itself.
        let t = self.db.lock();
        Ok(t.sessions
            .values()
            .filter(|s| s.user_id == user && s.status == SessionStatus::Active)
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
        let mut t = self.db.lock();
        let mut revoked = 0;
        for s in t.sessions.values_mut() {
            if s.user_id == user && s.status == SessionStatus::Active && Some(s.id) != except {
                s.status = SessionStatus::Revoked { at, reason };
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut t = self.db.lock();
        let before = t.sessions.len();
        t.sessions.retain(|_, s| s.expires_at > now);
        Ok(u64::try_from(before - t.sessions.len()).unwrap_or(u64::MAX))
    }
}

#[async_trait]
impl CounterStore for AppStore {
    async fn hit_counter(
        &self,
        key: &str,
        window_ends: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Counter, StoreError> {
        let mut t = self.db.lock();
        let counter = match t.counters.get_mut(key) {
            Some(live) if live.resets_at > now => {
                live.count += 1;
                *live
            }
            // Absent, or its window ended: a new window starts with this hit.
            _ => {
                let fresh = Counter {
                    count: 1,
                    resets_at: window_ends,
                };
                t.counters.insert(key.to_owned(), fresh);
                fresh
            }
        };
        Ok(counter)
    }

    async fn add_failure(
        &self,
        key: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Failures, StoreError> {
        let mut t = self.db.lock();
        let count = match t.failures.get(key) {
            Some(live) if live.expires_at > at => live.count.saturating_add(1),
            // Absent, or expired at `at`: this failure starts a new count.
            _ => 1,
        };
        let failures = Failures {
            count,
            last_at: at,
            expires_at,
        };
        t.failures.insert(key.to_owned(), failures);
        Ok(failures)
    }

    async fn failures(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Failures>, StoreError> {
        // An expired count reads as none, whether or not it has been purged yet.
        let t = self.db.lock();
        Ok(t.failures.get(key).copied().filter(|f| f.expires_at > now))
    }

    async fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        self.db.lock().failures.remove(key);
        Ok(())
    }

    async fn purge_expired_counters(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut t = self.db.lock();
        let before = t.counters.len() + t.failures.len();
        t.counters.retain(|_, c| c.resets_at > now);
        t.failures.retain(|_, f| f.expires_at > now);
        Ok(u64::try_from(before - (t.counters.len() + t.failures.len())).unwrap_or(u64::MAX))
    }
}
