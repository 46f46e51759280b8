//! [`ChallengeStore`]: SMS code challenges, with the compare-and-set steps that make a code
//! usable once and its attempts bounded.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::challenge::Challenge;
use crate::ids::ChallengeId;

/// Persistence of SMS code challenges.
#[async_trait]
pub trait ChallengeStore: Send + Sync + 'static {
    /// Inserts a new challenge ([`StoreError::Conflict`] with
    /// [`UniqueField::Id`](super::UniqueField::Id) when its id exists).
    async fn insert_challenge(&self, challenge: &Challenge) -> Result<(), StoreError>;

    /// The challenge with this id, in whatever state it is.
    async fn challenge(&self, id: ChallengeId) -> Result<Option<Challenge>, StoreError>;

    /// Reserves one verification attempt. **Compare-and-set**: when the challenge exists, is not
    /// consumed and has made fewer than `max_attempts` attempts, increments `attempts` and
    /// returns the new count; otherwise returns `None` and changes nothing. Concurrent callers
    /// never get more than `max_attempts` reservations in total.
    async fn claim_challenge_attempt(
        &self,
        id: ChallengeId,
        max_attempts: u32,
    ) -> Result<Option<u32>, StoreError>;

    /// Marks the challenge consumed. **Compare-and-set**: returns `true` for exactly one caller,
    /// the first, and `false` when it was already consumed or does not exist.
    async fn consume_challenge(
        &self,
        id: ChallengeId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Deletes the challenges past their `expires_at` at `now`, consumed or not. Consumed
    /// challenges that have not expired must be kept: the core reads them to answer
    /// `challenge_consumed`. Returns how many were removed.
    async fn purge_expired_challenges(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}
