//! "Mount it in your app": building the one `Auth` an app hands to its adapter.

use auth_core::{SmsError, SmsMessage, SmsSender, async_trait};

/// Stands for the app's SMS provider in the README's snippet.
pub struct MySmsSender;

#[async_trait]
impl SmsSender for MySmsSender {
    async fn send(&self, _message: &SmsMessage) -> Result<(), SmsError> {
        Err(SmsError(
            "no SMS provider in the README's example".to_owned(),
        ))
    }
}

/// The README's snippet: the secret from `AUTH_JWT_SECRET`, SQLite in `auth.db`.
pub fn build() -> Result<auth_core::Auth, Box<dyn std::error::Error>> {
    use auth_core::{Auth, AuthConfig, SigningSecret};
    use store_sqlite::SqliteStore;

    let secret = SigningSecret::new(std::env::var("AUTH_JWT_SECRET")?.into_bytes())?;
    let auth = Auth::builder(AuthConfig::new(secret))
        .store(SqliteStore::open("auth.db")?)
        .sms(MySmsSender) // your provider: impl auth_core::SmsSender
        .build()?;
    Ok(auth)
}
