//! The guards, as axum extractors: [`AuthUser`] (required), `Option<AuthUser>` (optional) and
//! [`RequireRole`] (a role). Each reads the token header (`Authorization` unless
//! [`Auth::token_header`](auth_core::Auth::token_header) names another) and asks
//! [`Auth::guard`](auth_core::Auth::guard); a refusal is an [`AuthRejection`], which answers
//! with the contract's JSON error.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use auth_core::http::Requirement;
use auth_core::{AuthError, Principal};
use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;

use crate::AuthState;
use crate::request::token_header;
use crate::response::AuthRejection;

/// Runs the core's guard for `requirement` on the request's token header.
async fn guard<S>(
    parts: &Parts,
    state: &S,
    requirement: Requirement<'_>,
) -> Result<Option<Principal>, AuthRejection>
where
    AuthState: FromRef<S>,
{
    let state = AuthState::from_ref(state);
    let auth = state.auth();
    let token = token_header(&parts.headers, auth.token_header());
    Ok(auth.guard(token.as_deref(), requirement).await?)
}

/// The signed-in user: a valid access token is required.
///
/// Without one the request is refused with 401 (`missing_token`, `invalid_token`,
/// `token_expired` or `token_revoked`). As `Option<AuthUser>` it is optional: no
/// token header gives `None`, but a header with a bad token is still refused.
/// Dereferences to the [`Principal`] (`user_id`, `session_id`, `roles`).
///
/// ```
/// use adapter_axum::AuthUser;
///
/// async fn hello(user: AuthUser) -> String {
///     format!("hello {}", user.user_id)
/// }
///
/// async fn maybe(user: Option<AuthUser>) -> String {
///     match user {
///         Some(user) => format!("hello {}", user.user_id),
///         None => "hello stranger".to_owned(),
///     }
/// }
/// # let _: axum::Router<adapter_axum::AuthState> = axum::Router::new()
/// #     .route("/hello", axum::routing::get(hello))
/// #     .route("/maybe", axum::routing::get(maybe));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser(pub Principal);

impl AuthUser {
    /// The principal.
    pub fn into_inner(self) -> Principal {
        self.0
    }
}

impl Deref for AuthUser {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl<S> FromRequestParts<S> for AuthUser
where
    AuthState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        guard(parts, state, Requirement::User)
            .await?
            .map(Self)
            .ok_or(AuthRejection(AuthError::MissingToken))
    }
}

impl<S> OptionalFromRequestParts<S> for AuthUser
where
    AuthState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(guard(parts, state, Requirement::OptionalUser)
            .await?
            .map(Self))
    }
}

/// A role, named at the type level for [`RequireRole`]. Declare one with [`role!`](crate::role)
/// or by hand:
///
/// ```
/// struct Admin;
/// impl adapter_axum::RoleName for Admin {
///     const NAME: &'static str = "admin";
/// }
/// ```
pub trait RoleName {
    /// The role, as stored in the user's roles.
    const NAME: &'static str;
}

/// Declares unit structs implementing [`RoleName`]: `role!(pub Admin = "admin");`.
///
/// ```
/// adapter_axum::role!(pub Admin = "admin", Editor = "editor");
/// use adapter_axum::RoleName;
/// assert_eq!(Admin::NAME, "admin");
/// assert_eq!(Editor::NAME, "editor");
/// ```
#[macro_export]
macro_rules! role {
    ($($vis:vis $name:ident = $role:literal),+ $(,)?) => {
        $(
            #[doc = concat!("The `", $role, "` role.")]
            #[derive(Debug, Clone, Copy, PartialEq, Eq)]
            $vis struct $name;
            impl $crate::RoleName for $name {
                const NAME: &'static str = $role;
            }
        )+
    };
}

/// The signed-in user, who must hold the role `R`: 401 without a valid access token, 403
/// `forbidden` without the role. With session checking on (the default) the core takes the
/// user's current roles, so a granted or revoked role counts at once; with stateless JWTs, from
/// the next refresh. Dereferences to the [`Principal`].
///
/// ```
/// use adapter_axum::{RequireRole, role};
///
/// role!(Admin = "admin");
///
/// async fn admin_only(admin: RequireRole<Admin>) -> String {
///     format!("hello admin {}", admin.user_id)
/// }
/// # let _: axum::Router<adapter_axum::AuthState> =
/// #     axum::Router::new().route("/admin", axum::routing::get(admin_only));
/// ```
pub struct RequireRole<R> {
    user: AuthUser,
    role: PhantomData<fn() -> R>,
}

impl<R> RequireRole<R> {
    /// The user.
    pub fn user(&self) -> &AuthUser {
        &self.user
    }

    /// The user, without the role marker.
    pub fn into_user(self) -> AuthUser {
        self.user
    }
}

impl<R> Deref for RequireRole<R> {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.user
    }
}

impl<R> Clone for RequireRole<R> {
    fn clone(&self) -> Self {
        Self {
            user: self.user.clone(),
            role: PhantomData,
        }
    }
}

impl<R: RoleName> fmt::Debug for RequireRole<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireRole")
            .field("role", &R::NAME)
            .field("user", &self.user)
            .finish()
    }
}

impl<R, S> FromRequestParts<S> for RequireRole<R>
where
    R: RoleName,
    AuthState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal = guard(parts, state, Requirement::Role(R::NAME))
            .await?
            .ok_or(AuthRejection(AuthError::MissingToken))?;
        Ok(Self {
            user: AuthUser(principal),
            role: PhantomData,
        })
    }
}
