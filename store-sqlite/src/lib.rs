//! # store-sqlite
//!
//! The embedded default store for `auth-core` (a [`Store`] and a
//! [`OneTimeTokenStore`](auth_core::store::OneTimeTokenStore): every record): one SQLite file (SQLite is compiled in via
//! rusqlite's `bundled` feature, nothing to install), in WAL mode, with a schema the crate
//! creates and migrates itself.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use auth_core::{Auth, AuthConfig, SigningSecret};
//! use auth_core::testkit::FakeSms; // use your real SmsSender here
//! use store_sqlite::SqliteStore;
//!
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("auth.db");
//! // Creates the file (and its tables) on first use; later opens migrate it if needed.
//! let store = SqliteStore::open(&path)?;
//! let auth = Auth::builder(AuthConfig::new(SigningSecret::generate()))
//!     .store(store.clone()) // clones share the same connections
//!     .sms(FakeSms::new())
//!     .build()?;
//!
//! let user = auth.register(auth_core::api::RegisterRequest {
//!     phone: Some("+15551234567".into()),
//!     ..Default::default()
//! }.parse(auth.config())?, &auth_core::api::ClientInfo::default()).await?;
//! assert!(auth.find_user(user.user_id).await?.is_some());
//! # Ok(())
//! # }
//! ```
//!
//! ## When to pick it
//! * One app process, or several processes **on one machine** sharing the file (SQLite locks
//!   the file; every compare-and-set holds across processes). This is the default choice: no
//!   server to run, data survives restarts, and it is fast (reads run in parallel with writes).
//! * Not for app instances on several machines: a SQLite file must not be shared over a
//!   network file system. Use `store-redis` there.
//! * [`SqliteStore::open_in_memory`] gives a private in-memory database, for tests and demos.
//!
//! ## What it stores
//! | table        | one row per                     | key / indexes                                      |
//! |--------------|---------------------------------|----------------------------------------------------|
//! | `users`      | account                         | `id`; unique `phone`, `email`, `username`          |
//! | `challenges` | SMS code challenge              | `id`; `expires_at`                                 |
//! | `email_tokens` | emailed one-time token        | `hash` (keyed hash of the token); `expires_at`     |
//! | `sessions`   | login on one device             | `id`; `(user_id, created_at)`; `expires_at`        |
//! | `counters`   | rate-limit window (per key)     | `key`; `resets_at`                                 |
//! | `failures`   | consecutive-failure count       | `key`; `expires_at`                                |
//! | `schema_migrations` | applied schema version   | `version` (the version itself is `PRAGMA user_version`) |
//!
//! Times are stored as Unix nanoseconds (exact round trip; range 1677–2262), ids and hashes
//! as blobs. Secrets are never stored: only keyed hashes of SMS codes and refresh tokens, and
//! argon2id hashes of passwords. Expired challenges, emailed tokens, sessions, counters and
//! failure counts are deleted by [`Auth::purge_expired`](auth_core::Auth::purge_expired)
//! (call it e.g. hourly; it runs the purge of each store trait) and, a few hundred at a time, by the store itself every
//! [`SqliteOptions::cleanup_every`] writes. A user's `credentials_changed_at` is a column of
//! `users` like the other times. Schema version 4 added it and gave `failures` its `last_at`
//! and `expires_at`; counts carried over from an older file (which this version's core, now
//! counting under other keys, never reads) expire 48 hours after the upgrade.
//!
//! ## How much space a session takes
//! One row per session in `sessions` plus one entry in each of its two indexes; a refresh
//! rotation updates the row in place, and a revoked or expired row stays until it is purged
//! after its `expires_at`. Measured on 10 000 sessions shaped like real ones (IPv4 address,
//! 97-byte browser user agent, 10 sessions per user), WAL checkpointed:
//!
//! | b-tree                | bytes per session |
//! |-----------------------|------------------:|
//! | `sessions` (the rows) | 245 (211 of them payload: two 16-byte ids, four 8-byte times, the 32-byte refresh hash, IP, user agent) |
//! | `sessions_user_id`    | 56                |
//! | `sessions_expires_at` | 34                |
//! | **total**             | **≈ 335** (file growth: 334) |
//!
//! so about 335 MB per million live sessions. Reproduce with
//! `cargo run -p store-sqlite --release --example session_size` (it takes the number of
//! sessions as an optional argument).
//!
//! ## Concurrency
//! Calls never wait on the async runtime: each runs on tokio's blocking pool, except the
//! per-request session check
//! ([`SessionStore::session_with_owner`](auth_core::store::SessionStore::session_with_owner)),
//! a primary-key lookup of a few
//! microseconds that runs on the calling thread on a "quick reader" connection whose
//! `busy_timeout` is zero; if that connection is taken or SQLite would have to wait for a lock,
//! the lookup goes to the blocking pool instead. Measured under HTTP load, the trip to the
//! blocking pool and back cost more than the lookup itself (BENCHMARKS.md);
//! [`SqliteOptions::quick_readers`]` = 0` turns it off. Each quick reader also keeps the
//! checks it answered and answers them again while nothing at all has been committed to the
//! file since, which it learns from `PRAGMA data_version` in a read transaction before every
//! answer; any commit, by any connection or process, empties it, so the check stays live
//! ([`SqliteOptions::session_cache`]). Lookups go through a few read-only connections that
//! WAL lets run alongside the writer.
//!
//! Writes go through one writer connection with **group commit**: one task at a time, on
//! the blocking pool, takes every write queued (at most 256), runs them in one
//! `BEGIN IMMEDIATE` transaction, each in its own savepoint (a write that fails is rolled back
//! alone and the others keep their effects), commits once and only then answers each caller;
//! the writes that queue up meanwhile form the next batch. A lone write runs at once, so a
//! quiet store commits each write as soon as it comes, and a busy one pays one fsync per
//! batch rather than one per write (at [`Durability::Full`], where the fsync is most of a
//! write's cost). No write is acknowledged before the commit that made it durable: if the
//! commit fails, or the file was deleted or replaced, every write of the batch is
//! [`StoreError::Unavailable`]. Why one writer: SQLite admits one writer per file at a time
//! anyway, and several writer connections would only contend for the file lock through
//! `busy_timeout`'s sleep-and-retry. Every compare-and-set of the store
//! contract is one conditional `UPDATE` (checked through its change count), run while the
//! writer holds the file's write lock, or one
//! `BEGIN IMMEDIATE` transaction, never a read followed by a write outside that lock, so it
//! holds between tasks, between two `SqliteStore`s on one file and between processes;
//! `busy_timeout` makes a writer wait for another process's lock instead of failing at once.
//! See [`SqliteOptions`] for the knobs.
//!
//! ## Failures
//! Every failure is [`StoreError::Unavailable`] (the core answers `store_unavailable`, 503):
//! a lock not obtained within the busy timeout, an I/O error, a read-only or corrupt file, a
//! row that does not parse, a database written by a newer version of this crate, and a file
//! deleted or replaced under a running store (SQLite would otherwise keep writing to the
//! deleted file and report success; writes check the file every time, reads at most once a
//! second, so a read may still answer from the deleted file for up to a second). Nothing here
//! panics.

