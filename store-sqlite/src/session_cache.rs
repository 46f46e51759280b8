//! The session checks a quick reader has answered, kept until the database changes.
//!
//! The per-request session check must see every commit at once (a revoked session, a removed
//! role, a disabled account), from this store or any other process on the file. SQLite tells
//! a connection exactly that: `PRAGMA data_version` returns a different value after any other
//! connection committed a change, and the same value otherwise (SQLite documents it for
//! programs that keep database content in memory). So each quick reader keeps the answers it
//! read, and before answering from them reads `data_version`; any change empties the cache.
//!
//! Why it is correct: an answer is kept only under the version read *before* its lookup, in
//! an earlier read transaction. If the version is still the same at the next check, no other
//! connection committed between that earlier read and now, so the lookup (which ran between
//! them) saw exactly what the database holds now. If something was committed in between, the
//! version differs and the answer is dropped unused. The quick readers are `query_only`, so
//! they never change the database themselves (which `data_version` would not report).
//!
//! What it saves: reading `data_version` is still a read transaction (its WAL lock is most of
//! its cost), but not the lookup, the row decoding and the statement work around them
//! (profiled under HTTP load on actix: the check fell from 26% to 16% of the server's CPU,
//! and the route's throughput rose accordingly, see BENCHMARKS.md). Under writes the cache is
//! emptied often and a check costs one extra small read transaction.

use std::collections::HashMap;

use auth_core::ids::SessionId;
use auth_core::session::{Session, SessionOwner};
use rusqlite::Connection;

use crate::error::DbResult;
use crate::sessions;

/// What the check reads: the session (if any) and its owner (if the user exists).
type Checked = Option<(Session, Option<SessionOwner>)>;

/// One quick reader's answers, valid while its connection's `data_version` is `version`.
pub(crate) struct SessionCache {
    version: Option<i64>,
    entries: HashMap<SessionId, Checked>,
    capacity: usize,
}

