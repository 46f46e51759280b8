//! The cache itself: recent answers of the session check, by session id, each kept at most
//! `max_age`, answered only while the instance's event subscription is live.
//!
//! Correctness rests on one rule: an answer read from the store is cached only if no event
//! (and no change of subscription) arrived between the start of its read and its insertion.
//! Each such change bumps [`Shared::epoch`] *before* it removes entries; a read takes the
//! epoch before it asks the store ([`Shared::ticket`]) and inserts only if the epoch is
//! unchanged, checked under the lock of the entry's shard. So either the insertion sees the
//! bump and skips, or it happened before the removal, which then takes it out.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::SessionEvent;
use crate::account::UserStatus;
use crate::ids::SessionId;
use crate::session::{Session, SessionOwner, SessionState};

/// Shards of the map, so that concurrent checks of different sessions rarely wait on each
/// other's lock.
const SHARDS: usize = 16;

/// Whether an answer lets a request through at `now`, and so may be served from or put in
/// the cache: a live session of its own, enabled, owner.
pub(crate) fn admits(
    session: &Session,
    owner: &SessionOwner,
    now: DateTime<Utc>,
    idle_timeout: chrono::Duration,
) -> bool {
    owner.user_id == session.user_id
        && owner.status != UserStatus::Disabled
        && session.state(now, idle_timeout) == SessionState::Live
}

/// One instance's cache, shared by its store wrapper and the bus's listener.
pub(crate) struct Shared {
    max_age: Duration,
    /// Most entries per shard.
    shard_capacity: usize,
    shards: [Mutex<HashMap<SessionId, Entry>>; SHARDS],
    /// Bumped by every event, (dis)connection and clear; see the module documentation.
    epoch: AtomicU64,
    /// The subscription is live: the cache may answer and take new answers.
    live: AtomicBool,
    /// A listener exists (the bus's task holds it); `false` makes the next check subscribe.
    subscribed: AtomicBool,
}

struct Entry {
    read_at: Instant,
    session: Session,
    owner: SessionOwner,
}

impl Shared {
    pub(crate) fn new(max_age: Duration, capacity: usize) -> Self {
        Self {
            max_age,
            shard_capacity: capacity.div_ceil(SHARDS),
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
            epoch: AtomicU64::new(0),
            live: AtomicBool::new(false),
            subscribed: AtomicBool::new(false),
        }
    }

    fn shard(&self, id: SessionId) -> MutexGuard<'_, HashMap<SessionId, Entry>> {
        // The low bits of a random (v4) id are uniform.
        let index = (id.as_uuid().as_u128() % SHARDS as u128) as usize;
        #[allow(clippy::indexing_slicing)] // index < SHARDS by construction
        let shard = &self.shards[index];
        shard.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached answer for `id`, when the subscription is live and the answer younger than
    /// `max_age`.
    pub(crate) fn get(&self, id: SessionId) -> Option<(Session, SessionOwner)> {
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        let mut shard = self.shard(id);
        let entry = shard.get(&id)?;
        if entry.read_at.elapsed() >= self.max_age {
            let _ = shard.remove(&id);
            return None;
        }
        Some((entry.session.clone(), entry.owner.clone()))
    }

    /// Runs `f` on the cached answer for `id` (without copying it), when the subscription is
    /// live and the answer younger than `max_age`: the request path's hit, with no store call.
    pub(crate) fn with<R>(
        &self,
        id: SessionId,
        f: impl FnOnce(&Session, &SessionOwner) -> Option<R>,
    ) -> Option<R> {
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        let shard = self.shard(id);
        let entry = shard.get(&id)?;
        if entry.read_at.elapsed() >= self.max_age {
            return None;
        }
        f(&entry.session, &entry.owner)
    }

    /// Taken before a read from the store: the answer may be cached if the ticket is still
    /// current after the read. `None` while the subscription is not live.
    pub(crate) fn ticket(&self) -> Option<u64> {
        let epoch = self.epoch.load(Ordering::SeqCst);
        self.live.load(Ordering::Acquire).then_some(epoch)
    }

    /// Caches an answer read under `ticket`, unless something changed since.
    pub(crate) fn insert(&self, ticket: u64, session: Session, owner: SessionOwner) {
        let read_at = Instant::now();
        let mut shard = self.shard(session.id);
        if self.epoch.load(Ordering::SeqCst) != ticket || !self.live.load(Ordering::Acquire) {
            return;
        }
        if shard.len() >= self.shard_capacity {
            let max_age = self.max_age;
            shard.retain(|_, entry| entry.read_at.elapsed() < max_age);
            if shard.len() >= self.shard_capacity {
                // Full of fresh answers: more sessions are checked per `max_age` than the
                // capacity allows; this one is read from the store next time too.
                return;
            }
        }
        let _ = shard.insert(
            session.id,
            Entry {
                read_at,
                session,
                owner,
            },
        );
    }

