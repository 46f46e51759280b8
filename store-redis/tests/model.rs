//! The model-based test (`auth_core::testkit::model`) and the refresh race on a real Redis
//! (`REDIS_URL`), each case under a fresh key prefix that is deleted afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use auth_core::testkit::model::race::{RaceSettings, run_refresh_race};
use auth_core::testkit::model::{ModelSettings, StoreUnderTest, run_model};

use common::{fresh_prefix, store_at, with_fresh_prefix};

/// Random sequences of every flow, checked step by step against the reference model.
/// `AUTH_MODEL_CASES` / `AUTH_MODEL_STEPS` for a longer run.
#[test]
fn model_redis_store() {
    let report = run_model("redis", ModelSettings::from_env(64), || {
        Box::pin(async {
            let store = store_at(&fresh_prefix("model")).await;
            let cleanup = store.clone();
            Ok(
                StoreUnderTest::new(Arc::new(store)).with_teardown(async move {
                    let _ = cleanup.clear_prefix().await;
                }),
            )
        })
    });
    eprintln!("{report}");
    if report.cases >= 32 {
        assert_eq!(report.missed_core_paths(), vec![], "{report}");
    }
}

async fn race(name: &str, grace_secs: u64, default_rounds: u32) {
    with_fresh_prefix(name, move |prefix| async move {
        let store = store_at(&prefix).await;
        let settings = RaceSettings::from_env(default_rounds, grace_secs);
        let report = run_refresh_race("redis", Arc::new(store), settings)
            .await
            .unwrap();
        eprintln!("{report}");
        assert_eq!(report.double_spends, 0, "{report}");
        assert_eq!(report.wrongful_logouts, 0, "{report}");
    })
    .await;
}

/// 50 clients racing one refresh token, inside the default 10-second grace window.
/// `AUTH_RACE_ROUNDS` for the full run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_race_redis_grace() {
    race("race-grace", 10, 500).await;
}

/// The same without a grace window: the token is spent exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_race_redis_no_grace() {
    race("race-no-grace", 0, 500).await;
}
