//! Mail and emailed tokens, shared by the email flows and registration: issuing and mailing
//! a token, the address's mail limits, notices, and taking a presented token.

use chrono::{DateTime, Utc};

use crate::AuthError;
use crate::account::{Email, User};
use crate::config::AccountConfig;
use crate::email_token::{
    EmailToken, EmailTokenPurpose, EmailTokenState, hash_presented, new_token,
};
use crate::ids::UserId;
use crate::limits::Counters;
use crate::mail::{MailKind, MailMessage, MailSender};
use crate::secret::{BearerToken, MacKey};
use crate::store::{OneTimeTokenStore, Store};

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

/// What mailing works with: the time of the request, the store, the accounts section of the
/// configuration, the mail sender (if any), the token key and the counters (mail limits).
#[derive(Clone, Copy)]
pub(crate) struct Mailer<'a> {
    pub(crate) now: DateTime<Utc>,
    pub(crate) store: &'a dyn Store,
    pub(crate) cfg: &'a AccountConfig,
    pub(crate) sender: Option<&'a dyn MailSender>,
    /// The emailed-token store: there is one whenever there is a mail sender (the builder
    /// checks).
    pub(crate) tokens: Option<&'a dyn OneTimeTokenStore>,
    pub(crate) email_key: &'a MacKey,
    pub(crate) counters: Counters<'a>,
}

impl Mailer<'_> {
    /// The mail sender; `invalid_request` when the server has none.
    pub(crate) fn mail_enabled(&self) -> Result<&dyn MailSender, AuthError> {
        self.sender
            .ok_or_else(|| AuthError::invalid_request("email is not enabled on this server"))
    }

    /// The emailed-token store. Without one no token was ever issued, so every presented
    /// token is unknown.
    pub(crate) fn tokens(&self) -> Result<&dyn OneTimeTokenStore, AuthError> {
        self.tokens.ok_or(AuthError::InvalidToken)
    }

    /// Issues a token of `purpose` for `user` to `to`, stores its hash and mails it.
    pub(crate) async fn mail_token(
        &self,
        user_id: UserId,
        to: &Email,
        purpose: EmailTokenPurpose,
    ) -> Result<(), AuthError> {
        let sender = self.mail_enabled()?;
        let cfg = self.cfg;
        let (ttl, kind) = match purpose {
            EmailTokenPurpose::Activation => (cfg.activation_ttl_secs, MailKind::Activation),
            EmailTokenPurpose::PasswordReset => (cfg.reset_ttl_secs, MailKind::PasswordReset),
            _ => (cfg.email_change_ttl_secs, MailKind::EmailChange),
        };
        let now = self.now;
        let (token, hash) = new_token(self.email_key);
        self.tokens()?
            .insert_email_token(&EmailToken {
                hash,
                purpose,
                user_id,
                email: to.clone(),
                created_at: now,
                expires_at: now + crate::clock::secs(ttl),
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
        match self.counters.check_mail_send(self.cfg, to, self.now).await {
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
    pub(crate) async fn mail_notice(&self, to: &Email) {
        if let Some(sender) = self.sender {
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
    pub(crate) async fn take_email_token(
        &self,
        token: &str,
        purpose: EmailTokenPurpose,
    ) -> Result<EmailToken, AuthError> {
        let hash = hash_presented(self.email_key, token).ok_or(AuthError::InvalidToken)?;
        let store = self.store;
        let tokens = self.tokens()?;
        let stored = tokens
            .email_token(&hash)
            .await?
            .filter(|t| t.purpose == purpose)
            .ok_or(AuthError::InvalidToken)?;
        let now = self.now;
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

    /// On a correct password for a pending account: mail a new link if the limits allow
    /// (best effort; the login answers `activation_required` either way).
    pub(crate) async fn nudge_activation(&self, user: &User) {
        let Some(email) = &user.email else { return };
        if self.sender.is_none() {
            return;
        }
        let allowed = self
            .counters
            .check_mail_send(self.cfg, email, self.now)
            .await;
        if allowed.is_ok()
            && let Err(e) = self
                .mail_token(user.id, email, EmailTokenPurpose::Activation)
                .await
        {
            tracing::warn!(error = %e, user_id = %user.id, "re-sending the activation mail failed");
        }
    }
}
