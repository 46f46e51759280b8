//! The `sessions` table. A session is active while `revoked_at` is NULL.

use auth_core::ids::{SessionId, UserId};
use auth_core::session::{RefreshState, RevokeReason, Session, SessionOwner, SessionStatus};
use chrono::{DateTime, Utc};
use deadpool_postgres::ClientWrapper;
use tokio_postgres::Row;

use crate::codec::{self, get};
use crate::error::{DbResult, corrupt};
use crate::users;

const TABLE: &str = "sessions";

const COLUMNS: &str = "id, user_id, created_at, last_used_at, expires_at, ip, user_agent, \
     refresh_generation, refresh_hash, refresh_issued_at, revoked_at, revoke_reason";

/// Inserts a session; an id already taken is `Conflict(Id)` (at the boundary).
pub(crate) async fn insert(c: &ClientWrapper, s: &Session) -> DbResult<()> {
    let (revoked_at, reason) = match s.status {
        SessionStatus::Active => (None, None),
        SessionStatus::Revoked { at, reason } => (Some(codec::time(at)?), Some(reason.as_str())),
    };
    let stmt = c
        .prepare_cached(
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, ip, \
             user_agent, refresh_generation, refresh_hash, refresh_issued_at, revoked_at, \
             revoke_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .await?;
    let _ = c
        .execute(
            &stmt,
            &[
                &s.id.as_uuid(),
                &s.user_id.as_uuid(),
                &codec::time(s.created_at)?,
                &codec::time(s.last_used_at)?,
                &codec::time(s.expires_at)?,
                &s.ip,
                &s.user_agent,
                &codec::count(s.refresh.generation)?,
                &s.refresh.hash.as_bytes().as_slice(),
                &codec::time(s.refresh.issued_at)?,
                &revoked_at,
                &reason,
            ],
        )
        .await?;
    Ok(())
}

/// The session with this id, active or revoked.
pub(crate) async fn get_one(c: &ClientWrapper, id: SessionId) -> DbResult<Option<Session>> {
    let stmt = c
        .prepare_cached(&format!("SELECT {COLUMNS} FROM sessions WHERE id = $1"))
        .await?;
    c.query_opt(&stmt, &[&id.as_uuid()])
        .await?
        .map(|row| read(&row))
        .transpose()
}

/// The session with this id and its user's status and roles: one statement (a primary-key
/// lookup joined to the user's primary key), the per-request session check.
pub(crate) async fn with_owner(
    c: &ClientWrapper,
    id: SessionId,
) -> DbResult<Option<(Session, Option<SessionOwner>)>> {
    let stmt = c.prepare_cached(WITH_OWNER).await?;
    let Some(row) = c.query_opt(&stmt, &[&id.as_uuid()]).await? else {
        return Ok(None);
    };
    let session = read(&row)?;
    let owner = users::read_owner(&row, 12, session.user_id)?;
    Ok(Some((session, owner)))
}

const WITH_OWNER: &str = "SELECT s.id, s.user_id, s.created_at, s.last_used_at, s.expires_at, \
     s.ip, s.user_agent, s.refresh_generation, s.refresh_hash, s.refresh_issued_at, \
     s.revoked_at, s.revoke_reason, u.status, u.roles \
     FROM sessions AS s LEFT JOIN users AS u ON u.id = s.user_id WHERE s.id = $1";

/// The user's sessions that are not revoked, in no particular order (the partial index
/// `sessions_live_by_user`).
pub(crate) async fn of_user(c: &ClientWrapper, user: UserId) -> DbResult<Vec<Session>> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM sessions WHERE user_id = $1 AND revoked_at IS NULL"
        ))
        .await?;
    c.query(&stmt, &[&user.as_uuid()])
        .await?
        .iter()
        .map(read)
        .collect()
}

