//! The [`Auth`] facade: one value holding the configuration, the keys and the plugged-in
//! [`Store`], [`SmsSender`] and [`Clock`], with one method per action. This file holds the
//! builder and the facade (authenticating an access token is in `authenticate.rs`); each facade method
//! runs its flow (in `flows/`) through the pipeline (`pipeline.rs`).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::AuthError;
use crate::account::{Email, User};
use crate::api::{
    ChallengeSent, ChangePasswordRequest, ClientInfo, Login, LoginOutcome, MeResponse, NewAccount,
    RegisterResponse, RevokedCount, SessionInfo, TokenPair,
};
use crate::clock::{Clock, SystemClock};
use crate::config::{AccessMode, AuthConfig, ConfigError};
use crate::flows::LoginIdentifier;
use crate::flows::account::{ChangePassword, Me};
use crate::flows::admin::{
    AdminDisableUser, AdminEnableUser, AdminFindUser, AdminGrantRole, AdminListSessions,
    AdminResetLockouts, AdminResetPhoneLockout, AdminRevokeRole, AdminRevokeSession, AdminSetRoles,
    UserKey,
};
use crate::flows::email::{
    Activate, EmailChangeConfirm, EmailChangeRequest, ResendActivation, ResetEmailConfirm,
    ResetEmailRequest,
};
use crate::flows::password_login::PasswordLogin;
use crate::flows::password_reset::{ResetSmsConfirm, ResetSmsRequest};
use crate::flows::phone_change::{PhoneChangeConfirm, PhoneChangeRequest};
use crate::flows::profile::{PublicProfile, UpdateProfile};
use crate::flows::register::Register;
use crate::flows::sessions::{ListSessions, Logout, LogoutOthers, Refresh, RevokeSession};
use crate::flows::sms_login::{SmsStart, SmsVerify};
use crate::hooks::{Hooks, NoHooks};
use crate::ids::ChallengeId;
use crate::ids::{SessionId, UserId};
use crate::mail::MailSender;
use crate::password::{BreachedPasswordCheck, PasswordHasher, PasswordPolicy};
use crate::phone::Phone;
use crate::pipeline::NO_CLIENT;
use crate::secret::MacKey;
use crate::secret::{OneTimeCode, Password};
use crate::session::Session;
use crate::session_cache::{CachingStore, SessionCacheConfig, SessionEventBus};
use crate::sms::SmsSender;
use crate::store::{OneTimeTokenStore, Store};
use crate::token::access::{AccessTokens, Principal};
use crate::token::opaque::OpaqueTokens;
use crate::token::refresh::RefreshKeys;

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
    /// The session cache, when one is configured (and the access mode checks sessions): the
    /// request path reads it before the store (see `authenticate.rs`).
    pub(crate) session_cache: Option<Arc<crate::session_cache::Shared>>,
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
    session_cache: Option<(Arc<dyn SessionEventBus>, SessionCacheConfig)>,
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

    /// A local cache of session checks, kept correct across the app's instances by the
    /// session events `bus` carries (see [`session_cache`](crate::session_cache)). Used with
    /// the session-checked and opaque access modes; the stateless mode checks no session.
    pub fn session_cache(self, bus: impl SessionEventBus, config: SessionCacheConfig) -> Self {
        self.session_cache_arc(Arc::new(bus), config)
    }
    /// [`AuthBuilder::session_cache`] with a bus already shared.
    pub fn session_cache_arc(
        mut self,
        bus: Arc<dyn SessionEventBus>,
        config: SessionCacheConfig,
    ) -> Self {
        self.session_cache = Some((bus, config));
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
        let mut session_cache = None;
        let store = match self.session_cache {
            Some((_, config)) if config.max_age_value() > SessionCacheConfig::MAX_MAX_AGE => {
                return Err(ConfigError::Invalid(format!(
                    "the session cache's max_age is at most {} s",
                    SessionCacheConfig::MAX_MAX_AGE.as_secs()
                )));
            }
            Some((bus, config))
                if config.enabled() && self.config.access.mode != AccessMode::Stateless =>
            {
                let cache = Arc::new(crate::session_cache::Shared::new(
                    config.max_age_value(),
                    config.capacity_value(),
                ));
                session_cache = Some(Arc::clone(&cache));
                Arc::new(CachingStore::new(
                    store,
                    bus,
                    cache,
                    Arc::clone(&self.clock),
                    crate::clock::secs(self.config.session.idle_timeout_secs),
                ))
            }
            _ => store,
        };
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
            session_cache,
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
            session_cache: None,
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

    pub(crate) fn idle_timeout(&self) -> chrono::Duration {
        crate::clock::secs(self.inner.config.session.idle_timeout_secs)
    }
}

