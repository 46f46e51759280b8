//! Password reset by SMS code: `POST /password/reset {"phone"}` then
//! `POST /password/reset/confirm {"challenge_id","code","new_password"}`.
//!
//! The request answers the same for every phone (a decoy challenge when there is no account)
//! and shares the phone's SMS limits with login. A confirmed reset revokes every session.

use crate::AuthError;
use crate::account::User;
use crate::api::ChallengeSent;
use crate::challenge::{Challenge, ChallengePurpose};
use crate::flows::credentials::{Passwords, finish_reset};
use crate::flows::sms_challenge::{Issue, SmsChallenges};
use crate::flows::sms_login::SmsSendCtx;
use crate::hooks::Action;
use crate::ids::ChallengeId;
use crate::limits::Lockouts;
use crate::phone::Phone;
use crate::pipeline::{Flow, Outcome, Subject, flow_ctx};
use crate::secret::{OneTimeCode, Password};
use crate::sms::SmsKind;

flow_ctx!(
    /// What confirming an SMS reset works with: the SMS challenges, the password policy and
    /// hasher, and the lockouts it clears.
    ResetSmsCtx {
        sms: SmsChallenges<'a>,
        passwords: Passwords<'a>,
        lockouts: Lockouts<'a>,
    }
);

/// Starts a password reset by SMS. Always answers with a challenge (202), whether or not
/// the phone has an account; only an account's phone gets the code.
pub(crate) struct ResetSmsRequest;

#[async_trait::async_trait]
impl<'a> Flow<'a> for ResetSmsRequest {
    const ACTION: Action = Action::PasswordResetRequest;
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
        let sent = ctx
            .sms()
            .issue_sms_challenge(Issue {
                phone: &phone,
                purpose: ChallengePurpose::PasswordReset,
                user_id: user.as_ref().map(|u| u.id),
                deliver: user.is_some(),
                kind: SmsKind::PasswordResetCode,
                template: &ctx.sms().cfg.reset_template,
            })
            .await?;
        Ok((sent, user.map(Outcome::user).unwrap_or_default()))
    }
}

/// Sets a new password with a reset code. The new password must meet the policy
/// (`weak_password` leaves the code usable for another try); on success every session of
/// the user is revoked and the account's lockouts are cleared.
pub(crate) struct ResetSmsConfirm;

#[async_trait::async_trait]
impl<'a> Flow<'a> for ResetSmsConfirm {
    const ACTION: Action = Action::PasswordResetConfirm;
    type Ctx = ResetSmsCtx<'a>;
    type Input = (ChallengeId, OneTimeCode, Password);
    type Prepared = (Challenge, OneTimeCode, Password);
    type Output = ();

    async fn prepare(
        ctx: &Self::Ctx,
        (id, code, password): Self::Input,
    ) -> Result<Self::Prepared, AuthError> {
        let challenge = ctx
            .sms()
            .open_sms_challenge(id, &code, &[ChallengePurpose::PasswordReset])
            .await?;
        Ok((challenge, code, password))
    }

    fn subject((challenge, _, _): &Self::Prepared) -> Subject<'_> {
        Subject {
            phone: Some(&challenge.phone),
            user_id: challenge.user_id,
            ..Subject::default()
        }
    }

    async fn execute(
        ctx: &Self::Ctx,
        (challenge, code, new_password): Self::Prepared,
    ) -> Result<((), Outcome), AuthError> {
        // The password is checked (and hashed) before the code is spent, so a weak password
        // does not burn the code.
        let user = match challenge.user_id {
            Some(id) => ctx.store().user_by_id(id).await?,
            None => None,
        };
        let hash = ctx
            .passwords()
            .hash_new_password(user.as_ref(), &new_password)
            .await?;
        ctx.sms().solve_sms_challenge(&challenge, &code).await?;
        let mut user = user.ok_or(AuthError::InvalidCode)?;
        user.password_hash = Some(hash);
        user.credentials_changed_at = Some(ctx.now);
        if !ctx.store().update_user(&user).await? {
            return Err(AuthError::InvalidCode);
        }
        finish_reset(ctx.store(), ctx.lockouts(), ctx.now, user).await
    }
}
