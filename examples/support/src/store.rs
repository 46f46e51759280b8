//! The store: SQLite on the `AUTH_DB` file by default (created on first use), PostgreSQL when
//! `DATABASE_URL` is set, Redis when `REDIS_URL` is set. With PostgreSQL and Redis, which
//! serve many instances of an app, the store's session events come along for the session
//! cache.

use std::sync::Arc;

use anyhow::{Context as _, Result};
use auth_core::Store;
use auth_core::session_cache::SessionEventBus;
use auth_core::store::OneTimeTokenStore;
use store_postgres::{PgStore, PgStoreConfig};
use store_redis::{RedisStore, RedisStoreConfig};
use store_sqlite::SqliteStore;

use crate::Settings;

/// The opened store, as the handles `Auth::builder` takes.
#[derive(Clone)]
pub struct OpenedStore {
    /// The [`Store`].
    pub store: Arc<dyn Store>,
    /// The same store again, as the emailed-token store (`AuthBuilder::one_time_tokens_arc`).
    pub one_time_tokens: Arc<dyn OneTimeTokenStore>,
    /// The store's session events, for the session cache: `None` for SQLite.
    pub events: Option<Arc<dyn SessionEventBus>>,
}

impl std::fmt::Debug for OpenedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedStore")
            .field("events", &self.events.is_some())
            .finish_non_exhaustive()
    }
}

/// The handles to one store of every record.
fn opened<S: Store + OneTimeTokenStore>(
    store: S,
    events: Option<Arc<dyn SessionEventBus>>,
) -> OpenedStore {
    let store = Arc::new(store);
    OpenedStore {
        store: Arc::clone(&store) as Arc<dyn Store>,
        one_time_tokens: store,
        events,
    }
}

/// Opens the store the settings name.
pub async fn open_store(settings: &Settings) -> Result<OpenedStore> {
    if let Some(url) = &settings.database_url {
        let config = PgStoreConfig::new(url.as_str()).schema(settings.pg_schema.as_str());
        let store = PgStore::connect(config)
            .await
            .context("cannot connect to PostgreSQL at DATABASE_URL")?;
        // The URL is not logged: it may hold a password.
        tracing::info!(schema = %settings.pg_schema, "store: PostgreSQL (DATABASE_URL)");
        let events: Arc<dyn SessionEventBus> = Arc::new(store.session_events());
        Ok(opened(store, Some(events)))
    } else if let Some(url) = &settings.redis_url {
        let config = RedisStoreConfig::new(url.as_str()).prefix(settings.redis_prefix.as_str());
        let store = RedisStore::connect(config)
            .await
            .context("cannot connect to Redis at REDIS_URL")?;
        // The URL is not logged: it may hold a password.
        tracing::info!(prefix = %settings.redis_prefix, "store: Redis (REDIS_URL)");
        let events: Arc<dyn SessionEventBus> = Arc::new(store.session_events());
        Ok(opened(store, Some(events)))
    } else {
        let path = &settings.db_path;
        let store = SqliteStore::open(path)
            .with_context(|| format!("cannot open the SQLite database {}", path.display()))?;
        tracing::info!(path = %path.display(), "store: SQLite");
        Ok(opened(store, None))
    }
}
