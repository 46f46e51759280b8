//! Refresh-token rotation with reuse detection, logout, and the user's own session list.

use chrono::{DateTime, Utc};

use crate::account::User;
use crate::account::UserStatus;
use crate::api::{ClientInfo, RevokedCount, SessionInfo, TokenPair};
use crate::auth::{live, secs};
use crate::hooks::{Action, AfterHook, BeforeHook, principal_after, principal_hook};
use crate::ids::SessionId;
use crate::limits::{self, FailureCap};
use crate::session::{RefreshState, RevokeReason, SessionState, live_newest_first};
use crate::token::access::Principal;
use crate::token::refresh::{Authentic, Presented, RefreshToken};
use crate::{Auth, AuthError};

impl Auth {
    /// `POST /refresh`: rotates the refresh token and returns a new pair.
    ///
    /// * the current token: rotated atomically (of concurrent calls exactly one rotates);
    /// * the token rotated just before, within `session.refresh_grace_secs` of the rotation:
    ///   the same new refresh token again, with a fresh access token;
    /// * any older token, or the previous one after the grace window: reuse — the session is
    ///   revoked and the answer is `refresh_token_reused`;
    /// * anything else: `invalid_token`; each such failure counts against the client's IP and
    ///   the session the token names, and once `session.refresh_failures_per_ip` or
    ///   `session.refresh_failures_per_session` failures lie within
    ///   `session.refresh_failure_window_secs` of the latest, a token that is not genuine
    ///   answers `rate_limited` (with `Retry-After`) from that IP or for that session. A
    ///   genuine token (its tag checks out) is never held up.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<TokenPair, AuthError> {
        let (pair, user) = self.refresh_session(refresh_token, client).await?;
        self.after(AfterHook {
            action: Action::Refresh,
            client,
            user: Some(&user),
            user_id: Some(user.id),
            session_id: Some(pair.session_id),
        })
        .await;
        Ok(pair)
    }

    /// The limits on failed refreshes around `rotate`. A token whose tag checks out is
    /// genuine and never held up by them. Any other (malformed, forged) is refused with
    /// `rate_limited` while its client IP or the session it names is over its cap, before any
    /// store read but the caps'; every `invalid_token` counts one failure against both.
    async fn refresh_session(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<(TokenPair, User), AuthError> {
        let cfg = &self.inner.config.session;
        let now = self.now();
        let token = RefreshToken::parse(refresh_token);
        let session_id = token.as_ref().map(|t| t.session_id);
        // A forged token ends here, without a read of its session.
        let genuine = token.and_then(|t| self.inner.refresh_keys.authenticate(t));
        let counters = self.counters();
        let caps = [
            (
                Some(limits::refresh_ip_key(client.ip)),
                FailureCap::refreshes_per_ip(cfg),
            ),
            (
                session_id.map(limits::refresh_session_key),
                FailureCap::refreshes_per_session(cfg),
            ),
        ];
        let outcome = match genuine {
            Some(token) => self.rotate(token, client, now).await,
            None => {
                for (key, cap) in &caps {
                    if let Some(key) = key {
                        counters.check_cap(key, *cap, now).await?;
                    }
                }
                Err(AuthError::InvalidToken)
            }
        };
        if let Err(AuthError::InvalidToken) = outcome {
            for (key, cap) in &caps {
                if let Some(key) = key {
                    counters.count_against_cap(key, *cap, now).await?;
                }
            }
        }
        outcome
    }

    /// Checks the token's tag, reads its session, and rotates, answers within the grace
    /// window, or revokes for reuse.
    async fn rotate(
        &self,
        token: Authentic,
        client: &ClientInfo,
        now: DateTime<Utc>,
    ) -> Result<(TokenPair, User), AuthError> {
        let keys = &self.inner.refresh_keys;
        let store = self.inner.store.as_ref();
        let idle = self.idle_timeout();
        // Two rounds: a lost rotation race re-reads the session once and then finds the
        // token to be the previous one.
        for round in 0..2 {
            let session = store
                .session(token.token().session_id)
                .await?
                .ok_or(AuthError::InvalidToken)?;
            let presented = keys.classify(session.id, &session.refresh, &token);
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
            if round == 0 {
                let mut hook = BeforeHook::new(Action::Refresh, client);
                hook.user_id = Some(session.user_id);
                hook.session_id = Some(session.id);
                self.before(hook).await?;
            }
            match presented {
                Presented::Current { next: next_secret } => {
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
                        return Ok((self.token_pair(&user, &rotated, next_secret)?, user));
                    }
                    // Someone else rotated first: look again.
                }
                Presented::Previous { current } => {
                    if now - session.refresh.issued_at
                        <= secs(self.inner.config.session.refresh_grace_secs)
                    {
                        let user = self.session_user(&session).await?;
                        return Ok((self.token_pair(&user, &session, current)?, user));
                    }
                    return Err(self.revoke_for_reuse(session.id).await);
                }
                Presented::Older => return Err(self.revoke_for_reuse(session.id).await),
                Presented::Unknown => return Err(AuthError::InvalidToken),
            }
        }
        Err(AuthError::InvalidToken)
    }

    /// Revokes a session whose old refresh token came back; the error to answer with.
    async fn revoke_for_reuse(&self, id: SessionId) -> AuthError {
        if let Err(e) = self
            .inner
            .store
            .revoke_session(id, self.now(), RevokeReason::RefreshTokenReused)
            .await
        {
            return e.into();
        }
        tracing::warn!(session_id = %id, "refresh token reuse detected; session revoked");
        AuthError::RefreshTokenReused
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
    pub async fn logout(
        &self,
        principal: &Principal,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        self.before(principal_hook(Action::Logout, principal, client))
            .await?;
        self.inner
            .store
            .revoke_session(principal.session()?, self.now(), RevokeReason::Logout)
            .await?;
        self.after(principal_after(Action::Logout, principal, client))
            .await;
        Ok(())
    }

    /// `POST /logout_all_other_sessions`: revokes every session of the user but the caller's.
    pub async fn logout_all_other_sessions(
        &self,
        principal: &Principal,
        client: &ClientInfo,
    ) -> Result<RevokedCount, AuthError> {
        self.before(principal_hook(Action::LogoutOthers, principal, client))
            .await?;
        let revoked = self
            .inner
            .store
            .revoke_user_sessions(
                principal.user_id,
                Some(principal.session()?),
                self.now(),
                RevokeReason::RevokedByUser,
            )
            .await?;
        self.after(principal_after(Action::LogoutOthers, principal, client))
            .await;
        Ok(RevokedCount { revoked })
    }

    /// `GET /sessions`: the user's live sessions, newest first.
    pub async fn list_sessions(
        &self,
        principal: &Principal,
    ) -> Result<Vec<SessionInfo>, AuthError> {
        let now = self.now();
        let idle = self.idle_timeout();
        let sessions = self.inner.store.sessions_of_user(principal.user_id).await?;
        let sessions = live_newest_first(principal.user_id, sessions, now, idle);
        Ok(sessions
            .into_iter()
            .map(|s| SessionInfo {
                current: Some(s.id) == principal.session_id,
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
        let reason = if Some(id) == principal.session_id {
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
