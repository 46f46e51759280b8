//! The connections and how calls reach them without blocking the async runtime.
//!
//! # Design
//! SQLite calls block (disk I/O, fsync, waiting on another process's lock), so no call runs
//! on the async runtime's threads (but the quick reads below); the async side only waits.
//!
//! * **One writer connection, with group commit** (`writer.rs`). SQLite admits one writer
//!   per file at a time anyway, and at `synchronous = FULL` each commit costs an fsync, far
//!   more than the write. So writes are queued, and one drain at a time, on tokio's blocking
//!   pool, takes everything queued (up to `writer::MAX_BATCH`), runs it in one
//!   `BEGIN IMMEDIATE` transaction, each write inside its own savepoint, commits once, and
//!   only then answers each caller; the writes queued meanwhile form the next batch. A lone
//!   write runs at once (no waiting for company), so a quiet store is as fast as before and
//!   a busy one pays one fsync per batch instead of one per write. Writes that open their
//!   own transaction (the purges) run alone between batches ([`Pool::write_alone`]).
//!   Why the blocking pool (until now each write went there on its own, queued on an async
//!   mutex) rather than a writer thread of ours fed by a channel: both were built and batch
//!   alike; with the thread, the blocking pool's threads, no longer kept busy by writes, had
//!   to be woken for each read, which made reads slower under light load (measured in
//!   `writer.rs`). The pool also needs no thread of ours to start, stop or watch, works
//!   without a tokio runtime (the drain then runs in place), and a store dropped at
//!   shutdown simply closes its connections.
//! * **A few reader connections** (`PRAGMA query_only`), handed out by a semaphore, used on
//!   tokio's blocking pool via [`tokio::task::spawn_blocking`]. In WAL mode readers never
//!   block the writer nor each other, so the hot path (`authenticate` reads a session per
//!   request) does not queue behind writes.
//! * **Quick readers** for the per-request session check ([`Pool::read_now`]): a lookup by
//!   primary key takes a few microseconds, less than the trip to the blocking pool and back,
//!   which under load cost more than the lookup itself (BENCHMARKS.md). Such a read runs on
//!   the calling thread, on a connection taken with `try_lock` (never waited for) whose
//!   `busy_timeout` is zero: when the connection is taken, or SQLite would have to wait for a
//!   lock, the read goes to the blocking pool like any other. So it never sleeps on the async
//!   runtime; what it can cost there is the lookup's CPU and, when the pages are not in the
//!   OS page cache, a disk read. `SqliteOptions::quick_readers = 0` turns it off. Each
//!   quick reader has its own session cache (`session_cache.rs`).
//! * **Other processes** (or a second `SqliteStore` on the same file) are ordinary SQLite
//!   clients: WAL plus `busy_timeout` make them wait for the file's write lock, and since every
//!   compare-and-set is a single conditional statement run while the writer holds that lock
//!   (inside its batch's `BEGIN IMMEDIATE`), or an immediate transaction, the invariants hold
//!   across them too.
//!
//! An in-memory database exists only inside its connection, so an in-memory store has just
//! the writer and sends reads through it (as writes that change nothing).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex, PoisonError, TryLockError};
use std::time::{Duration, Instant};

use auth_core::StoreError;
use rusqlite::{Connection, ErrorCode};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{DbError, DbResult};
use crate::session_cache::SessionCache;
use crate::writer::Writer;

