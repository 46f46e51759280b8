//! The `users` table.

use std::net::IpAddr;

use auth_core::account::{Email, User, UserStatus, Username};
use auth_core::ids::UserId;
use auth_core::password::PasswordHash;
use auth_core::phone::Phone;
use auth_core::session::SessionOwner;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension as _, Row, ToSql};

use crate::codec;
use crate::error::{DbError, DbResult, conflict_or, corrupt};

const TABLE: &str = "users";

/// The columns [`update`] writes come first (`?1..?9`), then the ones only `create` and
/// `record_login` write.
const COLUMNS: &str = "id, phone, email, username, password_hash, roles, profile, status, \
     credentials_changed_at, created_at, login_count, last_login_at, last_login_ip, \
     current_login_at, current_login_ip";

/// Inserts a user; UNIQUE violations become `Conflict(field)`.
pub(crate) fn create(conn: &Connection, user: &User) -> DbResult<()> {
    let row = Params::of(user)?;
    let sql = format!(
        "INSERT INTO users ({COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
    );
    match conn
        .prepare_cached(&sql)?
        .execute(row.as_params().as_slice())
    {
        Ok(_) => Ok(()),
        Err(e) => Err(conflict_or(e.into())),
    }
}

/// Replaces the record of `user.id` but `created_at` and the login statistics (only
/// `record_login` changes those, so a concurrent login is never lost); `false` when there is
/// none.
pub(crate) fn update(conn: &Connection, user: &User) -> DbResult<bool> {
    let row = Params::of(user)?;
    let sql = "UPDATE users SET phone = ?2, email = ?3, username = ?4, password_hash = ?5, \
               roles = ?6, profile = ?7, status = ?8, credentials_changed_at = ?9 \
               WHERE id = ?1";
    let params: Vec<_> = row.as_params().into_iter().take(9).collect();
    match conn.prepare_cached(sql)?.execute(params.as_slice()) {
        Ok(n) => Ok(n == 1),
        Err(e) => Err(conflict_or(e.into())),
    }
}

/// Counts a login in one statement (the right-hand sides see the row as it was).
pub(crate) fn record_login(
    conn: &Connection,
    id: UserId,
    at: DateTime<Utc>,
    ip: Option<IpAddr>,
) -> DbResult<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE users SET login_count = login_count + 1, \
             last_login_at = current_login_at, last_login_ip = current_login_ip, \
             current_login_at = ?2, current_login_ip = ?3 \
             WHERE id = ?1",
        )?
        .execute((id.as_uuid().as_bytes(), codec::time(at)?, codec::ip(ip)))?;
    Ok(n == 1)
}

/// The user whose `column` equals `value` (`column` is one of ours, never input).
pub(crate) fn find(conn: &Connection, column: Lookup, value: &dyn ToSql) -> DbResult<Option<User>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE {} = ?1", column.column());
    let raw = conn
        .prepare_cached(&sql)?
        .query_row([value], Raw::read)
        .optional()?;
    raw.map(Raw::into_user).transpose()
}

/// The indexed columns a user is looked up by.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lookup {
    Id,
    Phone,
    Email,
    Username,
}

impl Lookup {
    fn column(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Phone => "phone",
            Self::Email => "email",
            Self::Username => "username",
        }
    }
}

/// A user as bound parameters `?1..?15`, in [`COLUMNS`] order.
struct Params {
    id: [u8; 16],
    phone: Option<String>,
    email: Option<String>,
    username: Option<String>,
    password_hash: Option<String>,
    roles: String,
    profile: String,
    status: &'static str,
    credentials_changed_at: Option<i64>,
    created_at: i64,
    login_count: i64,
    last_login_at: Option<i64>,
    last_login_ip: Option<Vec<u8>>,
    current_login_at: Option<i64>,
    current_login_ip: Option<Vec<u8>>,
}

impl Params {
    fn of(user: &User) -> DbResult<Self> {
        let json = |e: serde_json::Error| crate::error::unrepresentable(format!("user JSON: {e}"));
        Ok(Self {
            id: *user.id.as_uuid().as_bytes(),
            phone: user.phone.as_ref().map(|p| p.as_str().to_owned()),
            email: user.email.as_ref().map(|e| e.as_str().to_owned()),
            username: user.username.as_ref().map(|u| u.as_str().to_owned()),
            password_hash: user.password_hash.as_ref().map(|h| h.as_phc().to_owned()),
            roles: serde_json::to_string(&user.roles).map_err(json)?,
            profile: serde_json::to_string(&user.profile).map_err(json)?,
            status: user.status.as_str(),
            credentials_changed_at: codec::opt_time(user.credentials_changed_at)?,
            created_at: codec::time(user.created_at)?,
            login_count: codec::count(user.login_count)?,
            last_login_at: codec::opt_time(user.last_login_at)?,
            last_login_ip: codec::ip(user.last_login_ip),
            current_login_at: codec::opt_time(user.current_login_at)?,
            current_login_ip: codec::ip(user.current_login_ip),
        })
    }

