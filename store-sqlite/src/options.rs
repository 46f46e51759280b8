//! Tuning knobs of a [`SqliteStore`](crate::SqliteStore), each with its default.

use std::time::Duration;

/// How hard SQLite works to make a commit survive a power cut (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// `synchronous = FULL`: every commit is fsynced before it returns; a committed refresh
    /// rotation or revocation survives a power cut. The default.
    #[default]
    Full,
    /// `synchronous = NORMAL`: in WAL mode a commit survives a crash of the app but the last
    /// commits may be lost on a power cut or OS crash (the database stays consistent). Several
    /// times faster for writes made one at a time; under concurrent writes the gap is smaller,
    /// since with [`Durability::Full`] the writes committed together share one fsync (group
    /// commit).
    Normal,
}

/// Options for [`SqliteStore::open_with`](crate::SqliteStore::open_with).
///
/// ```
/// use std::time::Duration;
/// use store_sqlite::SqliteOptions;
///
/// let mut options = SqliteOptions::default();
/// options.busy_timeout = Duration::from_secs(2);
/// options.readers = 8;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// How long a call waits for a lock held by another connection or process
    /// (`busy_timeout`) before failing with `StoreError::Unavailable`. Default: 5 s.
    pub busy_timeout: Duration,
    /// Read-only connections kept open for lookups, which run in parallel with each other and
    /// with the writer (WAL). `0` sends reads through the writer connection. Ignored for
    /// in-memory stores (one connection). Default: 4.
    pub readers: usize,
    /// Read-only connections for the per-request session check, which runs on the calling
    /// thread instead of the blocking pool when one of them is free and SQLite need not wait
    /// for a lock (otherwise it falls back to `readers`); see the crate docs. About one per
    /// async worker thread is enough. `0` sends every read to the blocking pool. Ignored for
    /// in-memory stores. Default: 4.
    pub quick_readers: usize,
    /// Session checks each quick reader keeps, answered again without a lookup for as long
    /// as nothing is committed to the database: before each answer a `PRAGMA data_version`
    /// read tells whether any connection or process committed since, and any commit empties
    /// the cache, so every check still sees every change at once. `0` turns it off. Default:
    /// 1024 (about 300 bytes each).
    pub session_cache: usize,
    /// Run an opportunistic purge of expired records after every this many writes (`0`:
    /// never; call [`Auth::purge_expired`](auth_core::Auth::purge_expired) yourself). Default: 1000.
    pub cleanup_every: u64,
    /// Commit durability. Default: [`Durability::Full`].
    pub durability: Durability,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(5),
            readers: 4,
            quick_readers: 4,
            session_cache: 1024,
            cleanup_every: 1000,
            durability: Durability::Full,
        }
    }
}