thread_local! {
    /// The index of the quick reader this thread took last (in whichever store: it is only
    /// where the search starts).
    static QUICK_HINT: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// The connections of one store.
#[derive(Debug)]
pub(crate) struct Pool {
    writer: Writer,
    readers: Option<Arc<Readers>>,
    quick: Vec<StdMutex<QuickReader>>,
    next_quick: AtomicUsize,
    file: Option<Arc<FileIdentity>>,
}

impl Pool {
    /// A pool over an opened writer (for group commit, `writer.rs`), optional readers, optional quick readers (opened with a zero `busy_timeout`, each with a session
    /// cache of `cache` answers) and the file they are on.
    pub(crate) fn new(
        writer: Connection,
        readers: Vec<Connection>,
        quick: Vec<Connection>,
        cache: usize,
        file: Option<FileIdentity>,
    ) -> Self {
        let file = file.map(Arc::new);
        let readers = (!readers.is_empty()).then(|| {
            Arc::new(Readers {
                permits: Arc::new(Semaphore::new(readers.len())),
                idle: StdMutex::new(readers),
            })
        });
        Self {
            writer: Writer::new(writer, file.clone()),
            readers,
            quick: quick
                .into_iter()
                .map(|conn| {
                    StdMutex::new(QuickReader {
                        conn,
                        sessions: SessionCache::new(cache),
                    })
                })
                .collect(),
            next_quick: AtomicUsize::new(0),
            file,
        }
    }

    /// Runs a quick lookup `f` (a primary-key read) on the calling thread when a quick reader
    /// is free and SQLite need not wait for a lock; otherwise on a reader on the blocking pool
    /// ([`Pool::read`]). `f` gets the quick reader's session cache, or `None` on the pool.
    /// See the module docs.
    pub(crate) async fn read_now<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(&Connection, Option<&mut SessionCache>) -> DbResult<T> + Send + 'static,
    {
        if let Some(mut quick) = self.free_quick_reader() {
            let QuickReader { conn, sessions } = &mut *quick;
            let result = match &self.file {
                Some(file) => file.check_recent().and_then(|()| f(conn, Some(sessions))),
                None => f(conn, Some(sessions)),
            };
            drop(quick);
            match result {
                Err(e) if would_wait(&e) => {}
                other => return other.map_err(StoreError::from),
            }
        }
        self.read(move |conn| f(conn, None)).await
    }

    /// A quick reader nobody holds, trying each once, starting from the one this thread got
    /// last time: each runtime worker keeps to "its" reader while there are enough, so the
    /// reader's connection and session cache stay in that CPU's cache instead of moving
    /// between cores on every request.
    fn free_quick_reader(&self) -> Option<std::sync::MutexGuard<'_, QuickReader>> {
        let n = self.quick.len();
        if n == 0 {
            return None;
        }
        let start = QUICK_HINT.with(|hint| {
            hint.get()
                .unwrap_or_else(|| self.next_quick.fetch_add(1, Ordering::Relaxed))
        }) % n;
        let (index, reader) = (start..n).chain(0..start).find_map(|i| {
            let reader = match self.quick.get(i)?.try_lock() {
                Ok(reader) => reader,
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => return None,
            };
            Some((i, reader))
        })?;
        QUICK_HINT.with(|hint| hint.set(Some(index)));
        Some(reader)
    }

    /// Runs `f` on the writer connection in the next batch of group commit: its result once
    /// the batch has committed (`writer.rs`). `f` must not open a transaction of its own.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> DbResult<T> + Send + 'static,
    {
        self.writer.write(f).await
    }

    /// Runs `f` on the writer connection alone, between batches and outside any transaction,
    /// for writes that run their own (`BEGIN IMMEDIATE` through `transaction_with_behavior`).
    pub(crate) async fn write_alone<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> DbResult<T> + Send + 'static,
    {
        self.writer.write_alone(f).await
    }

    /// Runs `f` on a reader connection (the writer when there are none), on the blocking pool.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> DbResult<T> + Send + 'static,
    {
        let Some(readers) = &self.readers else {
            return self.write(f).await;
        };
        let lease = Arc::clone(readers).lease().await?;
        let file = self.file.clone();
        blocking(move || {
            if let Some(file) = &file {
                file.check_recent()?;
            }
            f(lease.conn()?)
        })
        .await
    }
}

/// A connection for quick reads and the session checks it answered.
#[derive(Debug)]
struct QuickReader {
    conn: Connection,
    sessions: SessionCache,
}

/// Idle reader connections and a permit per connection.
#[derive(Debug)]
struct Readers {
    permits: Arc<Semaphore>,
    idle: StdMutex<Vec<Connection>>,
}

impl Readers {
    async fn lease(self: Arc<Self>) -> Result<Lease, StoreError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(StoreError::unavailable)?;
        let conn = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        Ok(Lease {
            conn,
            readers: self,
            _permit: permit,
        })
    }
}

