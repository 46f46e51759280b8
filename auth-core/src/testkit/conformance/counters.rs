//! Conformance of a [`CounterStore`]: fixed-window counters and failure counts as atomic
//! increments (also under concurrency), and the purge of expired ones.

use super::*;
use crate::store::{Counter, Failures};

/// Runs every check of this part in sequence against `store`, on a multi-thread runtime.
///
/// # Panics
/// At the first check the store fails, with a message naming the check and what was expected.
pub async fn run<S: CounterStore + ?Sized>(store: Arc<S>) {
    check_hit_counter(Arc::clone(&store)).await;
    check_failures(Arc::clone(&store)).await;
    check_purge_expired_counters(Arc::clone(&store)).await;
    check_concurrent_hit_counter(Arc::clone(&store)).await;
    check_concurrent_add_failure(store).await;
}

/// `hit_counter`: starts at 1 with `resets_at = window_ends`, counts up keeping `resets_at`,
/// restarts once `resets_at <= now` (boundary included); keys are independent, case-sensitive
/// and may be 200 bytes long.
pub async fn check_hit_counter<S: CounterStore + ?Sized>(store: Arc<S>) {
    const C: &str = "hit_counter";
    let store = store.as_ref();
    let key = fresh_key("hits");
    let base = now_ms();
    let w1 = base + minutes(10);

    let hit = |window_ends: DateTime<Utc>, now: DateTime<Utc>| {
        let key = key.clone();
        async move {
            ok(
                C,
                "hit_counter",
                store.hit_counter(&key, window_ends, now).await,
            )
        }
    };

    ensure_eq!(
        C,
        hit(w1, base).await,
        Counter {
            count: 1,
            resets_at: w1
        },
        "the first hit on a new key"
    );
    ensure_eq!(
        C,
        hit(base + minutes(15), base + Duration::seconds(1)).await,
        Counter {
            count: 2,
            resets_at: w1
        },
        "a hit inside the window counts up and keeps resets_at (ignores the new window_ends)"
    );
    ensure_eq!(
        C,
        hit(base + minutes(20), w1 - Duration::milliseconds(1)).await,
        Counter {
            count: 3,
            resets_at: w1
        },
        "a hit 1 ms before resets_at is still inside the window"
    );
    let w2 = w1 + minutes(10);
    ensure_eq!(
        C,
        hit(w2, w1).await,
        Counter {
            count: 1,
            resets_at: w2
        },
        "a hit with now == resets_at restarts the window at 1 with resets_at = window_ends"
    );
    ensure_eq!(
        C,
        hit(w2 + minutes(5), w1 + Duration::seconds(1)).await,
        Counter {
            count: 2,
            resets_at: w2
        },
        "a hit inside the restarted window"
    );
    let w3 = w2 + minutes(10);
    ensure_eq!(
        C,
        hit(w3, w2 + minutes(1)).await,
        Counter {
            count: 1,
            resets_at: w3
        },
        "a hit after the window ended restarts it"
    );

    let other = fresh_key("hits");
    ensure_eq!(
        C,
        ok(C, "hit_counter", store.hit_counter(&other, w1, base).await),
        Counter {
            count: 1,
            resets_at: w1
        },
        "another key is an independent counter"
    );
    let upper = key.to_uppercase();
    ensure_eq!(
        C,
        ok(C, "hit_counter", store.hit_counter(&upper, w1, base).await),
        Counter {
            count: 1,
            resets_at: w1
        },
        "keys are opaque and case-sensitive: the upper-case key is another counter"
    );

    let mut long = fresh_key("long");
    while long.len() < 200 {
        long.push('x');
    }
    long.truncate(200);
    for count in 1..=2 {
        ensure_eq!(
            C,
            ok(
                C,
                "hit_counter(200-byte key)",
                store.hit_counter(&long, w1, base).await
            ),
            Counter {
                count,
                resets_at: w1
            },
            "a counter with a 200-byte key"
        );
    }
}

