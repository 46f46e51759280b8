//! What the server and the scale test share: the benchmark configuration, the store choice
//! and where each store lives, the null SMS sender, seeding users and sessions through the
//! real flows, and the fixture file the wrk scripts read.
//!
//! SMS logins use `sms.test_numbers`: every seeded phone has an account and the fixed code
//! [`TEST_CODE`]. A test number goes through the whole flow (limits, lockout check, challenge
//! stored with its keyed code hash, attempt claimed, code compared, challenge consumed,
//! session created, login recorded, tokens issued) except drawing a random code and handing
//! it to the SMS sender. That is closer to the real flow than fetching each code from a
//! bench-only endpoint, which would add a third HTTP request and a shared outbox to every
//! login. The SMS limits are set far above what a load test reaches.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use auth_core::api::{ClientInfo, NewAccount, TokenPair};
use auth_core::session_cache::SessionEventBus;
use auth_core::testkit::MemoryStore;
use auth_core::{
    Auth, AuthConfig, Email, OneTimeCode, Password, SigningSecret, SmsError, SmsMessage, SmsSender,
    Store, async_trait,
};
use clap::{Args, ValueEnum};
use store_postgres::{PgStore, PgStoreConfig};
use store_redis::{RedisStore, RedisStoreConfig};
use store_sqlite::{Durability, SqliteOptions, SqliteStore};

use crate::postgres;

/// The fixed code of every seeded test number.
pub(crate) const TEST_CODE: &str = "123456";
/// The password account's email.
pub(crate) const PASSWORD_EMAIL: &str = "bench@example.com";
/// Its password (long and strong enough for the default policy).
pub(crate) const PASSWORD: &str = "bench-correct-horse-battery-staple-42";

/// Which store backs the `Auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StoreKind {
    /// The test kit's `MemoryStore`.
    Memory,
    /// `store-sqlite` on a file.
    Sqlite,
    /// `store-redis`.
    Redis,
    /// `store-postgres`, in a fresh schema.
    Postgres,
}

impl StoreKind {
    /// Its name in results.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Sqlite => "sqlite",
            Self::Redis => "redis",
            Self::Postgres => "postgres",
        }
    }
}

/// SQLite commit durability (the store's default is `full`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SqliteDurability {
    /// `synchronous = FULL`, the default: every commit is fsynced.
    Full,
    /// `synchronous = NORMAL`.
    Normal,
}

/// Where the stores live.
#[derive(Debug, Clone, Args)]
pub(crate) struct StoreArgs {
    /// The SQLite file (created; for `--store sqlite`).
    #[arg(long, default_value = "/tmp/auth-bench.db")]
    pub(crate) sqlite_path: PathBuf,
    /// SQLite commit durability.
    #[arg(long, value_enum, default_value = "full")]
    pub(crate) sqlite_durability: SqliteDurability,
    /// The Redis server (for `--store redis`).
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub(crate) redis_url: String,
    /// Key prefix in Redis; a random suffix is added so runs never share keys.
    #[arg(long, default_value = "auth-bench:")]
    pub(crate) redis_prefix: String,
    /// The PostgreSQL database (for `--store postgres`; default: `DATABASE_URL`, else
    /// `postgres://postgres@127.0.0.1:5432/test`).
    #[arg(long)]
    pub(crate) pg_url: Option<String>,
    /// Schema prefix in PostgreSQL; a random suffix is added so runs never share rows.
    #[arg(long, default_value = postgres::DEFAULT_PREFIX)]
    pub(crate) pg_schema_prefix: String,
}

/// `redis-clear` arguments.
#[derive(Debug, Clone, Args)]
pub(crate) struct RedisClearArgs {
    /// The Redis server.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// Every key starting with this is deleted.
    #[arg(long, default_value = "auth-bench:")]
    prefix: String,
}

/// Deletes what the benchmarks left in Redis.
pub(crate) fn redis_clear(args: RedisClearArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let store =
            RedisStore::connect(RedisStoreConfig::new(&args.redis_url).prefix(&args.prefix))
                .await?;
        let removed = store.clear_prefix().await?;
        eprintln!("redis-clear: removed {removed} keys under {}", args.prefix);
        Ok(())
    })
}

/// An SMS sender that sends nothing (test numbers never reach it; it only counts).
#[derive(Debug, Default)]
pub(crate) struct NullSms {
    sent: std::sync::atomic::AtomicU64,
}

