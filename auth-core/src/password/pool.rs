//! The password hashing pool: argon2 runs on threads of its own, at a lower OS priority,
//! behind a bounded queue.
//!
//! * Threads: [`PasswordConfig::max_concurrent_hashes`](crate::config::PasswordConfig), named
//!   `auth-argon2-<n>`, all started by the first job (an `Auth` that never hashes starts none,
//!   and no runtime is needed to build one). Each lowers its own scheduling priority when it
//!   starts (nice +10 on Linux, relative to the process), so the runtime's threads, which
//!   answer every other request, win the CPU whenever both want it. A failure to lower it is
//!   logged once per process at warn and is not fatal.
//! * Not tokio's blocking pool: its threads also run the stores' blocking I/O (SQLite), it
//!   grows to hundreds of threads, and its waiters (before, behind a semaphore) queued without
//!   bound.
//! * Admission: a job needs a [`Ticket`], taken at once or refused; at most `threads +
//!   max_queued_hashes` exist at a time (running and queued jobs together). None left:
//!   `rate_limited` with a `Retry-After` of [`RETRY_AFTER`], answered before anything else
//!   is done for the request.
//! * Cancellation: a job whose caller is gone (the request future was dropped) is skipped
//!   when a thread reaches it; a running job finishes and its result is dropped.
//! * Shutdown: when the last handle is dropped (the last clone of `Auth`), queued jobs are
//!   dropped and every thread exits after the job it is running.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError, oneshot};

use crate::AuthError;

/// The `Retry-After` of a request refused because the pool's queue is full: a queued hash
/// waits a few hash times (tens of milliseconds each), so a second is ample.
pub(crate) const RETRY_AFTER: Duration = Duration::from_secs(1);

/// How much the hashing threads lower their priority: their nice value is the process's
/// plus this (capped at 19). At +10 a busy hashing thread gets about a tenth of the CPU time
/// of a busy thread at the process's priority, and is preempted as soon as one wakes.
const NICE_INCREMENT: i32 = 10;

/// The prefix of the threads' names (`auth-argon2-0`, `auth-argon2-1`, ...).
const THREAD_NAME: &str = "auth-argon2";

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A pool of hashing threads with a bounded queue; see the module docs. Dropping it stops
/// its threads.
pub(crate) struct HashPool {
    shared: Arc<Shared>,
    /// One permit per job admitted and not yet finished (running or queued).
    tickets: Arc<Semaphore>,
    /// Jobs skipped because their caller was gone, for the tests.
    skipped: Arc<AtomicU64>,
}

/// What the threads share with the pool.
struct Shared {
    state: Mutex<State>,
    /// Signalled when a job is queued and at shutdown.
    wake: Condvar,
    /// The number of threads to run.
    threads: usize,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    /// Threads started so far (all are started by the first job).
    started: usize,
    shutdown: bool,
}

/// The right to run one job on the pool, taken before the work of a request begins (a
/// password login takes it before it counts an attempt) and given back when the job ends.
#[derive(Debug)]
pub(crate) struct Ticket {
    /// Held for its `Drop`, which gives the slot back.
    _permit: OwnedSemaphorePermit,
}

impl std::fmt::Debug for HashPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashPool")
            .field("threads", &self.shared.threads)
            .field("free_slots", &self.tickets.available_permits())
            .finish()
    }
}

