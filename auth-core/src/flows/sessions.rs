//! Refresh-token rotation with reuse detection, logout, and the user's own session list.

use crate::account::UserStatus;
use crate::api::{ClientInfo, RevokedCount, SessionInfo, TokenPair};
use crate::auth::{live, secs};
use crate::ids::SessionId;
use crate::session::{RefreshState, RevokeReason, SessionState};
use crate::token::access::Principal;
use crate::token::refresh::{Presented, RefreshToken};
use crate::{Auth, AuthError};

impl Auth {
    /// `POST /refresh`: rotates the refresh token and returns a new pair.
    ///
    /// * the current token: rotated atomically (of concurrent calls exactly one rotates);
    /// * the token rotated just before, within `session.refresh_grace_secs` of the rotation:
    ///   the same new refresh token again, with a fresh access token;
    /// * any older token, or the previous one after the grace window: reuse — the session is
    ///   revoked and the answer is `refresh_token_reused`;
    /// * anything else: `invalid_token`.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        _client: &ClientInfo,
    ) -> Result<TokenPair, AuthError> {
        let token = RefreshToken::parse(refresh_token).ok_or(AuthError::InvalidToken)?;
        let store = self.inner.store.as_ref();
        let keys = &self.inner.refresh_keys;
        let now = self.now();
        let idle = self.idle_timeout();
        // Two rounds: a lost rotation race re-reads the session once and then finds the
        // token to be the previous one.
        for _ in 0..2 {
            let session = store
                .session(token.session_id)
                .await?
                .ok_or(AuthError::InvalidToken)?;
            let presented = keys.classify(&session.refresh, &token);
            if presented == Presented::Unknown {
                return Err(AuthError::InvalidToken);
            }
            match session.state(now, idle) {
                SessionState::Live => {}
                SessionState::Revoked(RevokeReason::RefreshTokenReused) => {
                    return Err(AuthError::RefreshTokenReused);
                }
                SessionState::Revoked(_) => return Err(AuthError::TokenRevoked),
                SessionState::Expired => return Err(AuthError::TokenExpired),
            }
            match presented {
                Presented::Current => {
                    let next_secret = keys.next(&token.secret);
                    let next = RefreshState {
                        generation: session.refresh.generation + 1,
                        hash: keys.storage_hash(session.id, &next_secret),
                        issued_at: now,
                    };
                    if store
                        .rotate_refresh(session.id, session.refresh.generation, &next, now)
                        .await?
                    {
                        let mut rotated = session;
                        rotated.refresh = next;
                        rotated.last_used_at = now;
                        let user = self.session_user(&rotated).await?;
                        return self.token_pair(&user, &rotated, next_secret);
                    }
                    // Someone else rotated first: look again.
                }
                Presented::Previous { current } => {
                    if now - session.refresh.issued_at
                        <= secs(self.inner.config.session.refresh_grace_secs)
                    {
                        let user = self.session_user(&session).await?;
                        return self.token_pair(&user, &session, current);
                    }
                    return self.revoke_for_reuse(session.id).await;
                }
                Presented::Older => return self.revoke_for_reuse(session.id).await,
                Presented::Unknown => return Err(AuthError::InvalidToken),
            }
        }
        Err(AuthError::InvalidToken)
    }

    async fn revoke_for_reuse(&self, id: SessionId) -> Result<TokenPair, AuthError> {
        self.inner
            .store
            .revoke_session(id, self.now(), RevokeReason::RefreshTokenReused)
            .await?;
        tracing::warn!(session_id = %id, "refresh token reuse detected; session revoked");
        Err(AuthError::RefreshTokenReused)
    }

    async fn session_user(
        &self,
        session: &crate::session::Session,
    ) -> Result<crate::account::User, AuthError> {
        let user = self
            .inner
            .store
            .user_by_id(session.user_id)
            .await?
            .ok_or(AuthError::TokenRevoked)?;
        if user.status == UserStatus::Disabled {
            return Err(AuthError::AccountDisabled);
        }
        Ok(user)
    }

    /// `POST /logout`: revokes the principal's session; its refresh token and (unless
    /// stateless) its access tokens stop working at once.
    pub async fn logout(&self, principal: &Principal) -> Result<(), AuthError> {
        self.inner
            .store
            .revoke_session(principal.session_id, self.now(), RevokeReason::Logout)
            .await?;
        Ok(())
    }

    /// `POST /logout_all_other_sessions`: revokes every session of the user but the caller's.
    pub async fn logout_all_other_sessions(
        &self,
        principal: &Principal,
    ) -> Result<RevokedCount, AuthError> {
        let revoked = self
            .inner
            .store
            .revoke_user_sessions(
                principal.user_id,
                Some(principal.session_id),
                self.now(),
                RevokeReason::RevokedByUser,
            )
            .await?;
        Ok(RevokedCount { revoked })
    }

    /// `GET /sessions`: the user's live sessions, newest first.
    pub async fn list_sessions(
        &self,
        principal: &Principal,
    ) -> Result<Vec<SessionInfo>, AuthError> {
        let now = self.now();
        let idle = self.idle_timeout();
        let mut sessions = self.inner.store.sessions_of_user(principal.user_id).await?;
        sessions.retain(|s| s.user_id == principal.user_id && live(s, now, idle).is_ok());
        sessions.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        Ok(sessions
            .into_iter()
            .map(|s| SessionInfo {
                current: s.id == principal.session_id,
                session_id: s.id,
                created_at: s.created_at,
                last_used_at: s.last_used_at,
                ip: s.ip,
                user_agent: s.user_agent,
            })
            .collect())
    }

    /// `DELETE /sessions/{id}`: revokes one of the user's own live sessions; `not_found` for
    /// anyone else's, a malformed id, or one already ended.
    pub async fn revoke_own_session(
        &self,
        principal: &Principal,
        session_id: &str,
    ) -> Result<(), AuthError> {
        let id: SessionId = session_id.parse().map_err(|_| AuthError::NotFound)?;
        let session = self
            .inner
            .store
            .session(id)
            .await?
            .filter(|s| s.user_id == principal.user_id)
            .ok_or(AuthError::NotFound)?;
        live(&session, self.now(), self.idle_timeout()).map_err(|_| AuthError::NotFound)?;
        let reason = if id == principal.session_id {
            RevokeReason::Logout
        } else {
            RevokeReason::RevokedByUser
        };
        if !self
            .inner
            .store
            .revoke_session(id, self.now(), reason)
            .await?
        {
            return Err(AuthError::NotFound);
        }
        Ok(())
    }
}
