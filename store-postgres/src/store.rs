//! [`PgStore`]: the pool, the migrations at connect, and how one store call gets a connection
//! and is bounded in time.

use std::sync::Arc;
use std::time::Duration;

use auth_core::StoreError;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio::sync::OnceCell;
use tokio_postgres::NoTls;

use crate::config::{PgStoreConfig, redacted_url};
use crate::error::{DbResult, describe, unavailable};
use crate::events::PgSessionEvents;
use crate::schema;

/// A store of every record ([`Store`](auth_core::Store) and
/// [`OneTimeTokenStore`](auth_core::store::OneTimeTokenStore)) in one schema of a PostgreSQL
/// database. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    config: PgStoreConfig,
    /// Set once the schema is known to be at [`schema::LATEST`].
    migrated: OnceCell<()>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.inner.pool.status();
        f.debug_struct("PgStore")
            .field("url", &redacted_url(&self.inner.config.url))
            .field("schema", &self.inner.config.schema)
            .field("connections", &status.size)
            .field("idle", &status.available)
            .field("max_connections", &status.max_size)
            .finish()
    }
}

impl PgStore {
    /// Connects to the database, creates the schema if it is missing and migrates it to the
    /// current version. Fails ([`StoreError::Unavailable`]) when the database cannot be
    /// reached within the connect timeout, the configuration is invalid, or the schema was
    /// written by a newer version of this crate.
    pub async fn connect(config: PgStoreConfig) -> Result<Self, StoreError> {
        let store = Self::connect_lazy(config)?;
        let _ = store.client().await?;
        Ok(store)
    }

    /// A store that connects (and migrates) at its first call instead: the app starts even
    /// while the database is down, and calls fail with [`StoreError::Unavailable`] until it
    /// is back. Must be called inside a Tokio runtime.
    pub fn connect_lazy(config: PgStoreConfig) -> Result<Self, StoreError> {
        let driver = config.driver_config(&config.application_name)?;
        let manager = Manager::from_config(
            driver,
            NoTls,
            ManagerConfig {
                // A pooled connection is checked with `Client::is_closed` only (no round
                // trip): one the server closed is replaced, and a broken one that looks open
                // fails its call, which then drops it.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(config.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(config.pool_wait_timeout))
            .create_timeout(Some(config.connect_timeout))
            .recycle_timeout(Some(config.connect_timeout))
            .build()
            .map_err(unavailable)?;
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                config,
                migrated: OnceCell::new(),
            }),
        })
    }

    /// The configuration this store was made with.
    pub fn config(&self) -> &PgStoreConfig {
        &self.inner.config
    }

    /// The schema version recorded in the database (the highest row of
    /// `schema_migrations`).
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let schema = self.inner.config.checked_schema()?.to_owned();
        on_conn!(self, |c| schema::version(&c, &schema))
    }

    /// The session-event bus of this store's schema (PostgreSQL `LISTEN/NOTIFY`), for
    /// [`AuthBuilder::session_cache`](auth_core::AuthBuilder::session_cache): every instance
    /// built on the same database and schema hears the others' events.
    pub fn session_events(&self) -> PgSessionEvents {
        PgSessionEvents::new(self.clone())
    }

    /// A pooled connection, the schema migrated on first use.
    pub(crate) async fn client(&self) -> Result<Object, StoreError> {
        let mut client = self
            .inner
            .pool
            .get()
            .await
            .map_err(|e| unavailable(describe(&e)))?;
        if !self.inner.migrated.initialized() {
            let schema = self.inner.config.checked_schema()?;
            let timeout = self.statement_timeout();
            self.inner
                .migrated
                .get_or_try_init(|| async {
                    let migrated =
                        tokio::time::timeout(timeout, schema::migrate(&mut client, schema)).await;
                    match migrated {
                        Ok(Ok(_)) => Ok(()),
                        Ok(Err(e)) => Err(StoreError::from(e)),
                        Err(_) => Err(unavailable(format!(
                            "the migrations did not finish within {timeout:?}"
                        ))),
                    }
                })
                .await?;
        }
        Ok(client)
    }

    /// How long the statements of one call may take.
    pub(crate) fn statement_timeout(&self) -> Duration {
        self.inner.config.statement_timeout
    }

    /// The outcome of a call that ran on `client` within the statement timeout (or not): a
    /// connection that did not answer in time is closed rather than handed to the next call,
    /// which would wait behind the lost answer.
    pub(crate) fn settle<T>(
        &self,
        client: Object,
        outcome: Result<DbResult<T>, tokio::time::error::Elapsed>,
    ) -> Result<T, StoreError> {
        match outcome {
            Ok(result) => Ok(result?),
            Err(_) => {
                drop(Object::take(client));
                Err(unavailable(format!(
                    "no answer within {:?}",
                    self.statement_timeout()
                )))
            }
        }
    }
}
