//! How records are written to and read from Redis: one text field per record field, absent
//! fields for `None`, timestamps as exact `<seconds>.<nanoseconds>` text. Users and challenges
//! are Redis hashes of those fields. Sessions are the same fields as one JSON object of
//! strings in a plain string key: a browser user agent is longer than Redis'
//! `hash-max-listpack-value` (64 bytes by default), which would turn a session hash into a
//! full hash table at twice the memory (measured: 1184 against 568 bytes); the Lua scripts
//! read and write that JSON with Redis' built-in `cjson`, and since every value is a string,
//! no number ever passes through Lua's doubles.
//!
//! Reading is strict: a missing or malformed field is corrupt data, reported as
//! [`StoreError::Unavailable`] naming the key and field, never guessed around.

use std::collections::HashMap;
use std::net::IpAddr;
use std::str::FromStr;

use auth_core::account::{Email, User, UserStatus, Username};
use auth_core::challenge::{Challenge, ChallengePurpose};
use auth_core::email_token::{EmailToken, EmailTokenPurpose};
use auth_core::ids::{ChallengeId, SessionId, UserId};
use auth_core::password::PasswordHash;
use auth_core::phone::Phone;
use auth_core::secret::SecretHash;
use auth_core::session::{RefreshState, RevokeReason, Session, SessionOwner, SessionStatus};
use auth_core::store::{Failures, StoreError};
use chrono::{DateTime, Utc};

/// Field/value pairs in the order they are written (HSET arguments).
pub(crate) type Pairs = Vec<(&'static str, String)>;

/// Session `status` values.
const ACTIVE: &str = "active";
const REVOKED: &str = "revoked";

// ---- timestamps ----

/// Exact text form of a timestamp: whole seconds since the epoch (floored, so negative before
/// 1970), a dot, then the nanoseconds as 9 digits (10 during a leap second). The Lua scripts
/// compare these as (seconds, nanoseconds) pairs.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    format!("{}.{:09}", t.timestamp(), t.timestamp_subsec_nanos())
}

/// Parses [`ts`]'s output.
pub(crate) fn parse_ts(text: &str) -> Option<DateTime<Utc>> {
    let (secs, nanos) = text.split_once('.')?;
    if !(9..=10).contains(&nanos.len()) || !nanos.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    DateTime::from_timestamp(secs.parse().ok()?, nanos.parse().ok()?)
}

/// Milliseconds since the epoch, for `PEXPIREAT`.
pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

// ---- reading ----

/// Field lookup of a record as read: a Redis hash, or a session's JSON object.
pub(crate) trait Fields {
    /// The text of `field`, if present.
    fn field(&self, field: &str) -> Option<&str>;
}

impl Fields for HashMap<String, String> {
    fn field(&self, field: &str) -> Option<&str> {
        self.get(field).map(String::as_str)
    }
}

/// A JSON string value, borrowed from the input unless it had escapes to undo.
#[derive(serde::Deserialize)]
pub(crate) struct Text<'a>(#[serde(borrow)] std::borrow::Cow<'a, str>);

/// A session's JSON object, decoded without copying its values (the per-request path).
type JsonFields<'a> = HashMap<&'a str, Text<'a>>;

impl Fields for JsonFields<'_> {
    fn field(&self, field: &str) -> Option<&str> {
        self.get(field).map(|text| text.0.as_ref())
    }
}

/// A few fields read one by one (a script's reply), by name.
impl<const N: usize> Fields for [(&str, &str); N] {
    fn field(&self, field: &str) -> Option<&str> {
        self.iter()
            .find(|(name, _)| *name == field)
            .map(|(_, text)| *text)
    }
}

/// A record as read from Redis, with the key for error messages.
pub(crate) struct Record<'a, F: Fields = HashMap<String, String>> {
    key: &'a str,
    fields: F,
}

impl<'a, F: Fields> Record<'a, F> {
    pub(crate) fn new(key: &'a str, fields: F) -> Self {
        Self { key, fields }
    }

    fn corrupt(&self, field: &str, problem: &str) -> StoreError {
        StoreError::Unavailable(format!(
            "corrupt record in redis at {}: field `{field}` {problem}",
            self.key
        ))
    }

    fn opt(&self, field: &str) -> Option<&str> {
        self.fields.field(field)
    }

    fn req(&self, field: &str) -> Result<&str, StoreError> {
        self.opt(field)
            .ok_or_else(|| self.corrupt(field, "is missing"))
    }

