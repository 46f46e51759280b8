//! SMS code challenges: the record the store keeps and the states it moves through.
//!
//! ```text
//!  start ──► Open ──(right code)──► Consumed
//!             │ └──(wrong code × max_attempts)──► Burned
//!             └──(time passes)──► Expired
//! ```
//! The record holds only facts (attempts made, consumed or not, expiry); [`Challenge::state`]
//! derives the one state it is in, and the verify flow matches on it, so no check is spread
//! over flags. The code itself is never stored: only an HMAC of it bound to the challenge id
//! and phone (`code_hash`), compared in constant time.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ChallengeId, UserId};
use crate::phone::Phone;
use crate::secret::{MacKey, OneTimeCode, SecretHash};

/// What a challenge proves when solved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChallengePurpose {
    /// Log in with the phone of an existing account (or, without one, a decoy that no code
    /// can solve).
    Login,
    /// Log in with a phone that has no account yet, creating the account when the code is
    /// right (only with `sms.signup_on_first_login`).
    Signup,
    /// Reset the password of the phone's account (or a decoy, like `Login`).
    PasswordReset,
    /// Move the account `user_id` to this (new) phone.
    PhoneChange,
}

impl ChallengePurpose {
    /// Stable name, for stores that keep text.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Signup => "signup",
            Self::PasswordReset => "password_reset",
            Self::PhoneChange => "phone_change",
        }
    }
    /// Parses [`ChallengePurpose::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "login" => Some(Self::Login),
            "signup" => Some(Self::Signup),
            "password_reset" => Some(Self::PasswordReset),
            "phone_change" => Some(Self::PhoneChange),
            _ => None,
        }
    }
}

/// One SMS code challenge as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The id handed to the client.
    pub id: ChallengeId,
    /// What it is for.
    pub purpose: ChallengePurpose,
    /// The phone the code went to.
    pub phone: Phone,
    /// The account it logs into; `None` for a phone with no account (no SMS was sent and no
    /// code can succeed, but the client cannot tell).
    pub user_id: Option<UserId>,
    /// Keyed hash of the code, bound to `id` and `phone`.
    pub code_hash: SecretHash,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When the code stops working.
    pub expires_at: DateTime<Utc>,
    /// Verification attempts made so far (right or wrong).
    pub attempts: u32,
    /// When it was solved, if it was.
    pub consumed_at: Option<DateTime<Utc>>,
}

/// The state a challenge is in at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChallengeState {
    /// Waiting for the code; `attempts_left` more tries allowed.
    Open {
        /// Tries left.
        attempts_left: u32,
    },
    /// Solved once; it never works again.
    Consumed,
    /// Too many wrong codes.
    Burned,
    /// Past its expiry.
    Expired,
}

impl Challenge {
    /// The state at `now`, given the configured attempt limit. A consumed challenge stays
    /// consumed after expiry (so a replay says `challenge_consumed`).
    pub(crate) fn state(&self, now: DateTime<Utc>, max_attempts: u32) -> ChallengeState {
        if self.consumed_at.is_some() {
            ChallengeState::Consumed
        } else if self.attempts >= max_attempts {
            ChallengeState::Burned
        } else if now >= self.expires_at {
            ChallengeState::Expired
        } else {
            ChallengeState::Open {
                attempts_left: max_attempts - self.attempts,
            }
        }
    }

    /// Whether `code` is this challenge's code (constant-time).
    pub(crate) fn code_matches(&self, key: &MacKey, code: &OneTimeCode) -> bool {
        code_hash(key, self.id, &self.phone, code).ct_eq(&self.code_hash)
    }
}

/// The keyed hash stored for a code: HMAC(key, challenge id ‖ phone ‖ code).
pub(crate) fn code_hash(
    key: &MacKey,
    id: ChallengeId,
    phone: &Phone,
    code: &OneTimeCode,
) -> SecretHash {
    key.hash(&[
        id.as_uuid().as_bytes(),
        phone.as_str().as_bytes(),
        code.expose().as_bytes(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SigningSecret;
    use chrono::Duration;

    fn challenge(key: &MacKey, now: DateTime<Utc>) -> Challenge {
        let id = ChallengeId::new_random();
        let phone = Phone::parse("+15551234567", false).unwrap();
        Challenge {
            id,
            purpose: ChallengePurpose::Login,
            code_hash: code_hash(key, id, &phone, &"123456".into()),
            phone,
            user_id: None,
            created_at: now,
            expires_at: now + Duration::minutes(10),
            attempts: 0,
            consumed_at: None,
        }
    }

    #[test]
    fn states_follow_the_facts() {
        let key = SigningSecret::generate().derive("t");
        let now = Utc::now();
        let mut c = challenge(&key, now);
        assert_eq!(c.state(now, 5), ChallengeState::Open { attempts_left: 5 });
        assert_eq!(
            c.state(now + Duration::minutes(10), 5),
            ChallengeState::Expired
        );
        c.attempts = 5;
        assert_eq!(c.state(now, 5), ChallengeState::Burned);
        c.consumed_at = Some(now);
        assert_eq!(
            c.state(now + Duration::days(1), 5),
            ChallengeState::Consumed
        );
    }

    #[test]
    fn code_is_bound_to_challenge_and_phone() {
        let key = SigningSecret::generate().derive("t");
        let now = Utc::now();
        let c = challenge(&key, now);
        assert!(c.code_matches(&key, &"123456".into()));
        assert!(!c.code_matches(&key, &"123457".into()));
        let mut other_phone = c.clone();
        other_phone.phone = Phone::parse("+15551234568", false).unwrap();
        assert!(!other_phone.code_matches(&key, &"123456".into()));
        let mut other_id = c.clone();
        other_id.id = ChallengeId::new_random();
        assert!(!other_id.code_matches(&key, &"123456".into()));
        let other_key = SigningSecret::generate().derive("t");
        assert!(!c.code_matches(&other_key, &"123456".into()));
    }
}
