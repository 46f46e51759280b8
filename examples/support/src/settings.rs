//! [`Settings`]: the example servers' configuration, read from environment variables. Every
//! one has a default that works on a fresh machine, so `cargo run -p example-axum` needs no
//! set-up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use auth_core::SigningSecret;
use auth_core::http::client_ip::IpRange;
use auth_core::session_cache::SessionCacheConfig;

use crate::admins::AdminList;
use crate::request_log::RequestLogMode;

/// The configuration of an example server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `AUTH_DB`: the SQLite file (default `./auth.db`). The generated signing secret is kept
    /// beside it, also when Redis is the store.
    pub db_path: PathBuf,
    /// `AUTH_BIND`: the address to listen on (default `127.0.0.1:8080`; port 0 picks a free
    /// port, which the server logs).
    pub bind: SocketAddr,
    /// `DATABASE_URL`: a `postgres://` URL; when set, the store is PostgreSQL (it wins over
    /// `REDIS_URL`).
    pub database_url: Option<String>,
    /// `AUTH_PG_SCHEMA`: the PostgreSQL schema the store's tables live in (default `auth`).
    pub pg_schema: String,
    /// `REDIS_URL`: when set (and `DATABASE_URL` is not), the store is Redis instead of SQLite.
    pub redis_url: Option<String>,
    /// `AUTH_REDIS_PREFIX`: the Redis key prefix (default `auth:`).
    pub redis_prefix: String,
    /// `AUTH_SESSION_CACHE_MS`: with PostgreSQL or Redis, how long each instance may answer
    /// a session check from its local cache (default 1000 ms; `0` turns the cache off). The
    /// longest a revoked session can keep working on an instance that missed the revocation
    /// event; see `auth_core::session_cache`. SQLite needs none (one process per file).
    pub session_cache: Duration,
    /// `AUTH_JWT_SECRET`: the signing secret, at least 32 bytes. When unset, one is generated
    /// and kept in a file beside the database.
    pub jwt_secret: Option<SigningSecret>,
    /// `AUTH_SMS_OUTBOX`: a file to append one JSON line per SMS to.
    pub sms_outbox: Option<PathBuf>,
    /// `AUTH_EMAIL_OUTBOX`: a file to append one JSON line per mail to.
    pub email_outbox: Option<PathBuf>,
    /// `AUTH_ADMINS`: comma-separated phones and emails that get the `admin` role.
    pub admins: AdminList,
    /// `AUTH_TRUSTED_PROXIES`: comma-separated addresses or CIDR ranges of reverse proxies
    /// whose `X-Forwarded-For` names the client (`AuthConfig.client_ip`). Empty by default:
    /// the client is the TCP peer and no header is read. A load generator on loopback that
    /// stands for many clients sets `127.0.0.1` and sends each client's address in the header,
    /// so the per-IP limits count each client apart instead of all of them as one.
    pub trusted_proxies: Vec<IpRange>,
    /// How requests are logged (`AUTH_REQUEST_LOG`: `summary`, the default, one line per
    /// route and status each second; `each`, one line per request; `off`).
    pub request_log: RequestLogMode,
}

