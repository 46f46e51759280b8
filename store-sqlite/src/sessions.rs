//! The `sessions` table. A session is active while `revoked_at` is NULL.

use auth_core::ids::{SessionId, UserId};
use auth_core::session::{RefreshState, RevokeReason, Session, SessionOwner, SessionStatus};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension as _, Row};

use crate::codec;
use crate::error::{DbResult, conflict_or, corrupt};
use crate::users;

const TABLE: &str = "sessions";

const COLUMNS: &str = "id, user_id, created_at, last_used_at, expires_at, ip, user_agent, \
     refresh_generation, refresh_hash, refresh_issued_at, revoked_at, revoke_reason";

/// Inserts a session; an id already taken is `Conflict(Id)`.
pub(crate) fn insert(conn: &Connection, s: &Session) -> DbResult<()> {
    let (revoked_at, reason) = match s.status {
        SessionStatus::Active => (None, None),
        SessionStatus::Revoked { at, reason } => (Some(codec::time(at)?), Some(reason.as_str())),
    };
    let sql = format!(
        "INSERT INTO sessions ({COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    );
    let result = conn.prepare_cached(&sql)?.execute((
        s.id.as_uuid().as_bytes(),
        s.user_id.as_uuid().as_bytes(),
        codec::time(s.created_at)?,
        codec::time(s.last_used_at)?,
        codec::time(s.expires_at)?,
        codec::ip(s.ip),
        s.user_agent.as_deref(),
        codec::count(s.refresh.generation)?,
        s.refresh.hash.as_bytes(),
        codec::time(s.refresh.issued_at)?,
        revoked_at,
        reason,
    ));
    match result {
        Ok(_) => Ok(()),
        Err(e) => Err(conflict_or(e.into())),
    }
}

/// The session with this id, active or revoked.
pub(crate) fn get(conn: &Connection, id: SessionId) -> DbResult<Option<Session>> {
    let sql = format!("SELECT {COLUMNS} FROM sessions WHERE id = ?1");
    let raw = conn
        .prepare_cached(&sql)?
        .query_row([id.as_uuid().as_bytes()], Raw::read)
        .optional()?;
    raw.map(Raw::into_session).transpose()
}

/// The session with this id and its user's id, status and roles, in one statement (one read
/// transaction): the per-request session check.
///
/// Scalar subqueries rather than a join: with the bundled SQLite's STAT4 statistics a join's
/// plan depends on the bound id, so SQLite re-prepared the statement on every call (measured:
/// 19 µs a call against 4 µs; `tests::the_session_check_is_prepared_once` guards this).
/// Both read the covering index `users_owner` (schema version 3), named with `INDEXED BY` so
/// the plan cannot fall back to the primary key and the rowid table.
/// `auth-bench scale` runs a copy of [`WITH_OWNER`] on a plain connection as the floor it
/// times `authenticate` against: change both together.
pub(crate) fn with_owner(
    conn: &Connection,
    id: SessionId,
) -> DbResult<Option<(Session, Option<SessionOwner>)>> {
    let raw = conn
        .prepare_cached(WITH_OWNER)?
        .query_row([id.as_uuid().as_bytes()], |row| {
            Ok((Raw::read(row)?, users::RawOwner::read(row, 12)?))
        })
        .optional()?;
    raw.map(|(session, owner)| {
        let session = session.into_session()?;
        let owner = owner
            .map(|owner| owner.into_owner(session.user_id))
            .transpose()?;
        Ok((session, owner))
    })
    .transpose()
}

pub(crate) const WITH_OWNER: &str = "SELECT s.id, s.user_id, s.created_at, s.last_used_at, s.expires_at, \
     s.ip, s.user_agent, s.refresh_generation, s.refresh_hash, s.refresh_issued_at, \
     s.revoked_at, s.revoke_reason, \
     (SELECT status FROM users INDEXED BY users_owner WHERE id = s.user_id), \
     (SELECT roles FROM users INDEXED BY users_owner WHERE id = s.user_id) \
     FROM sessions AS s WHERE s.id = ?1";

/// The user's sessions that are not revoked, in no particular order (index
/// `sessions_user_id`).
pub(crate) fn of_user(conn: &Connection, user: UserId) -> DbResult<Vec<Session>> {
    let sql = format!("SELECT {COLUMNS} FROM sessions WHERE user_id = ?1 AND revoked_at IS NULL");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([user.as_uuid().as_bytes()], Raw::read)?;
    rows.map(|raw| raw.map_err(Into::into).and_then(Raw::into_session))
        .collect()
}

/// The refresh compare-and-set: one conditional `UPDATE`, so of concurrent callers with the
/// same expected generation exactly one changes a row.
pub(crate) fn rotate(
    conn: &Connection,
    id: SessionId,
    expected_generation: u64,
    next: &RefreshState,
    now: DateTime<Utc>,
) -> DbResult<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE sessions SET refresh_generation = ?3, refresh_hash = ?4, \
             refresh_issued_at = ?5, last_used_at = ?6 \
             WHERE id = ?1 AND revoked_at IS NULL AND refresh_generation = ?2",
        )?
        .execute((
            id.as_uuid().as_bytes(),
            codec::count(expected_generation)?,
            codec::count(next.generation)?,
            next.hash.as_bytes(),
            codec::time(next.issued_at)?,
            codec::time(now)?,
        ))?;
    Ok(n == 1)
}

/// Revokes one session unless it already is.
pub(crate) fn revoke(
    conn: &Connection,
    id: SessionId,
    at: DateTime<Utc>,
    reason: RevokeReason,
) -> DbResult<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE sessions SET revoked_at = ?2, revoke_reason = ?3 \
             WHERE id = ?1 AND revoked_at IS NULL",
        )?
        .execute((id.as_uuid().as_bytes(), codec::time(at)?, reason.as_str()))?;
    Ok(n == 1)
}

