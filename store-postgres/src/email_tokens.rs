//! The `email_tokens` table (emailed one-time tokens: activation, reset, email change).

use auth_core::Email;
use auth_core::email_token::{EmailToken, EmailTokenPurpose};
use auth_core::ids::UserId;
use auth_core::secret::SecretHash;
use chrono::{DateTime, Utc};
use deadpool_postgres::ClientWrapper;
use tokio_postgres::Row;

use crate::codec::{self, get};
use crate::error::{DbResult, corrupt};

const TABLE: &str = "email_tokens";

/// Inserts a token; a hash already present is `Conflict(Id)` (at the boundary).
pub(crate) async fn insert(c: &ClientWrapper, t: &EmailToken) -> DbResult<()> {
    let stmt = c
        .prepare_cached(
            "INSERT INTO email_tokens (hash, purpose, user_id, email, created_at, expires_at, \
             consumed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .await?;
    let _ = c
        .execute(
            &stmt,
            &[
                &t.hash.as_bytes().as_slice(),
                &t.purpose.as_str(),
                &t.user_id.as_uuid(),
                &t.email.as_str(),
                &codec::time(t.created_at)?,
                &codec::time(t.expires_at)?,
                &codec::opt_time(t.consumed_at)?,
            ],
        )
        .await?;
    Ok(())
}

/// The token with this hash.
pub(crate) async fn get_one(c: &ClientWrapper, hash: &SecretHash) -> DbResult<Option<EmailToken>> {
    let stmt = c
        .prepare_cached(
            "SELECT hash, purpose, user_id, email, created_at, expires_at, consumed_at \
             FROM email_tokens WHERE hash = $1",
        )
        .await?;
    c.query_opt(&stmt, &[&hash.as_bytes().as_slice()])
        .await?
        .map(|row| read(&row))
        .transpose()
}

/// Marks the token used unless it already is (one conditional `UPDATE`).
pub(crate) async fn consume(
    c: &ClientWrapper,
    hash: &SecretHash,
    at: DateTime<Utc>,
) -> DbResult<bool> {
    let stmt = c
        .prepare_cached(
            "UPDATE email_tokens SET consumed_at = $2 WHERE hash = $1 AND consumed_at IS NULL",
        )
        .await?;
    let n = c
        .execute(&stmt, &[&hash.as_bytes().as_slice(), &codec::time(at)?])
        .await?;
    Ok(n == 1)
}

fn read(row: &Row) -> DbResult<EmailToken> {
    let hash: &[u8] = get(row, 0)?;
    let purpose: String = get(row, 1)?;
    let email: String = get(row, 3)?;
    Ok(EmailToken {
        hash: codec::hash_from(TABLE, "hash", hash)?,
        purpose: EmailTokenPurpose::parse(&purpose)
            .ok_or_else(|| corrupt(TABLE, format!("`purpose` = {purpose:?} does not parse")))?,
        user_id: UserId::from_uuid(get(row, 2)?),
        email: Email::parse(&email)
            .map_err(|_| corrupt(TABLE, format!("`email` = {email:?} does not parse")))?,
        created_at: codec::time_from(get(row, 4)?),
        expires_at: codec::time_from(get(row, 5)?),
        consumed_at: codec::opt_time_from(get(row, 6)?),
    })
}
