//! The store's connections to Redis: one self-reconnecting multiplexed connection shared by
//! the store, plus one per single-threaded runtime that calls it.
//!
//! A multiplexed connection is driven by a task on the runtime that opened it. Under
//! actix-web, whose workers are separate single-threaded runtimes, that task ran on the main
//! thread, so *every* command crossed threads twice (a wake-up of the main thread to write
//! it, another of the worker when the reply came back); profiled under HTTP load, the main
//! thread did 15% of the process's work just driving the connection. So each thread running a current-thread runtime gets its own connection,
//! opened lazily on that runtime, and a worker's commands are written and read where it runs.
//! A multi-threaded runtime keeps the one shared connection: its workers already share the
//! driving task's runtime, and one connection batches their commands into fewer writes and
//! reads (measured: per-thread connections were slower there).
//!
//! A thread's connection is dropped with its runtime: the entry holds a marker owned by a
//! task on that runtime, so a thread that later runs another runtime opens a new connection
//! instead of reusing one whose task is gone. Calls outside any runtime, and threads beyond
//! [`Connections::MAX_THREADS`], use the shared connection. Redis state is the same through
//! every connection and each check-then-write is one Lua script, so which connection carries
//! a command never matters for correctness.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::thread::ThreadId;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::runtime::{Handle, RuntimeFlavor};

/// The shared connection and the per-thread ones.
pub(crate) struct Connections {
    client: redis::Client,
    config: ConnectionManagerConfig,
    shared: ConnectionManager,
    per_thread: RwLock<HashMap<ThreadId, Local>>,
}

/// A thread's connection, usable while the runtime it was opened on runs.
struct Local {
    conn: ConnectionManager,
    runtime_alive: Weak<()>,
}

impl Local {
    fn alive(&self) -> bool {
        self.runtime_alive.strong_count() > 0
    }
}

impl Connections {
    /// The most threads that get a connection of their own (Redis' default limit is 10 000
    /// clients; this keeps one store far below it however many threads call it).
    pub(crate) const MAX_THREADS: usize = 64;

    /// A lazy shared connection (nothing is sent until the first command). Must be called
    /// inside a Tokio runtime.
    pub(crate) fn new(
        client: redis::Client,
        config: ConnectionManagerConfig,
    ) -> redis::RedisResult<Self> {
        let shared = ConnectionManager::new_lazy_with_config(client.clone(), config.clone())?;
        Ok(Self {
            client,
            config,
            shared,
            per_thread: RwLock::new(HashMap::new()),
        })
    }