/// `add_failure` / `failures` / `clear_failures`: counts from 1, per key, with the latest
/// failure's time and expiry; gone once expired (and restarting at 1 after it); gone on clear.
pub async fn check_failures<S: CounterStore + ?Sized>(store: Arc<S>) {
    const C: &str = "failures";
    let store = store.as_ref();
    let key = fresh_key("failures");
    let other = fresh_key("failures");
    let t0 = now_ms();
    let expiry = |i: i64| t0 + minutes(60 + i);

    ensure_eq!(
        C,
        ok(C, "failures", store.failures(&key, t0).await),
        None,
        "failures of a new key"
    );
    for n in 1..=3_u32 {
        let at = t0 + minutes(i64::from(n));
        ensure_eq!(
            C,
            ok(
                C,
                "add_failure",
                store.add_failure(&key, at, expiry(i64::from(n))).await
            ),
            Failures {
                count: n,
                last_at: at,
                expires_at: expiry(i64::from(n)),
            },
            "add_failure must return the new count, its time and its new expiry"
        );
    }
    let three = Failures {
        count: 3,
        last_at: t0 + minutes(3),
        expires_at: expiry(3),
    };
    ensure_eq!(
        C,
        ok(C, "failures", store.failures(&key, t0 + minutes(4)).await),
        Some(three),
        "failures after three add_failure"
    );
    ensure_eq!(
        C,
        ok(C, "failures", store.failures(&key, expiry(3)).await),
        None,
        "failures at their expiry (expires_at <= now) must read as none"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "add_failure",
            store
                .add_failure(&key, expiry(3), expiry(3) + minutes(60))
                .await
        ),
        Failures {
            count: 1,
            last_at: expiry(3),
            expires_at: expiry(3) + minutes(60),
        },
        "add_failure on an expired count must restart it at 1"
    );
    ensure_eq!(
        C,
        ok(C, "failures", store.failures(&other, t0).await),
        None,
        "failures of another key"
    );
    ok(C, "clear_failures", store.clear_failures(&key).await);
    ensure_eq!(
        C,
        ok(C, "failures", store.failures(&key, t0).await),
        None,
        "failures after clear_failures"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "add_failure",
            store.add_failure(&key, t0, expiry(0)).await
        )
        .count,
        1,
        "add_failure after clear_failures starts again at 1"
    );
    ok(
        C,
        "clear_failures(absent key)",
        store.clear_failures(&other).await,
    );
    ensure_eq!(
        C,
        ok(C, "failures", store.failures(&other, t0).await),
        None,
        "failures after clear_failures of an absent key"
    );
    let long_key = format!("{}{}", fresh_key("f"), "k".repeat(160));
    let long_key = long_key.get(..200).unwrap_or(&long_key).to_owned();
    ensure_eq!(
        C,
        ok(
            C,
            "add_failure(200-byte key)",
            store.add_failure(&long_key, t0, expiry(0)).await
        )
        .count,
        1,
        "a failure count with a 200-byte key"
    );
}

