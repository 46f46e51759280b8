//! The auth-core store conformance suite, against a file and against memory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use auth_core::testkit::conformance::run_store_conformance;
use store_sqlite::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_on_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("auth.db")).unwrap();
    run_store_conformance(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_in_memory() {
    let store = SqliteStore::open_in_memory().unwrap();
    run_store_conformance(Arc::new(store)).await;
}

/// A second run on the same file, reopened: the suite tolerates existing data, and this
/// catches anything that only works on an empty database.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_twice_on_a_reopened_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.db");
    run_store_conformance(Arc::new(SqliteStore::open(&path).unwrap())).await;
    run_store_conformance(Arc::new(SqliteStore::open(&path).unwrap())).await;
}

/// Every read through the writer connection: no pool readers, no quick readers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_with_every_read_on_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = store_sqlite::SqliteOptions::default();
    options.readers = 0;
    options.quick_readers = 0;
    let store = SqliteStore::open_with(dir.path().join("auth.db"), options).unwrap();
    run_store_conformance(Arc::new(store)).await;
}

/// Quick readers whose session cache holds one answer: checks of other sessions find it full
/// and read through, and every change must still show.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_with_a_session_cache_of_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = store_sqlite::SqliteOptions::default();
    options.session_cache = 1;
    let store = SqliteStore::open_with(dir.path().join("auth.db"), options).unwrap();
    run_store_conformance(Arc::new(store)).await;
}
