//! [`OneTimeTokenStore`]: emailed one-time tokens (account activation, password reset, change
//! of email address), kept by the hash of their secret. Needed only by a service that sends
//! mail.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::email_token::EmailToken;
use crate::secret::SecretHash;

/// Persistence of emailed one-time tokens. Given to the builder with
/// [`AuthBuilder::one_time_tokens`](crate::AuthBuilder::one_time_tokens), beside the mail
/// sender.
#[async_trait]
pub trait OneTimeTokenStore: Send + Sync + 'static {
    /// Inserts a new emailed token ([`StoreError::Conflict`] with
    /// [`UniqueField::Id`](super::UniqueField::Id) when its hash exists).
    async fn insert_email_token(&self, token: &EmailToken) -> Result<(), StoreError>;

    /// The token with this hash, in whatever state it is.
    async fn email_token(&self, hash: &SecretHash) -> Result<Option<EmailToken>, StoreError>;

    /// Marks the token used. **Compare-and-set**: `true` for exactly one caller, the first;
    /// `false` when already used or unknown.
    async fn consume_email_token(
        &self,
        hash: &SecretHash,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Deletes the tokens past their `expires_at` at `now`, used or not. Returns how many were
    /// removed.
    async fn purge_expired_email_tokens(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}
