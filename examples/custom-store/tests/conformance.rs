//! The test kit's conformance suite against the app's store: one test per check, so a failure
//! names the contract that broke. This is all it takes to check a `Store` implementation.

mod app_store {
    use std::sync::Arc;

    use example_custom_store::{AppDatabase, AppStore};

    auth_core::store_conformance_tests!(Arc::new(AppStore::new(AppDatabase::new())));
}
