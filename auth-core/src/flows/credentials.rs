//! Setting a new password, shared by the password change and both resets: the policy check
//! and hash, and what a reset ends with.

use crate::pipeline::{Ctx, Outcome};
use crate::secret::Password;
use crate::session::RevokeReason;
use crate::{AuthError, User};

impl Ctx<'_> {
    /// Checks a new password against the policy (with the account's identifiers as context)
    /// and hashes it, off the runtime.
    pub(crate) async fn hash_new_password(
        &self,
        user: Option<&User>,
        password: &Password,
    ) -> Result<crate::password::PasswordHash, AuthError> {
        let mut context: Vec<String> = Vec::new();
        if let Some(user) = user {
            context.extend(user.email.as_ref().map(|e| e.as_str().to_owned()));
            context.extend(user.username.as_ref().map(|u| u.as_str().to_owned()));
            context.extend(user.phone.as_ref().map(|p| p.as_str().to_owned()));
        }
        self.inner
            .hasher
            .hash_new(
                &self.inner.policy,
                password,
                context,
                self.inner.breached.as_deref(),
            )
            .await
    }

    /// After a reset: clear lockouts, revoke every session.
    pub(crate) async fn finish_reset(&self, user: User) -> Result<((), Outcome), AuthError> {
        self.clear_lockouts(&user).await?;
        let revoked = self
            .store()
            .revoke_user_sessions(user.id, None, self.now, RevokeReason::PasswordChanged)
            .await?;
        tracing::info!(user_id = %user.id, revoked, "password reset; all sessions revoked");
        Ok(((), Outcome::user(user)))
    }
}
