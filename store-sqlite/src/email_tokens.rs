//! The `email_tokens` table (emailed one-time tokens: activation, reset, email change).

use auth_core::Email;
use auth_core::email_token::{EmailToken, EmailTokenPurpose};
use auth_core::ids::UserId;
use auth_core::secret::SecretHash;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension as _, Row};

use crate::codec;
use crate::error::{DbResult, conflict_or, corrupt};

const TABLE: &str = "email_tokens";

/// Inserts a token; a hash already present is `Conflict(Id)`.
pub(crate) fn insert(conn: &Connection, t: &EmailToken) -> DbResult<()> {
    let result = conn
        .prepare_cached(
            "INSERT INTO email_tokens (hash, purpose, user_id, email, created_at, expires_at, \
             consumed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute((
            t.hash.as_bytes(),
            t.purpose.as_str(),
            t.user_id.as_uuid().as_bytes(),
            t.email.as_str(),
            codec::time(t.created_at)?,
            codec::time(t.expires_at)?,
            codec::opt_time(t.consumed_at)?,
        ));
    match result {
        Ok(_) => Ok(()),
        Err(e) => Err(conflict_or(e.into())),
    }
}

/// The token with this hash.
pub(crate) fn get(conn: &Connection, hash: &SecretHash) -> DbResult<Option<EmailToken>> {
    let raw = conn
        .prepare_cached(
            "SELECT hash, purpose, user_id, email, created_at, expires_at, consumed_at \
             FROM email_tokens WHERE hash = ?1",
        )?
        .query_row([hash.as_bytes()], Raw::read)
        .optional()?;
    raw.map(Raw::into_token).transpose()
}

/// Marks the token used unless it already is (one conditional `UPDATE`).
pub(crate) fn consume(conn: &Connection, hash: &SecretHash, at: DateTime<Utc>) -> DbResult<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE email_tokens SET consumed_at = ?2 WHERE hash = ?1 AND consumed_at IS NULL",
        )?
        .execute((hash.as_bytes(), codec::time(at)?))?;
    Ok(n == 1)
}

struct Raw {
    hash: Vec<u8>,
    purpose: String,
    user_id: Vec<u8>,
    email: String,
    created_at: i64,
    expires_at: i64,
    consumed_at: Option<i64>,
}

impl Raw {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            hash: row.get(0)?,
            purpose: row.get(1)?,
            user_id: row.get(2)?,
            email: row.get(3)?,
            created_at: row.get(4)?,
            expires_at: row.get(5)?,
            consumed_at: row.get(6)?,
        })
    }

    fn into_token(self) -> DbResult<EmailToken> {
        let purpose = EmailTokenPurpose::parse(&self.purpose).ok_or_else(|| {
            corrupt(
                TABLE,
                format!("`purpose` = {:?} does not parse", self.purpose),
            )
        })?;
        let email = Email::parse(&self.email)
            .map_err(|_| corrupt(TABLE, format!("`email` = {:?} does not parse", self.email)))?;
        Ok(EmailToken {
            hash: codec::hash_from(TABLE, "hash", &self.hash)?,
            purpose,
            user_id: UserId::from_uuid(codec::uuid_from(TABLE, "user_id", &self.user_id)?),
            email,
            created_at: codec::time_from(self.created_at),
            expires_at: codec::time_from(self.expires_at),
            consumed_at: codec::opt_time_from(self.consumed_at),
        })
    }
}
