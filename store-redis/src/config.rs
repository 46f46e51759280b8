//! [`RedisStoreConfig`]: where Redis is (one server, or the seed nodes of a Redis Cluster), the
//! key prefix, TTL margin, timeouts and replica acknowledgements, each with its default in one
//! place.

use std::time::Duration;

/// How to reach Redis and lay out keys. Build with [`RedisStoreConfig::new`] (or
/// [`RedisStoreConfig::from_env`]) and change what you need:
///
/// ```
/// use std::time::Duration;
/// use store_redis::RedisStoreConfig;
///
/// let config = RedisStoreConfig::new("redis://127.0.0.1:6379")
///     .prefix("myapp:auth:")
///     .operation_timeout(Duration::from_secs(2));
/// assert_eq!(config.key_prefix(), "myapp:auth:");
///
/// // A Redis Cluster: any of its nodes (the client finds the others).
/// let config = RedisStoreConfig::cluster(["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"]);
/// assert_eq!(config.cluster_nodes().map(<[String]>::len), Some(2));
/// ```
#[derive(Clone)]
pub struct RedisStoreConfig {
    pub(crate) url: String,
    pub(crate) cluster_nodes: Option<Vec<String>>,
    pub(crate) wait_for_replicas: usize,
    pub(crate) replica_timeout: Duration,
    pub(crate) prefix: String,
    pub(crate) ttl_margin: Duration,
    pub(crate) connection_timeout: Duration,
    pub(crate) response_timeout: Duration,
    pub(crate) reconnect_retries: usize,
    pub(crate) operation_timeout: Duration,
}

impl RedisStoreConfig {
    /// The URL used when `REDIS_URL` is not set.
    pub const DEFAULT_URL: &'static str = "redis://127.0.0.1:6379";
    /// The default key prefix.
    pub const DEFAULT_PREFIX: &'static str = "auth:";
    /// How long a write waits for its replica acknowledgements by default (cluster mode).
    pub const DEFAULT_REPLICA_TIMEOUT: Duration = Duration::from_secs(1);

    /// A configuration for the Redis at `url` (`redis://[:password@]host[:port][/db]`,
    /// `rediss://` needs a TLS feature of the `redis` crate), with the defaults:
    /// prefix `auth:`, TTL margin 1 hour, connection timeout 2 s, response timeout 3 s,
    /// 1 reconnect retry per attempt, and 5 s at most for any store call.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            cluster_nodes: None,
            wait_for_replicas: 0,
            replica_timeout: Self::DEFAULT_REPLICA_TIMEOUT,
            prefix: Self::DEFAULT_PREFIX.to_owned(),
            ttl_margin: Duration::from_secs(3600),
            connection_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(3),
            reconnect_retries: 1,
            operation_timeout: Duration::from_secs(5),
        }
    }

    /// A configuration for a Redis Cluster reached through `nodes` (`redis://host:port` each;
    /// one reachable node is enough, the client discovers the rest and follows `MOVED`/`ASK`
    /// redirects and failovers by itself). The defaults of [`RedisStoreConfig::new`], plus
    /// [`wait_for_replicas(1, 1 s)`](RedisStoreConfig::wait_for_replicas), so a write is
    /// acknowledged only once a replica has it and survives the failover of its master.
    ///
    /// Every key of the store lives under one hash tag made of the prefix (`{auth:}user:…`),
    /// so all of them are in one slot, on one master: every script stays atomic (see the
    /// crate documentation, "Redis Cluster"). The prefix must not be empty nor start with `}`.
    pub fn cluster<I, S>(nodes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let nodes: Vec<String> = nodes.into_iter().map(Into::into).collect();
        let mut config = Self::new(nodes.first().cloned().unwrap_or_default());
        config.cluster_nodes = Some(nodes);
        config.wait_for_replicas = 1;
        config
    }

    /// From the environment: [`RedisStoreConfig::cluster`] with the comma-separated URLs of
    /// `REDIS_CLUSTER_URLS` when it is set and not empty; otherwise
    /// [`RedisStoreConfig::new`] with `REDIS_URL`, or [`RedisStoreConfig::DEFAULT_URL`] when
    /// that is unset or empty.
    pub fn from_env() -> Self {
        if let Some(nodes) = Self::cluster_urls_from_env() {
            return Self::cluster(nodes);
        }
        let url = std::env::var("REDIS_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| Self::DEFAULT_URL.to_owned());
        Self::new(url)
    }

    /// The URLs of `REDIS_CLUSTER_URLS` (comma-separated, blanks ignored), `None` when it is
    /// unset or holds none.
    pub fn cluster_urls_from_env() -> Option<Vec<String>> {
        let urls: Vec<String> = std::env::var("REDIS_CLUSTER_URLS")
            .ok()?
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect();
        (!urls.is_empty()).then_some(urls)
    }

    /// After every write, wait until `replicas` replicas of the master have it (Redis `WAIT`,
    /// at most `timeout`); when fewer confirm in time, the call fails with
    /// `StoreError::Unavailable` (the write itself may have happened, as after any timeout).
    /// This is what keeps an acknowledged write through a failover: replication is
    /// asynchronous, so without it a master that dies right after answering takes its last
    /// writes with it. It costs one more round trip per write plus the replica's
    /// acknowledgement (well under a millisecond on a LAN), and while a master has fewer
    /// replicas than `replicas` every write fails: run at least `replicas + 1` replicas per
    /// master to keep accepting writes after a failover. Reads never wait.
    ///
    /// Default: 1 replica within 1 s in cluster mode, none (no `WAIT`) for a single server.
    pub fn wait_for_replicas(mut self, replicas: usize, timeout: Duration) -> Self {
        self.wait_for_replicas = replicas;
        self.replica_timeout = timeout;
        self
    }

    /// Every key starts with this (default `auth:`). App instances that share users and
    /// sessions must use the same prefix; unrelated apps or test runs use different ones.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long challenges, sessions and counters stay in Redis after their own expiry (or after
    /// they were written, if that expiry had already passed on Redis' clock), so a late replay
    /// still finds the record and gets the precise answer. Default 1 hour.
    pub fn ttl_margin(mut self, margin: Duration) -> Self {
        self.ttl_margin = margin;
        self
    }

    /// How long one connection attempt may take. Default 2 s.
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// How long Redis may take to answer one command. Default 3 s.
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// How many times a reconnection is retried (with a short backoff) before the calls waiting
    /// on it fail; the next call starts a new attempt. Default 1.
    pub fn reconnect_retries(mut self, retries: usize) -> Self {
        self.reconnect_retries = retries;
        self
    }

    /// The most any store call may take, reconnection included, before it fails with
    /// `StoreError::Unavailable`. Default 5 s.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// The Redis URL (in cluster mode, the first node's).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The cluster's seed nodes, `None` for a single server.
    pub fn cluster_nodes(&self) -> Option<&[String]> {
        self.cluster_nodes.as_deref()
    }

    /// How many replicas must acknowledge each write (0: no `WAIT`).
    pub fn replicas_to_wait_for(&self) -> usize {
        self.wait_for_replicas
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }
}

