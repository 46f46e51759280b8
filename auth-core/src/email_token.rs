//! One-time tokens sent by mail (activation, password reset, email change): 256-bit random
//! secrets, single use, expiring, stored only as a keyed hash (which is also their lookup key).
//!
//! ```text
//!  issue ──► Open ──(presented)──► Consumed
//!             └──(time passes)──► Expired
//! ```

use chrono::{DateTime, Utc};

use crate::account::Email;
use crate::ids::UserId;
use crate::secret::{MacKey, SecretHash, b64_decode_exact, b64_encode, random_bytes};

/// What an emailed token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmailTokenPurpose {
    /// Activate the account.
    Activation,
    /// Reset the password.
    PasswordReset,
    /// Make `email` the account's address.
    EmailChange,
}

impl EmailTokenPurpose {
    /// Stable name, for stores that keep text.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Activation => "activation",
            Self::PasswordReset => "password_reset",
            Self::EmailChange => "email_change",
        }
    }
    /// Parses [`EmailTokenPurpose::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "activation" => Some(Self::Activation),
            "password_reset" => Some(Self::PasswordReset),
            "email_change" => Some(Self::EmailChange),
            _ => None,
        }
    }
}

/// An emailed one-time token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailToken {
    /// Keyed hash of the token: its identity and lookup key.
    pub hash: SecretHash,
    /// What it is for.
    pub purpose: EmailTokenPurpose,
    /// The account.
    pub user_id: UserId,
    /// The address it was sent to (the new address, for a change).
    pub email: Email,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was used, if it was.
    pub consumed_at: Option<DateTime<Utc>>,
}

/// The state of a token at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EmailTokenState {
    /// Usable.
    Open,
    /// Used once; never again.
    Consumed,
    /// Past its expiry.
    Expired,
}

impl EmailToken {
    /// The state at `now`. A used token stays used after expiry.
    pub(crate) fn state(&self, now: DateTime<Utc>) -> EmailTokenState {
        if self.consumed_at.is_some() {
            EmailTokenState::Consumed
        } else if now >= self.expires_at {
            EmailTokenState::Expired
        } else {
            EmailTokenState::Open
        }
    }
}

/// A fresh token string and its hash.
pub(crate) fn new_token(key: &MacKey) -> (String, SecretHash) {
    let raw = random_bytes::<32>();
    (b64_encode(&raw), key.hash(&[&raw]))
}

/// The hash of a presented token string; `None` when it cannot be one of ours.
pub(crate) fn hash_presented(key: &MacKey, token: &str) -> Option<SecretHash> {
    let raw = b64_decode_exact::<32>(token.trim())?;
    Some(key.hash(&[&raw]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SigningSecret;

    #[test]
    fn tokens_hash_consistently_and_garbage_is_rejected() {
        let key = SigningSecret::generate().derive("t");
        let (tok, hash) = new_token(&key);
        assert_eq!(tok.len(), 43);
        assert_eq!(hash_presented(&key, &tok), Some(hash));
        assert_eq!(hash_presented(&key, "short"), None);
        assert_eq!(hash_presented(&key, &format!("{tok}A")), None);
        let (other, _) = new_token(&key);
        assert_ne!(hash_presented(&key, &other), Some(hash));
        for p in [
            EmailTokenPurpose::Activation,
            EmailTokenPurpose::PasswordReset,
            EmailTokenPurpose::EmailChange,
        ] {
            assert_eq!(EmailTokenPurpose::parse(p.as_str()), Some(p));
        }
    }
}