/// A reader connection on loan; goes back to the pool when dropped, before its permit.
struct Lease {
    conn: Option<Connection>,
    readers: Arc<Readers>,
    _permit: OwnedSemaphorePermit,
}

impl Lease {
    fn conn(&self) -> DbResult<&Connection> {
        self.conn.as_ref().ok_or_else(|| {
            DbError::Store(StoreError::Unavailable(
                "sqlite: no idle reader connection".to_owned(),
            ))
        })
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.readers
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
        }
    }
}

/// Whether SQLite gave up because it would have had to wait for another connection's lock
/// (`SQLITE_BUSY` / `SQLITE_LOCKED`): a quick read then retries on the blocking pool.
pub(crate) fn would_wait(err: &DbError) -> bool {
    matches!(
        err,
        DbError::Sql(rusqlite::Error::SqliteFailure(e, _))
            if matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Runs blocking work on tokio's blocking pool, or in place when there is no tokio runtime
/// (so a store used from another executor still works instead of panicking).
async fn blocking<T, F>(f: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce() -> DbResult<T> + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => match handle.spawn_blocking(f).await {
            Ok(result) => result.map_err(StoreError::from),
            Err(join) => Err(StoreError::Unavailable(format!(
                "sqlite: blocking task failed: {join}"
            ))),
        },
        Err(_) => f().map_err(StoreError::from),
    }
}

/// Which file the store opened, to notice when it is deleted, moved or replaced under a
/// running store. SQLite keeps writing to the open (now nameless) file in that case and
/// reports success, so every call checks first and fails with `Unavailable` instead of
/// accepting writes that would be lost.
///
/// Writes check every time. Reads check at most every [`FileIdentity::READ_CHECK_EVERY`]: they
/// lose nothing, and the `stat` cost as much as the per-request session lookup itself.
#[derive(Debug)]
pub(crate) struct FileIdentity {
    path: PathBuf,
    #[cfg(unix)]
    dev_ino: (u64, u64),
    opened: Instant,
    /// Milliseconds after `opened` of the latest successful check.
    checked_at_ms: AtomicU64,
}

impl FileIdentity {
    /// Records the identity of the file at `path` as it is now.
    pub(crate) fn of(path: PathBuf) -> DbResult<Self> {
        let meta = std::fs::metadata(&path).map_err(|e| {
            DbError::Store(StoreError::Unavailable(format!(
                "sqlite: cannot stat {}: {e}",
                path.display()
            )))
        })?;
        #[cfg(unix)]
        let dev_ino = {
            use std::os::unix::fs::MetadataExt as _;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let _ = meta;
        Ok(Self {
            path,
            #[cfg(unix)]
            dev_ino,
            opened: Instant::now(),
            checked_at_ms: AtomicU64::new(0),
        })
    }

    /// How stale a read's check may be.
    const READ_CHECK_EVERY: Duration = Duration::from_secs(1);

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// [`FileIdentity::check`] unless one passed within [`FileIdentity::READ_CHECK_EVERY`].
    fn check_recent(&self) -> DbResult<()> {
        let now = self.elapsed_ms();
        let last = self.checked_at_ms.load(Ordering::Relaxed);
        let every = u64::try_from(Self::READ_CHECK_EVERY.as_millis()).unwrap_or(u64::MAX);
        if last != 0 && now.saturating_sub(last) < every {
            return Ok(());
        }
        self.check()
    }

    /// Fails when the file is gone or another file now has its name.
    pub(crate) fn check(&self) -> DbResult<()> {
        let gone = |why: String| {
            DbError::Store(StoreError::Unavailable(format!(
                "sqlite: database file {} {why}; reopen the store",
                self.path.display()
            )))
        };
        let meta = std::fs::metadata(&self.path).map_err(|e| gone(format!("is gone ({e})")))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            if (meta.dev(), meta.ino()) != self.dev_ino {
                return Err(gone("was replaced by another file".to_owned()));
            }
        }
        #[cfg(not(unix))]
        let _ = meta;
        self.checked_at_ms
            .store(self.elapsed_ms().max(1), Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::sync::atomic::AtomicUsize;
    use std::thread::ThreadId;

    use rusqlite::ffi;

    use super::*;

    fn pool(quick: usize) -> Pool {
        let open = || Connection::open_in_memory().unwrap();
        Pool::new(
            open(),
            vec![open()],
            (0..quick).map(|_| open()).collect(),
            16,
            None,
        )
    }

    fn busy() -> DbError {
        DbError::Sql(rusqlite::Error::SqliteFailure(
            ffi::Error::new(ffi::SQLITE_BUSY),
            None,
        ))
    }

    /// Where each call of `f` ran, and whether it succeeded.
    async fn run(pool: &Pool, fail_first_with: Option<fn() -> DbError>) -> (Vec<ThreadId>, bool) {
        let calls = Arc::new(StdMutex::new(Vec::new()));
        let attempts = Arc::new(AtomicUsize::new(0));
        let result = {
            let calls = Arc::clone(&calls);
            pool.read_now(move |conn, _| {
                calls.lock().unwrap().push(std::thread::current().id());
                let first = attempts.fetch_add(1, Ordering::SeqCst) == 0;
                if let Some(error) = fail_first_with.filter(|_| first) {
                    return Err(error());
                }
                Ok(conn.query_row("SELECT 1", [], |row| row.get::<_, i64>(0))?)
            })
            .await
        };
        let calls = calls.lock().unwrap().clone();
        (calls, result.is_ok())
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_quick_read_runs_on_the_calling_thread() {
        let here = std::thread::current().id();
        let (calls, ok) = run(&pool(2), None).await;
        assert!(ok);
        assert_eq!(calls, vec![here]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_quick_read_that_would_wait_for_a_lock_goes_to_the_blocking_pool() {
        let here = std::thread::current().id();
        let (calls, ok) = run(&pool(2), Some(busy)).await;
        assert!(ok, "the retry on the blocking pool must succeed");
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0], here);
        assert_ne!(
            calls[1], here,
            "the retry must not run on the async runtime"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn other_errors_of_a_quick_read_are_not_retried() {
        fn corrupt() -> DbError {
            DbError::Store(StoreError::Unavailable("corrupt".to_owned()))
        }
        let (calls, ok) = run(&pool(2), Some(corrupt)).await;
        assert!(!ok);
        assert_eq!(calls.len(), 1);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn only_quick_reads_get_a_session_cache() {
        let with_cache = |pool: Pool| async move {
            pool.read_now(|_, cache| Ok(cache.is_some())).await.unwrap()
        };
        assert!(with_cache(pool(1)).await);
        assert!(!with_cache(pool(0)).await);
    }

    /// Repeated checks on one thread use one quick reader; when it is taken, the thread moves
    /// to a free one and keeps to that.
    #[allow(clippy::await_holding_lock)]
    #[tokio::test(flavor = "current_thread")]
    async fn a_thread_keeps_to_the_quick_reader_it_had() {
        let pool = pool(4);
        let address = |conn: &Connection| std::ptr::from_ref(conn) as usize;
        let which = || pool.read_now(move |conn, _| Ok(address(conn)));
        let first = which().await.unwrap();
        for _ in 0..5 {
            assert_eq!(which().await.unwrap(), first);
        }
        let taken = pool
            .quick
            .iter()
            .map(|reader| reader.lock().unwrap())
            .find(|reader| address(&reader.conn) == first)
            .unwrap();
        let second = which().await.unwrap();
        assert_ne!(second, first);
        drop(taken);
        for _ in 0..5 {
            assert_eq!(which().await.unwrap(), second);
        }
    }

    // Holding the only quick reader across the read is the point: it must fall back to the
    // pool, which never touches that lock.
    #[allow(clippy::await_holding_lock)]
    #[tokio::test(flavor = "current_thread")]
    async fn without_quick_readers_or_with_all_taken_reads_use_the_blocking_pool() {
        let here = std::thread::current().id();
        let (calls, ok) = run(&pool(0), None).await;
        assert!(ok);
        assert_ne!(calls, vec![here]);

        let pool = pool(1);
        let taken = pool.quick.first().unwrap().lock().unwrap();
        let (calls, ok) = run(&pool, None).await;
        drop(taken);
        assert!(ok);
        assert_ne!(calls, vec![here]);
    }
}
