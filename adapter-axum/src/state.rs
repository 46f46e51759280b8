//! [`AuthState`]: what the routes and extractors need from the app's state.

use auth_core::Auth;

/// The state the auth routes and the guards read, through [`axum::extract::FromRef`].
///
/// Use it as the router's state directly (`.with_state(AuthState::new(auth))`), or keep it
/// in a field of your own state and implement `FromRef<YourState> for AuthState`.
///
/// How the client IP is determined (trusted reverse proxies) is part of the [`Auth`]'s
/// configuration ([`AuthConfig::client_ip`](auth_core::AuthConfig::client_ip)), the same for
/// every adapter.
#[derive(Debug, Clone)]
pub struct AuthState {
    auth: Auth,
}

impl AuthState {
    /// State for `auth`.
    pub fn new(auth: Auth) -> Self {
        Self { auth }
    }

    /// The auth service.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }
}

impl From<Auth> for AuthState {
    fn from(auth: Auth) -> Self {
        Self::new(auth)
    }
}
