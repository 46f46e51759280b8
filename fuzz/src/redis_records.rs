//! Target `redis_records`: the store-redis record decoders (its `codec.rs`, reached through
//! the `fuzzing` feature): user, challenge and emailed-token hashes, session JSON, session
//! owners, failure counts and timestamps, as `HGETALL`, `GET` and `HMGET` return them.
//!
//! Layout: `kind` (1 byte, `% 7`: user, challenge, emailed token, session, owner, failures,
//! raw session JSON), then for kinds 0 to 5 up to twelve edits of a valid record of that
//! kind, each a `field` byte (`%` the number of the kind's fields plus one: one of them, or
//! a field the kind does not have) and a `how` byte (`% 4`: remove it; set it to a chunk;
//! set it to one of [`TRICKY`], picked by a further byte; in a session, set it to a JSON
//! value that is not a string, picked by a further byte); for kind 6 the rest is the JSON.
//!
//! Properties: decoding fails with a `StoreError` or gives a record that encodes and decodes
//! back to itself; a timestamp that parses prints and parses back to the same instant.

use std::collections::HashMap;

use arbitrary::{Arbitrary, Unstructured};
use auth_core::account::{Email, User, UserStatus, Username};
use auth_core::challenge::{Challenge, ChallengePurpose};
use auth_core::email_token::{EmailToken, EmailTokenPurpose};
use auth_core::ids::{ChallengeId, SessionId, UserId};
use auth_core::password::PasswordHash;
use auth_core::phone::Phone;
use auth_core::secret::SecretHash;
use auth_core::session::{RefreshState, RevokeReason, Session, SessionStatus};
use chrono::{DateTime, TimeZone, Utc};
use store_redis::fuzzing as codec;

use crate::common::{Reader, Writer};

/// Edits per case at most.
pub const MAX_EDITS: usize = 12;

/// Values at the edges of the codecs.
pub const TRICKY: [&str; 24] = [
    "",
    "0",
    "-1",
    "18446744073709551616",
    "4294967296",
    "1.000000000",
    "-1.000000001",
    "59.1000000000",
    "9223372036854775807.999999999",
    "-9223372036854775808.000000000",
    "1893456000.0000000001",
    "nan",
    "[]",
    "{}",
    "null",
    "[\"admin\",1]",
    "+1 555 123 4567",
    "ANN@EXAMPLE.COM",
    "revoked",
    "pending_activation",
    "::ffff:1.2.3.4",
    "6F1C0B6E-54A5-4C55-9A43-1A1B8F0E2C11",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "$argon2id$v=19$m=1024,t=1,p=1$",
];

/// One edit of a record's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// How 0: remove the field.
    Remove(u8),
    /// How 1: set it to these bytes (invalid UTF-8 replaced).
    Set(u8, Vec<u8>),
    /// How 2: set it to `TRICKY[i % len]`.
    Tricky(u8, u8),
    /// How 3: in a session's JSON, a non-string value (`% 5`: number, null, true, array,
    /// object); elsewhere the same as [`Edit::Remove`].
    NotString(u8, u8),
}

/// One input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisCase {
    /// `% 7`: user, challenge, emailed token, session, owner, failures, raw session JSON.
    pub kind: u8,
    /// The edits (kinds 0 to 5).
    pub edits: Vec<Edit>,
    /// The JSON (kind 6).
    pub json: Vec<u8>,
}

impl<'a> Arbitrary<'a> for RedisCase {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut r = Reader::new(u);
        let kind = r.byte();
        if kind % 7 == 6 {
            return Ok(Self {
                kind,
                edits: Vec::new(),
                json: r.rest(),
            });
        }
        let mut edits = Vec::new();
        while !r.is_empty() && edits.len() < MAX_EDITS {
            let field = r.byte();
            edits.push(match r.byte() % 4 {
                0 => Edit::Remove(field),
                1 => Edit::Set(field, r.chunk()),
                2 => Edit::Tricky(field, r.byte()),
                _ => Edit::NotString(field, r.byte()),
            });
        }
        Ok(Self {
            kind,
            edits,
            json: Vec::new(),
        })
    }
}

impl RedisCase {
    /// The bytes that decode to this case.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.byte(self.kind);
        if self.kind % 7 == 6 {
            return w.rest(&self.json).finish();
        }
        for edit in &self.edits {
            match edit {
                Edit::Remove(f) => w.byte(*f).byte(0),
                Edit::Set(f, v) => w.byte(*f).byte(1).chunk(v),
                Edit::Tricky(f, i) => w.byte(*f).byte(2).byte(*i),
                Edit::NotString(f, i) => w.byte(*f).byte(3).byte(*i),
            };
        }
        w.finish()
    }
}

