//! The model-based test (`auth_core::testkit::model`) and the refresh race on a real
//! PostgreSQL (`DATABASE_URL`), each case in a fresh schema that is dropped afterwards.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;

use auth_core::testkit::model::race::{RaceSettings, run_refresh_race};
use auth_core::testkit::model::{ModelSettings, StoreUnderTest, run_model};
use store_postgres::PgStore;

use common::with_fresh_schema;

/// Random sequences of every flow, checked step by step against the reference model.
/// `AUTH_MODEL_CASES` / `AUTH_MODEL_STEPS` for a longer run.
#[test]
fn model_postgres_store() {
    let report = run_model("postgres", ModelSettings::from_env(64), || {
        Box::pin(async {
            let schema = common::fresh_schema();
            let store = PgStore::connect(common::config(&schema))
                .await
                .map_err(|e| e.to_string())?;
            Ok(
                StoreUnderTest::new(Arc::new(store)).with_teardown(async move {
                    common::drop_schema(&schema).await;
                }),
            )
        })
    });
    eprintln!("{report}");
    if report.cases >= 32 {
        assert_eq!(report.missed_core_paths(), vec![], "{report}");
    }
}

async fn race(grace_secs: u64, default_rounds: u32) {
    with_fresh_schema(move |schema| async move {
        let store = common::store_in(&schema).await;
        let settings = RaceSettings::from_env(default_rounds, grace_secs);
        let report = run_refresh_race("postgres", Arc::new(store), settings)
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
async fn refresh_race_postgres_grace() {
    race(10, 500).await;
}

/// The same without a grace window: the token is spent exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_race_postgres_no_grace() {
    race(0, 500).await;
}
