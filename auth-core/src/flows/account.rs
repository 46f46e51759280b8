//! The signed-in user's own account: `GET /me` and changing the password.

use crate::api::{ChangePasswordRequest, ClientInfo, MeResponse};
use crate::flows::password_login::account_key_of;
use crate::hooks::{Action, AfterHook};
use crate::hooks::{principal_after, principal_hook};
use crate::session::RevokeReason;
use crate::token::access::Principal;
use crate::{Auth, AuthError};

impl Auth {
    /// `GET /me`.
    pub async fn me(
        &self,
        principal: &Principal,
        client: &ClientInfo,
    ) -> Result<MeResponse, AuthError> {
        self.before(principal_hook(Action::ProfileRead, principal, client))
            .await?;
        let user = self
            .inner
            .store
            .user_by_id(principal.user_id)
            .await?
            .ok_or(AuthError::TokenRevoked)?;
        self.after(AfterHook {
            user: Some(&user),
            ..principal_after(Action::ProfileRead, principal, client)
        })
        .await;
        Ok(MeResponse::from(&user))
    }

    /// `POST /password`: sets a new password. The current one is required when the account has
    /// one (`invalid_credentials` when wrong; throttled like a login); an account without one
    /// may set a first password only from a recent login (`accounts.recent_login_secs`,
    /// `forbidden` otherwise). Every other session of the user is revoked, and SMS codes and
    /// emailed tokens issued before stop working.
    pub async fn change_password(
        &self,
        principal: &Principal,
        request: ChangePasswordRequest,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        self.before(principal_hook(Action::ChangePassword, principal, client))
            .await?;
        let store = self.inner.store.as_ref();
        let mut user = store
            .user_by_id(principal.user_id)
            .await?
            .ok_or(AuthError::TokenRevoked)?;
        match (&user.password_hash, &request.old_password) {
            (Some(hash), Some(old)) => {
                let key = account_key_of(&user);
                self.check_password_guard(&key, Some(client)).await?;
                if !self.inner.hasher.verify(old, hash).await? {
                    self.password_failed(&key, Some(client)).await?;
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
            (None, None) => self.reauthenticate(principal, &user, None, client).await?,
        }
        let hash = self
            .hash_new_password(Some(&user), &request.new_password)
            .await?;
        user.password_hash = Some(hash);
        user.credentials_changed_at = Some(self.now());
        if !store.update_user(&user).await? {
            return Err(AuthError::TokenRevoked);
        }
        self.clear_lockouts(&user).await?;
        store
            .revoke_user_sessions(
                user.id,
                principal.session_id,
                self.now(),
                RevokeReason::PasswordChanged,
            )
            .await?;
        tracing::info!(user_id = %user.id, "password changed; other sessions revoked");
        self.after(AfterHook {
            user: Some(&user),
            ..principal_after(Action::ChangePassword, principal, client)
        })
        .await;
        Ok(())
    }
}
