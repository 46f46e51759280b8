//! The app's database as it was before auth came along: a `users` table of its own, which the
//! app queries for its own purposes. An in-process stand-in for a SQL database; the shape of
//! the code would be the same over `sqlx` or `diesel`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use auth_core::challenge::Challenge;
use auth_core::session::Session;
use auth_core::store::{Counter, Failures};
use auth_core::{ChallengeId, SessionId};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One row of the app's `users` table. Plain column types, as a SQL driver would give them.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRow {
    /// Primary key.
    pub id: Uuid,
    /// E.164 phone, unique.
    pub phone: Option<String>,
    /// Lower-cased email, unique.
    pub email: Option<String>,
    /// Lower-cased username, unique.
    pub username: Option<String>,
    /// argon2id PHC string.
    pub password_phc: Option<String>,
    /// JSON array of role names.
    pub roles_json: String,
    /// JSON object.
    pub profile_json: String,
    /// `active`, `pending_activation` or `disabled`.
    pub status: String,
    /// Registration time.
    pub created_at: DateTime<Utc>,
    /// Successful logins.
    pub login_count: i64,
    /// Previous login.
    pub last_login_at: Option<DateTime<Utc>>,
    /// Previous login's IP, as text.
    pub last_login_ip: Option<String>,
    /// Latest login.
    pub current_login_at: Option<DateTime<Utc>>,
    /// Latest login's IP, as text.
    pub current_login_ip: Option<String>,
    /// When a credential (password, phone) last changed.
    pub credentials_changed_at: Option<DateTime<Utc>>,
    /// The app's own column: auth never reads or writes it.
    pub plan: String,
}

/// The app's database. Clones share the same data.
#[derive(Debug, Clone, Default)]
pub struct AppDatabase {
    inner: Arc<Mutex<Tables>>,
}

/// Every table. One lock over all of them: a method that holds it is a transaction.
#[derive(Debug, Default)]
pub(crate) struct Tables {
    /// The app's existing table.
    pub(crate) users: Vec<AccountRow>,
    // The tables added for auth.
    pub(crate) challenges: HashMap<ChallengeId, Challenge>,
    pub(crate) sessions: HashMap<SessionId, Session>,
    pub(crate) counters: HashMap<String, Counter>,
    pub(crate) failures: HashMap<String, Failures>,
}

impl AppDatabase {
    /// An empty database.
    pub fn new() -> Self {
        Self::default()
    }

    /// Begins a "transaction": the lock over every table. A poisoned lock is taken over: every
    /// write below leaves the tables consistent before it can panic.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Tables> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The app's own query: a user's row.
    pub fn account(&self, id: Uuid) -> Option<AccountRow> {
        self.lock().users.iter().find(|row| row.id == id).cloned()
    }

    /// The app's own update: changes a user's plan. `false` when there is no such user.
    pub fn set_plan(&self, id: Uuid, plan: &str) -> bool {
        let mut tables = self.lock();
        match tables.users.iter_mut().find(|row| row.id == id) {
            Some(row) => {
                plan.clone_into(&mut row.plan);
                true
            }
            None => false,
        }
    }
}