fn at(secs: i64, nanos: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, nanos).single().expect("a time")
}

fn user() -> User {
    let mut u = User::new(UserId::new_random(), at(1_893_456_000, 123));
    u.phone = Phone::parse("+15551234567", false).ok();
    u.email = Email::parse("ann@example.com").ok();
    u.username = Username::parse("ann").ok();
    u.password_hash = Some(PasswordHash::from_phc(
        "$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA",
    ));
    u.roles = vec!["admin".to_owned()];
    u.profile = serde_json::json!({ "display_name": "Ann", "age": 30.5 });
    u.status = UserStatus::Active;
    u.login_count = 3;
    u.last_login_at = Some(at(1_893_456_100, 0));
    u.last_login_ip = "127.0.0.1".parse().ok();
    u.current_login_at = Some(at(1_893_456_200, 999_999_999));
    u.current_login_ip = "::1".parse().ok();
    u.credentials_changed_at = Some(at(-1, 1));
    u
}

fn challenge() -> Challenge {
    Challenge {
        id: ChallengeId::new_random(),
        purpose: ChallengePurpose::PhoneChange,
        phone: Phone::parse("+447911123456", false).expect("phone"),
        user_id: Some(UserId::new_random()),
        code_hash: SecretHash::from_bytes([5; 32]),
        created_at: at(1_893_456_000, 0),
        expires_at: at(1_893_456_300, 0),
        attempts: 2,
        consumed_at: Some(at(1_893_456_010, 0)),
    }
}

fn email_token() -> EmailToken {
    EmailToken {
        hash: SecretHash::from_bytes([6; 32]),
        purpose: EmailTokenPurpose::EmailChange,
        user_id: UserId::new_random(),
        email: Email::parse("new@example.com").expect("email"),
        created_at: at(1_893_456_000, 0),
        expires_at: at(1_893_542_400, 0),
        consumed_at: None,
    }
}

fn session() -> Session {
    Session {
        id: SessionId::new_random(),
        user_id: UserId::new_random(),
        created_at: at(1_893_456_000, 1),
        last_used_at: at(1_893_456_500, 2),
        expires_at: at(1_898_640_000, 3),
        ip: "203.0.113.9".parse().ok(),
        user_agent: Some("Mozilla/5.0 \"quoted\" \\ \u{e9}".to_owned()),
        refresh: RefreshState {
            generation: 7,
            hash: SecretHash::from_bytes([8; 32]),
            issued_at: at(1_893_456_500, 2),
        },
        status: SessionStatus::Revoked {
            at: at(1_893_456_600, 0),
            reason: RevokeReason::RefreshTokenReused,
        },
    }
}

/// Applies string edits to a hash; `names` are the kind's fields.
fn edit_hash(
    mut fields: HashMap<String, String>,
    names: &[&str],
    edits: &[Edit],
) -> HashMap<String, String> {
    for edit in edits {
        let (f, value) = match edit {
            Edit::Remove(f) | Edit::NotString(f, _) => (f, None),
            Edit::Set(f, v) => (f, Some(String::from_utf8_lossy(v).into_owned())),
            Edit::Tricky(f, i) => (f, Some(TRICKY[usize::from(*i) % TRICKY.len()].to_owned())),
        };
        let name = names
            .get(usize::from(*f) % (names.len() + 1))
            .copied()
            .unwrap_or("unknown_field");
        match value {
            None => fields.remove(name),
            Some(v) => fields.insert(name.to_owned(), v),
        };
    }
    fields
}

