//! Mapping between [`auth_core::User`] and the app's [`AccountRow`]. Every field must come back
//! exactly as it went in (the conformance suite checks it): times keep their precision, an
//! IPv4-mapped IPv6 address stays IPv6, the profile stays the same JSON object.

use std::net::IpAddr;

use auth_core::password::PasswordHash;
use auth_core::{Email, Phone, StoreError, User, UserId, UserStatus, Username};

use crate::AccountRow;

/// The row for a new user, with the app's defaults for its own columns.
pub fn new_row(user: &User) -> AccountRow {
    let mut row = AccountRow {
        id: user.id.as_uuid(),
        phone: None,
        email: None,
        username: None,
        password_phc: None,
        roles_json: String::new(),
        profile_json: String::new(),
        status: String::new(),
        created_at: user.created_at,
        login_count: 0,
        last_login_at: None,
        last_login_ip: None,
        current_login_at: None,
        current_login_ip: None,
        credentials_changed_at: None,
        plan: "free".to_owned(),
    };
    write_fields(&mut row, user);
    write_login_stats(&mut row, user);
    row
}

/// Writes what `update_user` may change: everything but the id, `created_at`, the login
/// statistics and the app's own columns.
pub fn write_fields(row: &mut AccountRow, user: &User) {
    row.phone = user.phone.as_ref().map(|p| p.as_str().to_owned());
    row.email = user.email.as_ref().map(|e| e.as_str().to_owned());
    row.username = user.username.as_ref().map(|u| u.as_str().to_owned());
    row.password_phc = user.password_hash.as_ref().map(|h| h.as_phc().to_owned());
    row.roles_json = serde_json::Value::from(user.roles.clone()).to_string();
    row.profile_json = user.profile.to_string();
    user.status.as_str().clone_into(&mut row.status);
    row.credentials_changed_at = user.credentials_changed_at;
}

/// Writes the login statistics (`record_login` and `create_user` only).
pub fn write_login_stats(row: &mut AccountRow, user: &User) {
    row.login_count = i64::try_from(user.login_count).unwrap_or(i64::MAX);
    row.last_login_at = user.last_login_at;
    row.last_login_ip = user.last_login_ip.map(|ip| ip.to_string());
    row.current_login_at = user.current_login_at;
    row.current_login_ip = user.current_login_ip.map(|ip| ip.to_string());
}

/// Reads a user back. A row that does not parse is reported as the store failing (the core
/// answers `store_unavailable`), never as a missing user.
pub fn read_user(row: &AccountRow) -> Result<User, StoreError> {
    let corrupt = |what: &str| StoreError::Unavailable(format!("users row {}: bad {what}", row.id));
    let ip = |text: &Option<String>, what: &str| {
        text.as_deref()
            .map(|t| t.parse::<IpAddr>().map_err(|_| corrupt(what)))
            .transpose()
    };
    let mut user = User::new(UserId::from_uuid(row.id), row.created_at);
    user.phone = row
        .phone
        .as_deref()
        .map(|p| Phone::parse(p, false).map_err(|_| corrupt("phone")))
        .transpose()?;
    user.email = row
        .email
        .as_deref()
        .map(|e| Email::parse(e).map_err(|_| corrupt("email")))
        .transpose()?;
    user.username = row
        .username
        .as_deref()
        .map(|u| Username::parse(u).map_err(|_| corrupt("username")))
        .transpose()?;
    user.password_hash = row.password_phc.clone().map(PasswordHash::from_phc);
    user.roles = serde_json::from_str(&row.roles_json).map_err(|_| corrupt("roles"))?;
    user.profile = serde_json::from_str(&row.profile_json).map_err(|_| corrupt("profile"))?;
    user.status = UserStatus::parse(&row.status).ok_or_else(|| corrupt("status"))?;
    user.login_count = u64::try_from(row.login_count).map_err(|_| corrupt("login_count"))?;
    user.last_login_at = row.last_login_at;
    user.last_login_ip = ip(&row.last_login_ip, "last_login_ip")?;
    user.current_login_at = row.current_login_at;
    user.current_login_ip = ip(&row.current_login_ip, "current_login_ip")?;
    user.credentials_changed_at = row.credentials_changed_at;
    Ok(user)
}