impl SessionCache {
    /// An empty cache that keeps at most `capacity` answers (`0`: none).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            version: None,
            entries: HashMap::new(),
            capacity,
        }
    }

    /// The session check ([`sessions::with_owner`]) of `id` on `conn`, answered from the
    /// cache when nothing was committed since the answer was read.
    pub(crate) fn check(&mut self, conn: &Connection, id: SessionId) -> DbResult<Checked> {
        if self.capacity == 0 {
            return sessions::with_owner(conn, id);
        }
        let version = data_version(conn)?;
        if self.version != Some(version) {
            self.entries.clear();
            self.version = Some(version);
        }
        if let Some(hit) = self.entries.get(&id) {
            return Ok(hit.clone());
        }
        let checked = sessions::with_owner(conn, id)?;
        // When full, keep what is there until the next change empties it: cheaper than
        // evicting, and a change comes with the next write anyway.
        if self.entries.len() < self.capacity {
            self.entries.insert(id, checked.clone());
        }
        Ok(checked)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Sessions hold refresh-token hashes: their values stay out of `Debug`.
impl std::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCache")
            .field("version", &self.version)
            .field("entries", &self.entries.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

/// The connection's `PRAGMA data_version`: changes whenever another connection committed.
fn data_version(conn: &Connection) -> DbResult<i64> {
    Ok(conn
        .prepare_cached("PRAGMA data_version")?
        .query_row([], |row| row.get(0))?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use auth_core::account::User;
    use auth_core::ids::UserId;
    use auth_core::session::{RevokeReason, SessionStatus};
    use chrono::{TimeZone as _, Utc};
    use rusqlite::StatementStatus;

    use super::*;
    use crate::{schema, users};

    /// A migrated file, a writer and a query-only reader on it.
    fn open() -> (tempfile::TempDir, Connection, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.db");
        let mut writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "WAL").unwrap();
        schema::migrate(&mut writer).unwrap();
        let reader = Connection::open(&path).unwrap();
        reader.pragma_update(None, "query_only", true).unwrap();
        (dir, writer, reader)
    }

    fn user_with_session(writer: &Connection) -> (User, Session) {
        let user = User::new(UserId::new_random(), now());
        users::create(writer, &user).unwrap();
        let session = session_of(&user);
        sessions::insert(writer, &session).unwrap();
        (user, session)
    }

    fn now() -> chrono::DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000, 0).unwrap()
    }

    /// A session (with a user agent, which `Debug` must not show) of `user`.
    fn session_of(user: &User) -> Session {
        let mut session = sessions::tests::session_of(user.id, now());
        session.user_agent = Some("agent".to_owned());
        session
    }

    /// How many times the lookup statement ran on `conn` so far.
    fn lookups(conn: &Connection) -> i32 {
        conn.prepare_cached(sessions::WITH_OWNER)
            .unwrap()
            .get_status(StatementStatus::Run)
    }

    #[test]
    fn a_repeated_check_is_answered_from_the_cache() {
        let (_dir, writer, reader) = open();
        let (user, session) = user_with_session(&writer);
        let mut cache = SessionCache::new(8);
        let first = cache.check(&reader, session.id).unwrap();
        let second = cache.check(&reader, session.id).unwrap();
        assert_eq!(first, second);
        let (found, owner) = second.unwrap();
        assert_eq!(found, session);
        assert_eq!(owner.unwrap(), SessionOwner::of(&user));
        assert_eq!(
            lookups(&reader),
            1,
            "the second check must not look up again"
        );
    }

    #[test]
    fn any_commit_by_another_connection_is_seen_by_the_next_check() {
        let (_dir, writer, reader) = open();
        let (mut user, session) = user_with_session(&writer);
        let mut cache = SessionCache::new(8);
        cache.check(&reader, session.id).unwrap();
        cache.check(&reader, session.id).unwrap();

        user.roles = vec!["admin".to_owned()];
        users::update(&writer, &user).unwrap();
        let (_, owner) = cache.check(&reader, session.id).unwrap().unwrap();
        assert_eq!(owner.unwrap().roles, vec!["admin".to_owned()]);

        let at = session.created_at + chrono::Duration::minutes(1);
        sessions::revoke(&writer, session.id, at, RevokeReason::Logout).unwrap();
        let (found, _) = cache.check(&reader, session.id).unwrap().unwrap();
        assert!(matches!(found.status, SessionStatus::Revoked { .. }));

        // A change to another table empties the cache too.
        let before = lookups(&reader);
        let (_, other) = user_with_session(&writer);
        cache.check(&reader, session.id).unwrap();
        assert_eq!(lookups(&reader), before + 1);
        assert!(cache.check(&reader, other.id).unwrap().is_some());
    }

    #[test]
    fn an_unknown_session_found_later_is_not_answered_from_the_cache() {
        let (_dir, writer, reader) = open();
        let (user, _) = user_with_session(&writer);
        let mut cache = SessionCache::new(8);
        let later = session_of(&user);
        assert_eq!(cache.check(&reader, later.id).unwrap(), None);
        assert_eq!(cache.check(&reader, later.id).unwrap(), None);
        sessions::insert(&writer, &later).unwrap();
        let (found, _) = cache.check(&reader, later.id).unwrap().unwrap();
        assert_eq!(found, later);
    }

    #[test]
    fn the_cache_keeps_at_most_its_capacity_and_zero_keeps_nothing() {
        let (_dir, writer, reader) = open();
        let ids: Vec<SessionId> = (0..3).map(|_| user_with_session(&writer).1.id).collect();
        let mut cache = SessionCache::new(2);
        for id in &ids {
            assert!(cache.check(&reader, *id).unwrap().is_some());
        }
        assert_eq!(cache.len(), 2);

        let mut off = SessionCache::new(0);
        let before = lookups(&reader);
        off.check(&reader, ids[0]).unwrap();
        off.check(&reader, ids[0]).unwrap();
        assert_eq!(off.len(), 0);
        assert_eq!(lookups(&reader), before + 2);
    }

    #[test]
    fn debug_shows_no_session() {
        let (_dir, writer, reader) = open();
        let (_, session) = user_with_session(&writer);
        let mut cache = SessionCache::new(8);
        cache.check(&reader, session.id).unwrap();
        let shown = format!("{cache:?}");
        assert!(shown.contains("entries: 1"), "{shown}");
        assert!(!shown.contains("agent"), "{shown}");
        assert!(!shown.contains(&session.id.to_string()), "{shown}");
    }
}