    fn as_params(&self) -> [&dyn ToSql; 15] {
        [
            &self.id,
            &self.phone,
            &self.email,
            &self.username,
            &self.password_hash,
            &self.roles,
            &self.profile,
            &self.status,
            &self.credentials_changed_at,
            &self.created_at,
            &self.login_count,
            &self.last_login_at,
            &self.last_login_ip,
            &self.current_login_at,
            &self.current_login_ip,
        ]
    }
}

/// A user row as SQLite returns it, before it is checked.
struct Raw {
    id: Vec<u8>,
    phone: Option<String>,
    email: Option<String>,
    username: Option<String>,
    password_hash: Option<String>,
    roles: String,
    profile: String,
    status: String,
    credentials_changed_at: Option<i64>,
    created_at: i64,
    login_count: i64,
    last_login_at: Option<i64>,
    last_login_ip: Option<Vec<u8>>,
    current_login_at: Option<i64>,
    current_login_ip: Option<Vec<u8>>,
}

impl Raw {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            phone: row.get(1)?,
            email: row.get(2)?,
            username: row.get(3)?,
            password_hash: row.get(4)?,
            roles: row.get(5)?,
            profile: row.get(6)?,
            status: row.get(7)?,
            credentials_changed_at: row.get(8)?,
            created_at: row.get(9)?,
            login_count: row.get(10)?,
            last_login_at: row.get(11)?,
            last_login_ip: row.get(12)?,
            current_login_at: row.get(13)?,
            current_login_ip: row.get(14)?,
        })
    }

    fn into_user(self) -> DbResult<User> {
        let phone = self
            .phone
            .map(|p| Phone::parse(&p, false).map_err(|_| malformed("phone", &p)))
            .transpose()?;
        let email = self
            .email
            .map(|e| Email::parse(&e).map_err(|_| malformed("email", &e)))
            .transpose()?;
        let username = self
            .username
            .map(|u| Username::parse(&u).map_err(|_| malformed("username", &u)))
            .transpose()?;
        let roles = roles_from(&self.roles)?;
        let profile: serde_json::Value =
            serde_json::from_str(&self.profile).map_err(|_| malformed("profile", &self.profile))?;
        let status = status_from(&self.status)?;
        Ok(User {
            id: UserId::from_uuid(codec::uuid_from(TABLE, "id", &self.id)?),
            phone,
            email,
            username,
            password_hash: self.password_hash.map(PasswordHash::from_phc),
            roles,
            profile,
            status,
            created_at: codec::time_from(self.created_at),
            login_count: codec::count_from(TABLE, "login_count", self.login_count)?,
            last_login_at: codec::opt_time_from(self.last_login_at),
            last_login_ip: codec::ip_from(TABLE, "last_login_ip", self.last_login_ip)?,
            current_login_at: codec::opt_time_from(self.current_login_at),
            current_login_ip: codec::ip_from(TABLE, "current_login_ip", self.current_login_ip)?,
            credentials_changed_at: codec::opt_time_from(self.credentials_changed_at),
        })
    }
}

/// `status, roles` of a user, read from column `start` on (both NULL: no such user).
pub(crate) struct RawOwner {
    status: String,
    roles: String,
}

impl RawOwner {
    pub(crate) fn read(row: &Row<'_>, start: usize) -> rusqlite::Result<Option<Self>> {
        let status: Option<String> = row.get(start)?;
        let Some(status) = status else {
            return Ok(None);
        };
        Ok(Some(Self {
            status,
            roles: row.get(start + 1)?,
        }))
    }

    /// The owner, whose id the query matched on.
    pub(crate) fn into_owner(self, id: UserId) -> DbResult<SessionOwner> {
        Ok(SessionOwner {
            user_id: id,
            status: status_from(&self.status)?,
            roles: roles_from(&self.roles)?,
        })
    }
}

/// The `status` column.
fn status_from(text: &str) -> DbResult<UserStatus> {
    UserStatus::parse(text).ok_or_else(|| malformed("status", text))
}

/// The `roles` column: a JSON array of strings.
fn roles_from(text: &str) -> DbResult<Vec<String>> {
    serde_json::from_str(text).map_err(|_| malformed("roles", text))
}

fn malformed(column: &str, value: &str) -> DbError {
    corrupt(TABLE, format!("`{column}` = {value:?} does not parse"))
}
