//! Setting a new password, shared by the password change and both resets: the policy check
//! and hash, and what a reset ends with.

use crate::config::PasswordConfig;
use crate::password::{BreachedPasswordCheck, PasswordHasher, PasswordPolicy};
use chrono::{DateTime, Utc};

use crate::limits::Lockouts;
use crate::pipeline::Outcome;
use crate::secret::Password;
use crate::session::RevokeReason;
use crate::store::Store;
use crate::{AuthError, User};

/// What checking and hashing passwords works with: the password section of the
/// configuration, the hasher, the policy and the breached-password check.
#[derive(Clone, Copy)]
pub(crate) struct Passwords<'a> {
    pub(crate) cfg: &'a PasswordConfig,
    pub(crate) hasher: &'a PasswordHasher,
    pub(crate) policy: &'a PasswordPolicy,
    pub(crate) breached: Option<&'a dyn BreachedPasswordCheck>,
}

impl Passwords<'_> {
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
        self.hasher
            .hash_new(self.policy, password, context, self.breached)
            .await
    }
}

/// After a reset: clear lockouts, revoke every session.
pub(crate) async fn finish_reset(
    store: &dyn Store,
    lockouts: Lockouts<'_>,
    now: DateTime<Utc>,
    user: User,
) -> Result<((), Outcome), AuthError> {
    lockouts.clear_lockouts(&user).await?;
    let revoked = store
        .revoke_user_sessions(user.id, None, now, RevokeReason::PasswordChanged)
        .await?;
    tracing::info!(user_id = %user.id, revoked, "password reset; all sessions revoked");
    Ok(((), Outcome::user(user)))
}
