//! [`PgSessionEvents`]: session events between app instances over PostgreSQL
//! `LISTEN/NOTIFY`, for the session cache of `auth-core`
//! ([`session_cache`](auth_core::session_cache)).
//!
//! Publishing is `SELECT pg_notify(channel, event)` on a pooled connection. Each subscription
//! is a task with a connection of its own (not from the pool: a `LISTEN` belongs to one
//! session): it connects, runs `LISTEN`, and only then reports itself connected; it passes on
//! every notification, and when the connection ends (the server restarted, the backend was
//! terminated, a network error, or no answer to the ping it sends every
//! [`PING_EVERY`] while idle) it reports itself disconnected and connects again with a
//! backoff from [`MIN_BACKOFF`] to [`MAX_BACKOFF`]. It ends within a second of its listener
//! closing. The channel is `<schema>.session_events`, so stores on different schemas of one
//! database do not hear each other.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use auth_core::StoreError;
use auth_core::session_cache::{SessionEvent, SessionEventBus, SessionEventListener};
use deadpool_postgres::ClientWrapper;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::PgStore;
use crate::error::{DbResult, unavailable};

/// The first wait before connecting again after a failure.
pub const MIN_BACKOFF: Duration = Duration::from_millis(50);
/// The longest wait between two connection attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// How often an idle listening connection is checked with an empty query (a dead peer whose
/// TCP connection looks open is noticed within this plus the statement timeout).
pub const PING_EVERY: Duration = Duration::from_secs(5);
/// How often the task checks whether anyone still listens.
const CLOSED_CHECK: Duration = Duration::from_secs(1);

/// The session-event bus of a [`PgStore`]'s schema, from [`PgStore::session_events`]. Cheap
/// to clone.
///
/// ```no_run
/// use auth_core::session_cache::SessionCacheConfig;
/// use auth_core::testkit::FakeSms; // your SmsSender
/// use auth_core::{Auth, AuthConfig, SigningSecret};
/// use store_postgres::{PgStore, PgStoreConfig};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = PgStore::connect(PgStoreConfig::from_env()).await?;
/// let auth = Auth::builder(AuthConfig::new(SigningSecret::new(vec![7; 32])?))
///     .store(store.clone())
///     .sms(FakeSms::new())
///     .session_cache(store.session_events(), SessionCacheConfig::default())
///     .build()?;
/// # let _ = auth;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PgSessionEvents {
    inner: Arc<Inner>,
}

struct Inner {
    store: PgStore,
    channel: String,
    listen: Result<tokio_postgres::Config, StoreError>,
}

impl std::fmt::Debug for PgSessionEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSessionEvents")
            .field("channel", &self.inner.channel)
            .finish_non_exhaustive()
    }
}

impl PgSessionEvents {
    pub(crate) fn new(store: PgStore) -> Self {
        let config = store.config();
        let channel = format!("{}.session_events", config.schema_name());
        let listen = config.driver_config(&format!("{} (session events)", config.application_name));
        Self {
            inner: Arc::new(Inner {
                store,
                channel,
                listen,
            }),
        }
    }

    /// The notification channel: `<schema>.session_events`.
    pub fn channel(&self) -> &str {
        &self.inner.channel
    }
}

#[async_trait]
impl SessionEventBus for PgSessionEvents {
    async fn publish(&self, event: SessionEvent) -> Result<(), StoreError> {
        let payload = event.encode();
        let channel = self.inner.channel.as_str();
        on_conn!(self.inner.store, |c| notify(&c, channel, &payload))
    }

    fn subscribe(&self, listener: SessionEventListener) -> Result<(), StoreError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| unavailable("no Tokio runtime to listen on"))?;
        let config = self.inner.listen.clone()?;
        let inner = Arc::clone(&self.inner);
        drop(runtime.spawn(async move { inner.listen(config, listener).await }));
        Ok(())
    }
}

async fn notify(c: &ClientWrapper, channel: &str, payload: &str) -> DbResult<()> {
    let stmt = c.prepare_cached("SELECT pg_notify($1, $2)").await?;
    let _ = c.execute(&stmt, &[&channel, &payload]).await?;
    Ok(())
}

/// How one listening connection ended.
enum Ended {
    /// Nobody listens any more: the task ends.
    Closed,
    /// The connection failed or was lost; `reported` when the listener had been told it was
    /// connected (and must now be told it is not).
    Lost { reported: bool },
}

/// Aborts the task driving a listening connection when the session that owns it ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Inner {
    /// The subscription task: listen, and after each loss connect again with a backoff,
    /// until the listener closes.
    async fn listen(&self, config: tokio_postgres::Config, listener: SessionEventListener) {
        let mut backoff = MIN_BACKOFF;
        loop {
            if listener.is_closed() {
                return;
            }
            match self.listen_once(&config, &listener).await {
                Ended::Closed => return,
                Ended::Lost { reported } => {
                    if reported {
                        listener.disconnected();
                        backoff = MIN_BACKOFF;
                    }
                }
            }
            // Wait in slices, so a closed listener ends the task within a second.
            let until = Instant::now() + backoff;
            while let Some(left) = until.checked_duration_since(Instant::now()) {
                if listener.is_closed() {
                    return;
                }
                tokio::time::sleep(left.min(CLOSED_CHECK)).await;
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One listening connection, from connecting to its end.
    async fn listen_once(
        &self,
        config: &tokio_postgres::Config,
        listener: &SessionEventListener,
    ) -> Ended {
        let timeout = self.store.statement_timeout();
        let (client, mut connection) = match config.connect(NoTls).await {
            Ok(pair) => pair,
            Err(e) => {
                tracing::debug!(error = %e, "store-postgres: cannot connect to listen");
                return Ended::Lost { reported: false };
            }
        };
        let (sender, mut notifications) = mpsc::unbounded_channel::<String>();
        let _driver = AbortOnDrop(tokio::spawn(async move {
            loop {
                match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                    Some(Ok(AsyncMessage::Notification(n))) => {
                        if sender.send(n.payload().to_owned()).is_err() {
                            return;
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "store-postgres: listening connection failed");
                        return;
                    }
                    None => return,
                }
            }
        }));
        let listen = format!("LISTEN \"{}\"", self.channel);
        match tokio::time::timeout(timeout, client.batch_execute(&listen)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "store-postgres: LISTEN failed");
                return Ended::Lost { reported: false };
            }
            Err(_) => return Ended::Lost { reported: false },
        }
        listener.connected();

        let mut ticks = tokio::time::interval(CLOSED_CHECK);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_ping = Instant::now();
        loop {
            tokio::select! {
                payload = notifications.recv() => match payload {
                    Some(payload) => match SessionEvent::decode(&payload) {
                        Some(event) => listener.event(event),
                        None => listener.unreadable(),
                    },
                    None => return Ended::Lost { reported: true },
                },
                _ = ticks.tick() => {
                    if listener.is_closed() {
                        return Ended::Closed;
                    }
                    if last_ping.elapsed() >= PING_EVERY {
                        let ping = tokio::time::timeout(timeout, client.simple_query("")).await;
                        if !matches!(ping, Ok(Ok(_))) {
                            tracing::debug!("store-postgres: listening connection did not answer");
                            return Ended::Lost { reported: true };
                        }
                        last_ping = Instant::now();
                    }
                }
            }
        }
    }
}
