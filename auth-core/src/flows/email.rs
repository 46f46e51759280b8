//! Flows over email: account activation, password reset by emailed token, and changing the
//! account's email address. Tokens are in [`crate::email_token`]; mail goes out through the
//! app's [`crate::mail::MailSender`] (see `mailing.rs`). Without a mail sender these flows
//! answer `invalid_request` ("email is not enabled"), never a silent success.

use crate::AuthError;
use crate::account::{Email, User, UserStatus};
use crate::email_token::{EmailTokenPurpose, hash_presented};
use crate::flows::account::signed_in_user;
use crate::flows::credentials::{Passwords, finish_reset};
use crate::flows::mailing::Mailer;
use crate::flows::reauth::Reauth;
use crate::hooks::Action;
use crate::limits::Lockouts;
use crate::pipeline::{Flow, Outcome, Subject, flow_ctx};
use crate::secret::Password;
use crate::store::StoreError;
use crate::token::access::Principal;

flow_ctx!(
    /// What the mail-only flows work with: mail and emailed tokens.
    MailCtx { mailer: Mailer<'a> }
);

flow_ctx!(
    /// What an emailed reset works with: mail, the password policy and hasher, the lockouts
    /// it clears.
    ResetEmailCtx {
        mailer: Mailer<'a>,
        passwords: Passwords<'a>,
        lockouts: Lockouts<'a>,
    }
);

flow_ctx!(
    /// What asking to change the email works with: mail and re-authentication.
    EmailChangeCtx {
        mailer: Mailer<'a>,
        reauth: Reauth<'a>,
    }
);

/// Mails a new activation link to a pending account, within the address's mail limits.
/// Answers the same (`Ok`) for an unknown or already active address.
pub(crate) struct ResendActivation;

#[async_trait::async_trait]
impl<'a> Flow<'a> for ResendActivation {
    const ACTION: Action = Action::ResendActivation;
    type Ctx = MailCtx<'a>;
    type Input = Email;
    type Prepared = Email;
    type Output = ();

    async fn prepare(ctx: &Self::Ctx, email: Email) -> Result<Email, AuthError> {
        ctx.mailer().mail_enabled()?;
        Ok(email)
    }

    fn subject(email: &Email) -> Subject<'_> {
        Subject {
            email: Some(email),
            ..Subject::default()
        }
    }

    async fn execute(ctx: &Self::Ctx, email: Email) -> Result<((), Outcome), AuthError> {
        ctx.mailer()
            .counters
            .check_mail_send(ctx.mailer().cfg, &email, ctx.now)
            .await?;
        let user = ctx.store().user_by_email(&email).await?;
        if let Some(user) = &user
            && user.status == UserStatus::PendingActivation
        {
            ctx.mailer()
                .mail_token(user.id, &email, EmailTokenPurpose::Activation)
                .await?;
        }
        Ok(((), user.map(Outcome::user).unwrap_or_default()))
    }
}

/// `POST /activate`: activates the account of an activation token.
pub(crate) struct Activate;

#[async_trait::async_trait]
impl<'a> Flow<'a> for Activate {
    const ACTION: Action = Action::Activate;
    type Ctx = MailCtx<'a>;
    type Input = String;
    type Prepared = String;
    type Output = ();

    async fn prepare(_: &Self::Ctx, token: String) -> Result<String, AuthError> {
        Ok(token)
    }

    fn subject(_: &String) -> Subject<'_> {
        Subject::default()
    }

    async fn execute(ctx: &Self::Ctx, token: String) -> Result<((), Outcome), AuthError> {
        let t = ctx
            .mailer()
            .take_email_token(&token, EmailTokenPurpose::Activation)
            .await?;
        let store = ctx.store();
        let mut user = store
            .user_by_id(t.user_id)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        if user.status == UserStatus::PendingActivation {
            user.status = UserStatus::Active;
            if !store.update_user(&user).await? {
                return Err(AuthError::InvalidToken);
            }
        }
        tracing::info!(user_id = %user.id, "account activated");
        Ok(((), Outcome::user(user)))
    }
}

/// `POST /password/reset {"email"}`: mails a reset link when the address has an account.
/// Answers `Ok` either way (202), after the same limits (429 reveals nothing: it is keyed
/// by the address).
pub(crate) struct ResetEmailRequest;

#[async_trait::async_trait]
impl<'a> Flow<'a> for ResetEmailRequest {
    const ACTION: Action = Action::PasswordResetRequest;
    type Ctx = MailCtx<'a>;
    type Input = Email;
    type Prepared = (Email, Option<User>);
    type Output = ();

    async fn prepare(ctx: &Self::Ctx, email: Email) -> Result<Self::Prepared, AuthError> {
        ctx.mailer().mail_enabled()?;
        let user = ctx.store().user_by_email(&email).await?;
        Ok((email, user))
    }

    fn subject((email, user): &Self::Prepared) -> Subject<'_> {
        Subject {
            email: Some(email),
            user_id: user.as_ref().map(|u| u.id),
            ..Subject::default()
        }
    }

    async fn execute(
        ctx: &Self::Ctx,
        (email, user): Self::Prepared,
    ) -> Result<((), Outcome), AuthError> {
        ctx.mailer()
            .counters
            .check_mail_send(ctx.mailer().cfg, &email, ctx.now)
            .await?;
        if let Some(user) = &user {
            ctx.mailer()
                .mail_token(user.id, &email, EmailTokenPurpose::PasswordReset)
                .await?;
        }
        Ok(((), user.map(Outcome::user).unwrap_or_default()))
    }
}

