//! A mail sender that keeps what it sent, for tests to read tokens from.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::mail::{MailError, MailMessage, MailSender};

/// Records every mail; can be told to fail. Clones share the outbox.
#[derive(Clone, Debug, Default)]
pub struct FakeMail {
    inner: Arc<Mutex<Outbox>>,
}

#[derive(Debug, Default)]
struct Outbox {
    sent: Vec<MailMessage>,
    failing: bool,
}

impl FakeMail {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Outbox> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every mail sent so far, oldest first.
    pub fn sent(&self) -> Vec<MailMessage> {
        self.lock().sent.clone()
    }

    /// How many mails were sent.
    pub fn count(&self) -> usize {
        self.lock().sent.len()
    }

    /// The token of the latest mail to `email` (any case) that carried one.
    pub fn last_token_for(&self, email: &str) -> Option<String> {
        let email = crate::account::Email::parse(email).ok()?;
        self.lock()
            .sent
            .iter()
            .rev()
            .filter(|m| m.to == email)
            .find_map(|m| m.token.as_ref().map(|t| t.expose().to_owned()))
    }

    /// Makes every following send fail (`true`) or succeed again (`false`).
    pub fn set_failing(&self, failing: bool) {
        self.lock().failing = failing;
    }
}

#[async_trait]
impl MailSender for FakeMail {
    async fn send(&self, message: &MailMessage) -> Result<(), MailError> {
        let mut outbox = self.lock();
        if outbox.failing {
            return Err(MailError("fake mail sender set to fail".to_owned()));
        }
        outbox.sent.push(message.clone());
        Ok(())
    }
}
