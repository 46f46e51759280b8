//! [`DevMail`]: the development mail sender. Each mail is printed to the terminal and, when an
//! outbox file is set (`AUTH_EMAIL_OUTBOX`), appended to it as
//! `{"to","subject","body","token","sent_at"}`.
//!
//! In production, implement [`MailSender`] over SMTP or your provider instead.

use std::path::PathBuf;

use auth_core::mail::{MailError, MailMessage, MailSender};

use crate::outbox;

/// Prints each mail and appends it to an optional outbox file.
#[derive(Debug, Clone, Default)]
pub struct DevMail {
    outbox: Option<PathBuf>,
}

impl DevMail {
    /// A sender that also appends to `outbox` when given.
    pub fn new(outbox: Option<PathBuf>) -> Self {
        Self { outbox }
    }
}

#[auth_core::async_trait]
impl MailSender for DevMail {
    async fn send(&self, message: &MailMessage) -> Result<(), MailError> {
        let token = message.token.as_ref().map(|t| t.expose());
        println!("mail to {}: {}", message.to, message.subject);
        for line in message.body.lines() {
            println!("    {line}");
        }
        if let Some(path) = &self.outbox {
            let record = serde_json::json!({
                "to": message.to.as_str(),
                "subject": message.subject,
                "body": message.body,
                "token": token,
                "sent_at": outbox::now_rfc3339(),
            });
            outbox::append_line(path, &record)
                .await
                .map_err(|e| MailError(format!("mail outbox {}: {e}", path.display())))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use auth_core::api::{ClientInfo, RegisterRequest};
    use auth_core::testkit::{FakeSms, MemoryStore, TestKit};
    use auth_core::{Auth, Password};

    use super::*;

    #[tokio::test]
    async fn appends_the_activation_mail_with_its_token() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mail.jsonl");
        let store = MemoryStore::new();
        let auth = Auth::builder(TestKit::config())
            .store(store.clone())
            .one_time_tokens(store)
            .sms(FakeSms::new())
            .mail(DevMail::new(Some(path.clone())))
            .build()
            .unwrap();
        let client = ClientInfo::default();
        auth.register(
            RegisterRequest {
                email: Some("alice@example.com".into()),
                password: Some(Password::new("correct horse battery staple")),
                ..Default::default()
            }
            .parse(auth.config())
            .unwrap(),
            &client,
        )
        .await
        .unwrap();

        let text = std::fs::read_to_string(&path).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["to"], "alice@example.com");
        let token = line["token"].as_str().unwrap();
        assert!(line["body"].as_str().unwrap().contains(token));
        assert!(!line["subject"].as_str().unwrap().is_empty());
        assert!(line["sent_at"].is_string());
        // The token in the outbox activates the account.
        assert!(auth.activate(token, &client).await.is_ok());
    }
}
