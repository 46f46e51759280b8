//! The `counters` (fixed-window rate limits) and `failures` (consecutive failures) tables.

use auth_core::store::Counter;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension as _};

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

/// Adds one failure (saturating at `u32::MAX`) and returns the new count.
pub(crate) fn add_failure(conn: &Connection, key: &str) -> DbResult<u32> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO failures (key, count) VALUES (?1, 1) \
         ON CONFLICT (key) DO UPDATE SET count = min(count + 1, 4294967295) \
         RETURNING count",
    )?;
    let count: Option<i64> = returning_one(&mut stmt, [key], |row| row.get(0))?;
    let count =
        count.ok_or_else(|| corrupt("failures", format!("upsert of {key:?} returned no row")))?;
    codec::count32_from("failures", "count", count)
}

/// The current failure count (0 when absent).
pub(crate) fn failures(conn: &Connection, key: &str) -> DbResult<u32> {
    let count: Option<i64> = conn
        .prepare_cached("SELECT count FROM failures WHERE key = ?1")?
        .query_row([key], |row| row.get(0))
        .optional()?;
    count.map_or(Ok(0), |n| codec::count32_from("failures", "count", n))
}

/// Forgets the failures of `key`.
pub(crate) fn clear_failures(conn: &Connection, key: &str) -> DbResult<()> {
    let _ = conn
        .prepare_cached("DELETE FROM failures WHERE key = ?1")?
        .execute([key])?;
    Ok(())
}
