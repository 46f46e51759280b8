//! The auth-core store conformance suite against the Redis at `REDIS_URL` (default
//! `redis://127.0.0.1:6379`), under a key prefix of its own that is deleted afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use auth_core::testkit::conformance::run_store_conformance;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_store_passes_the_conformance_suite() {
    let prefix = common::fresh_prefix("conformance");
    let store = common::store_at(&prefix).await;

    // Run the suite as a task so the prefix is cleaned up even when a check fails.
    let outcome = tokio::spawn(run_store_conformance(Arc::new(store.clone()))).await;
    let deleted = store.clear_prefix().await.unwrap();
    match outcome {
        Ok(()) => assert!(deleted > 0, "the suite wrote nothing under {prefix}"),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}
