//! Request guards: [`AuthUser`] (a required user), [`MaybeUser`] (an optional user) and
//! [`RequireRole`] (a user with a [`Role`]), all deciding through the core's [`Auth::guard`],
//! which gets the request's peer address and headers. Each has `user_id()`, `session_id()`,
//! `roles()`, `principal()` and `into_principal()`, as in the other adapters.
//!
//! A guard that fails answers `Outcome::Error((status, AuthError))`. Rocket hands only the
//! status to its catchers, so the guard also leaves the [`AuthError`] in the request-local
//! cache, where the [`catchers`](crate::catchers()) find it and write the contract's JSON body
//! (`missing_token`, `invalid_token`, `token_revoked`, `forbidden`, `store_unavailable`, …).

use std::borrow::Cow;
use std::marker::PhantomData;
use std::net::IpAddr;
use std::ops::Deref;
use std::sync::{Mutex, PoisonError};

use auth_core::http::{RequestHeaders, Requirement};
use auth_core::{Auth, AuthError, Principal, SessionId, UserId};
use rocket::http::{HeaderMap, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};

/// A request guard for routes that require an authenticated user: a valid
/// `Authorization: Bearer <access token>` (or the token header and scheme the [`Auth`] is
/// configured with).
///
/// Without a token the request fails with 401 `missing_token`; with a bad one with 401
/// `invalid_token`, `token_expired` or `token_revoked`; if the store cannot be reached with
/// 503 `store_unavailable`. Derefs to the [`Principal`].
///
/// Use `Result<AuthUser, AuthError>` as the guard to handle the failure in the handler
/// instead of in the [`catchers`](crate::catchers()).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser(pub Principal);

/// A request guard for routes with an optional user: `MaybeUser(None)` when no
/// `Authorization` header is sent, `MaybeUser(Some(principal))` for a valid access token.
///
/// A token that is sent but is not valid still fails the request with 401 (the contract's
/// "a bad token is still 401"). This is why the optional user is its own guard rather than
/// `Option<AuthUser>`: Rocket's `Option<T>` guard turns every failure of `T` into `None`, so
/// an expired or revoked token would silently make the request anonymous.
///
/// One case Rocket decides before any guard runs: it drops a header whose value is not UTF-8
/// (logging a warning), so such a token header reaches this guard as no header and the
/// visitor is anonymous, exactly as if nothing had been sent. The axum and actix-web adapters
/// see such a header and answer 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaybeUser(pub Option<Principal>);

/// A role, named at the type level so that [`RequireRole`] can be a request guard. Declare
/// one with [`role!`](crate::role) or by hand:
///
/// ```
/// use adapter_rocket::Role;
///
/// /// Administrators.
/// pub struct Admin;
///
/// impl Role for Admin {
///     const NAME: &'static str = "admin";
/// }
/// ```
pub trait Role: 'static {
    /// The role's name, as carried in access tokens.
    const NAME: &'static str;
}

/// Declares unit structs implementing [`Role`]: `role!(pub Admin = "admin");`.
///
/// ```
/// adapter_rocket::role!(pub Admin = "admin", Editor = "editor");
/// use adapter_rocket::Role;
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

/// A request guard for routes that require a user holding the role `R`: 401 as for
/// [`AuthUser`] without a valid access token, 403 `forbidden` without the role. Derefs to the
/// [`Principal`].
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

