//! [`RedisSessionEvents`]: the [`SessionEventBus`] of `auth-core`'s session cache on Redis
//! pub/sub, on a single server or a Redis Cluster.
//!
//! Publishing is one `PUBLISH` through the store's own connection (in a cluster, to the master
//! of the store's slot: Redis Cluster forwards every `PUBLISH` to all nodes). Each subscription
//! is a task with a dedicated pub/sub connection (`redis::aio::PubSub`) named
//! `store-redis-events:<prefix>` in `CLIENT LIST`; it reports the subscription to its
//! listener, applies each message, pings the server every few seconds to notice a frozen one,
//! and after a lost connection reports it and subscribes again with a backoff (50 ms doubling
//! to 1 s), on the next node of the cluster's list.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auth_core::session_cache::{SessionEvent, SessionEventBus, SessionEventListener};
use auth_core::store::StoreError;
use futures_core::Stream;
use redis::aio::{PubSub, PubSubSink, PubSubStream};
use redis::{ConnectionAddr, RedisResult};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::config::{RedisStoreConfig, redacted_url};
use crate::store::RedisStore;

/// The shortest and longest wait before subscribing again after a failure.
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// How often a subscription checks whether its listener is gone.
const TICK: Duration = Duration::from_secs(1);
/// Every how many ticks a subscription pings the server.
const PING_EVERY_TICKS: u32 = 3;

/// Session events over Redis pub/sub, from [`RedisStore::session_events`]: give it to
/// [`AuthBuilder::session_cache`](auth_core::AuthBuilder::session_cache) on every app
/// instance that shares the store.
///
/// ```no_run
/// use auth_core::session_cache::SessionCacheConfig;
/// use auth_core::{Auth, AuthConfig, SigningSecret};
/// # use auth_core::testkit::FakeSms;
/// use store_redis::{RedisStore, RedisStoreConfig};
///
/// # async fn build() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::connect(RedisStoreConfig::from_env()).await?;
/// let auth = Auth::builder(AuthConfig::new(SigningSecret::new(vec![7; 32])?))
///     .store(store.clone())
///     .sms(FakeSms::new())
///     .session_cache(store.session_events(), SessionCacheConfig::default())
///     .build()?;
/// # let _ = auth;
/// # Ok(())
/// # }
/// ```
///
/// Events go on the channel `<prefix>session-events`, so only instances on the same prefix
/// hear each other. Delivery is at most once (Redis pub/sub keeps nothing for a disconnected
/// subscriber): the session cache handles that by emptying itself while a subscription is
/// down and by bounding the age of every answer.
#[derive(Clone)]
pub struct RedisSessionEvents {
    store: RedisStore,
    inner: Arc<Subscriber>,
}

/// What a subscription task needs.
struct Subscriber {
    channel: String,
    /// Where to subscribe: the server, or the cluster's seed nodes (tried in turn).
    nodes: Vec<String>,
    client_name: String,
    connection_timeout: Duration,
    response_timeout: Duration,
}

impl std::fmt::Debug for RedisSessionEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSessionEvents")
            .field("channel", &self.inner.channel)
            .field(
                "nodes",
                &self
                    .inner
                    .nodes
                    .iter()
                    .map(|n| redacted_url(n))
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Why a live subscription ended.
enum Ended {
    /// The listener is gone: the task ends.
    Closed,
    /// The connection broke or stopped answering: subscribe again.
    Lost,
}

impl RedisSessionEvents {
    pub(crate) fn new(store: RedisStore, config: &RedisStoreConfig, key_prefix: &str) -> Self {
        let nodes = config
            .cluster_nodes
            .clone()
            .unwrap_or_else(|| vec![config.url.clone()]);
        // CLIENT SETNAME takes no spaces or newlines.
        let client_name: String = format!("store-redis-events:{}", config.prefix)
            .chars()
            .map(|c| if c.is_ascii_graphic() { c } else { '_' })
            .collect();
        Self {
            store,
            inner: Arc::new(Subscriber {
                channel: format!("{key_prefix}session-events"),
                nodes,
                client_name,
                connection_timeout: config.connection_timeout,
                response_timeout: config.response_timeout,
            }),
        }
    }

    /// The pub/sub channel (`<prefix>session-events`).
    pub fn channel(&self) -> &str {
        &self.inner.channel
    }

    /// The name the subscription connections give themselves (`CLIENT SETNAME`), to find them
    /// in `CLIENT LIST`: `store-redis-events:<configured prefix>`, any space or control
    /// character replaced by `_`.
    pub fn client_name(&self) -> &str {
        &self.inner.client_name
    }
}

#[async_trait]
impl SessionEventBus for RedisSessionEvents {
    async fn publish(&self, event: SessionEvent) -> Result<(), StoreError> {
        let mut publish = redis::cmd("PUBLISH");
        let _ = publish.arg(&self.inner.channel).arg(event.encode());
        let mut conn = self.store.conn();
        let _receivers: i64 = self
            .store
            .run("publish", conn.query_store_node(publish))
            .await?;
        Ok(())
    }

    fn subscribe(&self, listener: SessionEventListener) -> Result<(), StoreError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            StoreError::Unavailable("no Tokio runtime to listen for session events on".to_owned())
        })?;
        let subscriber = Arc::clone(&self.inner);
        drop(runtime.spawn(async move { subscriber.listen(listener).await }));
        Ok(())
    }
}

