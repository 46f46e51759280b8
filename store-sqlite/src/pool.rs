//! The connections and how calls reach them without blocking the async runtime.
//!
//! # Design
//! SQLite calls block (disk I/O, fsync, waiting on another process's lock), so every call runs
//! on tokio's blocking pool via [`tokio::task::spawn_blocking`]; the async side only waits.
//!
//! * **One writer connection** behind an async mutex. SQLite admits one writer per file at a
//!   time anyway; queueing this process's writers on a fair async mutex (instead of letting
//!   several connections race for the file lock) means they wait without polling and without
//!   holding a blocking thread, and a blocking thread is taken only once the writer is ours.
//!   Every write is one statement or one `BEGIN IMMEDIATE` transaction on it.
//! * **A few reader connections** (`PRAGMA query_only`), handed out by a semaphore. In WAL
//!   mode readers never block the writer nor each other, so the hot path (`authenticate`
//!   reads a session per request) does not queue behind writes.
//! * **Other processes** (or a second `SqliteStore` on the same file) are ordinary SQLite
//!   clients: WAL plus `busy_timeout` make them wait for the file's write lock, and since every
//!   compare-and-set is a single conditional statement or an immediate transaction, the
//!   invariants hold across them too.
//!
//! An in-memory database exists only inside its connection, so an in-memory store has just
//! the writer and sends reads through it.
//!
//! A dedicated writer thread fed by a channel would work as well; the blocking pool was chosen
//! because it needs no thread of ours to start, stop or watch, and a store dropped at shutdown
//! simply closes its connections.

use std::path::PathBuf;
use std::sync::{Arc, Mutex as StdMutex, PoisonError};

use auth_core::StoreError;
use rusqlite::Connection;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};

use crate::error::{DbError, DbResult};

/// The connections of one store.
#[derive(Debug)]
pub(crate) struct Pool {
    writer: Arc<Mutex<Connection>>,
    readers: Option<Arc<Readers>>,
    file: Option<Arc<FileIdentity>>,
}

impl Pool {
    /// A pool over an opened writer, optional readers and the file they are on.
    pub(crate) fn new(
        writer: Connection,
        readers: Vec<Connection>,
        file: Option<FileIdentity>,
    ) -> Self {
        let readers = (!readers.is_empty()).then(|| {
            Arc::new(Readers {
                permits: Arc::new(Semaphore::new(readers.len())),
                idle: StdMutex::new(readers),
            })
        });
        Self {
            writer: Arc::new(Mutex::new(writer)),
            readers,
            file: file.map(Arc::new),
        }
    }

    /// Runs `f` on the writer connection, on the blocking pool.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> DbResult<T> + Send + 'static,
    {
        let mut conn = Arc::clone(&self.writer).lock_owned().await;
        let file = self.file.clone();
        blocking(move || {
            if let Some(file) = &file {
                file.check()?;
            }
            f(&mut conn)
        })
        .await
    }

    /// Runs `f` on a reader connection (the writer when there are none), on the blocking pool.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> DbResult<T> + Send + 'static,
    {
        let Some(readers) = &self.readers else {
            return self.write(move |conn| f(conn)).await;
        };
        let lease = Arc::clone(readers).lease().await?;
        let file = self.file.clone();
        blocking(move || {
            if let Some(file) = &file {
                file.check()?;
            }
            f(lease.conn()?)
        })
        .await
    }
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
#[derive(Debug)]
pub(crate) struct FileIdentity {
    path: PathBuf,
    #[cfg(unix)]
    dev_ino: (u64, u64),
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
        })
    }

    /// Fails when the file is gone or another file now has its name.
    fn check(&self) -> DbResult<()> {
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
        Ok(())
    }
}
