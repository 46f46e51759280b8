//! The README's "Running several instances" snippet: an `Auth` on PostgreSQL or Redis with
//! the session cache, kept current by the store's own session events.

use auth_core::session_cache::SessionCacheConfig;
use auth_core::{Auth, AuthConfig, SmsSender, StoreError};
use store_postgres::{PgStore, PgStoreConfig};
use store_redis::{RedisStore, RedisStoreConfig};

/// Why building the `Auth` failed.
#[derive(Debug)]
pub enum BuildError {
    /// The store could not be reached.
    Store(StoreError),
    /// The configuration is invalid.
    Config(auth_core::ConfigError),
}

/// The README's snippet: every instance runs this with the same URL and secret.
pub async fn on_postgres(config: AuthConfig, sms: impl SmsSender) -> Result<Auth, BuildError> {
    // DATABASE_URL, e.g. postgres://app:secret@db:5432/myapp; the tables live in schema `auth`.
    let store = PgStore::connect(PgStoreConfig::from_env().schema("auth"))
        .await
        .map_err(BuildError::Store)?;
    let auth = Auth::builder(config)
        .store(store.clone())
        .session_cache(store.session_events(), SessionCacheConfig::default())
        .sms(sms)
        .build()
        .map_err(BuildError::Config)?;
    Ok(auth)
}

/// The same on Redis (`REDIS_URL`, or `REDIS_CLUSTER_URLS` for a Redis Cluster).
pub async fn on_redis(config: AuthConfig, sms: impl SmsSender) -> Result<Auth, BuildError> {
    let store = RedisStore::connect(RedisStoreConfig::from_env().prefix("myapp:auth:"))
        .await
        .map_err(BuildError::Store)?;
    let auth = Auth::builder(config)
        .store(store.clone())
        .session_cache(store.session_events(), SessionCacheConfig::default())
        .sms(sms)
        .build()
        .map_err(BuildError::Config)?;
    Ok(auth)
}
