//! The guards, as actix-web extractors ([`FromRequest`]): [`AuthUser`] (a user is required),
//! [`MaybeUser`] (a user is optional) and [`RequireRole`] (a user with a role is required).
//! Each one hands the request's peer address and headers to
//! [`Auth::guard`](auth_core::Auth::guard), which reads the token header (`Authorization`
//! unless configured otherwise) and decides; a rejection is an [`AuthRejection`], answered
//! with the contract's JSON error.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use auth_core::http::Requirement;
use auth_core::{AuthError, Principal, SessionId, UserId};

use crate::AuthRejection;
use crate::request::{Headers, auth_of, peer};

type GuardFuture<T> = Pin<Box<dyn Future<Output = Result<T, AuthRejection>>>>;

/// Runs the core's guard for `requirement` on `req` and turns its answer into the extractor
/// with `finish`, in one `'static` future (one allocation per request).
fn guard<T: 'static>(
    req: &HttpRequest,
    requirement: Requirement<'static>,
    finish: fn(Option<Principal>) -> Result<T, AuthRejection>,
) -> GuardFuture<T> {
    // The request is a cheap handle (an `Rc`), kept for the headers in the `'static` future.
    let req = req.clone();
    Box::pin(async move {
        let auth = auth_of(&req)?;
        let principal = auth
            .guard(peer(&req), &Headers(req.headers()), requirement)
            .await?;
        finish(principal)
    })
}

/// The principal a guard requiring a user got, or `missing_token` (the core answers
/// `Some` for such a requirement; this keeps the adapter total).
fn required(principal: Option<Principal>) -> Result<Principal, AuthRejection> {
    principal.ok_or(AuthRejection(AuthError::MissingToken))
}

/// A signed-in user: the request must carry a valid access token
/// (`Authorization: Bearer <access token>`); otherwise the handler is not called and the
/// client gets the contract's 401 (`missing_token`, `invalid_token`, `token_expired`,
/// `token_revoked`, …).
///
/// ```
/// use actix_web::web;
/// use adapter_actix::AuthUser;
///
/// async fn hello(AuthUser(user): AuthUser) -> web::Json<String> {
///     web::Json(user.user_id.to_string())
/// }
/// ```
///
/// Do not take it as `Option<AuthUser>`: actix-web's blanket `Option<T>` extractor turns
/// *every* rejection into `None`, so an invalid or revoked token would pass as "no user".
/// Use [`MaybeUser`], which keeps that a 401.
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

impl std::ops::Deref for AuthUser {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl FromRequest for AuthUser {
    type Error = AuthRejection;
    type Future = GuardFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        guard(req, Requirement::User, |principal| {
            required(principal).map(Self)
        })
    }
}

/// An optional user: `MaybeUser(None)` when the request has no `Authorization` header,
/// `MaybeUser(Some(user))` for a valid access token, and the contract's 401 for a token that
/// is sent but not valid (malformed, expired, revoked, another scheme).
///
/// This is the adapter's `Option<AuthUser>`. It is a type of its own because actix-web's
/// `impl FromRequest for Option<T>` maps any error of `T` to `None`: with it a client sending
/// a stolen-then-revoked or forged token would be served as an anonymous visitor instead of
/// being told its token is bad, which the contract forbids.
///
/// ```
/// use actix_web::web;
/// use adapter_actix::MaybeUser;
///
/// async fn greet(MaybeUser(user): MaybeUser) -> String {
///     match user {
///         Some(user) => format!("hello {}", user.user_id),
///         None => "hello stranger".to_owned(),
///     }
/// }
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

impl FromRequest for MaybeUser {
    type Error = AuthRejection;
    type Future = GuardFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        guard(req, Requirement::OptionalUser, |principal| {
            Ok(Self(principal))
        })
    }
}

/// A role name, for [`RequireRole`]. Declare one with [`role!`](crate::role), or implement it
/// on a marker type per role:
///
/// ```
/// pub struct Admin;
///
/// impl adapter_actix::Role for Admin {
///     const NAME: &'static str = "admin";
/// }
/// ```
///
/// (A trait rather than a `const` generic parameter because stable Rust has no `&'static str`
/// const generics; the marker type also gives each role a name in handler signatures.)
pub trait Role {
    /// The role as written in the access token's roles.
    const NAME: &'static str;
}

/// Declares unit structs implementing [`Role`]: `role!(pub Admin = "admin");`.
///
/// ```
/// adapter_actix::role!(pub Admin = "admin", Editor = "editor");
/// use adapter_actix::Role;
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

/// A signed-in user holding the role `R`: 401 (as [`AuthUser`]) without a valid access token,
/// 403 `forbidden` when the token lacks the role.
///
/// ```
/// use adapter_actix::{RequireRole, Role};
///
/// pub struct Admin;
/// impl Role for Admin {
///     const NAME: &'static str = "admin";
/// }
///
/// async fn admin_only(admin: RequireRole<Admin>) -> String {
///     format!("welcome, admin {}", admin.user_id)
/// }
/// ```
pub struct RequireRole<R: Role> {
    principal: Principal,
    role: PhantomData<fn() -> R>,
}

impl<R: Role> RequireRole<R> {
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

impl<R: Role> std::ops::Deref for RequireRole<R> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.principal
    }
}

impl<R: Role> std::fmt::Debug for RequireRole<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequireRole")
            .field("role", &R::NAME)
            .field("principal", &self.principal)
            .finish()
    }
}

impl<R: Role> Clone for RequireRole<R> {
    fn clone(&self) -> Self {
        Self {
            principal: self.principal.clone(),
            role: PhantomData,
        }
    }
}

impl<R: Role + 'static> FromRequest for RequireRole<R> {
    type Error = AuthRejection;
    type Future = GuardFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        guard(req, Requirement::Role(R::NAME), |principal| {
            Ok(Self {
                principal: required(principal)?,
                role: PhantomData,
            })
        })
    }
}
