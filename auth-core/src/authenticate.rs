//! Authenticating an access token: who a request's token speaks for, checked as
//! [`AccessMode`] says (a JWT alone, a JWT and its live session, or an opaque handle against
//! the store), and whether that principal holds a role.

use crate::Auth;
use crate::AuthError;
use crate::account::UserStatus;
use crate::config::AccessMode;
use crate::ids::{SessionId, UserId};
use crate::session::live;
use crate::session::{Session, SessionOwner};
use crate::session_cache::admits;
use crate::token::access::{AccessClaims, Principal};
use crate::token::opaque::OpaqueTokens;

impl Auth {
    /// Checks an access token and returns who it speaks for.
    ///
    /// By [`access.mode`](crate::config::AccessMode): a JWT is verified (signature, `typ`,
    /// algorithm, issuer, audience, expiry); with `session_checked` (the default) its session
    /// must also still be live and the roles are the user's current ones, so a logout, a
    /// revocation or a revoked role takes effect at once; `stateless`, the roles are those in
    /// the token and a role change reaches it at the next refresh. `opaque` tokens are always
    /// checked against the store.
    pub async fn authenticate(&self, access_token: &str) -> Result<Principal, AuthError> {
        // The paths that wait on the store are boxed: unboxed, their futures would make this
        // one (and every guard's around it) several hundred bytes, moved on every request,
        // stateless ones included. A store call costs far more than the allocation.
        if let Some(opaque) = &self.inner.opaque {
            return Box::pin(self.authenticate_opaque(opaque, access_token)).await;
        }
        let claims = self.inner.access.verify(access_token, self.now())?;
        if self.inner.config.access.mode == AccessMode::Stateless {
            return Ok(Principal {
                user_id: claims.sub,
                session_id: Some(claims.sid),
                roles: claims.roles,
            });
        }
        let claims = match self.cached_principal(claims) {
            Ok(principal) => return Ok(principal),
            Err(claims) => claims,
        };
        Box::pin(self.authenticate_session(claims)).await
    }

    /// The principal from the session cache, when it holds a live answer for the token's
    /// session (see [`crate::session_cache`]): no store call, no allocation but the roles.
    /// The claims come back when the cache cannot answer. (Taking and returning them, rather
    /// than borrowing, keeps `authenticate`'s future small: see the size test in `guards.rs`.)
    #[allow(clippy::result_large_err)] // a move of the claims, not an error path
    fn cached_principal(&self, claims: AccessClaims) -> Result<Principal, AccessClaims> {
        let Some(cache) = self.inner.session_cache.as_ref() else {
            return Err(claims);
        };
        let (now, idle) = (self.now(), self.idle_timeout());
        let hit = cache.with(claims.sid, |session, owner| {
            (session.user_id == claims.sub && admits(session, owner, now, idle))
                .then(|| owner.roles.clone())
        });
        match hit {
            Some(roles) => Ok(Principal {
                user_id: claims.sub,
                session_id: Some(claims.sid),
                roles,
            }),
            None => Err(claims),
        }
    }

    /// Session checking: the session must be live and belong to the token's subject, and the
    /// roles are the user's current ones, so a revoked role stops working at once.
    async fn authenticate_session(&self, claims: AccessClaims) -> Result<Principal, AuthError> {
        let (session, owner) = self.live_session(claims.sid, Some(claims.sub)).await?;
        if session.user_id != claims.sub {
            return Err(AuthError::TokenRevoked);
        }
        Ok(Principal {
            user_id: claims.sub,
            session_id: Some(claims.sid),
            roles: owner.roles,
        })
    }

    /// Opaque tokens: MAC, then the session and its user from the store.
    async fn authenticate_opaque(
        &self,
        opaque: &OpaqueTokens,
        token: &str,
    ) -> Result<Principal, AuthError> {
        let sid = opaque.verify(token, self.now())?;
        let (session, owner) = self.live_session(sid, None).await?;
        Ok(Principal {
            user_id: session.user_id,
            session_id: Some(sid),
            roles: owner.roles,
        })
    }

    /// The session `sid` and its owner, in one store call, when the session is live and its
    /// user exists and is not disabled; `token_revoked` / `token_expired` otherwise.
    /// `claimed_user`: the user the token names, if it names one (a hint for the store).
    async fn live_session(
        &self,
        sid: SessionId,
        claimed_user: Option<UserId>,
    ) -> Result<(Session, SessionOwner), AuthError> {
        let (session, owner) = self
            .inner
            .store
            .session_with_owner(sid, claimed_user)
            .await?
            .ok_or(AuthError::TokenRevoked)?;
        live(&session, self.now(), self.idle_timeout())?;
        match owner {
            Some(owner)
                if owner.user_id == session.user_id && owner.status != UserStatus::Disabled =>
            {
                Ok((session, owner))
            }
            _ => Err(AuthError::TokenRevoked),
        }
    }

    /// [`Auth::authenticate`], then `forbidden` unless the principal holds `role`.
    pub async fn authorize(&self, access_token: &str, role: &str) -> Result<Principal, AuthError> {
        let principal = self.authenticate(access_token).await?;
        if principal.has_role(role) {
            Ok(principal)
        } else {
            Err(AuthError::Forbidden)
        }
    }
}
