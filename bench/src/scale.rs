//! `auth-bench scale`: does `authenticate` (with the live session check) and refresh stay flat
//! as a store fills up? The store is filled through the `Store` trait to each count of
//! `--counts` in turn, and at each count both are timed, one call at a time, in process.
//!
//! * Filling: sessions shaped like real ones (IPv4, a browser user agent, 30-day expiry),
//!   `--sessions-per-user` per user, inserted with `Store::create_user` and
//!   `Store::insert_session`, `--concurrency` users at a time. On SQLite the filling goes
//!   through a second store on the same file with `synchronous = NORMAL` (an fsync per
//!   insert would take hours for a million); the timed store keeps the default durability.
//! * `authenticate`: access tokens minted with the core's own `AccessTokens` for sessions
//!   drawn at random among all those in the store, so lookups spread over the whole table.
//! * Refresh: refresh tokens cannot be minted outside the core for sessions inserted
//!   directly, so `--chains` sessions are created by real SMS logins at each count and their
//!   tokens rotated round-robin; their lookups go through the same indexes as any other.
//! * SQLite's session cache (`SqliteOptions::session_cache`) is off in the timed store: at
//!   1 000 sessions every check would soon be answered from it, at a million few would, and
//!   the question here is how the lookup itself grows. For the same reason no `Auth` here
//!   has the session cache (`auth_core::session_cache`).
//! * Redis and PostgreSQL: a fresh key prefix or schema per run ([`crate::postgres`]),
//!   deleted or dropped at the end; the PostgreSQL store keeps its default pool (10
//!   connections), which the filling shares.
//! * The floor (SQLite only): SQLite's own lookup, timed beside `authenticate` (the two
//!   alternate call by call, on different random sessions): the store's session check
//!   statement ([`BARE_LOOKUP`]) on a plain connection with SQLite's defaults. However the
//!   B-trees grow with the table, this grows with them; what `authenticate` adds beyond it is
//!   ours.
//!
//! Prints one JSON line per count on stdout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use auth_core::account::User;
use auth_core::ids::{SessionId, UserId};
use auth_core::secret::SecretHash;
use auth_core::session::{RefreshState, Session, SessionStatus};
use auth_core::testkit::MemoryStore;
use auth_core::token::access::AccessTokens;
use auth_core::{Auth, Store};
use chrono::Utc;
use clap::Args;
use futures::{StreamExt as _, TryStreamExt as _};
use rand::Rng as _;
use store_redis::RedisStore;

use crate::postgres;
use crate::setup::{self, NullSms, SqliteDurability, StoreArgs, StoreKind};
use crate::stats::Latency;

const USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                          Chrome/124.0 Safari/537.36";

/// The floor's query: the store's own session check statement (`WITH_OWNER` in
/// `store-sqlite/src/sessions.rs`, kept the same here by hand), so that the floor takes the
/// same path through the same B-trees and what `authenticate` adds to it is everything but
/// SQLite's work. Every column is read back.
const BARE_LOOKUP: &str = "SELECT s.*, \
                           (SELECT status FROM users INDEXED BY users_owner WHERE id = s.user_id), \
                           (SELECT roles FROM users INDEXED BY users_owner WHERE id = s.user_id) \
                           FROM sessions AS s WHERE s.id = ?1";

/// `scale` arguments.
#[derive(Debug, Clone, Args)]
pub(crate) struct ScaleArgs {
    /// The store.
    #[arg(long, value_enum)]
    store: StoreKind,
    /// Session counts to measure at, ascending (the store is filled up to each in turn).
    #[arg(long, value_delimiter = ',', default_value = "1000,1000000")]
    counts: Vec<usize>,
    /// Timed `authenticate` calls per count.
    #[arg(long, default_value_t = 20_000)]
    auth_samples: usize,
    /// Timed refreshes per count.
    #[arg(long, default_value_t = 3_000)]
    refresh_samples: usize,
    /// Sessions created by real logins per count, whose refresh tokens are rotated.
    #[arg(long, default_value_t = 100)]
    chains: usize,
    /// Filler sessions per filler user.
    #[arg(long, default_value_t = 10)]
    sessions_per_user: usize,
    /// Users inserted at once while filling.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    #[command(flatten)]
    stores: StoreArgs,
}

/// The store under test, the one that fills it, and what to clean up afterwards.
struct Stores {
    timed: Arc<dyn Store>,
    filler: Arc<dyn Store>,
    redis: Option<RedisStore>,
    /// The PostgreSQL schema of this run, dropped at the end.
    pg_schema: Option<String>,
}

