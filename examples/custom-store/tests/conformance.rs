//! The test kit's conformance suite against the app's store: one test per check, so a failure
//! names the contract that broke. The store implements the four traits of a `Store` (not the
//! emailed-token store: the app sends no mail), so it runs those parts and the housekeeping
//! check of a whole `Store`.

mod app_store {
    use std::sync::Arc;

    use example_custom_store::{AppDatabase, AppStore};

    auth_core::store_conformance_tests!(
        Arc::new(AppStore::new(AppDatabase::new()));
        users, sessions, challenges, counters, housekeeping
    );
}
