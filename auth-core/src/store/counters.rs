//! [`CounterStore`]: fixed-window counters (rate limits, send caps) and consecutive-failure
//! counts (lockouts, failure caps), with the values they return.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

/// A fixed-window counter as it stands after a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// Hits in the current window, this one included.
    pub count: u64,
    /// When the current window ends and the count starts again from zero.
    pub resets_at: DateTime<Utc>,
}

/// A consecutive-failure count as it stands after a failure (see
/// [`CounterStore::add_failure`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    /// Consecutive failures counted since the count last started.
    pub count: u32,
    /// When the latest failure happened.
    pub last_at: DateTime<Utc>,
    /// When the count is forgotten (the store may delete it from then on).
    pub expires_at: DateTime<Utc>,
}

/// Persistence of rate-limit counters and failure counts. Keys are opaque, case-sensitive
/// ASCII strings of at most 200 bytes.
#[async_trait]
pub trait CounterStore: Send + Sync + 'static {
    /// Counts one hit on a fixed-window counter. **Atomic increment**: when the counter does not
    /// exist or its window has ended (`resets_at <= now`), it restarts at 1 with
    /// `resets_at = window_ends`; otherwise `count += 1` and `resets_at` stays. Returns the
    /// counter after the hit. Keys are opaque ASCII strings of at most 200 bytes.
    async fn hit_counter(
        &self,
        key: &str,
        window_ends: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Counter, StoreError>;

    /// Adds one failure to a consecutive-failure count (lockouts, failure caps). **Atomic
    /// increment**: when the count does not exist or has expired (`expires_at <= at`), it
    /// restarts at 1; otherwise `count += 1` (saturating at `u32::MAX`). Either way the count's
    /// `last_at` becomes `at` and its `expires_at` becomes `expires_at`. Returns the count after
    /// the failure. Keys are opaque ASCII strings of at most 200 bytes.
    async fn add_failure(
        &self,
        key: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Failures, StoreError>;

    /// The consecutive-failure count of `key` as it stands at `now`: `None` when there is
    /// none or it has expired (`expires_at <= now`).
    async fn failures(&self, key: &str, now: DateTime<Utc>)
    -> Result<Option<Failures>, StoreError>;

    /// Forgets the consecutive-failure count of `key` (nothing happens when there is none).
    async fn clear_failures(&self, key: &str) -> Result<(), StoreError>;

    /// Deletes the counters past their `resets_at` and the failure counts past their
    /// `expires_at` at `now`. Returns how many were removed.
    async fn purge_expired_counters(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}
