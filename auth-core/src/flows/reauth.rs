//! Re-authentication for sensitive changes (phone, email, a first password): the rule every
//! such flow shares.

use chrono::{DateTime, Utc};

use crate::limits::{Lockouts, account_key_of};
use crate::password::PasswordHasher;
use crate::secret::Password;
use crate::store::Store;
use crate::token::access::Principal;
use crate::{AuthError, User};

/// What re-authentication works with: the time of the request, the store, the password
/// guard, the hasher, how recent a login must be and how long a session may sit unused.
#[derive(Clone, Copy)]
pub(crate) struct Reauth<'a> {
    pub(crate) now: DateTime<Utc>,
    pub(crate) store: &'a dyn Store,
    pub(crate) lockouts: Lockouts<'a>,
    pub(crate) hasher: &'a PasswordHasher,
    pub(crate) recent_login: chrono::Duration,
    pub(crate) idle: chrono::Duration,
}

impl Reauth<'_> {
    /// Proves the signed-in user is who they say for a sensitive change: the current password
    /// (throttled and locked out like a login) when the account has one, else a session
    /// younger than `accounts.recent_login_secs` (`forbidden` otherwise).
    pub(crate) async fn reauthenticate(
        &self,
        principal: &Principal,
        user: &User,
        password: Option<&Password>,
    ) -> Result<(), AuthError> {
        match (&user.password_hash, password) {
            (Some(hash), Some(password)) => {
                // The hashing queue first: a refusal counts no attempt.
                let ticket = self.hasher.admit()?;
                let key = account_key_of(user);
                self.lockouts.check_password_guard(&key).await?;
                if !self.hasher.verify(ticket, password, hash).await? {
                    self.lockouts.password_failed(&key).await?;
                    return Err(AuthError::InvalidCredentials);
                }
                Ok(())
            }
            (Some(_), None) => Err(AuthError::invalid_request("password is required")),
            (None, Some(_)) => Err(AuthError::invalid_request(
                "this account has no password; omit it",
            )),
            (None, None) => {
                let session = self
                    .store
                    .session(principal.session()?)
                    .await?
                    .ok_or(AuthError::TokenRevoked)?;
                // The session itself must still be live: in stateless mode a logged-out
                // session's access tokens still verify.
                crate::session::live(&session, self.now, self.idle)?;
                if self.now - session.created_at > self.recent_login {
                    return Err(AuthError::Forbidden);
                }
                Ok(())
            }
        }
    }
}