/// `purge_expired_counters(now)` removes the counters and failure counts that expired before
/// `now`, counts them, and keeps live ones.
pub async fn check_purge_expired_counters<S: CounterStore + ?Sized>(store: Arc<S>) {
    const C: &str = "purge_expired_counters";
    let store = store.as_ref();
    let base = now_ms();
    let soon = base + minutes(1);
    let later = base + minutes(60);
    let purge_at = base + minutes(2);

    let expired_counter = fresh_key("purge");
    let live_counter = fresh_key("purge");
    let failure_key = fresh_key("purge-failures");
    let expired_failure_key = fresh_key("purge-failures");
    ok(
        C,
        "hit_counter",
        store.hit_counter(&expired_counter, soon, base).await,
    );
    ok(
        C,
        "hit_counter",
        store.hit_counter(&live_counter, later, base).await,
    );
    ok(
        C,
        "add_failure",
        store.add_failure(&expired_failure_key, base, soon).await,
    );
    ok(
        C,
        "add_failure",
        store.add_failure(&failure_key, base, later).await,
    );

    let purged = ok(
        C,
        "purge_expired_counters",
        store.purge_expired_counters(purge_at).await,
    );
    ensure!(
        C,
        purged >= 2,
        "purge_expired_counters returned {purged}; expected at least the 2 expired records this \
         check created (1 counter, 1 failure count)"
    );
    // A purged counter starts again at 1 even for a `now` inside its old window.
    ensure_eq!(
        C,
        ok(
            C,
            "hit_counter(purged key)",
            store.hit_counter(&expired_counter, later, base).await
        ),
        Counter {
            count: 1,
            resets_at: later
        },
        "an expired counter must be gone after purge_expired_counters (a hit must start a new \
         one)"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "hit_counter(live key)",
            store
                .hit_counter(&live_counter, later + minutes(1), purge_at)
                .await
        ),
        Counter {
            count: 2,
            resets_at: later
        },
        "a live counter must survive purge_expired_counters"
    );
    ensure_eq!(
        C,
        ok(C, "failures", store.failures(&failure_key, purge_at).await).map(|f| f.count),
        Some(1),
        "a failure count that has not expired must survive purge_expired_counters"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "add_failure",
            store
                .add_failure(&expired_failure_key, purge_at - minutes(10), later)
                .await
        )
        .count,
        1,
        "an expired failure count must be gone after purge_expired_counters"
    );
}

/// 32 concurrent `hit_counter` calls on one key: the returned counts are exactly 1 to 32, all
/// with the same `resets_at`.
pub async fn check_concurrent_hit_counter<S: CounterStore + ?Sized>(store: Arc<S>) {
    const C: &str = "concurrent_hit_counter";
    let key = Arc::new(fresh_key("concurrent-hits"));
    let now = now_ms();
    let window_ends = now + minutes(10);

    let results = race(C, 32, |_| {
        let store = Arc::clone(&store);
        let key = Arc::clone(&key);
        async move { store.hit_counter(&key, window_ends, now).await }
    })
    .await;
    let counters: Vec<Counter> = results
        .into_iter()
        .map(|r| ok(C, "hit_counter", r))
        .collect();
    let mut counts: Vec<u64> = counters.iter().map(|c| c.count).collect();
    counts.sort_unstable();
    ensure_eq!(
        C,
        counts,
        (1..=32).collect::<Vec<u64>>(),
        "32 concurrent hits on one key must return the counts 1 to 32 once each"
    );
    ensure!(
        C,
        counters.iter().all(|c| c.resets_at == window_ends),
        "every concurrent hit must report resets_at = {window_ends}; got {:?}",
        counters.iter().map(|c| c.resets_at).collect::<Vec<_>>()
    );
}

/// 32 concurrent `add_failure` calls on one key: they return 1 to 32 once each and the count
/// ends at 32.
pub async fn check_concurrent_add_failure<S: CounterStore + ?Sized>(store: Arc<S>) {
    const C: &str = "concurrent_add_failure";
    let key = Arc::new(fresh_key("concurrent-failures"));
    let at = now_ms();
    let expires = at + minutes(60);
    let results = race(C, 32, |_| {
        let store = Arc::clone(&store);
        let key = Arc::clone(&key);
        async move { store.add_failure(&key, at, expires).await }
    })
    .await;
    let mut counts: Vec<u32> = results
        .into_iter()
        .map(|r| ok(C, "add_failure", r).count)
        .collect();
    counts.sort_unstable();
    ensure_eq!(
        C,
        counts,
        (1..=32).collect::<Vec<u32>>(),
        "32 concurrent add_failure calls must return 1 to 32 once each"
    );
    ensure_eq!(
        C,
        ok(C, "failures", store.failures(&key, at).await).map(|f| f.count),
        Some(32),
        "failures after 32 concurrent add_failure calls"
    );
}
