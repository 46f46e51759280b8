//! Changing the account's phone: `POST /phone {"phone"[, "password"]}` sends a code to the new
//! number; `POST /phone/confirm {"challenge_id","code"}` moves the account to it and notifies
//! the old number.
//!
//! Proof of the account: its current password when it has one, otherwise a recent login
//! (`accounts.recent_login_secs`); see `reauth.rs`.

use crate::api::{ChallengeSent, ClientInfo};
use crate::challenge::ChallengePurpose;
use crate::flows::sms_challenge::Issue;
use crate::hooks::{Action, AfterHook};
use crate::hooks::{principal_after, principal_hook};
use crate::secret::{OneTimeCode, Password};
use crate::sms::{SmsKind, SmsMessage};
use crate::store::StoreError;
use crate::token::access::Principal;
use crate::{Auth, AuthError};

impl Auth {
    /// `POST /phone`: sends a confirmation code to the new number.
    pub async fn request_phone_change(
        &self,
        principal: &Principal,
        phone: &str,
        password: Option<&Password>,
        client: &ClientInfo,
    ) -> Result<ChallengeSent, AuthError> {
        let phone = self.sms_phone(phone)?;
        let mut hook = principal_hook(Action::PhoneChangeRequest, principal, client);
        hook.phone = Some(&phone);
        self.before(hook).await?;
        let store = self.inner.store.as_ref();
        let user = store
            .user_by_id(principal.user_id)
            .await?
            .ok_or(AuthError::TokenRevoked)?;
        self.reauthenticate(principal, &user, password, client)
            .await?;
        if user.phone.as_ref() == Some(&phone) {
            return Err(AuthError::invalid_request(
                "that is already the account's phone",
            ));
        }
        if store.user_by_phone(&phone).await?.is_some() {
            return Err(AuthError::AlreadyRegistered);
        }
        let sent = self
            .issue_sms_challenge(
                Issue {
                    phone: &phone,
                    purpose: ChallengePurpose::PhoneChange,
                    user_id: Some(user.id),
                    deliver: true,
                    kind: SmsKind::PhoneChangeCode,
                    template: &self.inner.config.sms.phone_change_template,
                },
                client,
            )
            .await?;
        self.after(AfterHook {
            user: Some(&user),
            ..principal_after(Action::PhoneChangeRequest, principal, client)
        })
        .await;
        Ok(sent)
    }

    /// `POST /phone/confirm`: with the code sent to the new number, makes it the account's
    /// phone. The old number gets a notice (best effort). SMS codes and emailed tokens issued
    /// before stop working.
    pub async fn confirm_phone_change(
        &self,
        principal: &Principal,
        challenge_id: &str,
        code: &OneTimeCode,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let challenge = self
            .open_sms_challenge(challenge_id, code, &[ChallengePurpose::PhoneChange])
            .await?;
        if challenge.user_id != Some(principal.user_id) {
            return Err(AuthError::InvalidCode);
        }
        let mut hook = principal_hook(Action::PhoneChangeConfirm, principal, client);
        hook.phone = Some(&challenge.phone);
        self.before(hook).await?;
        self.solve_sms_challenge(&challenge, code).await?;
        let store = self.inner.store.as_ref();
        let mut user = store
            .user_by_id(principal.user_id)
            .await?
            .ok_or(AuthError::TokenRevoked)?;
        let old = user.phone.replace(challenge.phone.clone());
        user.credentials_changed_at = Some(self.now());
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
                text: self.inner.config.sms.phone_changed_notice.clone(),
            };
            if let Err(e) = self.inner.sms.send(&notice).await {
                tracing::warn!(error = %e, user_id = %user.id, "notifying the old phone failed");
            }
        }
        self.after(AfterHook {
            user: Some(&user),
            ..principal_after(Action::PhoneChangeConfirm, principal, client)
        })
        .await;
        Ok(())
    }
}
