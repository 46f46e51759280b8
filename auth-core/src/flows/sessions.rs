//! Refresh-token rotation with reuse detection, logout, and the user's own session list.

use crate::AuthError;
use crate::account::{User, UserStatus};
use crate::api::{RevokedCount, SessionInfo, TokenPair};
use crate::clock::secs;
use crate::flows::issuing::Issuer;
use crate::hooks::Action;
use crate::ids::SessionId;
use crate::limits::Counters;
use crate::limits::{self, FailureCap};
use crate::pipeline::{Flow, Outcome, Subject, flow_ctx};
use crate::session::live;
use crate::session::{RefreshState, RevokeReason, Session, SessionState};
use crate::token::access::Principal;
use crate::token::refresh::{Authentic, Presented, RefreshToken};

flow_ctx!(
    /// What a refresh works with: the issuer of token pairs, the failure counters and the
    /// idle timeout.
    RefreshCtx {
        issuer: Issuer<'a>,
        counters: Counters<'a>,
        idle: chrono::Duration,
    }
);

flow_ctx!(
    /// What logout and the user's session list work with: the idle timeout.
    SessionsCtx { idle: chrono::Duration }
);

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
pub(crate) struct Refresh;

/// A genuine refresh token, its live session and what the token is to it.
pub(crate) struct Presentation {
    token: Authentic,
    session: Session,
    presented: Presented,
}

#[async_trait::async_trait]
impl<'a> Flow<'a> for Refresh {
    const ACTION: Action = Action::Refresh;
    type Ctx = RefreshCtx<'a>;
    type Input = String;
    type Prepared = Presentation;
    type Output = TokenPair;

    /// The limits on failed refreshes: a token whose tag checks out is genuine and never held
    /// up by them. Any other (malformed, forged) is refused with `rate_limited` while its
    /// client IP or the session it names is over its cap, before any store read but the caps';
    /// every `invalid_token` counts one failure against both.
    async fn prepare(ctx: &Self::Ctx, refresh_token: String) -> Result<Presentation, AuthError> {
        let token = RefreshToken::parse(&refresh_token);
        let session_id = token.as_ref().map(|t| t.session_id);
        // A forged token ends here, without a read of its session.
        let genuine = token.and_then(|t| ctx.issuer().refresh_keys.authenticate(t));
        let outcome = match genuine {
            Some(token) => presentation(ctx, token).await,
            None => {
                for (key, cap) in &refresh_caps(ctx, session_id) {
                    if let Some(key) = key {
                        ctx.counters().check_cap(key, *cap, ctx.now).await?;
                    }
                }
                Err(AuthError::InvalidToken)
            }
        };
        count_invalid(ctx, session_id, outcome).await
    }

    fn subject(p: &Presentation) -> Subject<'_> {
        Subject {
            user_id: Some(p.session.user_id),
            session_id: Some(p.session.id),
            ..Subject::default()
        }
    }

    async fn execute(ctx: &Self::Ctx, p: Presentation) -> Result<(TokenPair, Outcome), AuthError> {
        let session_id = p.token.token().session_id;
        let outcome = rotate(ctx, p).await;
        let (pair, user) = count_invalid(ctx, Some(session_id), outcome).await?;
        let session_id = pair.session_id;
        Ok((pair, Outcome::session(user, session_id)))
    }
}

/// The failure caps a refresh counts against: the client's IP and the session the token
/// names, when it names one.
fn refresh_caps(
    ctx: &RefreshCtx<'_>,
    session_id: Option<SessionId>,
) -> [(Option<String>, FailureCap); 2] {
    let cfg = ctx.issuer().cfg;
    [
        (
            Some(limits::refresh_ip_key(ctx.client.ip)),
            FailureCap::refreshes_per_ip(cfg),
        ),
        (
            session_id.map(limits::refresh_session_key),
            FailureCap::refreshes_per_session(cfg),
        ),
    ]
}

/// Counts an `invalid_token` outcome against the refresh failure caps; passes `outcome` on.
async fn count_invalid<T>(
    ctx: &RefreshCtx<'_>,
    session_id: Option<SessionId>,
    outcome: Result<T, AuthError>,
) -> Result<T, AuthError> {
    if let Err(AuthError::InvalidToken) = outcome {
        for (key, cap) in &refresh_caps(ctx, session_id) {
            if let Some(key) = key {
                ctx.counters().count_against_cap(key, *cap, ctx.now).await?;
            }
        }
    }
    outcome
}

