//! Shared by the integration tests: the Redis under test (and the Redis Cluster of
//! `REDIS_CLUSTER_URLS`), fresh key prefixes, and a private `redis-server` child process for
//! outage tests.
#![allow(dead_code, unreachable_pub)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use store_redis::{RedisStore, RedisStoreConfig};

/// `REDIS_URL`, or the default local Redis (never the cluster: `REDIS_CLUSTER_URLS` is
/// for the cluster tests only).
pub fn redis_url() -> String {
    std::env::var("REDIS_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| RedisStoreConfig::DEFAULT_URL.to_owned())
}

/// The nodes of the Redis Cluster under test (`REDIS_CLUSTER_URLS`, comma-separated). A
/// cluster test fails when it is unset: `scripts/test.sh` starts the cluster and sets it.
pub fn cluster_urls() -> Vec<String> {
    RedisStoreConfig::cluster_urls_from_env().unwrap_or_else(|| {
        panic!(
            "REDIS_CLUSTER_URLS is not set: start a local cluster with \
             `scripts/redis-cluster.sh start` and export \
             REDIS_CLUSTER_URLS=$(scripts/redis-cluster.sh urls) (scripts/test.sh does both)"
        )
    })
}

/// A store on the cluster under test under `prefix`.
pub async fn cluster_store_at(prefix: &str) -> RedisStore {
    let urls = cluster_urls();
    RedisStore::connect(RedisStoreConfig::cluster(urls.clone()).prefix(prefix))
        .await
        .unwrap_or_else(|e| panic!("cannot reach the Redis Cluster at {urls:?}: {e}"))
}

/// A plain connection to one node (`redis://host:port`), for commands about the cluster.
pub async fn node_connection(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("cannot reach the cluster node {url}: {e}"))
}

/// One line of `CLUSTER NODES`: a node's id, port, whether it is a master, and its slots.
#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub port: u16,
    pub master: bool,
    pub failed: bool,
    pub slots: Vec<(u16, u16)>,
}

impl Node {
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn owns(&self, slot: u16) -> bool {
        self.slots.iter().any(|&(a, b)| a <= slot && slot <= b)
    }
}

/// The cluster as `url`'s node sees it.
pub async fn cluster_nodes(url: &str) -> Vec<Node> {
    let mut conn = node_connection(url).await;
    let text: String = redis::cmd("CLUSTER")
        .arg("NODES")
        .query_async(&mut conn)
        .await
        .unwrap();
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let id = (*fields.first()?).to_owned();
            let addr = fields.get(1)?;
            let port = addr.split('@').next()?.rsplit(':').next()?.parse().ok()?;
            let flags = fields.get(2)?;
            let slots = fields
                .iter()
                .skip(8)
                .filter(|s| !s.starts_with('['))
                .filter_map(|s| match s.split_once('-') {
                    Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
                    None => s.parse().ok().map(|n| (n, n)),
                })
                .collect();
            Some(Node {
                id,
                port,
                master: flags.contains("master"),
                failed: flags.contains("fail"),
                slots,
            })
        })
        .collect()
}

/// The slot every key of a cluster store is in, as the cluster computes it (`CLUSTER KEYSLOT`
/// of its `{prefix}`).
pub async fn slot_of(node_url: &str, store: &RedisStore) -> u16 {
    let mut conn = node_connection(node_url).await;
    redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(store.prefix())
        .query_async(&mut conn)
        .await
        .unwrap()
}

/// A prefix no other test run uses.
pub fn fresh_prefix(test: &str) -> String {
    format!("store-redis-test:{test}:{}:", uuid::Uuid::new_v4().simple())
}

/// Runs `test` with a fresh prefix on the shared Redis, then deletes every key under that
/// prefix, also when the test panics (the panic is passed on afterwards).
pub async fn with_fresh_prefix<F, Fut>(test_name: &str, test: F)
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let prefix = fresh_prefix(test_name);
    let outcome = tokio::spawn(test(prefix.clone())).await;
    let cleanup = store_at(&prefix).await.clear_prefix().await;
    match outcome {
        Ok(()) => {
            let _ = cleanup.unwrap();
        }
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("{test_name}: {e}"),
    }
}

/// A store on the shared Redis under `prefix`.
pub async fn store_at(prefix: &str) -> RedisStore {
    RedisStore::connect(RedisStoreConfig::new(redis_url()).prefix(prefix))
        .await
        .unwrap_or_else(|e| panic!("cannot reach Redis at {} (set REDIS_URL): {e}", redis_url()))
}

/// A plain connection to the shared Redis, for looking at keys directly.
pub async fn raw_connection() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// A `redis-server` of our own on a free port, without persistence, so a test can stop and
/// restart it without disturbing the shared Redis other tests use.
pub struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts one on a free port and waits until it answers.
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let mut server = Self { port, child: None };
        server.restart();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// (Re)starts the server on the same port and waits until it answers PING.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new(
            std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned()),
        )
        .args(["--port", &self.port.to_string()])
        .args(["--bind", "127.0.0.1"])
        .args(["--save", ""])
        .args(["--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server must be installed (apt-get install redis-server)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let answered = redis::Client::open(self.url())
                .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            if answered.is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not come up",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open but nothing answers.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Unfreezes it (SIGCONT).
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let status = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Kills the server (SIGKILL, like a crash) and waits until it is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // A frozen process still dies of SIGKILL.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