impl Settings {
    /// The default database file.
    pub const DEFAULT_DB: &'static str = "./auth.db";
    /// The default listening address.
    pub const DEFAULT_BIND: &'static str = "127.0.0.1:8080";
    /// The default Redis key prefix.
    pub const DEFAULT_REDIS_PREFIX: &'static str = "auth:";
    /// The default PostgreSQL schema.
    pub const DEFAULT_PG_SCHEMA: &'static str = "auth";

    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup` (a variable that is unset or blank counts as
    /// unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let bind_text = var("AUTH_BIND").unwrap_or_else(|| Self::DEFAULT_BIND.to_owned());
        let bind = bind_text.trim().parse().with_context(|| {
            format!(
                "AUTH_BIND={bind_text:?} is not an address like {}",
                Self::DEFAULT_BIND
            )
        })?;
        let jwt_secret = var("AUTH_JWT_SECRET")
            .map(|s| SigningSecret::new(s.into_bytes()))
            .transpose()
            .context("AUTH_JWT_SECRET must be at least 32 bytes")?;
        let admins = AdminList::parse(&var("AUTH_ADMINS").unwrap_or_default())
            .context("AUTH_ADMINS must list phones (E.164) and emails, separated by commas")?;
        let trusted_proxies = var("AUTH_TRUSTED_PROXIES")
            .unwrap_or_default()
            .split(',')
            .filter(|entry| !entry.trim().is_empty())
            .map(str::parse::<IpRange>)
            .collect::<Result<Vec<_>, _>>()
            .context(
                "AUTH_TRUSTED_PROXIES must list IP addresses or CIDR ranges, separated by commas",
            )?;
        let database_url = var("DATABASE_URL");
        if let Some(url) = &database_url {
            ensure!(
                url.starts_with("postgres://") || url.starts_with("postgresql://"),
                "DATABASE_URL must be a postgres:// URL (SQLite is AUTH_DB)"
            );
        }
        let session_cache = match var("AUTH_SESSION_CACHE_MS") {
            None => SessionCacheConfig::DEFAULT_MAX_AGE,
            Some(ms) => {
                let ms: u64 = ms.trim().parse().context(
                    "AUTH_SESSION_CACHE_MS must be a number of milliseconds (0: no cache)",
                )?;
                let age = Duration::from_millis(ms);
                ensure!(
                    age <= SessionCacheConfig::MAX_MAX_AGE,
                    "AUTH_SESSION_CACHE_MS is at most {} ms",
                    SessionCacheConfig::MAX_MAX_AGE.as_millis()
                );
                age
            }
        };
        Ok(Self {
            database_url,
            pg_schema: var("AUTH_PG_SCHEMA").unwrap_or_else(|| Self::DEFAULT_PG_SCHEMA.to_owned()),
            session_cache,
            db_path: PathBuf::from(var("AUTH_DB").unwrap_or_else(|| Self::DEFAULT_DB.to_owned())),
            bind,
            redis_url: var("REDIS_URL"),
            redis_prefix: var("AUTH_REDIS_PREFIX")
                .unwrap_or_else(|| Self::DEFAULT_REDIS_PREFIX.to_owned()),
            jwt_secret,
            sms_outbox: var("AUTH_SMS_OUTBOX").map(PathBuf::from),
            email_outbox: var("AUTH_EMAIL_OUTBOX").map(PathBuf::from),
            admins,
            trusted_proxies,
            request_log: var("AUTH_REQUEST_LOG")
                .map(|mode| mode.parse())
                .transpose()?
                .unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_need_no_setup() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.db_path, PathBuf::from("./auth.db"));
        assert_eq!(s.bind, "127.0.0.1:8080".parse().unwrap());
        assert!(s.redis_url.is_none() && s.database_url.is_none());
        assert_eq!(s.redis_prefix, "auth:");
        assert_eq!(s.pg_schema, "auth");
        assert_eq!(s.session_cache, Duration::from_secs(1));
        assert!(s.jwt_secret.is_none());
        assert!(s.sms_outbox.is_none() && s.email_outbox.is_none());
        assert!(s.admins.is_empty());
        assert!(s.trusted_proxies.is_empty());
        assert_eq!(s.request_log, RequestLogMode::Summary);
    }

    #[test]
    fn reads_every_variable() {
        let s = settings(&[
            ("AUTH_DB", "/tmp/x.db"),
            ("AUTH_BIND", "0.0.0.0:9000"),
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("AUTH_REDIS_PREFIX", "demo:"),
            ("DATABASE_URL", "postgres://app@db.internal/app"),
            ("AUTH_PG_SCHEMA", "demo"),
            ("AUTH_SESSION_CACHE_MS", "250"),
            ("AUTH_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("AUTH_SMS_OUTBOX", "/tmp/sms.jsonl"),
            ("AUTH_EMAIL_OUTBOX", "/tmp/mail.jsonl"),
            ("AUTH_ADMINS", "+1 555 000 0001, Boss@Example.com"),
            ("AUTH_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8,"),
            ("AUTH_REQUEST_LOG", "each"),
        ])
        .unwrap();
        assert_eq!(s.request_log, RequestLogMode::Each);
        assert_eq!(s.db_path, PathBuf::from("/tmp/x.db"));
        assert_eq!(s.bind.port(), 9000);
        assert_eq!(s.redis_url.as_deref(), Some("redis://127.0.0.1:6379"));
        assert_eq!(s.redis_prefix, "demo:");
        assert_eq!(
            s.database_url.as_deref(),
            Some("postgres://app@db.internal/app")
        );
        assert_eq!(s.pg_schema, "demo");
        assert_eq!(s.session_cache, Duration::from_millis(250));
        assert!(s.jwt_secret.is_some());
        assert_eq!(s.sms_outbox, Some(PathBuf::from("/tmp/sms.jsonl")));
        assert_eq!(s.email_outbox, Some(PathBuf::from("/tmp/mail.jsonl")));
        assert_eq!(s.admins.len(), 2);
        let proxies: Vec<String> = s.trusted_proxies.iter().map(|r| r.to_string()).collect();
        assert_eq!(proxies, ["127.0.0.1/32", "10.0.0.0/8"]);
    }

    #[test]
    fn blank_means_unset() {
        let s = settings(&[("REDIS_URL", " "), ("AUTH_DB", "")]).unwrap();
        assert!(s.redis_url.is_none());
        assert_eq!(s.db_path, PathBuf::from("./auth.db"));
    }

    #[test]
    fn bad_values_are_refused_with_the_variable_named() {
        let err = settings(&[("AUTH_JWT_SECRET", "short")]).unwrap_err();
        assert!(format!("{err:#}").contains("AUTH_JWT_SECRET"), "{err:#}");
        let err = settings(&[("DATABASE_URL", "sqlite://auth.db")]).unwrap_err();
        assert!(format!("{err:#}").contains("DATABASE_URL"), "{err:#}");
        for bad in ["soon", "60001"] {
            let err = settings(&[("AUTH_SESSION_CACHE_MS", bad)]).unwrap_err();
            assert!(
                format!("{err:#}").contains("AUTH_SESSION_CACHE_MS"),
                "{err:#}"
            );
        }
        let err = settings(&[("AUTH_BIND", "localhost")]).unwrap_err();
        assert!(format!("{err:#}").contains("AUTH_BIND"), "{err:#}");
        let err = settings(&[("AUTH_ADMINS", "not-a-phone")]).unwrap_err();
        assert!(format!("{err:#}").contains("AUTH_ADMINS"), "{err:#}");
        let err = settings(&[("AUTH_REQUEST_LOG", "verbose")]).unwrap_err();
        assert!(format!("{err:#}").contains("AUTH_REQUEST_LOG"), "{err:#}");
        let err = settings(&[("AUTH_TRUSTED_PROXIES", "127.0.0.1,localhost")]).unwrap_err();
        assert!(
            format!("{err:#}").contains("AUTH_TRUSTED_PROXIES"),
            "{err:#}"
        );
    }
}
