//! The [`Auth`] facade: one value holding the configuration, the keys and the plugged-in
//! [`Store`], [`SmsSender`] and [`Clock`], with one method per flow. The flows themselves live
//! in `flows/`, one file each; this file holds what they share (building, issuing a token
//! pair, starting a session); authenticating an access token is in `authenticate.rs`.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::AuthError;
use crate::account::User;
use crate::api::{ClientInfo, TokenPair};
use crate::clock::{Clock, SystemClock};
use crate::config::{AccessMode, AuthConfig, ConfigError};
use crate::hooks::{Hooks, NoHooks};
use crate::ids::SessionId;
use crate::mail::MailSender;
use crate::password::{BreachedPasswordCheck, PasswordHasher, PasswordPolicy};
use crate::secret::{BearerToken, MacKey};
use crate::session::{RefreshState, Session, SessionState, SessionStatus};
use crate::sms::SmsSender;
use crate::store::{OneTimeTokenStore, Store};
use crate::token::access::AccessTokens;
use crate::token::opaque::OpaqueTokens;
use crate::token::refresh::{RefreshKeys, RefreshSecret};

/// The authentication service. Cheap to clone (an `Arc` inside); share one per app.
#[derive(Clone)]
pub struct Auth {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) config: AuthConfig,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) sms: Arc<dyn SmsSender>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) access: AccessTokens,
    pub(crate) opaque: Option<OpaqueTokens>,
    pub(crate) refresh_keys: RefreshKeys,
    pub(crate) code_key: MacKey,
    pub(crate) email_key: MacKey,
    /// Hashes the keys of rate-limit and failure counters (see `limits.rs`).
    pub(crate) counter_key: MacKey,
    pub(crate) mail: Option<Arc<dyn MailSender>>,
    /// The emailed-token store; always there when `mail` is (see [`AuthBuilder::build`]).
    pub(crate) one_time_tokens: Option<Arc<dyn OneTimeTokenStore>>,
    pub(crate) hasher: PasswordHasher,
    pub(crate) policy: PasswordPolicy,
    pub(crate) breached: Option<Arc<dyn BreachedPasswordCheck>>,
    pub(crate) hooks: Arc<dyn Hooks>,
    /// Until when (Unix seconds) the SMS provider is taken to be down after a failed send;
    /// see `sms_challenge.rs`.
    pub(crate) sms_down_until: std::sync::atomic::AtomicI64,
}

/// Builds an [`Auth`]: a configuration, a store and an SMS sender are required; the clock
/// defaults to the system clock.
pub struct AuthBuilder {
    config: AuthConfig,
    store: Option<Arc<dyn Store>>,
    sms: Option<Arc<dyn SmsSender>>,
    mail: Option<Arc<dyn MailSender>>,
    one_time_tokens: Option<Arc<dyn OneTimeTokenStore>>,
    clock: Arc<dyn Clock>,
    breached: Option<Arc<dyn BreachedPasswordCheck>>,
    hooks: Arc<dyn Hooks>,
}