impl<R: Role> Deref for RequireRole<R> {
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

impl Deref for AuthUser {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.0
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AuthUser {
    type Error = AuthError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AuthError> {
        match guard(req, Requirement::User).await {
            Ok(Some(principal)) => Outcome::Success(Self(principal)),
            Ok(None) => fail(req, AuthError::MissingToken),
            Err(err) => fail(req, err),
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for MaybeUser {
    type Error = AuthError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AuthError> {
        match guard(req, Requirement::OptionalUser).await {
            Ok(principal) => Outcome::Success(Self(principal)),
            Err(err) => fail(req, err),
        }
    }
}

#[rocket::async_trait]
impl<'r, R: Role> FromRequest<'r> for RequireRole<R> {
    type Error = AuthError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AuthError> {
        match guard(req, Requirement::Role(R::NAME)).await {
            Ok(Some(principal)) => Outcome::Success(Self {
                principal,
                role: PhantomData,
            }),
            Ok(None) => fail(req, AuthError::MissingToken),
            Err(err) => fail(req, err),
        }
    }
}

// Sentinels: a route using one of the guards aborts the launch when no `Auth` is managed,
// as `&State<Auth>` would, instead of failing every request at run time.
impl Sentinel for AuthUser {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        auth_missing(rocket)
    }
}

impl Sentinel for MaybeUser {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        auth_missing(rocket)
    }
}

impl<R: Role> Sentinel for RequireRole<R> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        auth_missing(rocket)
    }
}

/// Whether no [`Auth`] is managed (a sentinel's abort condition).
pub(crate) fn auth_missing(rocket: &Rocket<Ignite>) -> bool {
    let missing = rocket.state::<Auth>().is_none();
    if missing {
        tracing::error!("adapter-rocket needs `auth_core::Auth` as managed state");
    }
    missing
}

/// The managed [`Auth`]; without one (the sentinels prevent it), fail closed with a 500
/// `internal_error`: a misconfiguration, neither the store's nor the client's fault.
pub(crate) fn managed_auth<'r>(req: &'r Request<'_>) -> Result<&'r Auth, AuthError> {
    req.rocket().state::<Auth>().ok_or_else(|| {
        tracing::error!("adapter-rocket needs `auth_core::Auth` as managed state");
        AuthError::Internal
    })
}

async fn guard(
    req: &Request<'_>,
    requirement: Requirement<'_>,
) -> Result<Option<Principal>, AuthError> {
    let auth = managed_auth(req)?;
    auth.guard(peer(req), &Headers(req.headers()), requirement)
        .await
}

/// The TCP peer ([`Request::remote`]), not `Request::client_ip()`: that one believes Rocket's
/// `ip_header` (`X-Real-IP` by default) from anyone. Proxies are trusted only by the core's
/// client IP policy (`AuthConfig::client_ip`).
pub(crate) fn peer(req: &Request<'_>) -> Option<IpAddr> {
    req.remote().map(|addr| addr.ip())
}

/// Rocket's header map as the core reads it (the token header, the proxy header). Rocket
/// drops a header whose value is not UTF-8 before any guard runs, so every line is text.
pub(crate) struct Headers<'h>(pub(crate) &'h HeaderMap<'h>);

impl RequestHeaders for Headers<'_> {
    fn line(&self, name: &str, index: usize) -> Option<Cow<'_, str>> {
        self.0.get(name).nth(index).map(Cow::Borrowed)
    }
}

/// Fails a guard with `err`, leaving it for the catchers.
pub(crate) fn fail<T>(req: &Request<'_>, err: AuthError) -> Outcome<T, AuthError> {
    let status = Status::new(err.status());
    GuardFailure::record(req, err.clone());
    Outcome::Error((status, err))
}

/// The last guard failure of a request, for the catchers (request-local cache).
struct GuardFailure(Mutex<Option<AuthError>>);

impl GuardFailure {
    fn of<'r>(req: &'r Request<'_>) -> &'r Self {
        req.local_cache(|| Self(Mutex::new(None)))
    }

    fn record(req: &Request<'_>, err: AuthError) {
        let mut slot = Self::of(req)
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *slot = Some(err);
    }
}

/// The error a guard of this request failed with, if its status is `status` (so that an
/// error answered for another reason is never dressed as a guard failure).
pub(crate) fn guard_failure(req: &Request<'_>, status: Status) -> Option<AuthError> {
    let slot = GuardFailure::of(req)
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    slot.as_ref()
        .filter(|err| err.status() == status.code)
        .cloned()
}
