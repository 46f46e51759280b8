//! The schema and its migrations.
//!
//! Every table lives in the configured schema (the connections' `search_path`), which the
//! first migration run creates. `schema_migrations` records each version applied (the
//! highest is the schema's version). At connect, [`migrate`] runs, in **one transaction**
//! holding a transaction-scoped advisory lock derived from the schema name, every migration
//! newer than the schema's version: several app instances starting at once on a new schema
//! queue on the lock, the first migrates and the others find nothing left to do; a failed
//! migration rolls back whole (PostgreSQL's DDL is transactional). A schema whose version is
//! newer than this library knows is refused rather than misread.
//!
//! To change the schema, append a migration: never edit one that has shipped.

use tokio_postgres::Client;

use crate::error::{DbError, DbResult, unavailable};

/// One schema step.
#[derive(Debug)]
pub(crate) struct Migration {
    /// The schema's version after it ran (1, 2, … without gaps).
    pub(crate) version: i64,
    /// What it does, for `schema_migrations`.
    pub(crate) name: &'static str,
    /// The statements.
    pub(crate) sql: &'static str,
}

/// Every migration, oldest first.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "users, challenges, email_tokens, sessions, counters, failures",
        sql: V1,
    },
    Migration {
        version: 2,
        name: "indexes: live sessions by user, expiry columns for the purges",
        sql: V2,
    },
];

/// The schema version this library writes.
pub(crate) const LATEST: i64 = 2;

/// Version 1: the tables. Times are `bigint` Unix nanoseconds, ids `uuid` (see `codec.rs`).
/// Constraints are named explicitly: a unique violation is mapped to the field it concerns by
/// its constraint's name (`error.rs`). Roles and profile are JSON as text, so they read back
/// byte for byte (`jsonb` would turn `-0.0` into `0` and rewrite numbers).
const V1: &str = "
CREATE TABLE users (
    id                     uuid    NOT NULL,
    phone                  text,
    email                  text,
    username               text,
    password_hash          text,
    roles                  text    NOT NULL,
    profile                text    NOT NULL,
    status                 text    NOT NULL,
    credentials_changed_at bigint,
    created_at             bigint  NOT NULL,
    login_count            bigint  NOT NULL,
    last_login_at          bigint,
    last_login_ip          inet,
    current_login_at       bigint,
    current_login_ip       inet,
    CONSTRAINT users_pkey         PRIMARY KEY (id),
    CONSTRAINT users_phone_key    UNIQUE (phone),
    CONSTRAINT users_email_key    UNIQUE (email),
    CONSTRAINT users_username_key UNIQUE (username)
);

CREATE TABLE challenges (
    id          uuid   NOT NULL,
    purpose     text   NOT NULL,
    phone       text   NOT NULL,
    user_id     uuid,
    code_hash   bytea  NOT NULL,
    created_at  bigint NOT NULL,
    expires_at  bigint NOT NULL,
    attempts    bigint NOT NULL,
    consumed_at bigint,
    CONSTRAINT challenges_pkey PRIMARY KEY (id)
);

CREATE TABLE email_tokens (
    hash        bytea  NOT NULL,
    purpose     text   NOT NULL,
    user_id     uuid   NOT NULL,
    email       text   NOT NULL,
    created_at  bigint NOT NULL,
    expires_at  bigint NOT NULL,
    consumed_at bigint,
    CONSTRAINT email_tokens_pkey PRIMARY KEY (hash)
);

CREATE TABLE sessions (
    id                 uuid   NOT NULL,
    user_id            uuid   NOT NULL,
    created_at         bigint NOT NULL,
    last_used_at       bigint NOT NULL,
    expires_at         bigint NOT NULL,
    ip                 inet,
    user_agent         text,
    refresh_generation bigint NOT NULL,
    refresh_hash       bytea  NOT NULL,
    refresh_issued_at  bigint NOT NULL,
    revoked_at         bigint,
    revoke_reason      text,
    CONSTRAINT sessions_pkey PRIMARY KEY (id),
    CONSTRAINT sessions_revoked_together CHECK ((revoked_at IS NULL) = (revoke_reason IS NULL))
);

CREATE TABLE counters (
    key       text   NOT NULL,
    count     bigint NOT NULL,
    resets_at bigint NOT NULL,
    CONSTRAINT counters_pkey PRIMARY KEY (key)
);