    /// A required field through `parse`.
    fn parse<T>(
        &self,
        field: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, StoreError> {
        let text = self.req(field)?;
        parse(text).ok_or_else(|| self.corrupt(field, &format!("is malformed: {text:?}")))
    }

    /// An optional field through `parse` (absent = `None`, present but malformed = error).
    fn parse_opt<T>(
        &self,
        field: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>, StoreError> {
        match self.opt(field) {
            None => Ok(None),
            Some(_) => self.parse(field, parse).map(Some),
        }
    }
}

fn parse_id<T: FromStr>(text: &str) -> Option<T> {
    text.parse().ok()
}

fn parse_ip(text: &str) -> Option<IpAddr> {
    text.parse().ok()
}

/// A user's roles: a JSON array of strings.
fn parse_roles(text: &str) -> Option<Vec<String>> {
    serde_json::from_str(text).ok()
}

// ---- users ----

/// What `update_user` replaces (an absent optional value is removed). The other fields, the
/// registration time and the login statistics, keep their stored values: only `record_login`
/// changes those, so a login between the core's read and its write is never lost.
pub(crate) const USER_REPLACED_ON_UPDATE: [&str; 9] = [
    "id",
    "phone",
    "email",
    "username",
    "password_hash",
    "roles",
    "profile",
    "status",
    "credentials_changed_at",
];

/// The hash fields of a user.
pub(crate) fn user_pairs(user: &User) -> Result<Pairs, StoreError> {
    let roles = serde_json::to_string(&user.roles).map_err(StoreError::unavailable)?;
    let profile = serde_json::to_string(&user.profile).map_err(StoreError::unavailable)?;
    let mut pairs: Pairs = vec![
        ("id", user.id.to_string()),
        ("roles", roles),
        ("profile", profile),
        ("status", user.status.as_str().to_owned()),
        ("created_at", ts(user.created_at)),
        ("login_count", user.login_count.to_string()),
    ];
    let optional = [
        ("phone", user.phone.as_ref().map(|p| p.as_str().to_owned())),
        ("email", user.email.as_ref().map(|e| e.as_str().to_owned())),
        (
            "username",
            user.username.as_ref().map(|u| u.as_str().to_owned()),
        ),
        (
            "password_hash",
            user.password_hash.as_ref().map(|h| h.as_phc().to_owned()),
        ),
        ("last_login_at", user.last_login_at.map(ts)),
        ("last_login_ip", user.last_login_ip.map(|ip| ip.to_string())),
        ("current_login_at", user.current_login_at.map(ts)),
        (
            "current_login_ip",
            user.current_login_ip.map(|ip| ip.to_string()),
        ),
        (
            "credentials_changed_at",
            user.credentials_changed_at.map(ts),
        ),
    ];
    pairs.extend(optional.into_iter().filter_map(|(f, v)| v.map(|v| (f, v))));
    Ok(pairs)
}

/// A user from its hash.
pub(crate) fn user_from(record: &Record<'_>) -> Result<User, StoreError> {
    Ok(User {
        id: record.parse("id", parse_id::<UserId>)?,
        phone: record.parse_opt("phone", |s| Phone::parse(s, false).ok())?,
        email: record.parse_opt("email", |s| Email::parse(s).ok())?,
        username: record.parse_opt("username", |s| Username::parse(s).ok())?,
        password_hash: record.parse_opt("password_hash", |s| Some(PasswordHash::from_phc(s)))?,
        roles: record.parse("roles", parse_roles)?,
        profile: record.parse("profile", |s| serde_json::from_str(s).ok())?,
        status: record.parse("status", UserStatus::parse)?,
        created_at: record.parse("created_at", parse_ts)?,
        login_count: record.parse("login_count", |s| s.parse().ok())?,
        last_login_at: record.parse_opt("last_login_at", parse_ts)?,
        last_login_ip: record.parse_opt("last_login_ip", parse_ip)?,
        current_login_at: record.parse_opt("current_login_at", parse_ts)?,
        current_login_ip: record.parse_opt("current_login_ip", parse_ip)?,
        // Absent in records written before the field existed: never changed since.
        credentials_changed_at: record.parse_opt("credentials_changed_at", parse_ts)?,
    })
}

/// The hash fields `update_user` writes ([`USER_REPLACED_ON_UPDATE`]).
pub(crate) fn user_update_pairs(user: &User) -> Result<Pairs, StoreError> {
    let mut pairs = user_pairs(user)?;
    pairs.retain(|(field, _)| USER_REPLACED_ON_UPDATE.contains(field));
    Ok(pairs)
}

// ---- consecutive-failure counts ----

/// A failure count from its `count`, `last_at` and `expires_at` fields.
pub(crate) fn failures_from(record: &Record<'_, impl Fields>) -> Result<Failures, StoreError> {
    Ok(Failures {
        count: record.parse("count", |s| s.parse().ok())?,
        last_at: record.parse("last_at", parse_ts)?,
        expires_at: record.parse("expires_at", parse_ts)?,
    })
}

// ---- challenges ----

/// The hash fields of a challenge.
pub(crate) fn challenge_pairs(c: &Challenge) -> Pairs {
    let mut pairs: Pairs = vec![
        ("purpose", c.purpose.as_str().to_owned()),
        ("phone", c.phone.as_str().to_owned()),
        ("code_hash", c.code_hash.to_hex()),
        ("created_at", ts(c.created_at)),
        ("expires_at", ts(c.expires_at)),
        ("attempts", c.attempts.to_string()),
    ];
    if let Some(user) = c.user_id {
        pairs.push(("user_id", user.to_string()));
    }
    if let Some(at) = c.consumed_at {
        pairs.push(("consumed_at", ts(at)));
    }
    pairs
}

/// A challenge from its hash (the id is the key's).
pub(crate) fn challenge_from(
    id: ChallengeId,
    record: &Record<'_>,
) -> Result<Challenge, StoreError> {
    Ok(Challenge {
        id,
        purpose: record.parse("purpose", ChallengePurpose::parse)?,
        phone: record.parse("phone", |s| Phone::parse(s, false).ok())?,
        user_id: record.parse_opt("user_id", parse_id::<UserId>)?,
        code_hash: record.parse("code_hash", SecretHash::from_hex)?,
        created_at: record.parse("created_at", parse_ts)?,
        expires_at: record.parse("expires_at", parse_ts)?,
        attempts: record.parse("attempts", |s| s.parse().ok())?,
        consumed_at: record.parse_opt("consumed_at", parse_ts)?,
    })
}

// ---- emailed tokens ----

/// The hash fields of an emailed token (its hash is the key's).
pub(crate) fn email_token_pairs(t: &EmailToken) -> Pairs {
    let mut pairs: Pairs = vec![
        ("purpose", t.purpose.as_str().to_owned()),
        ("user_id", t.user_id.to_string()),
        ("email", t.email.as_str().to_owned()),
        ("created_at", ts(t.created_at)),
        ("expires_at", ts(t.expires_at)),
    ];
    if let Some(at) = t.consumed_at {
        pairs.push(("consumed_at", ts(at)));
    }
    pairs
}

/// An emailed token from its hash fields.
pub(crate) fn email_token_from(
    hash: SecretHash,
    record: &Record<'_>,
) -> Result<EmailToken, StoreError> {
    Ok(EmailToken {
        hash,
        purpose: record.parse("purpose", EmailTokenPurpose::parse)?,
        user_id: record.parse("user_id", parse_id::<UserId>)?,
        email: record.parse("email", |s| Email::parse(s).ok())?,
        created_at: record.parse("created_at", parse_ts)?,
        expires_at: record.parse("expires_at", parse_ts)?,
        consumed_at: record.parse_opt("consumed_at", parse_ts)?,
    })
}

// ---- sessions ----

/// The fields of a session.
fn session_pairs(s: &Session) -> Pairs {
    let mut pairs: Pairs = vec![
        ("user_id", s.user_id.to_string()),
        ("created_at", ts(s.created_at)),
        ("last_used_at", ts(s.last_used_at)),
        ("expires_at", ts(s.expires_at)),
        ("refresh_generation", s.refresh.generation.to_string()),
        ("refresh_hash", s.refresh.hash.to_hex()),
        ("refresh_issued_at", ts(s.refresh.issued_at)),
    ];
    if let Some(ip) = s.ip {
        pairs.push(("ip", ip.to_string()));
    }
    if let Some(agent) = &s.user_agent {
        pairs.push(("user_agent", agent.clone()));
    }
    match s.status {
        SessionStatus::Active => pairs.push(("status", ACTIVE.to_owned())),
        SessionStatus::Revoked { at, reason } => pairs.extend([
            ("status", REVOKED.to_owned()),
            ("revoked_at", ts(at)),
            ("revoke_reason", reason.as_str().to_owned()),
        ]),
    }
    pairs
}

/// A session as stored: a JSON object of its [`session_pairs`].
pub(crate) fn session_json(s: &Session) -> String {
    let object: serde_json::Map<String, serde_json::Value> = session_pairs(s)
        .into_iter()
        .map(|(field, value)| (field.to_owned(), serde_json::Value::String(value)))
        .collect();
    serde_json::Value::Object(object).to_string()
}

/// A session from its stored JSON (the id is the key's).
pub(crate) fn session_from_json(
    id: SessionId,
    key: &str,
    json: &str,
) -> Result<Session, StoreError> {
    let fields: JsonFields<'_> = serde_json::from_str(json).map_err(|e| {
        StoreError::Unavailable(format!(
            "corrupt record in redis at {key}: not a JSON object of strings: {e}"
        ))
    })?;
    session_from(id, &Record::new(key, fields))
}

