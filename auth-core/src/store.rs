//! The [`Store`] trait: everything the core keeps (users, SMS challenges, sessions, counters),
//! named after what the core needs rather than as a generic key-value API.
//!
//! # Atomicity
//! Each method says what must be atomic. The security of the library rests on the methods
//! marked **compare-and-set**: two concurrent calls must never both succeed, also across
//! processes sharing one database. Implement them as one conditional `UPDATE`, a transaction,
//! a Lua script or `MULTI/WATCH` — never as a read followed by a write.
//!
//! # Records
//! Every record must read back exactly as written: all fields, timestamps to at least the
//! millisecond (the core writes millisecond-precision-safe times; keep nanoseconds if you
//! can), IPv4-mapped IPv6 addresses as IPv6, an empty user agent as `Some("")`.
//! Inserting a challenge or session whose id exists is [`StoreError::Conflict`] with
//! [`UniqueField::Id`]. Counter keys are case-sensitive opaque strings.
//!
//! # Errors
//! Return [`StoreError::Unavailable`] whenever the backend cannot answer: the core then fails
//! closed with `store_unavailable` (503). Never report success for a write that did not happen.
//!
//! The test kit's `run_store_conformance` checks an implementation against all of this.

use std::net::IpAddr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::account::{Email, User, Username};
use crate::challenge::Challenge;
use crate::email_token::EmailToken;
use crate::ids::{ChallengeId, SessionId, UserId};
use crate::phone::Phone;
use crate::secret::SecretHash;
use crate::session::{RefreshState, RevokeReason, Session, SessionOwner};

/// Which unique field a conflicting write collided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueField {
    /// The phone number.
    Phone,
    /// The email address.
    Email,
    /// The username.
    Username,
    /// The record's id.
    Id,
}

/// A store failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A unique field is already taken by another record.
    #[error("unique constraint violated on {0:?}")]
    Conflict(UniqueField),
    /// The backend could not be reached or failed; the text is for logs only.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// Shorthand for [`StoreError::Unavailable`] from any displayable error.
    pub fn unavailable(err: impl std::fmt::Display) -> Self {
        Self::Unavailable(err.to_string())
    }
}

/// A fixed-window counter as it stands after a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// Hits in the current window, this one included.
    pub count: u64,
    /// When the current window ends and the count starts again from zero.
    pub resets_at: DateTime<Utc>,
}

/// A consecutive-failure count as it stands after a failure (see [`Store::add_failure`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    /// Consecutive failures counted since the count last started.
    pub count: u32,
    /// When the latest failure happened.
    pub last_at: DateTime<Utc>,
    /// When the count is forgotten (the store may delete it from then on).
    pub expires_at: DateTime<Utc>,
}

