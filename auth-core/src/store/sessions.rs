//! [`SessionStore`]: sessions (one per login on a device) and the compare-and-set steps of
//! their refresh tokens and revocation.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{StoreError, UserStore};
use crate::ids::{SessionId, UserId};
use crate::session::{RefreshState, RevokeReason, Session, SessionOwner};

/// Persistence of sessions. A session belongs to a user, so a session store is a
/// [`UserStore`] too: [`SessionStore::session_with_owner`] reads both.
#[async_trait]
pub trait SessionStore: UserStore {
    /// Inserts a new session ([`StoreError::Conflict`] with
    /// [`UniqueField::Id`](super::UniqueField::Id) when its id exists).
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
    /// The default calls [`SessionStore::session`] then [`UserStore::user_by_id`], which is
    /// correct for any store; override it only to make it faster. It need not be atomic: the
    /// two reads may see different moments.
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

    /// The user's sessions that are not revoked, in any order. Expired ones may be included:
    /// the core filters them out and sorts what is left itself.
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

    /// Deletes the sessions (active or revoked) past their `expires_at` at `now`. Revoked
    /// sessions that have not expired must be kept: the core reads them to detect
    /// refresh-token reuse. Returns how many were removed.
    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}
