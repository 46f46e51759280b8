//! Operations for an app's own admin pages or CLI: find, disable and enable users, reset
//! lockouts, list and revoke a user's sessions. None of these is an HTTP route of the contract.

use crate::account::{Email, User, UserStatus};
use crate::ids::{SessionId, UserId};
use crate::phone::Phone;
use crate::session::{RevokeReason, Session};
use crate::{Auth, AuthError};

impl Auth {
    /// The user with this id.
    pub async fn find_user(&self, id: UserId) -> Result<Option<User>, AuthError> {
        Ok(self.inner.store.user_by_id(id).await?)
    }

    /// The user with this phone (any format [`Phone::parse`] accepts).
    pub async fn find_user_by_phone(&self, phone: &str) -> Result<Option<User>, AuthError> {
        let phone = Phone::parse(phone, false)?;
        Ok(self.inner.store.user_by_phone(&phone).await?)
    }

    /// The user with this email.
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, AuthError> {
        let email = Email::parse(email)?;
        Ok(self.inner.store.user_by_email(&email).await?)
    }

    /// Disables the account and revokes every one of its sessions at once. Returns how many
    /// sessions were revoked; `not_found` for an unknown user.
    pub async fn disable_user(&self, id: UserId) -> Result<u64, AuthError> {
        self.set_status(id, UserStatus::Disabled).await?;
        let revoked = self
            .inner
            .store
            .revoke_user_sessions(id, None, self.now(), RevokeReason::UserDisabled)
            .await?;
        tracing::info!(user_id = %id, revoked, "user disabled");
        Ok(revoked)
    }

    /// Enables a disabled account.
    pub async fn enable_user(&self, id: UserId) -> Result<(), AuthError> {
        self.set_status(id, UserStatus::Active).await
    }

    async fn set_status(&self, id: UserId, status: UserStatus) -> Result<(), AuthError> {
        let store = self.inner.store.as_ref();
        let mut user = store.user_by_id(id).await?.ok_or(AuthError::NotFound)?;
        user.status = status;
        if !store.update_user(&user).await? {
            return Err(AuthError::NotFound);
        }
        Ok(())
    }

    /// Clears the account's password and SMS lockouts.
    pub async fn reset_lockouts(&self, id: UserId) -> Result<(), AuthError> {
        let user = self.find_user(id).await?.ok_or(AuthError::NotFound)?;
        self.clear_lockouts(&user).await
    }

    /// Clears the SMS lockout of a phone, whether or not it has an account.
    pub async fn reset_phone_lockout(&self, phone: &str) -> Result<(), AuthError> {
        let phone = Phone::parse(phone, false)?;
        self.clear_phone_lockouts(&phone).await
    }

    /// The user's live sessions.
    pub async fn user_sessions(&self, id: UserId) -> Result<Vec<Session>, AuthError> {
        let (now, idle) = (self.now(), self.idle_timeout());
        let sessions = self.inner.store.sessions_of_user(id).await?;
        Ok(crate::session::live_newest_first(id, sessions, now, idle))
    }

    /// Revokes one session of any user. `false` when it was not active.
    pub async fn admin_revoke_session(&self, id: SessionId) -> Result<bool, AuthError> {
        Ok(self
            .inner
            .store
            .revoke_session(id, self.now(), RevokeReason::Admin)
            .await?)
    }

    /// Grants a role (no-op when held).
    pub async fn grant_role(&self, id: UserId, role: &str) -> Result<(), AuthError> {
        let user = self.find_user(id).await?.ok_or(AuthError::NotFound)?;
        if user.has_role(role) {
            return Ok(());
        }
        let mut roles = user.roles;
        roles.push(role.to_owned());
        self.set_roles(id, roles).await
    }

    /// Revokes a role (no-op when not held).
    pub async fn revoke_role(&self, id: UserId, role: &str) -> Result<(), AuthError> {
        let user = self.find_user(id).await?.ok_or(AuthError::NotFound)?;
        let roles: Vec<String> = user.roles.into_iter().filter(|r| r != role).collect();
        self.set_roles(id, roles).await
    }

    /// Replaces the user's roles. With session checking on (the default) or opaque tokens,
    /// guards see the change at once; with stateless JWTs, at the user's next refresh.
    pub async fn set_roles(&self, id: UserId, roles: Vec<String>) -> Result<(), AuthError> {
        let store = self.inner.store.as_ref();
        let mut user = store.user_by_id(id).await?.ok_or(AuthError::NotFound)?;
        user.roles = roles;
        if !store.update_user(&user).await? {
            return Err(AuthError::NotFound);
        }
        Ok(())
    }
}
