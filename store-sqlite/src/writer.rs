//! The writer: owns the writer connection and commits the queued writes in groups (group
//! commit).
//!
//! # Group commit
//! At `synchronous = FULL` a commit costs an fsync, far more than the write itself (one small
//! indexed statement). Committing every write on its own therefore caps writes at one fsync
//! each, whatever the load. Here a write is put in a queue; the drainer takes the first write
//! it finds, then everything else already queued (at most [`MAX_BATCH`]), runs them all in
//! ONE `BEGIN IMMEDIATE` … `COMMIT`, and only then answers each caller. While it commits
//! (fsyncs), the next writes queue up and become the next batch. There is no waiting for more
//! writes: a lone write runs as soon as the writer is free, so a quiet store commits each
//! write at once, as before, and a busy one pays one fsync per batch.
//!
//! What each write sees and gets:
//! * **Nothing is acknowledged before its commit.** A write's result waits until the `COMMIT`
//!   of its batch has returned. If `BEGIN` or `COMMIT` fails, or the database file was deleted
//!   or replaced (the [`FileIdentity`] check, made right before `COMMIT`), the batch is rolled
//!   back and every write in it gets [`StoreError::Unavailable`], including the ones whose own
//!   answer was an error: that answer was decided on a state that was never committed.
//! * **Writes are isolated.** Each runs inside its own `SAVEPOINT`; a write that returns an
//!   error (an I/O error, or a domain answer such as a conflict) or panics is rolled back to
//!   its savepoint and answered with its error, and the others of the batch keep their effects
//!   and answers. A write sees the effects of the writes queued before it (queue order is
//!   execution order), exactly as if each had committed on its own.
//! * **A transaction SQLite rolls back by itself** (after an I/O error or an interrupt inside
//!   a statement) takes the earlier writes of the batch with it: those and the failing one are
//!   answered `Unavailable`, and the writes after it run in a new transaction.
//! * **Writes that need their own transaction** (the purges: `transaction_with_behavior`)
//!   are queued like the others but run alone, between two batches, in queue order.
//! * A write whose caller stopped waiting (its future was dropped) before the drainer took it
//!   is skipped, as one still waiting for the old writer mutex was.
//!
//! Compare-and-set semantics are unchanged: every write still runs while this connection holds
//! the file's write lock (from `BEGIN IMMEDIATE`), so no other connection or process can
//! interleave with a batch, and within a batch the writes run one after another.
//!
//! # Who drains: a task on tokio's blocking pool
//! The connection sits in the queue's state while nobody writes. The write that finds it
//! there takes it and starts a drain on tokio's blocking pool, which loops "take what is
//! queued, run, commit, answer" and puts the connection back, under the queue's lock, once
//! the queue is empty; the writes queued meanwhile only wait for their answer (a `oneshot`).
//! So a write costs one trip to the blocking pool when the store was idle and none when
//! it was busy, the async runtime never runs SQLite, and there is no thread of ours to
//! start, stop or watch; without a tokio runtime the drain runs in place (as reads do). A
//! drain that cannot finish (it panicked outside a write, or the runtime dropped it unrun
//! while shutting down) puts the connection back and drops the queued writes, whose callers
//! get `Unavailable` instead of waiting forever.
//!
//! A dedicated writer thread fed by a channel was built and measured first: same batching,
//! same throughput under load, but under light load each read then had to wake a
//! blocking-pool thread that writes no longer kept busy. One write then one read, in a loop
//! at `synchronous = FULL` (`examples/write_latency.rs`, five alternating runs on this
//! project's shared 2-CPU machine, medians of the runs' medians): before group commit a
//! write took 216 µs and a read 31 µs; with the thread 240 µs and 34 µs (48 µs in some runs);
//! with this drain 248 µs and 32 µs. A lone write pays for `BEGIN`, a savepoint and `COMMIT`
//! around it, and the handoff; both are small next to the fsync.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use auth_core::StoreError;
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::DbResult;
use crate::pool::FileIdentity;

