//! Deleting what can no longer be used: one statement per store trait's purge, each
//! `expiry_column <= now` over indexed columns (schema version 2).

use chrono::{DateTime, Utc};
use deadpool_postgres::ClientWrapper;

use crate::codec::{self, get};
use crate::error::DbResult;

/// The purge of `ChallengeStore`.
pub(crate) const CHALLENGES: &str = "DELETE FROM challenges WHERE expires_at <= $1";
/// The purge of `OneTimeTokenStore`.
pub(crate) const EMAIL_TOKENS: &str = "DELETE FROM email_tokens WHERE expires_at <= $1";
/// The purge of `SessionStore`.
pub(crate) const SESSIONS: &str = "DELETE FROM sessions WHERE expires_at <= $1";
/// The purge of `CounterStore`: counters and failure counts, in one statement.
pub(crate) const COUNTERS: &str = "WITH c AS (DELETE FROM counters WHERE resets_at <= $1 RETURNING 1), \
     f AS (DELETE FROM failures WHERE expires_at <= $1 RETURNING 1) \
     SELECT (SELECT count(*) FROM c) + (SELECT count(*) FROM f)";

/// Runs a `DELETE` of the records past their expiry at `now`; returns how many went.
pub(crate) async fn delete(c: &ClientWrapper, sql: &str, now: DateTime<Utc>) -> DbResult<u64> {
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.execute(&stmt, &[&codec::time(now)?]).await?)
}

/// Runs [`COUNTERS`]; returns how many rows went.
pub(crate) async fn counters(c: &ClientWrapper, now: DateTime<Utc>) -> DbResult<u64> {
    let stmt = c.prepare_cached(COUNTERS).await?;
    let row = c.query_one(&stmt, &[&codec::time(now)?]).await?;
    let removed: i64 = get(&row, 0)?;
    Ok(u64::try_from(removed).unwrap_or(0))
}