#[async_trait]
impl SmsSender for NullSms {
    async fn send(&self, _message: &SmsMessage) -> Result<(), SmsError> {
        let _ = self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

/// The seeded phones: `+1555` and seven digits, all test numbers.
pub(crate) fn phones(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("+1555{:07}", 2_000_000 + i))
        .collect()
}

/// The library's defaults, except what a load test must not trip over: SMS limits, the
/// per-IP registration limits (the seeding registers every phone from one address) and the
/// password throttle far above any load, no resend cooldown, email accounts active at once,
/// access tokens that outlive the run. Password hashing keeps its defaults (argon2id,
/// 19 MiB, 2 passes, at most one hash per CPU at a time).
pub(crate) fn bench_config(stateless: bool, test_phones: &[String]) -> AuthConfig {
    let mut config = AuthConfig::new(SigningSecret::generate());
    config.access.mode = if stateless {
        auth_core::config::AccessMode::Stateless
    } else {
        auth_core::config::AccessMode::SessionChecked
    };
    config.access.ttl_secs = 24 * 3600;
    config.sms.resend_cooldown_secs = 0;
    config.sms.per_phone_per_hour = u64::MAX / 2;
    config.sms.per_phone_per_day = u64::MAX / 2;
    config.sms.per_ip_per_hour = u64::MAX / 2;
    config.sms.per_ip_per_day = u64::MAX / 2;
    config.sms.test_numbers = test_phones
        .iter()
        .map(|p| (p.clone(), OneTimeCode::new(TEST_CODE)))
        .collect::<BTreeMap<_, _>>();
    config.password.attempts_per_window = u64::MAX / 2;
    config.accounts.require_email_activation = false;
    config.accounts.register_per_ip_per_hour = u64::MAX / 2;
    config.accounts.register_per_ip_per_day = u64::MAX / 2;
    config
}

/// A store opened for one run.
pub(crate) struct OpenedStore {
    /// The store.
    pub(crate) store: Arc<dyn Store>,
    /// Its session-event bus, for the session cache (Redis and PostgreSQL only).
    pub(crate) events: Option<Arc<dyn SessionEventBus>>,
}

/// A store of `kind`. A Redis store gets a fresh prefix under `args.redis_prefix`, a
/// PostgreSQL store a fresh schema named `args.pg_schema_prefix` and a UUID (see
/// [`crate::postgres`]); a SQLite file is created fresh (an existing one is removed first).
pub(crate) async fn open_store(kind: StoreKind, args: &StoreArgs) -> anyhow::Result<OpenedStore> {
    Ok(match kind {
        StoreKind::Memory => OpenedStore {
            store: Arc::new(MemoryStore::new()),
            events: None,
        },
        StoreKind::Sqlite => {
            remove_sqlite(&args.sqlite_path)?;
            OpenedStore {
                store: Arc::new(open_sqlite(
                    &args.sqlite_path,
                    args.sqlite_durability,
                    None,
                )?),
                events: None,
            }
        }
        StoreKind::Redis => {
            let store = open_redis(args).await?;
            OpenedStore {
                events: Some(Arc::new(store.session_events())),
                store: Arc::new(store),
            }
        }
        StoreKind::Postgres => {
            let store =
                open_postgres(args, &postgres::fresh_schema(&args.pg_schema_prefix)?).await?;
            OpenedStore {
                events: Some(Arc::new(store.session_events())),
                store: Arc::new(store),
            }
        }
    })
}

/// A Redis store under a fresh prefix below `args.redis_prefix`.
pub(crate) async fn open_redis(args: &StoreArgs) -> anyhow::Result<RedisStore> {
    let prefix = format!("{}{}:", args.redis_prefix, uuid::Uuid::new_v4().simple());
    RedisStore::connect(RedisStoreConfig::new(&args.redis_url).prefix(prefix))
        .await
        .with_context(|| format!("connecting to Redis at {}", args.redis_url))
}

/// A PostgreSQL store in `schema` (created and migrated), with the store's default pool and
/// timeouts.
pub(crate) async fn open_postgres(args: &StoreArgs, schema: &str) -> anyhow::Result<PgStore> {
    let url = postgres::url(args.pg_url.as_deref());
    PgStore::connect(
        PgStoreConfig::new(url)
            .schema(schema)
            .application_name("auth-bench"),
    )
    .await
    // The URL is not shown: it may hold a password.
    .with_context(|| {
        format!("connecting to PostgreSQL (--pg-url or DATABASE_URL), schema {schema}")
    })
}

/// A SQLite store on `path` with default options but `durability` and, when given, the
/// session cache size.
pub(crate) fn open_sqlite(
    path: &Path,
    durability: SqliteDurability,
    session_cache: Option<usize>,
) -> anyhow::Result<SqliteStore> {
    let mut options = SqliteOptions::default();
    if let Some(entries) = session_cache {
        options.session_cache = entries;
    }
    options.durability = match durability {
        SqliteDurability::Full => Durability::Full,
        SqliteDurability::Normal => Durability::Normal,
    };
    SqliteStore::open_with(path, options)
        .with_context(|| format!("opening SQLite at {}", path.display()))
}

/// Removes a SQLite file and its WAL and shared-memory files, if present.
pub(crate) fn remove_sqlite(path: &Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
        }
    }
    Ok(())
}