/// Writes in one transaction at most. A write is one small indexed statement (a few to a few
/// tens of microseconds), so a full batch runs in a few milliseconds, about one fsync: the
/// first write of a batch waits at most that long longer than it would alone, and the WAL
/// grows by at most a few hundred pages per commit. Beyond a few hundred, larger batches
/// would save nothing measurable (the fsync is already shared by hundreds) and only add
/// latency. Under lighter load batches are smaller by themselves (whatever queued during one
/// commit).
pub(crate) const MAX_BATCH: usize = 256;

/// The handle the pool keeps: queues writes and starts a drain when none runs.
#[derive(Debug)]
pub(crate) struct Writer {
    shared: Arc<Shared>,
}

/// The queue and, while no drain runs, the connection.
#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
}

struct State {
    jobs: VecDeque<Job>,
    /// The connection and what goes with it; `None` while a drain has it.
    idle: Option<Worker>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("queued", &self.jobs.len())
            .field("draining", &self.idle.is_none())
            .finish()
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Writer {
    /// A writer on `conn`; `file` is checked before every commit.
    pub(crate) fn new(conn: Connection, file: Option<Arc<FileIdentity>>) -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    jobs: VecDeque::new(),
                    idle: Some(Worker { conn, file }),
                }),
            }),
        }
    }

    /// Runs `f` in the next batch (see the module docs); its result once the batch committed.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> DbResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Batched(Box::new(Pending {
            f: Some(f),
            result: None,
            reply,
        })))?;
        receive(answer).await
    }

    /// Runs `f` alone, outside any batch and with no transaction open: for writes that run
    /// their own (`transaction_with_behavior`). `file` is checked before it runs.
    pub(crate) async fn write_alone<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> DbResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = move |conn: &mut Connection, file: Option<&FileIdentity>| {
            if reply.is_closed() {
                return;
            }
            let result = file
                .map_or(Ok(()), FileIdentity::check)
                .and_then(|()| f(conn));
            let _ = reply.send(result.map_err(StoreError::from));
        };
        self.send(Job::Alone(Box::new(job)))?;
        receive(answer).await
    }

    /// Writes queued and not yet taken by a drain.
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        self.shared.state().jobs.len()
    }

    /// Queues `job`; starts a drain when none runs.
    fn send(&self, job: Job) -> Result<(), StoreError> {
        let idle = {
            let mut state = self.shared.state();
            state.jobs.push_back(job);
            state.idle.take()
        };
        if let Some(worker) = idle {
            let drain = Drain {
                shared: Arc::clone(&self.shared),
                worker: Some(worker),
            };
            match tokio::runtime::Handle::try_current() {
                // Dropping the handle detaches the task; a drain never fails.
                Ok(runtime) => drop(runtime.spawn_blocking(move || drain.run())),
                Err(_) => drain.run(),
            }
        }
        Ok(())
    }
}

/// The answer of the drain; it only goes away without one if the drain could not finish.
async fn receive<T>(answer: oneshot::Receiver<Result<T, StoreError>>) -> Result<T, StoreError> {
    answer.await.unwrap_or_else(|_| {
        Err(StoreError::Unavailable(
            "sqlite: the write was dropped unanswered (the writer stopped)".to_owned(),
        ))
    })
}

/// A write that runs alone, given the file to check first; it answers its caller itself.
type AloneJob = Box<dyn FnOnce(&mut Connection, Option<&FileIdentity>) + Send>;

/// What is queued for the drain.
enum Job {
    /// A write for the next batch.
    Batched(Box<dyn Write>),
    /// A write that runs alone, with the file to check first; it answers by itself.
    Alone(AloneJob),
}

/// A queued batched write, its result type erased.
trait Write: Send {
    /// Whether the caller stopped waiting for the answer.
    fn abandoned(&self) -> bool;
    /// Runs the write; its error, when it failed (the result is kept for [`Write::answer`]).
    fn run(&mut self, conn: &Connection) -> Result<(), StoreError>;
    /// Answers the caller: the write's own result when its batch committed (`Ok`), else the
    /// batch's error.
    fn answer(self: Box<Self>, committed: Result<(), StoreError>);
}