/// Reads the token's session and checks that the token is one of its and the session live.
async fn presentation(ctx: &RefreshCtx<'_>, token: Authentic) -> Result<Presentation, AuthError> {
    let session = ctx
        .store()
        .session(token.token().session_id)
        .await?
        .ok_or(AuthError::InvalidToken)?;
    let presented = ctx
        .issuer()
        .refresh_keys
        .classify(session.id, &session.refresh, &token);
    if presented == Presented::Unknown {
        return Err(AuthError::InvalidToken);
    }
    match session.state(ctx.now, ctx.idle()) {
        SessionState::Live => {}
        SessionState::Revoked(RevokeReason::RefreshTokenReused) => {
            return Err(AuthError::RefreshTokenReused);
        }
        SessionState::Revoked(_) => return Err(AuthError::TokenRevoked),
        SessionState::Expired => return Err(AuthError::TokenExpired),
    }
    Ok(Presentation {
        token,
        session,
        presented,
    })
}

/// Rotates, answers within the grace window, or revokes for reuse. A lost rotation race
/// re-reads the session once and then finds the token to be the previous one.
async fn rotate(ctx: &RefreshCtx<'_>, p: Presentation) -> Result<(TokenPair, User), AuthError> {
    let Presentation {
        token,
        session,
        presented,
    } = p;
    if let Some(done) = rotate_once(ctx, session, presented).await? {
        return Ok(done);
    }
    // Someone else rotated first: look again.
    let p = presentation(ctx, token).await?;
    rotate_once(ctx, p.session, p.presented)
        .await?
        .ok_or(AuthError::InvalidToken)
}

/// One rotation attempt; `None` when another rotated the session first.
async fn rotate_once(
    ctx: &RefreshCtx<'_>,
    session: Session,
    presented: Presented,
) -> Result<Option<(TokenPair, User)>, AuthError> {
    let keys = ctx.issuer().refresh_keys;
    let now = ctx.now;
    match presented {
        Presented::Current { next: next_secret } => {
            let next = RefreshState {
                generation: session.refresh.generation + 1,
                hash: keys.storage_hash(session.id, &next_secret),
                issued_at: now,
            };
            if !ctx
                .store()
                .rotate_refresh(session.id, session.refresh.generation, &next, now)
                .await?
            {
                return Ok(None);
            }
            let mut rotated = session;
            rotated.refresh = next;
            rotated.last_used_at = now;
            let user = session_user(ctx, &rotated).await?;
            Ok(Some((
                ctx.issuer().token_pair(&user, &rotated, next_secret)?,
                user,
            )))
        }
        Presented::Previous { current } => {
            // A zero window is no window: without this test a racer whose clock read came
            // before the winner's rotation (`now < issued_at`), or in the same instant, would
            // still be answered as within it, and the token spent twice.
            let grace = ctx.issuer().cfg.refresh_grace_secs;
            if grace > 0 && now - session.refresh.issued_at <= secs(grace) {
                let user = session_user(ctx, &session).await?;
                return Ok(Some((
                    ctx.issuer().token_pair(&user, &session, current)?,
                    user,
                )));
            }
            Err(revoke_for_reuse(ctx, session.id).await)
        }
        Presented::Older => Err(revoke_for_reuse(ctx, session.id).await),
        Presented::Unknown => Err(AuthError::InvalidToken),
    }
}

/// Revokes a session whose old refresh token came back; the error to answer with.
async fn revoke_for_reuse(ctx: &RefreshCtx<'_>, id: SessionId) -> AuthError {
    if let Err(e) = ctx
        .store()
        .revoke_session(id, ctx.now, RevokeReason::RefreshTokenReused)
        .await
    {
        return e.into();
    }
    tracing::warn!(session_id = %id, "refresh token reuse detected; session revoked");
    AuthError::RefreshTokenReused
}

/// The session's user, unless it is gone (`token_revoked`) or disabled.
async fn session_user(ctx: &RefreshCtx<'_>, session: &Session) -> Result<User, AuthError> {
    let user = ctx
        .store()
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
pub(crate) struct Logout;

#[async_trait::async_trait]
impl<'a> Flow<'a> for Logout {
    const ACTION: Action = Action::Logout;
    type Ctx = SessionsCtx<'a>;
    type Input = Principal;
    type Prepared = Principal;
    type Output = ();

    async fn prepare(_: &Self::Ctx, principal: Principal) -> Result<Principal, AuthError> {
        Ok(principal)
    }

    fn subject(principal: &Principal) -> Subject<'_> {
        Subject::principal(principal)
    }

    async fn execute(ctx: &Self::Ctx, principal: Principal) -> Result<((), Outcome), AuthError> {
        ctx.store()
            .revoke_session(principal.session()?, ctx.now, RevokeReason::Logout)
            .await?;
        Ok(((), Outcome::principal(&principal)))
    }
}