    /// Drops the answers `event` makes stale.
    pub(crate) fn invalidate(&self, event: SessionEvent) {
        let _ = self.epoch.fetch_add(1, Ordering::SeqCst);
        match event {
            SessionEvent::Session(id) => {
                let _ = self.shard(id).remove(&id);
            }
            SessionEvent::User(user) => {
                for shard in &self.shards {
                    shard
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .retain(|_, entry| {
                            entry.session.user_id != user && entry.owner.user_id != user
                        });
                }
            }
        }
    }

    /// Drops every answer.
    pub(crate) fn clear(&self) {
        let _ = self.epoch.fetch_add(1, Ordering::SeqCst);
        for shard in &self.shards {
            shard.lock().unwrap_or_else(PoisonError::into_inner).clear();
        }
    }

    pub(crate) fn connected(&self) {
        self.clear();
        self.live.store(true, Ordering::Release);
    }

    pub(crate) fn disconnected(&self) {
        self.live.store(false, Ordering::Release);
        self.clear();
    }

    /// The bus's listener was dropped: stop answering, and subscribe again at the next check.
    pub(crate) fn listener_gone(&self) {
        self.disconnected();
        self.subscribed.store(false, Ordering::Release);
    }

    /// `true` for the one caller that should subscribe now.
    pub(crate) fn claim_subscription(&self) -> bool {
        self.subscribed
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// A subscription attempt failed: the next check tries again.
    pub(crate) fn subscription_failed(&self) {
        self.subscribed.store(false, Ordering::Release);
    }

    /// Whether the subscription is live.
    #[cfg(test)]
    pub(crate) fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// How many answers are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::ids::UserId;
    use crate::secret::SecretHash;
    use crate::session::{RefreshState, SessionStatus};

    fn answer(user_id: UserId) -> (Session, SessionOwner) {
        let now = Utc::now();
        let session = Session {
            id: SessionId::new_random(),
            user_id,
            created_at: now,
            last_used_at: now,
            expires_at: now + chrono::Duration::days(1),
            ip: None,
            user_agent: None,
            refresh: RefreshState {
                generation: 0,
                hash: SecretHash::from_bytes([0; 32]),
                issued_at: now,
            },
            status: SessionStatus::Active,
        };
        let owner = SessionOwner {
            user_id,
            status: UserStatus::Active,
            roles: vec![],
        };
        (session, owner)
    }

    fn live_cache() -> Shared {
        let cache = Shared::new(Duration::from_secs(60), 1000);
        cache.connected();
        cache
    }

    #[test]
    fn an_answer_read_before_an_event_is_not_kept() {
        let cache = live_cache();
        let (session, owner) = answer(UserId::new_random());
        let ticket = cache.ticket().unwrap();
        // The event arrives while the answer is being read from the store.
        cache.invalidate(SessionEvent::Session(SessionId::new_random()));
        cache.insert(ticket, session.clone(), owner.clone());
        assert!(cache.get(session.id).is_none());
        // Read again under a current ticket, it is kept.
        cache.insert(cache.ticket().unwrap(), session.clone(), owner);
        assert!(cache.get(session.id).is_some());
    }

    #[test]
    fn events_drop_the_answers_they_concern() {
        let cache = live_cache();
        let user = UserId::new_random();
        let (a, owner_a) = answer(user);
        let (b, owner_b) = answer(user);
        let (c, owner_c) = answer(UserId::new_random());
        for (s, o) in [(&a, &owner_a), (&b, &owner_b), (&c, &owner_c)] {
            cache.insert(cache.ticket().unwrap(), s.clone(), o.clone());
        }
        assert_eq!(cache.len(), 3);
        cache.invalidate(SessionEvent::Session(a.id));
        assert!(cache.get(a.id).is_none() && cache.get(b.id).is_some());
        cache.invalidate(SessionEvent::User(user));
        assert!(cache.get(b.id).is_none() && cache.get(c.id).is_some());
    }

    #[test]
    fn nothing_is_answered_or_kept_without_a_live_subscription() {
        let cache = Shared::new(Duration::from_secs(60), 1000);
        assert!(!cache.is_live() && cache.ticket().is_none());
        cache.connected();
        let (s, o) = answer(UserId::new_random());
        cache.insert(cache.ticket().unwrap(), s.clone(), o.clone());
        let ticket = cache.ticket().unwrap();
        cache.disconnected();
        assert!(cache.get(s.id).is_none());
        cache.insert(ticket, s.clone(), o);
        cache.connected();
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn answers_age_out_and_capacity_is_kept() {
        let cache = Shared::new(Duration::from_millis(20), SHARDS);
        cache.connected();
        let (s, o) = answer(UserId::new_random());
        cache.insert(cache.ticket().unwrap(), s.clone(), o);
        assert!(cache.get(s.id).is_some());
        std::thread::sleep(Duration::from_millis(25));
        assert!(cache.get(s.id).is_none());
        for _ in 0..10 * SHARDS {
            let (s, o) = answer(UserId::new_random());
            cache.insert(cache.ticket().unwrap(), s, o);
        }
        assert!(cache.len() <= SHARDS);
    }
}
