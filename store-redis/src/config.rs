//! [`RedisStoreConfig`]: where Redis is, the key prefix, TTL margin and timeouts, each with its
//! default in one place.

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
/// ```
#[derive(Clone)]
pub struct RedisStoreConfig {
    pub(crate) url: String,
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

    /// A configuration for the Redis at `url` (`redis://[:password@]host[:port][/db]`,
    /// `rediss://` needs a TLS feature of the `redis` crate), with the defaults:
    /// prefix `auth:`, TTL margin 1 hour, connection timeout 2 s, response timeout 3 s,
    /// 1 reconnect retry per attempt, and 5 s at most for any store call.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix: Self::DEFAULT_PREFIX.to_owned(),
            ttl_margin: Duration::from_secs(3600),
            connection_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(3),
            reconnect_retries: 1,
            operation_timeout: Duration::from_secs(5),
        }
    }

    /// [`RedisStoreConfig::new`] with the URL from the `REDIS_URL` environment variable, or
    /// [`RedisStoreConfig::DEFAULT_URL`] when it is unset or empty.
    pub fn from_env() -> Self {
        let url = std::env::var("REDIS_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| Self::DEFAULT_URL.to_owned());
        Self::new(url)
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

    /// The Redis URL.
    pub fn url(&self) -> &str {
        &self.url
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
}