async fn open(args: &ScaleArgs) -> anyhow::Result<Stores> {
    let s = &args.stores;
    Ok(match args.store {
        StoreKind::Memory => {
            let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
            Stores {
                timed: store.clone(),
                filler: store,
                redis: None,
                pg_schema: None,
            }
        }
        StoreKind::Sqlite => {
            setup::remove_sqlite(&s.sqlite_path)?;
            // The session cache off: at the smallest count every check would be answered
            // from it, and this measures the lookup.
            let timed = setup::open_sqlite(&s.sqlite_path, s.sqlite_durability, Some(0))?;
            let filler = setup::open_sqlite(&s.sqlite_path, SqliteDurability::Normal, None)?;
            Stores {
                timed: Arc::new(timed),
                filler: Arc::new(filler),
                redis: None,
                pg_schema: None,
            }
        }
        StoreKind::Redis => {
            let store = setup::open_redis(s).await?;
            Stores {
                timed: Arc::new(store.clone()),
                filler: Arc::new(store.clone()),
                redis: Some(store),
                pg_schema: None,
            }
        }
        StoreKind::Postgres => {
            let schema = postgres::fresh_schema(&s.pg_schema_prefix)?;
            let store = Arc::new(setup::open_postgres(s, &schema).await?);
            Stores {
                timed: store.clone(),
                filler: store,
                redis: None,
                pg_schema: Some(schema),
            }
        }
    })
}

/// Runs the scale test of one store.
pub(crate) fn run(args: ScaleArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let stores = open(&args).await?;
        let outcome = measure_all(&args, &stores).await;
        if let Some(redis) = &stores.redis {
            eprintln!("scale: clearing the Redis keys");
            let _ = redis.clear_prefix().await?;
        }
        let pg_schema = stores.pg_schema.clone();
        drop(stores);
        if let Some(schema) = pg_schema {
            eprintln!("scale: dropping the PostgreSQL schema");
            postgres::drop_schema(&postgres::url(args.stores.pg_url.as_deref()), &schema).await?;
        }
        if args.store == StoreKind::Sqlite {
            setup::remove_sqlite(&args.stores.sqlite_path)?;
        }
        outcome
    })
}

async fn measure_all(args: &ScaleArgs, stores: &Stores) -> anyhow::Result<()> {
    let phones = setup::phones(args.chains.max(1));
    let auth = Auth::builder(setup::bench_config(false, &phones))
        .store_arc(stores.timed.clone())
        .sms_arc(Arc::new(NullSms::default()))
        .build()?;
    setup::register_phones(&auth, &phones).await?;
    let mut filled: Vec<(UserId, SessionId)> = Vec::new();
    for &count in &args.counts {
        let start = Instant::now();
        fill(args, stores.filler.as_ref(), &mut filled, count).await?;
        let fill_secs = start.elapsed().as_secs_f64();
        eprintln!(
            "scale: {} holds {} filler sessions ({fill_secs:.1} s to fill); timing",
            args.store.name(),
            filled.len()
        );
        let mut floor = match args.store {
            StoreKind::Sqlite => Some(BareSqlite::open(&args.stores.sqlite_path)?),
            StoreKind::Memory | StoreKind::Redis | StoreKind::Postgres => None,
        };
        let (authenticate, floor) =
            time_authenticate(&auth, &filled, args.auth_samples, floor.as_mut()).await?;
        let refresh = time_refresh(&auth, &phones, args.refresh_samples).await?;
        let line = serde_json::json!({
            "kind": "scale",
            "store": args.store.name(),
            "sessions": filled.len(),
            "sessions_per_user": args.sessions_per_user,
            "fill_secs": fill_secs,
            "authenticate": authenticate,
            "floor": floor,
            "refresh": refresh,
        });
        println!("{line}");
    }
    Ok(())
}

/// Inserts filler users and sessions until `filled` holds `target` sessions.
async fn fill(
    args: &ScaleArgs,
    store: &dyn Store,
    filled: &mut Vec<(UserId, SessionId)>,
    target: usize,
) -> anyhow::Result<()> {
    let per_user = args.sessions_per_user.max(1);
    let missing = target.saturating_sub(filled.len());
    let users = missing.div_ceil(per_user);
    let progress_every = (users / 10).max(1);
    let sizes = (0..users).map(|u| per_user.min(missing - u * per_user));
    let mut inserted = futures::stream::iter(sizes)
        .map(|n| insert_user_with_sessions(store, n))
        .buffer_unordered(args.concurrency.max(1));
    let mut done: usize = 0;
    while let Some(ids) = inserted.try_next().await? {
        filled.extend(ids);
        done += 1;
        if missing >= 100_000 && done.is_multiple_of(progress_every) {
            eprintln!("scale: {} sessions", filled.len());
        }
    }
    Ok(())
}