struct Pending<T, F> {
    f: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Write for Pending<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> DbResult<T> + Send,
{
    fn abandoned(&self) -> bool {
        self.reply.is_closed()
    }

    fn run(&mut self, conn: &Connection) -> Result<(), StoreError> {
        let Some(f) = self.f.take() else {
            return Err(unavailable_store("a write ran twice".to_owned()));
        };
        let result = f(conn).map_err(StoreError::from);
        let outcome = result.as_ref().map(|_| ()).map_err(Clone::clone);
        self.result = Some(result);
        outcome
    }

    fn answer(self: Box<Self>, committed: Result<(), StoreError>) {
        let answer = match (committed, self.result) {
            (Err(e), _) => Err(e),
            (Ok(()), Some(result)) => result,
            // It panicked: nothing of it is left, and the caller must not hang.
            (Ok(()), None) => Err(unavailable_store("a write failed (panicked)".to_owned())),
        };
        let _ = self.reply.send(answer);
    }
}

/// A running drain: it has the connection until the queue is empty.
struct Drain {
    shared: Arc<Shared>,
    /// `None` once handed back.
    worker: Option<Worker>,
}

impl Drain {
    /// Until the queue is empty: take the first queued write, then whatever else is queued
    /// (up to [`MAX_BATCH`], stopping before a write that runs alone), run them as a batch;
    /// then hand the connection back (under the queue's lock, so a write queued at that
    /// moment either is taken here or finds the connection idle and starts the next drain).
    fn run(mut self) {
        loop {
            let next = {
                let mut state = self.shared.state();
                let next = take_next(&mut state.jobs);
                if next.is_none() {
                    state.idle = self.worker.take();
                    return;
                }
                next
            };
            let Some(worker) = self.worker.as_mut() else {
                return;
            };
            match next {
                Some(Next::Alone(job)) => worker.alone(job),
                Some(Next::Batch(mut batch)) => {
                    batch.retain(|write| !write.abandoned());
                    while !batch.is_empty() {
                        worker.transaction(&mut batch);
                    }
                }
                None => {}
            }
        }
    }
}

impl Drop for Drain {
    /// Only when the drain did not finish (a panic outside a write, or a runtime that dropped
    /// the task unrun): the connection goes back, and the queued writes are dropped so their
    /// callers get `Unavailable` rather than wait for a drain nobody will start.
    fn drop(&mut self) {
        if let Some(mut worker) = self.worker.take() {
            worker.rollback();
            let mut state = self.shared.state();
            state.jobs.clear();
            state.idle = Some(worker);
        }
    }
}

/// What a drain takes next from the queue.
enum Next {
    Batch(VecDeque<Box<dyn Write>>),
    Alone(AloneJob),
}

/// The first queued write that runs alone, or the batched writes at the front of the queue
/// (at most [`MAX_BATCH`]); `None` when the queue is empty.
fn take_next(jobs: &mut VecDeque<Job>) -> Option<Next> {
    if let Some(Job::Alone(_)) = jobs.front()
        && let Some(Job::Alone(job)) = jobs.pop_front()
    {
        return Some(Next::Alone(job));
    }
    let mut batch = VecDeque::new();
    while batch.len() < MAX_BATCH && matches!(jobs.front(), Some(Job::Batched(_))) {
        if let Some(Job::Batched(write)) = jobs.pop_front() {
            batch.push_back(write);
        }
    }
    (!batch.is_empty()).then_some(Next::Batch(batch))
}

/// The writer connection and the file it must still be on.
struct Worker {
    conn: Connection,
    file: Option<Arc<FileIdentity>>,
}

impl Worker {
    fn alone(&mut self, job: AloneJob) {
        let file = self.file.as_deref();
        let conn = &mut self.conn;
        if catch_unwind(AssertUnwindSafe(|| job(conn, file))).is_err() {
            tracing::error!("store-sqlite: a write panicked");
        }
        self.rollback();
    }