CREATE TABLE failures (
    key        text   NOT NULL,
    count      bigint NOT NULL,
    last_at    bigint NOT NULL,
    expires_at bigint NOT NULL,
    CONSTRAINT failures_pkey PRIMARY KEY (key)
);
";

/// Version 2: the indexes beyond the primary keys and unique constraints. A partial index
/// of the live sessions by user (`sessions_of_user` and `revoke_user_sessions` read only
/// those; a revoked session leaves it), and one on each expiry column the purges scan.
const V2: &str = "
CREATE INDEX sessions_live_by_user    ON sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_expires_at      ON sessions (expires_at);
CREATE INDEX challenges_expires_at    ON challenges (expires_at);
CREATE INDEX email_tokens_expires_at  ON email_tokens (expires_at);
CREATE INDEX counters_resets_at       ON counters (resets_at);
CREATE INDEX failures_expires_at      ON failures (expires_at);
";

/// The schema's version: the highest applied, 0 when none (or no schema) yet.
pub(crate) async fn version(client: &Client, schema: &str) -> DbResult<i64> {
    let exists = client
        .query_opt(
            "SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'schema_migrations'",
            &[&schema],
        )
        .await?
        .is_some();
    if !exists {
        return Ok(0);
    }
    let row = client
        .query_one(
            &format!("SELECT coalesce(max(version), 0) FROM \"{schema}\".schema_migrations"),
            &[],
        )
        .await?;
    Ok(row.try_get(0)?)
}

/// Brings the schema up to [`LATEST`]; returns how many migrations ran.
pub(crate) async fn migrate(client: &mut Client, schema: &str) -> DbResult<usize> {
    migrate_to(client, schema, LATEST).await
}