impl HashPool {
    /// A pool of `threads` threads (at least one) admitting `queued` jobs beyond the running
    /// ones. No thread starts before the first job.
    pub(crate) fn new(threads: usize, queued: usize) -> Self {
        let threads = threads.max(1);
        let capacity = threads.saturating_add(queued).min(Semaphore::MAX_PERMITS);
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                wake: Condvar::new(),
                threads,
            }),
            tickets: Arc::new(Semaphore::new(capacity)),
            skipped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A ticket for one job, or `rate_limited` at once when the threads and the queue are
    /// all taken.
    pub(crate) fn admit(&self) -> Result<Ticket, AuthError> {
        match Arc::clone(&self.tickets).try_acquire_owned() {
            Ok(permit) => Ok(Ticket { _permit: permit }),
            Err(TryAcquireError::NoPermits | TryAcquireError::Closed) => {
                tracing::debug!("password hashing queue full; request refused");
                Err(AuthError::RateLimited {
                    retry_after: RETRY_AFTER,
                })
            }
        }
    }

    /// Runs `work` on a pool thread under `ticket` and returns its result. Dropping the
    /// returned future before the job starts skips the job.
    pub(crate) async fn run<T, F>(&self, ticket: Ticket, work: F) -> Result<T, AuthError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let skipped = Arc::clone(&self.skipped);
        self.submit(Box::new(move || {
            if tx.is_closed() {
                drop(ticket);
                let _ = skipped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            let result = std::panic::catch_unwind(AssertUnwindSafe(work));
            // The slot is free before the caller hears back, so a caller that goes on to its
            // next job finds it free.
            drop(ticket);
            match result {
                Ok(value) => {
                    let _ = tx.send(value);
                }
                Err(_) => tracing::error!("a password hashing job panicked"),
            }
        }))?;
        rx.await.map_err(|_| {
            tracing::error!("a password hashing job ended without a result");
            AuthError::Internal
        })
    }

    /// Queues `job`, starting the threads on first use.
    fn submit(&self, job: Job) -> Result<(), AuthError> {
        let mut state = self.shared.lock();
        while state.started < self.shared.threads {
            let index = state.started;
            let shared = Arc::clone(&self.shared);
            let spawned = std::thread::Builder::new()
                .name(format!("{THREAD_NAME}-{index}"))
                .spawn(move || worker(&shared));
            match spawned {
                Ok(_) => state.started += 1,
                Err(error) => {
                    tracing::error!(%error, started = state.started, "starting a password hashing thread failed");
                    break;
                }
            }
        }
        if state.started == 0 {
            return Err(AuthError::Internal);
        }
        state.jobs.push_back(job);
        drop(state);
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Jobs skipped so far because their caller was gone.
    #[cfg(test)]
    pub(crate) fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// Fills every thread and every queue slot with a job that waits until the returned
    /// [`Saturation`] is released (or dropped), and returns once every thread runs one: until
    /// then every [`HashPool::admit`] is refused. For tests.
    #[cfg(any(test, feature = "testkit"))]
    pub(crate) async fn saturate(&self) -> Saturation {
        use std::sync::atomic::AtomicUsize;
        let latch = Arc::new((Mutex::new(false), Condvar::new()));
        let (running, ended) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut jobs = 0;
        while let Ok(ticket) = self.admit() {
            let (latch, running, ended) =
                (Arc::clone(&latch), Arc::clone(&running), Arc::clone(&ended));
            let queued = self.submit(Box::new(move || {
                let _ = running.fetch_add(1, Ordering::SeqCst);
                let (released, cvar) = &*latch;
                let mut released = released.lock().unwrap_or_else(PoisonError::into_inner);
                while !*released {
                    released = cvar.wait(released).unwrap_or_else(PoisonError::into_inner);
                }
                drop(released);
                drop(ticket);
                let _ = ended.fetch_add(1, Ordering::SeqCst);
            }));
            if queued.is_err() {
                break;
            }
            jobs += 1;
        }
        while running.load(Ordering::SeqCst) < self.shared.threads.min(jobs) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Saturation { latch, jobs, ended }
    }
}

/// Holds a saturated pool (see [`HashPool::saturate`]).
#[cfg(any(test, feature = "testkit"))]
#[derive(Debug)]
pub(crate) struct Saturation {
    latch: Arc<(Mutex<bool>, Condvar)>,
    /// The jobs it queued, and how many of them have ended (and given their slot back).
    jobs: usize,
    ended: Arc<std::sync::atomic::AtomicUsize>,
}

