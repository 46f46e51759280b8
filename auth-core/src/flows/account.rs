//! The signed-in user's own account: `GET /me` and changing the password.

use crate::AuthError;
use crate::account::User;
use crate::api::{ChangePasswordRequest, MeResponse};
use crate::flows::credentials::Passwords;
use crate::flows::reauth::Reauth;
use crate::hooks::Action;
use crate::limits::{Lockouts, account_key_of};
use crate::pipeline::{Flow, Outcome, Subject, flow_ctx};
use crate::session::RevokeReason;
use crate::token::access::Principal;

flow_ctx!(
    /// What reading the account works with: the store only.
    StoreCtx {}
);

flow_ctx!(
    /// What changing the password works with: the password guard, policy and hasher, and
    /// re-authentication.
    ChangePasswordCtx {
        lockouts: Lockouts<'a>,
        passwords: Passwords<'a>,
        reauth: Reauth<'a>,
    }
);

/// `GET /me`.
pub(crate) struct Me;

#[async_trait::async_trait]
impl<'a> Flow<'a> for Me {
    const ACTION: Action = Action::ProfileRead;
    type Ctx = StoreCtx<'a>;
    type Input = Principal;
    type Prepared = Principal;
    type Output = MeResponse;

    async fn prepare(_: &Self::Ctx, principal: Principal) -> Result<Principal, AuthError> {
        Ok(principal)
    }

    fn subject(principal: &Principal) -> Subject<'_> {
        Subject::principal(principal)
    }

    async fn execute(
        ctx: &Self::Ctx,
        principal: Principal,
    ) -> Result<(MeResponse, Outcome), AuthError> {
        let user = signed_in_user(ctx.store(), &principal).await?;
        Ok((
            MeResponse::from(&user),
            Outcome::principal_user(&principal, user),
        ))
    }
}

/// The signed-in user's account; `token_revoked` when it is gone.
pub(crate) async fn signed_in_user(
    store: &dyn crate::store::Store,
    principal: &Principal,
) -> Result<User, AuthError> {
    store
        .user_by_id(principal.user_id)
        .await?
        .ok_or(AuthError::TokenRevoked)
}

/// `POST /password`: sets a new password. The current one is required when the account has
/// one (`invalid_credentials` when wrong; throttled like a login); an account without one
/// may set a first password only from a recent login (`accounts.recent_login_secs`,
/// `forbidden` otherwise). Every other session of the user is revoked, and SMS codes and
/// emailed tokens issued before stop working.
pub(crate) struct ChangePassword;

#[async_trait::async_trait]
impl<'a> Flow<'a> for ChangePassword {
    const ACTION: Action = Action::ChangePassword;
    type Ctx = ChangePasswordCtx<'a>;
    type Input = (Principal, ChangePasswordRequest);
    type Prepared = (Principal, ChangePasswordRequest);
    type Output = ();

    async fn prepare(_: &Self::Ctx, input: Self::Input) -> Result<Self::Prepared, AuthError> {
        Ok(input)
    }

    fn subject((principal, _): &Self::Prepared) -> Subject<'_> {
        Subject::principal(principal)
    }

    async fn execute(
        ctx: &Self::Ctx,
        (principal, request): Self::Prepared,
    ) -> Result<((), Outcome), AuthError> {
        let store = ctx.store();
        let mut user = signed_in_user(ctx.store(), &principal).await?;
        match (&user.password_hash, &request.old_password) {
            (Some(hash), Some(old)) => {
                // The hashing queue first: a refusal counts no attempt.
                let ticket = ctx.passwords().hasher.admit()?;
                let key = account_key_of(&user);
                ctx.lockouts().check_password_guard(&key).await?;
                if !ctx.passwords().hasher.verify(ticket, old, hash).await? {
                    ctx.lockouts().password_failed(&key).await?;
                    return Err(AuthError::InvalidCredentials);
                }
            }
            (Some(_), None) => return Err(AuthError::invalid_request("old_password is required")),
            (None, Some(_)) => {
                return Err(AuthError::invalid_request(
                    "this account has no password; omit old_password",
                ));
            }
            // Setting a first password: a stolen access token must not be enough to add one
            // (and log the owner's other devices out), so the session must be a recent login.
            (None, None) => ctx.reauth().reauthenticate(&principal, &user, None).await?,
        }
        let hash = ctx
            .passwords()
            .hash_new_password(Some(&user), &request.new_password)
            .await?;
        user.password_hash = Some(hash);
        user.credentials_changed_at = Some(ctx.now);
        if !store.update_user(&user).await? {
            return Err(AuthError::TokenRevoked);
        }
        ctx.lockouts().clear_lockouts(&user).await?;
        store
            .revoke_user_sessions(
                user.id,
                principal.session_id,
                ctx.now,
                RevokeReason::PasswordChanged,
            )
            .await?;
        tracing::info!(user_id = %user.id, "password changed; other sessions revoked");
        Ok(((), Outcome::principal_user(&principal, user)))
    }
}