    /// The connection for a call from this thread.
    pub(crate) fn get(&self) -> ConnectionManager {
        let Ok(runtime) = Handle::try_current() else {
            return self.shared.clone();
        };
        if runtime.runtime_flavor() != RuntimeFlavor::CurrentThread {
            return self.shared.clone();
        }
        let thread = std::thread::current().id();
        if let Some(local) = self
            .per_thread
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&thread)
            .filter(|local| local.alive())
        {
            return local.conn.clone();
        }
        self.open(&runtime, thread)
    }

    /// Opens this thread's connection (lazily) on its runtime.
    fn open(&self, runtime: &Handle, thread: ThreadId) -> ConnectionManager {
        let mut per_thread = self
            .per_thread
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(local) = per_thread.get(&thread).filter(|local| local.alive()) {
            return local.conn.clone();
        }
        if per_thread.len() >= Self::MAX_THREADS {
            per_thread.retain(|_, local| local.alive());
            if per_thread.len() >= Self::MAX_THREADS {
                return self.shared.clone();
            }
        }
        let Ok(conn) =
            ConnectionManager::new_lazy_with_config(self.client.clone(), self.config.clone())
        else {
            return self.shared.clone();
        };
        let marker = Arc::new(());
        let runtime_alive = Arc::downgrade(&marker);
        // Dropped, with the marker, when the runtime shuts down.
        drop(runtime.spawn(async move {
            let _marker = marker;
            std::future::pending::<()>().await;
        }));
        let _ = per_thread.insert(
            thread,
            Local {
                conn: conn.clone(),
                runtime_alive,
            },
        );
        conn
    }

    /// How many threads have a connection of their own.
    #[cfg(test)]
    pub(crate) fn threads(&self) -> usize {
        self.per_thread
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::sync::Barrier;

    use super::*;

    fn connections() -> Connections {
        let client = redis::Client::open("redis://127.0.0.1:6379").unwrap();
        Connections::new(client, ConnectionManagerConfig::new()).unwrap()
    }

    async fn client_id(mut conn: ConnectionManager) -> i64 {
        redis::cmd("CLIENT")
            .arg("ID")
            .query_async(&mut conn)
            .await
            .unwrap()
    }

    fn current_thread() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// The client id of the connection a new thread with its own runtime gets (the runtime
    /// ends with the thread).
    fn id_on_a_new_thread(connections: &Arc<Connections>) -> i64 {
        let connections = Arc::clone(connections);
        std::thread::spawn(move || {
            current_thread().block_on(async { client_id(connections.get()).await })
        })
        .join()
        .unwrap()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_single_threaded_runtime_keeps_a_connection_of_its_own() {
        let connections = connections();
        let first = client_id(connections.get()).await;
        assert_eq!(client_id(connections.get()).await, first);
        assert_eq!(connections.threads(), 1);
        assert_ne!(client_id(connections.shared.clone()).await, first);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_multi_threaded_runtime_uses_the_shared_connection() {
        let connections = Arc::new(connections());
        let shared = client_id(connections.shared.clone()).await;
        let on_worker = {
            let connections = Arc::clone(&connections);
            tokio::spawn(async move { client_id(connections.get()).await })
                .await
                .unwrap()
        };
        assert_eq!(on_worker, shared);
        assert_eq!(connections.threads(), 0);
    }

    /// The connection's task dies with the runtime that opened it: a later runtime on the same
    /// thread must not get that connection back (its commands would fail).
    #[test]
    fn a_new_runtime_on_the_same_thread_gets_a_new_connection() {
        let first_rt = current_thread();
        let connections = first_rt.block_on(async { connections() });
        let first = first_rt.block_on(async { client_id(connections.get()).await });
        drop(first_rt);
        let second = current_thread().block_on(async { client_id(connections.get()).await });
        assert_ne!(first, second);
        assert_eq!(connections.threads(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn threads_beyond_the_cap_share_a_connection() {
        let connections = Arc::new(connections());
        let shared = client_id(connections.shared.clone()).await;
        // MAX_THREADS threads, each with its runtime alive until all have connected.
        let all = Arc::new(Barrier::new(Connections::MAX_THREADS + 1));
        let holders: Vec<_> = (0..Connections::MAX_THREADS)
            .map(|_| {
                let (connections, all) = (Arc::clone(&connections), Arc::clone(&all));
                std::thread::spawn(move || {
                    let rt = current_thread();
                    let id = rt.block_on(async { client_id(connections.get()).await });
                    all.wait();
                    all.wait();
                    id
                })
            })
            .collect();
        all.wait();
        assert_eq!(connections.threads(), Connections::MAX_THREADS);
        let extra = id_on_a_new_thread(&connections);
        assert_eq!(extra, shared);
        all.wait();
        let mut ids: Vec<i64> = holders.into_iter().map(|h| h.join().unwrap()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), Connections::MAX_THREADS);

        // Their runtimes are gone: the next thread gets a connection of its own again.
        let next = id_on_a_new_thread(&connections);
        assert_ne!(next, shared);
        assert_eq!(connections.threads(), 1);
    }

    #[test]
    fn outside_a_runtime_the_shared_connection_is_used() {
        let connections = current_thread().block_on(async { connections() });
        let _conn = connections.get();
        assert_eq!(connections.threads(), 0);
    }
}
