//! Flows over email: account activation, password reset by emailed token, and changing the
//! account's email address. Tokens are in [`crate::email_token`]; mail goes out through the
//! app's [`crate::mail::MailSender`]. Without a mail sender these flows answer
//! `invalid_request` ("email is not enabled"), never a silent success.

use crate::account::{Email, User, UserStatus};
use crate::api::ClientInfo;
use crate::email_token::{
    EmailToken, EmailTokenPurpose, EmailTokenState, hash_presented, new_token,
};
use crate::hooks::{Action, AfterHook, BeforeHook};
use crate::hooks::{principal_after, principal_hook};
use crate::ids::UserId;
use crate::mail::{MailKind, MailMessage};
use crate::secret::{BearerToken, Password};
use crate::store::{OneTimeTokenStore, StoreError};
use crate::token::access::Principal;
use crate::{Auth, AuthError};

/// Subject and body of each kind of mail. Senders that want their own text use
/// [`MailMessage::kind`] and [`MailMessage::token`].
fn mail_text(kind: MailKind, token: Option<&str>) -> (String, String) {
    let t = token.unwrap_or_default();
    match kind {
        MailKind::Activation => (
            "Activate your account".to_owned(),
            format!("Welcome! Activate your account with this token:\n\n{t}\n"),
        ),
        MailKind::PasswordReset => (
            "Reset your password".to_owned(),
            format!(
                "Someone asked to reset your password. If it was you, use this token:\n\n{t}\n\n\
                 If it was not you, ignore this mail."
            ),
        ),
        MailKind::EmailChange => (
            "Confirm your new email address".to_owned(),
            format!("Confirm this address for your account with this token:\n\n{t}\n"),
        ),
        MailKind::RegistrationAttempt => (
            "Someone tried to register with your email address".to_owned(),
            "Someone tried to create a new account with this email address, which already has \
             an account. Nothing was changed. If it was you, log in instead, or reset your \
             password if you forgot it. If it was not you, ignore this mail."
                .to_owned(),
        ),
        _ => (
            "Your account's email address was changed".to_owned(),
            "The email address of your account was changed. If this was not you, contact \
             support."
                .to_owned(),
        ),
    }
}

impl Auth {
    fn mail_enabled(&self) -> Result<&dyn crate::mail::MailSender, AuthError> {
        self.inner
            .mail
            .as_deref()
            .ok_or_else(|| AuthError::invalid_request("email is not enabled on this server"))
    }

    /// The emailed-token store. There is one whenever there is a mail sender (the builder
    /// checks); without one no token was ever issued, so every presented token is unknown.
    fn one_time_tokens(&self) -> Result<&dyn OneTimeTokenStore, AuthError> {
        self.inner
            .one_time_tokens
            .as_deref()
            .ok_or(AuthError::InvalidToken)
    }

    /// Issues a token of `purpose` for `user` to `to`, stores its hash and mails it.
    pub(crate) async fn mail_token(
        &self,
        user_id: UserId,
        to: &Email,
        purpose: EmailTokenPurpose,
    ) -> Result<(), AuthError> {
        let sender = self.mail_enabled()?;
        let cfg = &self.inner.config.accounts;
        let (ttl, kind) = match purpose {
            EmailTokenPurpose::Activation => (cfg.activation_ttl_secs, MailKind::Activation),
            EmailTokenPurpose::PasswordReset => (cfg.reset_ttl_secs, MailKind::PasswordReset),
            _ => (cfg.email_change_ttl_secs, MailKind::EmailChange),
        };
        let now = self.now();
        let (token, hash) = new_token(&self.inner.email_key);
        self.one_time_tokens()?
            .insert_email_token(&EmailToken {
                hash,
                purpose,
                user_id,
                email: to.clone(),
                created_at: now,
                expires_at: now + crate::auth::secs(ttl),
                consumed_at: None,
            })
            .await?;
        let (subject, body) = mail_text(kind, Some(&token));
        let message = MailMessage {
            to: to.clone(),
            kind,
            subject,
            body,
            token: Some(BearerToken::new(token)),
        };
        sender.send(&message).await.map_err(|e| {
            tracing::warn!(error = %e, user_id = %user_id, "sending a mail failed");
            AuthError::MailUnavailable
        })
    }