async fn insert_user_with_sessions(
    store: &dyn Store,
    sessions: usize,
) -> anyhow::Result<Vec<(UserId, SessionId)>> {
    let now = Utc::now();
    let user = User::new(UserId::new_random(), now);
    store.create_user(&user).await?;
    let mut ids = Vec::with_capacity(sessions);
    for i in 0..sessions {
        let mut hash = [0u8; 32];
        rand::rng().fill(&mut hash);
        let session = Session {
            id: SessionId::new_random(),
            user_id: user.id,
            created_at: now,
            last_used_at: now,
            expires_at: now + chrono::Duration::days(30),
            ip: Some(std::net::IpAddr::V4(std::net::Ipv4Addr::new(
                203,
                0,
                113,
                u8::try_from(i % 250).unwrap_or(1),
            ))),
            user_agent: Some(USER_AGENT.to_owned()),
            refresh: RefreshState {
                generation: 0,
                hash: SecretHash::from_bytes(hash),
                issued_at: now,
            },
            status: SessionStatus::Active,
        };
        store.insert_session(&session).await?;
        ids.push((user.id, session.id));
    }
    Ok(ids)
}

/// SQLite's own lookup of a session check: [`BARE_LOOKUP`] on a plain connection.
struct BareSqlite {
    conn: rusqlite::Connection,
}

impl BareSqlite {
    fn open(path: &std::path::Path) -> anyhow::Result<Self> {
        // Opened for reading and writing, as any connection is by default: a read-only one
        // cannot share the WAL index in `-shm` and rebuilds it from the WAL file at every
        // transaction. It only reads.
        let conn = rusqlite::Connection::open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(Self { conn })
    }

    /// Looks `id` up, reads every column, and fails unless the session and its owner exist.
    fn lookup(&self, id: SessionId) -> anyhow::Result<()> {
        let mut stmt = self.conn.prepare_cached(BARE_LOOKUP)?;
        let mut rows = stmt.query([id.as_uuid().as_bytes()])?;
        let row = rows.next()?.context("the floor found no session")?;
        let columns = row.as_ref().column_count();
        let mut bytes = 0usize;
        for i in 0..columns {
            bytes += match row.get_ref(i)? {
                rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => t.len(),
                _ => 8,
            };
        }
        anyhow::ensure!(
            matches!(
                row.get_ref(columns - 1)?,
                rusqlite::types::ValueRef::Text(_)
            ),
            "the floor found no owner"
        );
        std::hint::black_box(bytes);
        Ok(())
    }
}

/// Times `authenticate` (session check on) of tokens for random filler sessions, and the
/// floor's lookup of other random sessions call by call beside it (alternating which goes
/// first), so a slow spell of the machine hits both.
async fn time_authenticate(
    auth: &Auth,
    filled: &[(UserId, SessionId)],
    samples: usize,
    mut floor: Option<&mut BareSqlite>,
) -> anyhow::Result<(Option<Latency>, Option<Latency>)> {
    if filled.is_empty() {
        return Ok((None, None));
    }
    let tokens = AccessTokens::new(auth.config());
    let now = Utc::now();
    let mut rng = rand::rng();
    let warmup = (samples / 10).min(1000);
    let mut minted = Vec::with_capacity(samples + warmup);
    let mut floor_ids = Vec::with_capacity(samples + warmup);
    for _ in 0..samples + warmup {
        let mut draw = || {
            filled
                .get(rng.random_range(0..filled.len()))
                .copied()
                .context("no filler session")
        };
        let (user, session) = draw()?;
        minted.push(tokens.issue(user, session, Vec::new(), now)?.0);
        floor_ids.push(draw()?.1);
    }
    let mut timings = Vec::with_capacity(samples);
    let mut floor_timings = Vec::with_capacity(samples);
    for (i, (token, floor_id)) in minted.iter().zip(&floor_ids).enumerate() {
        let floor_first = i % 2 == 0;
        let mut time_floor = |floor: &mut Option<&mut BareSqlite>| -> anyhow::Result<()> {
            if let Some(floor) = floor {
                let start = Instant::now();
                floor.lookup(*floor_id)?;
                if i >= warmup {
                    floor_timings.push(start.elapsed());
                }
            }
            Ok(())
        };
        if floor_first {
            time_floor(&mut floor)?;
        }
        let start = Instant::now();
        let _ = auth.authenticate(token).await?;
        if i >= warmup {
            timings.push(start.elapsed());
        }
        if !floor_first {
            time_floor(&mut floor)?;
        }
    }
    Ok((Latency::of(timings), Latency::of(floor_timings)))
}

/// Logs in once per phone by SMS, then times refreshes round-robin over those sessions.
async fn time_refresh(
    auth: &Auth,
    phones: &[String],
    samples: usize,
) -> anyhow::Result<Option<Latency>> {
    let mut chains = Vec::with_capacity(phones.len());
    for phone in phones {
        chains.push(setup::sms_login(auth, phone).await?.refresh_token);
    }
    let client = setup::client();
    let warmup = chains.len();
    let mut timings: Vec<Duration> = Vec::with_capacity(samples);
    for i in 0..samples + warmup {
        let slot = chains
            .get_mut(i % phones.len().max(1))
            .context("no chain")?;
        let start = Instant::now();
        let pair = auth.refresh(slot.expose(), &client).await?;
        if i >= warmup {
            timings.push(start.elapsed());
        }
        *slot = pair.refresh_token;
    }
    Ok(Latency::of(timings))
}