/// Revokes every active session of the user but `except`, in one statement: once it has run,
/// none of them matches `rotate`'s `revoked_at IS NULL` any more.
pub(crate) fn revoke_all_of_user(
    conn: &Connection,
    user: UserId,
    except: Option<SessionId>,
    at: DateTime<Utc>,
    reason: RevokeReason,
) -> DbResult<u64> {
    let n = conn
        .prepare_cached(
            "UPDATE sessions SET revoked_at = ?3, revoke_reason = ?4 \
             WHERE user_id = ?1 AND revoked_at IS NULL AND id IS NOT ?2",
        )?
        .execute((
            user.as_uuid().as_bytes(),
            except.map(|s| *s.as_uuid().as_bytes()),
            codec::time(at)?,
            reason.as_str(),
        ))?;
    Ok(n as u64)
}

struct Raw {
    id: Vec<u8>,
    user_id: Vec<u8>,
    created_at: i64,
    last_used_at: i64,
    expires_at: i64,
    ip: Option<Vec<u8>>,
    user_agent: Option<String>,
    refresh_generation: i64,
    refresh_hash: Vec<u8>,
    refresh_issued_at: i64,
    revoked_at: Option<i64>,
    revoke_reason: Option<String>,
}

impl Raw {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            user_id: row.get(1)?,
            created_at: row.get(2)?,
            last_used_at: row.get(3)?,
            expires_at: row.get(4)?,
            ip: row.get(5)?,
            user_agent: row.get(6)?,
            refresh_generation: row.get(7)?,
            refresh_hash: row.get(8)?,
            refresh_issued_at: row.get(9)?,
            revoked_at: row.get(10)?,
            revoke_reason: row.get(11)?,
        })
    }

    fn into_session(self) -> DbResult<Session> {
        let status = match (self.revoked_at, self.revoke_reason) {
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
        Ok(Session {
            id: SessionId::from_uuid(codec::uuid_from(TABLE, "id", &self.id)?),
            user_id: UserId::from_uuid(codec::uuid_from(TABLE, "user_id", &self.user_id)?),
            created_at: codec::time_from(self.created_at),
            last_used_at: codec::time_from(self.last_used_at),
            expires_at: codec::time_from(self.expires_at),
            ip: codec::ip_from(TABLE, "ip", self.ip)?,
            user_agent: self.user_agent,
            refresh: RefreshState {
                generation: codec::count_from(
                    TABLE,
                    "refresh_generation",
                    self.refresh_generation,
                )?,
                hash: codec::hash_from(TABLE, "refresh_hash", &self.refresh_hash)?,
                issued_at: codec::time_from(self.refresh_issued_at),
            },
            status,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use auth_core::account::User;
    use auth_core::secret::SecretHash;
    use rusqlite::StatementStatus;

    use super::*;

    /// An active session of `user`, created at `now`, valid for an hour.
    pub(crate) fn session_of(user: UserId, now: DateTime<Utc>) -> Session {
        Session {
            id: SessionId::new_random(),
            user_id: user,
            created_at: now,
            last_used_at: now,
            expires_at: now + chrono::Duration::hours(1),
            ip: None,
            user_agent: None,
            refresh: RefreshState {
                generation: 0,
                hash: SecretHash::from_bytes([3; 32]),
                issued_at: now,
            },
            status: SessionStatus::Active,
        }
    }

    /// A plan that depends on the bound id makes SQLite re-prepare the statement on every
    /// call, several times the cost of the lookup (see [`with_owner`]).
    #[test]
    fn the_session_check_is_prepared_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        let _ = crate::schema::migrate(&mut conn).unwrap();
        let now = codec::time_from(codec::time(Utc::now()).unwrap());
        let mut ids = Vec::new();
        for _ in 0..20 {
            let mut user = User::new(UserId::new_random(), now);
            user.roles = vec!["admin".to_owned()];
            users::create(&conn, &user).unwrap();
            let s = session_of(user.id, now);
            insert(&conn, &s).unwrap();
            ids.push((s, user));
        }
        for (s, user) in &ids {
            let (got, owner) = with_owner(&conn, s.id).unwrap().unwrap();
            assert_eq!(&got, s);
            assert_eq!(owner, Some(SessionOwner::of(user)));
        }
        assert_eq!(with_owner(&conn, SessionId::new_random()).unwrap(), None);
        let reprepared = conn
            .prepare_cached(WITH_OWNER)
            .unwrap()
            .get_status(StatementStatus::RePrepare);
        assert_eq!(reprepared, 0, "the session check was re-prepared");
    }

    /// The check reads the sessions table by primary key and the owner from the covering
    /// index only: no descent into the users table itself.
    #[test]
    fn the_session_check_reads_the_owner_from_the_covering_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        let _ = crate::schema::migrate(&mut conn).unwrap();
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {WITH_OWNER}"))
            .unwrap();
        let plan: Vec<String> = stmt
            .query_map([SessionId::new_random().as_uuid().as_bytes()], |row| {
                row.get(3)
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let users: Vec<&String> = plan.iter().filter(|step| step.contains("users")).collect();
        assert_eq!(users.len(), 2, "{plan:?}");
        for step in users {
            assert!(
                step.contains("USING COVERING INDEX users_owner"),
                "{plan:?}"
            );
        }
        assert!(
            plan.iter()
                .any(|step| step.contains("SEARCH s USING PRIMARY KEY")),
            "{plan:?}"
        );
    }
}
