//! The `challenges` table (SMS code challenges).

use auth_core::challenge::{Challenge, ChallengePurpose};
use auth_core::ids::{ChallengeId, UserId};
use auth_core::phone::Phone;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension as _, Row};

use crate::codec;
use crate::error::{DbResult, conflict_or, corrupt};

const TABLE: &str = "challenges";

/// Inserts a challenge; an id already taken is `Conflict(Id)`.
pub(crate) fn insert(conn: &Connection, c: &Challenge) -> DbResult<()> {
    let result = conn
        .prepare_cached(
            "INSERT INTO challenges (id, purpose, phone, user_id, code_hash, created_at, \
             expires_at, attempts, consumed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute((
            c.id.as_uuid().as_bytes(),
            c.purpose.as_str(),
            c.phone.as_str(),
            c.user_id.map(|u| *u.as_uuid().as_bytes()),
            c.code_hash.as_bytes(),
            codec::time(c.created_at)?,
            codec::time(c.expires_at)?,
            c.attempts,
            codec::opt_time(c.consumed_at)?,
        ));
    match result {
        Ok(_) => Ok(()),
        Err(e) => Err(conflict_or(e.into())),
    }
}

/// The challenge with this id.
pub(crate) fn get(conn: &Connection, id: ChallengeId) -> DbResult<Option<Challenge>> {
    let raw = conn
        .prepare_cached(
            "SELECT id, purpose, phone, user_id, code_hash, created_at, expires_at, attempts, \
             consumed_at FROM challenges WHERE id = ?1",
        )?
        .query_row([id.as_uuid().as_bytes()], Raw::read)
        .optional()?;
    raw.map(Raw::into_challenge).transpose()
}

/// Reserves an attempt in one conditional `UPDATE … RETURNING`.
pub(crate) fn claim_attempt(
    conn: &Connection,
    id: ChallengeId,
    max_attempts: u32,
) -> DbResult<Option<u32>> {
    let mut stmt = conn.prepare_cached(
        "UPDATE challenges SET attempts = attempts + 1 \
         WHERE id = ?1 AND consumed_at IS NULL AND attempts < ?2 \
         RETURNING attempts",
    )?;
    let attempts: Option<i64> =
        crate::sql::returning_one(&mut stmt, (id.as_uuid().as_bytes(), max_attempts), |row| {
            row.get(0)
        })?;
    attempts
        .map(|n| codec::count32_from(TABLE, "attempts", n))
        .transpose()
}

/// Marks the challenge consumed unless it already is.
pub(crate) fn consume(conn: &Connection, id: ChallengeId, at: DateTime<Utc>) -> DbResult<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE challenges SET consumed_at = ?2 WHERE id = ?1 AND consumed_at IS NULL",
        )?
        .execute((id.as_uuid().as_bytes(), codec::time(at)?))?;
    Ok(n == 1)
}

struct Raw {
    id: Vec<u8>,
    purpose: String,
    phone: String,
    user_id: Option<Vec<u8>>,
    code_hash: Vec<u8>,
    created_at: i64,
    expires_at: i64,
    attempts: i64,
    consumed_at: Option<i64>,
}

impl Raw {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            purpose: row.get(1)?,
            phone: row.get(2)?,
            user_id: row.get(3)?,
            code_hash: row.get(4)?,
            created_at: row.get(5)?,
            expires_at: row.get(6)?,
            attempts: row.get(7)?,
            consumed_at: row.get(8)?,
        })
    }

    fn into_challenge(self) -> DbResult<Challenge> {
        let purpose = ChallengePurpose::parse(&self.purpose).ok_or_else(|| {
            corrupt(
                TABLE,
                format!("`purpose` = {:?} does not parse", self.purpose),
            )
        })?;
        let phone = Phone::parse(&self.phone, false)
            .map_err(|_| corrupt(TABLE, format!("`phone` = {:?} does not parse", self.phone)))?;
        let user_id = self
            .user_id
            .map(|u| codec::uuid_from(TABLE, "user_id", &u).map(UserId::from_uuid))
            .transpose()?;
        Ok(Challenge {
            id: ChallengeId::from_uuid(codec::uuid_from(TABLE, "id", &self.id)?),
            purpose,
            phone,
            user_id,
            code_hash: codec::hash_from(TABLE, "code_hash", &self.code_hash)?,
            created_at: codec::time_from(self.created_at),
            expires_at: codec::time_from(self.expires_at),
            attempts: codec::count32_from(TABLE, "attempts", self.attempts)?,
            consumed_at: codec::opt_time_from(self.consumed_at),
        })
    }
}
