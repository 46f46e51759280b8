//! The schema and its migrations.
//!
//! The schema version lives in SQLite's `PRAGMA user_version` (one integer in the file
//! header); `schema_migrations` additionally logs when each version was applied. On open,
//! [`migrate`] runs, inside one `BEGIN IMMEDIATE` transaction, every migration newer than the
//! file's version, so two processes opening a fresh file at once cannot both migrate it and a
//! failed migration leaves the file as it was. A file whose version is newer than this library
//! knows is refused rather than misread.
//!
//! To change the schema, append a migration: never edit one that has shipped.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{DbError, DbResult};

/// One schema step.
#[derive(Debug)]
pub(crate) struct Migration {
    /// The `user_version` after it ran (1, 2, 3, … without gaps).
    pub(crate) version: i64,
    /// What it does, for the log.
    pub(crate) name: &'static str,
    /// The statements.
    pub(crate) sql: &'static str,
}

/// Every migration, oldest first.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "users, challenges, sessions, counters, failures",
        sql: V1,
    },
    Migration {
        version: 2,
        name: "email_tokens",
        sql: V2,
    },
    Migration {
        version: 3,
        name: "users_owner index",
        sql: V3,
    },
    Migration {
        version: 4,
        name: "users.credentials_changed_at; failures expire",
        sql: V4,
    },
];

/// The schema version this library writes.
pub(crate) const LATEST: i64 = 4;

/// Version 1. Tables are `STRICT` (SQLite checks every value's type). Times are Unix
/// nanoseconds, ids 16-byte UUID blobs (see `codec.rs`). Every lookup the core makes has an
/// index: users by id / phone / email / username (the unique ones, partial so absent values
/// take no space), sessions by id and by user, and the expiry columns the purge scans.
const V1: &str = "
CREATE TABLE schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    id               BLOB    NOT NULL PRIMARY KEY,
    phone            TEXT,
    email            TEXT,
    username         TEXT,
    password_hash    TEXT,
    roles            TEXT    NOT NULL,
    profile          TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    login_count      INTEGER NOT NULL,
    last_login_at    INTEGER,
    last_login_ip    BLOB,
    current_login_at INTEGER,
    current_login_ip BLOB
) STRICT;
CREATE UNIQUE INDEX users_phone    ON users (phone)    WHERE phone    IS NOT NULL;
CREATE UNIQUE INDEX users_email    ON users (email)    WHERE email    IS NOT NULL;
CREATE UNIQUE INDEX users_username ON users (username) WHERE username IS NOT NULL;

