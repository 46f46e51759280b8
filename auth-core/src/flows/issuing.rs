//! Issuing sessions and token pairs: what every login ends with, and what a refresh hands
//! back.

use chrono::{DateTime, Utc};

use crate::AuthError;
use crate::account::User;
use crate::api::{ClientInfo, TokenPair};
use crate::config::SessionConfig;
use crate::ids::SessionId;
use crate::secret::BearerToken;
use crate::session::{RefreshState, Session, SessionStatus};
use crate::store::Store;
use crate::token::access::AccessTokens;
use crate::token::opaque::OpaqueTokens;
use crate::token::refresh::{RefreshKeys, RefreshSecret};

/// What issuing sessions and tokens works with: the time and client of the request, the
/// store, the session section of the configuration and the token keys.
#[derive(Clone, Copy)]
pub(crate) struct Issuer<'a> {
    pub(crate) now: DateTime<Utc>,
    pub(crate) client: &'a ClientInfo,
    pub(crate) store: &'a dyn Store,
    pub(crate) cfg: &'a SessionConfig,
    pub(crate) refresh_keys: &'a RefreshKeys,
    pub(crate) access: &'a AccessTokens,
    pub(crate) opaque: Option<&'a OpaqueTokens>,
}

impl Issuer<'_> {
    /// Creates a session for `user` and returns its first token pair. Counts the login.
    pub(crate) async fn start_session(&self, user: &User) -> Result<TokenPair, AuthError> {
        let now = self.now;
        let id = SessionId::new_random();
        let secret = RefreshSecret::random();
        // An IPv4 client on a dual-stack listener is recorded as its IPv4 address.
        let ip = self.client.ip.map(crate::client_ip::canonical);
        let session = Session {
            id,
            user_id: user.id,
            created_at: now,
            last_used_at: now,
            expires_at: now + crate::clock::secs(self.cfg.absolute_lifetime_secs),
            ip,
            user_agent: self.client.user_agent.clone(),
            refresh: RefreshState {
                generation: 0,
                hash: self.refresh_keys.storage_hash(id, &secret),
                issued_at: now,
            },
            status: SessionStatus::Active,
        };
        self.store.insert_session(&session).await?;
        self.store.record_login(user.id, now, ip).await?;
        tracing::info!(user_id = %user.id, session_id = %id, "login");
        self.token_pair(user, &session, secret)
    }

    /// A fresh access token and the refresh token `secret` of `session`'s current generation.
    pub(crate) fn token_pair(
        &self,
        user: &User,
        session: &Session,
        secret: RefreshSecret,
    ) -> Result<TokenPair, AuthError> {
        let now = self.now;
        let (access_token, expires_in) = match self.opaque {
            Some(opaque) => opaque.issue(session.id, now),
            None => self
                .access
                .issue(user.id, session.id, user.roles.clone(), now)?,
        };
        let refresh_token = self
            .refresh_keys
            .token(session.id, session.refresh.generation, secret);
        let refresh_expires_in =
            (session.refresh_deadline(crate::clock::secs(self.cfg.idle_timeout_secs)) - now)
                .num_seconds()
                .max(0)
                .unsigned_abs();
        Ok(TokenPair {
            access_token: BearerToken::new(access_token),
            refresh_token: BearerToken::new(refresh_token.encode()),
            token_type: "Bearer",
            expires_in,
            refresh_expires_in,
            user_id: user.id,
            session_id: session.id,
        })
    }
}
