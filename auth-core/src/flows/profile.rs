//! Profiles: the user's own (`PATCH /me`) and other users' exposed fields (`GET /users/{id}`).

use serde_json::{Map, Value};

use crate::AuthError;
use crate::account::User;
use crate::api::MeResponse;
use crate::config::AccountConfig;
use crate::flows::account::signed_in_user;
use crate::hooks::Action;
use crate::ids::UserId;
use crate::pipeline::{Flow, Outcome, Subject, flow_ctx};
use crate::profile;
use crate::token::access::Principal;

flow_ctx!(
    /// What the profile flows work with: the accounts section of the configuration.
    ProfileCtx { accounts: &'a AccountConfig }
);

/// `PATCH /me`: changes the profile fields the app declared editable. Any other field, or a
/// value of the wrong type, is `invalid_request` and changes nothing.
pub(crate) struct UpdateProfile;

#[async_trait::async_trait]
impl<'a> Flow<'a> for UpdateProfile {
    const ACTION: Action = Action::ProfileUpdate;
    type Ctx = ProfileCtx<'a>;
    type Input = (Principal, Value);
    type Prepared = (Principal, Value);
    type Output = MeResponse;

    async fn prepare(_: &Self::Ctx, input: Self::Input) -> Result<Self::Prepared, AuthError> {
        Ok(input)
    }

    fn subject((principal, patch): &Self::Prepared) -> Subject<'_> {
        Subject {
            profile: Some(patch),
            ..Subject::principal(principal)
        }
    }

    async fn execute(
        ctx: &Self::Ctx,
        (principal, patch): Self::Prepared,
    ) -> Result<(MeResponse, Outcome), AuthError> {
        let cfg = ctx.accounts();
        let mut user = signed_in_user(ctx.store(), &principal).await?;
        let updated = profile::apply_patch(&cfg.profile_fields, &user.profile, &patch)?;
        if updated.to_string().len() > cfg.max_profile_bytes {
            return Err(AuthError::invalid_request(format!(
                "profile is larger than {} bytes",
                cfg.max_profile_bytes
            )));
        }
        user.profile = updated;
        if !ctx.store().update_user(&user).await? {
            return Err(AuthError::TokenRevoked);
        }
        Ok((
            MeResponse::from(&user),
            Outcome::principal_user(&principal, user),
        ))
    }
}

/// `GET /users/{user_id}`: `{"user_id", ...exposed profile fields}`; `not_found` for an
/// unknown id.
pub(crate) struct PublicProfile;

#[async_trait::async_trait]
impl<'a> Flow<'a> for PublicProfile {
    const ACTION: Action = Action::PublicProfile;
    type Ctx = ProfileCtx<'a>;
    type Input = UserId;
    type Prepared = User;
    type Output = Value;

    async fn prepare(ctx: &Self::Ctx, id: UserId) -> Result<User, AuthError> {
        ctx.store().user_by_id(id).await?.ok_or(AuthError::NotFound)
    }

    fn subject(user: &User) -> Subject<'_> {
        Subject {
            user_id: Some(user.id),
            ..Subject::default()
        }
    }

    async fn execute(ctx: &Self::Ctx, user: User) -> Result<(Value, Outcome), AuthError> {
        let mut out = Map::new();
        out.insert("user_id".to_owned(), Value::String(user.id.to_string()));
        out.extend(profile::exposed(
            &ctx.accounts().profile_fields,
            &user.profile,
        ));
        Ok((Value::Object(out), Outcome::user(user)))
    }
}
