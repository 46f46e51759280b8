//! A local cache of session checks, kept correct across app instances by session events.
//!
//! With the session check on (the default [`AccessMode`](crate::config::AccessMode)), every
//! authenticated request reads its session and user from the store: a round trip to Redis or
//! PostgreSQL that costs more than verifying the JWT itself. With a session cache, each
//! instance keeps the answers it read for a short while and answers repeated checks of the
//! same session from memory. Every change that can turn an answer from "live" to "refused"
//! (a logout, a revocation, reuse detection, logout everywhere, a password change or reset,
//! a disabled account, a changed role) is, once the store has it:
//!
//! 1. applied to this instance's cache at once, and
//! 2. published as a [`SessionEvent`] on a [`SessionEventBus`] (Redis pub/sub, PostgreSQL
//!    `LISTEN/NOTIFY`), which every other instance applies to its cache when it arrives
//!    (on loopback, well under a millisecond).
//!
//! Messages can still be lost (a dropped connection, a crash between the write and the
//! publish). Two rules bound what a lost message can do:
//!
//! * **An answer lives at most [`SessionCacheConfig::max_age`]** (default 1 s) after it was
//!   read from the store, whatever happens to the bus. A revoked session is therefore
//!   refused by every instance at most `max_age` after the revocation, and normally as soon
//!   as the event arrives.
//! * **The cache answers only while its subscription is live.** Until the bus reports it
//!   subscribed, and from the moment it reports the subscription lost until it is back, the
//!   cache is emptied and every check goes to the store.
//!
//! * **A store outage empties the cache.** The first store call that fails with
//!   [`StoreError::Unavailable`](crate::StoreError::Unavailable) (on this instance) empties it, so an outage fails closed at
//!   once, except for the checks answered before that first failure, each from an answer
//!   read less than `max_age` earlier.
//!
//! Only answers that let a request through are cached (a live session of an enabled user);
//! a refusal is always read from the store. An answer that has become expired by the clock is
//! read again too.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use auth_core::session_cache::SessionCacheConfig;
//! use auth_core::testkit::{FakeSms, LocalEventBus, MemoryStore};
//! use auth_core::{Auth, AuthConfig, SigningSecret};
//!
//! // Two instances of an app on one store; in production, each instance is a process and the
//! // bus is the store's own (`RedisStore::session_events`, `PgStore::session_events`).
//! let store = MemoryStore::new();
//! let bus = LocalEventBus::new();
//! let instance = |store: MemoryStore| {
//!     Auth::builder(AuthConfig::new(SigningSecret::new(vec![7; 32]).unwrap()))
//!         .store(store)
//!         .sms(FakeSms::new())
//!         .session_cache(bus.clone(), SessionCacheConfig::default())
//!         .build()
//! };
//! let (a, b) = (instance(store.clone())?, instance(store)?);
//! # let _ = (a, b);
//! # Ok(())
//! # }
//! ```

mod cache;
mod caching_store;
mod events;

use std::time::Duration;

pub(crate) use cache::{Shared, admits};
pub(crate) use caching_store::CachingStore;
pub use events::{SessionEvent, SessionEventBus, SessionEventListener};

/// How long and how many session checks an instance keeps.
///
/// ```
/// use std::time::Duration;
/// use auth_core::session_cache::SessionCacheConfig;
///
/// let config = SessionCacheConfig::default().max_age(Duration::from_millis(500));
/// assert_eq!(config.max_age_value(), Duration::from_millis(500));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionCacheConfig {
    max_age: Duration,
    capacity: usize,
}

impl Default for SessionCacheConfig {
    /// At most 1 s per answer, at most 100 000 answers (a few tens of MB at most).
    fn default() -> Self {
        Self {
            max_age: Self::DEFAULT_MAX_AGE,
            capacity: 100_000,
        }
    }
}

impl SessionCacheConfig {
    /// The default bound on an answer's age: 1 s.
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(1);
    /// The largest bound accepted: 60 s. Longer would let a revoked session work for a
    /// minute on an instance that missed the event.
    pub const MAX_MAX_AGE: Duration = Duration::from_secs(60);

    /// The most time an answer is kept after it was read from the store, and so the longest a
    /// revoked session can keep working on an instance that missed the event. Checked by
    /// [`AuthBuilder::build`](crate::AuthBuilder::build): more than
    /// [`SessionCacheConfig::MAX_MAX_AGE`] is refused, zero turns the cache off.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// The most answers kept (default 100 000). When full, new answers are not kept until
    /// old ones age out.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// The configured bound on an answer's age.
    pub fn max_age_value(&self) -> Duration {
        self.max_age
    }

    /// The configured capacity.
    pub fn capacity_value(&self) -> usize {
        self.capacity
    }

    /// Whether the cache is on (a non-zero age and capacity).
    pub(crate) fn enabled(&self) -> bool {
        !self.max_age.is_zero() && self.capacity > 0
    }
}
