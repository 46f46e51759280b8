//! The auth-core store conformance suite (every part, emailed tokens included) against the
//! PostgreSQL at `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`), in a
//! schema of its own that is dropped afterwards.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;

use auth_core::testkit::conformance::run_store_conformance;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_passes_the_conformance_suite() {
    common::with_fresh_schema(|schema| async move {
        run_store_conformance(Arc::new(common::store_in(&schema).await)).await;
    })
    .await;
}

/// A second run in the same schema through a new store: the suite tolerates existing data,
/// and this catches anything that only works on an empty schema or a fresh pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_twice_in_one_schema() {
    common::with_fresh_schema(|schema| async move {
        run_store_conformance(Arc::new(common::store_in(&schema).await)).await;
        run_store_conformance(Arc::new(common::store_in(&schema).await)).await;
    })
    .await;
}

/// The suite through a pool of two connections: the concurrency checks queue on the pool
/// (within its wait timeout) instead of each having a connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_on_a_pool_of_two() {
    common::with_fresh_schema(|schema| async move {
        let store = store_postgres::PgStore::connect(common::config(&schema).pool_size(2))
            .await
            .unwrap();
        run_store_conformance(Arc::new(store)).await;
    })
    .await;
}
