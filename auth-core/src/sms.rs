//! Sending SMS: the [`SmsSender`] trait an app implements over its provider (Twilio,
//! Vonage, …). The core decides what to send and when; a sender only delivers.

use std::fmt;

use async_trait::async_trait;

use crate::phone::Phone;
use crate::secret::OneTimeCode;

/// What an SMS is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SmsKind {
    /// A login code.
    LoginCode,
    /// A password reset code.
    PasswordResetCode,
    /// A code confirming a new phone number.
    PhoneChangeCode,
    /// A notice without a code (e.g. "your number was changed", sent to the old number).
    Notice,
}

/// One SMS. `Debug` hides the code and the text that contains it.
#[derive(Clone)]
pub struct SmsMessage {
    /// The recipient.
    pub to: Phone,
    /// What it is for.
    pub kind: SmsKind,
    /// The code, for senders that fill their own template (`None` for a notice).
    pub code: Option<OneTimeCode>,
    /// The full text, built from the configured template.
    pub text: String,
}

impl fmt::Debug for SmsMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsMessage")
            .field("to", &self.to)
            .field("kind", &self.kind)
            .field("code", &self.code)
            .field("text", &"<redacted>")
            .finish()
    }
}

/// Why an SMS could not be sent. The core answers `sms_unavailable` (503).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sms delivery failed: {0}")]
pub struct SmsError(pub String);

/// Delivers SMS.
#[async_trait]
pub trait SmsSender: Send + Sync + 'static {
    /// Sends one message. Return an error when the provider did not accept it.
    async fn send(&self, message: &SmsMessage) -> Result<(), SmsError>;
}