    /// Runs writes from the front of `writes` in one transaction and answers them once it has
    /// committed or failed. Returns early, leaving the writes not run yet, when SQLite rolled
    /// the transaction back by itself.
    fn transaction(&mut self, writes: &mut VecDeque<Box<dyn Write>>) {
        self.rollback();
        if let Err(e) = self.exec("BEGIN IMMEDIATE") {
            let e = StoreError::from(e);
            for write in writes.drain(..) {
                write.answer(Err(e.clone()));
            }
            return;
        }
        let mut ran = Vec::with_capacity(writes.len());
        while let Some(mut write) = writes.pop_front() {
            let isolated = self.isolated(&mut *write);
            ran.push(write);
            if let Err(lost) = isolated {
                tracing::warn!(error = %lost, writes = ran.len(), "store-sqlite: a batch of writes was rolled back");
                self.rollback();
                for write in ran {
                    write.answer(Err(lost.clone()));
                }
                return;
            }
        }
        let committed = self.commit();
        for write in ran {
            write.answer(committed.clone());
        }
    }

    /// Runs one write inside its own savepoint, rolled back to it when the write fails. `Err`
    /// when the transaction as a whole is lost (SQLite rolled it back, or a savepoint
    /// statement failed).
    fn isolated(&mut self, write: &mut dyn Write) -> Result<(), StoreError> {
        let lost = |why: String| unavailable_store(format!("the transaction was lost: {why}"));
        self.exec("SAVEPOINT w")
            .map_err(|e| lost(StoreError::from(e).to_string()))?;
        let conn = &self.conn;
        let outcome = match catch_unwind(AssertUnwindSafe(|| write.run(conn))) {
            Ok(outcome) => outcome,
            Err(_) => {
                tracing::error!("store-sqlite: a write panicked");
                Err(unavailable_store("a write panicked".to_owned()))
            }
        };
        if self.conn.is_autocommit() {
            let why = match outcome {
                Err(e) => e.to_string(),
                Ok(()) => "the transaction ended inside a write".to_owned(),
            };
            return Err(lost(why));
        }
        if outcome.is_err() {
            self.exec("ROLLBACK TO w")
                .map_err(|e| lost(StoreError::from(e).to_string()))?;
        }
        self.exec("RELEASE w")
            .map_err(|e| lost(StoreError::from(e).to_string()))
    }

    /// Checks the file, then commits; on any failure the transaction is rolled back.
    fn commit(&mut self) -> Result<(), StoreError> {
        let checked = self.file.as_deref().map_or(Ok(()), FileIdentity::check);
        match checked.and_then(|()| self.exec("COMMIT")) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.rollback();
                Err(StoreError::from(e))
            }
        }
    }

    /// Rolls back the open transaction, if any (after a failure, or one a write left open).
    fn rollback(&mut self) {
        if self.conn.is_autocommit() {
            return;
        }
        if let Err(e) = self.exec("ROLLBACK") {
            tracing::error!(error = %StoreError::from(e), "store-sqlite: ROLLBACK failed");
        }
    }

    fn exec(&self, sql: &str) -> DbResult<()> {
        let _ = self.conn.prepare_cached(sql)?.execute([])?;
        Ok(())
    }
}

