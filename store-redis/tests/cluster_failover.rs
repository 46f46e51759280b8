//! A failover under load, on a private Redis Cluster this test starts itself
//! (`scripts/redis-cluster.sh` on ports 7201-7209: 3 masters with 2 replicas each, so the
//! promoted replica still has a replica to acknowledge writes). Writers create users through
//! the store without pause; the master owning the store's slot is killed (SIGKILL). Calls fail
//! with `StoreError::Unavailable` while the cluster fails over, succeed again within 20 s once
//! a replica is promoted, none fails after that, and every write the store acknowledged is
//! there afterwards (the default `wait_for_replicas(1, …)` of cluster mode made each reach a
//! replica before it was acknowledged).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth_core::account::User;
use auth_core::ids::UserId;
use auth_core::store::{StoreError, UserStore};
use chrono::Utc;
use store_redis::{RedisStore, RedisStoreConfig};

use common::{cluster_nodes, fresh_prefix, slot_of};

const BASE_PORT: u16 = 7201;
const NODES: u16 = 9;

/// The private cluster, stopped (and its directories removed) when dropped.
struct PrivateCluster;

impl PrivateCluster {
    fn script() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/redis-cluster.sh")
    }

    fn run(args: &[&str]) -> bool {
        Command::new("bash")
            .arg(Self::script())
            .args(args)
            .args([
                "--base-port",
                &BASE_PORT.to_string(),
                "--nodes",
                &NODES.to_string(),
            ])
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    fn start() -> Self {
        // A cluster left behind by an earlier run may have failed over: start anew.
        let _ = Self::run(&["stop"]);
        assert!(
            Self::run(&["start", "--replicas", "2"]),
            "the private cluster did not start"
        );
        Self
    }

    fn urls() -> Vec<String> {
        (BASE_PORT..BASE_PORT + NODES)
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect()
    }

    fn kill(port: u16) {
        let pid = std::fs::read_to_string(format!(
            "/var/tmp/redis-cluster-{BASE_PORT}/{port}/redis.pid"
        ))
        .unwrap();
        let status = Command::new("kill")
            .args(["-9", pid.trim()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = Self::run(&["stop"]);
    }
}

#[derive(Default)]
struct Log {
    acknowledged: Vec<UserId>,
    /// (when the call started, when it ended, its error) of every failed call.
    failures: Vec<(Instant, Instant, String)>,
    /// When each successful call ended.
    successes: Vec<Instant>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_store_answers_again_after_a_master_fails_over_and_loses_no_acknowledged_write() {
    let _cluster = PrivateCluster::start();
    let urls = PrivateCluster::urls();
    let store = RedisStore::connect(
        RedisStoreConfig::cluster(urls.clone())
            .prefix(fresh_prefix("failover"))
            .operation_timeout(Duration::from_secs(2)),
    )
    .await
    .unwrap();
    let slot = slot_of(&urls[0], &store).await;
    let master = cluster_nodes(&urls[0])
        .await
        .into_iter()
        .find(|n| n.master && n.owns(slot))
        .unwrap();

    // Replicas sync a moment after cluster_state:ok; until then writes wait for them in vain.
    let ready = Instant::now();
    while let Err(e) = store
        .create_user(&User::new(UserId::new_random(), Utc::now()))
        .await
    {
        assert!(
            ready.elapsed() < Duration::from_secs(20),
            "the cluster never took a write: {e}"
        );
    }
    eprintln!("failover: first write after {:?}", ready.elapsed());

    let log = Arc::new(Mutex::new(Log::default()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let (store, log, stop) = (store.clone(), Arc::clone(&log), Arc::clone(&stop));
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let user = User::new(UserId::new_random(), Utc::now());
                    let started = Instant::now();
                    let outcome = store.create_user(&user).await;
                    let failed = {
                        let mut log = log.lock().unwrap();
                        match outcome {
                            Ok(()) => {
                                log.acknowledged.push(user.id);
                                log.successes.push(Instant::now());
                                false
                            }
                            Err(StoreError::Unavailable(e)) => {
                                log.failures.push((started, Instant::now(), e));
                                true
                            }
                            Err(e) => panic!("unexpected error {e:?}"),
                        }
                    };
                    if failed {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(log.lock().unwrap().failures.is_empty());
    let before_kill = log.lock().unwrap().acknowledged.len();
    assert!(
        before_kill > 10,
        "only {before_kill} writes before the kill"
    );
    let killed_at = Instant::now();
    PrivateCluster::kill(master.port);

    // Back within 20 s: a success that ended after the first failure.
    let recovered_at = loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        {
            let log = log.lock().unwrap();
            if let Some(&(_, first_failure, _)) = log.failures.first()
                && let Some(&ok) = log.successes.iter().find(|&&t| t > first_failure)
            {
                break ok;
            }
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(20),
            "no failure then success within 20 s of the kill: {} failures",
            log.lock().unwrap().failures.len()
        );
    };
    // Keep writing for 3 s after the recovery.
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for writer in writers {
        writer.await.unwrap();
    }

    let log = std::mem::take(&mut *log.lock().unwrap());
    let after_recovery: Vec<_> = log
        .failures
        .iter()
        .filter(|(started, _, _)| *started > recovered_at)
        .collect();
    eprintln!(
        "failover: {} writes acknowledged ({before_kill} before the kill), {} failed, back {:?} after the kill",
        log.acknowledged.len(),
        log.failures.len(),
        recovered_at - killed_at
    );
    assert!(!log.failures.is_empty());
    assert!(
        after_recovery.is_empty(),
        "failures after the recovery: {after_recovery:?}"
    );
    assert!(log.successes.iter().filter(|&&t| t > recovered_at).count() > 10);
    let alive = if master.port == BASE_PORT {
        &urls[1]
    } else {
        &urls[0]
    };
    let promoted = cluster_nodes(alive)
        .await
        .into_iter()
        .find(|n| n.master && !n.failed && n.owns(slot))
        .unwrap();
    assert_ne!(promoted.port, master.port);

    // Every acknowledged write survived the failover.
    for &id in &log.acknowledged {
        assert_eq!(
            store.user_by_id(id).await.unwrap().map(|u| u.id),
            Some(id),
            "acknowledged user {id} lost"
        );
    }
}
