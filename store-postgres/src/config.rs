//! [`PgStoreConfig`]: where PostgreSQL is, the schema, the pool size and the timeouts, each
//! with its default in one place.

use std::str::FromStr as _;
use std::time::Duration;

use auth_core::StoreError;

/// How to reach PostgreSQL and where the tables live. Build with [`PgStoreConfig::new`] (or
/// [`PgStoreConfig::from_env`]) and change what you need:
///
/// ```
/// use std::time::Duration;
/// use store_postgres::PgStoreConfig;
///
/// let config = PgStoreConfig::new("postgres://app:secret@db.internal:5432/myapp")
///     .schema("auth")
///     .pool_size(16)
///     .statement_timeout(Duration::from_secs(2));
/// assert_eq!(config.schema_name(), "auth");
/// assert!(!format!("{config:?}").contains("secret"));
/// ```
#[derive(Clone)]
pub struct PgStoreConfig {
    pub(crate) url: String,
    pub(crate) schema: String,
    pub(crate) pool_size: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) pool_wait_timeout: Duration,
    pub(crate) statement_timeout: Duration,
    pub(crate) application_name: String,
}

impl PgStoreConfig {
    /// The URL used when `DATABASE_URL` is not set.
    pub const DEFAULT_URL: &'static str = "postgres://postgres@127.0.0.1:5432/postgres";
    /// The default schema.
    pub const DEFAULT_SCHEMA: &'static str = "auth";
    /// The default `application_name` of the store's connections (shown in
    /// `pg_stat_activity`); the session-event listener's is this plus ` (session events)`.
    pub const DEFAULT_APPLICATION_NAME: &'static str = "store-postgres";
    /// The longest schema name accepted: the session-event channel
    /// (`<schema>.session_events`) must fit PostgreSQL's 63-byte identifiers.
    pub const MAX_SCHEMA_LEN: usize = 48;

    /// A configuration for the database at `url`, either a URL
    /// (`postgres://user[:password]@host[:port]/database[?options]`) or libpq's
    /// `key=value` form (`host=… user=… dbname=…`), with the defaults: schema `auth`, at
    /// most 10 connections, connect timeout 2 s, pool wait timeout 2 s, statement timeout
    /// 5 s. Plain TCP or a Unix socket (`host=/run/postgresql`): TLS is not supported, so
    /// `sslmode=require` fails to connect.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            schema: Self::DEFAULT_SCHEMA.to_owned(),
            pool_size: 10,
            connect_timeout: Duration::from_secs(2),
            pool_wait_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(5),
            application_name: Self::DEFAULT_APPLICATION_NAME.to_owned(),
        }
    }

    /// [`PgStoreConfig::new`] with the URL from the `DATABASE_URL` environment variable, or
    /// [`PgStoreConfig::DEFAULT_URL`] when it is unset or empty.
    pub fn from_env() -> Self {
        let url = std::env::var("DATABASE_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| Self::DEFAULT_URL.to_owned());
        Self::new(url)
    }

    /// The schema that holds the store's tables (default `auth`; created if missing). App
    /// instances that share users and sessions use the same schema; unrelated apps or test
    /// runs use different ones. Lower-case ASCII letters, digits and `_`, starting with a
    /// letter or `_`, not `pg_…`, at most [`PgStoreConfig::MAX_SCHEMA_LEN`] bytes; anything
    /// else is refused by [`PgStore::connect`](crate::PgStore::connect).
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// The most connections the pool opens (default 10). Connections are opened on demand
    /// and kept; the session-event listener has one more of its own.
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size;
        self
    }

    /// How long opening one connection may take (TCP, startup, authentication). Default 2 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a call may wait for a free connection when all are busy. Default 2 s.
    pub fn pool_wait_timeout(mut self, timeout: Duration) -> Self {
        self.pool_wait_timeout = timeout;
        self
    }

    /// How long the statement(s) of one call may take once it has a connection: the server
    /// cancels a statement past it (`statement_timeout`), and the store gives up on an answer
    /// that does not come (a frozen server, a dead network) and closes that connection.
    /// Default 5 s. A call therefore fails within pool wait + connect + statement timeout.
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// The `application_name` of the store's connections (default `store-postgres`).
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = name.into();
        self
    }

    /// The database URL as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The schema name.
    pub fn schema_name(&self) -> &str {
        &self.schema
    }

    /// The schema name, checked (see [`PgStoreConfig::schema`]).
    pub(crate) fn checked_schema(&self) -> Result<&str, StoreError> {
        let s = self.schema.as_str();
        let valid = !s.is_empty()
            && s.len() <= Self::MAX_SCHEMA_LEN
            && !s.starts_with("pg_")
            && s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if valid {
            Ok(s)
        } else {
            Err(StoreError::Unavailable(format!(
                "postgres: invalid schema name {s:?} (lower-case letters, digits and `_`, \
                 at most {} bytes, not `pg_…`)",
                Self::MAX_SCHEMA_LEN
            )))
        }
    }

    /// The driver's configuration: the URL plus the schema as `search_path`, the server-side
    /// statement timeout, the application name, the connect timeout and TCP keepalives (so a
    /// dead peer is noticed on an idle connection too).
    pub(crate) fn driver_config(
        &self,
        application_name: &str,
    ) -> Result<tokio_postgres::Config, StoreError> {
        let schema = self.checked_schema()?;
        let mut config = tokio_postgres::Config::from_str(&self.url).map_err(|e| {
            StoreError::Unavailable(format!(
                "postgres: invalid database URL {}: {e}",
                redacted_url(&self.url)
            ))
        })?;
        let statement_ms = self.statement_timeout.as_millis().max(1);
        let options = format!(
            "{} -c search_path={schema} -c statement_timeout={statement_ms}",
            config.get_options().unwrap_or_default()
        );
        let _ = config
            .options(options.trim())
            .application_name(application_name)
            .connect_timeout(self.connect_timeout)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(10))
            .keepalives_interval(Duration::from_secs(2))
            .keepalives_retries(3);
        Ok(config)
    }
}