impl std::fmt::Debug for RedisStoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStoreConfig")
            .field("url", &redacted_url(&self.url))
            .field(
                "cluster_nodes",
                &self
                    .cluster_nodes
                    .as_ref()
                    .map(|nodes| nodes.iter().map(|n| redacted_url(n)).collect::<Vec<_>>()),
            )
            .field("wait_for_replicas", &self.wait_for_replicas)
            .field("replica_timeout", &self.replica_timeout)
            .field("prefix", &self.prefix)
            .field("ttl_margin", &self.ttl_margin)
            .field("connection_timeout", &self.connection_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("reconnect_retries", &self.reconnect_retries)
            .field("operation_timeout", &self.operation_timeout)
            .finish()
    }
}

/// The URL with any credentials (`user:password@`) replaced, for logs.
pub(crate) fn redacted_url(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => {
            format!("{scheme}://<redacted>{}", url.get(at..).unwrap_or_default())
        }
        _ => url.to_owned(),
    }
}

impl Default for RedisStoreConfig {
    /// [`RedisStoreConfig::from_env`].
    fn default() -> Self {
        Self::from_env()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password() {
        let config = RedisStoreConfig::new("redis://user:s3cret@example.com:6379/2");
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("redis://<redacted>@example.com:6379/2"),
            "{shown}"
        );
        assert_eq!(redacted_url("redis://127.0.0.1"), "redis://127.0.0.1");
    }

    #[test]
    fn cluster_mode_waits_for_a_replica_and_hides_passwords() {
        let config =
            RedisStoreConfig::cluster(["redis://:pw1@10.0.0.1:7000", "redis://:pw2@10.0.0.2:7000"]);
        assert_eq!(config.replicas_to_wait_for(), 1);
        assert_eq!(config.url(), "redis://:pw1@10.0.0.1:7000");
        let shown = format!("{config:?}");
        assert!(!shown.contains("pw1") && !shown.contains("pw2"), "{shown}");
        assert!(
            shown.contains("redis://<redacted>@10.0.0.2:7000"),
            "{shown}"
        );
        assert_eq!(RedisStoreConfig::new("redis://x").replicas_to_wait_for(), 0);
        assert_eq!(RedisStoreConfig::new("redis://x").cluster_nodes(), None);
    }
}
