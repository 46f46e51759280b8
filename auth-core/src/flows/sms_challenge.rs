//! The SMS code challenge machinery shared by login, password reset and phone change:
//! issuing a challenge (limits, code, storage, delivery) and solving one (state, lockout,
//! attempt, constant-time compare, single use). The flows decide what a solved challenge is
//! worth.

use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};

use crate::AuthError;
use crate::api::ChallengeSent;
use crate::challenge::{Challenge, ChallengePurpose, ChallengeState, code_hash};
use crate::config::SmsConfig;
use crate::ids::{ChallengeId, UserId};
use crate::limits::{self, Counters, Lockout};
use crate::phone::Phone;
use crate::secret::MacKey;
use crate::secret::{OneTimeCode, random_numeric_code};
use crate::sms::{SmsKind, SmsMessage, SmsSender};
use crate::store::Store;

/// After a failed send, how long every SMS start answers `sms_unavailable` unless a send
/// succeeds (sends are still tried for phones that get one).
const SMS_OUTAGE_SECS: i64 = 60;

/// What to issue.
pub(crate) struct Issue<'a> {
    pub(crate) phone: &'a Phone,
    pub(crate) purpose: ChallengePurpose,
    pub(crate) user_id: Option<UserId>,
    /// Whether to send the SMS (false for decoys: an unknown phone gets the same answer and
    /// limits, but nothing is sent and no code can solve the challenge).
    pub(crate) deliver: bool,
    pub(crate) kind: SmsKind,
    pub(crate) template: &'a str,
}

/// What the SMS challenge machinery works with: the time and client IP of the request, the
/// store, the SMS section of the configuration, the code key, the sender and its outage mark.
#[derive(Clone, Copy)]
pub(crate) struct SmsChallenges<'a> {
    pub(crate) now: DateTime<Utc>,
    pub(crate) client_ip: Option<IpAddr>,
    pub(crate) store: &'a dyn Store,
    pub(crate) cfg: &'a SmsConfig,
    pub(crate) code_key: &'a MacKey,
    pub(crate) sender: &'a dyn SmsSender,
    /// Until when (Unix seconds) the SMS provider is taken to be down after a failed send.
    pub(crate) down_until: &'a AtomicI64,
    pub(crate) counters: Counters<'a>,
}