/// The refresh compare-and-set: one conditional `UPDATE`. Concurrent callers with the same
/// expected generation queue on the row lock; each later one re-checks the `WHERE` against
/// the row as the winner left it, so exactly one changes it.
pub(crate) async fn rotate(
    c: &ClientWrapper,
    id: SessionId,
    expected_generation: u64,
    next: &RefreshState,
    now: DateTime<Utc>,
) -> DbResult<bool> {
    let stmt = c
        .prepare_cached(
            "UPDATE sessions SET refresh_generation = $3, refresh_hash = $4, \
             refresh_issued_at = $5, last_used_at = $6 \
             WHERE id = $1 AND revoked_at IS NULL AND refresh_generation = $2",
        )
        .await?;
    let n = c
        .execute(
            &stmt,
            &[
                &id.as_uuid(),
                &codec::count(expected_generation)?,
                &codec::count(next.generation)?,
                &next.hash.as_bytes().as_slice(),
                &codec::time(next.issued_at)?,
                &codec::time(now)?,
            ],
        )
        .await?;
    Ok(n == 1)
}

/// Revokes one session unless it already is.
pub(crate) async fn revoke(
    c: &ClientWrapper,
    id: SessionId,
    at: DateTime<Utc>,
    reason: RevokeReason,
) -> DbResult<bool> {
    let stmt = c
        .prepare_cached(
            "UPDATE sessions SET revoked_at = $2, revoke_reason = $3 \
             WHERE id = $1 AND revoked_at IS NULL",
        )
        .await?;
    let n = c
        .execute(&stmt, &[&id.as_uuid(), &codec::time(at)?, &reason.as_str()])
        .await?;
    Ok(n == 1)
}

/// Revokes every active session of the user but `except`, in one statement: once it has
/// committed, none of them matches `rotate`'s `revoked_at IS NULL` any more (a rotation
/// waiting on a row lock re-checks it against the revoked row).
pub(crate) async fn revoke_all_of_user(
    c: &ClientWrapper,
    user: UserId,
    except: Option<SessionId>,
    at: DateTime<Utc>,
    reason: RevokeReason,
) -> DbResult<u64> {
    let stmt = c
        .prepare_cached(
            "UPDATE sessions SET revoked_at = $3, revoke_reason = $4 \
             WHERE user_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $2",
        )
        .await?;
    let except = except.map(|s| s.as_uuid());
    Ok(c.execute(
        &stmt,
        &[
            &user.as_uuid(),
            &except,
            &codec::time(at)?,
            &reason.as_str(),
        ],
    )
    .await?)
}

/// The session in the first 12 columns of `row` ([`COLUMNS`] order).
fn read(row: &Row) -> DbResult<Session> {
    let revoked_at: Option<i64> = get(row, 10)?;
    let revoke_reason: Option<String> = get(row, 11)?;
    let status = match (revoked_at, revoke_reason) {
        (None, None) => SessionStatus::Active,
        (Some(at), Some(reason)) => SessionStatus::Revoked {
            at: codec::time_from(at),
            reason: RevokeReason::parse(&reason).ok_or_else(|| {
                corrupt(
                    TABLE,
                    format!("`revoke_reason` = {reason:?} does not parse"),
                )
            })?,
        },
        _ => {
            return Err(corrupt(
                TABLE,
                "`revoked_at` and `revoke_reason` must be both set or both NULL",
            ));
        }
    };
    let hash: &[u8] = get(row, 8)?;
    Ok(Session {
        id: SessionId::from_uuid(get(row, 0)?),
        user_id: UserId::from_uuid(get(row, 1)?),
        created_at: codec::time_from(get(row, 2)?),
        last_used_at: codec::time_from(get(row, 3)?),
        expires_at: codec::time_from(get(row, 4)?),
        ip: codec::ip_from(TABLE, "ip", get(row, 5)?)?,
        user_agent: get(row, 6)?,
        refresh: RefreshState {
            generation: codec::count_from(TABLE, "refresh_generation", get(row, 7)?)?,
            hash: codec::hash_from(TABLE, "refresh_hash", hash)?,
            issued_at: codec::time_from(get(row, 9)?),
        },
        status,
    })
}
