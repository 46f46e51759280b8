//! The model-based test (`testkit::model`) and the refresh race on the memory store. The
//! store crates run the same on SQLite and Redis.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use auth_core::testkit::MemoryStore;
use auth_core::testkit::model::race::{RaceSettings, run_refresh_race};
use auth_core::testkit::model::{ModelSettings, StoreUnderTest, run_model};

/// Random sequences of every flow, checked step by step against the reference model.
/// `AUTH_MODEL_CASES` / `AUTH_MODEL_STEPS` for a longer run.
#[test]
fn model_memory_store() {
    let report = run_model("memory", ModelSettings::from_env(256), || {
        Box::pin(async { Ok(StoreUnderTest::new(Arc::new(MemoryStore::new()))) })
    });
    eprintln!("{report}");
    if report.cases >= 32 {
        assert_eq!(report.missed_core_paths(), vec![], "{report}");
    }
}

async fn race(grace_secs: u64, default_rounds: u32) {
    let settings = RaceSettings::from_env(default_rounds, grace_secs);
    let report = run_refresh_race("memory", Arc::new(MemoryStore::new()), settings)
        .await
        .unwrap();
    eprintln!("{report}");
    assert_eq!(report.double_spends, 0, "{report}");
    assert_eq!(report.wrongful_logouts, 0, "{report}");
}

/// 50 clients racing one refresh token, inside the default 10-second grace window.
/// `AUTH_RACE_ROUNDS` for the full run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_race_memory_grace() {
    race(10, 500).await;
}

/// The same without a grace window: the token is spent exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_race_memory_no_grace() {
    race(0, 500).await;
}
