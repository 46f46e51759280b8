//! The guards, as axum extractors: [`AuthUser`] (required), [`MaybeUser`] (optional; also as
//! `Option<AuthUser>`) and [`RequireRole`] (a [`Role`]). Each hands the request's peer
//! address and headers to [`Auth::guard`](auth_core::Auth::guard), which reads the token
//! header and decides; a refusal is an [`AuthRejection`], which answers with the contract's
//! JSON error.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use auth_core::http::Requirement;
use auth_core::{AuthError, Principal, SessionId, UserId};
use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;

use crate::AuthState;
use crate::request::{Headers, peer};
use crate::response::AuthRejection;

/// Runs the core's guard for `requirement` on the request's peer and headers.
async fn guard<S>(
    parts: &Parts,
    state: &S,
    requirement: Requirement<'_>,
) -> Result<Option<Principal>, AuthRejection>
where
    AuthState: FromRef<S>,
    S: Send + Sync,
{
    let peer = peer(parts);
    let state = AuthState::from_ref(state);
    Ok(state
        .auth()
        .guard(peer, &Headers(&parts.headers), requirement)
        .await?)
}

/// The signed-in user: a valid access token is required.
///
/// Without one the request is refused with 401 (`missing_token`, `invalid_token`,
/// `token_expired` or `token_revoked`). As `Option<AuthUser>` it is optional, like
/// [`MaybeUser`]: no token header gives `None`, but a header with a bad token is still
/// refused. Dereferences to the [`Principal`] (`user_id`, `session_id`, `roles`).
///
/// ```
/// use adapter_axum::AuthUser;
///
/// async fn hello(user: AuthUser) -> String {
///     format!("hello {}", user.user_id())
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
    /// The user.
    pub fn user_id(&self) -> UserId {
        self.0.user_id
    }

    /// The session the access token belongs to (`None` for HTTP Basic credentials).
    pub fn session_id(&self) -> Option<SessionId> {
        self.0.session_id
    }

    /// The user's roles.
    pub fn roles(&self) -> &[String] {
        &self.0.roles
    }

    /// The principal (user, session, roles).
    pub fn principal(&self) -> &Principal {
        &self.0
    }

    /// The principal, by value.
    pub fn into_principal(self) -> Principal {
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

/// An optional user: `MaybeUser(None)` when the request has no token header,
/// `MaybeUser(Some(principal))` for a valid access token, and the contract's 401 for a token
/// that is sent but not valid. The same as `Option<AuthUser>`, under the name the other
/// adapters use.
///
/// ```
/// use adapter_axum::MaybeUser;
///
/// async fn greet(user: MaybeUser) -> String {
///     match user.user_id() {
///         Some(id) => format!("hello {id}"),
///         None => "hello stranger".to_owned(),
///     }
/// }
/// # let _: axum::Router<adapter_axum::AuthState> =
/// #     axum::Router::new().route("/greet", axum::routing::get(greet));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaybeUser(pub Option<Principal>);

impl MaybeUser {
    /// The user, if a valid access token was sent.
    pub fn user_id(&self) -> Option<UserId> {
        self.0.as_ref().map(|p| p.user_id)
    }

    /// The session of the access token, if one was sent (`None` for HTTP Basic credentials).
    pub fn session_id(&self) -> Option<SessionId> {
        self.0.as_ref().and_then(|p| p.session_id)
    }

    /// The user's roles; none without a user.
    pub fn roles(&self) -> &[String] {
        self.0.as_ref().map_or(&[], |p| &p.roles)
    }

    /// The principal, if a valid access token was sent.
    pub fn principal(&self) -> Option<&Principal> {
        self.0.as_ref()
    }

    /// The principal, by value.
    pub fn into_principal(self) -> Option<Principal> {
        self.0
    }
}

impl<S> FromRequestParts<S> for MaybeUser
where
    AuthState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(guard(parts, state, Requirement::OptionalUser).await?))
    }
}

/// A role, named at the type level for [`RequireRole`]. Declare one with [`role!`](crate::role)
/// or by hand:
///
/// ```
/// struct Admin;
/// impl adapter_axum::Role for Admin {
///     const NAME: &'static str = "admin";
/// }
/// ```
pub trait Role {
    /// The role, as stored in the user's roles.
    const NAME: &'static str;
}

/// Declares unit structs implementing [`Role`]: `role!(pub Admin = "admin");`.
///
/// ```
/// adapter_axum::role!(pub Admin = "admin", Editor = "editor");
/// use adapter_axum::Role;
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
            impl $crate::Role for $name {
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
///     format!("hello admin {}", admin.user_id())
/// }
/// # let _: axum::Router<adapter_axum::AuthState> =
/// #     axum::Router::new().route("/admin", axum::routing::get(admin_only));
/// ```
pub struct RequireRole<R> {
    principal: Principal,
    role: PhantomData<fn() -> R>,
}

impl<R> RequireRole<R> {
    /// The user.
    pub fn user_id(&self) -> UserId {
        self.principal.user_id
    }

    /// The session the access token belongs to (`None` for HTTP Basic credentials).
    pub fn session_id(&self) -> Option<SessionId> {
        self.principal.session_id
    }

    /// The user's roles (`R` among them).
    pub fn roles(&self) -> &[String] {
        &self.principal.roles
    }

    /// The principal (user, session, roles).
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The principal, by value.
    pub fn into_principal(self) -> Principal {
        self.principal
    }
}

impl<R> Deref for RequireRole<R> {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.principal
    }
}

impl<R> Clone for RequireRole<R> {
    fn clone(&self) -> Self {
        Self {
            principal: self.principal.clone(),
            role: PhantomData,
        }
    }
}

impl<R: Role> fmt::Debug for RequireRole<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireRole")
            .field("role", &R::NAME)
            .field("principal", &self.principal)
            .finish()
    }
}

impl<R, S> FromRequestParts<S> for RequireRole<R>
where
    R: Role,
    AuthState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal = guard(parts, state, Requirement::Role(R::NAME))
            .await?
            .ok_or(AuthRejection(AuthError::MissingToken))?;
        Ok(Self {
            principal,
            role: PhantomData,
        })
    }
}