/// The facade: one method per action, each a run of its flow through the pipeline (see
/// `pipeline.rs`): the before hook, the flow, the after hook. Inputs are typed; parsing wire
/// strings is the HTTP layer's ([`crate::http`]) or the caller's.
impl Auth {
    /// `POST /register`: creates an account from `{"phone"}` or `{"email","password"}`, with
    /// an optional unique `username` and a `profile` object. Answers `already_registered` when
    /// the phone, email or username is taken, after the same argon2 work as a free one, except
    /// a taken email when `accounts.conceal_existing` is on: that one gets a 201 like a free
    /// one. Over the registration limits: `rate_limited`.
    ///
    /// Takes the request parsed by [`RegisterRequest::parse`](crate::api::RegisterRequest::parse)
    /// (or built with [`NewAccount::phone`] / [`NewAccount::email`]); the profile is checked
    /// here. `invalid_request` for an email account when the server cannot mail the
    /// activation link it requires.
    pub async fn register(
        &self,
        account: NewAccount,
        client: &ClientInfo,
    ) -> Result<RegisterResponse, AuthError> {
        self.run::<Register>(account, client).await
    }

    /// `POST /login`: an SMS login start ([`Auth::start_sms_login`]) or a password login
    /// ([`Auth::login_with_password`]), as [`LoginRequest::parse`](crate::api::LoginRequest::parse)
    /// read the body.
    pub async fn login(
        &self,
        login: Login,
        client: &ClientInfo,
    ) -> Result<LoginOutcome, AuthError> {
        match login {
            Login::Sms(phone) => Ok(LoginOutcome::ChallengeSent(
                self.run::<SmsStart>(phone, client).await?,
            )),
            Login::Password(identifier, password) => Ok(LoginOutcome::LoggedIn(
                self.run::<PasswordLogin>((identifier, password), client)
                    .await?,
            )),
        }
    }

    /// Password login. A wrong password and an unknown account give the same
    /// `invalid_credentials` after the same argon2 work; `activation_required` and
    /// `account_disabled` come only after a correct password. Attempts are throttled and
    /// consecutive failures locked out per account.
    pub async fn login_with_password(
        &self,
        identifier: &LoginIdentifier,
        password: &Password,
        client: &ClientInfo,
    ) -> Result<TokenPair, AuthError> {
        self.run::<PasswordLogin>((identifier.clone(), password.clone()), client)
            .await
    }

    /// `POST /login {"phone"}`: sends a login code to the phone (when it has an account) and
    /// returns the challenge. Applies the country rules, the per-IP cap, the resend cooldown,
    /// the per-phone caps and the lockout, identically for known and unknown phones.
    pub async fn start_sms_login(
        &self,
        phone: &Phone,
        client: &ClientInfo,
    ) -> Result<ChallengeSent, AuthError> {
        self.run::<SmsStart>(phone.clone(), client).await
    }

    /// `POST /verify_sms`: trades the right code for a new session and token pair.
    ///
    /// A code works once (also when the right code arrives twice at the same moment), for at
    /// most `sms.max_attempts` tries, until it expires; every wrong code also counts towards the
    /// phone's lockout.
    pub async fn verify_sms(
        &self,
        challenge_id: ChallengeId,
        code: &OneTimeCode,
        client: &ClientInfo,
    ) -> Result<TokenPair, AuthError> {
        self.run::<SmsVerify>((challenge_id, code.clone()), client)
            .await
    }

