//! An SMS sender that keeps what it sent, for tests to read codes from.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::secret::OneTimeCode;
use crate::sms::{SmsError, SmsMessage, SmsSender};

/// Records every message; can be told to fail. Clones share the outbox.
#[derive(Clone, Debug, Default)]
pub struct FakeSms {
    inner: Arc<Mutex<Outbox>>,
}

#[derive(Debug, Default)]
struct Outbox {
    sent: Vec<SmsMessage>,
    failing: bool,
}

impl FakeSms {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Outbox> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every message sent so far, oldest first.
    pub fn sent(&self) -> Vec<SmsMessage> {
        self.lock().sent.clone()
    }

    /// How many messages were sent.
    pub fn count(&self) -> usize {
        self.lock().sent.len()
    }

    /// The code of the latest message to `phone` (any format `Phone::parse` accepts).
    pub fn last_code_for(&self, phone: &str) -> Option<OneTimeCode> {
        let phone = crate::phone::Phone::parse(phone, false).ok()?;
        self.lock()
            .sent
            .iter()
            .rev()
            .filter(|m| m.to == phone)
            .find_map(|m| m.code.clone())
    }

    /// Makes every following send fail (`true`) or succeed again (`false`).
    pub fn set_failing(&self, failing: bool) {
        self.lock().failing = failing;
    }
}

#[async_trait]
impl SmsSender for FakeSms {
    async fn send(&self, message: &SmsMessage) -> Result<(), SmsError> {
        let mut outbox = self.lock();
        if outbox.failing {
            return Err(SmsError("fake SMS sender set to fail".to_owned()));
        }
        outbox.sent.push(message.clone());
        Ok(())
    }
}
