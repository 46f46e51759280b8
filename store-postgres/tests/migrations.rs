//! The embedded migrations: from an empty schema, several instances starting at once, and a
//! schema newer than this library (refused). The step from version 1 to 2 with rows in the
//! tables is a unit test of `schema.rs` (it needs the crate-private migration to version 1).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use auth_core::StoreError;
use auth_core::store::UserStore as _;
use auth_core::{User, UserId};
use chrono::{SubsecRound as _, Utc};
use store_postgres::{PgStore, PgStoreConfig};

async fn applied_versions(schema: &str) -> Vec<i64> {
    common::raw()
        .await
        .query(
            &format!("SELECT version FROM \"{schema}\".schema_migrations ORDER BY version"),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_schema_is_created_and_migrated_to_the_latest_version() {
    common::with_fresh_schema(|schema| async move {
        let store = common::store_in(&schema).await;
        assert_eq!(store.schema_version().await.unwrap(), 2);
        assert_eq!(applied_versions(&schema).await, vec![1, 2]);
        let tables: Vec<String> = common::raw()
            .await
            .query(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = $1 ORDER BY 1",
                &[&schema],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(
            tables,
            [
                "challenges",
                "counters",
                "email_tokens",
                "failures",
                "schema_migrations",
                "sessions",
                "users"
            ]
        );
        // The store works, and a second store on the schema migrates nothing again.
        let user = User::new(UserId::new_random(), Utc::now().trunc_subsecs(3));
        store.create_user(&user).await.unwrap();
        let again = common::store_in(&schema).await;
        assert_eq!(again.user_by_id(user.id).await.unwrap(), Some(user));
        assert_eq!(applied_versions(&schema).await, vec![1, 2]);
    })
    .await;
}

/// Instances starting together on a new schema queue on the advisory lock: every one
/// connects, and each migration ran exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_starting_at_once_migrate_once() {
    common::with_fresh_schema(|schema| async move {
        let starts: Vec<_> = (0..8)
            .map(|_| {
                let config = common::config(&schema).pool_size(1);
                tokio::spawn(async move { PgStore::connect(config).await })
            })
            .collect();
        for start in starts {
            let store = start.await.unwrap().unwrap();
            assert_eq!(store.schema_version().await.unwrap(), 2);
        }
        assert_eq!(applied_versions(&schema).await, vec![1, 2]);
    })
    .await;
}

/// A schema written by a newer version of the crate is refused at connect (and by a lazy
/// store at its first call), with a message that says so, rather than misread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_schema_is_refused() {
    common::with_fresh_schema(|schema| async move {
        drop(common::store_in(&schema).await);
        let _ = common::raw()
            .await
            .execute(
                &format!(
                    "INSERT INTO \"{schema}\".schema_migrations (version, name) \
                     VALUES (99, 'from the future')"
                ),
                &[],
            )
            .await
            .unwrap();
        match PgStore::connect(common::config(&schema)).await {
            Err(StoreError::Unavailable(message)) => {
                assert!(message.contains("version 99"), "{message}");
                assert!(message.contains("newer"), "{message}");
            }
            other => panic!("expected the newer schema to be refused, got {other:?}"),
        }
        let lazy = PgStore::connect_lazy(common::config(&schema)).unwrap();
        assert!(matches!(
            lazy.user_by_id(UserId::new_random()).await,
            Err(StoreError::Unavailable(_))
        ));
        assert_eq!(applied_versions(&schema).await, vec![1, 2, 99]);
    })
    .await;
}

#[tokio::test]
async fn invalid_schema_names_are_refused_before_connecting() {
    for schema in ["Auth", "auth; DROP TABLE users", "pg_auth", ""] {
        let result =
            PgStore::connect(PgStoreConfig::new(common::database_url()).schema(schema)).await;
        assert!(
            matches!(&result, Err(StoreError::Unavailable(m)) if m.contains("invalid schema name")),
            "{schema:?}: {result:?}"
        );
    }
}
