//! store-redis on a Redis Cluster (`REDIS_CLUSTER_URLS`, started by `scripts/test.sh` with
//! `scripts/redis-cluster.sh`; these tests fail when it is unset): the conformance suite, the
//! model test, every key in the one slot of the store's hash tag on the node that owns it, and
//! a slot moved to another master by hand (the client follows `MOVED`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use auth_core::account::User;
use auth_core::ids::UserId;
use auth_core::store::UserStore;
use auth_core::testkit::conformance::run_store_conformance;
use auth_core::testkit::model::{ModelSettings, StoreUnderTest, run_model};
use chrono::Utc;

use common::{
    cluster_nodes, cluster_store_at, cluster_urls, fresh_prefix, node_connection, slot_of,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_cluster_store_passes_the_conformance_suite() {
    let prefix = fresh_prefix("cluster-conformance");
    let store = cluster_store_at(&prefix).await;
    assert!(store.is_cluster());
    let outcome = tokio::spawn(run_store_conformance(Arc::new(store.clone()))).await;
    let deleted = store.clear_prefix().await.unwrap();
    match outcome {
        Ok(()) => assert!(deleted > 0, "the suite wrote nothing under {prefix}"),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// The model-based test (`auth_core::testkit::model`) on the cluster.
#[test]
fn model_redis_cluster_store() {
    let report = run_model("redis-cluster", ModelSettings::from_env(32), || {
        Box::pin(async {
            let store = cluster_store_at(&fresh_prefix("cluster-model")).await;
            let cleanup = store.clone();
            Ok(
                StoreUnderTest::new(Arc::new(store)).with_teardown(async move {
                    let _ = cleanup.clear_prefix().await;
                }),
            )
        })
    });
    eprintln!("{report}");
    if report.cases >= 32 {
        assert_eq!(report.missed_core_paths(), vec![], "{report}");
    }
}

/// Every key the conformance suite wrote is in the store's slot, held by the master the
/// cluster says owns it (and by no other master).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_of_a_store_is_in_its_slot_on_its_master() {
    let prefix = fresh_prefix("cluster-slot");
    let store = cluster_store_at(&prefix).await;
    let outcome = tokio::spawn(run_store_conformance(Arc::new(store.clone()))).await;
    let urls = cluster_urls();
    let slot = slot_of(&urls[0], &store).await;
    let nodes = cluster_nodes(&urls[0]).await;
    let mut seen = 0;
    for node in nodes.iter().filter(|n| n.master && !n.failed) {
        let mut conn = node_connection(&node.url()).await;
        let count: u64 = redis::cmd("CLUSTER")
            .arg("COUNTKEYSINSLOT")
            .arg(slot)
            .query_async(&mut conn)
            .await
            .unwrap();
        // Keys of the prefix anywhere on this node (SCAN sees only its own keys).
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", store.prefix()))
            .query_async(&mut conn)
            .await
            .unwrap();
        if node.owns(slot) {
            assert!(count > 0 && keys.len() as u64 <= count, "{count} {keys:?}");
            seen += keys.len();
        } else {
            assert!(
                keys.is_empty(),
                "keys of {prefix} on {}: {keys:?}",
                node.port
            );
        }
    }
    let deleted = store.clear_prefix().await.unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
    assert!(seen > 0);
    assert_eq!(deleted, seen as u64);
}

/// The store's slot moves to another master (`CLUSTER SETSLOT … IMPORTING/MIGRATING`,
/// `MIGRATE`, `SETSLOT … NODE`, by hand as `redis-cli --cluster reshard` does): the same store
/// keeps reading and writing, following the `MOVED` redirect, and its new keys land on the
/// new master.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_slot_is_followed() {
    let prefix = fresh_prefix("cluster-moved");
    let store = cluster_store_at(&prefix).await;
    let before = User::new(UserId::new_random(), Utc::now());
    store.create_user(&before).await.unwrap();

    let urls = cluster_urls();
    let slot = slot_of(&urls[0], &store).await;
    let nodes = cluster_nodes(&urls[0]).await;
    let masters: Vec<_> = nodes.iter().filter(|n| n.master && !n.failed).collect();
    let source = masters.iter().find(|n| n.owns(slot)).unwrap();
    let target = masters.iter().find(|n| !n.owns(slot)).unwrap();
    let (mut src, mut dst) = (
        node_connection(&source.url()).await,
        node_connection(&target.url()).await,
    );
    let setslot = |state: &str, id: &str| {
        let mut cmd = redis::cmd("CLUSTER");
        let _ = cmd.arg("SETSLOT").arg(slot).arg(state).arg(id);
        cmd
    };
    let () = setslot("IMPORTING", &source.id)
        .query_async(&mut dst)
        .await
        .unwrap();
    let () = setslot("MIGRATING", &target.id)
        .query_async(&mut src)
        .await
        .unwrap();
    loop {
        let keys: Vec<String> = redis::cmd("CLUSTER")
            .arg("GETKEYSINSLOT")
            .arg(slot)
            .arg(100)
            .query_async(&mut src)
            .await
            .unwrap();
        if keys.is_empty() {
            break;
        }
        let () = redis::cmd("MIGRATE")
            .arg("127.0.0.1")
            .arg(target.port)
            .arg("")
            .arg(0)
            .arg(5000)
            .arg("KEYS")
            .arg(&keys)
            .query_async(&mut src)
            .await
            .unwrap();
    }
    for node in &masters {
        let mut conn = node_connection(&node.url()).await;
        let () = setslot("NODE", &target.id)
            .query_async(&mut conn)
            .await
            .unwrap();
    }

    // The store still believes the source owns the slot: MOVED, then the target answers.
    assert_eq!(
        store.user_by_id(before.id).await.unwrap().map(|u| u.id),
        Some(before.id)
    );
    let after = User::new(UserId::new_random(), Utc::now());
    store.create_user(&after).await.unwrap();
    let on_target: i64 = redis::cmd("EXISTS")
        .arg(format!("{}user:{}", store.prefix(), after.id))
        .query_async(&mut dst)
        .await
        .unwrap();
    assert_eq!(on_target, 1);
    store.ping().await.unwrap();
    assert_eq!(store.clear_prefix().await.unwrap(), 2);
}
