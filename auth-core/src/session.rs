//! Server-side sessions: one per login on one device. A session carries the current refresh
//! token's generation and hash, and is either active or revoked; expiry (absolute lifetime and
//! idle timeout) is derived from the clock by [`Session::state`].
//!
//! ```text
//!  login ──► Active ──(refresh)──► Active (generation + 1)
//!              ├──(logout / reuse / password change / disable)──► Revoked
//!              └──(absolute lifetime or idle timeout passes)────► Expired
//! ```

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::account::{User, UserStatus};
use crate::ids::{SessionId, UserId};
use crate::secret::SecretHash;

/// Why a session was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RevokeReason {
    /// The user logged out of this session.
    Logout,
    /// The user revoked it from another session (`logout_all_other_sessions`, `DELETE /sessions/{id}`).
    RevokedByUser,
    /// The password was changed or reset.
    PasswordChanged,
    /// An already-rotated refresh token was presented: presumed theft.
    RefreshTokenReused,
    /// The account was disabled.
    UserDisabled,
    /// An admin revoked it.
    Admin,
}

impl RevokeReason {
    /// Stable name, for stores that keep text.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::RevokedByUser => "revoked_by_user",
            Self::PasswordChanged => "password_changed",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::UserDisabled => "user_disabled",
            Self::Admin => "admin",
        }
    }
    /// Parses [`RevokeReason::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "logout" => Self::Logout,
            "revoked_by_user" => Self::RevokedByUser,
            "password_changed" => Self::PasswordChanged,
            "refresh_token_reused" => Self::RefreshTokenReused,
            "user_disabled" => Self::UserDisabled,
            "admin" => Self::Admin,
            _ => return None,
        })
    }
}

/// The current refresh token of a session: its generation (0 at login, +1 per rotation), the
/// keyed hash of its secret, and when it was issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshState {
    /// Rotations so far.
    pub generation: u64,
    /// Keyed hash of the current refresh secret.
    pub hash: SecretHash,
    /// When the current refresh token was issued.
    pub issued_at: DateTime<Utc>,
}

/// Whether a session is still active, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStatus {
    /// Usable (unless expired).
    Active,
    /// Revoked for good.
    Revoked {
        /// When.
        at: DateTime<Utc>,
        /// Why.
        reason: RevokeReason,
    },
}

/// One session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Its id.
    pub id: SessionId,
    /// Whose it is.
    pub user_id: UserId,
    /// Login time.
    pub created_at: DateTime<Utc>,
    /// Last login or refresh.
    pub last_used_at: DateTime<Utc>,
    /// Absolute end of life.
    pub expires_at: DateTime<Utc>,
    /// Client IP at login, as passed in by the caller.
    pub ip: Option<IpAddr>,
    /// Client user agent at login, as passed in by the caller (at most 512 characters).
    pub user_agent: Option<String>,
    /// The current refresh token.
    pub refresh: RefreshState,
    /// Active or revoked.
    pub status: SessionStatus,
}

/// The state a session is in at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionState {
    /// Usable.
    Live,
    /// Revoked.
    Revoked(RevokeReason),
    /// Past its absolute lifetime or idle timeout.
    Expired,
}

impl Session {
    /// The state at `now` given the idle timeout. Revocation wins over expiry.
    pub(crate) fn state(&self, now: DateTime<Utc>, idle_timeout: chrono::Duration) -> SessionState {
        match self.status {
            SessionStatus::Revoked { reason, .. } => SessionState::Revoked(reason),
            SessionStatus::Active if now >= self.expires_at => SessionState::Expired,
            SessionStatus::Active if now >= self.last_used_at + idle_timeout => {
                SessionState::Expired
            }
            SessionStatus::Active => SessionState::Live,
        }
    }

    /// When refreshing stops working if the session stays idle.
    pub(crate) fn refresh_deadline(&self, idle_timeout: chrono::Duration) -> DateTime<Utc> {
        self.expires_at.min(self.last_used_at + idle_timeout)
    }
}

/// The live sessions of `user` at `now`, newest first, out of what
/// [`SessionStore::sessions_of_user`](crate::store::SessionStore::sessions_of_user) gives (its
/// sessions that are not revoked, in any order, expired ones included): what the flows that
/// list sessions show.
pub(crate) fn live_newest_first(
    user: UserId,
    mut sessions: Vec<Session>,
    now: DateTime<Utc>,
    idle_timeout: chrono::Duration,
) -> Vec<Session> {
    sessions.retain(|s| s.user_id == user && s.state(now, idle_timeout) == SessionState::Live);
    sessions.sort_by_key(|s| std::cmp::Reverse(s.created_at));
    sessions
}

/// `Ok` when the session is live at `now`, else the error a client gets for it.
pub(crate) fn live(
    session: &Session,
    now: DateTime<Utc>,
    idle: chrono::Duration,
) -> Result<(), crate::AuthError> {
    match session.state(now, idle) {
        SessionState::Live => Ok(()),
        SessionState::Revoked(_) => Err(crate::AuthError::TokenRevoked),
        SessionState::Expired => Err(crate::AuthError::TokenExpired),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn expiry_and_revocation() {
        let now = Utc::now();
        let mut s = Session {
            id: SessionId::new_random(),
            user_id: UserId::new_random(),
            created_at: now,
            last_used_at: now,
            expires_at: now + Duration::days(60),
            ip: None,
            user_agent: None,
            refresh: RefreshState {
                generation: 0,
                hash: SecretHash::from_bytes([0; 32]),
                issued_at: now,
            },
            status: SessionStatus::Active,
        };
        let idle = Duration::days(14);
        assert_eq!(s.state(now, idle), SessionState::Live);
        assert_eq!(
            s.state(now + Duration::days(14), idle),
            SessionState::Expired
        );
        s.last_used_at = now + Duration::days(50);
        assert_eq!(s.state(now + Duration::days(59), idle), SessionState::Live);
        assert_eq!(
            s.state(now + Duration::days(60), idle),
            SessionState::Expired
        );
        assert_eq!(s.refresh_deadline(idle), now + Duration::days(60));
        s.status = SessionStatus::Revoked {
            at: now,
            reason: RevokeReason::Logout,
        };
        assert_eq!(
            s.state(now, idle),
            SessionState::Revoked(RevokeReason::Logout)
        );
        for r in [
            RevokeReason::Logout,
            RevokeReason::RefreshTokenReused,
            RevokeReason::Admin,
        ] {
            assert_eq!(RevokeReason::parse(r.as_str()), Some(r));
        }
    }
}

/// What a request needs to know about a session's user, read with the session on every
/// authenticated request ([`SessionStore::session_with_owner`](crate::store::SessionStore::session_with_owner)): whether the account may still
/// act, and its current roles (so a revoked role stops working at once, whatever the access
/// token says).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOwner {
    /// The user's id.
    pub user_id: UserId,
    /// The account's status now.
    pub status: UserStatus,
    /// The account's roles now.
    pub roles: Vec<String>,
}

impl SessionOwner {
    /// The owner part of a stored user.
    pub fn of(user: &User) -> Self {
        Self {
            user_id: user.id,
            status: user.status,
            roles: user.roles.clone(),
        }
    }
}
