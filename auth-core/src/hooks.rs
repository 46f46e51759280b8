//! Hooks: app code run before and after every action.
//!
//! Every action runs them, through one pipeline (`pipeline.rs`): the HTTP routes, the other
//! flow methods of [`Auth`](crate::Auth) and the admin operations (which have no client: they
//! see an empty [`ClientInfo`]).
//!
//! A *before* hook sees what the action is about (who, which phone or email, the client) before
//! anything is changed, and may veto it with its own error code and status: a vetoed action
//! leaves nothing half-done (a vetoed registration creates no user and sends nothing; a vetoed
//! SMS start sends nothing and counts nothing). An *after* hook sees the result. Both default
//! to doing nothing, so an app implements only what it needs:
//!
//! ```
//! use auth_core::hooks::{Action, AfterHook, BeforeHook, Hooks, Veto};
//!
//! struct OnlyCompanyEmails;
//!
//! #[auth_core::async_trait]
//! impl Hooks for OnlyCompanyEmails {
//!     async fn before(&self, ctx: &BeforeHook<'_>) -> Result<(), Veto> {
//!         match (ctx.action, ctx.email) {
//!             (Action::Register, Some(email)) if !email.as_str().ends_with("@example.com") => {
//!                 Err(Veto::new(403, "domain_not_allowed", "only example.com addresses"))
//!             }
//!             _ => Ok(()),
//!         }
//!     }
//! }
//! ```

use async_trait::async_trait;

use crate::account::{Email, User, Username};
use crate::api::ClientInfo;
use crate::ids::{SessionId, UserId};
use crate::phone::Phone;

/// The actions hooks are called for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// `POST /register`
    Register,
    /// `POST /login {"phone"}`
    SmsStart,
    /// `POST /verify_sms`
    SmsVerify,
    /// `POST /login {"email"|"username","password"}`
    PasswordLogin,
    /// `POST /refresh`
    Refresh,
    /// `POST /logout`
    Logout,
    /// `POST /logout_all_other_sessions`
    LogoutOthers,
    /// `POST /password`
    ChangePassword,
    /// `GET /me`
    ProfileRead,
    /// `PATCH /me`
    ProfileUpdate,
    /// `POST /password/reset`
    PasswordResetRequest,
    /// `POST /password/reset/confirm`
    PasswordResetConfirm,
    /// `POST /phone`
    PhoneChangeRequest,
    /// `POST /phone/confirm`
    PhoneChangeConfirm,
    /// `POST /activate`
    Activate,
    /// `POST /email`
    EmailChangeRequest,
    /// `POST /email/confirm`
    EmailChangeConfirm,
    /// [`Auth::resend_activation`](crate::Auth::resend_activation) (no HTTP route)
    ResendActivation,
    /// `GET /sessions`
    ListSessions,
    /// `DELETE /sessions/{id}`
    RevokeSession,
    /// `GET /users/{id}`
    PublicProfile,
    /// Admin: [`Auth::find_user`](crate::Auth::find_user) and its by-phone and by-email forms
    AdminFindUser,
    /// Admin: [`Auth::disable_user`](crate::Auth::disable_user)
    AdminDisableUser,
    /// Admin: [`Auth::enable_user`](crate::Auth::enable_user)
    AdminEnableUser,
    /// Admin: [`Auth::reset_lockouts`](crate::Auth::reset_lockouts)
    AdminResetLockouts,
    /// Admin: [`Auth::reset_phone_lockout`](crate::Auth::reset_phone_lockout)
    AdminResetPhoneLockout,
    /// Admin: [`Auth::user_sessions`](crate::Auth::user_sessions)
    AdminListSessions,
    /// Admin: [`Auth::admin_revoke_session`](crate::Auth::admin_revoke_session)
    AdminRevokeSession,
    /// Admin: [`Auth::grant_role`](crate::Auth::grant_role)
    AdminGrantRole,
    /// Admin: [`Auth::revoke_role`](crate::Auth::revoke_role)
    AdminRevokeRole,
    /// Admin: [`Auth::set_roles`](crate::Auth::set_roles)
    AdminSetRoles,
}

/// What a before hook sees. Fields that do not apply to the action are `None`.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct BeforeHook<'a> {
    /// The action about to happen.
    pub action: Action,
    /// The client, as the adapter saw it (empty for admin operations).
    pub client: &'a ClientInfo,
    /// The signed-in user (authenticated actions) or the account the action is about, when
    /// known (also the account an admin operation or a public profile is about).
    pub user_id: Option<UserId>,
    /// The session of an authenticated action, the one being refreshed, or the one an admin
    /// revokes.
    pub session_id: Option<SessionId>,
    /// The phone of the request (registration, SMS start and verify, SMS password reset,
    /// phone change, admin lookups and lockout resets by phone).
    pub phone: Option<&'a Phone>,
    /// The email of the request (registration, password login, emailed password reset,
    /// email change, activation mail resend, admin lookup by email).
    pub email: Option<&'a Email>,
    /// The username of the request (registration, password login).
    pub username: Option<&'a Username>,
    /// The profile object of the request (registration, profile update).
    pub profile: Option<&'a serde_json::Value>,
}

/// What an after hook sees: the action's result.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct AfterHook<'a> {
    /// The action that happened.
    pub action: Action,
    /// The client, as the adapter saw it.
    pub client: &'a ClientInfo,
    /// The user the action was about, as it stands after the action (`None` when the action
    /// does not load the account, e.g. logout).
    pub user: Option<&'a User>,
    /// The user's id.
    pub user_id: Option<UserId>,
    /// The session created, refreshed or ended (for an action by a signed-in user that ends
    /// none, the caller's session).
    pub session_id: Option<SessionId>,
}

/// A before hook's refusal: answered to the client as `{"error": code, "message": message}`
/// with `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Veto {
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) message: String,
}

impl Veto {
    /// A veto. `status` must be a 4xx (anything else becomes 403); `code` should be a stable
    /// snake_case string (it is lower-cased, and characters other than `a-z`, `0-9` and `_` are replaced by `_`).
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        let status = if (400..500).contains(&status) {
            status
        } else {
            403
        };
        let code: String = code
            .chars()
            .map(|c| c.to_ascii_lowercase())
            .map(|c| {
                if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let code = if code.is_empty() {
            "vetoed".to_owned()
        } else {
            code
        };
        Self {
            status,
            code,
            message: message.into(),
        }
    }
    /// The status.
    pub fn status(&self) -> u16 {
        self.status
    }
    /// The code.
    pub fn code(&self) -> &str {
        &self.code
    }
    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// App code run around every action. Both methods default to doing nothing. The after hook
/// runs only when the action succeeded (and not for a registration of a taken email answered,
/// with `accounts.conceal_existing`, as if it were free: no account was made); neither runs for a request refused before the action
/// knew what it was about (malformed input, an unknown challenge, a token that is not
/// genuine).
#[async_trait]
pub trait Hooks: Send + Sync + 'static {
    /// Runs before the action changes anything; an `Err` vetoes it.
    async fn before(&self, ctx: &BeforeHook<'_>) -> Result<(), Veto> {
        let _ = ctx;
        Ok(())
    }
    /// Runs after the action succeeded. It cannot fail the action.
    async fn after(&self, ctx: &AfterHook<'_>) {
        let _ = ctx;
    }
}

/// The hooks used when the app sets none.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl Hooks for NoHooks {}