    /// `POST /refresh`: rotates the refresh token and returns a new pair.
    ///
    /// * the current token: rotated atomically (of concurrent calls exactly one rotates);
    /// * the token rotated just before, within `session.refresh_grace_secs` of the rotation:
    ///   the same new refresh token again, with a fresh access token;
    /// * any older token, or the previous one after the grace window: reuse — the session is
    ///   revoked and the answer is `refresh_token_reused`;
    /// * anything else: `invalid_token`; each such failure counts against the client's IP and
    ///   the session the token names, and once `session.refresh_failures_per_ip` or
    ///   `session.refresh_failures_per_session` failures lie within
    ///   `session.refresh_failure_window_secs` of the latest, a token that is not genuine
    ///   answers `rate_limited` (with `Retry-After`) from that IP or for that session. A
    ///   genuine token (its tag checks out) is never held up.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<TokenPair, AuthError> {
        self.run::<Refresh>(refresh_token.to_owned(), client).await
    }

    /// `POST /logout`: revokes the principal's session; its refresh token and (unless
    /// stateless) its access tokens stop working at once.
    pub async fn logout(
        &self,
        principal: &Principal,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        self.run::<Logout>(principal.clone(), client).await
    }

    /// `POST /logout_all_other_sessions`: revokes every session of the user but the caller's.
    pub async fn logout_all_other_sessions(
        &self,
        principal: &Principal,
        client: &ClientInfo,
    ) -> Result<RevokedCount, AuthError> {
        self.run::<LogoutOthers>(principal.clone(), client).await
    }

    /// `GET /sessions`: the user's live sessions, newest first.
    pub async fn list_sessions(
        &self,
        principal: &Principal,
        client: &ClientInfo,
    ) -> Result<Vec<SessionInfo>, AuthError> {
        self.run::<ListSessions>(principal.clone(), client).await
    }

    /// `DELETE /sessions/{id}`: revokes one of the user's own live sessions; `not_found` for
    /// anyone else's or one already ended.
    pub async fn revoke_own_session(
        &self,
        principal: &Principal,
        session_id: SessionId,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        self.run::<RevokeSession>((principal.clone(), session_id), client)
            .await
    }

    /// `GET /me`.
    pub async fn me(
        &self,
        principal: &Principal,
        client: &ClientInfo,
    ) -> Result<MeResponse, AuthError> {
        self.run::<Me>(principal.clone(), client).await
    }

    /// `PATCH /me`: changes the profile fields the app declared editable. Any other field, or a
    /// value of the wrong type, is `invalid_request` and changes nothing.
    pub async fn update_profile(
        &self,
        principal: &Principal,
        patch: &serde_json::Value,
        client: &ClientInfo,
    ) -> Result<MeResponse, AuthError> {
        self.run::<UpdateProfile>((principal.clone(), patch.clone()), client)
            .await
    }

    /// `GET /users/{user_id}`: `{"user_id", ...exposed profile fields}`; `not_found` for an
    /// unknown id.
    pub async fn public_profile(
        &self,
        user_id: UserId,
        client: &ClientInfo,
    ) -> Result<serde_json::Value, AuthError> {
        self.run::<PublicProfile>(user_id, client).await
    }

    /// `POST /password`: sets a new password. The current one is required when the account has
    /// one (`invalid_credentials` when wrong; throttled like a login); an account without one
    /// may set a first password only from a recent login (`accounts.recent_login_secs`,
    /// `forbidden` otherwise). Every other session of the user is revoked, and SMS codes and
    /// emailed tokens issued before stop working.
    pub async fn change_password(
        &self,
        principal: &Principal,
        request: ChangePasswordRequest,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        self.run::<ChangePassword>((principal.clone(), request), client)
            .await
    }

    /// Starts a password reset by SMS. Always answers with a challenge (202), whether or not
    /// the phone has an account; only an account's phone gets the code.
    pub async fn request_password_reset_sms(
        &self,
        phone: &Phone,
        client: &ClientInfo,
    ) -> Result<ChallengeSent, AuthError> {
        self.run::<ResetSmsRequest>(phone.clone(), client).await
    }

    /// Sets a new password with a reset code. The new password must meet the policy
    /// (`weak_password` leaves the code usable for another try); on success every session of
    /// the user is revoked and the account's lockouts are cleared.
    pub async fn confirm_password_reset_sms(
        &self,
        challenge_id: ChallengeId,
        code: &OneTimeCode,
        new_password: &Password,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let input = (challenge_id, code.clone(), new_password.clone());
        self.run::<ResetSmsConfirm>(input, client).await
    }

    /// `POST /password/reset {"email"}`: mails a reset link when the address has an account.
    /// Answers `Ok` either way (202), after the same limits (429 reveals nothing: it is keyed
    /// by the address).
    pub async fn request_password_reset_email(
        &self,
        email: &Email,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        self.run::<ResetEmailRequest>(email.clone(), client).await
    }

    /// `POST /password/reset/confirm {"token","new_password"}`: sets the password and revokes
    /// every session. A weak password (422) leaves the token usable.
    pub async fn confirm_password_reset_email(
        &self,
        token: &str,
        new_password: &Password,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let input = (token.to_owned(), new_password.clone());
        self.run::<ResetEmailConfirm>(input, client).await
    }

    /// Mails a new activation link to a pending account, within the address's mail limits.
    /// Answers the same (`Ok`) for an unknown or already active address.
    pub async fn resend_activation(&self, email: &Email) -> Result<(), AuthError> {
        self.run::<ResendActivation>(email.clone(), &NO_CLIENT)
            .await
    }

    /// `POST /activate`: activates the account of an activation token.
    pub async fn activate(&self, token: &str, client: &ClientInfo) -> Result<(), AuthError> {
        self.run::<Activate>(token.to_owned(), client).await
    }

    /// `POST /email {"email"[, "password"]}`: mails a confirmation link to the new address
    /// (and a notice to the old one). Needs the current password, or a recent login for an
    /// account without one.
    pub async fn request_email_change(
        &self,
        principal: &Principal,
        email: &Email,
        password: Option<&Password>,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let input = (principal.clone(), email.clone(), password.cloned());
        self.run::<EmailChangeRequest>(input, client).await
    }

    /// `POST /email/confirm {"token"}`: makes the token's address the account's email.
    pub async fn confirm_email_change(
        &self,
        token: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        self.run::<EmailChangeConfirm>(token.to_owned(), client)
            .await
    }

    /// `POST /phone`: sends a confirmation code to the new number.
    pub async fn request_phone_change(
        &self,
        principal: &Principal,
        phone: &Phone,
        password: Option<&Password>,
        client: &ClientInfo,
    ) -> Result<ChallengeSent, AuthError> {
        let input = (principal.clone(), phone.clone(), password.cloned());
        self.run::<PhoneChangeRequest>(input, client).await
    }

    /// `POST /phone/confirm`: with the code sent to the new number, makes it the account's
    /// phone. The old number gets a notice (best effort). SMS codes and emailed tokens issued
    /// before stop working.
    pub async fn confirm_phone_change(
        &self,
        principal: &Principal,
        challenge_id: ChallengeId,
        code: &OneTimeCode,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let input = (principal.clone(), challenge_id, code.clone());
        self.run::<PhoneChangeConfirm>(input, client).await
    }

    /// Admin: the user with this id.
    pub async fn find_user(&self, id: UserId) -> Result<Option<User>, AuthError> {
        self.run::<AdminFindUser>(UserKey::Id(id), &NO_CLIENT).await
    }

    /// Admin: the user with this phone.
    pub async fn find_user_by_phone(&self, phone: &Phone) -> Result<Option<User>, AuthError> {
        self.run::<AdminFindUser>(UserKey::Phone(phone.clone()), &NO_CLIENT)
            .await
    }

    /// Admin: the user with this email.
    pub async fn find_user_by_email(&self, email: &Email) -> Result<Option<User>, AuthError> {
        self.run::<AdminFindUser>(UserKey::Email(email.clone()), &NO_CLIENT)
            .await
    }

    /// Admin: disables the account and revokes every one of its sessions at once. Returns how
    /// many sessions were revoked; `not_found` for an unknown user.
    pub async fn disable_user(&self, id: UserId) -> Result<u64, AuthError> {
        self.run::<AdminDisableUser>(id, &NO_CLIENT).await
    }

    /// Admin: enables a disabled account.
    pub async fn enable_user(&self, id: UserId) -> Result<(), AuthError> {
        self.run::<AdminEnableUser>(id, &NO_CLIENT).await
    }

    /// Admin: clears the account's password and SMS lockouts.
    pub async fn reset_lockouts(&self, id: UserId) -> Result<(), AuthError> {
        self.run::<AdminResetLockouts>(id, &NO_CLIENT).await
    }

    /// Admin: clears the SMS lockout of a phone, whether or not it has an account.
    pub async fn reset_phone_lockout(&self, phone: &Phone) -> Result<(), AuthError> {
        self.run::<AdminResetPhoneLockout>(phone.clone(), &NO_CLIENT)
            .await
    }

    /// Admin: the user's live sessions.
    pub async fn user_sessions(&self, id: UserId) -> Result<Vec<Session>, AuthError> {
        self.run::<AdminListSessions>(id, &NO_CLIENT).await
    }

    /// Admin: revokes one session of any user. `false` when it was not active.
    pub async fn admin_revoke_session(&self, id: SessionId) -> Result<bool, AuthError> {
        self.run::<AdminRevokeSession>(id, &NO_CLIENT).await
    }

    /// Admin: grants a role (no-op when held).
    pub async fn grant_role(&self, id: UserId, role: &str) -> Result<(), AuthError> {
        self.run::<AdminGrantRole>((id, role.to_owned()), &NO_CLIENT)
            .await
    }

    /// Admin: revokes a role (no-op when not held).
    pub async fn revoke_role(&self, id: UserId, role: &str) -> Result<(), AuthError> {
        self.run::<AdminRevokeRole>((id, role.to_owned()), &NO_CLIENT)
            .await
    }

    /// Admin: replaces the user's roles. With session checking on (the default) or opaque
    /// tokens, guards see the change at once; with stateless JWTs, at the user's next refresh.
    pub async fn set_roles(&self, id: UserId, roles: Vec<String>) -> Result<(), AuthError> {
        self.run::<AdminSetRoles>((id, roles), &NO_CLIENT).await
    }
}