fn unavailable_store(message: String) -> StoreError {
    StoreError::Unavailable(format!("sqlite: {message}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::path::PathBuf;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use auth_core::store::UniqueField;
    use rusqlite::TransactionBehavior;

    use super::*;
    use crate::error::DbError;

    /// A writer on a fresh WAL file with table `t`, whose commits a commit hook counts (or
    /// vetoes, which makes `COMMIT` fail and roll back), and whose statements a progress
    /// handler interrupts on demand (SQLite then rolls back the whole transaction).
    struct Setup {
        writer: Arc<Writer>,
        commits: Arc<AtomicUsize>,
        veto: Arc<AtomicBool>,
        interrupt: Arc<AtomicBool>,
        path: PathBuf,
        _dir: tempfile::TempDir,
    }

    fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
             CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL) STRICT;",
        )
        .unwrap();
        let commits = Arc::new(AtomicUsize::new(0));
        let veto = Arc::new(AtomicBool::new(false));
        let interrupt = Arc::new(AtomicBool::new(false));
        let (c, v, i) = (commits.clone(), veto.clone(), interrupt.clone());
        conn.commit_hook(Some(move || {
            if v.load(Ordering::SeqCst) {
                return true;
            }
            let _ = c.fetch_add(1, Ordering::SeqCst);
            false
        }))
        .unwrap();
        conn.progress_handler(1, Some(move || i.load(Ordering::SeqCst)))
            .unwrap();
        let file = Arc::new(FileIdentity::of(path.clone()).unwrap());
        Setup {
            writer: Arc::new(Writer::new(conn, Some(file))),
            commits,
            veto,
            interrupt,
            path,
            _dir: dir,
        }
    }

    type Answer<T> = tokio::task::JoinHandle<Result<T, StoreError>>;

    impl Setup {
        /// Occupies the writer thread with a write that waits until the returned sender is
        /// used (or dropped), so the writes queued meanwhile form one batch.
        async fn hold(&self) -> (Answer<()>, std::sync::mpsc::Sender<()>) {
            let (open, gate) = std::sync::mpsc::channel::<()>();
            let (started, running) = oneshot::channel();
            let held = self.spawn(move |_| {
                let _ = started.send(());
                let _ = gate.recv();
                Ok(())
            });
            running.await.unwrap();
            (held, open)
        }

        /// Queues `f` from a task of its own, and waits until it is queued (so writes
        /// queued one after another keep their order).
        async fn queue<T, F>(&self, f: F) -> Answer<T>
        where
            T: Send + 'static,
            F: FnOnce(&Connection) -> DbResult<T> + Send + 'static,
        {
            let before = self.writer.queued();
            let answer = self.spawn(f);
            self.until(|| self.writer.queued() > before).await;
            answer
        }

        fn spawn<T, F>(&self, f: F) -> Answer<T>
        where
            T: Send + 'static,
            F: FnOnce(&Connection) -> DbResult<T> + Send + 'static,
        {
            let writer = Arc::clone(&self.writer);
            tokio::spawn(async move { writer.write(f).await })
        }

        async fn until(&self, done: impl Fn() -> bool) {
            let deadline = Instant::now() + Duration::from_secs(10);
            while !done() {
                assert!(Instant::now() < deadline, "timed out");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }

        fn commits(&self) -> usize {
            self.commits.load(Ordering::SeqCst)
        }

        /// The keys in the file, read by another connection.
        fn keys(&self) -> Vec<i64> {
            let conn = Connection::open(&self.path).unwrap();
            let mut stmt = conn.prepare("SELECT k FROM t ORDER BY k").unwrap();
            stmt.query_map([], |row| row.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        }
    }

    fn insert(k: i64) -> impl FnOnce(&Connection) -> DbResult<usize> + Send + 'static {
        move |conn| Ok(conn.execute("INSERT INTO t (k, v) VALUES (?1, 'x')", [k])?)
    }

    fn count(conn: &Connection) -> DbResult<i64> {
        Ok(conn.query_row("SELECT count(*) FROM t", [], |row| row.get(0))?)
    }

    fn is_unavailable<T: std::fmt::Debug>(result: Result<T, StoreError>) -> String {
        match result {
            Err(StoreError::Unavailable(message)) => message,
            other => panic!("expected Err(Unavailable), got {other:?}"),
        }
    }

    /// Writes queued while the writer is busy are committed together: one commit per batch,
    /// at most `MAX_BATCH` writes each, every write answered and in the file.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_share_commits_in_bounded_batches() {
        let s = setup();
        let writes = MAX_BATCH + 44;
        let (held, open) = s.hold().await;
        let answers: Vec<_> = (0..writes)
            .map(|k| s.spawn(insert(i64::try_from(k).unwrap())))
            .collect();
        s.until(|| s.writer.queued() == writes).await;
        assert_eq!(s.commits(), 0);
        drop(open);
        held.await.unwrap().unwrap();
        for answer in answers {
            assert_eq!(answer.await.unwrap().unwrap(), 1);
        }
        // The held write alone, then MAX_BATCH, then the 44 left.
        assert_eq!(s.commits(), 3, "{writes} writes + 1 in 3 commits");
        assert_eq!(s.keys().len(), writes);
    }

    /// A write that fails is rolled back to its savepoint; the others of its batch keep their
    /// effects and answers, and each sees the writes queued before it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_write_leaves_the_rest_of_its_batch_committed() {
        let s = setup();
        let (held, open) = s.hold().await;
        let first = s.queue(insert(1)).await;
        let conflict = s
            .queue(|conn| {
                let _ = insert(2)(conn)?;
                Err::<(), _>(DbError::Store(StoreError::Conflict(UniqueField::Id)))
            })
            .await;
        let duplicate = s.queue(insert(1)).await;
        let seen = s.queue(count).await;
        let last = s.queue(insert(5)).await;
        drop(open);
        held.await.unwrap().unwrap();

        assert_eq!(first.await.unwrap(), Ok(1));
        assert_eq!(
            conflict.await.unwrap(),
            Err(StoreError::Conflict(UniqueField::Id))
        );
        let message = is_unavailable(duplicate.await.unwrap());
        assert!(message.contains("UNIQUE"), "{message}");
        assert_eq!(seen.await.unwrap(), Ok(1), "sees 1, not the rolled-back 2");
        assert_eq!(last.await.unwrap(), Ok(1));
        assert_eq!(s.commits(), 2, "the held write, then one batch");
        assert_eq!(s.keys(), vec![1, 5]);
    }

    /// A write that panics is answered `Unavailable`; the others are unaffected.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_write_is_unavailable_and_isolated() {
        let s = setup();
        let (held, open) = s.hold().await;
        let first = s.queue(insert(1)).await;
        let panics = s
            .queue(|conn| {
                let _ = insert(2)(conn)?;
                panic!("a bug in a write");
            })
            .await;
        let last = s.queue(insert(3)).await;
        drop(open);
        held.await.unwrap().unwrap();
        assert_eq!(first.await.unwrap(), Ok(1));
        let _: String = is_unavailable::<()>(panics.await.unwrap());
        assert_eq!(last.await.unwrap(), Ok(1));
        assert_eq!(s.keys(), vec![1, 3]);
    }

    /// When COMMIT fails, no write of the batch is acknowledged, not even one whose own
    /// answer was an error, and nothing of it is in the file; the writer then recovers.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_commit_fails_every_write_of_the_batch() {
        let s = setup();
        let (held, open) = s.hold().await;
        let answers = [
            s.queue(insert(1)).await,
            s.queue(insert(2)).await,
            s.queue(|_| Err(DbError::Store(StoreError::Conflict(UniqueField::Phone))))
                .await,
        ];
        s.veto.store(true, Ordering::SeqCst);
        drop(open);
        let _ = is_unavailable(held.await.unwrap());
        for answer in answers {
            let _ = is_unavailable(answer.await.unwrap());
        }
        assert_eq!(s.keys(), Vec::<i64>::new());

        s.veto.store(false, Ordering::SeqCst);
        assert_eq!(s.spawn(insert(3)).await.unwrap(), Ok(1));
        assert_eq!(s.keys(), vec![3]);
    }

    /// SQLite rolling the whole transaction back by itself (here an interrupted statement)
    /// takes the earlier writes of the batch with it: they are answered `Unavailable`, and the
    /// writes after it commit in a new transaction.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_transaction_sqlite_rolled_back_fails_its_writes_and_the_rest_run_anew() {
        let s = setup();
        let (held, open) = s.hold().await;
        let before = s.queue(insert(1)).await;
        let interrupt = s.interrupt.clone();
        let interrupted = s
            .queue(move |conn| {
                interrupt.store(true, Ordering::SeqCst);
                let result = insert(2)(conn);
                interrupt.store(false, Ordering::SeqCst);
                result
            })
            .await;
        let after = s.queue(insert(3)).await;
        drop(open);
        held.await.unwrap().unwrap();
        let message = is_unavailable(before.await.unwrap());
        assert!(message.contains("lost"), "{message}");
        let _ = is_unavailable(interrupted.await.unwrap());
        assert_eq!(after.await.unwrap(), Ok(1));
        assert_eq!(s.keys(), vec![3]);
        assert_eq!(s.commits(), 2, "the held write, then the write after");
    }

    /// A write that runs its own transaction runs alone, in queue order between batches.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_with_its_own_transaction_runs_alone_in_order() {
        let s = setup();
        let (held, open) = s.hold().await;
        let first = s.queue(insert(1)).await;
        let writer = Arc::clone(&s.writer);
        let alone = tokio::spawn(async move {
            writer
                .write_alone(|conn| {
                    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                    let seen = count(&tx)?;
                    let _ = insert(2)(&tx)?;
                    tx.commit()?;
                    Ok(seen)
                })
                .await
        });
        s.until(|| s.writer.queued() == 2).await;
        let last = s.queue(count).await;
        drop(open);
        held.await.unwrap().unwrap();
        assert_eq!(first.await.unwrap(), Ok(1));
        assert_eq!(alone.await.unwrap(), Ok(1), "after the first write");
        assert_eq!(last.await.unwrap(), Ok(2), "after the lone write");
        assert_eq!(s.commits(), 4, "held, [first], alone, [last]");
        assert_eq!(s.keys(), vec![1, 2]);
    }

    /// The file check runs before the commit: writes queued when the file was deleted are not
    /// acknowledged.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_on_a_deleted_file_are_not_acknowledged() {
        let s = setup();
        let (held, open) = s.hold().await;
        let write = s.queue(insert(1)).await;
        std::fs::remove_file(&s.path).unwrap();
        drop(open);
        let _ = is_unavailable(held.await.unwrap());
        let message = is_unavailable(write.await.unwrap());
        assert!(message.contains("is gone"), "{message}");
    }

    /// A write whose caller stopped waiting before the writer took it does not run.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_nobody_waits_for_is_skipped() {
        let s = setup();
        let (held, open) = s.hold().await;
        let dropped = s.queue(insert(1)).await;
        dropped.abort();
        let _ = dropped.await;
        let kept = s.queue(insert(2)).await;
        drop(open);
        held.await.unwrap().unwrap();
        assert_eq!(kept.await.unwrap(), Ok(1));
        assert_eq!(s.keys(), vec![2]);
    }

    /// Without a tokio runtime the drain runs in place: the write is done when first polled.
    #[test]
    fn without_a_runtime_a_write_runs_in_place() {
        let s = setup();
        let mut write = std::pin::pin!(s.writer.write(insert(1)));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert_eq!(write.as_mut().poll(&mut cx), std::task::Poll::Ready(Ok(1)));
        assert_eq!(s.keys(), vec![1]);
    }

    /// A drain that never ran (a runtime shutting down drops it) hands the connection back
    /// and drops the queued writes, whose callers get `Unavailable` instead of waiting.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_drain_dropped_unrun_fails_the_queued_writes_and_the_next_write_works() {
        let s = setup();
        let worker = s.writer.shared.state().idle.take().unwrap();
        let stranded = s.queue(insert(1)).await;
        drop(Drain {
            shared: Arc::clone(&s.writer.shared),
            worker: Some(worker),
        });
        let message = is_unavailable(stranded.await.unwrap());
        assert!(message.contains("unanswered"), "{message}");
        assert_eq!(s.spawn(insert(2)).await.unwrap(), Ok(1));
        assert_eq!(s.keys(), vec![2]);
    }
}