/// `POST /logout_all_other_sessions`: revokes every session of the user but the caller's.
pub(crate) struct LogoutOthers;

#[async_trait::async_trait]
impl<'a> Flow<'a> for LogoutOthers {
    const ACTION: Action = Action::LogoutOthers;
    type Ctx = SessionsCtx<'a>;
    type Input = Principal;
    type Prepared = Principal;
    type Output = RevokedCount;

    async fn prepare(_: &Self::Ctx, principal: Principal) -> Result<Principal, AuthError> {
        Ok(principal)
    }

    fn subject(principal: &Principal) -> Subject<'_> {
        Subject::principal(principal)
    }

    async fn execute(
        ctx: &Self::Ctx,
        principal: Principal,
    ) -> Result<(RevokedCount, Outcome), AuthError> {
        let revoked = ctx
            .store()
            .revoke_user_sessions(
                principal.user_id,
                Some(principal.session()?),
                ctx.now,
                RevokeReason::RevokedByUser,
            )
            .await?;
        Ok((RevokedCount { revoked }, Outcome::principal(&principal)))
    }
}

/// `GET /sessions`: the user's live sessions, newest first.
pub(crate) struct ListSessions;

#[async_trait::async_trait]
impl<'a> Flow<'a> for ListSessions {
    const ACTION: Action = Action::ListSessions;
    type Ctx = SessionsCtx<'a>;
    type Input = Principal;
    type Prepared = Principal;
    type Output = Vec<SessionInfo>;

    async fn prepare(_: &Self::Ctx, principal: Principal) -> Result<Principal, AuthError> {
        Ok(principal)
    }

    fn subject(principal: &Principal) -> Subject<'_> {
        Subject::principal(principal)
    }

    async fn execute(
        ctx: &Self::Ctx,
        principal: Principal,
    ) -> Result<(Vec<SessionInfo>, Outcome), AuthError> {
        let (now, idle) = (ctx.now, ctx.idle());
        let sessions = ctx.store().sessions_of_user(principal.user_id).await?;
        let sessions = crate::session::live_newest_first(principal.user_id, sessions, now, idle);
        let list = sessions
            .into_iter()
            .map(|s| SessionInfo {
                current: Some(s.id) == principal.session_id,
                session_id: s.id,
                created_at: s.created_at,
                last_used_at: s.last_used_at,
                ip: s.ip,
                user_agent: s.user_agent,
            })
            .collect();
        Ok((list, Outcome::principal(&principal)))
    }
}

/// `DELETE /sessions/{id}`: revokes one of the user's own live sessions; `not_found` for
/// anyone else's or one already ended.
pub(crate) struct RevokeSession;

#[async_trait::async_trait]
impl<'a> Flow<'a> for RevokeSession {
    const ACTION: Action = Action::RevokeSession;
    type Ctx = SessionsCtx<'a>;
    type Input = (Principal, SessionId);
    type Prepared = (Principal, SessionId);
    type Output = ();

    async fn prepare(
        ctx: &Self::Ctx,
        (principal, id): Self::Input,
    ) -> Result<Self::Prepared, AuthError> {
        let session = ctx
            .store()
            .session(id)
            .await?
            .filter(|s| s.user_id == principal.user_id)
            .ok_or(AuthError::NotFound)?;
        live(&session, ctx.now, ctx.idle()).map_err(|_| AuthError::NotFound)?;
        Ok((principal, id))
    }

    fn subject((principal, _): &Self::Prepared) -> Subject<'_> {
        Subject::principal(principal)
    }

    async fn execute(
        ctx: &Self::Ctx,
        (principal, id): Self::Prepared,
    ) -> Result<((), Outcome), AuthError> {
        let reason = if Some(id) == principal.session_id {
            RevokeReason::Logout
        } else {
            RevokeReason::RevokedByUser
        };
        if !ctx.store().revoke_session(id, ctx.now, reason).await? {
            return Err(AuthError::NotFound);
        }
        let outcome = Outcome {
            session_id: Some(id),
            ..Outcome::principal(&principal)
        };
        Ok(((), outcome))
    }
}
