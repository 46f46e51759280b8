//! The `users` table.

use std::net::IpAddr;

use auth_core::account::{Email, User, UserStatus, Username};
use auth_core::ids::UserId;
use auth_core::password::PasswordHash;
use auth_core::phone::Phone;
use auth_core::session::SessionOwner;
use chrono::{DateTime, Utc};
use deadpool_postgres::ClientWrapper;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::codec::{self, get};
use crate::error::{DbError, DbResult, corrupt, unrepresentable};

const TABLE: &str = "users";

/// The columns [`update`] writes come first (`$1..$9`), then the ones only `create` and
/// `record_login` write.
pub(crate) const COLUMNS: &str = "id, phone, email, username, password_hash, roles, profile, \
     status, credentials_changed_at, created_at, login_count, last_login_at, last_login_ip, \
     current_login_at, current_login_ip";

/// Inserts a user; unique violations become `Conflict(field)` (at the boundary).
pub(crate) async fn create(c: &ClientWrapper, user: &User) -> DbResult<()> {
    let row = Params::of(user)?;
    let stmt = c
        .prepare_cached(
            "INSERT INTO users (id, phone, email, username, password_hash, roles, profile, \
             status, credentials_changed_at, created_at, login_count, last_login_at, \
             last_login_ip, current_login_at, current_login_ip) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .await?;
    let _ = c.execute(&stmt, &row.as_params()).await?;
    Ok(())
}

/// Replaces the record of `user.id` but `created_at` and the login statistics (only
/// `record_login` changes those, so a concurrent login is never lost); `false` when there is
/// none. One statement: its unique constraints hold against concurrent writers.
pub(crate) async fn update(c: &ClientWrapper, user: &User) -> DbResult<bool> {
    let row = Params::of(user)?;
    let stmt = c
        .prepare_cached(
            "UPDATE users SET phone = $2, email = $3, username = $4, password_hash = $5, \
             roles = $6, profile = $7, status = $8, credentials_changed_at = $9 \
             WHERE id = $1",
        )
        .await?;
    let params = row.as_params();
    let n = c.execute(&stmt, params.get(..9).unwrap_or(&params)).await?;
    Ok(n == 1)
}

/// Counts a login in one statement (the right-hand sides see the row as it was).
pub(crate) async fn record_login(
    c: &ClientWrapper,
    id: UserId,
    at: DateTime<Utc>,
    ip: Option<IpAddr>,
) -> DbResult<bool> {
    let stmt = c
        .prepare_cached(
            "UPDATE users SET login_count = login_count + 1, \
             last_login_at = current_login_at, last_login_ip = current_login_ip, \
             current_login_at = $2, current_login_ip = $3 \
             WHERE id = $1",
        )
        .await?;
    let n = c
        .execute(&stmt, &[&id.as_uuid(), &codec::time(at)?, &ip])
        .await?;
    Ok(n == 1)
}

/// The indexed columns a user is looked up by, with the value to match.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lookup<'a> {
    Id(UserId),
    Phone(&'a Phone),
    Email(&'a Email),
    Username(&'a Username),
}

/// The user a [`Lookup`] matches.
pub(crate) async fn find(c: &ClientWrapper, lookup: Lookup<'_>) -> DbResult<Option<User>> {
    match lookup {
        Lookup::Id(id) => find_by(c, "id", &id.as_uuid()).await,
        Lookup::Phone(phone) => find_by(c, "phone", &phone.as_str()).await,
        Lookup::Email(email) => find_by(c, "email", &email.as_str()).await,
        Lookup::Username(name) => find_by(c, "username", &name.as_str()).await,
    }
}

/// The user whose `column` (one of ours, never input) equals `value`.
async fn find_by(
    c: &ClientWrapper,
    column: &'static str,
    value: &(dyn ToSql + Sync),
) -> DbResult<Option<User>> {
    let stmt = c
        .prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE {column} = $1"))
        .await?;
    c.query_opt(&stmt, &[value])
        .await?
        .map(|row| read(&row, 0))
        .transpose()
}

/// A user as bound parameters `$1..$15`, in [`COLUMNS`] order.
struct Params<'a> {
    id: Uuid,
    phone: Option<&'a str>,
    email: Option<&'a str>,
    username: Option<&'a str>,
    password_hash: Option<&'a str>,
    roles: String,
    profile: String,
    status: &'static str,
    credentials_changed_at: Option<i64>,
    created_at: i64,
    login_count: i64,
    last_login_at: Option<i64>,
    last_login_ip: Option<IpAddr>,
    current_login_at: Option<i64>,
    current_login_ip: Option<IpAddr>,
}

impl<'a> Params<'a> {
    fn of(user: &'a User) -> DbResult<Self> {
        let json = |e: serde_json::Error| unrepresentable(format!("user JSON: {e}"));
        Ok(Self {
            id: user.id.as_uuid(),
            phone: user.phone.as_ref().map(Phone::as_str),
            email: user.email.as_ref().map(Email::as_str),
            username: user.username.as_ref().map(Username::as_str),
            password_hash: user.password_hash.as_ref().map(PasswordHash::as_phc),
            roles: serde_json::to_string(&user.roles).map_err(json)?,
            profile: serde_json::to_string(&user.profile).map_err(json)?,
            status: user.status.as_str(),
            credentials_changed_at: codec::opt_time(user.credentials_changed_at)?,
            created_at: codec::time(user.created_at)?,
            login_count: codec::count(user.login_count)?,
            last_login_at: codec::opt_time(user.last_login_at)?,
            last_login_ip: user.last_login_ip,
            current_login_at: codec::opt_time(user.current_login_at)?,
            current_login_ip: user.current_login_ip,
        })
    }

    fn as_params(&self) -> [&(dyn ToSql + Sync); 15] {
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

/// The user whose [`COLUMNS`] start at column `start` of `row`.
pub(crate) fn read(row: &Row, start: usize) -> DbResult<User> {
    let col = |i: usize| start + i;
    let phone: Option<String> = get(row, col(1))?;
    let email: Option<String> = get(row, col(2))?;
    let username: Option<String> = get(row, col(3))?;
    let password_hash: Option<String> = get(row, col(4))?;
    let roles: String = get(row, col(5))?;
    let profile: String = get(row, col(6))?;
    let status: String = get(row, col(7))?;
    Ok(User {
        id: UserId::from_uuid(get(row, col(0))?),
        phone: phone
            .map(|p| Phone::parse(&p, false).map_err(|_| malformed("phone", &p)))
            .transpose()?,
        email: email
            .map(|e| Email::parse(&e).map_err(|_| malformed("email", &e)))
            .transpose()?,
        username: username
            .map(|u| Username::parse(&u).map_err(|_| malformed("username", &u)))
            .transpose()?,
        password_hash: password_hash.map(PasswordHash::from_phc),
        roles: roles_from(&roles)?,
        profile: serde_json::from_str(&profile).map_err(|_| malformed("profile", &profile))?,
        status: status_from(&status)?,
        credentials_changed_at: codec::opt_time_from(get(row, col(8))?),
        created_at: codec::time_from(get(row, col(9))?),
        login_count: codec::count_from(TABLE, "login_count", get(row, col(10))?)?,
        last_login_at: codec::opt_time_from(get(row, col(11))?),
        last_login_ip: codec::ip_from(TABLE, "last_login_ip", get(row, col(12))?)?,
        current_login_at: codec::opt_time_from(get(row, col(13))?),
        current_login_ip: codec::ip_from(TABLE, "current_login_ip", get(row, col(14))?)?,
    })
}

/// The session's owner from its user's `status, roles` at columns `start`, `start + 1`
/// (both NULL: the user no longer exists).
pub(crate) fn read_owner(row: &Row, start: usize, id: UserId) -> DbResult<Option<SessionOwner>> {
    let status: Option<String> = get(row, start)?;
    let roles: Option<String> = get(row, start + 1)?;
    let (Some(status), Some(roles)) = (status, roles) else {
        return Ok(None);
    };
    Ok(Some(SessionOwner {
        user_id: id,
        status: status_from(&status)?,
        roles: roles_from(&roles)?,
    }))
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
