//! The model-based test (`auth_core::testkit::model`) and the refresh race on a real SQLite
//! file: every case on a fresh database file in a temporary directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use auth_core::testkit::model::race::{RaceSettings, run_refresh_race};
use auth_core::testkit::model::{ModelSettings, StoreUnderTest, run_model};
use store_sqlite::SqliteStore;

/// Random sequences of every flow, checked step by step against the reference model.
/// `AUTH_MODEL_CASES` / `AUTH_MODEL_STEPS` for a longer run.
#[test]
fn model_sqlite_store() {
    let report = run_model("sqlite", ModelSettings::from_env(64), || {
        Box::pin(async {
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            let store = SqliteStore::open(dir.path().join("auth.db")).map_err(|e| e.to_string())?;
            // The directory goes once the case is over.
            Ok(StoreUnderTest::new(Arc::new(store)).with_teardown(async move { drop(dir) }))
        })
    });
    eprintln!("{report}");
    if report.cases >= 32 {
        assert_eq!(report.missed_core_paths(), vec![], "{report}");
    }
}

async fn race(grace_secs: u64, default_rounds: u32) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("auth.db")).unwrap();
    let settings = RaceSettings::from_env(default_rounds, grace_secs);
    let report = run_refresh_race("sqlite", Arc::new(store), settings)
        .await
        .unwrap();
    eprintln!("{report}");
    assert_eq!(report.double_spends, 0, "{report}");
    assert_eq!(report.wrongful_logouts, 0, "{report}");
}

/// 50 clients racing one refresh token, inside the default 10-second grace window.
/// `AUTH_RACE_ROUNDS` for the full run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_race_sqlite_grace() {
    race(10, 500).await;
}

/// The same without a grace window: the token is spent exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_race_sqlite_no_grace() {
    race(0, 500).await;
}