mod challenges;
mod codec;
mod counters;
mod email_tokens;
mod error;
mod options;
mod pool;
mod purge;
mod schema;
mod session_cache;
mod sessions;
mod sql;
mod store;
mod users;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, MAIN_DB, OpenFlags};

pub use auth_core::{Store, StoreError};
pub use options::{Durability, SqliteOptions};

use crate::error::{DbError, DbResult};
use crate::pool::{FileIdentity, Pool};
use crate::purge::Cleanup;

/// A store of every record ([`Store`] and
/// [`OneTimeTokenStore`](auth_core::store::OneTimeTokenStore)) on a SQLite file (or in memory). Cheap to clone: clones share the connections.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: Pool,
    cleanup: Cleanup,
    path: Option<PathBuf>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` with default [`SqliteOptions`], and
    /// migrates it to the current schema. `":memory:"` opens a private in-memory database.
    ///
    /// Opening blocks briefly (it creates files and may migrate): do it at startup.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// [`SqliteStore::open`] with options.
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        let path = path.as_ref();
        if path.as_os_str() == ":memory:" {
            return Self::open_in_memory_with(options);
        }
        Ok(Self::open_file(path, &options)?)
    }

    /// A private in-memory database (one connection; gone when the last clone is dropped).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::open_in_memory_with(SqliteOptions::default())
    }

    /// [`SqliteStore::open_in_memory`] with options (`readers` is ignored).
    pub fn open_in_memory_with(options: SqliteOptions) -> Result<Self, StoreError> {
        let open = || -> DbResult<Self> {
            let mut writer = Connection::open_in_memory()?;
            configure(&writer, &options)?;
            let _ = schema::migrate(&mut writer)?;
            Ok(Self::from_parts(
                Pool::new(writer, Vec::new(), Vec::new(), 0, None),
                &options,
                None,
            ))
        };
        Ok(open()?)
    }

    /// The file this store is on (canonical path), `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// The schema version recorded in the database (`PRAGMA user_version`).
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        self.read(schema::version).await
    }

    /// A new database file holds password hashes and session data: owner read/write only.
    fn open_file(path: &Path, options: &SqliteOptions) -> DbResult<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let created = !path.exists();
        let mut writer = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_CREATE)?;
        if created {
            owner_only(path)?;
        }
        configure(&writer, options)?;
        if writer.is_readonly(MAIN_DB)? {
            return Err(unavailable(format!(
                "database file {} is read-only",
                path.display()
            )));
        }
        enable_wal(&writer, path, options.busy_timeout)?;
        let _ = schema::migrate(&mut writer)?;

        let canonical = std::fs::canonicalize(path)
            .map_err(|e| unavailable(format!("cannot resolve {}: {e}", path.display())))?;
        let identity = FileIdentity::of(canonical.clone())?;
        let reader = || -> DbResult<Connection> {
            let reader = Connection::open_with_flags(&canonical, flags)?;
            configure(&reader, options)?;
            reader.pragma_update(None, "query_only", true)?;
            Ok(reader)
        };
        let readers = (0..options.readers)
            .map(|_| reader())
            .collect::<DbResult<Vec<_>>>()?;
        // Quick readers never wait for a lock: they hand the read to the pool instead.
        let quick = (0..options.quick_readers)
            .map(|_| {
                let conn = reader()?;
                conn.busy_timeout(Duration::ZERO)?;
                Ok(conn)
            })
            .collect::<DbResult<Vec<_>>>()?;
        Ok(Self::from_parts(
            Pool::new(
                writer,
                readers,
                quick,
                options.session_cache,
                Some(identity),
            ),
            options,
            Some(canonical),
        ))
    }

    fn from_parts(pool: Pool, options: &SqliteOptions, path: Option<PathBuf>) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                cleanup: Cleanup::new(options.cleanup_every),
                path,
            }),
        }
    }

    /// Runs a write on the writer connection (in the next batch of group commit, `writer.rs`),
    /// then the opportunistic cleanup when it is due.
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> DbResult<T> + Send + 'static,
    {
        let cleanup_now = self.inner.cleanup.tick();
        self.inner
            .pool
            .write(move |conn| {
                let out = f(conn)?;
                if let Some(now) = cleanup_now {
                    Cleanup::run(conn, now);
                }
                Ok(out)
            })
            .await
    }

    /// Deletes the records of one group of `purge.rs` that expired at `now`. Not counted as a
    /// write toward the opportunistic cleanup (it is a cleanup itself), so the purges of a
    /// whole `Store`, run one after another, each delete and report their own records.
    async fn purge(
        &self,
        now: DateTime<Utc>,
        deletes: &'static [&'static str],
    ) -> Result<u64, StoreError> {
        self.saw(now);
        self.inner
            .pool
            .write_alone(move |conn| purge::purge(conn, now, deletes))
            .await
    }

    /// Runs a lookup on a reader connection.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> DbResult<T> + Send + 'static,
    {
        self.inner.pool.read(f).await
    }

    /// Remembers a time the core passed in (the opportunistic cleanup's "now").
    fn saw(&self, now: DateTime<Utc>) {
        self.inner.cleanup.saw(now);
    }
}