impl AuthBuilder {
    /// App hooks run before and after every action (default: none).
    pub fn hooks(mut self, hooks: impl Hooks) -> Self {
        self.hooks = Arc::new(hooks);
        self
    }
    /// The store (users, sessions, SMS challenges, counters).
    pub fn store(mut self, store: impl Store) -> Self {
        self.store = Some(Arc::new(store));
        self
    }
    /// The store, already shared.
    pub fn store_arc(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }
    /// The SMS sender.
    pub fn sms(mut self, sms: impl SmsSender) -> Self {
        self.sms = Some(Arc::new(sms));
        self
    }
    /// The SMS sender, already shared.
    pub fn sms_arc(mut self, sms: Arc<dyn SmsSender>) -> Self {
        self.sms = Some(sms);
        self
    }
    /// The mail sender, for email accounts (activation, reset and change of address by
    /// emailed token). Without one, those flows answer `invalid_request`. Needs a store for
    /// the emailed tokens too ([`AuthBuilder::one_time_tokens`]).
    pub fn mail(mut self, mail: impl MailSender) -> Self {
        self.mail = Some(Arc::new(mail));
        self
    }
    /// The mail sender, already shared.
    pub fn mail_arc(mut self, mail: Arc<dyn MailSender>) -> Self {
        self.mail = Some(mail);
        self
    }
    /// The store of emailed one-time tokens, required with a mail sender. A store that keeps
    /// every record is passed twice: `.store(store.clone()).one_time_tokens(store)`.
    pub fn one_time_tokens(mut self, tokens: impl OneTimeTokenStore) -> Self {
        self.one_time_tokens = Some(Arc::new(tokens));
        self
    }
    /// The store of emailed one-time tokens, already shared.
    pub fn one_time_tokens_arc(mut self, tokens: Arc<dyn OneTimeTokenStore>) -> Self {
        self.one_time_tokens = Some(tokens);
        self
    }
    /// The clock (default: [`SystemClock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }
    /// The clock, already shared.
    pub fn clock_arc(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
    /// A breached-password check run on every new password.
    pub fn breached_password_check(mut self, check: impl BreachedPasswordCheck + 'static) -> Self {
        self.breached = Some(Arc::new(check));
        self
    }

    /// Validates the configuration and builds the service.
    pub fn build(self) -> Result<Auth, ConfigError> {
        self.config.validate()?;
        // The phone-number metadata loads lazily on first use (about a second in a debug
        // build): load it now rather than inside the first request.
        let _ = crate::phone::Phone::parse("+15551234567", true);
        let store = self
            .store
            .ok_or_else(|| ConfigError::Invalid("a store is required".to_owned()))?;
        let sms = self
            .sms
            .ok_or_else(|| ConfigError::Invalid("an SMS sender is required".to_owned()))?;
        if self.mail.is_some() && self.one_time_tokens.is_none() {
            return Err(ConfigError::Invalid(
                "a mail sender needs a store for the emailed tokens: call \
                 AuthBuilder::one_time_tokens"
                    .to_owned(),
            ));
        }
        let secret = &self.config.secret;
        let inner = Inner {
            access: AccessTokens::new(&self.config),
            opaque: (self.config.access.mode == AccessMode::Opaque).then(|| {
                OpaqueTokens::new(
                    secret.derive("auth-core/opaque-access/v1"),
                    self.config.access.ttl_secs,
                )
            }),
            refresh_keys: RefreshKeys {
                chain: secret.derive("auth-core/refresh-chain/v1"),
                storage: secret.derive("auth-core/refresh-storage/v1"),
                tag: secret.derive("auth-core/refresh-tag/v1"),
            },
            code_key: secret.derive("auth-core/sms-code/v1"),
            email_key: secret.derive("auth-core/email-token/v1"),
            counter_key: secret.derive("auth-core/counter-key/v1"),
            mail: self.mail,
            one_time_tokens: self.one_time_tokens,
            hasher: PasswordHasher::new(&self.config.password)?,
            policy: PasswordPolicy::from_config(&self.config.password),
            breached: self.breached,
            hooks: self.hooks,
            sms_down_until: std::sync::atomic::AtomicI64::new(i64::MIN),
            store,
            sms,
            clock: self.clock,
            config: self.config,
        };
        Ok(Auth {
            inner: Arc::new(inner),
        })
    }
}

impl Auth {
    /// Starts building a service with this configuration.
    pub fn builder(config: AuthConfig) -> AuthBuilder {
        AuthBuilder {
            config,
            store: None,
            sms: None,
            mail: None,
            one_time_tokens: None,
            clock: Arc::new(SystemClock),
            breached: None,
            hooks: Arc::new(NoHooks),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    /// The store, for an app's own queries.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Deletes every record that can no longer be used (see [`Store::purge_expired`]), the
    /// emailed tokens included when there is a store for them; call it e.g. hourly. Returns
    /// how many records were removed.
    pub async fn purge_expired(&self) -> Result<u64, AuthError> {
        let now = self.now();
        let mut removed = self.inner.store.purge_expired(now).await?;
        if let Some(tokens) = &self.inner.one_time_tokens {
            removed = removed.saturating_add(tokens.purge_expired_email_tokens(now).await?);
        }
        Ok(removed)
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// The store's rate-limit and failure counters, under hashed keys.
    pub(crate) fn counters(&self) -> crate::limits::Counters<'_> {
        crate::limits::Counters {
            store: self.inner.store.as_ref(),
            key: &self.inner.counter_key,
        }
    }

    pub(crate) fn idle_timeout(&self) -> chrono::Duration {
        secs(self.inner.config.session.idle_timeout_secs)
    }

    /// Creates a session for `user` and returns its first token pair. Counts the login.
    pub(crate) async fn start_session(
        &self,
        user: &User,
        client: &ClientInfo,
    ) -> Result<TokenPair, AuthError> {
        let now = self.now();
        let id = SessionId::new_random();
        let secret = RefreshSecret::random();
        // An IPv4 client on a dual-stack listener is recorded as its IPv4 address.
        let ip = client.ip.map(crate::client_ip::canonical);
        let session = Session {
            id,
            user_id: user.id,
            created_at: now,
            last_used_at: now,
            expires_at: now + secs(self.inner.config.session.absolute_lifetime_secs),
            ip,
            user_agent: client.user_agent.clone(),
            refresh: RefreshState {
                generation: 0,
                hash: self.inner.refresh_keys.storage_hash(id, &secret),
                issued_at: now,
            },
            status: SessionStatus::Active,
        };
        self.inner.store.insert_session(&session).await?;
        self.inner.store.record_login(user.id, now, ip).await?;
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
        let now = self.now();
        let (access_token, expires_in) = match &self.inner.opaque {
            Some(opaque) => opaque.issue(session.id, now),
            None => self
                .inner
                .access
                .issue(user.id, session.id, user.roles.clone(), now)?,
        };
        let refresh_token =
            self.inner
                .refresh_keys
                .token(session.id, session.refresh.generation, secret);
        let refresh_expires_in = (session.refresh_deadline(self.idle_timeout()) - now)
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

/// `Ok` when the session is live at `now`, else the error a client gets for it.
pub(crate) fn live(
    session: &Session,
    now: DateTime<Utc>,
    idle: chrono::Duration,
) -> Result<(), AuthError> {
    match session.state(now, idle) {
        SessionState::Live => Ok(()),
        SessionState::Revoked(_) => Err(AuthError::TokenRevoked),
        SessionState::Expired => Err(AuthError::TokenExpired),
    }
}

/// Whole seconds as a chrono duration, capped at 100 years so that adding it to a date can
/// never overflow (chrono panics on overflow).
pub(crate) fn secs(s: u64) -> chrono::Duration {
    const CAP: u64 = 100 * 365 * 24 * 3600;
    chrono::Duration::seconds(i64::try_from(s.min(CAP)).unwrap_or(0))
}