fn names_of(fields: &HashMap<String, String>, extra: &[&'static str]) -> Vec<String> {
    let mut names: Vec<String> = fields
        .keys()
        .cloned()
        .chain(extra.iter().map(|s| (*s).to_owned()))
        .collect();
    names.sort();
    names.dedup();
    names
}

fn check_time(text: &str) {
    if let Some(t) = codec::decode_time(text) {
        let printed = codec::encode_time(t);
        assert_eq!(
            codec::decode_time(&printed),
            Some(t),
            "{text:?} -> {printed:?}"
        );
    }
}

/// Runs one case.
pub fn run(case: &RedisCase) {
    for edit in &case.edits {
        match edit {
            Edit::Set(_, v) => check_time(&String::from_utf8_lossy(v)),
            Edit::Tricky(_, i) => check_time(TRICKY[usize::from(*i) % TRICKY.len()]),
            _ => {}
        }
    }
    let key = "auth:fuzz";
    match case.kind % 7 {
        0 => {
            let base = codec::encode_user(&user()).expect("encode");
            let names = names_of(
                &base,
                &["last_login_at", "last_login_ip", "credentials_changed_at"],
            );
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            if let Ok(u) = codec::decode_user(key, edit_hash(base, &names, &case.edits)) {
                let again = codec::encode_user(&u).expect("a decoded user encodes");
                assert_eq!(
                    codec::decode_user(key, again).ok(),
                    Some(u),
                    "user round trip"
                );
            }
        }
        1 => {
            let c = challenge();
            let base = codec::encode_challenge(&c);
            let names = names_of(&base, &["user_id", "consumed_at"]);
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            if let Ok(d) = codec::decode_challenge(c.id, key, edit_hash(base, &names, &case.edits))
            {
                let again = codec::encode_challenge(&d);
                assert_eq!(
                    codec::decode_challenge(c.id, key, again).ok(),
                    Some(d),
                    "challenge round trip"
                );
            }
        }
        2 => {
            let t = email_token();
            let base = codec::encode_email_token(&t);
            let names = names_of(&base, &["consumed_at"]);
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            if let Ok(d) =
                codec::decode_email_token(t.hash, key, edit_hash(base, &names, &case.edits))
            {
                let again = codec::encode_email_token(&d);
                assert_eq!(
                    codec::decode_email_token(t.hash, key, again).ok(),
                    Some(d),
                    "emailed token round trip"
                );
            }
        }
        3 => {
            let s = session();
            let base: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&codec::encode_session(&s)).expect("session JSON");
            let mut names: Vec<String> = base.keys().cloned().collect();
            names.sort();
            let mut fields = base;
            for edit in &case.edits {
                let f = match edit {
                    Edit::Remove(f)
                    | Edit::Set(f, _)
                    | Edit::Tricky(f, _)
                    | Edit::NotString(f, _) => *f,
                };
                let name = names
                    .get(usize::from(f) % (names.len() + 1))
                    .cloned()
                    .unwrap_or_else(|| "unknown_field".to_owned());
                match edit {
                    Edit::Remove(_) => {
                        fields.remove(&name);
                    }
                    Edit::Set(_, v) => {
                        fields.insert(name, String::from_utf8_lossy(v).into_owned().into());
                    }
                    Edit::Tricky(_, i) => {
                        fields.insert(name, TRICKY[usize::from(*i) % TRICKY.len()].into());
                    }
                    Edit::NotString(_, i) => {
                        let value = match i % 5 {
                            0 => serde_json::json!(1893456000),
                            1 => serde_json::Value::Null,
                            2 => serde_json::json!(true),
                            3 => serde_json::json!(["active"]),
                            _ => serde_json::json!({}),
                        };
                        fields.insert(name, value);
                    }
                }
            }
            let json = serde_json::Value::Object(fields).to_string();
            check_session(s.id, key, &json);
        }
        4 => {
            let base = HashMap::from([
                ("id".to_owned(), UserId::new_random().to_string()),
                ("status".to_owned(), "disabled".to_owned()),
                ("roles".to_owned(), r#"["admin","support"]"#.to_owned()),
            ]);
            let fields = edit_hash(base, &["id", "status", "roles"], &case.edits);
            let get = |k: &str| fields.get(k).map(String::as_str).unwrap_or_default();
            let _ = codec::decode_owner(key, get("id"), get("status"), get("roles"));
        }
        5 => {
            let base = HashMap::from([
                ("count".to_owned(), "3".to_owned()),
                ("last_at".to_owned(), "1893456000.000000000".to_owned()),
                ("expires_at".to_owned(), "1893459600.000000000".to_owned()),
            ]);
            let fields = edit_hash(base, &["count", "last_at", "expires_at"], &case.edits);
            let _ = codec::decode_failures(key, fields);
        }
        _ => check_session(
            SessionId::new_random(),
            key,
            &String::from_utf8_lossy(&case.json),
        ),
    }
}

fn check_session(id: SessionId, key: &str, json: &str) {
    if let Ok(s) = codec::decode_session(id, key, json) {
        let again = codec::encode_session(&s);
        assert_eq!(
            codec::decode_session(id, key, &again).ok(),
            Some(s),
            "session round trip of {json}"
        );
    }
}