/// `POST /password/reset/confirm {"token","new_password"}`: sets the password and revokes
/// every session. A weak password (422) leaves the token usable.
pub(crate) struct ResetEmailConfirm;

#[async_trait::async_trait]
impl<'a> Flow<'a> for ResetEmailConfirm {
    const ACTION: Action = Action::PasswordResetConfirm;
    type Ctx = ResetEmailCtx<'a>;
    type Input = (String, Password);
    type Prepared = (String, Password);
    type Output = ();

    async fn prepare(_: &Self::Ctx, input: Self::Input) -> Result<Self::Prepared, AuthError> {
        Ok(input)
    }

    fn subject(_: &Self::Prepared) -> Subject<'_> {
        Subject::default()
    }

    async fn execute(
        ctx: &Self::Ctx,
        (token, new_password): Self::Prepared,
    ) -> Result<((), Outcome), AuthError> {
        // Check the policy first so a weak password does not spend the token.
        let hash = hash_presented(ctx.mailer().email_key, &token).ok_or(AuthError::InvalidToken)?;
        let store = ctx.store();
        let pending = ctx
            .mailer()
            .tokens()?
            .email_token(&hash)
            .await?
            .filter(|t| t.purpose == EmailTokenPurpose::PasswordReset)
            .ok_or(AuthError::InvalidToken)?;
        let user = store
            .user_by_id(pending.user_id)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        let new_hash = ctx
            .passwords()
            .hash_new_password(Some(&user), &new_password)
            .await?;
        let t = ctx
            .mailer()
            .take_email_token(&token, EmailTokenPurpose::PasswordReset)
            .await?;
        let mut user = store
            .user_by_id(t.user_id)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        user.password_hash = Some(new_hash);
        user.credentials_changed_at = Some(ctx.now);
        // Following the emailed link proves the address: a pending account is activated.
        if user.status == UserStatus::PendingActivation && user.email.as_ref() == Some(&t.email) {
            user.status = UserStatus::Active;
        }
        if !store.update_user(&user).await? {
            return Err(AuthError::InvalidToken);
        }
        finish_reset(ctx.store(), ctx.lockouts(), ctx.now, user).await
    }
}

/// `POST /email {"email"[, "password"]}`: mails a confirmation link to the new address
/// (and a notice to the old one). Needs the current password, or a recent login for an
/// account without one.
pub(crate) struct EmailChangeRequest;

#[async_trait::async_trait]
impl<'a> Flow<'a> for EmailChangeRequest {
    const ACTION: Action = Action::EmailChangeRequest;
    type Ctx = EmailChangeCtx<'a>;
    type Input = (Principal, Email, Option<Password>);
    type Prepared = Self::Input;
    type Output = ();

    async fn prepare(ctx: &Self::Ctx, input: Self::Input) -> Result<Self::Input, AuthError> {
        ctx.mailer().mail_enabled()?;
        Ok(input)
    }

    fn subject((principal, email, _): &Self::Input) -> Subject<'_> {
        Subject {
            email: Some(email),
            ..Subject::principal(principal)
        }
    }

    async fn execute(
        ctx: &Self::Ctx,
        (principal, email, password): Self::Input,
    ) -> Result<((), Outcome), AuthError> {
        let user = signed_in_user(ctx.store(), &principal).await?;
        ctx.reauth()
            .reauthenticate(&principal, &user, password.as_ref())
            .await?;
        if user.email.as_ref() == Some(&email) {
            return Err(AuthError::invalid_request(
                "that is already the account's email",
            ));
        }
        if ctx.store().user_by_email(&email).await?.is_some() {
            return Err(AuthError::AlreadyRegistered);
        }
        ctx.mailer()
            .counters
            .check_mail_send(ctx.mailer().cfg, &email, ctx.now)
            .await?;
        ctx.mailer()
            .mail_token(user.id, &email, EmailTokenPurpose::EmailChange)
            .await?;
        if let Some(old) = &user.email {
            ctx.mailer().mail_notice(old).await;
        }
        Ok(((), Outcome::principal_user(&principal, user)))
    }
}

/// `POST /email/confirm {"token"}`: makes the token's address the account's email.
pub(crate) struct EmailChangeConfirm;

#[async_trait::async_trait]
impl<'a> Flow<'a> for EmailChangeConfirm {
    const ACTION: Action = Action::EmailChangeConfirm;
    type Ctx = MailCtx<'a>;
    type Input = String;
    type Prepared = String;
    type Output = ();

    async fn prepare(_: &Self::Ctx, token: String) -> Result<String, AuthError> {
        Ok(token)
    }

    fn subject(_: &String) -> Subject<'_> {
        Subject::default()
    }

    async fn execute(ctx: &Self::Ctx, token: String) -> Result<((), Outcome), AuthError> {
        let t = ctx
            .mailer()
            .take_email_token(&token, EmailTokenPurpose::EmailChange)
            .await?;
        let store = ctx.store();
        let mut user = store
            .user_by_id(t.user_id)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        user.email = Some(t.email.clone());
        user.credentials_changed_at = Some(ctx.now);
        if user.status == UserStatus::PendingActivation {
            user.status = UserStatus::Active;
        }
        match store.update_user(&user).await {
            Ok(true) => {}
            Ok(false) => return Err(AuthError::InvalidToken),
            Err(StoreError::Conflict(_)) => return Err(AuthError::AlreadyRegistered),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(user_id = %user.id, "email changed");
        Ok(((), Outcome::user(user)))
    }
}
