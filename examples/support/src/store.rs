//! The store: SQLite on the `AUTH_DB` file by default (created on first use), Redis when
//! `REDIS_URL` is set.

use std::sync::Arc;

use anyhow::{Context as _, Result};
use auth_core::Store;
use auth_core::store::OneTimeTokenStore;
use store_redis::{RedisStore, RedisStoreConfig};
use store_sqlite::SqliteStore;

use crate::Settings;

/// The opened store, as the two handles `Auth::builder` takes: the [`Store`] and, the same
/// store again, the emailed-token store (`AuthBuilder::one_time_tokens_arc`).
pub(crate) type OpenedStore = (Arc<dyn Store>, Arc<dyn OneTimeTokenStore>);

/// Both handles to one store of every record.
fn opened<S: Store + OneTimeTokenStore>(store: S) -> OpenedStore {
    let store = Arc::new(store);
    (Arc::clone(&store) as Arc<dyn Store>, store)
}

/// Opens the store the settings name.
pub async fn open_store(settings: &Settings) -> Result<OpenedStore> {
    if let Some(url) = &settings.redis_url {
        let config = RedisStoreConfig::new(url.as_str()).prefix(settings.redis_prefix.as_str());
        let store = RedisStore::connect(config)
            .await
            .context("cannot connect to Redis at REDIS_URL")?;
        // The URL is not logged: it may hold a password.
        tracing::info!(prefix = %settings.redis_prefix, "store: Redis (REDIS_URL)");
        Ok(opened(store))
    } else {
        let path = &settings.db_path;
        let store = SqliteStore::open(path)
            .with_context(|| format!("cannot open the SQLite database {}", path.display()))?;
        tracing::info!(path = %path.display(), "store: SQLite");
        Ok(opened(store))
    }
}