/// Persistence for the core.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // ---- users ----

    /// Inserts a new user. **Atomic**: fails with [`StoreError::Conflict`] when the id, phone,
    /// email or username is already taken, even when two callers insert the same phone at once.
    async fn create_user(&self, user: &User) -> Result<(), StoreError>;

    /// The user with this id.
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError>;

    /// The user with this (normalized) phone number.
    async fn user_by_phone(&self, phone: &Phone) -> Result<Option<User>, StoreError>;

    /// The user with this (normalized) email.
    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;

    /// The user with this (normalized) username.
    async fn user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError>;

    /// Replaces the stored record of `user.id` (last writer wins), except `created_at` and the
    /// login statistics (`login_count`, `last_login_*`, `current_login_*`), which keep their
    /// stored values: only [`Store::record_login`] changes those, so a login that lands between
    /// the core's read and this write is never lost. **Atomic** with respect to uniqueness:
    /// [`StoreError::Conflict`] when a changed phone, email or username is taken.
    /// Returns `false` when there is no such user.
    async fn update_user(&self, user: &User) -> Result<bool, StoreError>;

    /// Records a successful login. **Atomic** increment: `login_count += 1`, the current login
    /// time and IP become the last ones, and `(at, ip)` the current ones. `false` when there is
    /// no such user.
    async fn record_login(
        &self,
        id: UserId,
        at: DateTime<Utc>,
        ip: Option<IpAddr>,
    ) -> Result<bool, StoreError>;

    // ---- SMS challenges ----

    /// Inserts a new challenge.
    async fn insert_challenge(&self, challenge: &Challenge) -> Result<(), StoreError>;

    /// The challenge with this id, in whatever state it is.
    async fn challenge(&self, id: ChallengeId) -> Result<Option<Challenge>, StoreError>;

    /// Reserves one verification attempt. **Compare-and-set**: when the challenge exists, is not
    /// consumed and has made fewer than `max_attempts` attempts, increments `attempts` and
    /// returns the new count; otherwise returns `None` and changes nothing. Concurrent callers
    /// never get more than `max_attempts` reservations in total.
    async fn claim_challenge_attempt(
        &self,
        id: ChallengeId,
        max_attempts: u32,
    ) -> Result<Option<u32>, StoreError>;

    /// Marks the challenge consumed. **Compare-and-set**: returns `true` for exactly one caller,
    /// the first, and `false` when it was already consumed or does not exist.
    async fn consume_challenge(
        &self,
        id: ChallengeId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    // ---- emailed one-time tokens ----

    /// Inserts a new emailed token ([`StoreError::Conflict`] with [`UniqueField::Id`] when its
    /// hash exists).
    async fn insert_email_token(&self, token: &EmailToken) -> Result<(), StoreError>;

    /// The token with this hash, in whatever state it is.
    async fn email_token(&self, hash: &SecretHash) -> Result<Option<EmailToken>, StoreError>;

    /// Marks the token used. **Compare-and-set**: `true` for exactly one caller, the first;
    /// `false` when already used or unknown.
    async fn consume_email_token(
        &self,
        hash: &SecretHash,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    // ---- sessions ----

    /// Inserts a new session.
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError>;

    /// The session with this id, active or revoked.
    async fn session(&self, id: SessionId) -> Result<Option<Session>, StoreError>;

    /// The session with this id (active or revoked) and what a request needs of its user,
    /// read together: `Auth::authenticate` calls this on every request when sessions are
    /// checked, so a store should answer it in one round trip (one SQL statement, one script).
    /// `None` when there is no such session; the owner is `None` when the session's user no
    /// longer exists.
    ///
    /// `claimed_user` is the user the access token names (a JWT's `sub`; `None` for opaque
    /// tokens, which name only the session). A store whose session lookup cannot also follow
    /// the session to its user in the same round trip may read this user *beside* the session
    /// instead of *after* it. It is only a hint: the owner returned is always the session's
    /// own user (or `None`), whatever `claimed_user` says, and a store may ignore it.
    ///
    /// The default calls [`Store::session`] then [`Store::user_by_id`], which is correct for
    /// any store; override it only to make it faster. It need not be atomic: the two reads
    /// may see different moments.
    async fn session_with_owner(
        &self,
        id: SessionId,
        claimed_user: Option<UserId>,
    ) -> Result<Option<(Session, Option<SessionOwner>)>, StoreError> {
        let _ = claimed_user;
        let Some(session) = self.session(id).await? else {
            return Ok(None);
        };
        let owner = self
            .user_by_id(session.user_id)
            .await?
            .map(|user| SessionOwner::of(&user));
        Ok(Some((session, owner)))
    }

    /// Rotates the refresh token. **Compare-and-set**: when the session is active and its
    /// refresh generation is still `expected_generation`, stores `next` as its refresh state,
    /// sets `last_used_at = now` and returns `true`. Otherwise changes nothing and returns
    /// `false`. Of many concurrent callers with the same expected generation, exactly one wins.
    async fn rotate_refresh(
        &self,
        id: SessionId,
        expected_generation: u64,
        next: &RefreshState,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Revokes one session. **Compare-and-set**: `true` when it was active and is now revoked,
    /// `false` when it was already revoked or does not exist.
    async fn revoke_session(
        &self,
        id: SessionId,
        at: DateTime<Utc>,
        reason: RevokeReason,
    ) -> Result<bool, StoreError>;

    /// The user's sessions that are not revoked (expired ones may be included; the core
    /// filters them), newest first.
    async fn sessions_of_user(&self, user: UserId) -> Result<Vec<Session>, StoreError>;

    /// Revokes every active session of the user except `except`. **Atomic** with respect to
    /// new refreshes: once it returns, none of those sessions can rotate again. Returns how many
    /// were revoked.
    async fn revoke_user_sessions(
        &self,
        user: UserId,
        except: Option<SessionId>,
        at: DateTime<Utc>,
        reason: RevokeReason,
    ) -> Result<u64, StoreError>;

    // ---- counters (rate limits and lockouts) ----

    /// Counts one hit on a fixed-window counter. **Atomic increment**: when the counter does not
    /// exist or its window has ended (`resets_at <= now`), it restarts at 1 with
    /// `resets_at = window_ends`; otherwise `count += 1` and `resets_at` stays. Returns the
    /// counter after the hit. Keys are opaque ASCII strings of at most 200 bytes.
    async fn hit_counter(
        &self,
        key: &str,
        window_ends: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Counter, StoreError>;

    /// Adds one failure to a consecutive-failure count (lockouts, failure caps). **Atomic
    /// increment**: when the count does not exist or has expired (`expires_at <= at`), it
    /// restarts at 1; otherwise `count += 1` (saturating at `u32::MAX`). Either way the count's
    /// `last_at` becomes `at` and its `expires_at` becomes `expires_at`. Returns the count after
    /// the failure. Keys are opaque ASCII strings of at most 200 bytes.
    async fn add_failure(
        &self,
        key: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Failures, StoreError>;

    /// The consecutive-failure count of `key` as it stands at `now`: `None` when there is
    /// none or it has expired (`expires_at <= now`).
    async fn failures(&self, key: &str, now: DateTime<Utc>)
    -> Result<Option<Failures>, StoreError>;

    /// Forgets the consecutive-failure count of `key` (nothing happens when there is none).
    async fn clear_failures(&self, key: &str) -> Result<(), StoreError>;

    // ---- housekeeping ----

    /// Deletes challenges, emailed tokens, counters, failure counts and sessions that can no
    /// longer be used at `now`: challenges and emailed tokens past `expires_at`, counters past
    /// `resets_at`, failure counts past `expires_at`, sessions (active or revoked) past
    /// `expires_at`. Consumed challenges and revoked sessions that have not expired must be
    /// kept: the core reads them to answer `challenge_consumed` and to detect refresh-token
    /// reuse. Users are never purged. Returns how many records were removed.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}
