//! The `counters` (fixed-window rate limits) and `failures` (consecutive failures, until they
//! expire) tables.

use auth_core::store::{Counter, Failures};
use chrono::{DateTime, Utc};
use deadpool_postgres::ClientWrapper;
use tokio_postgres::Row;

use crate::codec::{self, get};
use crate::error::{DbResult, corrupt};

/// One hit, as a single upsert: a missing or ended window restarts at 1, otherwise the count
/// grows and the window end stays. Both `CASE`s read the row as it was before the update;
/// concurrent hits on one key queue on its row lock (or on the insertion of a new key), so
/// none is lost.
pub(crate) async fn hit(
    c: &ClientWrapper,
    key: &str,
    window_ends: DateTime<Utc>,
    now: DateTime<Utc>,
) -> DbResult<Counter> {
    let stmt = c
        .prepare_cached(
            "INSERT INTO counters AS c (key, count, resets_at) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET \
               count     = CASE WHEN c.resets_at <= $3 THEN 1  ELSE c.count + 1 END, \
               resets_at = CASE WHEN c.resets_at <= $3 THEN $2 ELSE c.resets_at END \
             RETURNING count, resets_at",
        )
        .await?;
    let row = c
        .query_opt(
            &stmt,
            &[&key, &codec::time(window_ends)?, &codec::time(now)?],
        )
        .await?
        .ok_or_else(|| corrupt("counters", format!("upsert of {key:?} returned no row")))?;
    Ok(Counter {
        count: codec::count_from("counters", "count", get(&row, 0)?)?,
        resets_at: codec::time_from(get(&row, 1)?),
    })
}

/// Adds one failure, as a single upsert: a missing or expired count (`expires_at <= at`)
/// restarts at 1, otherwise it grows (saturating at `u32::MAX`); either way `last_at` becomes
/// `at` and `expires_at` the given one. The `CASE` reads the row as it was before the update.
pub(crate) async fn add_failure(
    c: &ClientWrapper,
    key: &str,
    at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> DbResult<Failures> {
    let stmt = c
        .prepare_cached(
            "INSERT INTO failures AS f (key, count, last_at, expires_at) VALUES ($1, 1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET \
               count      = CASE WHEN f.expires_at <= $2 THEN 1 \
                                 ELSE least(f.count + 1, 4294967295) END, \
               last_at    = $2, \
               expires_at = $3 \
             RETURNING count, last_at, expires_at",
        )
        .await?;
    let row = c
        .query_opt(&stmt, &[&key, &codec::time(at)?, &codec::time(expires_at)?])
        .await?
        .ok_or_else(|| corrupt("failures", format!("upsert of {key:?} returned no row")))?;
    read_failures(&row)
}

/// The failure count of `key` as it stands at `now` (`None` when absent or expired).
pub(crate) async fn failures(
    c: &ClientWrapper,
    key: &str,
    now: DateTime<Utc>,
) -> DbResult<Option<Failures>> {
    let stmt = c
        .prepare_cached(
            "SELECT count, last_at, expires_at FROM failures WHERE key = $1 AND expires_at > $2",
        )
        .await?;
    c.query_opt(&stmt, &[&key, &codec::time(now)?])
        .await?
        .map(|row| read_failures(&row))
        .transpose()
}

/// Forgets the failures of `key`.
pub(crate) async fn clear_failures(c: &ClientWrapper, key: &str) -> DbResult<()> {
    let stmt = c
        .prepare_cached("DELETE FROM failures WHERE key = $1")
        .await?;
    let _ = c.execute(&stmt, &[&key]).await?;
    Ok(())
}

/// `count, last_at, expires_at` of a `failures` row.
fn read_failures(row: &Row) -> DbResult<Failures> {
    Ok(Failures {
        count: codec::count32_from("failures", "count", get(row, 0)?)?,
        last_at: codec::time_from(get(row, 1)?),
        expires_at: codec::time_from(get(row, 2)?),
    })
}
