//! SMS one-time-code login: start (send a code) and verify (trade it for a session).
//!
//! The challenge's states are in [`crate::challenge`] and the machinery that issues and solves
//! one in `sms_challenge.rs`. Unknown phones get a challenge too (no SMS, a code that cannot
//! match), so neither the answer nor the limits reveal whether an account exists — unless
//! `sms.signup_on_first_login` is on, in which case they get a real code and an account once
//! they verify it.

use crate::AuthError;
use crate::account::{User, UserStatus};
use crate::api::{ChallengeSent, TokenPair};
use crate::challenge::{Challenge, ChallengePurpose};
use crate::flows::issuing::Issuer;
use crate::flows::sms_challenge::{Issue, SmsChallenges};
use crate::hooks::Action;
use crate::ids::{ChallengeId, UserId};
use crate::limits::Lockouts;
use crate::phone::Phone;
use crate::pipeline::{Flow, Outcome, Subject, flow_ctx};
use crate::secret::OneTimeCode;
use crate::sms::SmsKind;
use crate::store::StoreError;

flow_ctx!(
    /// What sending an SMS code works with: the SMS challenge machinery.
    SmsSendCtx { sms: SmsChallenges<'a> }
);

flow_ctx!(
    /// What SMS login works with: the SMS challenges, the lockouts it clears and the issuer of
    /// the session it starts.
    SmsLoginCtx {
        sms: SmsChallenges<'a>,
        lockouts: Lockouts<'a>,
        issuer: Issuer<'a>,
    }
);

/// `POST /login {"phone"}`: sends a login code to the phone (when it has an account) and
/// returns the challenge. Applies the country rules, the per-IP cap, the resend cooldown,
/// the per-phone caps and the lockout, identically for known and unknown phones.
pub(crate) struct SmsStart;

#[async_trait::async_trait]
impl<'a> Flow<'a> for SmsStart {
    const ACTION: Action = Action::SmsStart;
    type Ctx = SmsSendCtx<'a>;
    type Input = Phone;
    type Prepared = (Phone, Option<User>);
    type Output = ChallengeSent;

    async fn prepare(ctx: &Self::Ctx, phone: Phone) -> Result<Self::Prepared, AuthError> {
        ctx.sms().sms_phone_allowed(&phone)?;
        let user = ctx.store().user_by_phone(&phone).await?;
        Ok((phone, user))
    }

    fn subject((phone, user): &Self::Prepared) -> Subject<'_> {
        Subject {
            phone: Some(phone),
            user_id: user.as_ref().map(|u| u.id),
            ..Subject::default()
        }
    }

    async fn execute(
        ctx: &Self::Ctx,
        (phone, user): Self::Prepared,
    ) -> Result<(ChallengeSent, Outcome), AuthError> {
        let cfg = ctx.sms().cfg;
        let signup = user.is_none() && cfg.signup_on_first_login;
        let sent = ctx
            .sms()
            .issue_sms_challenge(Issue {
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
            })
            .await?;
        let outcome = user.map(Outcome::user).unwrap_or_default();
        Ok((sent, outcome))
    }
}

/// `POST /verify_sms`: trades the right code for a new session and token pair.
///
/// A code works once (also when the right code arrives twice at the same moment), for at
/// most `sms.max_attempts` tries, until it expires; every wrong code also counts towards the
/// phone's lockout.
pub(crate) struct SmsVerify;

#[async_trait::async_trait]
impl<'a> Flow<'a> for SmsVerify {
    const ACTION: Action = Action::SmsVerify;
    type Ctx = SmsLoginCtx<'a>;
    type Input = (ChallengeId, OneTimeCode);
    type Prepared = (Challenge, OneTimeCode);
    type Output = TokenPair;

    async fn prepare(
        ctx: &Self::Ctx,
        (id, code): Self::Input,
    ) -> Result<Self::Prepared, AuthError> {
        let challenge = ctx
            .sms()
            .open_sms_challenge(
                id,
                &code,
                &[ChallengePurpose::Login, ChallengePurpose::Signup],
            )
            .await?;
        Ok((challenge, code))
    }

    fn subject((challenge, _): &Self::Prepared) -> Subject<'_> {
        Subject {
            phone: Some(&challenge.phone),
            user_id: challenge.user_id,
            ..Subject::default()
        }
    }

    async fn execute(
        ctx: &Self::Ctx,
        (challenge, code): Self::Prepared,
    ) -> Result<(TokenPair, Outcome), AuthError> {
        ctx.sms().solve_sms_challenge(&challenge, &code).await?;
        let user = match challenge.user_id {
            Some(user_id) => ctx.store().user_by_id(user_id).await?,
            None => Some(sign_up_verified_phone(ctx, &challenge.phone).await?),
        }
        .ok_or(AuthError::InvalidCode)?;
        ctx.lockouts().clear_lockouts(&user).await?;
        match user.status {
            UserStatus::Active => {}
            UserStatus::Disabled => return Err(AuthError::AccountDisabled),
            UserStatus::PendingActivation => return Err(AuthError::ActivationRequired),
        }
        let pair = ctx.issuer().start_session(&user).await?;
        let session_id = pair.session_id;
        Ok((pair, Outcome::session(user, session_id)))
    }
}

/// Creates the account of a phone that just proved itself (sign-up on first login). When
/// the phone registered meanwhile, that account is the one logged into.
async fn sign_up_verified_phone(ctx: &SmsLoginCtx<'_>, phone: &Phone) -> Result<User, AuthError> {
    let store = ctx.store();
    let mut user = User::new(UserId::new_random(), ctx.now);
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
