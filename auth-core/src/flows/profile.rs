//! Profiles: the user's own (`PATCH /me`) and other users' exposed fields (`GET /users/{id}`).

use serde_json::{Map, Value};

use crate::api::{ClientInfo, MeResponse};
use crate::hooks::{Action, AfterHook};
use crate::hooks::{principal_after, principal_hook};
use crate::ids::UserId;
use crate::profile;
use crate::token::access::Principal;
use crate::{Auth, AuthError};

impl Auth {
    /// `PATCH /me`: changes the profile fields the app declared editable. Any other field, or a
    /// value of the wrong type, is `invalid_request` and changes nothing.
    pub async fn update_profile(
        &self,
        principal: &Principal,
        patch: &Value,
        client: &ClientInfo,
    ) -> Result<MeResponse, AuthError> {
        let mut hook = principal_hook(Action::ProfileUpdate, principal, client);
        hook.profile = Some(patch);
        self.before(hook).await?;
        let store = self.inner.store.as_ref();
        let cfg = &self.inner.config.accounts;
        let mut user = store
            .user_by_id(principal.user_id)
            .await?
            .ok_or(AuthError::TokenRevoked)?;
        let updated = profile::apply_patch(&cfg.profile_fields, &user.profile, patch)?;
        if updated.to_string().len() > cfg.max_profile_bytes {
            return Err(AuthError::invalid_request(format!(
                "profile is larger than {} bytes",
                cfg.max_profile_bytes
            )));
        }
        user.profile = updated;
        if !store.update_user(&user).await? {
            return Err(AuthError::TokenRevoked);
        }
        self.after(AfterHook {
            user: Some(&user),
            ..principal_after(Action::ProfileUpdate, principal, client)
        })
        .await;
        Ok(MeResponse::from(&user))
    }

    /// `GET /users/{user_id}`: `{"user_id", ...exposed profile fields}`; `not_found` for an
    /// unknown or malformed id.
    pub async fn public_profile(&self, user_id: &str) -> Result<Value, AuthError> {
        let id: UserId = user_id.parse().map_err(|_| AuthError::NotFound)?;
        let user = self
            .inner
            .store
            .user_by_id(id)
            .await?
            .ok_or(AuthError::NotFound)?;
        let mut out = Map::new();
        out.insert("user_id".to_owned(), Value::String(user.id.to_string()));
        out.extend(profile::exposed(
            &self.inner.config.accounts.profile_fields,
            &user.profile,
        ));
        Ok(Value::Object(out))
    }
}
