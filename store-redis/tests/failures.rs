//! Consecutive-failure counts in Redis: a hash whose key Redis deletes at `expires_at` plus the
//! TTL margin, and what becomes of the plain string counts of versions whose counts never
//! expired.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration as StdDuration;

use auth_core::store::{CounterStore, Store};
use chrono::{DateTime, Duration, Utc};
use redis::AsyncCommands as _;
use store_redis::{RedisStore, RedisStoreConfig};

/// The TTL margin of these tests' store.
const MARGIN: StdDuration = StdDuration::from_secs(600);

async fn store_with_margin(prefix: &str) -> RedisStore {
    RedisStore::connect(
        RedisStoreConfig::new(common::redis_url())
            .prefix(prefix)
            .ttl_margin(MARGIN),
    )
    .await
    .unwrap()
}

/// Asserts that `key` expires in Redis about `margin` after `at` (within two seconds).
async fn assert_expires_about(
    raw: &mut redis::aio::MultiplexedConnection,
    key: &str,
    at: DateTime<Utc>,
) {
    let ttl: i64 = raw.pttl(key).await.unwrap();
    let margin = i64::try_from(MARGIN.as_millis()).unwrap();
    let expected = (at - Utc::now()).num_milliseconds() + margin;
    assert!(
        (expected - 2000..=expected + 2000).contains(&ttl),
        "{key}: PTTL {ttl} ms, expected about {expected} ms"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_count_expires_in_redis_at_its_expiry_plus_the_margin() {
    common::with_fresh_prefix("failures-ttl", |prefix| async move {
        let store = store_with_margin(&prefix).await;
        let mut raw = common::raw_connection().await;
        let key = format!("{prefix}failures:f");
        let now = Utc::now();

        let _ = store
            .add_failure("f", now, now + Duration::minutes(30))
            .await
            .unwrap();
        assert_expires_about(&mut raw, &key, now + Duration::minutes(30)).await;

        // Each failure moves the key's expiry with the count's, later or earlier.
        let _ = store
            .add_failure("f", now, now + Duration::hours(2))
            .await
            .unwrap();
        assert_expires_about(&mut raw, &key, now + Duration::hours(2)).await;
        let f = store
            .add_failure("f", now, now + Duration::minutes(5))
            .await
            .unwrap();
        assert_eq!(f.count, 3);
        assert_expires_about(&mut raw, &key, now + Duration::minutes(5)).await;

        // A count already expired on Redis' clock is still kept for the margin after the write.
        let _ = store
            .add_failure("g", now - Duration::hours(2), now - Duration::hours(1))
            .await
            .unwrap();
        assert_expires_about(&mut raw, &format!("{prefix}failures:g"), Utc::now()).await;
    })
    .await;
}

/// Versions before failure counts expired kept each as a plain string (`INCR`) without a TTL.
/// This version never reads such a key as a count: its core counts under other keys, and a
/// string at a key it does use counts as absent and is replaced by the next failure. Purging
/// deletes the strings, which otherwise would stay forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn string_counts_of_older_versions_read_as_absent_are_replaced_and_purged() {
    common::with_fresh_prefix("failures-legacy", |prefix| async move {
        let store = store_with_margin(&prefix).await;
        let mut raw = common::raw_connection().await;
        let old = format!("{prefix}failures:old");
        let orphan = format!("{prefix}failures:orphan");
        let _: () = raw.set(&old, "7").await.unwrap();
        let _: () = raw.set(&orphan, "3").await.unwrap();
        let now = Utc::now();
        let later = now + Duration::minutes(30);

        assert_eq!(store.failures("old", now).await.unwrap(), None);
        let f = store.add_failure("old", now, later).await.unwrap();
        assert_eq!((f.count, f.last_at, f.expires_at), (1, now, later));
        let kind: String = redis::cmd("TYPE")
            .arg(&old)
            .query_async(&mut raw)
            .await
            .unwrap();
        assert_eq!(kind, "hash");
        assert_expires_about(&mut raw, &old, later).await;
        assert_eq!(store.failures("old", now).await.unwrap(), Some(f));

        assert_eq!(
            store.purge_expired(now).await.unwrap(),
            1,
            "the orphaned string, not the live count"
        );
        assert!(!raw.exists::<_, bool>(&orphan).await.unwrap());
        assert_eq!(store.failures("old", now).await.unwrap(), Some(f));
        assert_eq!(store.purge_expired(later).await.unwrap(), 1);
        assert!(!raw.exists::<_, bool>(&old).await.unwrap());
    })
    .await;
}
