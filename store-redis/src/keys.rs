//! The key layout: every key the store touches, built in one place from the configured prefix.
//! The Lua scripts build a few of the same names themselves (index → user, set member →
//! session); they receive the prefix as an argument and use the same spelling as here.
//!
//! On a Redis Cluster the prefix is wrapped in braces (`{auth:}user:…`): a hash tag, so every
//! key of the store hashes to the same slot and each script touches keys of one slot only.

use auth_core::ids::{ChallengeId, SessionId, UserId};
use auth_core::secret::SecretHash;

/// Key names under one prefix.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
}

/// The kinds of record that expire, with the key segment SCAN looks for when purging them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiring {
    Challenge,
    EmailToken,
    Session,
    Counter,
    Failures,
}

impl Expiring {
    /// The segment after the prefix, and the kind name the purge script expects.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Challenge => "challenge",
            Self::EmailToken => "email-token",
            Self::Session => "session",
            Self::Counter => "counter",
            Self::Failures => "failures",
        }
    }
}

impl Keys {
    pub(crate) fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// The layout on a Redis Cluster: `{prefix}` before every key, one hash tag for all. `None`
    /// when the prefix would make an empty tag (empty, or starting with `}`: Redis would then
    /// hash each whole key, scattering the store over every slot).
    pub(crate) fn cluster(prefix: &str) -> Option<Self> {
        if prefix.is_empty() || prefix.starts_with('}') {
            return None;
        }
        Some(Self::new(format!("{{{prefix}}}")))
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, kind: &str, rest: &str) -> String {
        let mut key = String::with_capacity(self.prefix.len() + kind.len() + 1 + rest.len());
        key.push_str(&self.prefix);
        key.push_str(kind);
        key.push(':');
        key.push_str(rest);
        key
    }

    /// `{prefix}user:{id}`: the user hash.
    pub(crate) fn user(&self, id: UserId) -> String {
        self.key("user", &id.to_string())
    }

    /// `{prefix}phone:{e164}`, `{prefix}email:{email}`, `{prefix}username:{name}`: the
    /// unique indexes, each holding a user id. `field` is `phone`, `email` or `username`.
    pub(crate) fn index(&self, field: &str, value: &str) -> String {
        self.key(field, value)
    }

    /// `{prefix}challenge:{id}`: the challenge hash.
    pub(crate) fn challenge(&self, id: ChallengeId) -> String {
        self.key("challenge", &id.to_string())
    }

    /// `{prefix}email-token:{hash hex}`: an emailed one-time token's hash.
    pub(crate) fn email_token(&self, hash: &SecretHash) -> String {
        self.key("email-token", &hash.to_hex())
    }

    /// `{prefix}session:{id}`: the session (JSON string).
    pub(crate) fn session(&self, id: SessionId) -> String {
        self.key("session", &id.to_string())
    }

    /// `{prefix}user-sessions:{user id}`: the set of the user's active session ids.
    pub(crate) fn user_sessions(&self, user: UserId) -> String {
        self.key("user-sessions", &user.to_string())
    }

    /// `{prefix}counter:{key}`: a fixed-window counter hash.
    pub(crate) fn counter(&self, key: &str) -> String {
        self.key("counter", key)
    }

    /// `{prefix}failures:{key}`: a consecutive-failure count hash (`count`, `last_at`,
    /// `expires_at`).
    pub(crate) fn failures(&self, key: &str) -> String {
        self.key("failures", key)
    }

    /// SCAN pattern for every record of one expiring kind.
    pub(crate) fn scan_pattern(&self, kind: Expiring) -> String {
        let mut pattern = glob_escape(&self.prefix);
        pattern.push_str(kind.name());
        pattern.push_str(":*");
        pattern
    }

    /// SCAN pattern for every key under the prefix.
    pub(crate) fn scan_all_pattern(&self) -> String {
        let mut pattern = glob_escape(&self.prefix);
        pattern.push('*');
        pattern
    }
}

/// Escapes the characters Redis glob patterns treat specially, so a prefix matches itself.
fn glob_escape(literal: &str) -> String {
    let mut out = String::with_capacity(literal.len() + 4);
    for c in literal.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '^' | '-') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn layout() {
        let keys = Keys::new("app:");
        let id = UserId::new_random();
        assert_eq!(keys.user(id), format!("app:user:{id}"));
        assert_eq!(
            keys.index("phone", "+15551234567"),
            "app:phone:+15551234567"
        );
        assert_eq!(keys.counter("sms:ip:1.2.3.4"), "app:counter:sms:ip:1.2.3.4");
        assert_eq!(keys.scan_pattern(Expiring::Session), "app:session:*");
    }

    #[test]
    fn cluster_keys_share_one_hash_tag() {
        let keys = Keys::cluster("app:").unwrap();
        let id = UserId::new_random();
        assert_eq!(keys.user(id), format!("{{app:}}user:{id}"));
        assert_eq!(keys.scan_pattern(Expiring::Session), "{app:}session:*");
        let slot = redis::cluster_routing::Slot::for_key(keys.prefix());
        for key in [
            keys.user(id),
            keys.index("email", "a@b.c"),
            keys.counter("x}{y"),
        ] {
            assert_eq!(redis::cluster_routing::Slot::for_key(&key), slot, "{key}");
        }
        assert!(Keys::cluster("").is_none());
        assert!(Keys::cluster("}x").is_none());
    }

    #[test]
    fn glob_characters_in_the_prefix_are_escaped() {
        let keys = Keys::new("a*b?[c]-");
        assert_eq!(keys.scan_all_pattern(), "a\\*b\\?\\[c\\]\\-*");
    }
}