#[cfg(any(test, feature = "testkit"))]
impl Saturation {
    /// Lets the jobs end, and returns once all of them have given their slot back.
    pub(crate) async fn release(self) {
        self.open();
        while self.ended.load(Ordering::SeqCst) < self.jobs {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    fn open(&self) {
        let (released, cvar) = &*self.latch;
        *released.lock().unwrap_or_else(PoisonError::into_inner) = true;
        cvar.notify_all();
    }
}

#[cfg(any(test, feature = "testkit"))]
impl Drop for Saturation {
    fn drop(&mut self) {
        self.open();
    }
}

impl Drop for HashPool {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.shutdown = true;
        let queued = std::mem::take(&mut state.jobs);
        drop(state);
        // Dropped outside the lock: each drops its caller's channel and its ticket.
        drop(queued);
        self.shared.wake.notify_all();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A pool thread: lowers its priority, then runs jobs until shutdown.
fn worker(shared: &Shared) {
    lower_priority();
    let mut state = shared.lock();
    loop {
        if let Some(job) = state.jobs.pop_front() {
            drop(state);
            job();
            state = shared.lock();
        } else if state.shutdown {
            return;
        } else {
            state = shared
                .wake
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Set once the failure to lower a thread's priority has been logged.
static PRIORITY_WARNED: AtomicBool = AtomicBool::new(false);

fn warn_priority_once(reason: &dyn std::fmt::Display) {
    if !PRIORITY_WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            %reason,
            "password hashing threads run at the process's priority: lowering it failed"
        );
    }
}

/// Raises the calling thread's nice value by [`NICE_INCREMENT`] (at most to 19).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn lower_priority() {
    use rustix::process::{getpriority_process, setpriority_process};
    // On Linux `PRIO_PROCESS` with no pid names the calling thread, not the whole process.
    let lowered = getpriority_process(None)
        .and_then(|nice| setpriority_process(None, nice.saturating_add(NICE_INCREMENT).min(19)));
    if let Err(error) = lowered {
        warn_priority_once(&error);
    }
}

/// Elsewhere a process-wide call would lower the whole server: the threads keep their
/// priority, and say so once.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn lower_priority() {
    warn_priority_once(&"only implemented on Linux");
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Instant;

    use super::*;

    /// A gate the test opens; jobs wait at it.
    #[derive(Clone, Default)]
    struct Gate(Arc<(Mutex<bool>, Condvar)>);

    impl Gate {
        fn wait(&self) {
            let (open, cvar) = &*self.0;
            let mut open = open.lock().unwrap();
            while !*open {
                open = cvar.wait(open).unwrap();
            }
        }
        fn open(&self) {
            let (open, cvar) = &*self.0;
            *open.lock().unwrap() = true;
            cvar.notify_all();
        }
    }

    /// Polls `condition` for up to 10 s.
    async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !condition() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_more_jobs_run_at_once_than_there_are_threads() {
        const THREADS: usize = 3;
        const JOBS: usize = 12;
        let pool = Arc::new(HashPool::new(THREADS, JOBS));
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let gate = Gate::default();
        let jobs: Vec<_> = (0..JOBS)
            .map(|_| {
                let (pool, running, most, gate) = (
                    Arc::clone(&pool),
                    Arc::clone(&running),
                    Arc::clone(&most),
                    gate.clone(),
                );
                tokio::spawn(async move {
                    let ticket = pool.admit().unwrap();
                    pool.run(ticket, move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        let _ = most.fetch_max(now, Ordering::SeqCst);
                        gate.wait();
                        std::thread::sleep(Duration::from_millis(5));
                        let _ = running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        // Every thread takes a job and waits at the gate; no further job may start.
        eventually("every thread busy", || {
            running.load(Ordering::SeqCst) == THREADS
        })
        .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(running.load(Ordering::SeqCst), THREADS);
        gate.open();
        for job in jobs {
            job.await.unwrap().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), THREADS);
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_at_once_with_a_retry_after() {
        let pool = HashPool::new(1, 1);
        let gate = Gate::default();
        let started = Arc::new(AtomicBool::new(false));
        let (g, s) = (gate.clone(), Arc::clone(&started));
        let ticket = pool.admit().unwrap();
        let running = pool.run(ticket, move || {
            s.store(true, Ordering::SeqCst);
            g.wait();
        });
        let ticket = pool.admit().unwrap();
        let queued = pool.run(ticket, || 7);
        let refused = pool.admit().unwrap_err();
        assert_eq!(refused.code(), "rate_limited");
        assert_eq!(refused.status(), 429);
        assert_eq!(refused.retry_after_secs(), Some(1));
        let (running, queued, _) = tokio::join!(running, queued, async {
            eventually("the first job running", || started.load(Ordering::SeqCst)).await;
            assert!(pool.admit().is_err(), "still full while the first job runs");
            gate.open();
        });
        assert_eq!((running, queued), (Ok(()), Ok(7)));
        // Both slots are free again.
        let (a, b) = (pool.admit().unwrap(), pool.admit().unwrap());
        drop((a, b));
    }

    #[tokio::test]
    async fn no_queue_beyond_the_running_jobs_when_queued_is_zero() {
        let pool = HashPool::new(2, 0);
        let held = (pool.admit().unwrap(), pool.admit().unwrap());
        assert!(matches!(
            pool.admit(),
            Err(AuthError::RateLimited { retry_after }) if retry_after == RETRY_AFTER
        ));
        drop(held);
        // A job run to completion gives its slot back before its caller hears of it.
        for _ in 0..20 {
            let ticket = pool.admit().unwrap();
            assert_eq!(pool.run(ticket, || 1).await, Ok(1));
            let (a, b) = (pool.admit().unwrap(), pool.admit().unwrap());
            drop((a, b));
        }
    }

    #[tokio::test]
    async fn a_job_whose_caller_is_gone_is_skipped() {
        let pool = HashPool::new(1, 4);
        let gate = Gate::default();
        let started = Arc::new(AtomicBool::new(false));
        let (g, s) = (gate.clone(), Arc::clone(&started));
        let blocker = pool.run(pool.admit().unwrap(), move || {
            s.store(true, Ordering::SeqCst);
            g.wait();
        });
        let ran = Arc::new(AtomicBool::new(false));
        let r = Arc::clone(&ran);
        let mut dropped = Box::pin(pool.run(pool.admit().unwrap(), move || {
            r.store(true, Ordering::SeqCst);
        }));
        let ((), ()) = tokio::join!(
            async {
                blocker.await.unwrap();
            },
            async {
                eventually("the blocker running", || started.load(Ordering::SeqCst)).await;
                // Polled once, so the job is queued behind the blocker; then dropped.
                assert!(futures_poll_once(dropped.as_mut()).await.is_none());
                drop(dropped);
                gate.open();
            }
        );
        // A later job runs after the skipped one: by then the skipped one was reached.
        assert_eq!(pool.run(pool.admit().unwrap(), || 1).await, Ok(1));
        assert!(!ran.load(Ordering::SeqCst), "the dropped job ran");
        assert_eq!(pool.skipped(), 1);
        // Its slot came back: 1 thread + 4 queued.
        let all: Vec<_> = (0..5).map(|_| pool.admit().unwrap()).collect();
        assert!(pool.admit().is_err());
        drop(all);
    }

    /// Polls `future` once: `Some` with its output if it was ready.
    async fn futures_poll_once<F: std::future::Future + Unpin>(future: F) -> Option<F::Output> {
        let mut future = future;
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match std::pin::Pin::new(&mut future).poll(cx) {
                std::task::Poll::Ready(out) => Some(out),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }

    #[tokio::test]
    async fn saturation_refuses_every_admission_until_released() {
        let pool = HashPool::new(2, 3);
        let held = pool.saturate().await;
        assert!(pool.admit().is_err());
        held.release().await;
        assert_eq!(pool.tickets.available_permits(), 5);
        let held = pool.saturate().await;
        drop(held);
        eventually("the slots back", || pool.tickets.available_permits() == 5).await;
        assert_eq!(pool.run(pool.admit().unwrap(), || 2).await, Ok(2));
    }

    #[test]
    fn a_panicking_job_is_an_internal_error_and_the_thread_lives_on() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let pool = HashPool::new(1, 0);
        runtime.block_on(async {
            let result: Result<(), AuthError> = pool
                .run(pool.admit().unwrap(), || {
                    std::panic::panic_any("job failed");
                })
                .await;
            assert_eq!(result, Err(AuthError::Internal));
            assert_eq!(pool.run(pool.admit().unwrap(), || 3).await, Ok(3));
        });
    }

    /// The OS thread id of the calling thread.
    #[cfg(target_os = "linux")]
    fn tid() -> u32 {
        let link = std::fs::read_link("/proc/thread-self").unwrap();
        link.file_name().unwrap().to_str().unwrap().parse().unwrap()
    }

    /// Field 19 (nice) of a `/proc/.../stat` file; the command name in field 2 may hold
    /// spaces, so fields are counted after its closing parenthesis.
    #[cfg(target_os = "linux")]
    fn nice_of(stat_path: &str) -> Option<i32> {
        let stat = std::fs::read_to_string(stat_path).ok()?;
        let after_name = stat.rsplit_once(')')?.1;
        // Field 3 (state) is the first after the name; field 19 is 16 further.
        after_name.split_whitespace().nth(16)?.parse().ok()
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn threads_are_named_and_run_at_a_lower_priority_than_the_process() {
        let pool = HashPool::new(1, 0);
        let (tid, name) = pool
            .run(pool.admit().unwrap(), || {
                (tid(), std::thread::current().name().map(str::to_owned))
            })
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("auth-argon2-0"));
        let process = nice_of("/proc/self/stat").unwrap();
        let thread = nice_of(&format!("/proc/self/task/{tid}/stat")).unwrap();
        assert!(
            thread > process || process == 19,
            "thread nice {thread}, process nice {process}"
        );
        if process <= 19 - NICE_INCREMENT {
            assert_eq!(thread, process + NICE_INCREMENT);
        }
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn threads_exit_when_the_pool_is_dropped() {
        const THREADS: usize = 3;
        let pool = Arc::new(HashPool::new(THREADS, 0));
        // One job per thread, all running at once, so that each thread reports its id.
        let gate = Gate::default();
        let seen = Arc::new(AtomicUsize::new(0));
        let runs: Vec<_> = (0..THREADS)
            .map(|_| {
                let (pool, gate, seen) = (Arc::clone(&pool), gate.clone(), Arc::clone(&seen));
                tokio::spawn(async move {
                    pool.run(pool.admit().unwrap(), move || {
                        let _ = seen.fetch_add(1, Ordering::SeqCst);
                        gate.wait();
                        tid()
                    })
                    .await
                })
            })
            .collect();
        eventually("every thread busy", || {
            seen.load(Ordering::SeqCst) == THREADS
        })
        .await;
        gate.open();
        let mut tids = Vec::new();
        for run in runs {
            tids.push(run.await.unwrap().unwrap());
        }
        let task = |tid: &u32| std::path::PathBuf::from(format!("/proc/self/task/{tid}"));
        let mut distinct = tids.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), THREADS, "{tids:?}");
        assert!(tids.iter().all(|t| task(t).exists()));
        let pool = Arc::into_inner(pool).expect("the last handle");
        drop(pool);
        eventually("the threads gone", || {
            tids.iter().all(|t| !task(t).exists())
        })
        .await;
    }
}
