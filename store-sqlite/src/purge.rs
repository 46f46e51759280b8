//! Deleting what can no longer be used: [`purge`] for the purge method of each store trait
//! (`purge_expired_sessions`, …), and the small bounded [`Cleanup`] the store runs by itself
//! every so many writes.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, TransactionBehavior};

use crate::codec;
use crate::error::DbResult;

// Each statement deletes `expiry_column <= now` from its table (indexed columns), grouped
// by the store trait whose purge runs them.

/// The purge of `ChallengeStore`.
pub(crate) const CHALLENGES: &[&str] = &["DELETE FROM challenges WHERE expires_at <= ?1"];
/// The purge of `OneTimeTokenStore`.
pub(crate) const EMAIL_TOKENS: &[&str] = &["DELETE FROM email_tokens WHERE expires_at <= ?1"];
/// The purge of `SessionStore`.
pub(crate) const SESSIONS: &[&str] = &["DELETE FROM sessions WHERE expires_at <= ?1"];
/// The purge of `CounterStore`: counters and failure counts.
pub(crate) const COUNTERS: &[&str] = &[
    "DELETE FROM counters WHERE resets_at <= ?1",
    "DELETE FROM failures WHERE expires_at <= ?1",
];

/// The same, at most `?2` rows per table, for the opportunistic cleanup.
const BOUNDED_DELETES: [&str; 5] = [
    "DELETE FROM challenges WHERE id IN \
     (SELECT id FROM challenges WHERE expires_at <= ?1 LIMIT ?2)",
    "DELETE FROM email_tokens WHERE hash IN \
     (SELECT hash FROM email_tokens WHERE expires_at <= ?1 LIMIT ?2)",
    "DELETE FROM sessions WHERE id IN \
     (SELECT id FROM sessions WHERE expires_at <= ?1 LIMIT ?2)",
    "DELETE FROM counters WHERE key IN \
     (SELECT key FROM counters WHERE resets_at <= ?1 LIMIT ?2)",
    "DELETE FROM failures WHERE key IN \
     (SELECT key FROM failures WHERE expires_at <= ?1 LIMIT ?2)",
];

/// Rows the opportunistic cleanup deletes per table at most, so no write waits long for it.
const CLEANUP_BATCH: i64 = 500;

/// Runs `deletes` (one of the groups above) for the records past their expiry at `now`, in
/// one immediate transaction. Returns how many rows went.
pub(crate) fn purge(conn: &mut Connection, now: DateTime<Utc>, deletes: &[&str]) -> DbResult<u64> {
    let now = codec::time(now)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut removed = 0u64;
    for sql in deletes {
        removed += tx.prepare_cached(sql)?.execute([now])? as u64;
    }
    tx.commit()?;
    Ok(removed)
}

/// When to clean up by itself, and with which notion of "now".
///
/// The store has no clock of its own (the core passes time in, and tests drive it by hand),
/// so "now" for the opportunistic cleanup is the latest time any caller has passed in
/// (`rotate_refresh`'s `now`, `hit_counter`'s `now`, revocation and login times, …). Until a
/// time has been seen nothing is cleaned; records are never deleted early with respect to the
/// caller's clock.
#[derive(Debug)]
pub(crate) struct Cleanup {
    every: u64,
    writes: AtomicU64,
    latest_now: AtomicI64,
}

impl Cleanup {
    /// Cleans up after every `every` writes (`0`: never).
    pub(crate) fn new(every: u64) -> Self {
        Self {
            every,
            writes: AtomicU64::new(0),
            latest_now: AtomicI64::new(i64::MIN),
        }
    }

    /// Remembers a time a caller passed in.
    pub(crate) fn saw(&self, now: DateTime<Utc>) {
        if let Some(nanos) = now.timestamp_nanos_opt() {
            let _ = self.latest_now.fetch_max(nanos, Ordering::Relaxed);
        }
    }

    /// Counts one write; returns the "now" to clean up with when a cleanup is due.
    pub(crate) fn tick(&self) -> Option<i64> {
        if self.every == 0 {
            return None;
        }
        let n = self.writes.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        let now = self.latest_now.load(Ordering::Relaxed);
        (n.is_multiple_of(self.every) && now != i64::MIN).then_some(now)
    }

    /// Deletes a bounded batch of expired rows. Errors are logged, not returned: the write
    /// that triggered it has already committed and must not be reported as failed.
    pub(crate) fn run(conn: &Connection, now: i64) {
        let mut removed = 0usize;
        for sql in BOUNDED_DELETES {
            match conn
                .prepare_cached(sql)
                .and_then(|mut stmt| stmt.execute((now, CLEANUP_BATCH)))
            {
                Ok(n) => removed += n,
                Err(e) => {
                    tracing::warn!(error = %e, "store-sqlite: opportunistic cleanup failed");
                    return;
                }
            }
        }
        tracing::debug!(removed, "store-sqlite: opportunistic cleanup");
    }
}