impl std::fmt::Debug for PgStoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStoreConfig")
            .field("url", &redacted_url(&self.url))
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("pool_wait_timeout", &self.pool_wait_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("application_name", &self.application_name)
            .finish()
    }
}

impl Default for PgStoreConfig {
    /// [`PgStoreConfig::from_env`].
    fn default() -> Self {
        Self::from_env()
    }
}

/// The URL with its password replaced, for logs and `Debug`: in a URL everything between the
/// user's `:` and the last `@` (so a password with a stray `@` or `/` is hidden whole), in the
/// `key=value` form the value of `password`; `password=` query parameters are replaced too.
pub(crate) fn redacted_url(url: &str) -> String {
    const HIDDEN: &str = "<redacted>";
    if let Some((scheme, rest)) = url.split_once("://") {
        let shown = match rest.rfind('@') {
            Some(at) => {
                let (userinfo, host) = rest.split_at(at);
                match userinfo.split_once(':') {
                    Some((user, _password)) => format!("{scheme}://{user}:{HIDDEN}{host}"),
                    None => url.to_owned(),
                }
            }
            None => url.to_owned(),
        };
        return hide_password_params(&shown, '&', HIDDEN);
    }
    hide_password_params(url, ' ', HIDDEN)
}

/// Replaces the value of every `password=` parameter (separated by `separator`, or by `?` for
/// the first query parameter of a URL).
fn hide_password_params(text: &str, separator: char, hidden: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("password=") {
        let starts_param = pos == 0
            || rest
                .get(..pos)
                .and_then(|before| before.chars().last())
                .is_some_and(|c| c == separator || c == '?' || c.is_whitespace());
        let (head, tail) = rest.split_at(pos + "password=".len());
        out.push_str(head);
        if starts_param {
            let end = match tail.strip_prefix('\'') {
                // A quoted value (`password='a b'`) runs to the closing quote.
                Some(quoted) => quoted_len(quoted).map_or(tail.len(), |n| n + 2),
                None => tail
                    .find(|c: char| c == separator || c.is_whitespace())
                    .unwrap_or(tail.len()),
            };
            out.push_str(hidden);
            rest = tail.get(end..).unwrap_or_default();
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// The length of a single-quoted value up to (not including) its closing quote, `\\`
/// escapes skipped; `None` when it is not closed.
fn quoted_len(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '\'' => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password() {
        let config = PgStoreConfig::new("postgres://app:s3cret@db.example.com:5432/auth");
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("postgres://app:<redacted>@db.example.com:5432/auth"),
            "{shown}"
        );
        for (url, shown) in [
            (
                "postgres://postgres@127.0.0.1/test",
                "postgres://postgres@127.0.0.1/test",
            ),
            (
                "postgresql://u:p@ss:w@rd@h/db?password=x&sslmode=disable",
                "postgresql://u:<redacted>@h/db?password=<redacted>&sslmode=disable",
            ),
            (
                "host=db user=app password=s3cret dbname=auth",
                "host=db user=app password=<redacted> dbname=auth",
            ),
            (
                "postgres://h/db?password=pw",
                "postgres://h/db?password=<redacted>",
            ),
            (
                "host=db password='a b\\' c' user=x",
                "host=db password=<redacted> user=x",
            ),
            (
                "user=x password='never closed",
                "user=x password=<redacted>",
            ),
        ] {
            assert_eq!(redacted_url(url), shown, "{url}");
        }
    }

    #[test]
    fn schema_names_are_checked() {
        for ok in ["auth", "_x", "auth_test_0123456789abcdef0123456789abcdef"] {
            assert!(
                PgStoreConfig::new("").schema(ok).checked_schema().is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "",
            "Auth",
            "1auth",
            "pg_auth",
            "auth\"; drop",
            "a-b",
            "a.b",
            &"a".repeat(49),
        ] {
            assert!(
                PgStoreConfig::new("").schema(bad).checked_schema().is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_driver_config_carries_the_schema_and_timeouts() {
        let config = PgStoreConfig::new(
            "postgres://postgres@127.0.0.1:5432/test?options=-c%20work_mem%3D4MB",
        )
        .schema("auth_x")
        .statement_timeout(Duration::from_millis(1500))
        .driver_config("app")
        .unwrap();
        let options = config.get_options().unwrap();
        assert!(options.contains("-c work_mem=4MB"), "{options}");
        assert!(options.contains("-c search_path=auth_x"), "{options}");
        assert!(options.contains("-c statement_timeout=1500"), "{options}");
        assert_eq!(config.get_application_name(), Some("app"));
        assert!(
            PgStoreConfig::new("postgres://h/db")
                .schema("A")
                .driver_config("x")
                .is_err()
        );
    }
}
