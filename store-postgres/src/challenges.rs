//! The `challenges` table (SMS code challenges).

use auth_core::challenge::{Challenge, ChallengePurpose};
use auth_core::ids::{ChallengeId, UserId};
use auth_core::phone::Phone;
use chrono::{DateTime, Utc};
use deadpool_postgres::ClientWrapper;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::codec::{self, get};
use crate::error::{DbResult, corrupt};

const TABLE: &str = "challenges";

/// Inserts a challenge; an id already taken is `Conflict(Id)` (at the boundary).
pub(crate) async fn insert(c: &ClientWrapper, ch: &Challenge) -> DbResult<()> {
    let stmt = c
        .prepare_cached(
            "INSERT INTO challenges (id, purpose, phone, user_id, code_hash, created_at, \
             expires_at, attempts, consumed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .await?;
    let _ = c
        .execute(
            &stmt,
            &[
                &ch.id.as_uuid(),
                &ch.purpose.as_str(),
                &ch.phone.as_str(),
                &ch.user_id.map(|u| u.as_uuid()),
                &ch.code_hash.as_bytes().as_slice(),
                &codec::time(ch.created_at)?,
                &codec::time(ch.expires_at)?,
                &i64::from(ch.attempts),
                &codec::opt_time(ch.consumed_at)?,
            ],
        )
        .await?;
    Ok(())
}

/// The challenge with this id.
pub(crate) async fn get_one(c: &ClientWrapper, id: ChallengeId) -> DbResult<Option<Challenge>> {
    let stmt = c
        .prepare_cached(
            "SELECT id, purpose, phone, user_id, code_hash, created_at, expires_at, attempts, \
             consumed_at FROM challenges WHERE id = $1",
        )
        .await?;
    c.query_opt(&stmt, &[&id.as_uuid()])
        .await?
        .map(|row| read(&row))
        .transpose()
}

/// Reserves an attempt in one conditional `UPDATE … RETURNING`.
pub(crate) async fn claim_attempt(
    c: &ClientWrapper,
    id: ChallengeId,
    max_attempts: u32,
) -> DbResult<Option<u32>> {
    let stmt = c
        .prepare_cached(
            "UPDATE challenges SET attempts = attempts + 1 \
             WHERE id = $1 AND consumed_at IS NULL AND attempts < $2 \
             RETURNING attempts",
        )
        .await?;
    let row = c
        .query_opt(&stmt, &[&id.as_uuid(), &i64::from(max_attempts)])
        .await?;
    row.map(|row| codec::count32_from(TABLE, "attempts", get(&row, 0)?))
        .transpose()
}

/// Marks the challenge consumed unless it already is.
pub(crate) async fn consume(
    c: &ClientWrapper,
    id: ChallengeId,
    at: DateTime<Utc>,
) -> DbResult<bool> {
    let stmt = c
        .prepare_cached(
            "UPDATE challenges SET consumed_at = $2 WHERE id = $1 AND consumed_at IS NULL",
        )
        .await?;
    let n = c
        .execute(&stmt, &[&id.as_uuid(), &codec::time(at)?])
        .await?;
    Ok(n == 1)
}

fn read(row: &Row) -> DbResult<Challenge> {
    let purpose: String = get(row, 1)?;
    let phone: String = get(row, 2)?;
    let user_id: Option<Uuid> = get(row, 3)?;
    let code_hash: &[u8] = get(row, 4)?;
    Ok(Challenge {
        id: ChallengeId::from_uuid(get(row, 0)?),
        purpose: ChallengePurpose::parse(&purpose)
            .ok_or_else(|| corrupt(TABLE, format!("`purpose` = {purpose:?} does not parse")))?,
        phone: Phone::parse(&phone, false)
            .map_err(|_| corrupt(TABLE, format!("`phone` = {phone:?} does not parse")))?,
        user_id: user_id.map(UserId::from_uuid),
        code_hash: codec::hash_from(TABLE, "code_hash", code_hash)?,
        created_at: codec::time_from(get(row, 5)?),
        expires_at: codec::time_from(get(row, 6)?),
        attempts: codec::count32_from(TABLE, "attempts", get(row, 7)?)?,
        consumed_at: codec::opt_time_from(get(row, 8)?),
    })
}
