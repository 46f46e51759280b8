//! Hooks for the fuzz targets in `fuzz/` (feature `fuzzing`, off by default, hidden from the
//! docs): the record codecs of `codec.rs`, both ways, so a fuzz target can feed the decoders
//! any field values and check that whatever decodes encodes back to the same record. Not an
//! API.

use std::collections::HashMap;

use auth_core::User;
use auth_core::challenge::Challenge;
use auth_core::email_token::EmailToken;
use auth_core::ids::{ChallengeId, SessionId};
use auth_core::secret::SecretHash;
use auth_core::session::{Session, SessionOwner};
use auth_core::store::{Failures, StoreError};
use chrono::{DateTime, Utc};

use crate::codec::{self, Record};

/// A record's fields as a Redis hash holds them.
pub type Hash = HashMap<String, String>;

fn to_hash(pairs: codec::Pairs) -> Hash {
    pairs.into_iter().map(|(f, v)| (f.to_owned(), v)).collect()
}

/// A user from its hash (`HGETALL` of `user:{id}`).
pub fn decode_user(key: &str, fields: Hash) -> Result<User, StoreError> {
    codec::user_from(&Record::new(key, fields))
}

/// The hash a user is written as.
pub fn encode_user(user: &User) -> Result<Hash, StoreError> {
    codec::user_pairs(user).map(to_hash)
}

/// A challenge from its hash.
pub fn decode_challenge(id: ChallengeId, key: &str, fields: Hash) -> Result<Challenge, StoreError> {
    codec::challenge_from(id, &Record::new(key, fields))
}

/// The hash a challenge is written as.
pub fn encode_challenge(challenge: &Challenge) -> Hash {
    to_hash(codec::challenge_pairs(challenge))
}

/// An emailed token from its hash.
pub fn decode_email_token(
    hash: SecretHash,
    key: &str,
    fields: Hash,
) -> Result<EmailToken, StoreError> {
    codec::email_token_from(hash, &Record::new(key, fields))
}

/// The hash an emailed token is written as.
pub fn encode_email_token(token: &EmailToken) -> Hash {
    to_hash(codec::email_token_pairs(token))
}

/// A session from its stored JSON (`GET` of `session:{id}`).
pub fn decode_session(id: SessionId, key: &str, json: &str) -> Result<Session, StoreError> {
    codec::session_from_json(id, key, json)
}

/// The JSON a session is written as.
pub fn encode_session(session: &Session) -> String {
    codec::session_json(session)
}

/// A session's owner from the `id`, `status` and `roles` fields of its user hash (`HMGET`).
pub fn decode_owner(
    key: &str,
    id: &str,
    status: &str,
    roles: &str,
) -> Result<SessionOwner, StoreError> {
    codec::owner_from(key, id, status, roles)
}

/// A consecutive-failure count from its hash.
pub fn decode_failures(key: &str, fields: Hash) -> Result<Failures, StoreError> {
    codec::failures_from(&Record::new(key, fields))
}

/// A stored timestamp (`<seconds>.<nanoseconds>`).
pub fn decode_time(text: &str) -> Option<DateTime<Utc>> {
    codec::parse_ts(text)
}

/// A timestamp as stored.
pub fn encode_time(at: DateTime<Utc>) -> String {
    codec::ts(at)
}
