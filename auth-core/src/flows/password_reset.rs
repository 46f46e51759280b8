//! Password reset by SMS code: `POST /password/reset {"phone"}` then
//! `POST /password/reset/confirm {"challenge_id","code","new_password"}`.
//!
//! The request answers the same for every phone (a decoy challenge when there is no account)
//! and shares the phone's SMS limits with login. A confirmed reset revokes every session.

use crate::api::{ChallengeSent, ClientInfo};
use crate::challenge::ChallengePurpose;
use crate::flows::sms_challenge::Issue;
use crate::hooks::{Action, AfterHook, BeforeHook};
use crate::secret::{OneTimeCode, Password};
use crate::session::RevokeReason;
use crate::sms::SmsKind;
use crate::{Auth, AuthError};

impl Auth {
    /// Starts a password reset by SMS. Always answers with a challenge (202), whether or not
    /// the phone has an account; only an account's phone gets the code.
    pub async fn request_password_reset_sms(
        &self,
        phone: &str,
        client: &ClientInfo,
    ) -> Result<ChallengeSent, AuthError> {
        let phone = self.sms_phone(phone)?;
        let user = self.inner.store.user_by_phone(&phone).await?;
        let mut hook = BeforeHook::new(Action::PasswordResetRequest, client);
        hook.phone = Some(&phone);
        hook.user_id = user.as_ref().map(|u| u.id);
        self.before(hook).await?;
        let sent = self
            .issue_sms_challenge(
                Issue {
                    phone: &phone,
                    purpose: ChallengePurpose::PasswordReset,
                    user_id: user.as_ref().map(|u| u.id),
                    deliver: user.is_some(),
                    kind: SmsKind::PasswordResetCode,
                    template: &self.inner.config.sms.reset_template,
                },
                client,
            )
            .await?;
        self.after(AfterHook {
            action: Action::PasswordResetRequest,
            client,
            user: user.as_ref(),
            user_id: user.as_ref().map(|u| u.id),
            session_id: None,
        })
        .await;
        Ok(sent)
    }

    /// Sets a new password with a reset code. The new password must meet the policy
    /// (`weak_password` leaves the code usable for another try); on success every session of
    /// the user is revoked and the account's lockouts are cleared.
    pub async fn confirm_password_reset_sms(
        &self,
        challenge_id: &str,
        code: &OneTimeCode,
        new_password: &Password,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let challenge = self
            .open_sms_challenge(challenge_id, code, &[ChallengePurpose::PasswordReset])
            .await?;
        let mut hook = BeforeHook::new(Action::PasswordResetConfirm, client);
        hook.phone = Some(&challenge.phone);
        hook.user_id = challenge.user_id;
        self.before(hook).await?;
        // The password is checked (and hashed) before the code is spent, so a weak password
        // does not burn the code.
        let user = match challenge.user_id {
            Some(id) => self.inner.store.user_by_id(id).await?,
            None => None,
        };
        let hash = self.hash_new_password(user.as_ref(), new_password).await?;
        self.solve_sms_challenge(&challenge, code).await?;
        let mut user = user.ok_or(AuthError::InvalidCode)?;
        user.password_hash = Some(hash);
        user.credentials_changed_at = Some(self.now());
        if !self.inner.store.update_user(&user).await? {
            return Err(AuthError::InvalidCode);
        }
        self.finish_reset(&user, client).await
    }

    /// After a reset: clear lockouts, revoke every session, run the after hook.
    pub(crate) async fn finish_reset(
        &self,
        user: &crate::User,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        self.clear_lockouts(user).await?;
        let revoked = self
            .inner
            .store
            .revoke_user_sessions(user.id, None, self.now(), RevokeReason::PasswordChanged)
            .await?;
        tracing::info!(user_id = %user.id, revoked, "password reset; all sessions revoked");
        self.after(AfterHook {
            action: Action::PasswordResetConfirm,
            client,
            user: Some(user),
            user_id: Some(user.id),
            session_id: None,
        })
        .await;
        Ok(())
    }

    /// Checks a new password against the policy (with the account's identifiers as context)
    /// and hashes it, off the runtime.
    pub(crate) async fn hash_new_password(
        &self,
        user: Option<&crate::User>,
        password: &Password,
    ) -> Result<crate::password::PasswordHash, AuthError> {
        let mut context: Vec<String> = Vec::new();
        if let Some(user) = user {
            context.extend(user.email.as_ref().map(|e| e.as_str().to_owned()));
            context.extend(user.username.as_ref().map(|u| u.as_str().to_owned()));
            context.extend(user.phone.as_ref().map(|p| p.as_str().to_owned()));
        }
        self.inner
            .hasher
            .hash_new(
                &self.inner.policy,
                password,
                context,
                self.inner.breached.as_deref(),
            )
            .await
    }
}
