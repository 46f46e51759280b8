//! Sending mail: the [`MailSender`] trait an app implements over its provider (SMTP, SES, …),
//! beside [`crate::SmsSender`]. The core decides what to send; a sender only delivers.

use std::fmt;

use async_trait::async_trait;

use crate::account::Email;
use crate::secret::BearerToken;

/// What a mail is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MailKind {
    /// Activate a new account.
    Activation,
    /// Reset the password.
    PasswordReset,
    /// Confirm a new email address.
    EmailChange,
    /// A notice without a token (e.g. "your address was changed", to the old address).
    Notice,
    /// A notice without a token to the owner of an address that someone tried to register
    /// again (sent instead of an activation link when `accounts.conceal_existing` is on).
    RegistrationAttempt,
}

/// One mail. `Debug` hides the token and the body that contains it.
#[derive(Clone)]
pub struct MailMessage {
    /// The recipient.
    pub to: Email,
    /// What it is for.
    pub kind: MailKind,
    /// Subject line.
    pub subject: String,
    /// Plain-text body (contains the token, if any).
    pub body: String,
    /// The one-time token, for senders that build their own links (`None` for a notice).
    pub token: Option<BearerToken>,
}

impl fmt::Debug for MailMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailMessage")
            .field("to", &self.to)
            .field("kind", &self.kind)
            .field("subject", &self.subject)
            .field("body", &"<redacted>")
            .field("token", &self.token)
            .finish()
    }
}

/// Why a mail could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mail delivery failed: {0}")]
pub struct MailError(pub String);

/// Delivers mail.
#[async_trait]
pub trait MailSender: Send + Sync + 'static {
    /// Sends one message. Return an error when the provider did not accept it.
    async fn send(&self, message: &MailMessage) -> Result<(), MailError>;
}
