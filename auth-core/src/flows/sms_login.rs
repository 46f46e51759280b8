//! SMS one-time-code login: start (send a code) and verify (trade it for a session).
//!
//! The challenge's states are in [`crate::challenge`] and the machinery that issues and solves
//! one in `sms_challenge.rs`. Unknown phones get a challenge too (no SMS, a code that cannot
//! match), so neither the answer nor the limits reveal whether an account exists — unless
//! `sms.signup_on_first_login` is on, in which case they get a real code and an account once
//! they verify it.

use crate::account::{User, UserStatus};
use crate::api::{ChallengeSent, ClientInfo, TokenPair};
use crate::challenge::ChallengePurpose;
use crate::flows::sms_challenge::Issue;
use crate::hooks::{Action, AfterHook, BeforeHook};
use crate::ids::UserId;
use crate::phone::Phone;
use crate::secret::OneTimeCode;
use crate::sms::SmsKind;
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
        let phone = self.sms_phone(phone)?;
        let user = self.inner.store.user_by_phone(&phone).await?;
        let mut hook = BeforeHook::new(Action::SmsStart, client);
        hook.phone = Some(&phone);
        hook.user_id = user.as_ref().map(|u| u.id);
        self.before(hook).await?;

        let signup = user.is_none() && cfg.signup_on_first_login;
        let sent = self
            .issue_sms_challenge(
                Issue {
                    phone: &phone,
                    purpose: if signup {
                        ChallengePurpose::Signup
                    } else {
                        ChallengePurpose::Login
                    },
                    user_id: user.as_ref().map(|u| u.id),
                    deliver: user.is_some() || signup,
                    kind: SmsKind::LoginCode,
                    template: &cfg.message_template,
                },
                client,
            )
            .await?;
        self.after(AfterHook {
            action: Action::SmsStart,
            client,
            user: user.as_ref(),
            user_id: user.as_ref().map(|u| u.id),
            session_id: None,
        })
        .await;
        Ok(sent)
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
        let challenge = self
            .open_sms_challenge(
                challenge_id,
                code,
                &[ChallengePurpose::Login, ChallengePurpose::Signup],
            )
            .await?;
        let mut hook = BeforeHook::new(Action::SmsVerify, client);
        hook.phone = Some(&challenge.phone);
        hook.user_id = challenge.user_id;
        self.before(hook).await?;
        self.solve_sms_challenge(&challenge, code).await?;

        let user = match challenge.user_id {
            Some(user_id) => self.inner.store.user_by_id(user_id).await?,
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
