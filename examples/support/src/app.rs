//! [`ExampleApp`]: everything an example server needs before it mounts the routes.

use std::sync::Arc;

use anyhow::{Context as _, Result};
use auth_core::http::client_ip::ClientIpPolicy;
use auth_core::session_cache::SessionCacheConfig;
use auth_core::{Auth, AuthConfig};

use crate::{
    AdminGrants, DevMail, DevSms, LogGuard, RequestLogGuard, Settings, init_tracing,
    load_or_create_secret, start_request_log,
};

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
    request_log: Option<RequestLogGuard>,
    log: Option<LogGuard>,
}

impl ExampleApp {
    /// Installs logging, reads the [`Settings`] from the environment and builds the `Auth`.
    pub async fn start() -> Result<Self> {
        let log = init_tracing();
        let settings = Settings::from_env()?;
        let request_log = start_request_log(settings.request_log);
        let mut app = Self::with_settings(settings).await?;
        app.request_log = Some(request_log);
        app.log = log;
        Ok(app)
    }

    /// Builds the `Auth` for `settings`: the store, the signing secret, the development SMS
    /// and mail senders, the trusted proxies of `AUTH_TRUSTED_PROXIES` (none by default), and
    /// the hook granting `admin` to the accounts in `AUTH_ADMINS` (those that already exist
    /// get it now).
    pub async fn with_settings(settings: Settings) -> Result<Self> {
        let opened = crate::open_store(&settings).await?;
        let secret = match &settings.jwt_secret {
            Some(secret) => secret.clone(),
            None => load_or_create_secret(&settings.db_path)?,
        };
        let admins = AdminGrants::new(settings.admins.clone());
        let mut config = AuthConfig::new(secret);
        if !settings.trusted_proxies.is_empty() {
            config.client_ip = ClientIpPolicy::trusting(settings.trusted_proxies.iter().copied());
            let proxies: Vec<String> = settings
                .trusted_proxies
                .iter()
                .map(ToString::to_string)
                .collect();
            tracing::info!(
                proxies = %proxies.join(","),
                "trusted proxies (AUTH_TRUSTED_PROXIES): X-Forwarded-For names the client"
            );
        }
        let mut builder = Auth::builder(config)
            .store_arc(opened.store)
            .one_time_tokens_arc(opened.one_time_tokens)
            .sms(DevSms::new(settings.sms_outbox.clone()))
            .mail(DevMail::new(settings.email_outbox.clone()))
            .hooks(admins.clone());
        if let Some(events) = opened.events
            && !settings.session_cache.is_zero()
        {
            let cache = SessionCacheConfig::default().max_age(settings.session_cache);
            builder = builder.session_cache_arc(events, cache);
            tracing::info!(
                max_age_ms = settings.session_cache.as_millis(),
                "session cache on (AUTH_SESSION_CACHE_MS), kept current by the store's session events"
            );
        }
        let auth = builder.build().context("invalid auth configuration")?;
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
        Ok(Self {
            settings,
            auth,
            request_log: None,
            log: None,
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The auth service, for the framework adapter (cheap to clone).
    pub fn auth(&self) -> Auth {
        Auth::clone(&self.auth)
    }

    /// After the framework returned: drops the `Auth` (and with it the store), writes the last
    /// request summary, logs that the server stopped, then writes out the lines still queued.
    pub fn stopped(self) {
        drop(self.auth);
        drop(self.request_log);
        tracing::info!("stopped");
        drop(self.log);
    }
}

#[cfg(test)]
mod tests {
    use auth_core::http::client_ip::IpRange;

    use super::*;

    fn settings(dir: &std::path::Path, proxies: &str) -> Settings {
        let db = dir.join("auth.db").display().to_string();
        let proxies = proxies.to_owned();
        Settings::from_lookup(move |name| match name {
            "AUTH_DB" => Some(db.clone()),
            "AUTH_TRUSTED_PROXIES" => Some(proxies.clone()),
            _ => None,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn no_proxy_is_trusted_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let app = ExampleApp::with_settings(settings(dir.path(), ""))
            .await
            .unwrap();
        assert!(app.auth().config().client_ip.trusted_proxies.is_empty());
    }

    #[tokio::test]
    async fn the_trusted_proxies_reach_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let app = ExampleApp::with_settings(settings(dir.path(), "127.0.0.1"))
            .await
            .unwrap();
        let auth = app.auth();
        let policy = &auth.config().client_ip;
        assert_eq!(
            policy.trusted_proxies,
            ["127.0.0.1".parse::<IpRange>().unwrap()]
        );
        let headers = [("x-forwarded-for", "198.18.0.7")];
        let peer = Some("127.0.0.1".parse().unwrap());
        assert_eq!(
            policy.client_ip_of(peer, &headers),
            Some("198.18.0.7".parse().unwrap())
        );
    }

    #[tokio::test]
    async fn trusting_every_address_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = ExampleApp::with_settings(settings(dir.path(), "0.0.0.0/0"))
            .await
            .unwrap_err();
        assert!(format!("{err:#}").contains("trusted_proxies"), "{err:#}");
    }
}
