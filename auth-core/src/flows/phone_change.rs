//! Changing the account's phone: `POST /phone {"phone"[, "password"]}` sends a code to the new
//! number; `POST /phone/confirm {"challenge_id","code"}` moves the account to it and notifies
//! the old number.
//!
//! Proof of the account: its current password when it has one, otherwise a recent login
//! (`accounts.recent_login_secs`); see `reauth.rs`.

use crate::AuthError;
use crate::api::ChallengeSent;
use crate::challenge::{Challenge, ChallengePurpose};
use crate::flows::account::signed_in_user;
use crate::flows::reauth::Reauth;
use crate::flows::sms_challenge::{Issue, SmsChallenges};
use crate::hooks::Action;
use crate::ids::ChallengeId;
use crate::phone::Phone;
use crate::pipeline::{Flow, Outcome, Subject, flow_ctx};
use crate::secret::{OneTimeCode, Password};
use crate::sms::{SmsKind, SmsMessage};
use crate::store::StoreError;
use crate::token::access::Principal;

flow_ctx!(
    /// What changing the phone works with: the SMS challenges and re-authentication.
    PhoneChangeCtx {
        sms: SmsChallenges<'a>,
        reauth: Reauth<'a>,
    }
);

/// `POST /phone`: sends a confirmation code to the new number.
pub(crate) struct PhoneChangeRequest;

#[async_trait::async_trait]
impl<'a> Flow<'a> for PhoneChangeRequest {
    const ACTION: Action = Action::PhoneChangeRequest;
    type Ctx = PhoneChangeCtx<'a>;
    type Input = (Principal, Phone, Option<Password>);
    type Prepared = Self::Input;
    type Output = ChallengeSent;

    async fn prepare(ctx: &Self::Ctx, input: Self::Input) -> Result<Self::Input, AuthError> {
        ctx.sms().sms_phone_allowed(&input.1)?;
        Ok(input)
    }

    fn subject((principal, phone, _): &Self::Input) -> Subject<'_> {
        Subject {
            phone: Some(phone),
            ..Subject::principal(principal)
        }
    }

    async fn execute(
        ctx: &Self::Ctx,
        (principal, phone, password): Self::Input,
    ) -> Result<(ChallengeSent, Outcome), AuthError> {
        let user = signed_in_user(ctx.store(), &principal).await?;
        ctx.reauth()
            .reauthenticate(&principal, &user, password.as_ref())
            .await?;
        if user.phone.as_ref() == Some(&phone) {
            return Err(AuthError::invalid_request(
                "that is already the account's phone",
            ));
        }
        if ctx.store().user_by_phone(&phone).await?.is_some() {
            return Err(AuthError::AlreadyRegistered);
        }
        let sent = ctx
            .sms()
            .issue_sms_challenge(Issue {
                phone: &phone,
                purpose: ChallengePurpose::PhoneChange,
                user_id: Some(user.id),
                deliver: true,
                kind: SmsKind::PhoneChangeCode,
                template: &ctx.sms().cfg.phone_change_template,
            })
            .await?;
        Ok((sent, Outcome::principal_user(&principal, user)))
    }
}

/// `POST /phone/confirm`: with the code sent to the new number, makes it the account's
/// phone. The old number gets a notice (best effort). SMS codes and emailed tokens issued
/// before stop working.
pub(crate) struct PhoneChangeConfirm;

#[async_trait::async_trait]
impl<'a> Flow<'a> for PhoneChangeConfirm {
    const ACTION: Action = Action::PhoneChangeConfirm;
    type Ctx = PhoneChangeCtx<'a>;
    type Input = (Principal, ChallengeId, OneTimeCode);
    type Prepared = (Principal, Challenge, OneTimeCode);
    type Output = ();

    async fn prepare(
        ctx: &Self::Ctx,
        (principal, id, code): Self::Input,
    ) -> Result<Self::Prepared, AuthError> {
        let challenge = ctx
            .sms()
            .open_sms_challenge(id, &code, &[ChallengePurpose::PhoneChange])
            .await?;
        if challenge.user_id != Some(principal.user_id) {
            return Err(AuthError::InvalidCode);
        }
        Ok((principal, challenge, code))
    }

    fn subject((principal, challenge, _): &Self::Prepared) -> Subject<'_> {
        Subject {
            phone: Some(&challenge.phone),
            ..Subject::principal(principal)
        }
    }

    async fn execute(
        ctx: &Self::Ctx,
        (principal, challenge, code): Self::Prepared,
    ) -> Result<((), Outcome), AuthError> {
        ctx.sms().solve_sms_challenge(&challenge, &code).await?;
        let store = ctx.store();
        let mut user = signed_in_user(ctx.store(), &principal).await?;
        let old = user.phone.replace(challenge.phone.clone());
        user.credentials_changed_at = Some(ctx.now);
        match store.update_user(&user).await {
            Ok(true) => {}
            Ok(false) => return Err(AuthError::TokenRevoked),
            Err(StoreError::Conflict(_)) => return Err(AuthError::AlreadyRegistered),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(user_id = %user.id, "phone changed");
        if let Some(old) = old {
            let notice = SmsMessage {
                to: old,
                kind: SmsKind::Notice,
                code: None,
                text: ctx.sms().cfg.phone_changed_notice.clone(),
            };
            if let Err(e) = ctx.sms().sender.send(&notice).await {
                tracing::warn!(error = %e, user_id = %user.id, "notifying the old phone failed");
            }
        }
        Ok(((), Outcome::principal_user(&principal, user)))
    }
}
