//! [`DevSms`]: the development SMS sender. Nothing leaves the machine: each message is printed
//! to the terminal (`code for +15551234567: 123456`) and, when an outbox file is set
//! (`AUTH_SMS_OUTBOX`), appended to it as `{"to","code","message","sent_at"}`.
//!
//! In production, implement [`SmsSender`] over your provider (Twilio, Vonage, …) instead.

use std::path::PathBuf;

use auth_core::{SmsError, SmsMessage, SmsSender};

use crate::outbox;

/// Prints each SMS and appends it to an optional outbox file.
#[derive(Debug, Clone, Default)]
pub struct DevSms {
    outbox: Option<PathBuf>,
}

impl DevSms {
    /// A sender that also appends to `outbox` when given.
    pub fn new(outbox: Option<PathBuf>) -> Self {
        Self { outbox }
    }
}

#[auth_core::async_trait]
impl SmsSender for DevSms {
    async fn send(&self, message: &SmsMessage) -> Result<(), SmsError> {
        let code = message.code.as_ref().map(|c| c.expose());
        // The terminal line is the point of this sender; it is not a log line.
        match code {
            Some(code) => println!("code for {}: {code}", message.to),
            None => println!("sms to {}: {}", message.to, message.text),
        }
        if let Some(path) = &self.outbox {
            let record = serde_json::json!({
                "to": message.to.as_str(),
                "code": code,
                "message": message.text,
                "sent_at": outbox::now_rfc3339(),
            });
            outbox::append_line(path, &record)
                .await
                .map_err(|e| SmsError(format!("SMS outbox {}: {e}", path.display())))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use auth_core::api::{ClientInfo, RegisterRequest};
    use auth_core::testkit::{MemoryStore, TestKit};
    use auth_core::{Auth, OneTimeCode};

    use super::*;

    #[tokio::test]
    async fn appends_one_json_line_per_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sms.jsonl");
        let auth = Auth::builder(TestKit::config())
            .store(MemoryStore::new())
            .sms(DevSms::new(Some(path.clone())))
            .build()
            .unwrap();
        let client = ClientInfo::default();
        let phone = "+15551234567";
        auth.register(
            RegisterRequest {
                phone: Some(phone.into()),
                ..Default::default()
            }
            .parse(auth.config())
            .unwrap(),
            &client,
        )
        .await
        .unwrap();
        let parsed = auth_core::Phone::parse(phone, false).unwrap();
        let challenge = auth.start_sms_login(&parsed, &client).await.unwrap();

        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1);
        let line: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(line["to"], phone);
        let code = line["code"].as_str().unwrap();
        assert_eq!(code.len(), 6);
        assert!(line["message"].as_str().unwrap().contains(code));
        assert!(line["sent_at"].as_str().unwrap().ends_with('Z'));
        // The code in the outbox is the one that works.
        let id = challenge.challenge_id;
        assert!(
            auth.verify_sms(id, &OneTimeCode::new(code), &client)
                .await
                .is_ok()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[tokio::test]
    async fn an_unwritable_outbox_is_a_failed_delivery() {
        let dir = tempfile::tempdir().unwrap();
        let sms = DevSms::new(Some(dir.path().join("missing-dir").join("sms.jsonl")));
        let message = SmsMessage {
            to: auth_core::Phone::parse("+15551234567", false).unwrap(),
            kind: auth_core::sms::SmsKind::Notice,
            code: None,
            text: "hello".into(),
        };
        assert!(sms.send(&message).await.is_err());
    }
}
