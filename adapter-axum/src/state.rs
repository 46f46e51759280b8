//! [`AuthState`]: what the routes and extractors need from the app's state.

use std::sync::Arc;

use auth_core::Auth;
use auth_core::http::ClientIpPolicy;

/// The state the auth routes and the guards read, through [`axum::extract::FromRef`].
///
/// Use it as the router's state directly (`.with_state(AuthState::new(auth))`), or keep it
/// in a field of your own state and implement `FromRef<YourState> for AuthState`.
///
/// By default the client IP is the TCP peer address and the proxy headers are ignored; behind
/// reverse proxies or a load balancer, list their addresses or CIDR ranges with
/// [`AuthState::with_client_ip_policy`].
#[derive(Debug, Clone)]
pub struct AuthState {
    auth: Auth,
    client_ip: Arc<ClientIpPolicy>,
}

impl AuthState {
    /// State for `auth`, trusting no proxy.
    pub fn new(auth: Auth) -> Self {
        Self {
            auth,
            client_ip: Arc::new(ClientIpPolicy::default()),
        }
    }

    /// Sets how the client IP is determined: which proxies to trust, and whether they send
    /// `X-Forwarded-For` or `Forwarded` (see [`ClientIpPolicy`]).
    #[must_use]
    pub fn with_client_ip_policy(mut self, policy: ClientIpPolicy) -> Self {
        self.client_ip = Arc::new(policy);
        self
    }

    /// The auth service.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// The client IP policy in force.
    pub fn client_ip_policy(&self) -> &ClientIpPolicy {
        &self.client_ip
    }
}

impl From<Auth> for AuthState {
    fn from(auth: Auth) -> Self {
        Self::new(auth)
    }
}
