//! Runs the store conformance suite against the test kit's [`MemoryStore`]: once as a whole,
//! and once as one test per check through `store_conformance_tests!`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use auth_core::testkit::MemoryStore;
use auth_core::testkit::conformance::run_store_conformance;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_passes_the_conformance_suite() {
    run_store_conformance(Arc::new(MemoryStore::new())).await;
}

/// One test per check, all sharing one store, as a persistent backend would be shared.
mod per_check {
    use std::sync::{Arc, LazyLock};

    use auth_core::testkit::MemoryStore;

    static SHARED: LazyLock<MemoryStore> = LazyLock::new(MemoryStore::new);

    auth_core::store_conformance_tests!(Arc::new(SHARED.clone()));
}
