//! User accounts: the stored [`User`] record and the identifiers one logs in with
//! ([`Email`], [`Username`]; phones live in [`crate::phone`]).

use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::AuthError;
use crate::ids::UserId;
use crate::password::PasswordHash;
use crate::phone::Phone;

/// An email address, trimmed and lower-cased.
///
/// Validation is deliberately simple (one `@`, a non-empty local part, a domain with a dot, no
/// spaces or control characters, at most 254 characters): the real check is the activation mail.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Validates and normalizes an address.
    pub fn parse(input: &str) -> Result<Self, AuthError> {
        let bad = || AuthError::invalid_request("email is not a valid address");
        let email = input.trim().to_lowercase();
        if email.is_empty() || email.len() > 254 {
            return Err(bad());
        }
        let (local, domain) = email.split_once('@').ok_or_else(bad)?;
        let ok_chars = |s: &str| !s.chars().any(|c| c.is_whitespace() || c.is_control());
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if local.is_empty() || local.len() > 64 || !domain_ok || !ok_chars(&email) {
            return Err(bad());
        }
        Ok(Self(email))
    }

    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = AuthError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

/// A username: 3 to 32 characters from `a-z`, `0-9`, `_`, `.`, `-`, lower-cased, starting with
/// a letter or digit. Never contains `@`, so it cannot be confused with an email.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    /// Validates and normalizes a username.
    pub fn parse(input: &str) -> Result<Self, AuthError> {
        let name = input.trim().to_lowercase();
        let valid_len = (3..=32).contains(&name.len());
        let valid_chars = name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
        let valid_start = name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
        if valid_len && valid_chars && valid_start {
            Ok(Self(name))
        } else {
            Err(AuthError::invalid_request(
                "username must be 3-32 characters of a-z, 0-9, '_', '.', '-'",
            ))
        }
    }

    /// The normalized username.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Username({})", self.0)
    }
}

impl TryFrom<String> for Username {
    type Error = AuthError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Username> for String {
    fn from(value: Username) -> Self {
        value.0
    }
}

/// Whether an account may log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// May log in.
    Active,
    /// Registered by email, waiting for its activation link.
    PendingActivation,
    /// Disabled by an admin: every session is revoked, logins answer `account_disabled`.
    Disabled,
}

impl UserStatus {
    /// The stable lowercase name, for stores that keep text.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::PendingActivation => "pending_activation",
            Self::Disabled => "disabled",
        }
    }

    /// Parses [`UserStatus::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "pending_activation" => Some(Self::PendingActivation),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// A user account as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// The account's id.
    pub id: UserId,
    /// The phone number (unique), if the account has one.
    pub phone: Option<Phone>,
    /// The email address (unique), if the account has one.
    pub email: Option<Email>,
    /// The username (unique), if the account has one.
    pub username: Option<Username>,
    /// The argon2id PHC string, if the account has a password.
    pub password_hash: Option<PasswordHash>,
    /// Role names, e.g. `admin`.
    pub roles: Vec<String>,
    /// Free-form profile: always a JSON object.
    pub profile: serde_json::Value,
    /// Whether the account may log in.
    pub status: UserStatus,
    /// When the account was registered.
    pub created_at: DateTime<Utc>,
    /// Successful logins so far (SMS verifications and password logins, not refreshes).
    pub login_count: u64,
    /// Time of the previous successful login.
    pub last_login_at: Option<DateTime<Utc>>,
    /// Client IP of the previous successful login.
    pub last_login_ip: Option<IpAddr>,
    /// Time of the latest successful login.
    pub current_login_at: Option<DateTime<Utc>>,
    /// Client IP of the latest successful login.
    pub current_login_ip: Option<IpAddr>,
    /// When a credential last changed (password set, changed or reset; phone changed), if
    /// ever: SMS challenges and emailed tokens of this account issued before it no longer
    /// work.
    #[serde(default)]
    pub credentials_changed_at: Option<DateTime<Utc>>,
}

impl User {
    /// A new active account with nothing but an id and creation time; set the rest by field.
    pub fn new(id: UserId, created_at: DateTime<Utc>) -> Self {
        Self {
            id,
            phone: None,
            email: None,
            username: None,
            password_hash: None,
            roles: Vec::new(),
            profile: serde_json::Value::Object(serde_json::Map::new()),
            status: UserStatus::Active,
            created_at,
            login_count: 0,
            last_login_at: None,
            last_login_ip: None,
            current_login_at: None,
            current_login_ip: None,
            credentials_changed_at: None,
        }
    }

    /// Whether a one-time credential (SMS challenge, emailed token) of this account issued at
    /// `issued_at` predates the account's latest credential change, and so no longer works.
    pub fn superseded(&self, issued_at: DateTime<Utc>) -> bool {
        self.credentials_changed_at
            .is_some_and(|changed| issued_at < changed)
    }

    /// Whether the user holds `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            Email::parse("  Alice@Example.COM ")
                .map(|e| e.0)
                .ok()
                .as_deref(),
            Some("alice@example.com")
        );
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "a b@c.d",
            "a@b..c",
            "a@.b.c",
            "a@b@c.d",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn usernames_are_restricted() {
        assert!(Username::parse("Alice_01").is_ok());
        for bad in ["ab", "a@b", "_alice", "al ice", &"a".repeat(33), "ålice"] {
            assert!(Username::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