impl Subscriber {
    /// The subscription task: subscribe, deliver, and subscribe again after every failure
    /// until the listener is gone.
    async fn listen(&self, listener: SessionEventListener) {
        let mut backoff = MIN_BACKOFF;
        let mut node = 0;
        loop {
            if listener.is_closed() {
                return;
            }
            let url = self.nodes.get(node).map_or("", String::as_str);
            match self.open(url).await {
                Ok((sink, stream)) => {
                    listener.connected();
                    backoff = MIN_BACKOFF;
                    match self.deliver(sink, stream, &listener).await {
                        Ended::Closed => return,
                        Ended::Lost => {
                            tracing::debug!(node = %redacted_url(url), channel = %self.channel, "redis session events: subscription lost");
                            listener.disconnected();
                        }
                    }
                }
                Err(e) => {
                    tracing::debug!(node = %redacted_url(url), channel = %self.channel, error = %e, "redis session events: cannot subscribe");
                }
            }
            node = (node + 1) % self.nodes.len().max(1);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// A named pub/sub connection to `url`, subscribed to the channel (the subscription is
    /// confirmed when this returns).
    async fn open(&self, url: &str) -> RedisResult<(PubSubSink, PubSubStream)> {
        let client = redis::Client::open(url)?;
        let pubsub = tokio::time::timeout(self.connection_timeout, self.connect(&client))
            .await
            .map_err(|_| timed_out("connecting"))??;
        let (mut sink, stream) = pubsub.split();
        tokio::time::timeout(self.response_timeout, sink.subscribe(&self.channel))
            .await
            .map_err(|_| timed_out("subscribing"))??;
        Ok((sink, stream))
    }

    /// The pub/sub connection, named with `CLIENT SETNAME` before it turns into one (a
    /// subscribed RESP2 connection accepts no other command). Over TCP only; other
    /// addresses get an unnamed connection.
    async fn connect(&self, client: &redis::Client) -> RedisResult<PubSub> {
        let info = client.get_connection_info();
        let ConnectionAddr::Tcp(host, port) = info.addr() else {
            return client.get_async_pubsub().await;
        };
        let mut stream = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
        let settings = info.redis_settings();
        let mut setup = redis::pipe();
        if let Some(password) = settings.password() {
            let auth = setup.cmd("AUTH");
            if let Some(username) = settings.username() {
                let _ = auth.arg(username);
            }
            let _ = auth.arg(password);
        }
        let _ = setup.cmd("CLIENT").arg("SETNAME").arg(&self.client_name);
        stream.write_all(&setup.get_packed_pipeline()).await?;
        let mut reader = BufReader::new(stream);
        for _ in 0..setup.len() {
            let mut line = String::new();
            let _ = reader.read_line(&mut line).await?;
            if !line.starts_with('+') {
                return Err(redis::RedisError::from((
                    redis::ErrorKind::Client,
                    "naming the session events connection failed",
                    line.trim_end().to_owned(),
                )));
            }
        }
        PubSub::new(settings, reader.into_inner()).await
    }

    /// Delivers the messages of a live subscription until it breaks or the listener is gone.
    async fn deliver(
        &self,
        mut sink: PubSubSink,
        mut stream: PubSubStream,
        listener: &SessionEventListener,
    ) -> Ended {
        let mut ticks = 0_u32;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let _ = tick.tick().await;
        loop {
            let next = std::future::poll_fn(|cx| Pin::new(&mut stream).poll_next(cx));
            tokio::select! {
                message = next => {
                    let Some(message) = message else { return Ended::Lost };
                    match message.get_payload::<String>().ok().as_deref().and_then(SessionEvent::decode) {
                        Some(event) => listener.event(event),
                        None => listener.unreadable(),
                    }
                }
                _ = tick.tick() => {
                    if listener.is_closed() {
                        return Ended::Closed;
                    }
                    ticks += 1;
                    if ticks >= PING_EVERY_TICKS {
                        ticks = 0;
                        let ping = tokio::time::timeout(self.response_timeout, sink.ping::<redis::Value>()).await;
                        if !matches!(ping, Ok(Ok(_))) {
                            return Ended::Lost;
                        }
                    }
                }
            }
        }
    }
}

fn timed_out(what: &'static str) -> redis::RedisError {
    redis::RedisError::from(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("{what} timed out"),
    ))
}