/// A session's owner from the `id`, `status` and `roles` fields of its user hash.
pub(crate) fn owner_from(
    key: &str,
    id: &str,
    status: &str,
    roles: &str,
) -> Result<SessionOwner, StoreError> {
    let record = Record::new(key, [("id", id), ("status", status), ("roles", roles)]);
    Ok(SessionOwner {
        user_id: record.parse("id", parse_id::<UserId>)?,
        status: record.parse("status", UserStatus::parse)?,
        roles: record.parse("roles", parse_roles)?,
    })
}

/// A session from its fields (the id is the key's).
fn session_from(id: SessionId, record: &Record<'_, impl Fields>) -> Result<Session, StoreError> {
    let status = match record.req("status")? {
        ACTIVE => SessionStatus::Active,
        REVOKED => SessionStatus::Revoked {
            at: record.parse("revoked_at", parse_ts)?,
            reason: record.parse("revoke_reason", RevokeReason::parse)?,
        },
        other => return Err(record.corrupt("status", &format!("is malformed: {other:?}"))),
    };
    Ok(Session {
        id,
        user_id: record.parse("user_id", parse_id::<UserId>)?,
        created_at: record.parse("created_at", parse_ts)?,
        last_used_at: record.parse("last_used_at", parse_ts)?,
        expires_at: record.parse("expires_at", parse_ts)?,
        ip: record.parse_opt("ip", parse_ip)?,
        user_agent: record.opt("user_agent").map(str::to_owned),
        refresh: RefreshState {
            generation: record.parse("refresh_generation", |s| s.parse().ok())?,
            hash: record.parse("refresh_hash", SecretHash::from_hex)?,
            issued_at: record.parse("refresh_issued_at", parse_ts)?,
        },
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamps_round_trip_exactly() {
        let samples = [
            Utc::now(),
            DateTime::UNIX_EPOCH,
            Utc.timestamp_opt(-1, 1).single().unwrap_or_default(),
            Utc.timestamp_opt(1_893_456_000, 999_999_999)
                .single()
                .unwrap_or_default(),
            DateTime::<Utc>::MAX_UTC,
            DateTime::<Utc>::MIN_UTC,
        ];
        for t in samples {
            assert_eq!(parse_ts(&ts(t)), Some(t), "{}", ts(t));
        }
        assert_eq!(
            ts(Utc.timestamp_opt(5, 7).single().unwrap_or_default()),
            "5.000000007"
        );
        for bad in [
            "",
            "5",
            "5.",
            "5.1",
            "x.000000000",
            "5.00000000a",
            "5.0000000000000",
        ] {
            assert_eq!(parse_ts(bad), None, "{bad:?}");
        }
    }

    /// What `update_user` leaves alone.
    const USER_KEPT_ON_UPDATE: [&str; 6] = [
        "created_at",
        "login_count",
        "last_login_at",
        "last_login_ip",
        "current_login_at",
        "current_login_ip",
    ];

    #[test]
    fn update_keeps_or_replaces_every_user_field() {
        let mut user = User::new(UserId::new_random(), Utc::now());
        user.phone = Phone::parse("+15551234567", false).ok();
        user.email = Email::parse("a@example.com").ok();
        user.username = Username::parse("alice").ok();
        user.password_hash = Some(PasswordHash::from_phc("$argon2id$x"));
        user.last_login_at = Some(Utc::now());
        user.last_login_ip = Some(IpAddr::from([127, 0, 0, 1]));
        user.current_login_at = Some(Utc::now());
        user.current_login_ip = Some(IpAddr::from([127, 0, 0, 1]));
        user.credentials_changed_at = Some(Utc::now());
        let mut written: Vec<&str> = user_pairs(&user)
            .unwrap_or_default()
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        let mut classified: Vec<&str> = USER_KEPT_ON_UPDATE
            .iter()
            .chain(USER_REPLACED_ON_UPDATE.iter())
            .copied()
            .collect();
        written.sort_unstable();
        classified.sort_unstable();
        assert_eq!(written, classified);
    }

    #[test]
    fn profile_numbers_round_trip_through_json_text() {
        // The profile is stored as JSON text; every finite f64 must come back bit for bit.
        let mut bits: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200_000 {
            bits ^= bits << 13;
            bits ^= bits >> 7;
            bits ^= bits << 17;
            let x = f64::from_bits(bits);
            if !x.is_finite() {
                continue;
            }
            let text = serde_json::json!({ "x": x }).to_string();
            let back: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            assert_eq!(
                back.get("x").and_then(serde_json::Value::as_f64),
                Some(x),
                "{text}"
            );
        }
    }
}