impl SmsChallenges<'_> {
    /// Applies the country allow/deny lists to a phone an SMS would go to.
    pub(crate) fn sms_phone_allowed(&self, phone: &Phone) -> Result<(), AuthError> {
        let cfg = self.cfg;
        let cc = phone.country_code();
        let allowed = cfg
            .allowed_country_codes
            .as_ref()
            .is_none_or(|a| a.contains(&cc));
        if !allowed || cfg.denied_country_codes.contains(&cc) {
            return Err(AuthError::invalid_request(format!(
                "SMS to country code +{cc} is not supported"
            )));
        }
        Ok(())
    }

    /// Counts the send against the limits, refuses a locked phone, stores the challenge (only a
    /// hash of its code) and delivers the SMS. One set of limits covers every SMS a phone
    /// receives.
    pub(crate) async fn issue_sms_challenge(
        &self,
        issue: Issue<'_>,
    ) -> Result<ChallengeSent, AuthError> {
        let cfg = self.cfg;
        let store = self.store;
        let now = self.now;
        let phone = issue.phone;
        let counters = self.counters;
        counters
            .check_sms_send(cfg, phone, issue.purpose, self.client_ip, now)
            .await?;
        counters
            .check_lockout(
                &limits::sms_failures_key(phone, issue.purpose),
                Lockout::sms_codes(cfg),
                now,
            )
            .await?;

        let test_code = cfg.test_numbers.get(phone.as_str()).cloned();
        let deliver = issue.deliver && test_code.is_none();
        // While the provider is taken to be down, phones we would not text answer the same
        // 503 as those we would, so an outage does not reveal which phones have accounts.
        let down_until = self.down_until.load(Ordering::Relaxed);
        if !deliver && test_code.is_none() && now.timestamp() < down_until {
            return Err(AuthError::SmsUnavailable);
        }
        let code =
            test_code.unwrap_or_else(|| OneTimeCode::new(random_numeric_code(cfg.code_length)));
        let id = ChallengeId::new_random();
        let challenge = Challenge {
            id,
            purpose: issue.purpose,
            code_hash: code_hash(self.code_key, id, phone, &code),
            phone: phone.clone(),
            user_id: issue.user_id,
            created_at: now,
            expires_at: now + crate::clock::secs(cfg.code_ttl_secs),
            attempts: 0,
            consumed_at: None,
        };
        store.insert_challenge(&challenge).await?;
        if deliver {
            let message = SmsMessage {
                text: issue.template.replace("{code}", code.expose()),
                to: phone.clone(),
                kind: issue.kind,
                code: Some(code),
            };
            match self.sender.send(&message).await {
                Ok(()) => self.down_until.store(i64::MIN, Ordering::Relaxed),
                Err(e) => {
                    tracing::warn!(error = %e, challenge_id = %id, "sending an SMS code failed");
                    let until = now.timestamp().saturating_add(SMS_OUTAGE_SECS);
                    self.down_until.store(until, Ordering::Relaxed);
                    return Err(AuthError::SmsUnavailable);
                }
            }
        }
        Ok(ChallengeSent {
            challenge_id: id,
            expires_in: cfg.code_ttl_secs,
            resend_in: cfg.resend_cooldown_secs,
        })
    }

    /// Checks the code's form and loads an open challenge of one of `purposes`. Reads only.
    pub(crate) async fn open_sms_challenge(
        &self,
        id: ChallengeId,
        code: &OneTimeCode,
        purposes: &[ChallengePurpose],
    ) -> Result<Challenge, AuthError> {
        let cfg = self.cfg;
        let c = code.expose();
        if c.len() != usize::from(cfg.code_length) || !c.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AuthError::invalid_request(format!(
                "code must be {} digits",
                cfg.code_length
            )));
        }
        let challenge = self
            .store
            .challenge(id)
            .await?
            .filter(|ch| purposes.contains(&ch.purpose))
            .ok_or(AuthError::InvalidCode)?;
        closed_state_error(challenge.state(self.now, cfg.max_attempts))?;
        Ok(challenge)
    }

    /// Tries `code` on the challenge: refuses a locked phone, reserves an attempt (so
    /// concurrent guesses cannot exceed the limit), compares in constant time, and consumes the
    /// challenge (exactly once, also when the right code arrives twice at once). A wrong code
    /// counts towards the phone's lockout. A decoy (no account, not a sign-up) never succeeds.
    pub(crate) async fn solve_sms_challenge(
        &self,
        challenge: &Challenge,
        code: &OneTimeCode,
    ) -> Result<(), AuthError> {
        let cfg = self.cfg;
        let store = self.store;
        let now = self.now;
        let counters = self.counters;
        let lockout = Lockout::sms_codes(cfg);
        let failures_key = limits::sms_failures_key(&challenge.phone, challenge.purpose);
        counters.check_lockout(&failures_key, lockout, now).await?;
        if store
            .claim_challenge_attempt(challenge.id, cfg.max_attempts)
            .await?
            .is_none()
        {
            let latest = store
                .challenge(challenge.id)
                .await?
                .ok_or(AuthError::InvalidCode)?;
            closed_state_error(latest.state(now, cfg.max_attempts))?;
            return Err(AuthError::TooManyAttempts { retry_after: None });
        }
        let decoy = challenge.user_id.is_none() && challenge.purpose != ChallengePurpose::Signup;
        if !challenge.code_matches(self.code_key, code) || decoy {
            counters.add_failure(&failures_key, lockout, now).await?;
            return Err(AuthError::InvalidCode);
        }
        // A right code issued before the account's latest credential change (password set,
        // changed or reset; phone or email changed) is dead, as if expired. Checked only once
        // the code matched, so a wrong code costs the same store work for every phone.
        if let Some(user_id) = challenge.user_id
            && let Some(user) = store.user_by_id(user_id).await?
            && user.superseded(challenge.created_at)
        {
            return Err(AuthError::CodeExpired);
        }
        if !store.consume_challenge(challenge.id, now).await? {
            return Err(AuthError::ChallengeConsumed);
        }
        Ok(())
    }
}

/// The error for a challenge that can no longer be solved; `Ok` while it is open.
fn closed_state_error(state: ChallengeState) -> Result<(), AuthError> {
    match state {
        ChallengeState::Open { .. } => Ok(()),
        ChallengeState::Consumed => Err(AuthError::ChallengeConsumed),
        ChallengeState::Burned => Err(AuthError::TooManyAttempts { retry_after: None }),
        ChallengeState::Expired => Err(AuthError::CodeExpired),
    }
}
