//! What the core keeps, split by record: one small trait per kind of record, each named after
//! what the core needs rather than as a generic key-value API.
//!
//! | trait                 | records                                        |
//! |-----------------------|------------------------------------------------|
//! | [`UserStore`]         | accounts, and their login statistics           |
//! | [`SessionStore`]      | sessions and their refresh tokens              |
//! | [`ChallengeStore`]    | SMS code challenges                            |
//! | [`OneTimeTokenStore`] | emailed one-time tokens (activation, reset, …) |
//! | [`CounterStore`]      | rate-limit windows and consecutive failures    |
//!
//! [`Store`] is what every `Auth` needs: the sum of all of them but [`OneTimeTokenStore`],
//! implemented for any type that implements the four (there is nothing to write for it). The
//! emailed-token store is needed only with a mail sender, and is handed to the builder on its
//! own ([`AuthBuilder::one_time_tokens`](crate::AuthBuilder::one_time_tokens)); a store that
//! keeps every record implements all five and is passed twice. A new kind of record is a new
//! small trait, and an app's own store implements only the traits its features use.
//!
//! # Atomicity
//! Each method says what must be atomic. The security of the library rests on the methods
//! marked **compare-and-set**: two concurrent calls must never both succeed, also across
//! processes sharing one database. Implement them as one conditional `UPDATE`, a transaction,
//! a Lua script or `MULTI/WATCH` — never as a read followed by a write.
//!
//! # Records
//! Every record must read back exactly as written: all fields, timestamps to at least the
//! millisecond (the core writes millisecond-precision-safe times; keep nanoseconds if you
//! can), IPv4-mapped IPv6 addresses as IPv6, an empty user agent as `Some("")`.
//! Inserting a challenge or session whose id exists is [`StoreError::Conflict`] with
//! [`UniqueField::Id`]. Counter keys are case-sensitive opaque strings.
//!
//! # Errors
//! Return [`StoreError::Unavailable`] whenever the backend cannot answer: the core then fails
//! closed with `store_unavailable` (503). Never report success for a write that did not happen.
//!
//! # Housekeeping
//! Each trait of records that expire has its own purge (`purge_expired_sessions`, …);
//! [`Store::purge_expired`] runs those of a [`Store`], and `Auth::purge_expired` those of
//! everything the service holds, the emailed-token store included.
//!
//! The test kit's `conformance` module checks an implementation against all of this, one
//! part per trait.

mod challenges;
mod counters;
mod one_time_tokens;
mod sessions;
mod users;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use challenges::ChallengeStore;
pub use counters::{Counter, CounterStore, Failures};
pub use one_time_tokens::OneTimeTokenStore;
pub use sessions::SessionStore;
pub use users::UserStore;

/// Which unique field a conflicting write collided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueField {
    /// The phone number.
    Phone,
    /// The email address.
    Email,
    /// The username.
    Username,
    /// The record's id.
    Id,
}

/// A store failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A unique field is already taken by another record.
    #[error("unique constraint violated on {0:?}")]
    Conflict(UniqueField),
    /// The backend could not be reached or failed; the text is for logs only.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// Shorthand for [`StoreError::Unavailable`] from any displayable error.
    pub fn unavailable(err: impl std::fmt::Display) -> Self {
        Self::Unavailable(err.to_string())
    }
}

/// Everything an `Auth` needs to keep: users, sessions, SMS challenges and counters. Not
/// implemented by hand: every type implementing the four traits is a `Store`.
#[async_trait]
pub trait Store: UserStore + SessionStore + ChallengeStore + CounterStore {
    /// Deletes the sessions, challenges, counters and failure counts that can no longer be
    /// used at `now` (each trait's purge, in turn; not atomic as a whole). Users are never
    /// purged. Returns how many records were removed.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let sessions = self.purge_expired_sessions(now).await?;
        let challenges = self.purge_expired_challenges(now).await?;
        let counters = self.purge_expired_counters(now).await?;
        Ok(sessions.saturating_add(challenges).saturating_add(counters))
    }
}

impl<T> Store for T where T: UserStore + SessionStore + ChallengeStore + CounterStore {}
