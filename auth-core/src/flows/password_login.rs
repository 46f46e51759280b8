//! Password login: an email or username and a password traded for a session.

use crate::AuthError;
use crate::account::{Email, User, Username};
use crate::api::TokenPair;
use crate::flows::password_check::PasswordLoginCtx;
use crate::flows::password_check::{check_password, user_by_identifier};
use crate::hooks::Action;
use crate::pipeline::{Flow, Outcome, Subject};
use crate::secret::Password;

/// What a password login names the account by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginIdentifier {
    /// An email address.
    Email(Email),
    /// A username.
    Username(Username),
}

/// Password login. A wrong password and an unknown account give the same
/// `invalid_credentials` after the same argon2 work; `activation_required` and
/// `account_disabled` come only after a correct password. Attempts are throttled and
/// consecutive failures locked out per account.
pub(crate) struct PasswordLogin;

#[async_trait::async_trait]
impl<'a> Flow<'a> for PasswordLogin {
    const ACTION: Action = Action::PasswordLogin;
    type Ctx = PasswordLoginCtx<'a>;
    type Input = (LoginIdentifier, Password);
    type Prepared = (LoginIdentifier, Password, Option<User>);
    type Output = TokenPair;

    async fn prepare(
        ctx: &Self::Ctx,
        (identifier, password): Self::Input,
    ) -> Result<Self::Prepared, AuthError> {
        let user = user_by_identifier(ctx, &identifier).await?;
        Ok((identifier, password, user))
    }

    fn subject((identifier, _, user): &Self::Prepared) -> Subject<'_> {
        let mut s = Subject {
            user_id: user.as_ref().map(|u| u.id),
            ..Subject::default()
        };
        match identifier {
            LoginIdentifier::Email(e) => s.email = Some(e),
            LoginIdentifier::Username(u) => s.username = Some(u),
        }
        s
    }

    async fn execute(
        ctx: &Self::Ctx,
        (identifier, password, user): Self::Prepared,
    ) -> Result<(TokenPair, Outcome), AuthError> {
        let (mut user, hash) = check_password(ctx, user, &identifier, &password).await?;
        if ctx.passwords().hasher.needs_rehash(&hash) {
            rehash(ctx, &mut user, &password).await;
        }
        let pair = ctx.issuer().start_session(&user).await?;
        let session_id = pair.session_id;
        Ok((pair, Outcome::session(user, session_id)))
    }
}

/// Replaces a hash made with weaker parameters. Best effort: a failure is logged, the login
/// goes on.
async fn rehash(ctx: &PasswordLoginCtx<'_>, user: &mut User, password: &Password) {
    let policy = crate::password::PasswordPolicy::from_config(&crate::config::PasswordConfig {
        min_length: 1,
        min_strength: 0,
        ..ctx.passwords().cfg.clone()
    });
    match ctx
        .passwords()
        .hasher
        .hash_new(&policy, password, Vec::new(), None)
        .await
    {
        Ok(new_hash) => {
            user.password_hash = Some(new_hash);
            if let Err(e) = ctx.store().update_user(user).await {
                tracing::warn!(error = %e, user_id = %user.id, "storing a rehashed password failed");
            } else {
                tracing::info!(user_id = %user.id, "password rehashed with current parameters");
            }
        }
        // The hashing queue is full: the next login will try again.
        Err(AuthError::RateLimited { .. }) => {
            tracing::debug!(user_id = %user.id, "rehash postponed: the hashing queue is full");
        }
        Err(e) => tracing::warn!(error = %e, user_id = %user.id, "rehashing a password failed"),
    }
}