/// The client every seeded login comes from.
pub(crate) fn client() -> ClientInfo {
    ClientInfo::new(Some(IpAddr::V4(Ipv4Addr::LOCALHOST)), Some("auth-bench"))
}

/// Registers every phone (no password: cheap).
pub(crate) async fn register_phones(auth: &Auth, phones: &[String]) -> anyhow::Result<()> {
    let client = client();
    for phone in phones {
        let parsed = auth_core::Phone::parse(phone, auth.config().sms.strict_phone_validation)
            .with_context(|| format!("parsing {phone}"))?;
        let _ = auth
            .register(NewAccount::phone(parsed), &client)
            .await
            .with_context(|| format!("registering {phone}"))?;
    }
    Ok(())
}

/// One whole SMS login of `phone` through the core: start, then verify with the test code.
pub(crate) async fn sms_login(auth: &Auth, phone: &str) -> anyhow::Result<TokenPair> {
    let client = client();
    let parsed = auth_core::Phone::parse(phone, auth.config().sms.strict_phone_validation)
        .with_context(|| format!("parsing {phone}"))?;
    let challenge = auth
        .start_sms_login(&parsed, &client)
        .await
        .with_context(|| format!("starting an SMS login of {phone}"))?;
    auth.verify_sms(
        challenge.challenge_id,
        &OneTimeCode::new(TEST_CODE),
        &client,
    )
    .await
    .with_context(|| format!("verifying the SMS login of {phone}"))
}

/// What the wrk scripts need.
pub(crate) struct Fixture {
    /// A valid access token (for the three guarded-route variants).
    pub(crate) access_token: String,
    /// One refresh token per chain: each is rotated by one connection at a time.
    pub(crate) refresh_tokens: Vec<String>,
    /// The test numbers (all registered).
    pub(crate) phones: Vec<String>,
    /// The JSON body of a password login of the password account.
    pub(crate) password_login_body: String,
}

/// Registers the phones and the password account, then logs in `chains` times by SMS.
pub(crate) async fn seed(
    auth: &Auth,
    phones: Vec<String>,
    chains: usize,
) -> anyhow::Result<Fixture> {
    register_phones(auth, &phones).await?;
    let _ = auth
        .register(
            NewAccount::email(
                Email::parse(PASSWORD_EMAIL).context("parsing the password account's email")?,
                Password::new(PASSWORD),
            ),
            &client(),
        )
        .await
        .context("registering the password account")?;
    let mut refresh_tokens = Vec::with_capacity(chains);
    let mut access_token = None;
    for phone in phones.iter().cycle().take(chains.max(1)) {
        let pair = sms_login(auth, phone).await?;
        access_token.get_or_insert_with(|| pair.access_token.expose().to_owned());
        refresh_tokens.push(pair.refresh_token.expose().to_owned());
    }
    let password_login_body = serde_json::json!({
        "email": PASSWORD_EMAIL,
        "password": PASSWORD,
    })
    .to_string();
    Ok(Fixture {
        access_token: access_token.context("no phone to log in with")?,
        refresh_tokens,
        phones,
        password_login_body,
    })
}

impl Fixture {
    /// Writes the fixture as a Lua chunk returning a table (atomically: write, then rename).
    pub(crate) fn write_lua(&self, path: &Path) -> anyhow::Result<()> {
        let list = |items: &[String]| {
            items
                .iter()
                .map(|s| format!("    {},\n", lua_string(s)))
                .collect::<String>()
        };
        let text = format!(
            "-- Written by `auth-bench serve`: what the wrk scripts send.\nreturn {{\n  \
             access_token = {},\n  code = {},\n  password_login_body = {},\n  \
             refresh_tokens = {{\n{}  }},\n  phones = {{\n{}  }},\n}}\n",
            lua_string(&self.access_token),
            lua_string(TEST_CODE),
            lua_string(&self.password_login_body),
            list(&self.refresh_tokens),
            list(&self.phones),
        );
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        std::fs::write(&tmp, text).with_context(|| format!("writing {}", path.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }
}

/// A double-quoted Lua string literal.
fn lua_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            c if c.is_ascii_control() => out.push_str(&format!("\\{:03}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lua_strings_are_escaped() {
        assert_eq!(lua_string(r#"{"a":"b\c"}"#), r#""{\"a\":\"b\\c\"}""#);
        assert_eq!(lua_string("x\ny\u{1}"), r#""x\ny\001""#);
    }

    #[test]
    fn the_bench_config_is_valid() {
        assert_eq!(bench_config(true, &phones(3)).validate(), Ok(()));
    }
}
