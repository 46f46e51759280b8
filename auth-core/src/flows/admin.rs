//! Operations for an app's own admin pages or CLI: find, disable and enable users, reset
//! lockouts, list and revoke a user's sessions, manage roles. None of these is an HTTP route
//! of the contract; they run through the pipeline like every action, with an empty client.

use crate::AuthError;
use crate::account::{Email, User, UserStatus};
use crate::hooks::Action;
use crate::ids::{SessionId, UserId};
use crate::limits::Lockouts;
use crate::phone::Phone;
use crate::pipeline::{Flow, Outcome, Subject, flow_ctx};
use crate::session::{RevokeReason, Session};

flow_ctx!(
    /// What the admin operations work with: the lockouts they clear and the idle timeout.
    AdminCtx {
        lockouts: Lockouts<'a>,
        idle: chrono::Duration,
    }
);

/// How an admin names the user to find.
pub(crate) enum UserKey {
    Id(UserId),
    Phone(Phone),
    Email(Email),
}

/// Finds a user by id, phone or email.
pub(crate) struct AdminFindUser;

#[async_trait::async_trait]
impl<'a> Flow<'a> for AdminFindUser {
    const ACTION: Action = Action::AdminFindUser;
    type Ctx = AdminCtx<'a>;
    type Input = UserKey;
    type Prepared = UserKey;
    type Output = Option<User>;

    async fn prepare(_: &Self::Ctx, key: UserKey) -> Result<UserKey, AuthError> {
        Ok(key)
    }

    fn subject(key: &UserKey) -> Subject<'_> {
        match key {
            UserKey::Id(id) => Subject {
                user_id: Some(*id),
                ..Subject::default()
            },
            UserKey::Phone(phone) => Subject {
                phone: Some(phone),
                ..Subject::default()
            },
            UserKey::Email(email) => Subject {
                email: Some(email),
                ..Subject::default()
            },
        }
    }

    async fn execute(ctx: &Self::Ctx, key: UserKey) -> Result<(Option<User>, Outcome), AuthError> {
        let store = ctx.store();
        let user = match &key {
            UserKey::Id(id) => store.user_by_id(*id).await?,
            UserKey::Phone(phone) => store.user_by_phone(phone).await?,
            UserKey::Email(email) => store.user_by_email(email).await?,
        };
        let outcome = user.clone().map(Outcome::user).unwrap_or_default();
        Ok((user, outcome))
    }
}

/// The subject of an admin action on the user `id`.
fn about(id: &UserId) -> Subject<'_> {
    Subject {
        user_id: Some(*id),
        ..Subject::default()
    }
}

/// The user `id`; `not_found` when there is none.
async fn existing_user(ctx: &AdminCtx<'_>, id: UserId) -> Result<User, AuthError> {
    ctx.store().user_by_id(id).await?.ok_or(AuthError::NotFound)
}

/// Stores `user` as changed; `not_found` when it is gone.
async fn save(ctx: &AdminCtx<'_>, user: &User) -> Result<(), AuthError> {
    if !ctx.store().update_user(user).await? {
        return Err(AuthError::NotFound);
    }
    Ok(())
}

/// Disables the account and revokes every one of its sessions at once. Returns how many
/// sessions were revoked; `not_found` for an unknown user.
pub(crate) struct AdminDisableUser;

#[async_trait::async_trait]
impl<'a> Flow<'a> for AdminDisableUser {
    const ACTION: Action = Action::AdminDisableUser;
    type Ctx = AdminCtx<'a>;
    type Input = UserId;
    type Prepared = UserId;
    type Output = u64;

    async fn prepare(_: &Self::Ctx, id: UserId) -> Result<UserId, AuthError> {
        Ok(id)
    }

    fn subject(id: &UserId) -> Subject<'_> {
        about(id)
    }

    async fn execute(ctx: &Self::Ctx, id: UserId) -> Result<(u64, Outcome), AuthError> {
        let mut user = existing_user(ctx, id).await?;
        user.status = UserStatus::Disabled;
        save(ctx, &user).await?;
        let revoked = ctx
            .store()
            .revoke_user_sessions(id, None, ctx.now, RevokeReason::UserDisabled)
            .await?;
        tracing::info!(user_id = %id, revoked, "user disabled");
        Ok((revoked, Outcome::user(user)))
    }
}

/// Enables a disabled account.
pub(crate) struct AdminEnableUser;

#[async_trait::async_trait]
impl<'a> Flow<'a> for AdminEnableUser {
    const ACTION: Action = Action::AdminEnableUser;
    type Ctx = AdminCtx<'a>;
    type Input = UserId;
    type Prepared = UserId;
    type Output = ();

    async fn prepare(_: &Self::Ctx, id: UserId) -> Result<UserId, AuthError> {
        Ok(id)
    }

    fn subject(id: &UserId) -> Subject<'_> {
        about(id)
    }

    async fn execute(ctx: &Self::Ctx, id: UserId) -> Result<((), Outcome), AuthError> {
        let mut user = existing_user(ctx, id).await?;
        user.status = UserStatus::Active;
        save(ctx, &user).await?;
        Ok(((), Outcome::user(user)))
    }
}

/// Clears the account's password and SMS lockouts.
pub(crate) struct AdminResetLockouts;

#[async_trait::async_trait]
impl<'a> Flow<'a> for AdminResetLockouts {
    const ACTION: Action = Action::AdminResetLockouts;
    type Ctx = AdminCtx<'a>;
    type Input = UserId;
    type Prepared = UserId;
    type Output = ();

    async fn prepare(_: &Self::Ctx, id: UserId) -> Result<UserId, AuthError> {
        Ok(id)
    }

