//! Checking a password against an account, with every rule a password login applies
//! (length cap, per-IP failure cap, throttle, lockout, the same work for unknown accounts,
//! activation and disabled state): shared by password login and the HTTP Basic guard.

use crate::account::{Email, User, UserStatus, Username};
use crate::api::ClientInfo;
use crate::flows::LoginIdentifier;
use crate::flows::credentials::Passwords;
use crate::flows::issuing::Issuer;
use crate::flows::mailing::Mailer;
use crate::limits::Lockouts;
use crate::limits::account_key_of;
use crate::password::PasswordHash;
use crate::pipeline::{FromCtx, flow_ctx};
use crate::secret::Password;
use crate::token::access::Principal;
use crate::{Auth, AuthError};

flow_ctx!(
    /// What checking a password (and, for a login, starting the session) works with.
    PasswordLoginCtx {
        passwords: Passwords<'a>,
        lockouts: Lockouts<'a>,
        mailer: Mailer<'a>,
        issuer: Issuer<'a>,
    }
);

impl Auth {
    /// The HTTP Basic guard (`transport.basic_auth`, off by default), for scripts: the
    /// principal of an email (or username) and password, checked with every rule of a password
    /// login (per-IP failure cap, throttle, lockout, same error for unknown accounts,
    /// activation, disabled) but without a session: routes that need one answer
    /// `missing_token`.
    pub(crate) async fn authenticate_basic(
        &self,
        identifier: &str,
        password: &Password,
        client: &ClientInfo,
    ) -> Result<Principal, AuthError> {
        let identifier = if identifier.contains('@') {
            LoginIdentifier::Email(
                Email::parse(identifier).map_err(|_| AuthError::InvalidCredentials)?,
            )
        } else {
            LoginIdentifier::Username(
                Username::parse(identifier).map_err(|_| AuthError::InvalidCredentials)?,
            )
        };
        let ctx = PasswordLoginCtx::from_ctx(&self.ctx(client));
        let user = user_by_identifier(&ctx, &identifier).await?;
        let (user, _) = check_password(&ctx, user, &identifier, password).await?;
        Ok(Principal {
            user_id: user.id,
            session_id: None,
            roles: user.roles,
        })
    }
}

pub(crate) async fn user_by_identifier(
    ctx: &PasswordLoginCtx<'_>,
    identifier: &LoginIdentifier,
) -> Result<Option<User>, AuthError> {
    let store = ctx.store();
    Ok(match identifier {
        LoginIdentifier::Email(e) => store.user_by_email(e).await?,
        LoginIdentifier::Username(u) => store.user_by_username(u).await?,
    })
}

/// The password rules shared by every password check: length cap, a place in the hashing
/// queue (else `rate_limited`, counting nothing), per-IP failure cap, throttle, lockout, the same work and error for unknown accounts, then activation and
/// disabled state (only after a correct password). Returns the user and its stored hash.
pub(crate) async fn check_password(
    ctx: &PasswordLoginCtx<'_>,
    user: Option<User>,
    identifier: &LoginIdentifier,
    password: &Password,
) -> Result<(User, PasswordHash), AuthError> {
    let cfg = ctx.passwords().cfg;
    if crate::password::exceeds_max_length(password, cfg.max_length) {
        // No account can have such a password; do not spend argon2 time on it.
        return Err(AuthError::InvalidCredentials);
    }
    // A place in the hashing queue first, the same for known and unknown accounts: a full
    // queue answers `rate_limited` before any attempt is counted (nothing was checked).
    let hasher = ctx.passwords().hasher;
    let ticket = hasher.admit()?;
    let account_key = account_key(user.as_ref(), identifier);
    ctx.lockouts().check_password_guard(&account_key).await?;
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let correct = match &hash {
        Some(hash) => hasher.verify(ticket, password, hash).await?,
        None => hasher.verify_dummy(ticket, password).await?,
    };
    let (Some(user), Some(hash), true) = (user, hash, correct) else {
        ctx.lockouts().password_failed(&account_key).await?;
        return Err(AuthError::InvalidCredentials);
    };
    ctx.lockouts().clear_lockouts(&user).await?;
    match user.status {
        UserStatus::Active => Ok((user, hash)),
        UserStatus::Disabled => Err(AuthError::AccountDisabled),
        UserStatus::PendingActivation => {
            ctx.mailer().nudge_activation(&user).await;
            Err(AuthError::ActivationRequired)
        }
    }
}

/// The key password throttling and lockout count under: the user id when the account exists,
/// the identifier otherwise (so unknown accounts are throttled exactly like known ones).
fn account_key(user: Option<&User>, identifier: &LoginIdentifier) -> String {
    match (user, identifier) {
        (Some(u), _) => account_key_of(u),
        (None, LoginIdentifier::Email(e)) => format!("unknown:{e}"),
        (None, LoginIdentifier::Username(u)) => format!("unknown:{u}"),
    }
}