/// Puts the file in WAL mode. Switching needs the file to itself, and SQLite answers
/// `SQLITE_BUSY` at once, without its busy handler, while another connection (a store opening
/// the same fresh file at the same moment) holds a lock: so retry within the busy timeout.
fn enable_wal(conn: &Connection, path: &Path, timeout: Duration) -> DbResult<()> {
    let deadline = Instant::now() + timeout;
    loop {
        match conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
        {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => {
                return Err(unavailable(format!(
                    "cannot put {} in WAL mode (journal_mode is {mode})",
                    path.display()
                )));
            }
            Err(e) => {
                let e = DbError::from(e);
                if !pool::would_wait(&e) || Instant::now() >= deadline {
                    return Err(e);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

/// Per-connection settings.
fn configure(conn: &Connection, options: &SqliteOptions) -> DbResult<()> {
    conn.busy_timeout(options.busy_timeout)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    let synchronous = match options.durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

fn unavailable(message: String) -> DbError {
    DbError::Store(StoreError::Unavailable(format!("sqlite: {message}")))
}

/// Restricts a file the store created to its owner (`0600`) on Unix.
fn owner_only(path: &Path) -> DbResult<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| unavailable(format!("cannot restrict {}: {e}", path.display())))?;
    }
    let _ = path;
    Ok(())
}