CREATE TABLE challenges (
    id          BLOB    NOT NULL PRIMARY KEY,
    purpose     TEXT    NOT NULL,
    phone       TEXT    NOT NULL,
    user_id     BLOB,
    code_hash   BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL,
    consumed_at INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX challenges_expires_at ON challenges (expires_at);

CREATE TABLE sessions (
    id                 BLOB    NOT NULL PRIMARY KEY,
    user_id            BLOB    NOT NULL,
    created_at         INTEGER NOT NULL,
    last_used_at       INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    ip                 BLOB,
    user_agent         TEXT,
    refresh_generation INTEGER NOT NULL,
    refresh_hash       BLOB    NOT NULL,
    refresh_issued_at  INTEGER NOT NULL,
    revoked_at         INTEGER,
    revoke_reason      TEXT,
    CHECK ((revoked_at IS NULL) = (revoke_reason IS NULL))
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_user_id    ON sessions (user_id, created_at);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE counters (
    key       TEXT    NOT NULL PRIMARY KEY,
    count     INTEGER NOT NULL,
    resets_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX counters_resets_at ON counters (resets_at);

CREATE TABLE failures (
    key   TEXT    NOT NULL PRIMARY KEY,
    count INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
";

/// The schema version recorded in the file.
/// Version 2: emailed one-time tokens, looked up by their keyed hash.
const V2: &str = "
CREATE TABLE email_tokens (
    hash        BLOB    NOT NULL PRIMARY KEY,
    purpose     TEXT    NOT NULL,
    user_id     BLOB    NOT NULL,
    email       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    consumed_at INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX email_tokens_expires_at ON email_tokens (expires_at);
";

/// Version 3: a covering index for the per-request session check, which reads the owner's
/// status and roles by id (`sessions::WITH_OWNER`). From this index alone: one B-tree descent
/// instead of two (the primary-key index, then the rowid table), which on a file far larger
/// than the page cache is one page read fewer per check. Only inserts and changes of `status`
/// or `roles` write it.
const V3: &str = "
CREATE INDEX users_owner ON users (id, status, roles);
";

/// Version 4: when a user's credential last changed (nullable, like the other optional times),
/// and consecutive-failure counts that expire: `last_at` (the latest failure) and
/// `expires_at` (after which the count reads as absent and the purge deletes it, through the
/// new index).
///
/// `failures` is rebuilt rather than altered: SQLite can only add a `NOT NULL` column with a
/// constant default, which would then stay in the schema for every later insert. Counts from
/// a version-3 file had no expiry, and the migration knows no caller's clock, so each one
/// keeps its count with `last_at` = the migration's wall-clock time (to the second) and
/// `expires_at` = that + 48 hours: a caller that reads the same key again still sees its
/// count for a while, and no old count (which could be arbitrarily stale) lives on forever.
/// The core of this version counts under other keys (keyed hashes), so for it those rows
/// are dead: the expiry lets the purge reclaim them, and with them the phone numbers and
/// account names their keys spell out.
const V4: &str = "
ALTER TABLE users ADD COLUMN credentials_changed_at INTEGER;

CREATE TABLE failures_v4 (
    key        TEXT    NOT NULL PRIMARY KEY,
    count      INTEGER NOT NULL,
    last_at    INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO failures_v4 (key, count, last_at, expires_at)
    SELECT key, count, unixepoch() * 1000000000, (unixepoch() + 48 * 3600) * 1000000000
    FROM failures;
DROP TABLE failures;
ALTER TABLE failures_v4 RENAME TO failures;
CREATE INDEX failures_expires_at ON failures (expires_at);
";

pub(crate) fn version(conn: &Connection) -> DbResult<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |row| row.get(0))?)
}

/// Brings the file up to [`LATEST`]; returns how many migrations ran.
pub(crate) fn migrate(conn: &mut Connection) -> DbResult<usize> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current = version(&tx)?;
    if current > LATEST {
        return Err(DbError::Store(auth_core::StoreError::Unavailable(format!(
            "sqlite: the database has schema version {current}, newer than the {LATEST} this \
             store-sqlite knows; upgrade the library"
        ))));
    }
    let mut ran = 0;
    for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.execute_batch(migration.sql)?;
        let _ = tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) \
             VALUES (?1, ?2, unixepoch())",
            (migration.version, migration.name),
        )?;
        tx.pragma_update(None, "user_version", migration.version)?;
        ran += 1;
    }
    tx.commit()?;
    Ok(ran)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive_and_end_at_latest() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(LATEST));
    }

    #[test]
    fn migrating_twice_runs_nothing_the_second_time() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), MIGRATIONS.len());
        assert_eq!(migrate(&mut conn).unwrap(), 0);
        assert_eq!(version(&conn).unwrap(), LATEST);
    }

    /// A file written by an older version keeps its rows, and the new index covers them.
    #[test]
    fn a_version_2_file_gains_the_owner_index_over_its_users() {
        let mut conn = Connection::open_in_memory().unwrap();
        for migration in MIGRATIONS.iter().take(2) {
            conn.execute_batch(migration.sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 2).unwrap();
        conn.execute(
            "INSERT INTO users (id, roles, profile, status, created_at, login_count) \
             VALUES (x'01', '[\"admin\"]', '{}', 'active', 0, 0)",
            [],
        )
        .unwrap();

        assert_eq!(migrate(&mut conn).unwrap(), MIGRATIONS.len() - 2);
        assert_eq!(version(&conn).unwrap(), LATEST);
        let (status, roles): (String, String) = conn
            .query_row(
                "SELECT status, roles FROM users INDEXED BY users_owner WHERE id = x'01'",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!((status.as_str(), roles.as_str()), ("active", "[\"admin\"]"));
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }
}
