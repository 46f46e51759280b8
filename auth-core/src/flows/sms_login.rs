//! SMS one-time-code login: start (send a code) and verify (trade it for a session).
//!
//! The challenge's states are in [`crate::challenge`]; this file moves a challenge through
//! them. Unknown phones get a challenge too (no SMS, a code that cannot match), so neither
//! the answer nor the limits reveal whether an account exists.

use crate::account::{User, UserStatus};
use crate::api::{ChallengeSent, ClientInfo, TokenPair};
use crate::challenge::{Challenge, ChallengePurpose, ChallengeState, code_hash};
use crate::hooks::{Action, AfterHook, BeforeHook};
use crate::ids::ChallengeId;
use crate::ids::UserId;
use crate::limits;
use crate::phone::Phone;
use crate::secret::{OneTimeCode, random_numeric_code};
use crate::sms::SmsMessage;
use crate::store::StoreError;
use crate::{Auth, AuthError};

impl Auth {
    /// `POST /login {"phone"}`: sends a login code to the phone (when it has an account) and
    /// returns the challenge. Applies the country rules, the per-IP cap, the resend cooldown,
    /// the per-phone caps and the lockout, identically for known and unknown phones.
    pub async fn start_sms_login(
        &self,
        phone: &str,
        client: &ClientInfo,
    ) -> Result<ChallengeSent, AuthError> {
        let cfg = &self.inner.config.sms;
        let phone = Phone::parse(phone, cfg.strict_phone_validation)?;
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
        let store = self.inner.store.as_ref();
        let user = store.user_by_phone(&phone).await?;
        let mut hook = BeforeHook::new(Action::SmsStart, client);
        hook.phone = Some(&phone);
        hook.user_id = user.as_ref().map(|u| u.id);
        self.before(hook).await?;

        let now = self.now();
        limits::check_sms_send(store, cfg, &phone, client.ip, now).await?;
        limits::check_lockout(store, &limits::sms_failures_key(&phone), cfg.lockout_after).await?;

        let test_code = cfg.test_numbers.get(phone.as_str()).cloned();
        let code = test_code
            .clone()
            .unwrap_or_else(|| OneTimeCode::new(random_numeric_code(cfg.code_length)));
        let id = ChallengeId::new_random();
        let signup = user.is_none() && cfg.signup_on_first_login;
        let challenge = Challenge {
            id,
            purpose: if signup {
                ChallengePurpose::Signup
            } else {
                ChallengePurpose::Login
            },
            code_hash: code_hash(&self.inner.code_key, id, &phone, &code),
            phone: phone.clone(),
            user_id: user.as_ref().map(|u| u.id),
            created_at: now,
            expires_at: now + crate::auth::secs(cfg.code_ttl_secs),
            attempts: 0,
            consumed_at: None,
        };
        store.insert_challenge(&challenge).await?;

        if (user.is_some() || signup) && test_code.is_none() {
            let message = SmsMessage {
                text: cfg.message_template.replace("{code}", code.expose()),
                to: phone,
                code,
            };
            if let Err(e) = self.inner.sms.send(&message).await {
                tracing::warn!(error = %e, challenge_id = %id, "sending the login SMS failed");
                return Err(AuthError::SmsUnavailable);
            }
        }
        self.after(AfterHook {
            action: Action::SmsStart,
            client,
            user: user.as_ref(),
            user_id: user.as_ref().map(|u| u.id),
            session_id: None,
        })
        .await;
        Ok(ChallengeSent {
            challenge_id: id,
            expires_in: cfg.code_ttl_secs,
            resend_in: cfg.resend_cooldown_secs,
        })
    }

    /// `POST /verify_sms`: trades the right code for a new session and token pair.
    ///
    /// A code works once (also when the right code arrives twice at the same moment), for at
    /// most `sms.max_attempts` tries, until it expires; every wrong code also counts towards the
    /// phone's lockout.
    pub async fn verify_sms(
        &self,
        challenge_id: &str,
        code: &OneTimeCode,
        client: &ClientInfo,
    ) -> Result<TokenPair, AuthError> {
        let cfg = &self.inner.config.sms;
        let id: ChallengeId = challenge_id.parse()?;
        let c = code.expose();
        if c.len() != usize::from(cfg.code_length) || !c.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AuthError::invalid_request(format!(
                "code must be {} digits",
                cfg.code_length
            )));
        }
        let store = self.inner.store.as_ref();
        let now = self.now();
        let challenge = store
            .challenge(id)
            .await?
            .filter(|ch| {
                matches!(
                    ch.purpose,
                    ChallengePurpose::Login | ChallengePurpose::Signup
                )
            })
            .ok_or(AuthError::InvalidCode)?;
        closed_state_error(challenge.state(now, cfg.max_attempts))?;
        let mut hook = BeforeHook::new(Action::SmsVerify, client);
        hook.phone = Some(&challenge.phone);
        hook.user_id = challenge.user_id;
        self.before(hook).await?;
        let failures_key = limits::sms_failures_key(&challenge.phone);
        limits::check_lockout(store, &failures_key, cfg.lockout_after).await?;

        // Reserve the attempt before comparing, so concurrent guesses cannot exceed the limit.
        if store
            .claim_challenge_attempt(id, cfg.max_attempts)
            .await?
            .is_none()
        {
            let latest = store.challenge(id).await?.ok_or(AuthError::InvalidCode)?;
            closed_state_error(latest.state(now, cfg.max_attempts))?;
            return Err(AuthError::TooManyAttempts { retry_after: None });
        }
        if !challenge.code_matches(&self.inner.code_key, code)
            || (challenge.user_id.is_none() && challenge.purpose != ChallengePurpose::Signup)
        {
            store.add_failure(&failures_key).await?;
            return Err(AuthError::InvalidCode);
        }
        if !store.consume_challenge(id, now).await? {
            return Err(AuthError::ChallengeConsumed);
        }
        let user = match challenge.user_id {
            Some(user_id) => store.user_by_id(user_id).await?,
            None => Some(self.sign_up_verified_phone(&challenge.phone).await?),
        }
        .ok_or(AuthError::InvalidCode)?;
        self.clear_lockouts(&user).await?;
        match user.status {
            UserStatus::Active => {}
            UserStatus::Disabled => return Err(AuthError::AccountDisabled),
            UserStatus::PendingActivation => return Err(AuthError::ActivationRequired),
        }
        let pair = self.start_session(&user, client).await?;
        self.after(AfterHook {
            action: Action::SmsVerify,
            client,
            user: Some(&user),
            user_id: Some(user.id),
            session_id: Some(pair.session_id),
        })
        .await;
        Ok(pair)
    }
}

impl Auth {
    /// Creates the account of a phone that just proved itself (sign-up on first login). When
    /// the phone registered meanwhile, that account is the one logged into.
    async fn sign_up_verified_phone(&self, phone: &Phone) -> Result<User, AuthError> {
        let store = self.inner.store.as_ref();
        let mut user = User::new(UserId::new_random(), self.now());
        user.phone = Some(phone.clone());
        match store.create_user(&user).await {
            Ok(()) => {
                tracing::info!(user_id = %user.id, "signed up on first SMS login");
                Ok(user)
            }
            Err(StoreError::Conflict(_)) => store
                .user_by_phone(phone)
                .await?
                .ok_or(AuthError::StoreUnavailable),
            Err(e) => Err(e.into()),
        }
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
