//! The `counters` (fixed-window rate limits) and `failures` (consecutive failures, until they
//! expire) tables.

use auth_core::store::{Counter, Failures};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension as _, Row};

use crate::codec;
use crate::error::{DbResult, corrupt};
use crate::sql::returning_one;

/// One hit, as a single upsert: a missing or ended window restarts at 1, otherwise the count
/// grows and the window end stays. Both `CASE`s read the row as it was before the update.
pub(crate) fn hit(
    conn: &Connection,
    key: &str,
    window_ends: DateTime<Utc>,
    now: DateTime<Utc>,
) -> DbResult<Counter> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO counters (key, count, resets_at) VALUES (?1, 1, ?2) \
         ON CONFLICT (key) DO UPDATE SET \
           count     = CASE WHEN resets_at <= ?3 THEN 1  ELSE count + 1 END, \
           resets_at = CASE WHEN resets_at <= ?3 THEN ?2 ELSE resets_at END \
         RETURNING count, resets_at",
    )?;
    let row: Option<(i64, i64)> = returning_one(
        &mut stmt,
        (key, codec::time(window_ends)?, codec::time(now)?),
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    let (count, resets_at) =
        row.ok_or_else(|| corrupt("counters", format!("upsert of {key:?} returned no row")))?;
    Ok(Counter {
        count: codec::count_from("counters", "count", count)?,
        resets_at: codec::time_from(resets_at),
    })
}

/// Adds one failure, as a single upsert: a missing or expired count (`expires_at <= at`)
/// restarts at 1, otherwise it grows (saturating at `u32::MAX`); either way `last_at` becomes
/// `at` and `expires_at` the given one. The `CASE` reads the row as it was before the update.
pub(crate) fn add_failure(
    conn: &Connection,
    key: &str,
    at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> DbResult<Failures> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO failures (key, count, last_at, expires_at) VALUES (?1, 1, ?2, ?3) \
         ON CONFLICT (key) DO UPDATE SET \
           count      = CASE WHEN expires_at <= ?2 THEN 1 ELSE min(count + 1, 4294967295) END, \
           last_at    = ?2, \
           expires_at = ?3 \
         RETURNING count, last_at, expires_at",
    )?;
    let row = returning_one(
        &mut stmt,
        (key, codec::time(at)?, codec::time(expires_at)?),
        FailuresRow::read,
    )?;
    row.ok_or_else(|| corrupt("failures", format!("upsert of {key:?} returned no row")))?
        .into_failures()
}

/// The failure count of `key` as it stands at `now` (`None` when absent or expired).
pub(crate) fn failures(
    conn: &Connection,
    key: &str,
    now: DateTime<Utc>,
) -> DbResult<Option<Failures>> {
    conn.prepare_cached(
        "SELECT count, last_at, expires_at FROM failures WHERE key = ?1 AND expires_at > ?2",
    )?
    .query_row((key, codec::time(now)?), FailuresRow::read)
    .optional()?
    .map(FailuresRow::into_failures)
    .transpose()
}

/// `count, last_at, expires_at` of a `failures` row, before the count is checked.
struct FailuresRow(i64, i64, i64);

impl FailuresRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self(row.get(0)?, row.get(1)?, row.get(2)?))
    }

    fn into_failures(self) -> DbResult<Failures> {
        Ok(Failures {
            count: codec::count32_from("failures", "count", self.0)?,
            last_at: codec::time_from(self.1),
            expires_at: codec::time_from(self.2),
        })
    }
}

/// Forgets the failures of `key`.
pub(crate) fn clear_failures(conn: &Connection, key: &str) -> DbResult<()> {
    let _ = conn
        .prepare_cached("DELETE FROM failures WHERE key = ?1")?
        .execute([key])?;
    Ok(())
}