    /// Counts a mail to `to` against the address's limits (`Counters::check_mail_send`):
    /// `Ok(false)` when they refuse it, for callers that then skip the mail silently and
    /// answer as usual. A store failure is still an error.
    pub(crate) async fn mail_allowed(&self, to: &Email) -> Result<bool, AuthError> {
        match self
            .counters()
            .check_mail_send(&self.inner.config.accounts, to, self.now())
            .await
        {
            Ok(()) => Ok(true),
            Err(AuthError::RateLimited { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Tells the owner of `to` that someone tried to register it again. A delivery failure
    /// is `mail_unavailable`, as for the activation mail a free address would have got.
    pub(crate) async fn mail_registration_attempt(&self, to: &Email) -> Result<(), AuthError> {
        let sender = self.mail_enabled()?;
        let (subject, body) = mail_text(MailKind::RegistrationAttempt, None);
        let message = MailMessage {
            to: to.clone(),
            kind: MailKind::RegistrationAttempt,
            subject,
            body,
            token: None,
        };
        sender.send(&message).await.map_err(|e| {
            tracing::warn!(error = %e, "sending a registration attempt notice failed");
            AuthError::MailUnavailable
        })
    }

    /// Sends a notice without a token; failures are logged only.
    async fn mail_notice(&self, to: &Email) {
        if let Some(sender) = self.inner.mail.as_deref() {
            let (subject, body) = mail_text(MailKind::Notice, None);
            let message = MailMessage {
                to: to.clone(),
                kind: MailKind::Notice,
                subject,
                body,
                token: None,
            };
            if let Err(e) = sender.send(&message).await {
                tracing::warn!(error = %e, "sending a notice mail failed");
            }
        }
    }

    /// Looks up a presented token of `purpose` and consumes it: `invalid_token` when unknown
    /// or malformed, `challenge_consumed` when used, `code_expired` when expired or issued
    /// before the account's latest credential change.
    async fn take_email_token(
        &self,
        token: &str,
        purpose: EmailTokenPurpose,
    ) -> Result<EmailToken, AuthError> {
        let hash = hash_presented(&self.inner.email_key, token).ok_or(AuthError::InvalidToken)?;
        let store = self.inner.store.as_ref();
        let tokens = self.one_time_tokens()?;
        let stored = tokens
            .email_token(&hash)
            .await?
            .filter(|t| t.purpose == purpose)
            .ok_or(AuthError::InvalidToken)?;
        let now = self.now();
        match stored.state(now) {
            EmailTokenState::Open => {}
            EmailTokenState::Consumed => return Err(AuthError::ChallengeConsumed),
            EmailTokenState::Expired => return Err(AuthError::CodeExpired),
        }
        // A token mailed before the account's latest credential change is dead, as if expired.
        if let Some(user) = store.user_by_id(stored.user_id).await?
            && user.superseded(stored.created_at)
        {
            return Err(AuthError::CodeExpired);
        }
        if !tokens.consume_email_token(&hash, now).await? {
            return Err(AuthError::ChallengeConsumed);
        }
        Ok(stored)
    }

    /// Mails a new activation link to a pending account, within the address's mail limits.
    /// Answers the same (`Ok`) for an unknown or already active address.
    pub async fn resend_activation(&self, email: &str) -> Result<(), AuthError> {
        self.mail_enabled()?;
        let email = Email::parse(email)?;
        self.counters()
            .check_mail_send(&self.inner.config.accounts, &email, self.now())
            .await?;
        if let Some(user) = self.inner.store.user_by_email(&email).await?
            && user.status == UserStatus::PendingActivation
        {
            self.mail_token(user.id, &email, EmailTokenPurpose::Activation)
                .await?;
        }
        Ok(())
    }

    /// On a correct password for a pending account: mail a new link if the limits allow
    /// (best effort; the login answers `activation_required` either way).
    pub(crate) async fn nudge_activation(&self, user: &User) {
        let Some(email) = &user.email else { return };
        if self.inner.mail.is_none() {
            return;
        }
        let allowed = self
            .counters()
            .check_mail_send(&self.inner.config.accounts, email, self.now())
            .await;
        if allowed.is_ok()
            && let Err(e) = self
                .mail_token(user.id, email, EmailTokenPurpose::Activation)
                .await
        {
            tracing::warn!(error = %e, user_id = %user.id, "re-sending the activation mail failed");
        }
    }

    /// `POST /activate`: activates the account of an activation token.
    pub async fn activate(&self, token: &str, client: &ClientInfo) -> Result<(), AuthError> {
        self.before(BeforeHook::new(Action::Activate, client))
            .await?;
        let t = self
            .take_email_token(token, EmailTokenPurpose::Activation)
            .await?;
        let store = self.inner.store.as_ref();
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
        self.after(AfterHook {
            action: Action::Activate,
            client,
            user: Some(&user),
            user_id: Some(user.id),
            session_id: None,
        })
        .await;
        Ok(())
    }

    /// `POST /password/reset {"email"}`: mails a reset link when the address has an account.
    /// Answers `Ok` either way (202), after the same limits (429 reveals nothing: it is keyed
    /// by the address).
    pub async fn request_password_reset_email(
        &self,
        email: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        self.mail_enabled()?;
        let email = Email::parse(email)?;
        let store = self.inner.store.as_ref();
        let user = store.user_by_email(&email).await?;
        let mut hook = BeforeHook::new(Action::PasswordResetRequest, client);
        hook.email = Some(&email);
        hook.user_id = user.as_ref().map(|u| u.id);
        self.before(hook).await?;
        self.counters()
            .check_mail_send(&self.inner.config.accounts, &email, self.now())
            .await?;
        if let Some(user) = &user {
            self.mail_token(user.id, &email, EmailTokenPurpose::PasswordReset)
                .await?;
        }
        self.after(AfterHook {
            action: Action::PasswordResetRequest,
            client,
            user: user.as_ref(),
            user_id: user.as_ref().map(|u| u.id),
            session_id: None,
        })
        .await;
        Ok(())
    }

    /// `POST /password/reset/confirm {"token","new_password"}`: sets the password and revokes
    /// every session. A weak password (422) leaves the token usable.
    pub async fn confirm_password_reset_email(
        &self,
        token: &str,
        new_password: &Password,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        self.before(BeforeHook::new(Action::PasswordResetConfirm, client))
            .await?;
        // Check the policy first so a weak password does not spend the token.
        let hash = hash_presented(&self.inner.email_key, token).ok_or(AuthError::InvalidToken)?;
        let store = self.inner.store.as_ref();
        let pending = self
            .one_time_tokens()?
            .email_token(&hash)
            .await?
            .filter(|t| t.purpose == EmailTokenPurpose::PasswordReset)
            .ok_or(AuthError::InvalidToken)?;
        let user = store
            .user_by_id(pending.user_id)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        let new_hash = self.hash_new_password(Some(&user), new_password).await?;
        let t = self
            .take_email_token(token, EmailTokenPurpose::PasswordReset)
            .await?;
        let mut user = store
            .user_by_id(t.user_id)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        user.password_hash = Some(new_hash);
        user.credentials_changed_at = Some(self.now());
        // Following the emailed link proves the address: a pending account is activated.
        if user.status == UserStatus::PendingActivation && user.email.as_ref() == Some(&t.email) {
            user.status = UserStatus::Active;
        }
        if !store.update_user(&user).await? {
            return Err(AuthError::InvalidToken);
        }
        self.finish_reset(&user, client).await
    }

    /// `POST /email {"email"[, "password"]}`: mails a confirmation link to the new address
    /// (and a notice to the old one). Needs the current password, or a recent login for an
    /// account without one.
    pub async fn request_email_change(
        &self,
        principal: &Principal,
        email: &str,
        password: Option<&Password>,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        self.mail_enabled()?;
        let email = Email::parse(email)?;
        let mut hook = principal_hook(Action::EmailChangeRequest, principal, client);
        hook.email = Some(&email);
        self.before(hook).await?;
        let store = self.inner.store.as_ref();
        let user = store
            .user_by_id(principal.user_id)
            .await?
            .ok_or(AuthError::TokenRevoked)?;
        self.reauthenticate(principal, &user, password, client)
            .await?;
        if user.email.as_ref() == Some(&email) {
            return Err(AuthError::invalid_request(
                "that is already the account's email",
            ));
        }
        if store.user_by_email(&email).await?.is_some() {
            return Err(AuthError::AlreadyRegistered);
        }
        self.counters()
            .check_mail_send(&self.inner.config.accounts, &email, self.now())
            .await?;
        self.mail_token(user.id, &email, EmailTokenPurpose::EmailChange)
            .await?;
        if let Some(old) = &user.email {
            self.mail_notice(old).await;
        }
        self.after(AfterHook {
            user: Some(&user),
            ..principal_after(Action::EmailChangeRequest, principal, client)
        })
        .await;
        Ok(())
    }

    /// `POST /email/confirm {"token"}`: makes the token's address the account's email.
    pub async fn confirm_email_change(
        &self,
        token: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        self.before(BeforeHook::new(Action::EmailChangeConfirm, client))
            .await?;
        let t = self
            .take_email_token(token, EmailTokenPurpose::EmailChange)
            .await?;
        let store = self.inner.store.as_ref();
        let mut user = store
            .user_by_id(t.user_id)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        user.email = Some(t.email.clone());
        user.credentials_changed_at = Some(self.now());
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
        self.after(AfterHook {
            action: Action::EmailChangeConfirm,
            client,
            user: Some(&user),
            user_id: Some(user.id),
            session_id: None,
        })
        .await;
        Ok(())
    }
}
