//! [`UserStore`]: accounts, looked up by id and by each unique identifier, and their login
//! statistics.

use std::net::IpAddr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::account::{Email, User, Username};
use crate::ids::UserId;
use crate::phone::Phone;

/// Persistence of user accounts. Users are never purged.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// Inserts a new user. **Atomic**: fails with [`StoreError::Conflict`] when the id, phone,
    /// email or username is already taken, even when two callers insert the same phone at once.
    async fn create_user(&self, user: &User) -> Result<(), StoreError>;

    /// The user with this id.
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError>;

    /// The user with this (normalized) phone number.
    async fn user_by_phone(&self, phone: &Phone) -> Result<Option<User>, StoreError>;

    /// The user with this (normalized) email.
    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;

    /// The user with this (normalized) username.
    async fn user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError>;

    /// Replaces the stored record of `user.id` (last writer wins), except `created_at` and the
    /// login statistics (`login_count`, `last_login_*`, `current_login_*`), which keep their
    /// stored values: only [`UserStore::record_login`] changes those, so a login that lands
    /// between the core's read and this write is never lost. **Atomic** with respect to
    /// uniqueness: [`StoreError::Conflict`] when a changed phone, email or username is taken.
    /// Returns `false` when there is no such user.
    async fn update_user(&self, user: &User) -> Result<bool, StoreError>;

    /// Records a successful login. **Atomic** increment: `login_count += 1`, the current login
    /// time and IP become the last ones, and `(at, ip)` the current ones. `false` when there is
    /// no such user.
    async fn record_login(
        &self,
        id: UserId,
        at: DateTime<Utc>,
        ip: Option<IpAddr>,
    ) -> Result<bool, StoreError>;
}
