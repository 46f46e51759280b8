//! Password login, and [`Auth::login`], which dispatches `POST /login` to it or to SMS login.

use crate::account::{Email, User, UserStatus, Username};
use crate::api::{ClientInfo, LoginOutcome, LoginRequest, TokenPair};
use crate::hooks::{Action, AfterHook, BeforeHook};
use crate::limits::{self, FailureCap, Lockout};
use crate::password::PasswordHash;
use crate::secret::Password;
use crate::token::access::Principal;
use crate::{Auth, AuthError};

/// What a password login names the account by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginIdentifier {
    /// An email address.
    Email(Email),
    /// A username.
    Username(Username),
}

impl Auth {
    /// `POST /login`: `{"phone"}` starts an SMS login; `{"email" or "username", "password"}`
    /// logs in with a password.
    pub async fn login(
        &self,
        request: LoginRequest,
        client: &ClientInfo,
    ) -> Result<LoginOutcome, AuthError> {
        match request {
            LoginRequest {
                phone: Some(phone),
                email: None,
                username: None,
                password: None,
            } => Ok(LoginOutcome::ChallengeSent(
                self.start_sms_login(&phone, client).await?,
            )),
            LoginRequest {
                phone: None,
                email,
                username,
                password: Some(password),
            } => {
                let identifier = match (email, username) {
                    (Some(e), None) => LoginIdentifier::Email(Email::parse(&e)?),
                    (None, Some(u)) => LoginIdentifier::Username(Username::parse(&u)?),
                    _ => {
                        return Err(AuthError::invalid_request(
                            "send exactly one of email or username with the password",
                        ));
                    }
                };
                Ok(LoginOutcome::LoggedIn(
                    self.login_with_password(&identifier, &password, client)
                        .await?,
                ))
            }
            _ => Err(AuthError::invalid_request(
                "send {\"phone\"} or {\"email\" or \"username\", \"password\"}",
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
        let user = self.user_by_identifier(identifier).await?;
        let mut hook = BeforeHook::new(Action::PasswordLogin, client);
        hook.user_id = user.as_ref().map(|u| u.id);
        match identifier {
            LoginIdentifier::Email(e) => hook.email = Some(e),
            LoginIdentifier::Username(u) => hook.username = Some(u),
        }
        self.before(hook).await?;
        let (mut user, hash) = self
            .check_password(user, identifier, password, Some(client))
            .await?;
        if self.inner.hasher.needs_rehash(&hash) {
            self.rehash(&mut user, password).await;
        }
        let pair = self.start_session(&user, client).await?;
        self.after(AfterHook {
            action: Action::PasswordLogin,
            client,
            user: Some(&user),
            user_id: Some(user.id),
            session_id: Some(pair.session_id),
        })
        .await;
        Ok(pair)
    }

    /// The HTTP Basic guard (`transport.basic_auth`, off by default), for scripts: the
    /// principal of an email (or username) and password, checked with every rule of a password
    /// login (per-IP failure cap, throttle, lockout, same error for unknown accounts,
    /// activation, disabled) but
    /// without a session: routes that need one answer `missing_token`.
    pub(crate) async fn authenticate_basic(
        &self,
        identifier: &str,
        password: &Password,
        client: &ClientInfo,
    ) -> Result<Principal, AuthError> {
        let identifier = if identifier.contains('@') {
            LoginIdentifier::Email(
                Email::parse(identifier).map_err(|_| AuthError::InvalidCredentials)?,
            )
        } else {
            LoginIdentifier::Username(
                Username::parse(identifier).map_err(|_| AuthError::InvalidCredentials)?,
            )
        };
        let user = self.user_by_identifier(&identifier).await?;
        let (user, _) = self
            .check_password(user, &identifier, password, Some(client))
            .await?;
        Ok(Principal {
            user_id: user.id,
            session_id: None,
            roles: user.roles,
        })
    }

    async fn user_by_identifier(
        &self,
        identifier: &LoginIdentifier,
    ) -> Result<Option<User>, AuthError> {
        let store = self.inner.store.as_ref();
        Ok(match identifier {
            LoginIdentifier::Email(e) => store.user_by_email(e).await?,
            LoginIdentifier::Username(u) => store.user_by_username(u).await?,
        })
    }

    /// The password rules shared by every password check: length cap, per-IP failure cap,
    /// throttle, lockout, the same work and error for unknown accounts, then activation and
    /// disabled state (only after a correct password). Returns the user and its stored hash.
    async fn check_password(
        &self,
        user: Option<User>,
        identifier: &LoginIdentifier,
        password: &Password,
        client: Option<&ClientInfo>,
    ) -> Result<(User, PasswordHash), AuthError> {
        let cfg = &self.inner.config.password;
        if crate::password::exceeds_max_length(password, cfg.max_length) {
            // No account can have such a password; do not spend argon2 time on it.
            return Err(AuthError::InvalidCredentials);
        }
        let account_key = account_key(user.as_ref(), identifier);
        self.check_password_guard(&account_key, client).await?;
        let hash = user.as_ref().and_then(|u| u.password_hash.clone());
        let correct = match &hash {
            Some(hash) => self.inner.hasher.verify(password, hash).await?,
            None => self.inner.hasher.verify_dummy(password).await?,
        };
        let (Some(user), Some(hash), true) = (user, hash, correct) else {
            self.password_failed(&account_key, client).await?;
            return Err(AuthError::InvalidCredentials);
        };
        self.clear_lockouts(&user).await?;
        match user.status {
            UserStatus::Active => Ok((user, hash)),
            UserStatus::Disabled => Err(AuthError::AccountDisabled),
            UserStatus::PendingActivation => {
                self.nudge_activation(&user).await;
                Err(AuthError::ActivationRequired)
            }
        }
    }

    /// Per-IP failure cap, throttle and lockout checks before a password is verified. The
    /// per-IP cap applies when the `client` is known (every route and the HTTP Basic guard).
    pub(crate) async fn check_password_guard(
        &self,
        account_key: &str,
        client: Option<&ClientInfo>,
    ) -> Result<(), AuthError> {
        let cfg = &self.inner.config.password;
        let counters = self.counters();
        let now = self.now();
        if let Some(client) = client {
            counters
                .check_cap(
                    &limits::password_ip_key(client.ip),
                    FailureCap::passwords_per_ip(cfg),
                    now,
                )
                .await?;
        }
        counters
            .check_password_attempt(cfg, account_key, now)
            .await?;
        counters
            .check_lockout(
                &limits::password_failures_key(account_key),
                Lockout::passwords(cfg),
                now,
            )
            .await
    }

    /// Counts a wrong password: towards the account's lockout and (when known) the client
    /// IP's cap.
    pub(crate) async fn password_failed(
        &self,
        account_key: &str,
        client: Option<&ClientInfo>,
    ) -> Result<(), AuthError> {
        let cfg = &self.inner.config.password;
        let counters = self.counters();
        let now = self.now();
        counters
            .add_failure(
                &limits::password_failures_key(account_key),
                Lockout::passwords(cfg),
                now,
            )
            .await?;
        match client {
            Some(client) => {
                counters
                    .count_against_cap(
                        &limits::password_ip_key(client.ip),
                        FailureCap::passwords_per_ip(cfg),
                        now,
                    )
                    .await
            }
            None => Ok(()),
        }
    }

    /// Replaces a hash made with weaker parameters. Best effort: a failure is logged, the login
    /// goes on.
    async fn rehash(&self, user: &mut User, password: &Password) {
        let policy = crate::password::PasswordPolicy::from_config(&crate::config::PasswordConfig {
            min_length: 1,
            min_strength: 0,
            ..self.inner.config.password.clone()
        });
        match self
            .inner
            .hasher
            .hash_new(&policy, password, Vec::new(), None)
            .await
        {
            Ok(new_hash) => {
                user.password_hash = Some(new_hash);
                if let Err(e) = self.inner.store.update_user(user).await {
                    tracing::warn!(error = %e, user_id = %user.id, "storing a rehashed password failed");
                } else {
                    tracing::info!(user_id = %user.id, "password rehashed with current parameters");
                }
            }
            Err(e) => tracing::warn!(error = %e, user_id = %user.id, "rehashing a password failed"),
        }
    }

    /// Clears the account's lockout counters (passwords, and every SMS-code channel of its
    /// phone) after it proved itself one way or another.
    pub(crate) async fn clear_lockouts(&self, user: &User) -> Result<(), AuthError> {
        let counters = self.counters();
        counters
            .clear_failures(&limits::password_failures_key(&account_key_of(user)))
            .await?;
        if let Some(phone) = &user.phone {
            self.clear_phone_lockouts(phone).await?;
        }
        Ok(())
    }

    /// Clears the SMS-code lockouts of every channel of `phone`.
    pub(crate) async fn clear_phone_lockouts(
        &self,
        phone: &crate::phone::Phone,
    ) -> Result<(), AuthError> {
        let counters = self.counters();
        for channel in limits::SMS_CHANNELS {
            counters
                .clear_failures(&limits::sms_failures_key(phone, channel))
                .await?;
        }
        Ok(())
    }
}

/// The key password throttling and lockout count under: the user id when the account exists,
/// the identifier otherwise (so unknown accounts are throttled exactly like known ones).
fn account_key(user: Option<&User>, identifier: &LoginIdentifier) -> String {
    match (user, identifier) {
        (Some(u), _) => account_key_of(u),
        (None, LoginIdentifier::Email(e)) => format!("unknown:{e}"),
        (None, LoginIdentifier::Username(u)) => format!("unknown:{u}"),
    }
}

pub(crate) fn account_key_of(user: &User) -> String {
    format!("user:{}", user.id)
}