/// Brings the schema up to version `target` (tests stop at older versions); returns how
/// many migrations ran. `schema` has been checked (`PgStoreConfig::checked_schema`), so it
/// can be quoted into statements.
pub(crate) async fn migrate_to(client: &mut Client, schema: &str, target: i64) -> DbResult<usize> {
    let tx = client.transaction().await?;
    let _ = tx
        .execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[&format!("store-postgres migrations: {schema}")],
        )
        .await?;
    // Checked before creating: `CREATE SCHEMA IF NOT EXISTS` needs the CREATE privilege on
    // the database even when the schema exists, which an app's role may lack.
    let exists = tx
        .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
        .await?
        .is_some();
    if !exists {
        tx.batch_execute(&format!("CREATE SCHEMA \"{schema}\""))
            .await?;
    }
    tx.batch_execute(&format!(
        "SET LOCAL search_path TO \"{schema}\";
         CREATE TABLE IF NOT EXISTS schema_migrations (
             version    bigint      NOT NULL PRIMARY KEY,
             name       text        NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         );"
    ))
    .await?;
    let current: i64 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .await?
        .try_get(0)?;
    if current > LATEST {
        return Err(DbError::Store(unavailable(format!(
            "schema `{schema}` has version {current}, newer than the {LATEST} this \
             store-postgres knows; upgrade the library"
        ))));
    }
    let mut ran = 0;
    for migration in MIGRATIONS
        .iter()
        .filter(|m| m.version > current && m.version <= target)
    {
        tx.batch_execute(migration.sql).await?;
        let _ = tx
            .execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                &[&migration.version, &migration.name],
            )
            .await?;
        ran += 1;
    }
    tx.commit().await?;
    if ran > 0 {
        tracing::info!(
            schema,
            from = current,
            ran,
            "store-postgres: schema migrated"
        );
    }
    Ok(ran)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::str::FromStr as _;

    use auth_core::ids::{SessionId, UserId};
    use auth_core::session::SessionStatus;
    use auth_core::store::{SessionStore as _, UserStore as _};

    use super::*;

    fn test_url() -> String {
        std::env::var("DATABASE_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned())
    }

    #[test]
    fn versions_are_consecutive_and_end_at_latest() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(LATEST));
    }

    /// A connection to the test database (`DATABASE_URL`) with `schema` as its search path,
    /// as the store's connections have.
    async fn connect(schema: &str) -> Client {
        let mut config = tokio_postgres::Config::from_str(&test_url()).unwrap();
        let _ = config.options(format!("-c search_path={schema}"));
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
        drop(tokio::spawn(async move {
            let _ = connection.await;
        }));
        client
    }

    /// A schema at version 1 holding a user, a live and a revoked session and a counter: a
    /// store connecting to it migrates it to version 2 (its indexes) and reads every row back,
    /// and the new partial index serves the live sessions of a user.
    #[tokio::test]
    async fn a_version_1_schema_is_migrated_with_its_rows() {
        let schema = format!("auth_test_{}", uuid::Uuid::new_v4().simple());
        let mut client = connect(&schema).await;
        let in_test = schema.clone();
        let outcome = async move {
            let schema = in_test;
            assert_eq!(migrate_to(&mut client, &schema, 1).await.unwrap(), 1);
            assert_eq!(version(&client, &schema).await.unwrap(), 1);
            client
                .batch_execute(
                    "INSERT INTO users (id, roles, profile, status, created_at, login_count) \
                     VALUES ('00000000-0000-0000-0000-000000000001', '[\"admin\"]', '{}', \
                             'active', 0, 0);
                     INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, \
                         refresh_generation, refresh_hash, refresh_issued_at) \
                     VALUES ('00000000-0000-0000-0000-00000000000a', \
                             '00000000-0000-0000-0000-000000000001', 0, 0, 100, 0, decode(repeat('ab', 32), 'hex'), 0);
                     INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, \
                         refresh_generation, refresh_hash, refresh_issued_at, revoked_at, \
                         revoke_reason) \
                     VALUES ('00000000-0000-0000-0000-00000000000b', \
                             '00000000-0000-0000-0000-000000000001', 0, 0, 100, 0, decode(repeat('ab', 32), 'hex'), 0, \
                             1, 'logout');
                     INSERT INTO counters (key, count, resets_at) VALUES ('k', 3, 50);",
                )
                .await
                .unwrap();

            // A store connecting to it runs version 2 and reads the old rows.
            let store = crate::PgStore::connect(
                crate::PgStoreConfig::new(test_url()).schema(schema.as_str()),
            )
            .await
            .unwrap();
            assert_eq!(store.schema_version().await.unwrap(), LATEST);
            assert_eq!(version(&client, &schema).await.unwrap(), LATEST);
            let user_id = UserId::from_uuid(uuid::Uuid::from_u128(1));
            let user = store.user_by_id(user_id).await.unwrap().unwrap();
            assert_eq!(user.roles, vec!["admin".to_owned()]);
            let live = store.sessions_of_user(user_id).await.unwrap();
            assert_eq!(live.len(), 1);
            assert_eq!(live[0].id, SessionId::from_uuid(uuid::Uuid::from_u128(10)));
            let revoked = store
                .session(SessionId::from_uuid(uuid::Uuid::from_u128(11)))
                .await
                .unwrap()
                .unwrap();
            assert!(matches!(revoked.status, SessionStatus::Revoked { .. }));
            assert_eq!(
                migrate(&mut client, &schema).await.unwrap(),
                0,
                "nothing left to do"
            );

            let live: Vec<uuid::Uuid> = client
                .query(
                    "SELECT id FROM sessions WHERE user_id = \
                     '00000000-0000-0000-0000-000000000001' AND revoked_at IS NULL",
                    &[],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            assert_eq!(
                live,
                vec![uuid::Uuid::from_str("00000000-0000-0000-0000-00000000000a").unwrap()]
            );
            let counters: i64 = client
                .query_one("SELECT count FROM counters WHERE key = 'k'", &[])
                .await
                .unwrap()
                .get(0);
            assert_eq!(counters, 3);
            let indexes: Vec<String> = client
                .query(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname",
                    &[&schema],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            for index in [
                "challenges_expires_at",
                "counters_resets_at",
                "email_tokens_expires_at",
                "failures_expires_at",
                "sessions_expires_at",
                "sessions_live_by_user",
            ] {
                assert!(indexes.iter().any(|i| i == index), "{index} in {indexes:?}");
            }
            // The planner takes the partial index for the live sessions of a user.
            client
                .batch_execute("SET enable_seqscan = off")
                .await
                .unwrap();
            let plan: Vec<String> = client
                .query(
                    "EXPLAIN SELECT id FROM sessions WHERE user_id = \
                     '00000000-0000-0000-0000-000000000001' AND revoked_at IS NULL",
                    &[],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            assert!(
                plan.iter().any(|l| l.contains("sessions_live_by_user")),
                "{plan:?}"
            );
        };
        let outcome = tokio::spawn(async move {
            outcome.await;
        })
        .await;
        connect("public")
            .await
            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .await
            .unwrap();
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}
