//! [`ExampleApp`]: everything an example server needs before it mounts the routes.

use std::sync::Arc;

use anyhow::{Context as _, Result};
use auth_core::{Auth, AuthConfig};

use crate::{AdminGrants, DevMail, DevSms, Settings, init_tracing, load_or_create_secret};

/// The configured [`Auth`] of an example server, with its [`Settings`].
///
/// ```no_run
/// # async fn run() -> anyhow::Result<()> {
/// let app = example_support::ExampleApp::start().await?;
/// let auth = app.auth(); // hand it to the framework adapter
/// # let _ = auth;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ExampleApp {
    settings: Settings,
    auth: Arc<Auth>,
}

impl ExampleApp {
    /// Installs logging, reads the [`Settings`] from the environment and builds the `Auth`.
    pub async fn start() -> Result<Self> {
        init_tracing();
        Self::with_settings(Settings::from_env()?).await
    }

    /// Builds the `Auth` for `settings`: the store, the signing secret, the development SMS
    /// and mail senders, and the hook granting `admin` to the accounts in `AUTH_ADMINS`
    /// (those that already exist get it now).
    pub async fn with_settings(settings: Settings) -> Result<Self> {
        let (store, one_time_tokens) = crate::open_store(&settings).await?;
        let secret = match &settings.jwt_secret {
            Some(secret) => secret.clone(),
            None => load_or_create_secret(&settings.db_path)?,
        };
        let admins = AdminGrants::new(settings.admins.clone());
        let auth = Auth::builder(AuthConfig::new(secret))
            .store_arc(store)
            .one_time_tokens_arc(one_time_tokens)
            .sms(DevSms::new(settings.sms_outbox.clone()))
            .mail(DevMail::new(settings.email_outbox.clone()))
            .hooks(admins.clone())
            .build()
            .context("invalid auth configuration")?;
        // The hook holds a weak reference; this Arc keeps it alive while the app runs.
        let auth = Arc::new(auth);
        admins.attach(&auth);
        if !settings.admins.is_empty() {
            let existing = settings
                .admins
                .grant_existing(&auth)
                .await
                .context("cannot grant admin to the accounts in AUTH_ADMINS")?;
            tracing::info!(
                listed = settings.admins.len(),
                existing,
                "admins (AUTH_ADMINS)"
            );
        }
        if let Some(path) = &settings.sms_outbox {
            tracing::info!(path = %path.display(), "SMS outbox");
        }
        if let Some(path) = &settings.email_outbox {
            tracing::info!(path = %path.display(), "mail outbox");
        }
        Ok(Self { settings, auth })
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The auth service, for the framework adapter (cheap to clone).
    pub fn auth(&self) -> Auth {
        Auth::clone(&self.auth)
    }

    /// Logs that the server stopped, after the framework returned, and drops the `Auth` (and
    /// with it the store).
    pub fn stopped(self) {
        drop(self.auth);
        tracing::info!("stopped");
    }
}