    fn subject(id: &UserId) -> Subject<'_> {
        about(id)
    }

    async fn execute(ctx: &Self::Ctx, id: UserId) -> Result<((), Outcome), AuthError> {
        let user = existing_user(ctx, id).await?;
        ctx.lockouts().clear_lockouts(&user).await?;
        Ok(((), Outcome::user(user)))
    }
}

/// Clears the SMS lockout of a phone, whether or not it has an account.
pub(crate) struct AdminResetPhoneLockout;

#[async_trait::async_trait]
impl<'a> Flow<'a> for AdminResetPhoneLockout {
    const ACTION: Action = Action::AdminResetPhoneLockout;
    type Ctx = AdminCtx<'a>;
    type Input = Phone;
    type Prepared = Phone;
    type Output = ();

    async fn prepare(_: &Self::Ctx, phone: Phone) -> Result<Phone, AuthError> {
        Ok(phone)
    }

    fn subject(phone: &Phone) -> Subject<'_> {
        Subject {
            phone: Some(phone),
            ..Subject::default()
        }
    }

    async fn execute(ctx: &Self::Ctx, phone: Phone) -> Result<((), Outcome), AuthError> {
        ctx.lockouts().clear_phone_lockouts(&phone).await?;
        Ok(((), Outcome::default()))
    }
}

/// The user's live sessions.
pub(crate) struct AdminListSessions;

#[async_trait::async_trait]
impl<'a> Flow<'a> for AdminListSessions {
    const ACTION: Action = Action::AdminListSessions;
    type Ctx = AdminCtx<'a>;
    type Input = UserId;
    type Prepared = UserId;
    type Output = Vec<Session>;

    async fn prepare(_: &Self::Ctx, id: UserId) -> Result<UserId, AuthError> {
        Ok(id)
    }

    fn subject(id: &UserId) -> Subject<'_> {
        about(id)
    }

    async fn execute(ctx: &Self::Ctx, id: UserId) -> Result<(Vec<Session>, Outcome), AuthError> {
        let (now, idle) = (ctx.now, ctx.idle());
        let sessions = ctx.store().sessions_of_user(id).await?;
        let sessions = crate::session::live_newest_first(id, sessions, now, idle);
        let outcome = Outcome {
            user_id: Some(id),
            ..Outcome::default()
        };
        Ok((sessions, outcome))
    }
}

/// Revokes one session of any user. `false` when it was not active.
pub(crate) struct AdminRevokeSession;

#[async_trait::async_trait]
impl<'a> Flow<'a> for AdminRevokeSession {
    const ACTION: Action = Action::AdminRevokeSession;
    type Ctx = AdminCtx<'a>;
    type Input = SessionId;
    type Prepared = SessionId;
    type Output = bool;

    async fn prepare(_: &Self::Ctx, id: SessionId) -> Result<SessionId, AuthError> {
        Ok(id)
    }

    fn subject(id: &SessionId) -> Subject<'_> {
        Subject {
            session_id: Some(*id),
            ..Subject::default()
        }
    }

    async fn execute(ctx: &Self::Ctx, id: SessionId) -> Result<(bool, Outcome), AuthError> {
        let revoked = ctx
            .store()
            .revoke_session(id, ctx.now, RevokeReason::Admin)
            .await?;
        let outcome = Outcome {
            session_id: Some(id),
            ..Outcome::default()
        };
        Ok((revoked, outcome))
    }
}

/// Replaces the user's roles with `change` of them. With session checking on (the default)
/// or opaque tokens, guards see the change at once; with stateless JWTs, at the user's next
/// refresh.
async fn change_roles(
    ctx: &AdminCtx<'_>,
    id: UserId,
    change: impl FnOnce(&[String]) -> Option<Vec<String>>,
) -> Result<((), Outcome), AuthError> {
    let mut user = existing_user(ctx, id).await?;
    if let Some(roles) = change(&user.roles) {
        user.roles = roles;
        save(ctx, &user).await?;
    }
    Ok(((), Outcome::user(user)))
}

/// Defines an admin flow over a user id and a role input.
macro_rules! role_flow {
    ($(#[$doc:meta])* $name:ident, $action:ident, $input:ty, $change:expr) => {
        $(#[$doc])*
        pub(crate) struct $name;

        #[async_trait::async_trait]
        impl<'a> Flow<'a> for $name {
            const ACTION: Action = Action::$action;
            type Ctx = AdminCtx<'a>;
            type Input = (UserId, $input);
            type Prepared = (UserId, $input);
            type Output = ();

            async fn prepare(
                _: &Self::Ctx,
                input: Self::Input,
            ) -> Result<Self::Prepared, AuthError> {
                Ok(input)
            }

            fn subject((id, _): &Self::Prepared) -> Subject<'_> {
                about(id)
            }

            async fn execute(
                ctx: &Self::Ctx,
                (id, input): Self::Prepared,
            ) -> Result<((), Outcome), AuthError> {
                let change: fn($input, &[String]) -> Option<Vec<String>> = $change;
                change_roles(ctx, id, |roles| change(input, roles)).await
            }
        }
    };
}

role_flow!(
    /// Grants a role (no-op when held).
    AdminGrantRole,
    AdminGrantRole,
    String,
    |role, roles| {
        if roles.contains(&role) {
            return None;
        }
        let mut roles = roles.to_vec();
        roles.push(role);
        Some(roles)
    }
);

role_flow!(
    /// Revokes a role (no-op when not held).
    AdminRevokeRole,
    AdminRevokeRole,
    String,
    |role, roles| Some(roles.iter().filter(|r| **r != role).cloned().collect())
);

role_flow!(
    /// Replaces the user's roles.
    AdminSetRoles,
    AdminSetRoles,
    Vec<String>,
    |new, _| Some(new)
);
